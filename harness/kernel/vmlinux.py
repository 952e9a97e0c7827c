"""The uncompressed, PVH-bootable `vmlinux` inside a Debian `vmlinuz` (bzImage).

QEMU boots an ELF `vmlinux` that carries the PVH entry note straight into 64-bit code: no real
mode, no decompressor, about 4 s to `/init` under TCG instead of about 10 s for the bzImage.

The x86 boot protocol (2.08+) says where the compressed kernel is: the setup header's
`payload_offset` and `payload_length`, counted from the protected-mode code, which starts after
`setup_sects + 1` sectors. The payload is one XZ (Debian 6.1) or zstd (6.12) stream followed by
the uncompressed size as a 32-bit little-endian number; the extraction checks that size, that
the result is a whole ELF file, and that it has the PVH note.
"""

from __future__ import annotations

import lzma
import shutil
import struct
import subprocess

from harness.kernel import elf

XZ_MAGIC = b"\xfd7zXZ\x00"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
XEN_ELFNOTE_PHYS32_ENTRY = 18  # the PVH entry point QEMU's -kernel looks for
_SETUP_SECTS = 0x1F1
_HEADER_MAGIC = 0x202  # "HdrS"
_VERSION = 0x206
_PAYLOAD = 0x248  # payload_offset, payload_length (u32 each)


class ImageError(ValueError):
    """A vmlinuz the backend cannot boot; the message says what is wrong with it."""


def payload(vmlinuz: bytes) -> tuple[bytes, int]:
    """The compressed stream and the size the build recorded for its output."""
    if len(vmlinuz) < 0x250 or vmlinuz[_HEADER_MAGIC : _HEADER_MAGIC + 4] != b"HdrS":
        raise ImageError("not a bzImage: no 'HdrS' setup header at 0x202")
    (version,) = struct.unpack_from("<H", vmlinuz, _VERSION)
    if version < 0x208:
        raise ImageError(f"boot protocol {version >> 8}.{version & 0xFF} has no payload fields")
    setup_sects = vmlinuz[_SETUP_SECTS] or 4  # 0 means 4, for historical reasons
    offset, length = struct.unpack_from("<II", vmlinuz, _PAYLOAD)
    start = (setup_sects + 1) * 512 + offset
    if length < 8 or start + length > len(vmlinuz):
        raise ImageError(f"the payload ({length} bytes at {start:#x}) lies outside the file")
    blob = vmlinuz[start : start + length]
    (size,) = struct.unpack("<I", blob[-4:])
    return blob[:-4], size


def decompress(stream: bytes, *, zstd: str | None = None) -> bytes:
    """Decompress an XZ or zstd stream (zstd through the `zstd` tool: Python 3.11 lacks it)."""
    if stream.startswith(XZ_MAGIC):
        try:
            return lzma.decompress(stream, format=lzma.FORMAT_XZ)
        except lzma.LZMAError as error:
            raise ImageError(f"the XZ payload does not decompress: {error}") from None
    if stream.startswith(ZSTD_MAGIC):
        tool = zstd or shutil.which("zstd")
        if tool is None:
            raise ImageError("the payload is zstd-compressed and the zstd tool is not installed")
        result = subprocess.run(
            [tool, "-d", "-c", "-q"], input=stream, capture_output=True, check=False
        )
        if result.returncode != 0:
            message = result.stderr.decode(errors="replace").strip()
            raise ImageError(f"the zstd payload does not decompress: {message}")
        return result.stdout
    raise ImageError(f"unknown payload compression (first bytes {stream[:6].hex()})")


def check_pvh(image: bytes) -> None:
    """ImageError unless `image` is a whole ELF file with the PVH entry note."""
    try:
        found = elf.notes(image)
    except elf.ElfError as error:
        raise ImageError(f"the uncompressed kernel is not a usable ELF file: {error}") from None
    if not any(n.owner == "Xen" and n.type == XEN_ELFNOTE_PHYS32_ENTRY for n in found):
        raise ImageError("the kernel has no PVH entry note (built without CONFIG_PVH)")


def extract(vmlinuz: bytes, *, zstd: str | None = None) -> bytes:
    """The PVH `vmlinux` of a bzImage, checked (size, ELF, PVH note)."""
    stream, size = payload(vmlinuz)
    image = decompress(stream, zstd=zstd)
    if len(image) != size:
        raise ImageError(f"the payload decompressed to {len(image)} bytes, the build said {size}")
    check_pvh(image)
    return image
