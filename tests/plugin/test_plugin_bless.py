"""`pytest --vfio-bless` and its companions: the same bless as the command line, under pytest.

Items report as a run would with the blessed files; the "vfio bless" summary section says what
changed and what was left alone; a dry run shows diffs and writes nothing; a check fails each
scenario whose annotations would change; under pytest-xdist bless is a usage error.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from plugin_scenarios import FAILING, KNOWN_BUG, PASSING, STALE_BUG

Write = Callable[[dict[str, str | bytes]], Path]

# FAILING's overlap on line 3 gets an ExpectedOutput; the stale one on line 4 goes.
STALE = FAILING + "//:: ExpectedOutput(dma.map.failed:size.zero)\nassert c0.mappings == 1\n"
BLESSED = PASSING + "assert c0.mappings == 1\n"
# The unified diff of STALE's bless, as scenarios/stale.vfio.
DIFF = [
    "--- a/scenarios/stale.vfio",
    "+++ b/scenarios/stale.vfio",
    "@@ -1,5 +1,5 @@",
    " container c0",
    " map c0 iova=0x100000 vaddr=0x7f0000100000 size=2M",
    "+//:: ExpectedOutput(dma.map.failed:overlap)",
    " map c0 iova=0x101000 vaddr=0x7f0000300000 size=4K",
    "-//:: ExpectedOutput(dma.map.failed:size.zero)",
    " assert c0.mappings == 1",
]


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every scenario file's bytes and modification time (ns), by path."""
    return {
        str(path): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*.vfio"))
    }


def test_bless_rewrites_the_files_and_the_items_pass_then_a_plain_run_passes(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    root = write_scenarios(
        {"scenarios/dma/stale.vfio": STALE, "scenarios/dma/ok.vfio": PASSING}
    )
    ok = snapshot(root / "scenarios" / "dma")["{}".format(root / "scenarios/dma/ok.vfio")]
    result = pytester.runpytest("--vfio-bless")
    result.assert_outcomes(passed=2)
    assert (root / "scenarios/dma/stale.vfio").read_text() == BLESSED
    assert snapshot(root / "scenarios/dma")[str(root / "scenarios/dma/ok.vfio")] == ok
    result.stdout.fnmatch_lines(
        [
            "*= vfio bless =*",
            "scenarios/dma/stale.vfio: changed: 1 annotation added, 1 removed",
            "bless: 1 file changed (1 annotation added, 1 removed), 1 file unchanged",
        ]
    )
    pytester.runpytest().assert_outcomes(passed=2)
    before = snapshot(root)
    again = pytester.runpytest("--vfio-bless")
    again.assert_outcomes(passed=2)
    again.stdout.fnmatch_lines(["bless: 0 files changed, 2 files unchanged"])
    assert snapshot(root) == before


def test_dry_run_shows_the_diff_in_the_summary_and_writes_nothing(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    root = write_scenarios({"scenarios/stale.vfio": STALE})
    before = snapshot(root)
    result = pytester.runpytest("--vfio-bless-dry-run")
    result.assert_outcomes(passed=1)  # as it would be, blessed
    assert snapshot(root) == before
    result.stdout.fnmatch_lines(
        [
            "*= vfio bless =*",
            *DIFF,
            "scenarios/stale.vfio: would change: 1 annotation added, 1 removed",
            "bless (dry run, nothing written): 1 file would change (1 annotation added, "
            "1 removed), 0 files unchanged",
        ]
    )


def test_check_fails_each_scenario_whose_annotations_would_change_showing_the_diff(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    root = write_scenarios({"scenarios/stale.vfio": STALE, "scenarios/ok.vfio": PASSING})
    before = snapshot(root)
    result = pytester.runpytest("--vfio-bless-check", "-rf")
    result.assert_outcomes(passed=1, failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert snapshot(root) == before
    lines = result.stdout.lines
    at = lines.index("scenarios/stale.vfio: bless --check — its annotations would change: "
                     "1 annotation added, 1 removed (bless with --vfio-bless to write them)")
    assert "_ stale.vfio _" in lines[at - 1]
    assert lines[at + 1 : at + 10] == DIFF
    result.stdout.fnmatch_lines(
        ["FAILED scenarios/stale.vfio::stale - bless --check — its annotations would ch*"]
    )
    (root / "scenarios/stale.vfio").unlink()
    pytester.runpytest("--vfio-bless-check").assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("args", "shown"),
    [(("-n", "2"), "-n 2"), (("-n", "auto"), "-n *"), (("--dist", "load", "--tx", "popen"), "*")],
    ids=["n2", "auto", "dist"],
)
def test_bless_under_xdist_is_a_usage_error(
    pytester: pytest.Pytester, write_scenarios: Write, args: tuple[str, ...], shown: str
) -> None:
    root = write_scenarios({"scenarios/stale.vfio": STALE})
    before = snapshot(root)
    result = pytester.runpytest_subprocess("--vfio-bless", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"ERROR: --vfio-bless cannot run under pytest-xdist ({shown}): bless rewrites "
            "scenario files and reports what it did from the process that runs the scenarios, "
            "and under xdist those are worker processes",
            "hint: run it without -n (or with -n 0), or use: python -m harness bless PATH",
        ]
    )
    assert snapshot(root) == before


def test_bless_with_n_0_runs_in_one_process(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    root = write_scenarios({"scenarios/stale.vfio": STALE})
    pytester.runpytest_subprocess("--vfio-bless", "-n", "0").assert_outcomes(passed=1)
    assert (root / "scenarios/stale.vfio").read_text() == BLESSED


def test_known_bugs_stay_xfail_and_stale_ones_change_only_with_the_known_bugs_switch(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    root = write_scenarios(
        {"scenarios/known.vfio": KNOWN_BUG, "scenarios/stale_bug.vfio": STALE_BUG}
    )
    result = pytester.runpytest("--vfio-bless")
    result.assert_outcomes(xfailed=1, failed=1)
    assert (root / "scenarios/stale_bug.vfio").read_text() == STALE_BUG
    result.stdout.fnmatch_lines(
        [
            "scenarios/stale_bug.vfio:3: left alone: [dma.map.failed:overlap] a known bug "
            "(/model/issue/12/) looks fixed; known bugs are left alone unless blessed as known "
            "bugs too",
            "hint: 1 stale known bug left alone: --vfio-bless-known-bugs updates their "
            "annotations too",
        ]
    )
    result = pytester.runpytest("--vfio-bless-known-bugs")  # the switch alone blesses too
    result.assert_outcomes(xfailed=1, passed=1)
    assert (root / "scenarios/known.vfio").read_text() == KNOWN_BUG
    assert "UnexpectedOutput" not in (root / "scenarios/stale_bug.vfio").read_text()
    pytester.runpytest().assert_outcomes(xfailed=1, passed=1)


@pytest.mark.parametrize(
    ("encode", "name"),
    [
        (lambda text: text.replace("\n", "\r\n").encode(), "crlf"),
        (lambda text: b"\xef\xbb\xbf" + text.encode(), "bom"),
    ],
    ids=["crlf", "bom"],
)
def test_bless_keeps_line_endings_and_byte_order_mark(
    pytester: pytest.Pytester,
    write_scenarios: Write,
    encode: Callable[[str], bytes],
    name: str,
) -> None:
    root = write_scenarios({f"scenarios/{name}.vfio": encode(STALE)})
    pytester.runpytest("--vfio-bless").assert_outcomes(passed=1)
    assert (root / f"scenarios/{name}.vfio").read_bytes() == encode(BLESSED)


def test_bless_edits_each_file_of_a_multi_file_scenario(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    root = write_scenarios(
        {
            "scenarios/vm_file1.vfio": "container c0\n//:: ExpectedOutput(dma.map.failed)\n"
            "map c0 iova=0x100000 vaddr=0x7f0000100000 size=2M\n",
            "scenarios/vm_file2.vfio": "map c0 iova=0x101000 vaddr=0x7f0000300000 size=4K\n",
        }
    )
    result = pytester.runpytest("--vfio-bless")
    result.assert_outcomes(passed=1)
    assert (root / "scenarios/vm_file1.vfio").read_text() == (
        "container c0\nmap c0 iova=0x100000 vaddr=0x7f0000100000 size=2M\n"
    )
    assert (root / "scenarios/vm_file2.vfio").read_text() == (
        "//:: ExpectedOutput(dma.map.failed:overlap)\n"
        "map c0 iova=0x101000 vaddr=0x7f0000300000 size=4K\n"
    )
    result.stdout.fnmatch_lines(
        [
            "scenarios/vm_file1.vfio: changed: 1 annotation removed",
            "scenarios/vm_file2.vfio: changed: 1 annotation added",
        ]
    )


def test_a_typo_is_never_blessed_and_its_item_fails_with_the_syntax_error(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    root = write_scenarios({"scenarios/typo.vfio": STALE + "map c0 iova=0 vaddr=0 size=4K perm\n"})
    before = snapshot(root)
    result = pytester.runpytest("--vfio-bless")
    result.assert_outcomes(failed=1)
    assert snapshot(root) == before
    result.stdout.fnmatch_lines(
        [
            "scenarios/typo.vfio:6:*: parser.error — *",
            "*= vfio bless =*",
            # ([[] is fnmatch's escape of a bracket)
            "scenarios/typo.vfio: not rewritten: output [[]parser.error] on line 6 is one that "
            "is never blessed: * (fix the scenario, or write its annotation by hand)",
            "bless: 0 files changed, 1 file not rewritten, 0 files unchanged",
        ]
    )


EDITING = "bless_plugin_backends:Editing"
# A backend that edits scenarios/edited.vfio during its run, and crashes on a map at 0xdead000.
BACKENDS = (Path(__file__).parents[1] / "bless" / "editing_backend.py").read_text("utf-8")


def test_a_file_changed_on_disk_during_the_run_is_not_written(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    root = write_scenarios(
        {
            "bless_plugin_backends.py": BACKENDS,
            "scenarios/edited.vfio": "container edit\n" + STALE,
        }
    )
    pytester.syspathinsert(root)
    result = pytester.runpytest("--vfio-bless", "-D", f"backend={EDITING}")
    result.assert_outcomes(failed=1)  # the run as it was: nothing was blessed
    text = (root / "scenarios/edited.vfio").read_text()
    assert text == "container edit\n" + STALE + "// edited while bless ran\n"
    result.stdout.fnmatch_lines(
        [
            "scenarios/edited.vfio: not written: it changed on disk since it was read "
            "(bless it again)",
            "hint: a file changed while bless ran; bless again to update it",
            "bless: 0 files changed, 1 file not written, 0 files unchanged",
        ]
    )


def test_a_run_the_backend_stopped_is_never_blessed(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    crash = STALE + "map c0 iova=0xdead000 vaddr=0 size=4K\n"
    root = write_scenarios(
        {"bless_plugin_backends.py": BACKENDS, "scenarios/crash.vfio": crash}
    )
    pytester.syspathinsert(root)
    before = snapshot(root)
    result = pytester.runpytest("--vfio-bless", "-D", f"backend={EDITING}")
    result.assert_outcomes(failed=1)
    assert snapshot(root) == before
    result.stdout.fnmatch_lines(
        [
            "scenarios/crash.vfio:6: backend crash — *RuntimeError: ioctl wrapper broke*",
            "scenarios/crash.vfio: not blessed: the backend stopped the run: *",
            "bless: 0 files changed, 1 scenario not blessed, 0 files unchanged",
        ]
    )


def test_the_bless_switches_are_listed_in_help(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        [
            "*--vfio-bless *rewrite scenario annotations*",
            "*--vfio-bless-dry-run*",
            "*--vfio-bless-check*",
            "*--vfio-bless-known-bugs*",
        ]
    )
