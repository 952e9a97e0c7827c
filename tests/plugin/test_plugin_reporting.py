"""Reporting: junit properties, the terminal summary, and xdist parity."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from fnmatch import fnmatch
from pathlib import Path

import pytest
from plugin_scenarios import FAILING, IGNORED, KNOWN_BUG, MISSING_BUG, PASSING, STALE_BUG

Write = Callable[[dict[str, str | bytes]], Path]

CORPUS: dict[str, str | bytes] = {
    "scenarios/dma/pass.vfio": PASSING,
    "scenarios/dma/fail.vfio": FAILING,
    "scenarios/dma/known.vfio": KNOWN_BUG,
    "scenarios/dma/missing.vfio": MISSING_BUG,
    "scenarios/dma/stale.vfio": STALE_BUG,
    "scenarios/bars/ignored.vfio": IGNORED,
    "scenarios/bars/bad.vfio": b"\xff\xfe",
    "scenarios/msix/pair_file1.vfio": "container c0\n",
    "scenarios/msix/pair_file2.vfio": "//:: ExpectedOutput(dma.map.failed:size.zero)\n"
    "map c0 iova=0x1000 vaddr=0x1000 size=0\n",
}
SUMMARY = "Total 8, Failed 3, Errors 0, Passed 2, Known bugs 2, Skipped 1"


def properties(junit: Path) -> dict[str, list[tuple[str, str]]]:
    """Each testcase's properties, by test name."""
    tree = ET.parse(junit)
    return {
        case.attrib["name"]: [
            (prop.attrib["name"], prop.attrib["value"]) for prop in case.iter("property")
        ]
        for case in tree.iter("testcase")
    }


def test_junit_testcases_carry_issue_links_and_matched_ids(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios(CORPUS)
    pytester.runpytest("--junitxml=out.xml")
    props = properties(pytester.path / "out.xml")
    assert props["known"] == [
        ("issue", "/model/issue/12/"), ("matched", "dma.map.failed:overlap")
    ]
    assert props["pass"] == [("matched", "dma.map.failed:overlap")]
    assert props["pair"] == [("matched", "dma.map.failed:size.zero")]
    assert props["ignored"] == [("issue", "/model/issue/3/")]
    assert ("issue", "/model/issue/12/") in props["stale"]


def test_summary_has_silver_count_line_and_known_issue_table(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios(CORPUS)
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(
        [
            "*= vfio scenarios =*",
            "Known issues:",
            "  /model/issue/3/   scenarios/bars/ignored.vfio::ignored  [ignored]",
            "  /model/issue/7/   scenarios/dma/missing.vfio::missing  [xfail]",
            "  /model/issue/12/  scenarios/dma/known.vfio::known  [xfail]",
            "                    scenarios/dma/stale.vfio::stale  [failed]",
            SUMMARY,
        ]
    )


def test_summary_is_absent_when_no_scenario_ran(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain(): pass")
    result = pytester.runpytest()
    assert "vfio scenarios" not in result.stdout.str()


def outcomes_by_node(output: str) -> dict[str, str]:
    """`-rA` short summary lines: node id -> outcome word."""
    found = re.findall(r"^(PASSED|FAILED|XFAIL|SKIPPED|ERROR) (?:\[\d+\] )?(\S+)", output, re.M)
    return {node.rstrip(":").split(":")[0] if word == "SKIPPED" else node: word
            for word, node in found}


def test_xdist_gives_the_same_outcomes_and_summary_as_a_serial_run(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios(CORPUS)
    serial = pytester.runpytest_subprocess("-rA", "-p", "no:cacheprovider", "--junitxml=1.xml")
    parallel = pytester.runpytest_subprocess(
        "-rA", "-p", "no:cacheprovider", "-n", "2", "--junitxml=2.xml"
    )
    assert "2 workers" in parallel.stdout.str() or "created: 2/2 workers" in parallel.stdout.str()
    assert outcomes_by_node(serial.stdout.str()) == outcomes_by_node(parallel.stdout.str())
    assert len(outcomes_by_node(serial.stdout.str())) == 8
    assert properties(pytester.path / "1.xml") == properties(pytester.path / "2.xml")
    for run in (serial, parallel):
        run.stdout.fnmatch_lines([SUMMARY])
        run.stdout.fnmatch_lines(["*dma/fail.vfio:3: dma.map.failed:overlap — *"])


def test_summary_counts_only_scenarios_even_below_a_folder_named_vfio(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios({"scenarios/pass.vfio": PASSING, "tests/vfio/test_x.py": "def test_x(): 1/0"})
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(
        ["Total 1, Failed 0, Errors 0, Passed 1, Known bugs 0, Skipped 0"]
    )
    assert pytester.runpytest("--collect-only", "-q", "-m", "vfio_scenario").stdout.lines[0] == (
        "scenarios/pass.vfio::pass"
    )


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_vfio_header_only_in_a_session_that_collected_scenarios(
    pytester: pytest.Pytester, write_scenarios: Write, workers: tuple[str, ...]
) -> None:
    pytester.makepyfile(test_plain="def test_plain(): pass")
    plain = pytester.runpytest_subprocess("test_plain.py", *workers)
    assert "vfio:" not in plain.stdout.str()
    write_scenarios({"scenarios/pass.vfio": PASSING})
    both = pytester.runpytest_subprocess(*workers)
    assert both.stdout.str().count("vfio: projects in force: vfio, model") == 1
    quiet = pytester.runpytest_subprocess("-q", *workers)
    assert "vfio:" not in quiet.stdout.str()


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_tb_line_gives_one_line_per_failing_scenario(
    pytester: pytest.Pytester, write_scenarios: Write, workers: tuple[str, ...]
) -> None:
    write_scenarios(
        {
            "scenarios/dma/fail.vfio": FAILING,
            "scenarios/dma/stale.vfio": STALE_BUG,
            "scenarios/dma/pass.vfio": PASSING,
        }
    )
    result = pytester.runpytest_subprocess("--tb=line", "-p", "no:cacheprovider", *workers)
    lines = result.stdout.lines
    start = next(i for i, line in enumerate(lines) if "FAILURES" in line)
    end = next(i for i, line in enumerate(lines) if "vfio scenarios" in line)
    # pytest-xdist prefixes each failure with the worker's `[gw0] linux -- Python ...` line.
    failures = sorted(line for line in lines[start + 1 : end] if not line.startswith("[gw"))
    assert len(failures) == 2, failures
    assert fnmatch(
        failures[0],
        "scenarios/dma/fail.vfio:3: dma.map.failed:overlap — output [[]dma.map.failed:overlap] "
        "on line 3 is not expected by any annotation: *",
    )
    assert fnmatch(
        failures[1],
        "scenarios/dma/stale.vfio:3: dma.map.failed:overlap — UnexpectedOutput("
        "dma.map.failed:overlap, /model/issue/12/) records a known bug *",
    )


def test_short_summary_and_junit_carry_the_first_finding(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios({"scenarios/dma/fail.vfio": FAILING})
    result = pytester.runpytest("-rf", "--junitxml=out.xml")
    result.stdout.fnmatch_lines(
        ["FAILED scenarios/dma/fail.vfio::fail - dma.map.failed:overlap — output*"]
    )
    failure = next(ET.parse(pytester.path / "out.xml").iter("failure"))
    assert failure.attrib["message"].startswith("dma.map.failed:overlap — output [")
    assert "Additional output:" in (failure.text or "")
