"""Faults of the guest and the end of QEMU on every exit path (needs QEMU)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.backend import BackendFault, CoreDefaults
from harness.kernel import qemu
from harness.kernel.session import KernelSession
from harness.protocol.lifecycle import defaults_to_wire

ROOT = Path(__file__).resolve().parents[2]


def _gone(pid: int, within: float = 10.0) -> bool:
    """Whether process `pid` has ended (and is no zombie) within `within` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in "ZX":
            return True  # dead, waiting only for its parent to reap it
        time.sleep(0.05)
    return False


def _qemu_pid(session: KernelSession) -> int:
    guest = session.guest
    assert guest is not None and guest.qemu.pid is not None
    return guest.qemu.pid


def _kept(fault: BackendFault) -> Path:
    where = fault.message.split("the guest console is kept in ", 1)[1]
    return Path(where)


def test_a_hung_guest_fails_the_scenario_and_the_next_one_gets_a_restored_guest(
    own_session: KernelSession,
) -> None:
    backend = own_session.fresh()
    backend.container("c0")
    guest = own_session.guest
    assert guest is not None
    old_pid = _qemu_pid(own_session)
    monitor = guest.monitor()
    monitor.command("stop")  # the vCPU stops: the agent can never answer
    monitor.close()
    with pytest.raises(BackendFault, match="the guest hung") as caught:
        backend.map("c0", 0x100000, 0x7F0000000000, 0x1000)
    assert _kept(caught.value).is_file()
    assert _gone(old_pid)
    restored = own_session.fresh()
    assert own_session.restores == 1
    restored.container("c0")
    restored.map("c0", 0x100000, 0x7F0000000000, 0x1000)
    assert restored.mappings("c0") == 1


def test_a_warning_on_the_console_fails_the_call_that_caused_it(
    own_session: KernelSession,
) -> None:
    own_session.fresh()
    with pytest.raises(BackendFault, match=r"reported .*WARNING: injected") as caught:
        own_session.call("mark", "WARNING:", "injected", "by", "the", "test")
    kept = _kept(caught.value)
    assert "vfio-agent: WARNING: injected by the test" in kept.read_text()
    assert "WARNING: injected" in caught.value.detail
    own_session.fresh().container("c0")  # restored, usable
    assert own_session.restores == 1


def test_qemu_gone_mid_scenario_is_a_fault_naming_its_exit(own_session: KernelSession) -> None:
    backend = own_session.fresh()
    os.kill(_qemu_pid(own_session), signal.SIGKILL)
    with pytest.raises(BackendFault, match=r"the guest died during container.*status -9"):
        backend.container("c0")
    own_session.fresh().container("c0")


def test_close_ends_qemu_by_its_pid(kernel_ready: None) -> None:
    session = KernelSession(CoreDefaults())
    pid = _qemu_pid(session)
    assert pid in qemu.live()
    session.close()
    session.close()  # a second close is harmless
    assert _gone(pid, within=0.5)
    assert pid not in qemu.live()


def _serve(*extra: str, timeout: float = 30) -> tuple[subprocess.Popen[bytes], dict[str, object]]:
    """`python -m harness kernel serve`, initialized (its guest is running when this returns)."""
    child = subprocess.Popen(
        [sys.executable, "-m", "harness.kernel", "serve", "--timeout", f"{timeout:g}", *extra],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert child.stdin is not None and child.stdout is not None
    params = {"protocol": "vfio-harness/1", "defaults": defaults_to_wire(CoreDefaults())}
    request = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}
    child.stdin.write(json.dumps(request).encode() + b"\n")
    child.stdin.flush()
    answer = json.loads(child.stdout.readline())
    assert answer["result"]["name"] == "kernel", answer
    return child, answer["result"]


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


@pytest.mark.parametrize(
    "end",
    [
        pytest.param(lambda c: c.kill(), id="SIGKILL"),
        pytest.param(lambda c: c.send_signal(signal.SIGTERM), id="SIGTERM"),
        pytest.param(lambda c: c.send_signal(signal.SIGINT), id="Ctrl-C"),
        pytest.param(lambda c: c.stdin.close(), id="stdin-closed"),
    ],
)
def test_no_qemu_outlives_the_serving_process(kernel_ready: None, end: object) -> None:
    child, _ = _serve()
    try:
        (qemu_pid,) = _children(child.pid)
        end(child)  # type: ignore[operator]
        child.wait(timeout=30)
        assert _gone(qemu_pid), f"QEMU {qemu_pid} outlived the serving process"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_the_handshake_names_methods_and_the_guest(kernel_ready: None) -> None:
    child, result = _serve()
    try:
        assert "map" in result["methods"] and "window" not in result["methods"]  # type: ignore[operator]
        info = result["info"]
        assert isinstance(info, dict) and set(info) == {"kernel", "iommu", "accel", "qemu"}
        assert child.stdin is not None and child.stdout is not None
        request = {"jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": {}}
        child.stdin.write(json.dumps(request).encode() + b"\n")
        child.stdin.flush()
        assert json.loads(child.stdout.readline())["result"] is None
        assert child.wait(timeout=30) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def _request(child: subprocess.Popen[bytes], ident: int, method: str, **params: object) -> None:
    assert child.stdin is not None
    line = {"jsonrpc": "2.0", "id": ident, "method": method, "params": params}
    child.stdin.write(json.dumps(line).encode() + b"\n")
    child.stdin.flush()


def test_a_fault_ends_the_serving_process_with_the_fault_on_stderr(kernel_ready: None) -> None:
    child, _ = _serve(timeout=2)
    try:
        (qemu_pid,) = _children(child.pid)
        monitor = qemu.Monitor(Path(f"/proc/{qemu_pid}/cwd").resolve() / "monitor.sock")
        monitor.connect(time.monotonic() + 10)
        monitor.command("stop")  # the guest hangs
        monitor.close()
        _request(child, 2, "container", name="c0")
        assert child.wait(timeout=30) == 3
        assert child.stderr is not None
        err = child.stderr.read().decode()
        assert "kernel backend fault: the guest hung" in err
        assert "the guest console is kept in" in err
        assert _gone(qemu_pid)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
