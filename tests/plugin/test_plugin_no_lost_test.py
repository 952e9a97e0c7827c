"""A test never vanishes: every collected scenario ends with an outcome, serial and xdist alike,
whatever its files hold; and the backend session is closed when the run ends."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from plugin_scenarios import FAILING, PASSING

from harness.pytest_plugin.items import SESSION

Write = Callable[[dict[str, str | bytes]], Path]

# An issue number of 4,301 digits: Python refuses to convert it to an int by default.
HUGE_ISSUE = "container c0\n//:: IgnoreFile(/vfio/issue/" + "1" * 4301 + "/)\n"
# A conftest that makes the annotation reader raise for one file, at collection and at run:
# a reader bug, not bad input. The item must fail on its own.
BROKEN_READER = """
import harness.sources

real = harness.sources.read_texts

def read_texts(texts, **kwargs):
    if any(name.endswith("boom.vfio") for name, _ in texts):
        raise RuntimeError("reader bug")
    return real(texts, **kwargs)

harness.sources.read_texts = read_texts
"""


def outcomes(output: str) -> dict[str, str]:
    """`-rA` short summary lines: node id -> outcome word."""
    found = re.findall(r"^(PASSED|FAILED|ERROR) (\S+)", output, re.MULTILINE)
    return {node: word for word, node in found}


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_a_file_whose_annotations_cannot_be_read_fails_alone(
    pytester: pytest.Pytester, write_scenarios: Write, workers: tuple[str, ...]
) -> None:
    write_scenarios(
        {
            "scenarios/a.vfio": PASSING,
            "scenarios/huge.vfio": HUGE_ISSUE,
            "scenarios/boom.vfio": PASSING,
            "scenarios/z.vfio": PASSING,
        }
    )
    pytester.makeconftest(BROKEN_READER)
    result = pytester.runpytest_subprocess("-rA", "-p", "no:cacheprovider", *workers)
    text = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in text
    found = outcomes(result.stdout.str())
    assert found["scenarios/a.vfio::a"] == found["scenarios/z.vfio::z"] == "PASSED"
    assert found["scenarios/boom.vfio::boom"] == "FAILED"
    assert "scenarios/huge.vfio::huge" in found  # an outcome, whichever the reader gives
    assert len(found) == 4
    assert result.ret == pytest.ExitCode.TESTS_FAILED


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_an_issue_number_of_4301_digits_fails_its_test_and_the_run(
    pytester: pytest.Pytester, write_scenarios: Write, workers: tuple[str, ...]
) -> None:
    # Issue 10: reading such a link raised while pytest read markers; a serial run ended in
    # INTERNALERROR, and under -n 2 the worker died and the run said "passed", exit status 0,
    # the test missing.
    link = "/vfio/issue/" + "1" * 4301 + "/"
    known_bug = f"container c0\n//:: UnexpectedOutput(a, {link})\nassert 1\n"
    write_scenarios(
        {
            "scenarios/a.vfio": PASSING,
            "scenarios/huge.vfio": HUGE_ISSUE,
            "scenarios/known.vfio": known_bug,
            "scenarios/z.vfio": PASSING,
        }
    )
    result = pytester.runpytest_subprocess("-rA", "-p", "no:cacheprovider", *workers)
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    assert outcomes(result.stdout.str()) == {
        "scenarios/a.vfio::a": "PASSED",
        "scenarios/huge.vfio::huge": "FAILED",
        "scenarios/known.vfio::known": "FAILED",
        "scenarios/z.vfio::z": "PASSED",
    }
    result.stdout.fnmatch_lines(
        ["FAILED scenarios/huge.vfio::huge - ParseError — cannot parse annotation*"]
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_the_backend_session_is_closed_when_the_run_ends(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios({"scenarios/a.vfio": PASSING, "scenarios/b.vfio": FAILING})
    configs: list[pytest.Config] = []

    class Keep:
        def pytest_configure(self, config: pytest.Config) -> None:
            configs.append(config)

    for args in ((), ("-x",), ("--collect-only",)):
        configs.clear()
        pytester.inline_run(*args, plugins=[Keep()])
        session = configs[0].stash[SESSION]
        assert session.closed, args  # type: ignore[attr-defined]
