"""The host's end of the guest agent's line protocol (see `guest/agent.c`).

`ID OP ARG...` goes out, `ID ok VALUE...` or `ID err ERRNO WHAT` comes back. Numbers travel
in hex. Every request has a deadline (the watchdog): an agent that does not answer in time is
a hung guest (`AgentHung`), a closed socket a dead one (`AgentGone`). Answers to an earlier,
abandoned request (their id is not the current one) and noise (a tty echo while the guest
boots) are skipped.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

from harness.protocol.child import MAX_WAIT


class AgentFailed(Exception):
    """The agent ran the request and the kernel failed it with `errno`."""

    def __init__(self, op: str, errno: int, what: str) -> None:
        super().__init__(f"{op}: errno {errno} ({what})")
        self.op = op
        self.errno = errno
        self.what = what


class AgentHung(Exception):
    """The agent did not answer within the watchdog's time."""


class AgentGone(Exception):
    """The agent's socket closed (QEMU exited, or the guest died)."""


def encode(value: int | str) -> str:
    """One argument on the wire: integers in hex, names as they are (no spaces)."""
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"negative argument {value}")
        return f"{value:x}"
    if not value or any(c.isspace() for c in value):
        raise ValueError(f"argument {value!r} would not travel as one word")
    return value


def parse_answer(line: str, expected_id: int) -> list[str] | tuple[int, str] | None:
    """The values of an `ok` answer, `(errno, what)` of an `err` one, or None for another id."""
    words = line.split()
    if len(words) < 2 or words[0] != str(expected_id):
        return None
    if words[1] == "ok":
        return words[2:]
    if words[1] == "err" and len(words) >= 3 and words[2].isdigit():
        return int(words[2]), " ".join(words[3:])
    return None


class Agent:
    """A connection to the guest agent through QEMU's unix socket."""

    def __init__(self, path: Path, watchdog: float) -> None:
        self.path = path
        self.watchdog = watchdog
        self._sock: socket.socket | None = None
        self._buffer = b""
        self._next_id = 0

    def connect(self, deadline: float) -> None:
        """Connect to the socket, retrying until QEMU has created it or `deadline` passes."""
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(str(self.path))
            except (FileNotFoundError, ConnectionRefusedError):
                sock.close()
                if time.monotonic() > deadline:
                    raise AgentGone(f"no agent socket at {self.path}") from None
                time.sleep(0.01)
                continue
            self._sock = sock
            return

    def close(self) -> None:
        """Close the connection (the agent keeps running and waits for the next host)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def wait_ready(self, deadline: float, alive: Callable[[], bool] | None = None) -> None:
        """Ping until the agent answers (it is still booting, or just restored) or `deadline`."""
        while True:
            try:
                self.call("ping", timeout=0.2)
                return
            except AgentHung:
                if time.monotonic() > deadline:
                    raise
                if alive is not None and not alive():
                    raise AgentGone("QEMU exited before the agent answered") from None

    def call(self, op: str, *args: int | str, timeout: float | None = None) -> list[str]:
        """Run one request; the answer's values (hex text), or AgentFailed/AgentHung/AgentGone."""
        sock = self._sock
        if sock is None:
            raise AgentGone("not connected to the agent")
        self._next_id += 1
        ident = self._next_id
        line = " ".join([str(ident), op, *(encode(a) for a in args)]) + "\n"
        limit = self.watchdog if timeout is None else timeout
        deadline = time.monotonic() + limit
        try:
            sock.sendall(line.encode())
        except OSError as error:
            raise AgentGone(f"cannot send to the agent: {error}") from None
        while True:
            newline = self._buffer.find(b"\n")
            if newline >= 0:
                raw, self._buffer = self._buffer[:newline], self._buffer[newline + 1 :]
                answer = parse_answer(raw.decode("utf-8", "replace"), ident)
                if answer is None:
                    continue
                if isinstance(answer, tuple):
                    raise AgentFailed(op, *answer)
                return answer
            left = deadline - time.monotonic()
            if left <= 0:
                raise AgentHung(f"the agent did not answer {op} within {limit:g} s")
            sock.settimeout(min(left, MAX_WAIT))  # a timeout of centuries overflows
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError as error:
                raise AgentGone(f"the agent's socket failed: {error}") from None
            if not chunk:
                raise AgentGone("the agent's socket closed")
            self._buffer += chunk
