"""The corpus's DMA scenarios on the kernel: each one passes (or is a linked kernel issue), or
is skipped because it needs what a real kernel cannot honour (needs QEMU)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from annotations.outcome import Verdict
from harness.backend import AbortKind
from harness.discovery import group
from harness.kernel.session import KernelSession
from harness.runner import run_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
# What a real kernel cannot honour, as the backend words it.
CANNOT = re.compile(
    r"pgsize=\S+, but the guest's IOMMU"  # pages other than the IOMMU's smallest
    r"|reserved=none, but the guest's IOMMU"  # every group reserves the MSI window
    r"|reaches above the guest IOMMU's \d+-bit address width"  # maps only aw=64 allows
    r"|aw=\d+, but the guest's IOMMU has a \d+-bit address width"  # another IOMMU's width
    r"|probing the last page of the 64-bit space"  # would meet kernel issue 2
)
DMA = sorted(group(sorted((SCENARIOS / "dma").rglob("*.vfio")), SCENARIOS), key=str)


@pytest.mark.parametrize("scenario", DMA, ids=lambda s: s.name)
def test_a_dma_scenario_runs_on_the_kernel_or_says_what_it_cannot_have(
    kernel_session: KernelSession, scenario: object
) -> None:
    result = run_scenario(scenario, session=kernel_session)  # type: ignore[arg-type]
    if result.abort is not None:
        assert result.abort.kind is AbortKind.UNSUPPORTED, result.abort
        assert CANNOT.search(result.abort.message), result.abort.message
        return
    assert result.outcome.verdict in (Verdict.PASSED, Verdict.KNOWN_FAILURE), [
        str(f) for f in result.outcome.findings
    ]
