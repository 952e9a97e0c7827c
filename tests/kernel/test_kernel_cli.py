"""`python -m harness kernel ...`: status, usage errors and setup errors without tracebacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness import cli
from harness.backend import BackendFault
from harness.kernel import artifacts, tools
from harness.kernel import cli as kernel_cli
from harness.kernel.config import KernelConfig
from harness.kernel.errors import SetupError
from harness.protocol.server import fault_report

ROOT = Path(__file__).resolve().parents[2]


def test_a_fault_report_keeps_its_message_within_the_stderr_tail() -> None:
    # The console excerpt and QEMU's log can pass the 50 lines the harness keeps of stderr:
    # the message, which names the kept console, must not be the line that is dropped.
    detail = "\n".join(f"console {n}" for n in range(70))
    fault = BackendFault("the guest hung; kept in /x.log", detail)
    report = fault_report(fault, "kernel backend fault: ")
    lines = report.splitlines()
    assert len(lines) == 50 and report.endswith("console 69\n")
    assert lines[0] == "kernel backend fault: the guest hung; kept in /x.log"
    assert fault_report(BackendFault("gone", "")) == "FAULT: gone\n"


def test_status_of_an_empty_cache_says_how_to_set_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["kernel", "status", "--cache", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "(empty)" in out
    assert "no configuration is ready: run `python -m harness kernel setup`" in out


def test_status_reports_a_broken_artifact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "snapshot-0123").mkdir()
    (tmp_path / "snapshot-0123" / "snapshot.bin").write_bytes(b"half")
    kernel_cli.main(["status", "--cache", str(tmp_path)])
    assert "snapshot-0123: BROKEN: no manifest (an interrupted build)" in capsys.readouterr().out


def test_an_impossible_configuration_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert kernel_cli.main(["setup", "--version", "6.1", "--iommu", "virtio"]) == 2
    err = capsys.readouterr().err
    assert "error: kernel.iommu=virtio needs kernel.version=6.12" in err
    assert "hint: write -D kernel.version=6.12 -D kernel.iommu=virtio" in err


def test_a_failed_setup_step_is_a_message_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    absent = tools.Tool("qemu-system-x86_64", "qemu-system-x86", lambda: False)
    monkeypatch.setattr(tools, "TOOLS", (absent,))
    assert kernel_cli.main(["setup", "--cache", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: kernel setup (host tools): missing on this machine")
    assert "apt-get install -y --no-install-recommends qemu-system-x86" in err
    assert "Traceback" not in err


def test_python_m_harness_kernel_runs_the_kernel_commands(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "harness", "kernel", "status", "--cache", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"kernel cache: {tmp_path}")


def test_require_wants_every_artifact_setup_named_with_its_manifest(tmp_path: Path) -> None:
    config = KernelConfig()
    names = {kind: f"{kind}-0" for kind in artifacts.KINDS}
    artifacts.write_pointer(tmp_path, config, names)
    for name in names.values():
        (tmp_path / name).mkdir()
        (tmp_path / name / "manifest.json").write_text("{}")
    artifacts.require(config, tmp_path)
    (tmp_path / "snapshot-0" / "manifest.json").unlink()
    with pytest.raises(SetupError, match="the snapshot artifact snapshot-0 is missing"):
        artifacts.require(config, tmp_path)
