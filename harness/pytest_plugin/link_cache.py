"""The issue links of scenario files, remembered across runs by content hash.

Collection reads every scenario's issue-linked annotations (for its markers and `-k` names).
The reader is the costly part; a file's links depend on its bytes alone, so they are kept in
pytest's cache folder (`.pytest_cache/d/vfio/links.json`), keyed by the BLAKE2b digest of the
bytes. Only files that hold `/issue/` need the reader, so only those are kept.

The file is JSON, never pickle: a file another user could write can at worst make a marker
wrong, never run code. Even so it is opened without following a symbolic link and without
blocking, read only when it is a regular file of this user of bounded size, and any entry that
does not have the expected shape is ignored (the file is read again by the reader). It is
written atomically (a temporary file, then a rename), holding the entries this run used and
the most recent others, up to a bound. pytest's `--cache-clear` or deleting the folder resets it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from annotations.annotation import Annotation, IssueRef, Kind, OutputId

NAME = "links.json"
VERSION = 1
MAX_BYTES = 32 << 20  # a bigger file is not this cache's
MAX_ENTRIES = 100_000
_KINDS = {kind.value: kind for kind in Kind}


def digest(data: bytes) -> str:
    """The key of a file's bytes."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class LinkCache:
    """Issue-linked annotations by file digest, loaded from and saved to one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, list[Any]] = _load(path)
        self.used: set[str] = set()
        self.added = False

    def get(self, data: bytes, file: str) -> tuple[Annotation, ...] | None:
        """The linked annotations of a file with these bytes, named `file`; None: unknown."""
        key = digest(data)
        entry = self.entries.get(key)
        if entry is None:
            return None
        found = _annotations(entry, file)
        if found is not None:
            self.used.add(key)
        return found

    def put(self, data: bytes, annotations: tuple[Annotation, ...]) -> None:
        """Remember the linked annotations of a file with these bytes."""
        key = digest(data)
        self.entries[key] = [_entry(a) for a in annotations]
        self.used.add(key)
        self.added = True

    def save(self) -> None:
        """Write the entries back when this run added any (never raises)."""
        if not self.added:
            return
        kept = {key: self.entries[key] for key in self.used}
        for key, value in reversed(self.entries.items()):
            if len(kept) >= MAX_ENTRIES:
                break
            kept.setdefault(key, value)
        _write(self.path, {"version": VERSION, "files": kept})


def _entry(annotation: Annotation) -> list[Any]:
    issue = annotation.issue
    assert issue is not None
    output_id = str(annotation.output_id) if annotation.output_id is not None else None
    return [
        annotation.kind.value,
        annotation.line,
        annotation.target,
        output_id,
        issue.project,
        issue.number,
        annotation.column,
    ]


def _annotations(entry: list[Any], file: str) -> tuple[Annotation, ...] | None:
    """The annotations an entry records, for `file`; None when the entry is malformed."""
    found = []
    for item in entry:
        if not isinstance(item, list) or len(item) != 7:
            return None
        kind, line, target, output_id, project, number, column = item
        if (
            kind not in _KINDS
            or not _is_int(line)
            or not (target is None or _is_int(target))
            or not (output_id is None or isinstance(output_id, str))
            or not isinstance(project, str)
            or not _is_int(number)
            or not _is_int(column)
        ):
            return None
        parsed = OutputId.parse(output_id) if output_id is not None else None
        found.append(
            Annotation(_KINDS[kind], file, line, target, parsed, IssueRef(project, number), column)
        )
    return tuple(found)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _load(path: Path) -> dict[str, list[Any]]:
    """The entries of the cache file; empty when it is absent, unsafe or malformed."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError:
        return {}
    with os.fdopen(descriptor, "rb") as handle:
        try:
            info = os.fstat(handle.fileno())
            if (
                not stat.S_ISREG(info.st_mode)
                or info.st_uid != os.getuid()
                or info.st_size > MAX_BYTES
            ):
                return {}
            content = json.loads(handle.read(MAX_BYTES + 1))
        except (OSError, ValueError, RecursionError):
            return {}
    if not isinstance(content, dict) or content.get("version") != VERSION:
        return {}
    files = content.get("files")
    if not isinstance(files, dict):
        return {}
    return {key: value for key, value in files.items() if isinstance(value, list)}


def _write(path: Path, content: dict[str, Any]) -> None:
    """Replace the cache file atomically; a folder that cannot be written is left alone."""
    try:
        text = json.dumps(content, separators=(",", ":"))
    except ValueError:  # an issue number too long for text (the reader refuses those)
        return
    temporary = None
    try:
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=path.parent, prefix=".links-", delete=False
        ) as handle:
            temporary = handle.name
            handle.write(text)
        os.replace(temporary, path)
    except OSError:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
