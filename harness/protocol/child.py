"""One child process of a process backend: start, one line out and one line back, stop.

The child runs in a process group of its own, so that a Ctrl-C in the terminal reaches the
harness alone (which then ends the child itself) and so that ending the group also ends what the
child started (a VMM, a guest). Its standard input is a pipe from this process: when this
process dies in any way, the child reads end of file, which the protocol asks it to take as the
end. Every child alive is also ended by `atexit`, and on SIGTERM (when nobody else handles it)
before the process dies of it.

Waiting uses `poll` on the child's stdout and stderr together: stderr is drained while a request
is outstanding, so a child that writes much to stderr never blocks, and its lines keep their
order against the responses in the transcript. The last 50 lines of stderr are kept for reports.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import os
import select
import signal
import subprocess
import threading
import time
import weakref
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import IO, Protocol

from harness.protocol.wire import STDERR_LINES

_CHUNK = 1 << 16
# The longest single wait: `backend.timeout` may be any number of seconds, and the system
# calls that wait overflow on a timeout of centuries; a longer wait is several of these.
MAX_WAIT = 3600.0


class Log(Protocol):
    """Where the lines of a child's conversation go (`Transcript`, or a benchmark's recorder)."""

    def write(self, prefix: str, text: str) -> None:
        """One line: `prefix` is `> `, `< `, `! ` or `# `."""

    def close(self) -> None:
        """No more lines."""


class Transcript:
    """`backend.log`: lines sent (`> `), received (`< `), the child's stderr (`! `), and `# `
    notes (a child started or ended). Written line by line, so a hung run can be read live."""

    def __init__(self, path: Path) -> None:
        """Start the file afresh (its folder is made if needed); OSError when it cannot be."""
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] | None = self._open("w")

    def _open(self, mode: str) -> IO[str]:
        return self.path.open(mode, encoding="utf-8", errors="replace", buffering=1)

    def write(self, prefix: str, text: str) -> None:
        """One line of the transcript."""
        if self._file is None:
            self._file = self._open("a")
        self._file.write(f"{prefix}{text}\n")

    def close(self) -> None:
        """Close the file (a later line opens it again and appends)."""
        if self._file is not None:
            self._file.close()
            self._file = None


class ChildExited(Exception):
    """The child exited, or closed its stdout, while an answer was awaited."""

    def __init__(self, status: int | None) -> None:
        super().__init__(status)
        self.status = status  # None: stdout closed, the process still running (then killed)


class ChildTimeout(Exception):
    """No answer within the timeout."""


class StartFailed(Exception):
    """The command could not be executed at all (not found, not executable)."""


class Child:
    """A running child process speaking one line per message."""

    def __init__(self, argv: Sequence[str], cwd: Path, transcript: Log | None) -> None:
        self.argv = tuple(argv)
        self.transcript = transcript
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=STDERR_LINES)
        try:
            self.process = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=cwd,
                process_group=0,
                bufsize=0,
            )
        except OSError as error:
            raise StartFailed(f"cannot start {self.argv[0]}: {error.strerror}") from None
        _LIVE.add(self)
        _install_sigterm_handler()
        assert self.process.stdout is not None and self.process.stderr is not None
        self._out = self.process.stdout.fileno()
        self._err = self.process.stderr.fileno()
        os.set_blocking(self._out, False)
        os.set_blocking(self._err, False)
        self._poll = select.poll()
        self._poll.register(self._out, select.POLLIN)
        self._poll.register(self._err, select.POLLIN)
        self._stdout_buffer = b""
        self._stderr_buffer = b""
        self._stderr_open = True
        self.ended = False
        self._note(f"started (pid {self.process.pid}): {' '.join(self.argv)}")

    @property
    def pid(self) -> int:
        """The child's process id (also its process group id)."""
        return self.process.pid

    def _note(self, text: str) -> None:
        if self.transcript is not None:
            self.transcript.write("# ", text)

    def exchange(self, line: bytes, timeout: float) -> bytes:
        """Send one line and return the next line the child writes (with its `\\n`)."""
        if self.transcript is not None:
            self.transcript.write("> ", line.decode().rstrip("\n"))
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(line)
        except (BrokenPipeError, ConnectionResetError):
            raise ChildExited(self._reap(1.0)) from None
        answer = self.read_line(timeout)
        if self.transcript is not None:
            self.transcript.write("< ", quote_all(answer))
        return answer

    def read_line(self, timeout: float) -> bytes:
        """The next line on stdout; `ChildTimeout` or `ChildExited` when none comes."""
        deadline = time.monotonic() + timeout
        while True:
            newline = self._stdout_buffer.find(b"\n")
            if newline >= 0:
                line = self._stdout_buffer[: newline + 1]
                self._stdout_buffer = self._stdout_buffer[newline + 1 :]
                return line
            left = deadline - time.monotonic()
            if left <= 0:
                raise ChildTimeout()
            for fd, _ in self._poll.poll(min(left, MAX_WAIT) * 1000):
                if fd == self._err:
                    self._read_stderr()
                elif not self._read_stdout():
                    if self._stdout_buffer:  # a last line without its newline
                        line, self._stdout_buffer = self._stdout_buffer, b""
                        return line
                    raise ChildExited(self._reap(1.0))

    def _read_stdout(self) -> bool:
        """Read what stdout holds; False at end of file."""
        try:
            chunk = os.read(self._out, _CHUNK)
        except BlockingIOError:
            return True
        if not chunk:
            self._poll.unregister(self._out)
            return False
        self._stdout_buffer += chunk
        return True

    def _read_stderr(self) -> None:
        try:
            chunk = os.read(self._err, _CHUNK)
        except BlockingIOError:
            return
        if not chunk:
            self._stderr_open = False
            self._poll.unregister(self._err)
            if self._stderr_buffer:
                self._stderr_line(self._stderr_buffer)
                self._stderr_buffer = b""
            return
        *lines, self._stderr_buffer = (self._stderr_buffer + chunk).split(b"\n")
        for line in lines:
            self._stderr_line(line)

    def _stderr_line(self, raw: bytes) -> None:
        text = raw.decode("utf-8", "replace").rstrip("\r")
        self.stderr_tail.append(text)
        if self.transcript is not None:
            self.transcript.write("! ", text)

    def drain_stderr(self, timeout: float) -> None:
        """Read stderr until end of file or `timeout` (a grandchild may hold it open)."""
        deadline = time.monotonic() + timeout
        while self._stderr_open and (left := deadline - time.monotonic()) > 0:
            events = select.select([self._err], [], [], left)[0]
            if not events:
                break
            self._read_stderr()

    def _reap(self, grace: float) -> int | None:
        """The exit status, waiting up to `grace`; None if the child is still running."""
        try:
            return self.process.wait(grace)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, grace: float) -> int | None:
        """Close stdin, wait up to `grace` for the exit, then kill the group; the exit status."""
        if self.ended:
            return self.process.returncode
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        status = self._reap(grace)
        return self.kill() if status is None else self._end(status)

    def kill(self) -> int:
        """SIGKILL the child's process group; the exit status."""
        if not self.ended:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
        return self._end(self.process.wait())

    def _end(self, status: int) -> int:
        """After the child exited: end what it left in its group, close the pipes."""
        if self.ended:
            return status
        self.ended = True
        # Anything the child started and left behind in its group goes with it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.drain_stderr(0.5)
        for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        _LIVE.discard(self)
        self._note(f"ended: {describe_status(status)}")
        return status


def quote_all(line: bytes) -> str:
    """A received line for the transcript: decoded leniently, whole, without its newline."""
    return line.decode("utf-8", "replace").rstrip("\r\n")


def describe_status(status: int | None) -> str:
    """`status 3`, or for a signal `status -9 (SIGKILL)`."""
    if status is None:
        return "still running"
    if status < 0:
        with contextlib.suppress(ValueError):
            return f"status {status} ({signal.Signals(-status).name})"
    return f"status {status}"


# Every child not yet ended, for the exit paths that skip a session's close().
_LIVE: weakref.WeakSet[Child] = weakref.WeakSet()
_SIGTERM_INSTALLED = False


def end_all() -> None:
    """Kill every child still running (at exit, on SIGTERM)."""
    for child in list(_LIVE):
        with contextlib.suppress(Exception):
            child.kill()


atexit.register(end_all)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    """End the children, then die of SIGTERM as the process would have."""
    end_all()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _install_sigterm_handler() -> None:
    """Handle SIGTERM when nobody does (only the main thread may set a handler)."""
    global _SIGTERM_INSTALLED
    if _SIGTERM_INSTALLED or threading.current_thread() is not threading.main_thread():
        return
    _SIGTERM_INSTALLED = True
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_sigterm)
