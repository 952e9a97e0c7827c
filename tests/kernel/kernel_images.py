"""Small ELF files and bzImages built byte by byte, for the setup's readers.

`elf_file` lays out a little-endian ELF64 file with named sections and PT_NOTE segments the way
a linker does (headers, contents, string table, section headers); `bzimage` wraps a payload in
the x86 boot protocol's setup header as a Debian vmlinuz carries it.
"""

from __future__ import annotations

import lzma
import struct
from collections.abc import Sequence

XEN_PVH_NOTE = 18


def note(owner: str, kind: int, desc: bytes) -> bytes:
    """One ELF note, padded to 4 bytes."""
    name = owner.encode() + b"\0"

    def pad(data: bytes) -> bytes:
        return data + b"\0" * (-len(data) % 4)

    return struct.pack("<III", len(name), len(desc), kind) + pad(name) + pad(desc)


def elf_file(sections: Sequence[tuple[str, bytes]] = (), notes: Sequence[bytes] = ()) -> bytes:
    """An ELF64 LE file with these sections and one PT_NOTE segment holding `notes`."""
    header_size, ph_size, sh_size = 64, 56, 64
    note_blob = b"".join(notes)
    phnum = 1 if note_blob else 0
    offset = header_size + ph_size * phnum
    body = b""
    note_offset = offset
    body += note_blob
    placed: list[tuple[int, int, int, int]] = []  # name offset, type, offset, size
    names = b"\0"
    for name, data in sections:
        name_offset = len(names)
        names += name.encode() + b"\0"
        placed.append((name_offset, 1, offset + len(body), len(data)))  # SHT_PROGBITS
        body += data
    shstr_name = len(names)
    names += b".shstrtab\0"
    placed.append((shstr_name, 3, offset + len(body), len(names)))  # SHT_STRTAB
    body += names
    shoff = offset + len(body)
    shnum = len(placed) + 1  # the null section first
    header = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8
    header += struct.pack(
        "<HHIQQQIHHHHHH",
        2,
        62,
        1,
        0,
        header_size if phnum else 0,
        shoff,
        0,
        header_size,
        ph_size,
        phnum,
        sh_size,
        shnum,
        shnum - 1,
    )
    program = b""
    if phnum:
        program = struct.pack(
            "<IIQQQQQQ", 4, 4, note_offset, 0, 0, len(note_blob), len(note_blob), 4
        )
    table = b"\0" * sh_size
    for name_offset, kind, data_offset, size in placed:
        table += struct.pack("<IIQQQQIIQQ", name_offset, kind, 0, 0, data_offset, size, 0, 0, 1, 0)
    return header + program + body + table


def pvh_vmlinux(payload: bytes = b"kernel text") -> bytes:
    """An ELF file with the PVH entry note, as a CONFIG_PVH vmlinux has."""
    return elf_file(
        [(".text", payload)],
        [note("Xen", XEN_PVH_NOTE, struct.pack("<I", 0x1000000)), note("GNU", 3, b"\x01" * 20)],
    )


def module(name: str, depends: Sequence[str] = ()) -> bytes:
    """A kernel module's ELF file with a `.modinfo` section naming its dependencies."""
    info = b"license=GPL\0" + f"depends={','.join(depends)}\0".encode() + f"name={name}\0".encode()
    return elf_file([(".text", b"\x90" * 16), (".modinfo", info)])


def bzimage(stream: bytes, size: int, *, setup_sects: int = 3, version: int = 0x20F) -> bytes:
    """A vmlinuz: a setup header, then the protected-mode part holding `stream` and `size`."""
    payload = stream + struct.pack("<I", size)
    setup = bytearray((setup_sects + 1) * 512)
    setup[0x1F1] = setup_sects
    setup[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", setup, 0x206, version)
    payload_offset = 0x40  # some decompressor code comes first
    struct.pack_into("<II", setup, 0x248, payload_offset, len(payload))
    protected = b"\xcc" * payload_offset + payload + b"\0" * 64
    return bytes(setup) + protected


def xz_bzimage(image: bytes) -> bytes:
    """A vmlinuz whose payload is `image` compressed with XZ (as Debian's 6.1)."""
    return bzimage(lzma.compress(image, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32), len(image))
