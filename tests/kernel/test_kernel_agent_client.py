"""The host's end of the agent protocol (`harness.kernel.agent`), against a scripted peer."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.kernel.agent import Agent, AgentFailed, AgentGone, AgentHung, encode, parse_answer

Peer = Callable[[socket.socket], None]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[Peer], Agent]]:
    """Start a peer on a unix socket (as QEMU's chardev is) and connect an Agent to it."""
    threads: list[threading.Thread] = []
    agents: list[Agent] = []

    def start(peer: Peer) -> Agent:
        path = tmp_path / f"agent{len(threads)}.sock"
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(str(path))
        server.listen(1)

        def run() -> None:
            connection, _ = server.accept()
            with connection:
                peer(connection)
            server.close()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        threads.append(thread)
        agent = Agent(path, watchdog=1.0)
        agent.connect(time.monotonic() + 5)
        agents.append(agent)
        return agent

    yield start
    for agent in agents:
        agent.close()
    for thread in threads:
        thread.join(timeout=5)


def _lines(connection: socket.socket) -> Iterator[str]:
    buffer = b""
    while True:
        while b"\n" not in buffer:
            chunk = connection.recv(4096)
            if not chunk:
                return
            buffer += chunk
        line, _, buffer = buffer.partition(b"\n")
        yield line.decode()


def test_call_sends_hex_arguments_and_returns_the_values(serve: Callable[[Peer], Agent]) -> None:
    seen: list[str] = []

    def peer(connection: socket.socket) -> None:
        for line in _lines(connection):
            seen.append(line)
            ident = line.split()[0]
            connection.sendall(f"{ident} ok 1000 ff\n".encode())

    agent = serve(peer)
    assert agent.call("map", 5, 0x100000, "0000:00:01.0") == ["1000", "ff"]
    assert seen == ["1 map 5 100000 0000:00:01.0"]


def test_an_err_answer_is_agent_failed_with_the_errno(serve: Callable[[Peer], Agent]) -> None:
    def peer(connection: socket.socket) -> None:
        for line in _lines(connection):
            connection.sendall(f"{line.split()[0]} err 17 map\n".encode())

    with pytest.raises(AgentFailed) as caught:
        serve(peer).call("map", 1, 2, 3, 4, 3)
    assert (caught.value.errno, caught.value.what) == (17, "map")


def test_answers_to_older_requests_and_noise_are_skipped(serve: Callable[[Peer], Agent]) -> None:
    def peer(connection: socket.socket) -> None:
        for line in _lines(connection):
            ident = int(line.split()[0])
            connection.sendall(
                f"ping\r\n{ident - 1} ok stale\ngarbage\n{ident} ok fresh\n".encode()
            )

    agent = serve(peer)
    assert agent.call("ping") == ["fresh"]
    assert agent.call("ping") == ["fresh"]


def test_no_answer_within_the_watchdog_is_a_hang(serve: Callable[[Peer], Agent]) -> None:
    def peer(connection: socket.socket) -> None:
        for _ in _lines(connection):
            pass  # a hung guest: reads, never answers

    began = time.monotonic()
    with pytest.raises(AgentHung, match=r"did not answer map within 0\.3 s"):
        serve(peer).call("map", timeout=0.3)
    assert time.monotonic() - began < 2


def test_a_watchdog_of_centuries_waits_without_overflowing(
    serve: Callable[[Peer], Agent],
) -> None:
    # -D backend.timeout=1e12 is a valid (if odd) choice; the socket's own timeout cannot hold it.
    def peer(connection: socket.socket) -> None:
        for line in _lines(connection):
            time.sleep(0.05)  # the answer comes while the call waits
            connection.sendall(f"{line.split()[0]} ok 1\n".encode())

    assert serve(peer).call("ping", timeout=1e12) == ["1"]


def test_a_closed_socket_is_a_gone_agent(serve: Callable[[Peer], Agent]) -> None:
    def peer(connection: socket.socket) -> None:
        next(_lines(connection))  # QEMU exits after the request arrived

    with pytest.raises(AgentGone, match="closed"):
        serve(peer).call("reset")


def test_connect_gives_up_when_no_socket_appears(tmp_path: Path) -> None:
    with pytest.raises(AgentGone, match="no agent socket"):
        Agent(tmp_path / "absent.sock", 1.0).connect(time.monotonic() + 0.1)


def test_encode_refuses_what_would_not_travel_as_one_word() -> None:
    assert encode(255) == "ff" and encode("0000:00:01.0") == "0000:00:01.0"
    for bad in (-1, "two words", ""):
        with pytest.raises(ValueError):
            encode(bad)


def test_parse_answer_reads_ok_err_and_other_ids() -> None:
    assert parse_answer("7 ok 1 2", 7) == ["1", "2"]
    assert parse_answer("7 err 22 map", 7) == (22, "map")
    assert parse_answer("6 ok 1", 7) is None
    assert parse_answer("7 maybe", 7) is None
