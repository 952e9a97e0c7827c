"""A language-agnostic engine for Silver-style `//::` test annotations.

Public API: `read_text`, `read_files`, `read_texts` (text → annotations and diagnostics),
`match` (outputs + annotations + projects in force → `Outcome`), `render` (an annotation back to
its canonical line), and the value types re-exported here. See README.md for the rules.
"""

from annotations.annotation import (
    Annotation,
    Diagnostic,
    IssueRef,
    Kind,
    Output,
    OutputId,
    ReadResult,
)
from annotations.kinds import DiagnosticKind
from annotations.matcher import id_matches, ignored_files, match, project_matches
from annotations.outcome import Finding, FindingKind, Outcome, Verdict
from annotations.reader import read_files, read_text, read_texts
from annotations.render import render

__all__ = [
    "Annotation",
    "Diagnostic",
    "DiagnosticKind",
    "Finding",
    "FindingKind",
    "IssueRef",
    "Kind",
    "Outcome",
    "Output",
    "OutputId",
    "ReadResult",
    "Verdict",
    "id_matches",
    "ignored_files",
    "match",
    "project_matches",
    "read_files",
    "read_text",
    "read_texts",
    "render",
]
