"""Collection: one item per `.vfio` file or `_fileN` group, cheap, and never a collection error."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from plugin_scenarios import FAILING, KNOWN_BUG, PASSING

Write = Callable[[dict[str, str | bytes]], Path]


def test_every_vfio_file_is_one_item_named_by_its_stem(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios(
        {"scenarios/dma/overlap.vfio": PASSING, "scenarios/bars/size.vfio": PASSING,
         "scenarios/notes.txt": "not a scenario"}
    )
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(
        ["scenarios/bars/size.vfio::size", "scenarios/dma/overlap.vfio::overlap", "2 tests *"]
    )


def test_plugin_is_active_without_any_conftest_and_disabled_by_p_no_vfio(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios({"scenarios/overlap.vfio": PASSING})
    assert not list(pytester.path.rglob("conftest.py"))
    enabled = pytester.runpytest("--collect-only", "-q")
    enabled.stdout.fnmatch_lines(["scenarios/overlap.vfio::overlap", "1 test collected*"])
    disabled = pytester.runpytest("--collect-only", "-q", "-p", "no:vfio")
    assert disabled.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_a_file_group_is_one_item_under_its_first_file(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios(
        {
            "scenarios/dma/pair_file1.vfio": "container c0\n",
            "scenarios/dma/pair_file2.vfio": "map c0 iova=0x1000 vaddr=0x1000 size=4K\n",
        }
    )
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["scenarios/dma/pair_file1.vfio::pair", "1 test collected*"])


def test_a_later_group_file_named_on_the_command_line_collects_its_group(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios(
        {
            "scenarios/pair_file1.vfio": "container c0\n",
            "scenarios/pair_file2.vfio": "map c0 iova=0x1000 vaddr=0x1000 size=4K\n",
        }
    )
    result = pytester.runpytest("--collect-only", "-q", "scenarios/pair_file2.vfio")
    result.stdout.fnmatch_lines(["scenarios/pair_file2.vfio::pair", "1 test collected*"])


@pytest.mark.parametrize(
    ("args", "deselected"),
    [
        (("scenarios/pair_file1.vfio", "scenarios/pair_file2.vfio"), 1),
        # pytest itself drops a file given with its folder: nothing left to deselect.
        (("scenarios", "scenarios/pair_file2.vfio"), 0),
    ],
)
def test_a_group_named_twice_on_the_command_line_is_one_item(
    pytester: pytest.Pytester, write_scenarios: Write, args: tuple[str, str], deselected: int
) -> None:
    write_scenarios(
        {
            "scenarios/pair_file1.vfio": "container c0\n",
            "scenarios/pair_file2.vfio": "map c0 iova=0x1000 vaddr=0x1000 size=4K\n",
        }
    )
    result = pytester.runpytest("--collect-only", "-q", *args)
    lines = [line for line in result.stdout.lines if "::" in line]
    assert lines == ["scenarios/pair_file1.vfio::pair"]
    ran = pytester.runpytest("-p", "no:randomly", *args)
    ran.assert_outcomes(passed=1, deselected=deselected)
    # --keep-duplicates keeps what each path collects, as for any other file.
    kept = pytester.runpytest("--collect-only", "-q", "--keep-duplicates", *args)
    assert "scenarios/pair_file2.vfio::pair" in kept.stdout.lines


def test_include_files_is_a_full_match_on_the_path_below_the_scenario_root(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios(
        {"scenarios/dma/overlap.vfio": PASSING, "scenarios/bars/dma.vfio": PASSING}
    )
    result = pytester.runpytest("--collect-only", "-q", r"-DincludeFiles=dma/.*")
    result.stdout.fnmatch_lines(["scenarios/dma/overlap.vfio::overlap", "1 test collected*"])
    result = pytester.runpytest("--collect-only", "-q", "-DincludeFiles=dma")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_scenario_roots_ini_sets_what_names_are_relative_to(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios(
        {
            "cases/dma/overlap.vfio": PASSING,
            "pytest.ini": "[pytest]\nvfio_scenario_roots = cases\n"
            "vfio_defines =\n    includeFiles=dma/overlap\\.vfio\n",
        }
    )
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["cases/dma/overlap.vfio::overlap", "1 test collected*"])


def test_file_that_is_not_utf8_fails_only_its_item_at_the_bad_byte(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios(
        {"scenarios/bad.vfio": b"container c0\n\xff\xfe map\n", "scenarios/good.vfio": PASSING}
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*bad.vfio:2:1*parser.error*not valid UTF-8*", "*hint: save*"])
    assert "error" not in result.stdout.lines[-1]


def test_file_unreadable_at_run_time_fails_only_its_item(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios({"scenarios/gone.vfio": PASSING, "scenarios/good.vfio": PASSING})
    pytester.makeconftest(
        """
        def pytest_collection_finish(session):
            (session.config.rootpath / "scenarios" / "gone.vfio").unlink()
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*Unreadable files:*", "*gone.vfio*"])
    assert "Traceback" not in result.stdout.str()


def test_a_run_uses_the_text_as_it_is_when_the_run_begins(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    # A plugin reads every item's markers after collection (the files are read then); a test
    # that runs first rewrites a known bug into a passing scenario and deletes another. Both
    # must run on the files as they are then, as they would had nothing read them early.
    write_scenarios(
        {"scenarios/late.vfio": KNOWN_BUG, "scenarios/gone.vfio": PASSING}
    )
    pytester.makeconftest(
        """
        import pytest

        @pytest.hookimpl(trylast=True)
        def pytest_collection_finish(session):
            print("KNOWN", sum(1 for i in session.items if i.get_closest_marker("known_bug")))
        """
    )
    pytester.makepyfile(
        test_aa_first=f"""
        from pathlib import Path

        def test_rewrite():
            Path("scenarios/late.vfio").write_text({PASSING!r}, encoding="utf-8")
            Path("scenarios/gone.vfio").unlink()
        """
    )
    result = pytester.runpytest("-p", "no:randomly", "-s", "test_aa_first.py", "scenarios")
    result.stdout.fnmatch_lines(["KNOWN 1"])
    result.assert_outcomes(passed=2, failed=1)  # late passes; gone fails as unreadable
    result.stdout.fnmatch_lines(["FAILED scenarios/gone.vfio::gone*"])


def test_a_working_folder_removed_by_an_earlier_test_does_not_end_the_session(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios({"scenarios/a.vfio": PASSING})
    pytester.makepyfile(
        test_aa_first="""
        import os, shutil, tempfile

        def test_leave_no_working_folder():
            gone = tempfile.mkdtemp()
            os.chdir(gone)
            shutil.rmtree(gone)
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:randomly", "test_aa_first.py", "scenarios")
    result.assert_outcomes(passed=2)
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_syntax_error_fails_only_its_item_with_parser_error(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios(
        {"scenarios/broken.vfio": "container c0\nmap c0 iova=\n", "scenarios/good.vfio": PASSING}
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*broken.vfio:2*parser.error*"])


def test_collection_never_runs_the_scenario_language(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios({"scenarios/broken.vfio": "this is { not a scenario\n" + FAILING})
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["scenarios/broken.vfio::broken", "1 test collected*"])
    assert result.ret == pytest.ExitCode.OK
