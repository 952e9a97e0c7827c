"""The conformance report (`harness/protocol/conformance.py`), in pytest's summary and the CLI's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from processes import faulty_command, serve_command, write_files

from harness.protocol.conformance import TOP, Column, Conformance, area_of


def test_a_backend_without_a_name_is_reported_as_such() -> None:
    # A process backend whose children all failed initialize never told its name.
    report = Conformance("")
    report.add("dma", Column.FAILED)
    assert report.lines()[0] == (
        "Conformance of backend (no child answered initialize) (scenarios per area):"
    )


def test_area_is_the_top_level_folder_below_the_root() -> None:
    assert area_of("dma/map_basic.vfio") == "dma"
    assert area_of("integration/vm/boot_file1.vfio") == "integration"
    assert area_of("alone.vfio") == TOP


def test_report_counts_per_area_with_a_total_and_ranks_the_methods() -> None:
    report = Conformance("myvmm")
    for area, column, method in [
        ("dma", Column.PASSED, None),
        ("dma", Column.PASSED, None),
        ("dma", Column.FAILED, None),
        ("bars", Column.UNSUPPORTED, "device"),
        ("bars", Column.UNSUPPORTED, "device"),
        ("msix", Column.UNSUPPORTED, "msix_entry"),
        ("msix", Column.KNOWN_BUG, None),
    ]:
        report.add(area, column, method)
    assert report.lines() == [
        "Conformance of backend myvmm (scenarios per area):",
        "  area   passed  failed  known bugs  unsupported",
        "  bars        0       0           0            2",
        "  dma         2       1           0            0",
        "  msix        0       0           1            1",
        "  total       2       1           1            3",
        "Unsupported methods (scenarios skipped): device (2), msix_entry (1)",
    ]


def test_ignored_scenarios_get_a_column_only_when_there_are_some() -> None:
    report = Conformance("myvmm")
    report.add("dma", Column.IGNORED)
    assert report.lines()[1].endswith("unsupported  ignored")
    assert report.lines()[2] == "  dma         0       0           0            0        1"
    assert Conformance("myvmm").lines() == []


LACKS_DEVICE = {
    "scenarios/dma/a.vfio": "container c0\nmap c0 iova=0x0 vaddr=0x0 size=4K\n",
    "scenarios/dma/b.vfio": "container c0\nassert c0.mappings == 1\n",
    "scenarios/bars/c.vfio": "device gpu 0000:01:00.0 {\n    bar 0 mem32 4K\n}\n",
    "scenarios/top.vfio": "container c0\n",
}
EXPECTED = [
    "Conformance of backend model (scenarios per area):",
    "  area   passed  failed  known bugs  unsupported",
    "  (top)       1       0           0            0",
    "  bars        0       0           0            1",
    "  dma         1       1           0            0",
    "  total       2       1           0            1",
    "Unsupported methods (scenarios skipped): device (1)",
]


@pytest.fixture
def corpus(pytester: pytest.Pytester) -> Path:
    return write_files(pytester.path, LACKS_DEVICE)


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_pytest_summary_shows_the_report_for_a_process_backend(
    pytester: pytest.Pytester, corpus: Path, workers: tuple[str, ...]
) -> None:
    command = faulty_command("few-methods", "initialize", corpus, once=False)
    result = pytester.runpytest(*workers, "-D", f"backend=exec:{command}")
    result.assert_outcomes(passed=2, failed=1, skipped=1)
    result.stdout.fnmatch_lines([line.replace("[", "[[]") for line in EXPECTED])


def test_no_report_for_the_model(pytester: pytest.Pytester, corpus: Path) -> None:
    result = pytester.runpytest()
    assert "Conformance of backend" not in result.stdout.str()
    result = pytester.runpytest("-D", f"backend=exec:{serve_command()}")
    result.stdout.fnmatch_lines(["Conformance of backend model (scenarios per area):"])


@pytest.mark.parametrize("columns", ["200", "40"])
def test_the_cli_prints_the_report_too_each_line_whole(corpus: Path, columns: str) -> None:
    # A terminal narrower than a line does not fold it: the report is read and grepped as text.
    command = faulty_command("few-methods", "initialize", corpus, once=False)
    done = subprocess.run(
        [sys.executable, "-m", "harness", "run", "scenarios", "--backend", f"exec:{command}"],
        cwd=corpus,
        capture_output=True,
        text=True,
        timeout=120,
        env={"NO_COLOR": "1", "COLUMNS": columns, "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    start = lines.index(EXPECTED[0])
    assert lines[start : start + len(EXPECTED)] == EXPECTED
