"""Checking a regression file the way a user will run it: through the language and the matcher.

A file is right when, run on the reference, it passes, and run on the target, it fails, with
every finding at the divergent line. `check_file` runs the text on a fresh backend of each
session, exactly as `python -m harness run` would (parse, check, run, match against the file's
own annotations with the backend's projects in force), and says what it saw.
"""

from __future__ import annotations

from dataclasses import dataclass

from annotations import match, read_text
from harness.backend import AbortKind, BackendSession
from harness.scenario import execute
from harness.tags import SUITE_PROJECT


@dataclass(frozen=True, slots=True)
class Verdict:
    """What running the file on one backend showed."""

    backend: str
    failed: bool
    lines: tuple[int, ...]  # the lines of its findings (sorted, distinct)
    stopped: str = ""  # the backend stopped the run (a fault, a crash, unsupported)
    unsupported: bool = False  # it stopped because it cannot run the call there


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

    def on_target(self, line: int, needed: tuple[int, ...] = ()) -> str:
        """How the file ran on the target: `fails at line N`, or what went otherwise.

        With `needed` (lines the target cannot run, and yet the divergence needs), the run is
        expected to stop at the first of them.
        """
        target = self.target
        if needed and target.unsupported and target.lines == needed[:1]:
            return f"stops at line {needed[0]}: cannot run it, yet it changed its state"
        return _said(target, line)


def _said(verdict: Verdict, line: int | None) -> str:
    if not verdict.failed:
        return "passes" if line is None else "PASSES (not reproduced)"
    where = ", ".join(map(str, verdict.lines)) or "?"
    text = f"fails at line {where}" if len(verdict.lines) == 1 else f"fails at lines {where}"
    if line is None:  # the reference must pass: its failure is the news
        text = "FAILS" + text.removeprefix("fails")
    elif verdict.lines != (line,):
        text += f" (expected line {line} only)"
    if not verdict.stopped:
        return text
    stopped = verdict.stopped if len(verdict.stopped) <= 60 else verdict.stopped[:60] + " …"
    return f"{text} ({stopped})"


def _verdict(text: str, file: str, session: BackendSession) -> Verdict:
    execution = execute([(file, text)], session.fresh())
    read = read_text(text, file)
    outcome = match(execution.outputs, read, (session.name, SUITE_PROJECT), runs=execution.runs)
    lines = {f.line for f in outcome.findings if f.line is not None}
    abort = execution.abort
    if abort is not None:  # the backend stopped the run: it fails there, whatever matched
        return Verdict(
            session.name,
            True,
            tuple(sorted(lines | {abort.line})),
            abort.message,
            unsupported=abort.kind is AbortKind.UNSUPPORTED,
        )
    return Verdict(session.name, outcome.failed, tuple(sorted(lines)))


def check_file(file: str, text: str, reference: BackendSession, target: BackendSession) -> Check:
    """Run the file's text on both backends and match each run against its annotations."""
    return Check(_verdict(text, file, reference), _verdict(text, file, target))
