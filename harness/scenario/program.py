"""A parsed file's statements, kept in little memory however long the file is.

The parser hands each top-level statement to the parse's `Statements` as soon as it is
complete. The statements of a chunk (`CHUNK` of them) stay nodes; when a chunk is full it is
packed (pickled, then compressed: a few bytes per line instead of hundreds) and the nodes are
dropped, so a parse holds one chunk of nodes at a time. A `Program` gives the statements back
in order, unpacking one chunk at a time as it is iterated: the file is parsed once, its syntax
errors are all known before anything runs, and memory stays that of one chunk.

The packed bytes never leave the process: they are the parser's own nodes, pickled here and
read back here.
"""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Iterator

from harness.scenario import nodes

CHUNK = 2048  # statements kept as nodes before they are packed


Chunk = bytes | tuple[nodes.Statement, ...]  # packed, or kept as nodes


def _pack(statements: list[nodes.Statement]) -> Chunk:
    """The statements packed; kept as they are when pickling cannot reach their depth (a
    statement with a chain of thousands of operators is a tree that deep)."""
    try:
        return zlib.compress(pickle.dumps(statements, pickle.HIGHEST_PROTOCOL), 1)
    except RecursionError:
        return tuple(statements)


def _unpack(chunk: Chunk) -> tuple[nodes.Statement, ...] | list[nodes.Statement]:
    if isinstance(chunk, tuple):
        return chunk
    statements: list[nodes.Statement] = pickle.loads(zlib.decompress(chunk))
    return statements


class Statements:
    """The top-level statements of one parse, in order: full chunks packed, the rest kept."""

    __slots__ = ("chunk", "kept", "packed")

    def __init__(self) -> None:
        self.chunk = CHUNK  # statements a full chunk holds: the parser packs it at one more
        self.kept: list[nodes.Statement] = []
        self.packed: list[Chunk] = []

    def pack(self) -> None:
        """Pack the kept statements but the last (a full chunk), and keep only that one."""
        *chunk, last = self.kept
        self.packed.append(_pack(chunk))
        self.kept = [last]


class Program:
    """A parsed file: its statements, in order, each at its line in the file."""

    __slots__ = ("_kept", "_packed", "file")

    def __init__(self, file: str, statements: Statements) -> None:
        self.file = file
        self._kept = tuple(statements.kept)
        self._packed = tuple(statements.packed)

    @property
    def empty(self) -> bool:
        """Whether the file holds no statement (only comments and blank lines, or nothing)."""
        return not self._kept

    @property
    def long(self) -> bool:
        """Whether the file holds more than one chunk (its statements are packed)."""
        return bool(self._packed)

    def __iter__(self) -> Iterator[nodes.Statement]:
        for packed in self._packed:
            yield from _unpack(packed)
        yield from self._kept
