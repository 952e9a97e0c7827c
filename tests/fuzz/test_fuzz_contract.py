"""The campaign's checks fail when the contract is broken: a file written, an input changed,
two runs that differ, an output outside its file, an exception, an error without a hint, an
issue link that grows without bound. (Each planted in the pipeline a check watches.)"""

from __future__ import annotations

import dataclasses
import itertools
import os
from pathlib import Path
from typing import Any

import fuzz_targets
import pytest
from fuzz_inputs import MutatedScenario
from fuzz_targets import DefinesCase, check_defines, check_scenario

from annotations.annotation import IssueRef, Output
from harness.options import OptionError
from harness.runner import RunResult, run_scenario

CASE = MutatedScenario(
    "a", (("dma/a.vfio", b"container c0\nassert c0.mappings == 0\n"),), ("as written",)
)


def planted(monkeypatch: pytest.MonkeyPatch, after: Any) -> None:
    """Run scenarios as usual, then `after(scenario, result)`; its return replaces the result."""

    def run(scenario: Any, **kwargs: Any) -> RunResult:
        result = run_scenario(scenario, **kwargs)
        changed = after(scenario, result)
        return result if changed is None else changed

    monkeypatch.setattr(fuzz_targets, "run_scenario", run)


def test_the_contract_holds_for_a_passing_scenario() -> None:
    assert check_scenario(CASE).result.outcome.findings == ()


def test_a_file_written_in_the_working_folder_breaks_the_contract(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def leave_a_file(scenario: Any, result: RunResult) -> None:
        Path("left-behind.txt").write_text("x")

    planted(monkeypatch, leave_a_file)
    with pytest.raises(AssertionError, match="files appeared in the working folder"):
        check_scenario(CASE)


def test_an_input_file_changed_breaks_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    def change_the_input(scenario: Any, result: RunResult) -> None:
        # The same bytes written again: only the modification time tells.
        path = scenario.files[0]
        path.write_bytes(path.read_bytes())
        os.utime(path, ns=(0, 0))

    planted(monkeypatch, change_the_input)
    with pytest.raises(AssertionError, match="an input file was changed"):
        check_scenario(CASE)


def test_two_runs_that_differ_break_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    count = itertools.count()
    planted(
        monkeypatch,
        lambda scenario, result: dataclasses.replace(result, backend=f"model{next(count)}"),
    )
    with pytest.raises(AssertionError, match="two runs of the same files differ"):
        check_scenario(CASE)


def test_an_output_outside_its_file_breaks_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    def beyond(scenario: Any, result: RunResult) -> RunResult:
        output = Output(str(scenario.files[0]), 99, "assert.failed:assertion.false", "x")
        return dataclasses.replace(result, outputs=(output,))

    planted(monkeypatch, beyond)
    with pytest.raises(AssertionError, match="line=99"):
        check_scenario(CASE)


def test_an_exception_of_the_pipeline_reaches_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    def reader(*args: Any) -> None:
        raise ValueError("Exceeds the limit (4300 digits) for integer string conversion")

    monkeypatch.setattr(fuzz_targets, "read_links", reader)
    with pytest.raises(ValueError, match="4300 digits"):
        check_scenario(CASE)


def test_an_option_error_without_a_hint_breaks_the_contract(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def parse(entries: Any) -> None:
        raise OptionError("strict", "maybe", "expected true or false")

    monkeypatch.setattr(fuzz_targets, "parse_defines", parse)
    with pytest.raises(AssertionError):
        check_defines(DefinesCase(("strict=maybe",), ()))


def test_an_issue_link_without_a_bound_breaks_the_contract(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What `{issue:>2000000000}` would have done, at a size a test can afford.
    monkeypatch.setattr(fuzz_targets, "issue_link", lambda ref, template: " " * 10_000)
    with pytest.raises(AssertionError):
        check_defines(DefinesCase(("issueUrl=https://t.example/{issue}",), (IssueRef("m", 1),)))
