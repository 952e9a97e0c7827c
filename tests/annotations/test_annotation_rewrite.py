"""Line edits and safe writes under bless (annotations/rewrite.py)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from annotations.rewrite import (
    Delete,
    Insert,
    Lines,
    Replace,
    Written,
    decode,
    encode,
    sync_folders,
    unified_diff,
    write_atomically,
)


def edited(text: str, *edits: Insert | Delete | Replace) -> str:
    lines = Lines(text)
    lines.apply(edits)
    return lines.text()


def test_lines_apply_edits_by_the_line_numbers_of_the_text_as_read() -> None:
    text = "a\nb\nc\nd\n"
    result = edited(text, Delete(1), Insert(3, ("x", "y")), Replace(4, "D"), Insert(2, ("z",)))
    assert result == "z\nb\nx\ny\nc\nD\n"


def test_lines_keep_crlf_endings_and_end_inserted_lines_like_their_neighbour() -> None:
    assert edited("a\r\nb\nc", Insert(1, ("x",)), Insert(2, ("y",)), Insert(3, ("z",))) == (
        "x\r\na\r\ny\nb\nz\nc"
    )
    assert edited("a\r\nb\r\nc", Insert(3, ("z",))) == "a\r\nb\r\nz\r\nc"
    assert edited("c", Insert(1, ("z",))) == "z\nc"


def test_lines_keep_a_missing_final_newline_when_the_last_line_goes() -> None:
    assert edited("a\nb", Delete(2)) == "a"
    assert edited("a\nb\n", Delete(2)) == "a\n"


def test_lines_keep_a_lone_carriage_return_inside_a_line() -> None:
    assert edited("a\rb\nc\n", Replace(2, "C")) == "a\rb\nC\n"


def test_decode_and_encode_keep_a_byte_order_mark() -> None:
    assert decode(b"\xef\xbb\xbfx\n") == ("x\n", True)
    assert encode("x\n", True) == b"\xef\xbb\xbfx\n"
    assert decode(b"x\xff") is None


def test_unified_diff_splits_lines_on_lf_only_and_marks_a_missing_final_newline() -> None:
    assert unified_diff("f", "a\u2028b\nc", "a\u2028b\nd") == (
        "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\u2028b\n-c\n\\ No newline at end of file\n"
        "+d\n\\ No newline at end of file\n"
    )


def test_write_atomically_replaces_the_bytes_and_keeps_the_permission_bits(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.vfio"
    path.write_bytes(b"old\n")
    os.chmod(path, 0o640)
    assert write_atomically(path, b"old\n", b"new\n").status is Written.WRITTEN
    assert path.read_bytes() == b"new\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["s.vfio"]  # no temporary file left


def test_write_atomically_writes_nothing_to_a_file_that_changed_since_it_was_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.vfio"
    path.write_bytes(b"edited meanwhile\n")
    result = write_atomically(path, b"old\n", b"new\n")
    assert result.status is Written.CHANGED_ON_DISK
    assert path.read_bytes() == b"edited meanwhile\n"


def test_write_atomically_edits_the_file_a_symbolic_link_names(tmp_path: Path) -> None:
    real = tmp_path / "real.vfio"
    real.write_bytes(b"old\n")
    link = tmp_path / "link.vfio"
    link.symlink_to(real)
    assert write_atomically(link, b"old\n", b"new\n").status is Written.WRITTEN
    assert link.is_symlink() and real.read_bytes() == b"new\n"


def test_write_atomically_reports_a_failed_rename_and_leaves_the_file_and_no_litter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.vfio"
    path.write_bytes(b"old\n")

    def refuse(src: str, dst: str) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    result = write_atomically(path, b"old\n", b"new\n")
    assert (result.status, result.detail) == (Written.FAILED, "Permission denied")
    assert path.read_bytes() == b"old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["s.vfio"]


def test_write_atomically_reports_a_missing_file(tmp_path: Path) -> None:
    result = write_atomically(tmp_path / "gone.vfio", b"old\n", b"new\n")
    assert result.status is Written.FAILED
    assert result.detail == "No such file or directory"


def test_write_atomically_can_leave_the_folder_flush_to_sync_folders_once_per_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flushed: list[str] = []  # "file" or "folder", per fsync
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        flushed.append("folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    results = []
    for name in ("a.vfio", "b.vfio"):
        (tmp_path / name).write_bytes(b"old\n")
        results.append(write_atomically(tmp_path / name, b"old\n", b"new\n", sync_folder=False))
    assert flushed == ["file", "file"]  # each file's bytes before its rename, no folder yet
    assert {result.folder for result in results} == {str(tmp_path)}
    sync_folders(result.folder for result in results)
    assert flushed == ["file", "file", "folder"]
    flushed.clear()
    (tmp_path / "c.vfio").write_bytes(b"old\n")
    write_atomically(tmp_path / "c.vfio", b"old\n", b"new\n")
    assert flushed == ["file", "folder"]  # by default, the folder at once
