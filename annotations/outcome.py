"""What the matcher returns: a verdict and the findings that explain it.

Findings describe themselves (kind, location, id, message); renderers only lay them out.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from annotations.annotation import Annotation, Diagnostic, IssueRef, Output


class Verdict(enum.Enum):
    """The four ends of a test, as Silver's framework has them."""

    PASSED = "passed"
    FAILED = "failed"
    KNOWN_FAILURE = "known failure"  # no error, but Unexpected/Missing annotations in force
    IGNORED = "ignored"  # every file ignored for a project in force


class FindingKind(enum.Enum):
    """Silver's error groups, plus annotation errors (parse errors and stricter findings)."""

    ADDITIONAL_OUTPUT = "additional output"
    EXPECTED_BUT_MISSING = "expected but missing"
    UNEXPECTED_BUT_MISSING = "unexpected but missing"  # stale known bug: the issue looks fixed
    MISSING_BUT_PRESENT = "missing but present"  # stale known bug: the output now occurs
    ANNOTATION_ERROR = "annotation error"
    UNREADABLE = "unreadable file"  # the test's file could not be read or decoded


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason a test failed, located at `file:line` (line None: no line).

    `passes` is set on an expected-but-missing finding whose line ran more than once: the
    0-based passes that gave no output (each pass of its line must give one).
    """

    kind: FindingKind
    file: str
    line: int | None
    id: str | None
    message: str
    annotation: Annotation | None = None
    output: Output | None = None
    diagnostic: Diagnostic | None = None
    passes: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Outcome:
    """The matcher's result.

    `issues` are the issue links behind a known failure or an ignored file; `matched` pairs each
    accepted output with the annotation that accepted it (None: accepted by IgnoreOthers);
    `warnings` are stricter findings downgraded by a non-strict run.
    """

    verdict: Verdict
    findings: tuple[Finding, ...] = ()
    issues: tuple[IssueRef, ...] = ()
    matched: tuple[tuple[Output, Annotation | None], ...] = ()
    warnings: tuple[Diagnostic, ...] = field(default=())

    @property
    def failed(self) -> bool:
        """True when the verdict is a failure."""
        return self.verdict is Verdict.FAILED
