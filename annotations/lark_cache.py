"""LALR parsers whose grammar analysis is kept between runs, where only the user can write it.

Building an LALR parser analyses its grammar; lark can save the result (`Lark.save`) and load
it back (`Lark.load`), which is several times faster. Loading unpickles, and unpickling can run
code, so a saved analysis is loaded only from a file nobody but the user could have written:

- the folder is `$XDG_CACHE_HOME/vfio-harness` (by default `~/.cache/vfio-harness`). It is
  reached from `/` one folder at a time, each opened with `O_NOFOLLOW` relative to the one
  before (no symbolic link anywhere on the way, and nothing can be swapped between a check and
  its use). Every folder on the way is owned by root or the user and writable by nobody else,
  unless it has the sticky bit (as `/tmp` has); the last one is the user's own and writable
  by nobody else (created with mode 0700 where it is missing);
- the file is opened in that folder with `O_NOFOLLOW | O_NONBLOCK` (a FIFO put in its place
  never blocks the run) and must be a regular file, owned by the user, writable by nobody
  else, and at most `MAX_BYTES` long;
- its first line holds a digest of the grammar, the options, lark's version and Python's
  version, and a digest of the saved analysis; both are checked before anything is unpickled.

When any of this fails (another operating system, a folder or file that fails a check, a file
that does not load), the parser is built afresh and, if the folder passed its checks, saved
for the next run: written to a temporary file in the folder and renamed over the old one, so a
concurrent process sees the old file or the new one, never half of one.

Options are saved with the analysis, so a transformer given inline comes back as an equal copy
(`parser.options.transformer`), not as the object passed: it should hold no state of its own.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import secrets
import stat
import sys
from typing import Any

import lark
from lark import Lark

FOLDER = "vfio-harness"
# The saved analyses of this project's grammars are tens of kilobytes; anything far larger
# was not written by this module.
MAX_BYTES = 4 * 1024 * 1024
_MAGIC = b"vfio-harness lark analysis 1"
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


def supported() -> bool:
    """True where the checks above can be made (POSIX with `openat`-style calls)."""
    return (
        bool(_NOFOLLOW and _NONBLOCK)
        and hasattr(os, "getuid")
        and {os.open, os.mkdir, os.rename, os.unlink} <= os.supports_dir_fd
    )


def cached_lark(name: str, grammar: str, **options: Any) -> Lark:
    """`Lark(grammar, **options)`, its analysis loaded from or saved to the user's cache."""
    key = cache_key(grammar, options)
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    filename = f"{name}-lark{lark.__version__}-py{python}.analysis"
    folder = open_cache_folder() if supported() else None
    try:
        if folder is not None:
            loaded = _load(folder, filename, key)
            if loaded is not None:
                return loaded
        parser = Lark(grammar, **options)
        if folder is not None:
            _save(folder, filename, key, parser)
        return parser
    finally:
        if folder is not None:
            os.close(folder)


def cache_key(grammar: str, options: dict[str, Any]) -> bytes:
    """The digest a saved analysis must carry to stand for `Lark(grammar, **options)`."""
    described = sorted((name, _describe(value)) for name, value in options.items())
    text = repr((grammar, described, lark.__version__, tuple(sys.version_info[:2])))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest().encode("ascii")


def _describe(value: object) -> str:
    # Classes and instances (a lexer class, a transformer) by their class's qualified name:
    # their repr holds a memory address, different in every process.
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    if isinstance(value, (str, int, float, bool, type(None), tuple, list, dict, frozenset)):
        return repr(value)
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}()"


def cache_base() -> str:
    """`$XDG_CACHE_HOME`, or `~/.cache` when it is unset or empty (the XDG rule)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.abspath(base)


def open_cache_folder() -> int | None:
    """A descriptor of the cache folder, reached by a chain only the user can write, or None."""
    parts = [part for part in cache_base().split(os.sep) if part] + [FOLDER]
    uid = os.getuid()
    try:
        fd = os.open(os.sep, _DIR_FLAGS)
    except OSError:
        return None
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        try:
            if not trusted_folder(os.fstat(fd), uid):
                raise PermissionError(part)
            try:
                child = os.open(part, _DIR_FLAGS | _NOFOLLOW, dir_fd=fd)
            except FileNotFoundError:
                os.mkdir(part, 0o700, dir_fd=fd)
                child = os.open(part, _DIR_FLAGS | _NOFOLLOW, dir_fd=fd)
        except OSError:  # a symbolic link (ELOOP, ENOTDIR), no access, a failed check
            os.close(fd)
            return None
        os.close(fd)
        fd = child
        if last and not private_folder(os.fstat(fd), uid):
            os.close(fd)
            return None
    return fd


def trusted_folder(info: os.stat_result, uid: int) -> bool:
    """A folder on the way: root's or the user's, writable by no one else unless sticky."""
    if not stat.S_ISDIR(info.st_mode) or info.st_uid not in (0, uid):
        return False
    shared = info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    return not shared or bool(info.st_mode & stat.S_ISVTX)


def private_folder(info: os.stat_result, uid: int) -> bool:
    """The cache folder itself: the user's own, writable by no one else."""
    return (
        stat.S_ISDIR(info.st_mode)
        and info.st_uid == uid
        and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    )


def trusted_file(info: os.stat_result, uid: int) -> bool:
    """A saved analysis: a regular file of the user's, writable by no one else, not too long."""
    return (
        stat.S_ISREG(info.st_mode)
        and info.st_uid == uid
        and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
        and info.st_size <= MAX_BYTES
    )


def _read(folder: int, filename: str) -> bytes | None:
    """The bytes of `filename` in `folder` if it passes `trusted_file`, else None."""
    try:
        fd = os.open(filename, os.O_RDONLY | _NOFOLLOW | _NONBLOCK, dir_fd=folder)
    except OSError:
        return None
    try:
        if not trusted_file(os.fstat(fd), os.getuid()):
            return None
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_BYTES:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            size += len(chunk)
        return None  # it grew past the bound while being read
    except OSError:
        return None
    finally:
        os.close(fd)


def _load(folder: int, filename: str, key: bytes) -> Lark | None:
    """The parser saved under `filename` for `key`, or None."""
    data = _read(folder, filename)
    if data is None:
        return None
    header, _, payload = data.partition(b"\n")
    if header != _MAGIC + b" " + key + b" " + hashlib.sha256(payload).hexdigest().encode():
        return None
    try:
        return Lark.load(io.BytesIO(payload))
    except Exception:  # a file of an incompatible lark: build afresh, as for no file at all
        return None


def _save(folder: int, filename: str, key: bytes, parser: Lark) -> None:
    """Save `parser` under `filename` atomically; give up quietly when that fails."""
    buffer = io.BytesIO()
    try:
        parser.save(buffer)
    except Exception:  # options lark cannot pickle (a lambda callback): nothing is cached
        return
    payload = buffer.getvalue()
    header = _MAGIC + b" " + key + b" " + hashlib.sha256(payload).hexdigest().encode()
    temporary = f".{filename}.{secrets.token_hex(8)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(temporary, flags, 0o600, dir_fd=folder)
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(header + b"\n" + payload)
        # POSIX rename replaces `filename` atomically (a FIFO or link there included).
        os.rename(temporary, filename, src_dir_fd=folder, dst_dir_fd=folder)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary, dir_fd=folder)
