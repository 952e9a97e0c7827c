"""The annotation forms: `Form`, `FormError`, the keywords, and `parse_form`.

`parse_form(body)` parses the text after `//:: ` into a `Form`, or returns a `FormError` with
the column (1-based, within the body) where the text stops being an annotation. The grammar
in `annotation.lark` (`annotations.grammar`) is the single source of the syntax; it is imported
and built on first use, so reading a file without `//::` lines never imports lark. Bodies of
the plain shapes nearly every annotation has are recognised first by one regular expression
that reads them exactly as the grammar does (`plain_form`, tested against the grammar).
Results are memoised per body text because test suites repeat the same few annotations.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from annotations.annotation import IssueRef, Kind, OutputId
from annotations.kinds import LINKED_KINDS

# Silver reads issue numbers with Scala's `toInt`; a larger number makes its reader throw.
MAX_ISSUE = 2**31 - 1
_MAX_DIGITS = len(str(MAX_ISSUE))
# Bodies up to this length are memoised; longer ones are no annotation anyone repeats.
_MEMO_LENGTH = 512

KEYWORDS: tuple[str, ...] = tuple(kind.value for kind in Kind)

# How each form is written, for hints.
SYNTAX: dict[Kind, str] = {
    Kind.EXPECTED: "ExpectedOutput(ID)",
    Kind.UNEXPECTED: "UnexpectedOutput(ID, /PROJECT/issue/N/)",
    Kind.MISSING: "MissingOutput(ID, /PROJECT/issue/N/)",
    Kind.IGNORE_OTHERS: "IgnoreOthers",
    Kind.IGNORE_FILE: "IgnoreFile(/PROJECT/issue/N/)",
    Kind.IGNORE_FILE_LIST: "IgnoreFileList(/PROJECT/issue/N/)",
    Kind.EXPECTED_FILE: "ExpectedFileOutput(ID)",
    Kind.UNEXPECTED_FILE: "UnexpectedFileOutput(ID, /PROJECT/issue/N/)",
    Kind.MISSING_FILE: "MissingFileOutput(ID, /PROJECT/issue/N/)",
}
# The keywords followed by an issue link, each with its opening parenthesis.
LINKED_OPENINGS = tuple(sorted(f"{kind.value}(" for kind in LINKED_KINDS))


@dataclass(frozen=True, slots=True)
class Form:
    """One parsed annotation body: its kind, id (output kinds) and issue link (linked kinds)."""

    kind: Kind
    output_id: OutputId | None = None
    issue: IssueRef | None = None


@dataclass(frozen=True, slots=True)
class FormError:
    """Why a body is not an annotation: a message and the 1-based column within the body.

    `hint` is set where the grammar accepted the body but a value is out of range; otherwise
    `annotations.diagnosis` works out the slip and its hint.
    """

    message: str
    column: int
    hint: str | None = None


def parse_form(body: str) -> Form | FormError:
    """Parse the text after `//:: ` (Silver's rules, exactly) into a `Form` or a `FormError`."""
    return _memoised(body) if len(body) <= _MEMO_LENGTH else _parse(body)


@functools.lru_cache(maxsize=8192)
def _memoised(body: str) -> Form | FormError:
    return _parse(body)


def _parse(body: str) -> Form | FormError:
    plain = plain_form(body)
    return plain if plain is not None else grammar_form(body)


def grammar_form(body: str) -> Form | FormError:
    """Parse `body` with the grammar (`annotation.lark`), the single source of the syntax."""
    if body.startswith(LINKED_OPENINGS) and not has_link_tail(body):
        # Silver's patterns end every linked form with `/issue/N/)`. Checking that first keeps
        # the grammar's greedy lookaheads from rescanning a long body that lacks it.
        return FormError(_unexpected(body, len(body) + 1), len(body) + 1)
    from annotations import grammar  # lark takes tens of milliseconds to import: on demand

    parsed = grammar.parse(body)
    if isinstance(parsed, int):
        return FormError(_unexpected(body, parsed), parsed)
    output_id = None if parsed.output_id is None else OutputId.parse(parsed.output_id)
    if parsed.number is None or parsed.project is None:
        return Form(parsed.kind, output_id)
    digits = parsed.number.lstrip("0") or "0"
    if len(digits) > _MAX_DIGITS or int(digits) > MAX_ISSUE:
        message = f"issue number {shorten(digits, unit='digits')} is larger than {MAX_ISSUE}"
        hint = f"an issue number is at most {MAX_ISSUE} (Silver reads it as a 32-bit int)"
        return FormError(message, parsed.number_column, hint)
    return Form(parsed.kind, output_id, IssueRef(parsed.project, int(digits)))


# The shapes nearly every annotation has: ids and projects of ASCII letters, digits and `_.-`
# (and `:` in ids), an issue number of at most ten digits. In these, Silver's greedy patterns
# can split a body only one way, which this expression finds without the grammar (about 50
# times faster); a test checks that both read every such body alike. The rest, including any
# body this expression rejects, goes to the grammar.
_PLAIN = re.compile(
    r"(?P<expected>ExpectedOutput|ExpectedFileOutput)\((?P<id>[\w.:-]*)\)"
    r"|(?P<linked>UnexpectedOutput|MissingOutput|UnexpectedFileOutput|MissingFileOutput)"
    r"\((?P<linked_id>[\w.:-]*), /(?P<project>[\w.-]*)/issue/(?P<number>[0-9]{1,10})/\)"
    r"|(?P<ignore>IgnoreFile|IgnoreFileList)\(/(?P<ignored>[\w.-]*)/issue/(?P<issue>[0-9]{1,10})/\)"
    r"|(?P<others>IgnoreOthers)",
    re.ASCII,
)
_KINDS = {kind.value: kind for kind in Kind}


def plain_form(body: str) -> Form | None:
    """The form of a body of one of the plain shapes (`_PLAIN`), else None."""
    found = _PLAIN.fullmatch(body)
    if found is None:
        return None
    if found["others"]:
        return Form(Kind.IGNORE_OTHERS)
    if found["expected"]:
        return Form(_KINDS[found["expected"]], OutputId.parse(found["id"]))
    if found["linked"]:
        kind, output_id = _KINDS[found["linked"]], OutputId.parse(found["linked_id"])
        project, number = found["project"], int(found["number"])
    else:
        kind, output_id = _KINDS[found["ignore"]], None
        project, number = found["ignored"], int(found["issue"])
    if number > MAX_ISSUE:
        return None  # the grammar's path reports it
    return Form(kind, output_id, IssueRef(project, number))


def has_link_tail(body: str) -> bool:
    """True when `body` ends with `/issue/N/)`, as every linked form must."""
    if not body.endswith("/)"):
        return False
    head = body[:-2].rstrip("0123456789")
    return len(head) < len(body) - 2 and head.endswith("/issue/")


def shorten(text: str, limit: int = 40, unit: str = "characters") -> str:
    """`text`, or for a long one its start and end around `...` and its length."""
    if len(text) <= limit:
        return text
    keep = (limit - 3) // 2
    return f"{text[:keep]}...{text[-keep:]} ({len(text):,} {unit})"


def _unexpected(body: str, column: int) -> str:
    """A one-line reason for a parse error, naming the text where parsing stopped."""
    rest = body[column - 1 :]
    if not rest:
        return "the annotation ends too early"
    shown = rest if len(rest) <= 24 else rest[:21] + "..."
    return f"unexpected `{shown}`"
