"""The command line: exit codes, plain text without a terminal or with NO_COLOR, `ids`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.cli import main
from harness.vfio.catalog import catalog

ANSI = re.compile(r"\x1b\[")
PASSING = (
    "container c0\n//:: ExpectedOutput(dma.map.failed:size.zero)\nmap c0 iova=0 vaddr=0 size=0\n"
)
FAILING = "container c0\nmap c0 iova=0 vaddr=0 size=0\n"


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR", "TERM", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "100")


def test_run_passes_with_exit_status_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write(tmp_path / "scenarios", {"dma/ok.vfio": PASSING})
    assert main(["run", str(root)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "passed    dma/ok.vfio"
    assert out.splitlines()[-1] == "1 passed"
    assert not ANSI.search(out)


def test_run_fails_with_exit_status_1_and_a_code_frame(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write(tmp_path / "scenarios", {"dma/ok.vfio": PASSING, "dma/bad.vfio": FAILING})
    assert main(["run", str(root / "dma")]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == ["FAILED    dma/bad.vfio", "passed    dma/ok.vfio"]
    bad = root / "dma" / "bad.vfio"
    assert "Additional output:" in lines
    header = next(line for line in lines if line.startswith(f"{bad}:2: "))
    assert "dma.map.failed:size.zero" in header
    assert "❱ 2 map c0 iova=0 vaddr=0 size=0" in lines
    assert lines[-1] == "1 passed, 1 failed"


def test_known_bug_and_ignored_are_not_failures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write(
        tmp_path / "scenarios",
        {
            "k.vfio": (
                "container c0\n"
                "//:: UnexpectedOutput(dma.map.failed:size.zero, /model/issue/7/)\n"
                "map c0 iova=0 vaddr=0 size=0\n"
            ),
            "i.vfio": "//:: IgnoreFile(/vfio/issue/8/)\nbroken(\n",
        },
    )
    assert main(["run", str(root), "-D", "issueUrl=https://t/{project}/{issue}"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == [
        "ignored   i.vfio  (https://t/vfio/8)",
        "known bug k.vfio  (https://t/model/7)",
    ]


def test_multi_file_scenario_named_by_one_file_runs_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write(
        tmp_path / "scenarios",
        {
            "vm_file1.vfio": "container c0\n",
            "vm_file2.vfio": "assert c0.mappings == 0\n",
        },
    )
    assert main(["run", str(root / "vm_file2.vfio")]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "passed    vm"


def test_no_color_gives_plain_text_even_on_a_forced_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write(tmp_path / "scenarios", {"bad.vfio": FAILING})
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert main(["run", str(root)]) == 1
    assert ANSI.search(capsys.readouterr().out)
    monkeypatch.setenv("NO_COLOR", "1")
    assert main(["run", str(root)]) == 1
    assert not ANSI.search(capsys.readouterr().out)


def test_bad_path_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'nowhere'}: no such file or folder\n"
    (tmp_path / "notes.txt").write_text("x")
    assert main(["run", str(tmp_path / "notes.txt")]) == 2
    assert "not a .vfio file" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["run", str(tmp_path / "empty")]) == 2
    assert capsys.readouterr().err.startswith("error: no scenarios found")


def test_bad_backend_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write(tmp_path, {"a.vfio": PASSING})
    assert main(["run", str(root), "--backend", "nope"]) == 2
    assert capsys.readouterr().err == (
        "error: backend 'nope': not a backend name\n"
        "hint: name the backend 'model' or give an import path 'package.module:Class'\n"
    )


def test_backend_by_import_path_runs(tmp_path: Path) -> None:
    root = write(tmp_path, {"a.vfio": PASSING})
    assert main(["run", str(root), "--backend", "harness.model:ModelBackend"]) == 0


def test_bad_define_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write(tmp_path, {"a.vfio": PASSING})
    assert main(["run", str(root), "-D", "vfio:pgsize=3"]) == 2
    assert capsys.readouterr().err.startswith("error: -D vfio:pgsize=")


def test_defines_reach_the_run(tmp_path: Path) -> None:
    text = (
        "container c0\n//:: ExpectedOutput(dma.map.failed:misaligned)\n"
        "map c0 iova=0x1000 vaddr=0 size=4K\n"
    )
    root = write(tmp_path, {"a.vfio": text})
    assert main(["run", str(root)]) == 1
    assert main(["run", str(root), "-D", "vfio:pgsize=64K"]) == 0


def test_ids_prints_the_catalog(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ids"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"{key}  {text}" for key, text in catalog().items()]


def test_usage_without_a_command_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2


def test_annotation_typo_shows_did_you_mean_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = PASSING.replace("dma.map.failed", "dma.mapp.failed")
    root = write(tmp_path / "scenarios", {"dma/typo.vfio": typo})
    assert main(["run", str(root)]) == 1
    lines = capsys.readouterr().out.splitlines()
    where = f"{root / 'dma' / 'typo.vfio'}:2:1: UnknownId — "
    at = next(i for i, line in enumerate(lines) if line.startswith(where))
    assert lines[at + 1] == "hint: did you mean `dma.map.failed:size.zero`?"
