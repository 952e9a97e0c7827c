"""`-D`/`--define`/`vfio_defines`: usage errors for bad entries, and the report header."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from plugin_scenarios import PASSING, TEST_BACKEND

Write = Callable[[dict[str, str | bytes]], Path]


def test_define_fails_unknown_key_as_usage_error_with_suggestion(
    pytester: pytest.Pytester,
) -> None:
    result = pytester.runpytest("-D", "includefiles=.*")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: -D includefiles='.*': unknown key 'includefiles'",
            "hint: did you mean 'includeFiles'?",
        ]
    )


def test_define_fails_bad_value_as_usage_error_showing_its_repr(
    pytester: pytest.Pytester,
) -> None:
    result = pytester.runpytest("--define", "vfio:pgsize=3000")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: -D vfio:pgsize='3000': pgsize 0xbb8 is not a power of two"]
    )


def test_define_fails_bad_regex_as_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("-DincludeFiles=(")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: -D includeFiles='(': not a regular expression*"])


def test_define_fails_backend_that_cannot_be_loaded(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("-Dbackend=no_such_module:Backend")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: -D backend='no_such_module:Backend': *"])


def test_ini_defines_fail_like_command_line_defines(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nvfio_defines =\n    strict=maybe\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: -D strict='maybe': expected true or false"])


def test_header_shows_the_effective_options_command_line_over_ini(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios({"scenarios/a.vfio": PASSING})
    pytester.makeini("[pytest]\nvfio_defines =\n    vfio:limit=8\n    strict=false\n")
    result = pytester.runpytest(
        "--collect-only", "-D", "strict=true", "--define=issueUrl=https://t.example/{issue}"
    )
    result.stdout.fnmatch_lines(
        [
            f"vfio: backend={TEST_BACKEND} backend.timeout=30 backend.unsupported=skip "
            "backend.log=(none)",
            r"vfio: strict=true includeFiles=.*\.vfio issueUrl=https://t.example/{issue}",
            "vfio: vfio:pgsize=4K vfio:limit=8 vfio:mode=v2 vfio:reserved=x86 vfio:aw=64",
            "vfio: vfio:mmio32.base=0xc0000000 vfio:mmio32.size=640M *",
            "vfio: projects in force: vfio, model; scenario roots: nearest 'scenarios' folder",
        ]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-D", "includeFiles=" + "(" * 600 + "a" + ")" * 600), "*Python cannot compile*"),
        (("-W", "error", "-D", "includeFiles=[[a]"), "*ambiguous regular expression*"),
        (("-D", "issueUrl=https://x/{issue:>2000000000}"), "*has a conversion or format spec*"),
        (("-D", "backend=sys:exit"), "ERROR: -D backend='sys:exit': exit(defaults) failed: "
         "SystemExit: *"),
    ],
)
def test_hostile_defines_are_usage_errors_not_internal_errors(
    pytester: pytest.Pytester, write_scenarios: Write, args: tuple[str, ...], message: str
) -> None:
    write_scenarios({"scenarios/a.vfio": PASSING})
    result = pytester.runpytest_subprocess(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message, "hint: *"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    assert "Traceback" not in result.stderr.str()


def test_a_backend_class_that_exits_while_it_is_built_is_a_usage_error(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    pytester.makepyfile(exiting="class Exits:\n    def __init__(self, defaults):\n"
                        "        raise SystemExit('no device')\n")
    write_scenarios({"scenarios/a.vfio": PASSING})
    result = pytester.runpytest_subprocess("-Dbackend=exiting:Exits", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: -D backend='exiting:Exits': Exits(defaults) failed: SystemExit: no device"]
    )


def test_header_says_why_a_process_backend_has_no_project_name(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    # A child that exits during `initialize` names no project: the header leaves the empty
    # name out and says what happened; the scenario fails with the reason, and the conformance
    # report names the backend by its spec.
    write_scenarios({"scenarios/a.vfio": PASSING})
    spec = f"exec:{shlex.join([sys.executable, '-c', 'import sys; sys.exit(3)'])}"
    result = pytester.runpytest("-D", f"backend={spec}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "vfio: projects in force: vfio; scenario roots: nearest 'scenarios' folder",
            f"vfio: backend {spec} has no project name: its process did not start or did not "
            "complete initialize (the first scenario's failure says why)",
            f"scenarios/a.vfio: backend fault — backend {spec} exited with status 3 during "
            "initialize",
            f"Conformance of backend {spec} (scenarios per area):",
        ]
    )
    assert "projects in force: vfio, " not in result.stdout.str()
