"""The little of ELF64 (little-endian) the setup reads: section contents and notes.

A kernel module's `.modinfo` section holds its `depends=` list; a PVH-bootable `vmlinux`
carries the Xen note `XEN_ELFNOTE_PHYS32_ENTRY`. Reading them takes a few struct unpacks, not
a dependency. Malformed input raises `ElfError` with what is wrong.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

_MAGIC = b"\x7fELF"
_CLASS64, _LITTLE = 2, 1
_SHT_NOTE = 7
_PT_NOTE = 4


class ElfError(ValueError):
    """Bytes that are not the ELF file they should be."""


@dataclass(frozen=True, slots=True)
class Note:
    """One ELF note: its owner (`Xen`, `GNU`, `Linux`), type and descriptor bytes."""

    owner: str
    type: int
    desc: bytes


@dataclass(frozen=True, slots=True)
class _Header:
    shoff: int
    phoff: int
    phentsize: int
    phnum: int
    shentsize: int
    shnum: int
    shstrndx: int


def _header(data: bytes) -> _Header:
    if len(data) < 64 or data[:4] != _MAGIC:
        raise ElfError("not an ELF file (no \\x7fELF magic)")
    if data[4] != _CLASS64 or data[5] != _LITTLE:
        raise ElfError("not a little-endian 64-bit ELF file")
    phoff, shoff = struct.unpack_from("<QQ", data, 0x20)
    phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from("<HHHHH", data, 0x36)
    return _Header(shoff, phoff, phentsize, phnum, shentsize, shnum, shstrndx)


def check_complete(data: bytes) -> None:
    """ElfError unless the file holds all of its section and program headers (not truncated)."""
    h = _header(data)
    for offset, size, count, what in (
        (h.shoff, h.shentsize, h.shnum, "section"),
        (h.phoff, h.phentsize, h.phnum, "program"),
    ):
        if count and offset + size * count > len(data):
            raise ElfError(f"truncated: the {what} headers end past the file's {len(data)} bytes")


def _section_table(data: bytes) -> list[tuple[int, int, int, int]]:
    """(name offset, type, file offset, size) of each section."""
    h = _header(data)
    check_complete(data)
    table = []
    for i in range(h.shnum):
        base = h.shoff + i * h.shentsize
        name, kind = struct.unpack_from("<II", data, base)
        offset, size = struct.unpack_from("<QQ", data, base + 0x18)
        if kind != 8 and offset + size > len(data):  # SHT_NOBITS occupies no file bytes
            raise ElfError(f"section {i} ends past the end of the file")
        table.append((name, kind, offset, size))
    return table


def section(data: bytes, name: str) -> bytes | None:
    """The bytes of the section called `name`, or None when there is none."""
    table = _section_table(data)
    h = _header(data)
    if not table or h.shstrndx >= len(table):
        return None
    _, _, str_offset, str_size = table[h.shstrndx]
    names = data[str_offset : str_offset + str_size]
    wanted = name.encode()
    for name_offset, _, offset, size in table:
        end = names.find(b"\0", name_offset)
        if end >= 0 and names[name_offset:end] == wanted:
            return data[offset : offset + size]
    return None


def _parse_notes(blob: bytes) -> Iterator[Note]:
    pos = 0
    while pos + 12 <= len(blob):
        namesz, descsz, kind = struct.unpack_from("<III", blob, pos)
        pos += 12
        name = blob[pos : pos + namesz].rstrip(b"\0").decode("ascii", "replace")
        pos += (namesz + 3) & ~3
        desc = blob[pos : pos + descsz]
        pos += (descsz + 3) & ~3
        yield Note(name, kind, desc)


def notes(data: bytes) -> list[Note]:
    """Every note of the file, from its PT_NOTE segments (what a boot loader reads)."""
    h = _header(data)
    check_complete(data)
    found: list[Note] = []
    for i in range(h.phnum):
        base = h.phoff + i * h.phentsize
        (kind,) = struct.unpack_from("<I", data, base)
        if kind != _PT_NOTE:
            continue
        offset = struct.unpack_from("<Q", data, base + 0x08)[0]
        size = struct.unpack_from("<Q", data, base + 0x20)[0]
        if offset + size > len(data):
            raise ElfError("a note segment ends past the end of the file")
        found.extend(_parse_notes(data[offset : offset + size]))
    return found
