"""The C example adapter (examples/adapter-c): built with the system's compiler, run on the DMA
part of the corpus, and fuzzed against the model on random DMA call sequences.

Without a C compiler these tests are skipped with that reason, except in CI (`CI` set), where a
missing compiler is a failure: the example must keep building.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from processes import my_children, wait_gone

from harness.backend import CoreDefaults, Unsupported
from harness.model import ModelBackend
from harness.protocol.client import ProcessSession
from harness.vfio.address import U64_MAX
from harness.vfio.catalog import VfioError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "adapter-c"
DMA = ("container", "map", "unmap", "unmap_all", "mappings", "mapped", "avail")


@pytest.fixture(scope="module")
def adapter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The adapter, built by its Makefile into a temporary folder."""
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None or shutil.which("make") is None:
        if os.environ.get("CI"):
            pytest.fail("CI must build examples/adapter-c: no C compiler (cc, gcc) or make")
        pytest.skip("no C compiler (cc, gcc) or make on PATH to build examples/adapter-c")
    out = tmp_path_factory.mktemp("adapter-c")
    subprocess.run(
        ["make", "-s", "-C", str(EXAMPLE), f"OUT={out}", f"CC={compiler}"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out / "vfio-adapter-c"


def test_the_c_adapter_passes_the_dma_corpus(pytester: pytest.Pytester, adapter: Path) -> None:
    result = pytester.runpytest(
        str(ROOT / "scenarios" / "dma"), "-D", f"backend=exec:{adapter}", "-rs", "-p", "no:randomly"
    )
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0 and outcomes.get("error", 0) == 0, result.stdout.str()
    assert outcomes["passed"] >= 17
    # Anything the DMA corpus needs beyond these methods is skipped, naming the method.
    for line in result.stdout.lines:
        if line.startswith("SKIPPED"):
            assert "backend adapter-c does not implement" in line or "cannot run" in line, line
    result.stdout.fnmatch_lines(["vfio: backend adapter-c, language=C"])


def test_the_c_adapter_skips_what_it_lacks(pytester: pytest.Pytester, adapter: Path) -> None:
    pytester.makeini("[pytest]\n")
    (pytester.path / "scenarios").mkdir()
    (pytester.path / "scenarios" / "gpu.vfio").write_text(
        "container c0\ndevice gpu 0000:01:00.0 {\n    bar 0 mem32 4K\n}\n"
    )
    long_name = "c" * 200
    (pytester.path / "scenarios" / "names.vfio").write_text(f"container {long_name}\n")
    result = pytester.runpytest("-D", f"backend=exec:{adapter}", "-rs")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(
        [
            "*backend adapter-c does not implement device (scenarios/gpu.vfio:2)",
            "*backend adapter-c cannot run container at scenarios/names.vfio:1: "
            "this adapter holds 64 containers of short names",
        ]
    )


@pytest.fixture(scope="module")
def session(adapter: Path) -> Iterator[ProcessSession]:
    before = set(my_children())
    with ProcessSession(str(adapter), CoreDefaults(), cwd=ROOT, timeout=30) as opened:
        yield opened
    assert wait_gone(sorted(set(my_children()) - before)) == []


@pytest.fixture(autouse=True)
def _no_process_left_behind() -> None:
    """The module's session outlives each test: it is checked when the module ends."""


PAGE = 0x1000
INTEGERS = st.one_of(
    st.integers(0, 48).map(lambda n: n * PAGE),
    st.sampled_from([0, 1, 0x800, 0xFED00000, 0xFEE00000, 0xFEEFF000, 0xFEF00000]),
    st.sampled_from([U64_MAX, U64_MAX - PAGE + 1, 1 << 32, 1 << 30]),
)
DMA_CALLS = st.one_of(
    st.tuples(
        st.just("map"),
        st.sampled_from(["c0", "c1"]),
        INTEGERS,
        INTEGERS,
        INTEGERS,
        st.sampled_from(["rw", "r", "w", "none"]),
    ),
    st.tuples(st.just("unmap"), st.sampled_from(["c0", "c1"]), INTEGERS, INTEGERS),
    st.tuples(st.just("unmap_all"), st.sampled_from(["c0", "c1"])),
    st.tuples(st.sampled_from(["mappings", "mapped", "avail"]), st.sampled_from(["c0", "c1"])),
    st.tuples(st.sampled_from(["mapped_at", "translate"]), st.sampled_from(["c0", "c1"]), INTEGERS),
)


def _outcome(backend: Any, call: tuple[Any, ...]) -> tuple[Any, ...]:
    method, *args = call
    try:
        return ("result", getattr(backend, method)(*args))
    except VfioError as error:
        return ("error", error.id)  # the C adapter words its messages its own way


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    limit=st.integers(0, 4),
    mode=st.sampled_from(["v1", "v2"]),
    reserved=st.sampled_from(["x86", "none"]),
    calls=st.lists(DMA_CALLS, max_size=25),
)
def test_the_c_adapter_agrees_with_the_model_on_dma_sequences(
    session: ProcessSession, limit: int, mode: str, reserved: str, calls: list[tuple[Any, ...]]
) -> None:
    local, remote = ModelBackend(CoreDefaults()), session.fresh()
    for backend in (local, remote):
        backend.container("c0")
        backend.container("c1", limit=limit, mode=mode, reserved=reserved, pgsize=0x10000)
    for call in calls:
        assert _outcome(remote, call) == _outcome(local, call), call


def test_the_c_adapter_refuses_an_address_width(session: ProcessSession) -> None:
    with pytest.raises(Unsupported, match="no IOMMU address-width option"):
        session.fresh().container("c0", aw=48)
