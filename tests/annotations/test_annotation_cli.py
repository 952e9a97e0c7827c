"""The command line `python -m annotations dump` (annotations/cli.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from annotations.cli import main


def dumped(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_dump_prints_annotations_and_diagnostics_of_a_folder_in_sorted_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.vfio").write_text("//:: IgnoreFile(/vfio/issue/007/)\nx\n")
    (tmp_path / "a.vfio").write_text(
        "//:: UnexpectedOutput(dma.map.failed:overlap, /model/issue/3/)\nmap\n//::Bad\n"
    )
    assert main(["dump", str(tmp_path)]) == 0
    assert dumped(capsys) == [
        {
            "file": "a.vfio",
            "line": 1,
            "column": 1,
            "kind": "UnexpectedOutput",
            "target": 2,
            "id": "dma.map.failed:overlap",
            "project": "model",
            "issue": 3,
        },
        {
            "file": "a.vfio",
            "line": 3,
            "column": 5,
            "kind": "ParseError",
            "target": None,
            "id": None,
            "project": None,
            "issue": None,
            "message": "cannot parse annotation `//::Bad`: `//::` must be followed by exactly "
            "one space",
            "hint": "write `//:: ` before the keyword",
            "silver": True,
        },
        {
            "file": "sub/b.vfio",
            "line": 1,
            "column": 1,
            "kind": "IgnoreFile",
            "target": None,
            "id": None,
            "project": "vfio",
            "issue": 7,
        },
    ]


def test_dump_names_a_file_by_the_path_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.txt"
    path.write_text("# x\n#:: ExpectedOutput(a)\ny\n")
    assert main(["dump", "--prefix", "#", str(path)]) == 0
    (record,) = dumped(capsys)
    assert record["file"] == str(path)
    assert record["kind"] == "ExpectedOutput"


def test_dump_reports_unknown_ids_against_a_catalog_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "catalog.txt").write_text("dma.map.failed:overlap\n")
    (tmp_path / "t.vfio").write_text("//:: ExpectedOutput(dma.map.failed:overlop)\nmap\n")
    assert main(["dump", "--catalog", str(tmp_path / "catalog.txt"), str(tmp_path / "t.vfio")]) == 0
    records = dumped(capsys)
    assert [r["kind"] for r in records] == ["ExpectedOutput", "UnknownId"]
    assert records[1]["hint"] == "did you mean `dma.map.failed:overlap`?"


def test_dump_fails_on_a_file_that_is_not_utf8_and_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.vfio").write_bytes(b"caf\xe9\n")
    (tmp_path / "b.vfio").write_text("//:: IgnoreOthers\nx\n")
    assert main(["dump", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert captured.err == (
        "a.vfio:1:4: error: not UTF-8 text (byte 0xe9) (hint: save the file as UTF-8)\n"
    )
    assert '"IgnoreOthers"' in captured.out


def test_dump_fails_on_a_missing_path_with_exit_2_and_no_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "absent"
    done = subprocess.run(
        [sys.executable, "-m", "annotations", "dump", str(missing)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr == f"error: {missing}: no such file or folder\n"
    assert done.stdout == ""


def test_dump_fails_on_an_empty_prefix_with_exit_2(tmp_path: Path) -> None:
    (tmp_path / "t.vfio").write_text("x\n")
    assert main(["dump", "--prefix", "", str(tmp_path)]) == 2


def run_dump(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "annotations", "dump", *args],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("args", [["--prefix=--"], ["--prefix", "--"]])
def test_dump_accepts_a_prefix_that_looks_like_an_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    path = tmp_path / "t.sql"
    path.write_text("--:: ExpectedOutput(a)\nselect 1\n")
    assert main(["dump", *args, str(path)]) == 0
    assert [(r["kind"], r["target"]) for r in dumped(capsys)] == [("ExpectedOutput", 2)]


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("--prefix=", "the comment prefix is empty"),
        ("--prefix=/ /", "cannot hold blanks or control characters"),
    ],
)
def test_dump_fails_on_a_bad_prefix_with_exit_2_and_no_traceback(
    tmp_path: Path, arg: str, message: str
) -> None:
    (tmp_path / "t.vfio").write_text("x\n")
    done = run_dump(arg, str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.startswith("error: --prefix")
    assert message in done.stderr and "hint:" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_dump_fails_on_a_prefix_without_value_as_a_usage_error(tmp_path: Path) -> None:
    done = run_dump(str(tmp_path), "--prefix")
    assert done.returncode == 2
    assert "usage:" in done.stderr and "Traceback" not in done.stderr


def test_dump_escapes_line_separators_so_each_record_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t.vfio").write_text(
        "//:: ExpectedOutput(a\u2028b)\nx\n//:: ExpectedOutput(c\u0085\u2029)\ny\n"
    )
    assert main(["dump", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.isascii()
    records = [json.loads(line) for line in out.split("\n") if line]
    assert [r["id"] for r in records if r["kind"] == "ExpectedOutput"] == [
        "a\u2028b",
        "c\u0085\u2029",
    ]


def test_dump_walks_regular_files_sorted_by_relative_posix_path_skipping_hidden_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for relative in ["b/z.vfio", "a.b/c.vfio", "a/c.vfio", ".git/x.vfio", "a/.hidden.vfio"]:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("//:: IgnoreOthers\nx\n")
    assert main(["dump", str(tmp_path)]) == 0
    assert [r["file"] for r in dumped(capsys)] == ["a.b/c.vfio", "a/c.vfio", "b/z.vfio"]
