"""Editing a file's lines and writing it back safely: the mechanics under `annotations.bless`.

`Lines` splits a text as the reader numbers it (on LF; a CR before the LF belongs to the
line's ending, so CRLF stays CRLF) and applies insertions, deletions and replacements by line
number, bottom-up, so that every edit refers to the file as it was read. `decode` and `encode`
keep a UTF-8 byte order mark and the final newline exactly as found.

`write_atomically` writes new bytes to a temporary file in the file's own folder, flushes it to
disk, gives it the file's permission bits and renames it over the file, so a reader sees the
old file or the new one, never a mix; it first checks that the file still holds the bytes the
edits were computed from, and writes nothing when it does not. Then it flushes the folder, so
that the rename itself survives a crash; a caller writing many files can instead collect the
folders (`sync_folder=False`, `WriteResult.folder`) and flush each once with `sync_folders`:
until then a crash leaves the old file, whole. `unified_diff` shows a change.
"""

from __future__ import annotations

import contextlib
import difflib
import enum
import os
import stat
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass

BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class Insert:
    """New lines (content without ending) to put directly above line `line`, in order."""

    line: int
    contents: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Delete:
    """Remove line `line`, its ending included."""

    line: int


@dataclass(frozen=True, slots=True)
class Replace:
    """Replace the content of line `line`, keeping its ending."""

    line: int
    content: str


Edit = Insert | Delete | Replace


class Lines:
    """A text as numbered lines, each a content and an ending (`\\r\\n`, `\\n`, or none)."""

    def __init__(self, text: str) -> None:
        parts = text.split("\n")
        self.contents: list[str] = []
        self.endings: list[str] = []
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if last:
                ending = ""
            elif part.endswith("\r"):
                part, ending = part[:-1], "\r\n"
            else:
                ending = "\n"
            self.contents.append(part)
            self.endings.append(ending)
        crlf = self.endings.count("\r\n")
        self.usual_ending = "\r\n" if crlf > self.endings.count("\n") else "\n"

    def __len__(self) -> int:
        return len(self.contents)

    def content(self, line: int) -> str:
        """The content of 1-based line `line`, without its ending."""
        return self.contents[line - 1]

    def text(self) -> str:
        """The lines joined back with their endings."""
        return "".join(c + e for c, e in zip(self.contents, self.endings, strict=True))

    def apply(self, edits: Iterable[Edit]) -> None:
        """Apply edits given by line numbers of the text as read, bottom-up."""
        ordered = sorted(edits, key=lambda edit: edit.line, reverse=True)
        for edit in ordered:
            index = edit.line - 1
            if isinstance(edit, Insert):
                # The new lines end like the line they stand above (CRLF stays CRLF); above a
                # last line without an ending, like the line before it.
                ending = self.endings[index] or (
                    self.endings[index - 1] if index > 0 else self.usual_ending
                )
                self.contents[index:index] = list(edit.contents)
                self.endings[index:index] = [ending] * len(edit.contents)
            elif isinstance(edit, Delete):
                del self.contents[index]
                ending = self.endings.pop(index)
                if not ending and index > 0:  # the last line went: the one before ends the file
                    self.endings[index - 1] = ""
            else:
                self.contents[index] = edit.content


def decode(data: bytes) -> tuple[str, bool] | None:
    """The UTF-8 text of `data` without its byte order mark, and whether it had one; None
    when `data` is not UTF-8."""
    bom = data.startswith(BOM)
    try:
        return data[len(BOM) if bom else 0 :].decode("utf-8"), bom
    except UnicodeDecodeError:
        return None


def encode(text: str, bom: bool) -> bytes:
    """`text` as UTF-8, with a byte order mark when the file had one."""
    return (BOM if bom else b"") + text.encode("utf-8")


class Written(enum.Enum):
    """What `write_atomically` did."""

    WRITTEN = "written"
    CHANGED_ON_DISK = "changed on disk since it was read; not written"
    FAILED = "could not be written"


@dataclass(frozen=True, slots=True)
class WriteResult:
    """The outcome of one write, with the operating system's reason when it failed."""

    status: Written
    detail: str = ""
    folder: str = ""  # the folder the file was renamed in (WRITTEN only)


def write_atomically(
    path: str | os.PathLike[str], old: bytes, new: bytes, *, sync_folder: bool = True
) -> WriteResult:
    """Replace the file's bytes `old` with `new` atomically, keeping its permission bits (and
    flush its folder, unless `sync_folder` is False: see `sync_folders`)."""
    target = os.path.realpath(path)  # through a symbolic link: edit the file it names
    try:
        with open(target, "rb") as handle:
            if handle.read() != old:
                return WriteResult(Written.CHANGED_ON_DISK)
            mode = stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
    except OSError as error:
        return WriteResult(Written.FAILED, error.strerror or str(error))
    folder, name = os.path.split(target)
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".bless", dir=folder)
    except OSError as error:
        return WriteResult(Written.FAILED, error.strerror or str(error))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(new)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        return WriteResult(Written.FAILED, error.strerror or str(error))
    if sync_folder:
        _sync_folder(folder)
    return WriteResult(Written.WRITTEN, folder=folder)


def sync_folders(folders: Iterable[str]) -> None:
    """Flush each folder once, making the renames `write_atomically` did in it durable."""
    for folder in sorted(set(folders)):
        _sync_folder(folder)


def _sync_folder(folder: str) -> None:
    # Make the rename itself durable; where a folder cannot be opened so, the rename stands.
    with contextlib.suppress(OSError):
        fd = os.open(folder or ".", os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def unified_diff(name: str, old: str, new: str) -> str:
    """The change from `old` to `new` as a unified diff between `a/NAME` and `b/NAME`."""
    lines = difflib.unified_diff(
        _with_endings(old), _with_endings(new), fromfile=f"a/{name}", tofile=f"b/{name}"
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


def _with_endings(text: str) -> list[str]:
    # Split on LF only, as the reader numbers lines (`splitlines` would also split on CR,
    # U+2028 and others).
    parts = [part + "\n" for part in text.split("\n")]
    parts[-1] = parts[-1][:-1]
    return parts if parts[-1] else parts[:-1]
