"""Outcomes: pass, grouped failure, known bug (XFAIL), stale known bug, ignored, --runxfail."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from plugin_scenarios import FAILING, IGNORED, KNOWN_BUG, MISSING_BUG, PASSING, STALE_BUG

Write = Callable[[dict[str, str | bytes]], Path]


def test_matching_outputs_pass(pytester: pytest.Pytester, write_scenarios: Write) -> None:
    write_scenarios({"scenarios/dma/overlap.vfio": PASSING})
    pytester.runpytest().assert_outcomes(passed=1)


def test_additional_output_fails_with_a_located_grouped_report(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios({"scenarios/dma/overlap.vfio": FAILING})
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*dditional output*",
            "*dma/overlap.vfio:3: dma.map.failed:overlap — *",
            "*map c0 iova=0x101000 vaddr=0x7f0000300000 size=4K*",
        ]
    )


def test_known_bug_is_xfailed_with_its_issue_link_in_the_reason(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios({"scenarios/dma/overlap.vfio": KNOWN_BUG, "scenarios/m.vfio": MISSING_BUG})
    result = pytester.runpytest("-rx")
    result.assert_outcomes(xfailed=2)
    result.stdout.fnmatch_lines(
        [
            "XFAIL scenarios/dma/overlap.vfio::overlap - known bug: /model/issue/12/",
            "XFAIL scenarios/m.vfio::m - known bug: /model/issue/7/",
        ],
        consecutive=False,
    )


def test_known_bug_reason_uses_the_issue_url_template(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios({"scenarios/dma/overlap.vfio": KNOWN_BUG})
    result = pytester.runpytest("-rx", "-DissueUrl=https://bugs.example/{project}/{issue}")
    result.stdout.fnmatch_lines(["XFAIL *overlap - known bug: https://bugs.example/model/12*"])


def test_known_bug_of_a_project_not_in_force_is_a_plain_failure(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios({"scenarios/k.vfio": KNOWN_BUG.replace("/model/", "/kernel/")})
    pytester.runpytest().assert_outcomes(failed=1)


def test_stale_known_bug_fails_naming_the_fixed_issue_and_the_annotation(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios({"scenarios/dma/stale.vfio": STALE_BUG})
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "Unexpected output but missing (known bug looks fixed):",
            "scenarios/dma/stale.vfio:3: dma.map.failed:overlap — *",
            "the known bug /model/issue/12/ looks fixed: remove "
            "`//:: UnexpectedOutput(dma.map.failed:overlap, /model/issue/12/)` (line 2)",
        ]
    )


def test_stale_missing_output_says_to_make_it_an_expected_output(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    # The output a MissingOutput hid now occurs: removing the annotation would leave it
    # unexpected, so the advice is to turn it into an ExpectedOutput of the same id.
    write_scenarios(
        {
            "scenarios/dma/fixed.vfio": PASSING.replace(
                "ExpectedOutput(dma.map.failed:overlap)",
                "MissingOutput(dma.map.failed:overlap, /model/issue/13/)",
            )
        }
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "Missing output but present (known bug looks fixed):",
            "scenarios/dma/fixed.vfio:4: dma.map.failed:overlap — *",
            "the known bug /model/issue/13/ looks fixed: replace "
            "`//:: MissingOutput(dma.map.failed:overlap, /model/issue/13/)` (line 3) "
            "with `//:: ExpectedOutput(dma.map.failed:overlap)`",
        ]
    )


def test_ignore_file_skips_with_the_issue_link(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios({"scenarios/bars/sizing.vfio": IGNORED})
    result = pytester.runpytest("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        ["SKIPPED [1] scenarios/bars/sizing.vfio:1: ignored: /model/issue/3/"]
    )


def test_runxfail_reports_a_known_bug_that_still_occurs_as_a_failure_showing_its_output(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    # pytest's --runxfail: "report the results of xfail tests as if they were not marked".
    write_scenarios(
        {
            "scenarios/known.vfio": KNOWN_BUG,
            "scenarios/missing.vfio": MISSING_BUG,
            "scenarios/stale.vfio": STALE_BUG,
            "scenarios/pass.vfio": PASSING,
        }
    )
    result = pytester.runpytest("--runxfail", "-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines(
        [
            "Known bugs (reported as failures by --runxfail):",
            "scenarios/known.vfio:4: dma.map.failed:overlap — * (known bug /model/issue/12/)",
            "❱ 4 map c0 iova=0x101000 vaddr=0x7f0000300000 size=4K",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "Known bugs (reported as failures by --runxfail):",
            "scenarios/missing.vfio:3: dma.map.failed:overlap — should occur but does not "
            "(known bug /model/issue/7/)",
        ]
    )
    result.stdout.fnmatch_lines(["FAILED scenarios/stale.vfio::stale*"])


def test_without_the_skipping_plugin_a_known_bug_fails_with_its_report_not_a_crash(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios({"scenarios/known.vfio": KNOWN_BUG})
    result = pytester.runpytest("-p", "no:skipping")
    result.assert_outcomes(failed=1)  # nothing turns the known failure into XFAIL
    result.stdout.fnmatch_lines(["*known bug /model/issue/12/*"])
    assert "AttributeError" not in result.stdout.str()


def test_beyond_silver_findings_fail_when_strict(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios({"scenarios/pending.vfio": PASSING + "//:: ExpectedOutput(assert.failed)\n"})
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*pending.vfio:5*"])


def test_strict_false_turns_beyond_silver_findings_into_warnings(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios({"scenarios/pending.vfio": PASSING + "//:: ExpectedOutput(assert.failed)\n"})
    result = pytester.runpytest("-D", "strict=false")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(["*pending.vfio:5: AnnotationWarning: *"])


def test_custom_backend_puts_its_own_project_in_force(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    pytester.makepyfile(
        kernel_backend="from harness.model import ModelBackend\n\n\n"
        "class Kernel(ModelBackend):\n    name = 'kernel'\n"
    )
    pytester.syspathinsert()
    write_scenarios({"scenarios/k.vfio": KNOWN_BUG.replace("/model/", "/kernel/")})
    result = pytester.runpytest("-rx", "-Dbackend=kernel_backend:Kernel")
    result.assert_outcomes(xfailed=1)
    result.stdout.fnmatch_lines(
        ["vfio: projects in force: vfio, kernel*", "XFAIL *k - known bug: /kernel/issue/12/"]
    )


@pytest.mark.parametrize("text", ["", "\n\n", "// notes only\n  \t// and more\r\n"])
def test_an_empty_scenario_file_fails_when_strict_and_warns_otherwise(
    pytester: pytest.Pytester, write_scenarios: Write, text: str
) -> None:
    write_scenarios({"scenarios/empty.vfio": text})
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*empty.vfio:1:1: EmptyScenario — *holds no statement*"])
    lenient = pytester.runpytest("-D", "strict=false")
    lenient.assert_outcomes(passed=1, warnings=1)
    lenient.stdout.fnmatch_lines(["*empty.vfio:1: AnnotationWarning: EmptyScenario: *"])


def test_a_failure_after_an_ignored_file_says_that_file_did_not_run(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios(
        {
            "scenarios/vm_file1.vfio": "container c0\n",
            "scenarios/vm_file2.vfio": "//:: IgnoreFile(/model/issue/5/)\n"
            "map c0 iova=0x100000 vaddr=0x7f0000100000 size=2M\n",
            "scenarios/vm_file3.vfio": "assert c0.mappings == 1\n",
        }
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "note: scenarios/vm_file2.vfio did not run (ignored for a project in force); the "
            "files after it ran without its statements",
            "Additional output:",
            "scenarios/vm_file3.vfio:1: assert.failed:assertion.false — *",
        ]
    )


def test_annotations_of_files_a_syntax_error_kept_from_running_say_so(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios(
        {
            "scenarios/vm_file1.vfio": "container c0\nmap c0 iova=\n"
            "//:: ExpectedOutput(dma.map.failed:overlap)\nmap c0 iova=0 vaddr=0 size=4K\n",
            "scenarios/vm_file2.vfio": "//:: ExpectedOutput(dma.map.failed:size.zero)\n"
            "map c0 iova=0 vaddr=0 size=0\n",
        }
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "Expected output but missing:",
            "scenarios/vm_file1.vfio:4: dma.map.failed:overlap — not checked: this file did not "
            "run (scenarios/vm_file1.vfio:2 has a syntax error); *",
            "scenarios/vm_file2.vfio:2: dma.map.failed:size.zero — not checked: "
            "scenarios/vm_file2.vfio did not run (scenarios/vm_file1.vfio:2 has a syntax "
            "error); *",
        ],
        consecutive=False,
    )


def test_a_backend_that_cannot_start_a_scenario_fails_that_scenario_only(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    # Built once when the session opens (that one serves the first scenario), then once per
    # scenario: the third build fails, so the second scenario to run cannot start.
    pytester.makepyfile(
        flaky_backend="""
        from harness.model import ModelBackend


        class Flaky(ModelBackend):
            built = 0

            def __init__(self, defaults):
                type(self).built += 1
                if type(self).built == 2:
                    raise OSError("no such device: /dev/vfio/7")
                super().__init__(defaults)
        """
    )
    pytester.syspathinsert()
    write_scenarios(
        {"scenarios/a.vfio": PASSING, "scenarios/b.vfio": PASSING, "scenarios/c.vfio": PASSING}
    )
    result = pytester.runpytest("-p", "no:randomly", "-Dbackend=flaky_backend:Flaky")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "scenarios/b.vfio: backend crash — backend model failed to start the scenario: "
            "Flaky(defaults) failed: OSError: no such device: /dev/vfio/7",
            "FAILED scenarios/b.vfio::b - backend crash — *",
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_a_stale_missing_output_beside_its_expected_output_is_to_be_removed(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios(
        {
            "scenarios/both.vfio": PASSING.replace(
                "//:: ExpectedOutput(dma.map.failed:overlap)\n",
                "//:: ExpectedOutput(dma.map.failed:overlap)\n"
                "//:: MissingOutput(dma.map.failed:overlap, /model/issue/13/)\n",
            )
        }
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "the known bug /model/issue/13/ looks fixed: remove "
            "`//:: MissingOutput(dma.map.failed:overlap, /model/issue/13/)` (line 4); the "
            "ExpectedOutput(dma.map.failed:overlap) beside it accepts the output"
        ]
    )
