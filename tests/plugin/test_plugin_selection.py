"""Selection: node ids, `-k` names (paths, names, stems, folders, issue tags) and markers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from plugin_scenarios import IGNORED, KNOWN_BUG, PASSING

Write = Callable[[dict[str, str | bytes]], Path]

CORPUS: dict[str, str | bytes] = {
    "scenarios/dma/overlap.vfio": KNOWN_BUG,
    "scenarios/dma/sub/adjacent.vfio": PASSING,
    "scenarios/bars/sizing.vfio": IGNORED,
    "scenarios/msix/pair_file1.vfio": "container c0\n",
    "scenarios/msix/pair_file2.vfio": "//:: ExpectedOutput(dma.map.failed:size.zero)\n"
    "map c0 iova=0x1000 vaddr=0x1000 size=0\n",
}


def collected(pytester: pytest.Pytester, *args: str) -> list[str]:
    """Node ids a `--collect-only -q` run selects."""
    result = pytester.runpytest("--collect-only", "-q", *args)
    return [line for line in result.stdout.lines if "::" in line]


@pytest.mark.parametrize(
    ("expression", "selected"),
    [
        ("dma/overlap.vfio", ["scenarios/dma/overlap.vfio::overlap"]),
        ("overlap.vfio", ["scenarios/dma/overlap.vfio::overlap"]),
        ("adjacent", ["scenarios/dma/sub/adjacent.vfio::adjacent"]),
        ("dma/sub/", ["scenarios/dma/sub/adjacent.vfio::adjacent"]),
        ("msix/pair", ["scenarios/msix/pair_file1.vfio::pair"]),
        ("pair_file2", ["scenarios/msix/pair_file1.vfio::pair"]),
        ("issue-12", ["scenarios/dma/overlap.vfio::overlap"]),
        ("model-issue-3", ["scenarios/bars/sizing.vfio::sizing"]),
        ("/model/issue/12/", ["scenarios/dma/overlap.vfio::overlap"]),
        ("issue-12 or issue-3", [
            "scenarios/bars/sizing.vfio::sizing", "scenarios/dma/overlap.vfio::overlap"
        ]),
    ],
)
def test_k_matches_relative_path_name_stem_folder_and_issue_tag(
    pytester: pytest.Pytester, write_scenarios: Write, expression: str, selected: list[str]
) -> None:
    write_scenarios(CORPUS)
    assert collected(pytester, "-k", expression) == selected


def test_k_by_folder_prefix_selects_every_scenario_below_it(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios(CORPUS)
    assert collected(pytester, "-k", "dma/") == [
        "scenarios/dma/overlap.vfio::overlap",
        "scenarios/dma/sub/adjacent.vfio::adjacent",
    ]


def test_node_id_selects_one_scenario(pytester: pytest.Pytester, write_scenarios: Write) -> None:
    write_scenarios(CORPUS)
    assert collected(pytester, "scenarios/dma/overlap.vfio::overlap") == [
        "scenarios/dma/overlap.vfio::overlap"
    ]


def test_m_not_known_bug_deselects_scenarios_with_known_bugs_in_force(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios(CORPUS)
    assert "scenarios/dma/overlap.vfio::overlap" not in collected(
        pytester, "--strict-markers", "-m", "not known_bug"
    )
    assert collected(pytester, "--strict-markers", "-m", "known_bug") == [
        "scenarios/dma/overlap.vfio::overlap"
    ]
    assert collected(pytester, "--strict-markers", "-m", "ignored") == [
        "scenarios/bars/sizing.vfio::sizing"
    ]


def test_known_bug_marker_needs_a_project_in_force(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios(
        {"scenarios/k.vfio": KNOWN_BUG.replace("/model/", "/kernel/")}
    )
    assert collected(pytester, "-m", "known_bug") == []
    assert collected(pytester, "-k", "kernel-issue-12") == ["scenarios/k.vfio::k"]


def test_markers_are_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.known_bug:*", "@pytest.mark.ignored:*"])


def test_a_group_is_marked_ignored_only_when_every_file_is(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios(
        {
            "scenarios/half_file1.vfio": IGNORED,
            "scenarios/half_file2.vfio": "container c1\n",
            "scenarios/all_file1.vfio": IGNORED,
            "scenarios/all_file2.vfio": "//:: IgnoreFile(/vfio/issue/4/)\ncontainer c1\n",
        }
    )
    assert collected(pytester, "-m", "ignored") == ["scenarios/all_file1.vfio::all"]


def test_collection_reads_each_file_once_and_a_run_reads_it_once_more(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    # Collection reads the annotations (markers and -k names) as mypy's data tests read their
    # headers; the run reads the files afresh, so it runs them as they are when it begins.
    write_scenarios(CORPUS)
    pytester.makeconftest(
        """
        import io
        OPENED = []
        real = io.open
        def spy(file, *args, **kwargs):
            if str(file).endswith(".vfio"):
                OPENED.append(str(file))
            return real(file, *args, **kwargs)
        io.open = spy  # Path.read_bytes opens through io.open
        def pytest_collection_finish(session):
            print("OPENED", len(OPENED))
        def pytest_sessionfinish(session):
            print("IN ALL", len(OPENED))
        """
    )
    result = pytester.runpytest_subprocess("--collect-only", "-q", "-s")
    result.stdout.fnmatch_lines(["OPENED 5", "IN ALL 5", "4 tests collected*"])
    selected = pytester.runpytest_subprocess("--collect-only", "-q", "-s", "-m", "known_bug")
    selected.stdout.fnmatch_lines(["OPENED 5", "IN ALL 5", "1/4 tests collected*"])
    ran = pytester.runpytest_subprocess("-q", "-s", "-p", "no:randomly")
    ran.stdout.fnmatch_lines(["OPENED 5", "*IN ALL 10*"])
    ran = pytester.runpytest_subprocess("-q", "-s", "-p", "no:randomly", "-m", "known_bug")
    ran.stdout.fnmatch_lines(["OPENED 5", "*IN ALL 6*"])


def test_markers_and_issue_tags_are_there_for_any_plugin_that_asks(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios(CORPUS)
    pytester.makeconftest(
        """
        def pytest_collection_modifyitems(items):
            for item in items:
                marks = sorted(m.name for m in item.iter_markers())
                print("MARKS", item.nodeid, marks, "issue-12" in item.listextrakeywords())
        """
    )
    result = pytester.runpytest("--collect-only", "-q", "-s")
    result.stdout.fnmatch_lines(
        [
            "MARKS scenarios/bars/sizing.vfio::sizing ['ignored', 'vfio_scenario'] False",
            "MARKS scenarios/dma/overlap.vfio::overlap ['known_bug', 'vfio_scenario'] True",
        ]
    )


def test_reports_carry_the_scenario_markers_as_keywords(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios({"scenarios/dma/overlap.vfio": KNOWN_BUG})
    pytester.makeconftest(
        """
        def pytest_runtest_logreport(report):
            print("KEYWORDS", report.when, "known_bug" in report.keywords,
                  "vfio_scenario" in report.keywords)
        """
    )
    result = pytester.runpytest("-s", "-p", "no:xdist")
    result.stdout.fnmatch_lines(
        ["*KEYWORDS setup True True*", "*KEYWORDS call True True*", "*KEYWORDS teardown True True*"]
    )
