"""`python -m harness bless PATH...`: every rule of bless as the command line drives it.

Each test writes scenarios into a temporary folder, blesses them through `harness.cli.main`,
and checks the files' bytes, what the report says and the exit status; where bless wrote,
the same scenarios then run clean and a second bless changes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pytest

from harness.cli import main

OVERLAP = "map c0 iova=0x101000 vaddr=0x7f0000300000 size=4K\n"
FIRST = "container c0\nmap c0 iova=0x100000 vaddr=0x7f0000100000 size=2M\n"
# Line 3 overlaps line 2, and nothing expects it; the ExpectedOutput on line 4 sees nothing.
STALE = FIRST + OVERLAP + "//:: ExpectedOutput(dma.map.failed:size.zero)\nassert c0.mappings == 1\n"
BLESSED = (
    FIRST + "//:: ExpectedOutput(dma.map.failed:overlap)\n" + OVERLAP + "assert c0.mappings == 1\n"
)
PASSING = FIRST + "//:: ExpectedOutput(dma.map.failed:overlap)\n" + OVERLAP


def write(folder: Path, files: Mapping[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file's bytes and modification time (ns), by path."""
    return {
        str(path): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "100")


def bless(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    status = main(["bless", *args])
    return status, capsys.readouterr().out.splitlines()


def test_bless_adds_and_removes_expected_outputs_and_leaves_passing_files_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write(tmp_path / "scenarios", {"dma/stale.vfio": STALE, "dma/ok.vfio": PASSING})
    ok = root / "dma" / "ok.vfio"
    before = ok.read_bytes(), ok.stat().st_mtime_ns
    status, lines = bless(capsys, str(root))
    assert status == 0
    assert (root / "dma" / "stale.vfio").read_text() == BLESSED
    assert (ok.read_bytes(), ok.stat().st_mtime_ns) == before  # never written
    assert lines == [
        f"{root}/dma/stale.vfio: changed: 1 annotation added, 1 removed",
        "bless: 1 file changed (1 annotation added, 1 removed), 1 file unchanged",
    ]
    assert main(["run", str(root)]) == 0
    capsys.readouterr()
    unchanged = snapshot(root)
    status, lines = bless(capsys, str(root))
    assert status == 0 and lines == ["bless: 0 files changed, 2 files unchanged"]
    assert snapshot(root) == unchanged


def test_bless_keeps_crlf_bom_missing_final_newline_and_permissions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    crlf = STALE.replace("\n", "\r\n").encode()
    bom = b"\xef\xbb\xbf" + STALE.encode()
    unterminated = STALE.removesuffix("\n").encode()
    root = write(tmp_path / "s", {"crlf.vfio": crlf, "bom.vfio": bom, "end.vfio": unterminated})
    (root / "crlf.vfio").chmod(0o640)
    (root / "bom.vfio").chmod(0o604)
    status, _ = bless(capsys, str(root))
    assert status == 0
    assert (root / "crlf.vfio").read_bytes() == BLESSED.replace("\n", "\r\n").encode()
    assert (root / "bom.vfio").read_bytes() == b"\xef\xbb\xbf" + BLESSED.encode()
    assert (root / "end.vfio").read_bytes() == BLESSED.removesuffix("\n").encode()
    assert (root / "crlf.vfio").stat().st_mode & 0o777 == 0o640
    assert (root / "bom.vfio").stat().st_mode & 0o777 == 0o604
    assert [p.name for p in root.iterdir() if p.name.startswith(".")] == []  # no temporary left


def test_bless_edits_an_annotation_block_with_comments_between_and_keeps_the_comments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        "container c0\n"
        "map c0 iova=0 vaddr=0 size=4K\n"
        "    //:: ExpectedOutput(dma.map.failed:size.zero)\n"
        "    // the overlap is the point of this line\n"
        "    //:: ExpectedOutput(dma.map.failed:no.access)\n"
        "    // (reviewed)\n"
        "    map c0 iova=0 vaddr=0 size=4K\n"
    )
    root = write(tmp_path / "s", {"block.vfio": text})
    status, lines = bless(capsys, str(root))
    assert status == 0
    # The stale annotations go (their lines only); the new one stands at the foot of the
    # block, after the comments, indented like its line.
    assert (root / "block.vfio").read_text() == (
        "container c0\n"
        "map c0 iova=0 vaddr=0 size=4K\n"
        "    // the overlap is the point of this line\n"
        "    // (reviewed)\n"
        "    //:: ExpectedOutput(dma.map.failed:overlap)\n"
        "    map c0 iova=0 vaddr=0 size=4K\n"
    )
    assert lines[0] == f"{root}/block.vfio: changed: 1 annotation added, 2 removed"


def test_bless_edits_each_file_of_a_multi_file_scenario(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write(
        tmp_path / "scenarios",
        {
            "vm_file1.vfio": FIRST,
            "vm_file2.vfio": OVERLAP + "//:: ExpectedOutput(dma.map.failed:no.access)\n"
            "assert c0.mappings == 1\n",
            "vm_file3.vfio": "map c0 iova=0 vaddr=0 size=0\n",
        },
    )
    status, lines = bless(capsys, str(root / "vm_file2.vfio"))  # the whole group is blessed
    assert status == 0
    assert (root / "vm_file1.vfio").read_text() == FIRST
    assert (root / "vm_file2.vfio").read_text() == (
        "//:: ExpectedOutput(dma.map.failed:overlap)\n" + OVERLAP + "assert c0.mappings == 1\n"
    )
    assert (root / "vm_file3.vfio").read_text() == (
        "//:: ExpectedOutput(dma.map.failed:size.zero)\nmap c0 iova=0 vaddr=0 size=0\n"
    )
    assert lines[-1] == (
        "bless: 2 files changed (2 annotations added, 1 removed), 1 file unchanged"
    )


def test_dry_run_prints_a_unified_diff_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write(tmp_path / "s", {"stale.vfio": STALE})
    before = snapshot(root)
    status, lines = bless(capsys, str(root), "--dry-run")
    assert status == 0
    assert snapshot(root) == before
    name = f"{root}/stale.vfio"
    assert lines == [
        f"--- a/{name}",
        f"+++ b/{name}",
        "@@ -1,5 +1,5 @@",
        " container c0",
        " map c0 iova=0x100000 vaddr=0x7f0000100000 size=2M",
        "+//:: ExpectedOutput(dma.map.failed:overlap)",
        " map c0 iova=0x101000 vaddr=0x7f0000300000 size=4K",
        "-//:: ExpectedOutput(dma.map.failed:size.zero)",
        " assert c0.mappings == 1",
        f"{name}: would change: 1 annotation added, 1 removed",
        "bless (dry run, nothing written): 1 file would change (1 annotation added, 1 removed), "
        "0 files unchanged",
    ]


def test_check_exits_1_when_anything_would_change_and_0_when_nothing_would(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write(tmp_path / "s", {"stale.vfio": STALE, "ok.vfio": PASSING})
    before = snapshot(root)
    status, lines = bless(capsys, str(root), "--check")
    assert status == 1
    assert snapshot(root) == before
    assert lines[-1] == (
        "bless (check, nothing written): 1 file would change (1 annotation added, 1 removed), "
        "1 file unchanged"
    )
    status, _ = bless(capsys, str(root / "ok.vfio"), "--check")
    assert status == 0
    status, lines = bless(capsys, str(root), "--check", "--dry-run")  # a check with the diff
    assert status == 1 and "+//:: ExpectedOutput(dma.map.failed:overlap)" in lines


@pytest.mark.parametrize(
    ("typo", "output"),
    [
        ("map c0 iova=0 vaddr=0 size=4K perms=rw\n", "scenario.error:bad.option"),
        ("map c1 iova=0 vaddr=0 size=4K\n", "scenario.error:unknown.name"),
        ("map c0 iova=0 vaddr=0 size=4K perm rw\n", "parser.error"),
    ],
)
def test_a_file_with_an_output_never_blessed_is_not_rewritten_and_the_report_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], typo: str, output: str
) -> None:
    root = write(tmp_path / "s", {"typo.vfio": STALE + typo})
    before = snapshot(root)
    status, lines = bless(capsys, str(root))
    assert status == 1  # the scenario still fails: the typo is for a person to fix
    assert snapshot(root) == before
    assert lines[0].startswith(
        f"{root}/typo.vfio: not rewritten: output [{output}] on line 6 is one that is never "
        "blessed: "
    )
    assert lines[0].endswith("(fix the scenario, or write its annotation by hand)")
    assert lines[-1] == "bless: 0 files changed, 1 file not rewritten, 0 files unchanged"


def test_an_expected_syntax_error_is_no_typo_but_the_files_that_did_not_run_are_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = "container c0\n//:: ExpectedOutput(parser.error)\nmap c0 iova=\n"
    later = "//:: ExpectedOutput(dma.map.failed:overlap)\n" + OVERLAP
    root = write(tmp_path / "s", {"p_file1.vfio": broken, "p_file2.vfio": later})
    before = snapshot(root)
    status, lines = bless(capsys, str(root))
    assert snapshot(root) == before
    assert lines == [
        f"{root}/p_file2.vfio: not rewritten: it did not run ({root}/p_file1.vfio:3 has a "
        "syntax error), so its annotations were not checked",
        "bless: 0 files changed, 1 file not rewritten, 1 file unchanged",
    ]
    assert status == 1


def test_the_files_that_ran_after_a_typo_are_not_rewritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The typo keeps the first map from running, so file 2's overlap vanishes: removing its
    # ExpectedOutput would bless the typo's consequence.
    root = write(
        tmp_path / "s",
        {
            "t_file1.vfio": "container c0\nmap c1 iova=0x100000 vaddr=0x7f0000100000 size=2M\n",
            "t_file2.vfio": "//:: ExpectedOutput(dma.map.failed:overlap)\n" + OVERLAP,
        },
    )
    before = snapshot(root)
    status, lines = bless(capsys, str(root))
    assert status == 1
    assert snapshot(root) == before
    assert lines[1] == (
        f"{root}/t_file2.vfio: not rewritten: it ran after {root}/t_file1.vfio, which is not "
        "rewritten: its outputs may follow from that file's error"
    )


# The backend module the tests copy beside their scenarios (it edits a file, or crashes).
BACKENDS = (Path(__file__).parent / "editing_backend.py").read_text(encoding="utf-8")


def test_a_file_changed_on_disk_since_it_was_read_is_not_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {"bless_cli_backends.py": BACKENDS, "scenarios/edited.vfio": "container edit\n" + STALE}
    write(tmp_path, files)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    status, lines = bless(capsys, "scenarios", "--backend", "bless_cli_backends:Editing")
    assert status == 1
    text = (tmp_path / "scenarios" / "edited.vfio").read_text()
    assert text == "container edit\n" + STALE + "// edited while bless ran\n"  # bless wrote nothing
    assert lines == [
        "scenarios/edited.vfio: not written: it changed on disk since it was read (bless it again)",
        "hint: a file changed while bless ran; bless again to update it",
        "bless: 0 files changed, 1 file not written, 0 files unchanged",
    ]


def test_a_run_the_backend_stopped_is_never_blessed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    crash = STALE + "map c0 iova=0xdead000 vaddr=0 size=4K\n"
    write(tmp_path, {"bless_cli_backends.py": BACKENDS, "scenarios/crash.vfio": crash})
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path / "scenarios")
    status, lines = bless(capsys, "scenarios", "--backend", "bless_cli_backends:Editing")
    assert status == 1
    assert snapshot(tmp_path / "scenarios") == before
    assert lines[0].startswith(
        "scenarios/crash.vfio: not blessed: the backend stopped the run: "
    )
    assert "RuntimeError: ioctl wrapper broke" in lines[0]
    assert lines[-1] == "bless: 0 files changed, 1 scenario not blessed, 0 files unchanged"


KNOWN = FIRST + "//:: UnexpectedOutput(dma.map.failed:overlap, /model/issue/12/)\n" + OVERLAP
STALE_BUGS = (
    "container c0\n"
    "//:: UnexpectedOutput(dma.map.failed:overlap, /model/issue/3/)\n"
    "map c0 iova=0x100000 vaddr=0x7f0000100000 size=2M\n"
    "//:: MissingOutput(dma.map.failed:overlap, /model/issue/4/)\n" + OVERLAP
)


def test_known_bugs_are_left_alone_unless_blessed_as_known_bugs_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write(tmp_path / "s", {"known.vfio": KNOWN, "stale_bugs.vfio": STALE_BUGS})
    before = snapshot(root)
    status, lines = bless(capsys, str(root))
    assert status == 1  # the stale known bugs still fail the scenario
    assert snapshot(root) == before
    name = f"{root}/stale_bugs.vfio"
    assert lines == [
        f"{name}:3: left alone: [dma.map.failed:overlap] a known bug (/model/issue/3/) looks "
        "fixed; known bugs are left alone unless blessed as known bugs too",
        f"{name}:5: left alone: [dma.map.failed:overlap] a known bug (/model/issue/4/) looks "
        "fixed; known bugs are left alone unless blessed as known bugs too",
        "hint: 2 stale known bugs left alone: --bless-known-bugs updates their annotations too",
        "bless: 0 files changed, 2 findings left alone, 2 files unchanged",
    ]
    status, lines = bless(capsys, str(root), "--bless-known-bugs")
    assert status == 0
    assert (root / "known.vfio").read_text() == KNOWN  # a known bug still present stays
    assert (root / "stale_bugs.vfio").read_text() == (
        "container c0\n"
        "map c0 iova=0x100000 vaddr=0x7f0000100000 size=2M\n"
        "//:: ExpectedOutput(dma.map.failed:overlap)\n" + OVERLAP
    )
    assert lines[0] == f"{name}: changed: 1 annotation removed, 1 replaced"
    assert main(["run", str(root)]) == 0
    assert "known bug known.vfio  (/model/issue/12/)" in capsys.readouterr().out


def test_an_ignored_file_is_not_touched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ignored = "//:: IgnoreFile(/model/issue/9/)\n" + STALE
    root = write(tmp_path / "s", {"i_file1.vfio": STALE, "i_file2.vfio": ignored})
    before = (root / "i_file2.vfio").stat().st_mtime_ns
    status, lines = bless(capsys, str(root))
    assert status == 0
    assert (root / "i_file1.vfio").read_text() == BLESSED
    assert (root / "i_file2.vfio").read_text() == ignored
    assert (root / "i_file2.vfio").stat().st_mtime_ns == before
    assert lines[-1] == "bless: 1 file changed (1 annotation added, 1 removed), 1 file unchanged"


def test_an_output_in_some_passes_of_a_loop_line_is_left_alone_with_its_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        "container c0\n"
        "map c0 iova=0x2000 vaddr=0x7f0000000000 size=4K\n"
        "for i in 0..4 {\n"
        "    map c0 iova=(i * 0x1000) vaddr=0x7f0000100000 size=4K\n"
        "}\n"
    )
    root = write(tmp_path / "s", {"loop.vfio": text})
    status, lines = bless(capsys, str(root))
    assert status == 1
    assert (root / "loop.vfio").read_text() == text
    assert lines[0] == (
        f"{root}/loop.vfio:4: left alone: [dma.map.failed:overlap] output "
        "[dma.map.failed:overlap] occurs in 1 of the 5 passes of line 4; an ExpectedOutput "
        "there would expect it in every pass"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nowhere"], "error: nowhere: no such file or folder"),
        (["s", "-D", "strict=perhaps"], "error: -D strict='perhaps': expected true or false"),
        (["s", "--backend", "no_such:Backend"], "error: backend 'no_such:Backend': *"),
    ],
)
def test_bless_usage_errors_exit_2_with_a_message(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    write(tmp_path, {"s/a.vfio": PASSING})
    monkeypatch.chdir(tmp_path)
    assert main(["bless", *args]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(message.removesuffix("*"))
    assert "Traceback" not in "\n".join(err)


def test_bless_leaves_no_stray_files_and_keeps_the_folder_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write(tmp_path / "s", {"a.vfio": STALE, "b.vfio": STALE})
    bless(capsys, str(root))
    assert sorted(os.listdir(root)) == ["a.vfio", "b.vfio"]


def test_the_known_bug_rules_touch_only_the_known_bugs_of_the_projects_in_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        FIRST + "//:: MissingOutput(dma.map.failed:overlap, /model/issue/4/)\n"
        "//:: MissingOutput(dma.map.failed:overlap, /kernel/issue/1/)\n" + OVERLAP
    )
    root = write(tmp_path / "s", {"two.vfio": text})
    status, _ = bless(capsys, str(root), "--bless-known-bugs")
    assert status == 0
    # The model's stale bug becomes an ExpectedOutput; the kernel's is not in force on the
    # model, so it stays as written.
    assert (root / "two.vfio").read_text() == (
        FIRST + "//:: MissingOutput(dma.map.failed:overlap, /kernel/issue/1/)\n"
        "//:: ExpectedOutput(dma.map.failed:overlap)\n" + OVERLAP
    )
