"""The PVH vmlinux extraction (`harness.kernel.vmlinux`) and the ELF reader under it."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from kernel_images import bzimage, elf_file, note, pvh_vmlinux, xz_bzimage

from harness.kernel import elf, vmlinux


def test_extract_returns_the_xz_payload_when_it_is_a_pvh_elf() -> None:
    image = pvh_vmlinux(b"\x90" * 4096)
    assert vmlinux.extract(xz_bzimage(image)) == image


@pytest.mark.skipif(shutil.which("zstd") is None, reason="the zstd tool is not installed")
def test_extract_returns_the_zstd_payload_when_it_is_a_pvh_elf() -> None:
    image = pvh_vmlinux(b"\x90" * 4096)
    stream = subprocess.run(["zstd", "-q", "-c"], input=image, capture_output=True, check=True)
    assert vmlinux.extract(bzimage(stream.stdout, len(image))) == image


def test_extract_fails_without_the_pvh_note() -> None:
    image = elf_file([(".text", b"x")], [note("Xen", 5, b"xen-3.0\0")])
    with pytest.raises(vmlinux.ImageError, match="no PVH entry note"):
        vmlinux.extract(xz_bzimage(image))


def test_extract_fails_when_the_recorded_size_differs() -> None:
    image = pvh_vmlinux()
    good = xz_bzimage(image)
    stream, _ = vmlinux.payload(good)
    with pytest.raises(vmlinux.ImageError, match="the build said"):
        vmlinux.extract(bzimage(stream, len(image) + 1))


def test_extract_fails_on_a_truncated_elf() -> None:
    image = pvh_vmlinux()[:-40]  # the section headers at the end are cut
    with pytest.raises(vmlinux.ImageError, match="truncated"):
        vmlinux.extract(xz_bzimage(image))


def test_payload_fails_without_a_setup_header() -> None:
    with pytest.raises(vmlinux.ImageError, match="HdrS"):
        vmlinux.payload(b"\0" * 4096)


def test_payload_fails_on_an_old_boot_protocol() -> None:
    with pytest.raises(vmlinux.ImageError, match="no payload fields"):
        vmlinux.payload(bzimage(b"x" * 16, 16, version=0x207))


def test_payload_fails_when_it_lies_outside_the_file() -> None:
    image = bytearray(xz_bzimage(pvh_vmlinux()))
    image[0x24C:0x250] = (len(image) * 2).to_bytes(4, "little")
    with pytest.raises(vmlinux.ImageError, match="outside the file"):
        vmlinux.payload(bytes(image))


def test_decompress_fails_on_an_unknown_compression() -> None:
    with pytest.raises(vmlinux.ImageError, match="unknown payload compression"):
        vmlinux.decompress(b"BZh91AY&SY")


def test_decompress_fails_on_a_corrupt_xz_stream() -> None:
    with pytest.raises(vmlinux.ImageError, match="does not decompress"):
        vmlinux.decompress(vmlinux.XZ_MAGIC + b"\0" * 40)


def test_section_reads_a_named_section_and_none_for_a_missing_one() -> None:
    data = elf_file([(".modinfo", b"a=b\0"), (".text", b"\x90")])
    assert elf.section(data, ".modinfo") == b"a=b\0"
    assert elf.section(data, ".data") is None


def test_notes_reads_every_note_of_the_note_segment() -> None:
    data = elf_file(notes=[note("Xen", 18, b"\x01\x02\x03\x04"), note("GNU", 3, b"id")])
    assert [(n.owner, n.type, n.desc) for n in elf.notes(data)] == [
        ("Xen", 18, b"\x01\x02\x03\x04"),
        ("GNU", 3, b"id"),
    ]


def test_elf_readers_fail_on_what_is_not_elf64_le() -> None:
    with pytest.raises(elf.ElfError, match="not an ELF file"):
        elf.notes(b"MZ" + b"\0" * 100)
    big_endian = bytearray(pvh_vmlinux())
    big_endian[5] = 2
    with pytest.raises(elf.ElfError, match="little-endian 64-bit"):
        elf.notes(bytes(big_endian))
