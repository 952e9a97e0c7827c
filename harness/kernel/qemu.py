"""One QEMU process, started and always ended by its PID, and its human monitor.

Every way out ends QEMU:

- `stop()` kills it by PID (SIGKILL: nothing in the guest needs a clean shutdown) and reaps
  it; sessions call it from `close()`, from fault handling, and in `finally` blocks;
- an `atexit` hook stops every QEMU this process still has (a normal end, an xdist worker
  that returns, Ctrl-C once Python unwinds);
- QEMU is started through `setpriv --pdeathsig KILL`, so the kernel kills it when the process
  that started it dies without unwinding (SIGKILL, a crash, a harness that kills a hung child).

QEMU runs in its own session (`start_new_session`), so a Ctrl-C on the terminal reaches the
harness, which then ends QEMU itself, and never leaves a QEMU that caught half a signal.
"""

from __future__ import annotations

import atexit
import contextlib
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

_LIVE: set[Qemu] = set()
LOG = "qemu.log"
PROMPT = b"(qemu) "


class QemuError(Exception):
    """QEMU could not be started, exited early, or its monitor failed; the message says why."""


class Qemu:
    """A QEMU process running in folder `cwd` (its stdout and stderr go to `cwd/qemu.log`)."""

    def __init__(self, argv: Sequence[str], cwd: Path) -> None:
        self.argv = list(argv)
        self.cwd = cwd
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start QEMU; QemuError when the program cannot run."""
        command = ["setpriv", "--pdeathsig", "KILL", "--", *self.argv]
        log = (self.cwd / LOG).open("wb")
        try:
            self._process = subprocess.Popen(
                command,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as error:
            raise QemuError(f"cannot start {self.argv[0]}: {error}") from None
        finally:
            log.close()
        _LIVE.add(self)

    @property
    def pid(self) -> int | None:
        """QEMU's process id while it runs."""
        return None if self._process is None else self._process.pid

    def alive(self) -> bool:
        """Whether QEMU is still running."""
        return self._process is not None and self._process.poll() is None

    def exit_status(self) -> int | None:
        """QEMU's exit status once it ended (negative: killed by that signal)."""
        return None if self._process is None else self._process.poll()

    def wait_exit(self, timeout: float) -> int | None:
        """QEMU's exit status once it ends within `timeout` seconds, else None (it runs on)."""
        if self._process is None:
            return None
        try:
            return self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        """Kill QEMU by its PID and reap it; safe to call again."""
        process, self._process = self._process, None
        _LIVE.discard(self)
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        process.wait()

    def log_tail(self, lines: int = 20) -> str:
        """The last lines QEMU wrote to its stdout and stderr."""
        try:
            text = (self.cwd / LOG).read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


@atexit.register
def stop_all() -> None:
    """End every QEMU this process started and has not stopped yet."""
    for qemu in list(_LIVE):
        qemu.stop()


def live() -> list[int]:
    """The PIDs of the QEMU processes this process has running (for tests and reports)."""
    return [pid for q in _LIVE if (pid := q.pid) is not None]


class Monitor:
    """QEMU's human monitor (HMP) on a unix socket: one command at a time, text back."""

    def __init__(self, path: Path, timeout: float = 30.0) -> None:
        self.path = path
        self.timeout = timeout
        self._sock: socket.socket | None = None

    def connect(self, deadline: float) -> None:
        """Connect (retrying until QEMU created the socket) and read the greeting."""
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(str(self.path))
                break
            except (FileNotFoundError, ConnectionRefusedError):
                sock.close()
                if time.monotonic() > deadline:
                    raise QemuError(f"QEMU created no monitor socket at {self.path}") from None
                time.sleep(0.01)
        self._sock = sock
        self._read_to_prompt()

    def _read_to_prompt(self) -> str:
        assert self._sock is not None
        self._sock.settimeout(self.timeout)
        data = b""
        while not data.endswith(PROMPT):
            try:
                chunk = self._sock.recv(65536)
            except TimeoutError:
                raise QemuError("the QEMU monitor did not answer") from None
            if not chunk:
                raise QemuError("the QEMU monitor closed")
            data += chunk
        return data[: -len(PROMPT)].decode("utf-8", "replace").replace("\r", "")

    def command(self, line: str) -> str:
        """Run one monitor command; what it printed (without the echo and the prompt)."""
        if self._sock is None:
            raise QemuError("not connected to the QEMU monitor")
        self._sock.sendall(line.encode() + b"\n")
        text = self._read_to_prompt()
        # the monitor echoes the command line (with terminal escapes) before its output
        return text.split("\n", 1)[1] if "\n" in text else ""

    def close(self) -> None:
        """Close the monitor connection."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def qemu_version(program: str = "qemu-system-x86_64") -> str:
    """`7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)`: what `QEMU --version` says it is."""
    try:
        result = subprocess.run(
            [program, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise QemuError(f"cannot run {program} --version: {error}") from None
    first = result.stdout.splitlines()[0] if result.stdout else ""
    prefix = "QEMU emulator version "
    if result.returncode != 0 or not first.startswith(prefix):
        raise QemuError(f"{program} --version said {first or result.stderr.strip()!r}")
    return first[len(prefix) :].strip()
