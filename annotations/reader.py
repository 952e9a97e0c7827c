"""Reading annotations: text (or files) → annotations and diagnostics, by Silver's rules.

Silver's reader (viper.silver.testing.TestAnnotationParser) removes the two-character text
backslash-r (a Scala raw string there; real CRs stay), splits on LF (dropping trailing
empty lines only, as Java's `split` does: a last line holding just a CR is kept), trims each line
of characters <= U+0020 (so a CR at a line end goes, one inside a line stays), and treats a
trimmed line starting with `//::` as an annotation line. Annotations
stack until the next line that does not start with `//`, which is their target; a stack still
open at the end of the file is dropped. This module reproduces that exactly, and reports as
diagnostics what Silver loses silently (see `kinds.DiagnosticKind`).

Cost: one regular-expression scan of the whole text finds the lines that hold `//::` or a near
miss of it; only those lines, and the few lines between a stack and its target, are looked at.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from annotations.annotation import Annotation, Diagnostic, ReadResult
from annotations.checks import Catalog, duplicates
from annotations.diagnosis import diagnose
from annotations.forms import KEYWORDS, Form, FormError, parse_form, shorten
from annotations.hints import looks_like_keyword, repair
from annotations.kinds import (
    FILE_LEVEL_KINDS,
    DiagnosticKind,
)

# Java's String.trim: every character <= U+0020.
TRIM = "".join(chr(code) for code in range(0x21))
_SUSPICIOUS_ID = re.compile(r"[\x00-\x20(),]")
BOM = "\ufeff"
# A comment that starts with a keyword (any case) and `(` is a lost annotation; the pre-scan
# looks for the keywords' stems only (a shorter pattern), and the line is then checked in full.
_STEMS = "expected|unexpected|missing|ignore"


def read_text(
    text: str,
    file: str = "<text>",
    *,
    prefix: str = "//",
    catalog: Collection[str] | None = None,
) -> ReadResult:
    """Read the annotations of one text, as Silver reads one file."""
    return read_texts([(file, text)], prefix=prefix, catalog=catalog)


def read_texts(
    texts: Sequence[tuple[str, str]],
    *,
    prefix: str = "//",
    catalog: Collection[str] | None = None,
) -> ReadResult:
    """Read the annotations of a multi-file test given as (file, text) pairs, in order."""
    scanner = _scanner(prefix)
    known = Catalog.of(catalog)
    annotations: list[Annotation] = []
    diagnostics: list[Diagnostic] = []
    for file, text in texts:
        found, findings = scanner.read(text, file)
        if len(found) > 1:
            findings.extend(duplicates(found))
        if known is not None:
            findings.extend(known.check(found))
        if len(findings) > 1:
            findings.sort(key=lambda d: (d.line, d.column))
        annotations.extend(found)
        diagnostics.extend(findings)
    return ReadResult(tuple(file for file, _ in texts), tuple(annotations), tuple(diagnostics))


def read_files(
    paths: Sequence[str | os.PathLike[str]],
    *,
    prefix: str = "//",
    catalog: Collection[str] | None = None,
) -> ReadResult:
    """Read the annotations of files (UTF-8; read errors propagate), keyed by `str(path)`."""
    texts = []
    for path in paths:
        # newline="" keeps CRs: Silver splits on LF only and trims a CR at a line end.
        with open(path, encoding="utf-8", newline="") as handle:
            texts.append((str(path), handle.read()))
    return read_texts(texts, prefix=prefix, catalog=catalog)


@dataclass(slots=True)
class _Pending:
    """An annotation read but not yet given its target."""

    form: Form
    line: int
    column: int
    text: str


@functools.cache
def _scanner(prefix: str) -> _Scanner:
    if not prefix or any(ch in TRIM for ch in prefix):
        raise ValueError(f"comment prefix {prefix!r} must be non-empty and hold no blanks")
    return _Scanner(prefix)


class _Scanner:
    """Reads one text for one comment prefix; compiled patterns are shared per prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.marker = prefix + "::"
        quoted, last = re.escape(prefix), re.escape(prefix[-1])
        words = "|".join(re.escape(keyword) for keyword in KEYWORDS)
        # Every line worth a look holds the prefix followed by: more of its last character,
        # blanks and `::` (`//::`, `// ::`, `////::`, `/// ::`; `// //::` holds `//::`); `:`
        # (`//: Keyword`); or blanks and a keyword's stem (`// Keyword(`). The search is led
        # by the literal prefix, and a run of the prefix's last character is scanned only
        # from its start (the lookbehind), with possessive runs: linear however a line goes
        # on. Each line hit is then looked at once, by patterns anchored at its start.
        self.candidates = re.compile(
            quoted + rf"(?:(?<!{last}{quoted}){last}*+[ \t]*+::|:|[ \t]*+(?i:{_STEMS}))"
        )
        self.comment_miss = re.compile(quoted + rf"(?:[ \t]+|{last}+[ \t]*)::[ \t]*")
        self.single_colon = re.compile(quoted + r":[ \t]*")
        self.commented_out = re.compile(quoted + rf"[ \t]+{quoted}::[ \t]*")
        self.keyword_comment = re.compile(quoted + rf"[ \t]*(?=(?i:{words})\()")
        self.code_miss = re.compile(re.escape(self.marker) + r"[ \t]*")

    def comment_near_miss(self, trimmed: str, next_line: str) -> tuple[str, str] | None:
        """The (message, hint) for a comment line that looks like a misspelt annotation."""
        marker = self.marker
        miss = self.comment_miss.match(trimmed) or self.single_colon.match(trimmed)
        why = f"an annotation line starts with exactly `{marker} `"
        if miss is None:
            miss = self.commented_out.match(trimmed)
            # A commented-out annotation above commented-out code is deliberate (Silver's own
            # suites disable tests so); above live code it was most likely meant to count.
            if miss is None or not next_line or next_line.startswith(self.prefix):
                miss = self.keyword_comment.match(trimmed)
                why = f"an annotation line starts with `{marker} `, not `{self.prefix}`"
            else:
                why = "the annotation is commented out, but the line below is code"
        if miss is None or not looks_like_keyword(trimmed[miss.end() :]):
            return None
        fixed = repair(trimmed[miss.end() :])
        shown = f"`{marker} {fixed}`" if fixed else f"`{marker} ...`"
        return (
            f"`{shorten(trimmed, 120)}` is read as a plain comment, not as an annotation",
            f"did you mean {shown}? ({why})",
        )

    def read(self, text: str, file: str) -> tuple[list[Annotation], list[Diagnostic]]:
        """Annotations (file order) and diagnostics of one text."""
        if "\\r" in text:
            # Silver's `replace("""\r""", "")` is a raw string: it removes the two characters
            # backslash-r, never a real CR (columns on such a line count the text without them).
            text = text.replace("\\r", "")
        size = len(text)
        end = size  # Java's split drops trailing empty lines: no line starts at or after `end`
        while end and text[end - 1] == "\n":
            end -= 1
        prefix, marker = self.prefix, self.marker
        annotations: list[Annotation] = []
        diagnostics: list[Diagnostic] = []
        pending: list[_Pending] = []
        resume, resume_line = 0, 1  # where the search for the pending stack's target goes on
        cursor, cursor_line = 0, 1

        def settle(upto: int, at_eof: bool) -> None:
            nonlocal resume, resume_line
            position, line = resume, resume_line
            while position < upto and position < end:
                stop = text.find("\n", position)
                if stop < 0:
                    stop = size
                trimmed = text[position:stop].strip(TRIM)
                if not trimmed.startswith(prefix):
                    self._finish(pending, file, line, not trimmed, annotations, diagnostics)
                    pending.clear()
                    return
                position, line = stop + 1, line + 1
            resume, resume_line = position, line
            if at_eof:
                for item in pending:
                    diagnostics.append(
                        Diagnostic(
                            DiagnosticKind.PENDING_AT_END_OF_FILE.value,
                            file,
                            item.line,
                            item.column,
                            f"`{shorten(item.text, 120)}` has no target: no line that is not "
                            "a comment follows it, so Silver drops it",
                            "put the annotation directly above the line it is about",
                        )
                    )
                pending.clear()

        scan = 0  # the start of the first line not looked at yet
        while (found := self.candidates.search(text, scan)) is not None:
            newline = text.rfind("\n", scan, found.start())
            start = newline + 1 if newline >= 0 else scan
            stop = text.find("\n", found.end())
            if stop < 0:
                stop = size
            scan = stop + 1
            line_no = cursor_line + text.count("\n", cursor, start)
            cursor, cursor_line = start, line_no
            raw = text[start:stop]
            trimmed = raw.strip(TRIM)
            column = len(raw) - len(raw.lstrip(TRIM)) + 1
            if trimmed.startswith(marker):
                if pending:
                    settle(start, at_eof=False)
                if trimmed.startswith(marker + " "):
                    body = trimmed[len(marker) + 1 :]
                    form, odd = _parse(body)
                    if isinstance(form, Form):
                        # Lines up to here are comments (settled above): resume after this one.
                        resume, resume_line = stop + 1, line_no + 1
                        pending.append(_Pending(form, line_no, column, trimmed))
                        if odd:
                            diagnostics.append(_odd_id(form, file, line_no, column, trimmed))
                    else:
                        problem = diagnose(body, prefix, form)
                        diagnostics.append(
                            Diagnostic(
                                DiagnosticKind.PARSE_ERROR.value,
                                file,
                                line_no,
                                column + len(marker) + problem.column,
                                f"cannot parse annotation `{shorten(trimmed, 120)}`: "
                                f"{problem.message}",
                                problem.hint,
                                silver=True,
                            )
                        )
                else:
                    fixed = repair(trimmed[len(marker) :])
                    suggestion = f"; did you mean `{marker} {fixed}`?" if fixed else ""
                    diagnostics.append(
                        Diagnostic(
                            DiagnosticKind.PARSE_ERROR.value,
                            file,
                            line_no,
                            column + len(marker),
                            f"cannot parse annotation `{shorten(trimmed, 120)}`: `{marker}` must "
                            "be followed "
                            "by exactly one space",
                            f"write `{marker} ` before the keyword{suggestion}",
                            silver=True,
                        )
                    )
            elif trimmed.startswith(prefix):
                after = text.find("\n", stop + 1)
                following = text[stop + 1 : after if after >= 0 else size].strip(TRIM)
                near = self.comment_near_miss(trimmed, following)
                if near is not None:
                    diagnostics.append(
                        Diagnostic(
                            DiagnosticKind.NEAR_MISS.value, file, line_no, column, near[0], near[1]
                        )
                    )
            else:
                index = raw.find(marker)
                miss = self.code_miss.match(raw, index) if index >= 0 else None
                if miss is not None and looks_like_keyword(raw[miss.end() :]):
                    diagnostics.append(_after_code(raw, index, file, line_no))
        if pending:
            settle(size, at_eof=True)
        return annotations, diagnostics

    @staticmethod
    def _finish(
        pending: list[_Pending],
        file: str,
        target: int,
        blank: bool,
        annotations: list[Annotation],
        diagnostics: list[Diagnostic],
    ) -> None:
        for item in pending:
            form = item.form
            located = form.kind not in FILE_LEVEL_KINDS
            annotations.append(
                Annotation(
                    form.kind,
                    file,
                    item.line,
                    target if located else None,
                    form.output_id,
                    form.issue,
                    item.column,
                )
            )
            if located and blank:
                diagnostics.append(
                    Diagnostic(
                        DiagnosticKind.BLANK_TARGET.value,
                        file,
                        item.line,
                        item.column,
                        f"`{shorten(item.text, 120)}` targets line {target}, which is blank, "
                        "so it can never match an output",
                        "remove the blank line, or move the annotation directly above its line",
                    )
                )


def _parse(body: str) -> tuple[Form | FormError, bool]:
    """The body's form, and whether its id holds characters no output id can hold."""
    form = parse_form(body)
    output_id = form.output_id if isinstance(form, Form) else None
    odd = output_id is not None and (
        not output_id.key or _SUSPICIOUS_ID.search(str(output_id)) is not None
    )
    return form, odd


def _odd_id(form: Form, file: str, line: int, column: int, text: str) -> Diagnostic:
    """An id Silver accepts but that no output can carry (empty; blanks, commas, parentheses)."""
    return Diagnostic(
        DiagnosticKind.NEAR_MISS.value,
        file,
        line,
        column,
        f"`{shorten(text, 120)}` has the id `{shorten(str(form.output_id), 60)}`, which is empty "
        "or holds a blank, comma or parenthesis",
        "an id is `KEY:REASON` without blanks; the issue link belongs to `UnexpectedOutput` "
        "and `MissingOutput`",
    )


def _after_code(raw: str, index: int, file: str, line: int) -> Diagnostic:
    """`//::` after something else on its line: code, or a byte-order mark Silver does not trim."""
    shown = shorten(raw[index:].strip(TRIM), 120)
    if raw[:index].strip(TRIM).strip(BOM) == "":
        at_start = "the file starts with" if line == 1 else "this line starts with"
        return Diagnostic(
            DiagnosticKind.NEAR_MISS.value,
            file,
            line,
            index + 1,
            f"`{shown}` is not an annotation: {at_start} a byte-order mark (BOM, U+FEFF), which "
            "Silver does not trim, so it reads the line as code",
            "save the file as UTF-8 without a BOM" if line == 1 else "remove the U+FEFF character",
        )
    return Diagnostic(
        DiagnosticKind.NEAR_MISS.value,
        file,
        line,
        index + 1,
        f"`{shown}` follows code on the same line, so it is not an annotation",
        "put the annotation on a line of its own, directly above this line",
    )
