"""A scenario's files as a run reads them: their texts and their annotations.

`read_sources(scenario)` reads every file of a scenario (a single file or a `_fileN` group) and
its annotations (`annotations.read_texts`, prefix `//`, unknown ids checked against the catalog).
The pytest plugin reads an item's sources as its run begins, for its markers and its run (and
earlier only for the markers, when `-k`, `-m` or a plugin asks for them); the CLI lets the run
read them. This module imports neither the scenario language nor lark (annotation bodies are
parsed only when a file has `//::` lines), so reading for markers stays cheap.

Text: a UTF-8 byte order mark at the start of a file (as Windows editors write it) is dropped
before anything reads the text, so that the parser and the annotation reader see the same
lines and columns. Bytes that are not UTF-8 make the file's `NotUtf8` record (the run reports it
as the file's syntax error) at the line and column, in characters, of the first bad byte; the
text is still kept, bad bytes replaced by U+FFFD, so that annotations can be read and code frames
shown. A file that cannot be read at all is an UNREADABLE finding. The bytes each file held when
it was read are kept beside its text (`Sources.data`): bless computes its edits from them, keeps
the file's encoding, byte order mark and line endings, and writes only if the file still holds
them.

`empty_file` is the diagnostic of a file without a statement (the scenario language says which
files those are; the runner adds it).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from annotations import read_texts
from annotations.annotation import Annotation, Diagnostic, ReadResult
from annotations.outcome import Finding, FindingKind
from harness.discovery import Scenario

BOM = "\ufeff"
PREFIX = "//"  # the scenario language's line comment
EMPTY_SCENARIO = "EmptyScenario"
_LINK = b"/issue/"  # in every issue link, `/PROJECT/issue/N/`


@dataclass(frozen=True, slots=True)
class NotUtf8:
    """Where a file stops being UTF-8: the first bad byte's line and column, and a hint."""

    file: str
    line: int
    column: int
    message: str
    hint: str


@dataclass(frozen=True, slots=True)
class Sources:
    """The files of one scenario as read: texts by file name (`str(path)`), in run order."""

    texts: dict[str, str]  # the readable files only
    data: dict[str, bytes]  # the same files' bytes, exactly as read
    unreadable: tuple[Finding, ...]  # one UNREADABLE finding per file that cannot be read
    not_utf8: dict[str, NotUtf8]  # file -> where its bytes stop being UTF-8
    read: ReadResult  # the annotations of the readable files


def strip_bom(text: str) -> str:
    """`text` without a leading byte order mark."""
    return text[1:] if text.startswith(BOM) else text


def decode(data: bytes, file: str) -> tuple[str, NotUtf8 | None]:
    """The file's text (BOM dropped) and, when it is not UTF-8, where the first bad byte is."""
    try:
        return strip_bom(data.decode("utf-8")), None
    except UnicodeDecodeError as error:
        # Everything before the first bad byte decodes (that is where decoding stopped).
        before = strip_bom(data[: error.start].decode("utf-8"))
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        bad = " ".join(f"{byte:#04x}" for byte in data[error.start : error.end])
        message = f"byte {bad} is not valid UTF-8 (scenario files are UTF-8 text)"
        hint = f"save {file} as UTF-8 (in most editors: 'save with encoding', UTF-8)"
        text = strip_bom(data.decode("utf-8", errors="replace"))
        return text, NotUtf8(file, line, column, message, hint)


@functools.cache
def known_ids() -> frozenset[str]:
    """The ids annotations may name (the catalog); unknown ones are reported."""
    # Imported on first use, not with the plugin: pytester's in-process runs restore
    # sys.modules after each run, and a core package imported before that snapshot would
    # keep stale submodules as attributes across runs.
    from harness.vfio.catalog import catalog

    return frozenset(catalog())


def read_sources(scenario: Scenario) -> Sources:
    """Read a scenario's files and their annotations; never raises for a file it cannot read."""
    data, unreadable = _read(scenario)
    texts: dict[str, str] = {}
    not_utf8: dict[str, NotUtf8] = {}
    for file, content in data.items():
        texts[file], problem = decode(content, file)
        if problem is not None:
            not_utf8[file] = problem
    return Sources(texts, data, unreadable, not_utf8, read_annotations(texts))


def read_annotations(texts: Mapping[str, str]) -> ReadResult:
    """The annotations of a scenario's texts, as a run reads them (prefix `//`, ids checked
    against the catalog)."""
    return read_texts(list(texts.items()), prefix=PREFIX, catalog=known_ids())


class LinkMemo(Protocol):
    """Issue-linked annotations remembered by file content (`harness.pytest_plugin.link_cache`)."""

    def get(self, data: bytes, file: str) -> tuple[Annotation, ...] | None:
        """The linked annotations of a file with these bytes, named `file`; None: unknown."""
        ...

    def put(self, data: bytes, annotations: tuple[Annotation, ...]) -> None:
        """Remember the linked annotations of a file with these bytes."""
        ...


def read_links(scenario: Scenario, memo: LinkMemo | None = None) -> ReadResult:
    """The annotations a scenario's tags are made of: its issue-linked ones (known bugs,
    ignores), exactly as `read_sources` reads them; a file that cannot be read has none.

    Every issue link holds `/issue/`: the reader runs only on a file that does (ASCII, so
    the bytes hold it exactly when the text does). Each file is read on its own (the reader
    treats the files of a group independently), and a `memo` answers for a file whose bytes it
    has seen.
    """
    files: list[str] = []
    annotations: list[Annotation] = []
    for path in scenario.files:
        file = str(path)
        try:
            data = path.read_bytes()
        except OSError:
            continue
        files.append(file)
        if _LINK not in data:
            continue
        found = memo.get(data, file) if memo is not None else None
        if found is None:
            found = file_links(data, file)
            if memo is not None:
                memo.put(data, found)
        annotations.extend(found)
    return ReadResult(tuple(files), tuple(annotations))


def file_links(data: bytes, file: str) -> tuple[Annotation, ...]:
    """The issue-linked annotations of one file's bytes."""
    text, _ = decode(data, file)
    read = read_texts([(file, text)], prefix=PREFIX)
    return tuple(a for a in read.annotations if a.issue is not None)


def _read(scenario: Scenario) -> tuple[dict[str, bytes], tuple[Finding, ...]]:
    """The bytes of the files that can be read, and an UNREADABLE finding for each other."""
    data: dict[str, bytes] = {}
    unreadable: list[Finding] = []
    for path in scenario.files:
        file = str(path)
        try:
            data[file] = path.read_bytes()
        except OSError as error:
            reason = error.strerror or error
            unreadable.append(
                Finding(FindingKind.UNREADABLE, file, None, None, f"cannot read {file}: {reason}")
            )
    return data, tuple(unreadable)


def empty_file(file: str, text: str = "") -> Diagnostic:
    """The finding of a scenario file that holds no statement: it tests nothing and would
    pass. Like the other checks beyond Silver it fails the scenario, or under `strict=false`
    is a warning. A text whose lines end in CR alone is one line (lines end at LF): when it
    starts with a comment, that comment is the whole file, which the hint says."""
    hint = "write the statements to test, or delete the file"
    if "\r" in text.replace("\r\n", ""):
        hint = "its lines end in CR alone (old Mac line ends), which end no line: save it with LF"
        hint += " or CRLF line ends"
    return Diagnostic(
        EMPTY_SCENARIO,
        file,
        1,
        1,
        f"{file} holds no statement: the scenario tests nothing and would always pass",
        hint,
    )
