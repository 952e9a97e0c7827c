"""The command line: exit codes, plain text without a terminal or with NO_COLOR, `ids`."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from importlib.metadata import version
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


def test_the_address_width_define_reaches_the_containers(tmp_path: Path) -> None:
    text = (
        "container c0\n//:: ExpectedOutput(dma.map.failed:out.of.range)\n"
        "map c0 iova=0x8000000000 vaddr=0x1000 size=4K\n"
    )
    root = write(tmp_path, {"a.vfio": text})
    assert main(["run", str(root)]) == 1  # 2^39 is a valid IOVA for a 64-bit IOMMU
    assert main(["run", str(root), "-D", "vfio:aw=39"]) == 0


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


# A backend whose `container gate` waits until a file named `open` appears beside the
# scenarios (at most 20 s), so that a test can look at the output while a scenario runs.
GATE_BACKEND = """
import time
from pathlib import Path

from harness.model import ModelBackend


class Gate(ModelBackend):
    def container(self, name, **options):
        if name == "gate":
            deadline = time.monotonic() + 20
            while not Path("open").exists() and time.monotonic() < deadline:
                time.sleep(0.02)
        return super().container(name, **options)
"""


def start_cli(folder: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    """`python -m harness ARGS` in `folder`, with `folder` importable; stdout piped."""
    environment = {**os.environ, "PYTHONPATH": str(folder), "NO_COLOR": "1", **env}
    return subprocess.Popen(
        [sys.executable, "-m", "harness", *args],
        cwd=folder,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    """Wait for the process (killing it after 60 s); its status, stdout and stderr."""
    try:
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, out, err


def test_run_prints_each_scenario_as_it_finishes(tmp_path: Path) -> None:
    write(tmp_path, {"gate_backend.py": GATE_BACKEND, "s/a.vfio": PASSING,
                     "s/b.vfio": "container gate\n"})
    process = start_cli(tmp_path, "run", "s", "--backend", "gate_backend:Gate")
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        still_running = process.poll() is None  # b waits for the gate: a's line came first
        (tmp_path / "open").touch()
    finally:
        status, out, _ = finish(process)
    assert first == "passed    a.vfio\n"
    assert still_running
    assert status == 0
    assert out.splitlines()[0] == "passed    b.vfio"


def test_ctrl_c_stops_the_run_and_still_reports_what_ran(tmp_path: Path) -> None:
    write(tmp_path, {"gate_backend.py": GATE_BACKEND, "s/a.vfio": PASSING,
                     "s/b.vfio": "container gate\n", "s/c.vfio": PASSING})
    process = start_cli(tmp_path, "run", "s", "--backend", "gate_backend:Gate")
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "passed    a.vfio\n"
        process.send_signal(signal.SIGINT)
    finally:
        status, out, err = finish(process)
    assert status == 130
    assert out.splitlines()[-1] == "1 passed (interrupted)"
    assert "c.vfio" not in out
    assert "Traceback" not in err


def test_exitfirst_stops_after_the_first_failed_scenario(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write(tmp_path / "scenarios", {"a.vfio": FAILING, "b.vfio": FAILING, "c.vfio": PASSING})
    for flag in ("-x", "--exitfirst"):
        assert main(["run", str(root), flag]) == 1
        lines = capsys.readouterr().out.splitlines()
        assert lines[0] == "FAILED    a.vfio"
        assert not any("b.vfio" in line for line in lines)
        assert lines[-1] == "1 failed (stopped at the first failure: -x)"


def test_version_names_the_program_and_the_installed_version(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"], prog="vfio-harness")
    assert info.value.code == 0
    assert capsys.readouterr().out == f"vfio-harness {version('vfio-harness')}\n"


@pytest.mark.parametrize(
    ("command", "program"),
    [
        ([sys.executable, "-m", "harness"], "python -m harness"),
        ([str(Path(sys.executable).with_name("vfio-harness"))], "vfio-harness"),
    ],
)
def test_usage_line_names_the_program_it_was_started_as(
    command: list[str], program: str
) -> None:
    done = subprocess.run([*command, "nonsense"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith(f"usage: {program} [-h] [--version]")


def test_an_ascii_only_output_gets_ascii_look_alikes(tmp_path: Path) -> None:
    write(tmp_path, {"s/bad.vfio": FAILING + "// caf\u00e9\n"})
    process = start_cli(tmp_path, "run", "s", PYTHONIOENCODING="ascii")
    status, out, err = finish(process)
    assert status == 1, err
    assert out.isascii()
    assert "s/bad.vfio:2: dma.map.failed:size.zero - " in out
    assert "> 2 map c0 iova=0 vaddr=0 size=0" in out
    assert "  3 // caf\\xe9" in out


def test_a_backend_that_cannot_start_a_scenario_fails_it_and_the_run_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, {
        "flaky_cli_backend.py": (
            "from harness.model import ModelBackend\n\n"
            "class Flaky(ModelBackend):\n"
            "    built = 0\n"
            "    def __init__(self, defaults):\n"
            "        type(self).built += 1\n"
            "        if type(self).built == 2:\n"
            "            raise RuntimeError('ioctl VFIO_GROUP_GET_DEVICE_FD: EBUSY')\n"
            "        super().__init__(defaults)\n"
        ),
        "s/a.vfio": PASSING, "s/b.vfio": PASSING, "s/c.vfio": PASSING,
    })
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["run", str(tmp_path / "s"), "--backend", "flaky_cli_backend:Flaky"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == ["passed    a.vfio", "FAILED    b.vfio", "passed    c.vfio"]
    assert (
        f"{tmp_path / 's' / 'b.vfio'}: backend crash — backend model failed to start the "
        "scenario: Flaky(defaults) failed: RuntimeError: ioctl VFIO_GROUP_GET_DEVICE_FD: EBUSY"
    ) in lines


def test_a_backend_that_exits_while_it_is_built_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write(tmp_path, {"a.vfio": PASSING})
    assert main(["run", str(root), "--backend", "sys:exit"]) == 2
    assert capsys.readouterr().err.startswith(
        "error: backend 'sys:exit': exit(defaults) failed: SystemExit: "
    )


def test_a_reader_that_goes_away_ends_the_run_quietly(tmp_path: Path) -> None:
    write(tmp_path, {f"s/{name}.vfio": FAILING for name in "abcdefgh"})
    process = start_cli(tmp_path, "run", "s")
    assert process.stdout is not None
    process.stdout.readline()
    process.stdout.close()  # as `| head -1` does
    status, _, err = finish(process)
    assert "Traceback" not in err
    assert status == 1


CRASHING_BACKEND = """
from harness.backend import BackendFault
from harness.model import ModelBackend


class Crashes(ModelBackend):
    def map(self, container, iova, vaddr, size, perm="rw"):
        if size == 0:
            raise RuntimeError("ioctl VFIO_IOMMU_MAP_DMA: EINVAL")
        return super().map(container, iova, vaddr, size, perm)


class GuestGone(ModelBackend):
    built = 0

    def __init__(self, defaults):
        type(self).built += 1
        if type(self).built == 3:
            raise BackendFault("the guest is gone", fatal=True)
        super().__init__(defaults)
"""


def test_a_backend_crash_fails_that_scenario_and_the_run_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ok = "container c0\nmap c0 iova=0x1000 vaddr=0x1000 size=4K\n"
    write(tmp_path, {"cli_crashes.py": CRASHING_BACKEND, "s/a.vfio": PASSING, "s/b.vfio": ok})
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["run", str(tmp_path / "s"), "--backend", "cli_crashes:Crashes"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == ["FAILED    a.vfio", "passed    b.vfio"]
    where = f"{tmp_path / 's' / 'a.vfio'}:3"
    at = lines.index(
        f"{where}: backend crash — backend model raised RuntimeError: ioctl "
        "VFIO_IOMMU_MAP_DMA: EINVAL in map"
    )
    assert lines[at + 1 : at + 4] == [
        "  2 //:: ExpectedOutput(dma.map.failed:size.zero)",
        "❱ 3 map c0 iova=0 vaddr=0 size=0",
        "backend frames:",
    ]
    assert lines[at + 4].startswith('  File "') and "cli_crashes.py" in lines[at + 4]
    assert lines[-1] == "1 passed, 1 failed"


def test_a_fatal_backend_fault_stops_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {f"s/{name}.vfio": PASSING for name in "abcd"}
    write(tmp_path, {"cli_crashes.py": CRASHING_BACKEND, **files})
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["run", str(tmp_path / "s"), "--backend", "cli_crashes:GuestGone"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == ["passed    a.vfio", "passed    b.vfio", "FAILED    c.vfio"]
    assert f"{tmp_path / 's' / 'c.vfio'}: backend fault — the guest is gone" in lines
    assert lines[-1] == (
        "2 passed, 1 failed (stopped: the backend can run no further scenario)"
    )


def test_run_names_a_backend_that_never_started_by_its_spec(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write(tmp_path / "scenarios", {"a.vfio": PASSING})
    spec = f"exec:{shlex.join([sys.executable, '-c', 'import sys; sys.exit(3)'])}"
    assert main(["run", str(root), "--backend", spec]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert f"Conformance of backend {spec} (scenarios per area):" in lines
