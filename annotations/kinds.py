"""Groups of annotation kinds, named for the rules that treat them alike, and diagnostic kinds."""

from __future__ import annotations

import enum

from annotations.annotation import Kind


class DiagnosticKind(enum.StrEnum):
    """The `Diagnostic.kind` words. Only PARSE_ERROR is Silver's own; the rest go beyond it."""

    PARSE_ERROR = "ParseError"  # Silver fails the test on it
    PENDING_AT_END_OF_FILE = "PendingAtEndOfFile"  # no target before the end: Silver drops it
    BLANK_TARGET = "BlankTarget"  # the target line is blank: it can never match
    DUPLICATE_ANNOTATION = "DuplicateAnnotation"  # an earlier annotation takes all its outputs
    NEAR_MISS = "NearMiss"  # looks like an annotation, but Silver reads it as a comment or code
    UNKNOWN_ID = "UnknownId"  # the id is not in the caller's catalog


# Kinds that carry an output id and accept or expect outputs.
OUTPUT_KINDS = frozenset(
    {
        Kind.EXPECTED,
        Kind.UNEXPECTED,
        Kind.MISSING,
        Kind.EXPECTED_FILE,
        Kind.UNEXPECTED_FILE,
        Kind.MISSING_FILE,
    }
)
# Kinds that accept an output (Silver's ExpectedOutput/UnexpectedOutput branch).
ACCEPTING_KINDS = frozenset(
    {Kind.EXPECTED, Kind.UNEXPECTED, Kind.EXPECTED_FILE, Kind.UNEXPECTED_FILE}
)
EXPECTED_KINDS = frozenset({Kind.EXPECTED, Kind.EXPECTED_FILE})
UNEXPECTED_KINDS = frozenset({Kind.UNEXPECTED, Kind.UNEXPECTED_FILE})
MISSING_KINDS = frozenset({Kind.MISSING, Kind.MISSING_FILE})
# Known bugs: in force, they make a test without errors a known failure.
KNOWN_BUG_KINDS = UNEXPECTED_KINDS | MISSING_KINDS
# Kinds that carry an issue link `/PROJECT/issue/N/` and apply only to matching projects.
LINKED_KINDS = KNOWN_BUG_KINDS | {Kind.IGNORE_FILE, Kind.IGNORE_FILE_LIST}
# Kinds matched against outputs by (file, line, id): located ones and the file-level output forms.
MATCHED_KINDS = OUTPUT_KINDS | {Kind.IGNORE_OTHERS}
# Kinds without a target line.
FILE_LEVEL_KINDS = frozenset(
    {
        Kind.IGNORE_FILE,
        Kind.IGNORE_FILE_LIST,
        Kind.EXPECTED_FILE,
        Kind.UNEXPECTED_FILE,
        Kind.MISSING_FILE,
    }
)
