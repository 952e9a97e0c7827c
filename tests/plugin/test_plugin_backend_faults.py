"""A backend that breaks down, crashes or cannot run a call: the scenario fails (or is skipped)
with a short located report, never a harness traceback, and the run goes on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from plugin_scenarios import PASSING

Write = Callable[[dict[str, str | bytes]], Path]

BACKENDS = """
from harness.backend import BackendFault, Unsupported
from harness.model import ModelBackend


def ioctl(request):
    raise RuntimeError(f"ioctl {request}: EBUSY")


class Crashes(ModelBackend):
    def map(self, container, iova, vaddr, size, perm="rw"):
        ioctl("VFIO_IOMMU_MAP_DMA")


class Faults(ModelBackend):
    def map(self, container, iova, vaddr, size, perm="rw"):
        raise BackendFault("backend model exited with status 3 during map", "guest oops")


class NoHugeMaps(ModelBackend):
    def map(self, container, iova, vaddr, size, perm="rw"):
        if size >= 1 << 21:
            raise Unsupported("no 2M pages on this host")
        return super().map(container, iova, vaddr, size, perm)


class NoConfigSpace:
    name = "tiny"

    def __init__(self, defaults):
        self.model = ModelBackend(defaults)

    def container(self, name, **options):
        return self.model.container(name, **options)

    def map(self, container, iova, vaddr, size, perm="rw"):
        return self.model.map(container, iova, vaddr, size, perm)


class GuestGone(ModelBackend):
    built = 0

    def __init__(self, defaults):
        type(self).built += 1
        if type(self).built == 3:
            raise BackendFault("backend model: the guest is gone", fatal=True)
        super().__init__(defaults)
"""
CONFIG = "container c0\ndevice gpu 01:00.0 {\n    bar 0 mem32 16M\n}\ncfg write gpu 0x04 0x6\n"


@pytest.fixture
def backends(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(fault_backends=BACKENDS)
    pytester.syspathinsert()


def test_a_backend_crash_fails_its_scenario_showing_the_statement_and_backend_frames(
    pytester: pytest.Pytester, write_scenarios: Write, backends: None
) -> None:
    write_scenarios({"scenarios/a.vfio": PASSING, "scenarios/b.vfio": PASSING})
    result = pytester.runpytest("-p", "no:randomly", "-Dbackend=fault_backends:Crashes")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "scenarios/a.vfio:2: backend crash — backend model raised RuntimeError: ioctl "
            "VFIO_IOMMU_MAP_DMA: EBUSY in map",
            "*",
            "❱ 2 map c0 iova=0x100000 vaddr=0x7f0000100000 size=2M",
            "*",
            "backend frames:",
            '  File "*fault_backends.py", line *, in map',
            '    ioctl("VFIO_IOMMU_MAP_DMA")',
            '  File "*fault_backends.py", line *, in ioctl',
        ]
    )
    lines = result.stdout.lines
    report = "\n".join(lines[lines.index("scenarios/a.vfio:2: backend crash — backend model "
                                          "raised RuntimeError: ioctl VFIO_IOMMU_MAP_DMA: EBUSY "
                                          "in map") :])
    assert "Traceback" not in report and "pluggy" not in report and "harness/" not in report
    headers = [line for line in lines if line.startswith("scenarios/a.vfio:2: backend crash")]
    assert len(headers) == 1  # said once, not once as the summary line and again


def test_a_backend_fault_fails_its_scenario_with_what_the_backend_said(
    pytester: pytest.Pytester, write_scenarios: Write, backends: None
) -> None:
    write_scenarios({"scenarios/a.vfio": PASSING})
    result = pytester.runpytest("-Dbackend=fault_backends:Faults")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "scenarios/a.vfio:2: backend fault — backend model exited with status 3 during "
            "map (scenarios/a.vfio:2)",
            "*",
            "backend said:",
            "guest oops",
        ]
    )


def test_a_call_the_backend_cannot_run_skips_the_scenario_with_the_reason(
    pytester: pytest.Pytester, write_scenarios: Write, backends: None
) -> None:
    small = "container c0\nmap c0 iova=0x1000 vaddr=0x1000 size=4K\n"
    write_scenarios({"scenarios/huge.vfio": PASSING, "scenarios/small.vfio": small})
    result = pytester.runpytest("-rs", "-Dbackend=fault_backends:NoHugeMaps")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(
        ["SKIPPED [1] scenarios/huge.vfio:1: backend model cannot run map at "
         "scenarios/huge.vfio:2: no 2M pages on this host"]
    )


def test_a_method_the_backend_class_lacks_skips_the_scenario(
    pytester: pytest.Pytester, write_scenarios: Write, backends: None
) -> None:
    write_scenarios({"scenarios/cfg.vfio": CONFIG, "scenarios/dma.vfio": PASSING})
    result = pytester.runpytest("-rs", "-Dbackend=fault_backends:NoConfigSpace")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(
        ["SKIPPED [[]1] scenarios/cfg.vfio:1: backend tiny *does not implement device*"]
    )


def test_a_fatal_fault_stops_the_run_instead_of_failing_every_scenario(
    pytester: pytest.Pytester, write_scenarios: Write, backends: None
) -> None:
    # Built once when the session opens (that one serves a), then per scenario: c's build
    # is the third, and the fault says no further scenario can run: d never runs.
    write_scenarios({f"scenarios/{name}.vfio": PASSING for name in "abcd"})
    result = pytester.runpytest("-p", "no:randomly", "-Dbackend=fault_backends:GuestGone")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        ["scenarios/c.vfio: backend fault — backend model: the guest is gone",
         "*Interrupted: backend model: the guest is gone*"]
    )
