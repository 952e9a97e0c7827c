"""Checking a regression file the way a user will run it: through the language and the matcher.

A file is right when, run on the reference, it passes, and run on the target, it fails, with
every finding at the divergent line. `check_file` runs the text on a fresh backend of each
session, exactly as `python -m harness run` would (parse, check, run, match against the file's
own annotations with the backend's projects in force), and says what it saw.
"""

from __future__ import annotations

from dataclasses import dataclass

from annotations import match, read_text
from annotations.annotation import Output
from harness.backend import BackendSession
from harness.scenario import Checker, ScenarioSyntaxError, parse, run
from harness.tags import SUITE_PROJECT


@dataclass(frozen=True, slots=True)
class Verdict:
    """What running the file on one backend showed."""

    backend: str
    failed: bool
    lines: tuple[int, ...]  # the lines of its findings (sorted, distinct)
    stopped: str = ""  # the backend stopped the run (a fault, a crash, unsupported)


@dataclass(frozen=True, slots=True)
class Check:
    """Both runs of a regression file."""

    reference: Verdict
    target: Verdict

    def holds(self, line: int) -> bool:
        """Whether the file passes on the reference and fails on the target only at `line`."""
        return not self.reference.failed and self.target.failed and self.target.lines == (line,)

    def on_reference(self) -> str:
        """How the file ran on the reference: `passes`, or where it failed."""
        return _said(self.reference, None)

    def on_target(self, line: int) -> str:
        """How the file ran on the target: `fails at line N`, or what went otherwise."""
        return _said(self.target, line)


def _said(verdict: Verdict, line: int | None) -> str:
    if not verdict.failed:
        return "passes" if line is None else "PASSES (not reproduced)"
    where = ", ".join(map(str, verdict.lines)) or "?"
    text = f"fails at line {where}" if len(verdict.lines) == 1 else f"fails at lines {where}"
    if line is None:
        text = text.upper().replace("LINE", "line")
    elif verdict.lines != (line,):
        text += f" (expected line {line} only)"
    return f"{text} ({verdict.stopped})" if verdict.stopped else text


def _outputs(text: str, file: str, session: BackendSession) -> tuple[list[Output], str]:
    """The run's outputs, and why the backend stopped it (empty when it did not)."""
    outputs: list[Output] = []
    try:
        program = parse(text, file)
    except ScenarioSyntaxError as error:
        return [Output(file, error.line, "parser.error", error.message)], ""
    try:
        run(Checker().check(program), session.fresh(), outputs)
    except Exception as error:  # the target may break on its own divergence: that is a finding
        return outputs, f"{type(error).__name__}: {error}"
    return outputs, ""


def _verdict(text: str, file: str, session: BackendSession) -> Verdict:
    outputs, stopped = _outputs(text, file, session)
    read = read_text(text, file)
    outcome = match(outputs, read, (session.name, SUITE_PROJECT))
    lines = sorted({f.line for f in outcome.findings if f.line is not None})
    if stopped:
        return Verdict(session.name, True, tuple(lines), stopped)
    return Verdict(session.name, outcome.failed, tuple(lines))


def check_file(file: str, text: str, reference: BackendSession, target: BackendSession) -> Check:
    """Run the file's text on both backends and match each run against its annotations."""
    return Check(_verdict(text, file, reference), _verdict(text, file, target))
