"""The client (`harness/protocol/client.py`): a session over a child, and every fault of the page.

Each fault test runs the faulty adapter (tests/protocol/adapters/faulty.py), which misbehaves
once on one method; it checks the exact sentence the user sees, that the broken child is gone,
and that the next scenario runs on a fresh child.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from processes import faulty_command, serve_command, started_pids, wait_gone

from harness.backend import Backend, BackendFault, CoreDefaults, Unsupported
from harness.model import ModelBackend
from harness.protocol.client import ProcessSession
from harness.vfio.catalog import VfioError

WHERE = "scenarios/x.vfio:12"


def open_session(
    command: str, folder: Path, *, timeout: float = 30.0, log: Path | None = None
) -> ProcessSession:
    return ProcessSession(command, CoreDefaults(), cwd=folder, timeout=timeout, log=log)


def map_one(backend: Backend, iova: int = 0x100000) -> None:
    backend.container("c0")
    backend.map("c0", iova, 0x7F0000000000, 0x1000)


def fault_of(call: object) -> BackendFault:
    with pytest.raises(BackendFault) as caught:
        call()  # type: ignore[operator]
    return caught.value


def test_a_session_runs_calls_like_the_model_in_process(tmp_path: Path) -> None:
    with open_session(serve_command(), tmp_path) as session:
        assert session.name == "model" and "map" in session.methods
        remote, local = session.fresh(), ModelBackend()
        for backend in (remote, local):
            map_one(backend)
            backend.map("c0", 0x200000, 0x7F0000100000, 0x2000, "r")
        assert remote.unmap("c0", 0x0, 0x300000) == local.unmap("c0", 0x0, 0x300000)
        assert remote.mapped_at("c0", 0x100000) is False
        with pytest.raises(VfioError) as caught:
            remote.unmap("c0", 0x1000, 0)
        assert caught.value.id == "dma.unmap.failed:size.zero"
        pid = session.pid
        assert pid is not None
    assert wait_gone([pid]) == []


def test_reset_gives_each_scenario_a_fresh_state_on_the_same_child(tmp_path: Path) -> None:
    with open_session(serve_command(), tmp_path) as session:
        first = session.fresh()
        map_one(first)
        pid = session.pid
        second = session.fresh()
        map_one(second)  # c0 is new again: no duplicate, no overlap
        assert second.mappings("c0") == 1 and session.pid == pid


def test_a_backend_of_an_earlier_scenario_cannot_call(tmp_path: Path) -> None:
    with open_session(serve_command(), tmp_path) as session:
        old = session.fresh()
        session.fresh()
        with pytest.raises(RuntimeError, match="earlier scenario"):
            old.mappings("c0")


def test_the_transcript_holds_requests_answers_and_stderr(tmp_path: Path) -> None:
    log = tmp_path / "backend.log"
    command = faulty_command("crash", "map", tmp_path)
    with open_session(command, tmp_path, log=log) as session:
        fault_of(lambda: map_one(session.fresh()))
    lines = log.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# started (pid ")
    assert lines[1].startswith('> {"jsonrpc":"2.0","id":1,"method":"initialize"')
    assert lines[2].startswith('< {"jsonrpc":"2.0","id":1,"result":{"name":"model"')
    assert '> {"jsonrpc":"2.0","id":4,"method":"map","params":{"container":"c0",' in lines[7]
    assert "! adapter: the VMM died — état perdu" in lines
    assert "# ended: status 3" in lines


def test_crash_mid_scenario_fails_with_status_and_stderr_tail(tmp_path: Path) -> None:
    with open_session(faulty_command("crash", "map", tmp_path), tmp_path) as session:
        fault = fault_of(lambda: map_one(session.fresh()))
        assert fault.at(WHERE) == f"backend model exited with status 3 during map at {WHERE}"
        assert fault.detail == "adapter: the VMM died — état perdu"
        assert not fault.fatal
        map_one(session.fresh())  # the next scenario, on a fresh child
    first, second = started_pids(tmp_path)
    assert first != second and wait_gone([first, second]) == []


def test_killed_by_a_signal_shows_the_signal(tmp_path: Path) -> None:
    with open_session(faulty_command("signal", "mapped", tmp_path), tmp_path) as session:
        backend = session.fresh()
        map_one(backend)
        fault = fault_of(lambda: backend.mapped("c0"))
        assert fault.at(WHERE) == (
            f"backend model exited with status -9 (SIGKILL) during mapped at {WHERE}"
        )
        map_one(session.fresh())


def test_closing_stdout_is_a_fault(tmp_path: Path) -> None:
    with open_session(faulty_command("close-stdout", "map", tmp_path), tmp_path) as session:
        fault = fault_of(lambda: map_one(session.fresh()))
        assert fault.at(WHERE) == f"backend model closed its standard output during map at {WHERE}"
        map_one(session.fresh())
    assert wait_gone(started_pids(tmp_path)) == []


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        ("garbage", "not JSON (Expecting value at column 1): this is not json"),
        (
            "wrong-id",
            'a response with id 5 to request 4: {"jsonrpc":"2.0","id":5,"result":null}',
        ),
        (
            "wrong-type",
            'the result is not null: {"jsonrpc":"2.0","id":4,"result":"4096"}',
        ),
    ],
)
def test_protocol_violation_quotes_the_line(tmp_path: Path, action: str, reason: str) -> None:
    with open_session(faulty_command(action, "map", tmp_path), tmp_path) as session:
        fault = fault_of(lambda: map_one(session.fresh()))
        assert fault.at(WHERE) == f"backend model broke the protocol at {WHERE} (map): {reason}"
        map_one(session.fresh())
    assert wait_gone(started_pids(tmp_path)) == []


def test_a_quoted_line_is_cut_at_200_characters(tmp_path: Path) -> None:
    with open_session(faulty_command("wrong-id", "device", tmp_path), tmp_path) as session:
        backend = session.fresh()
        # The model's device.invalid:bdf message names the bad BDF: a long line.
        fault = fault_of(lambda: backend.device("gpu", "x" * 300))
    quoted = fault.message.partition("request 3: ")[2]
    assert quoted.startswith('{"jsonrpc":"2.0","id":4,"error":{"code":1,"message":')
    assert len(quoted) == 201 and quoted.endswith("x…")


def test_hang_is_killed_after_the_timeout(tmp_path: Path) -> None:
    command = faulty_command("hang", "map", tmp_path)
    with open_session(command, tmp_path, timeout=2.5) as session:
        fault = fault_of(lambda: map_one(session.fresh()))
        assert fault.at(WHERE) == f"backend model did not answer map at {WHERE} within 2.5 s"
        assert fault.detail == "adapter: waiting forever"
        hung = started_pids(tmp_path)[0]
        assert wait_gone([hung], timeout=0) == []  # killed before the fault was raised
        map_one(session.fresh())


def test_a_method_missing_from_the_list_is_unsupported_and_not_sent(tmp_path: Path) -> None:
    log = tmp_path / "backend.log"
    command = faulty_command("few-methods", "initialize", tmp_path)
    with open_session(command, tmp_path, log=log) as session:
        assert session.methods == {"container", "map", "unmap", "mappings", "mapped"}
        backend = session.fresh()
        map_one(backend)
        with pytest.raises(Unsupported) as caught:
            backend.cfg_read("gpu", 0x10)
        assert caught.value.at("model", "cfg_read", WHERE) == (
            f"backend model does not implement cfg_read ({WHERE})"
        )
        assert backend.mappings("c0") == 1  # the child stays in service
    assert '"method":"cfg_read"' not in log.read_text()


def test_method_not_found_makes_the_method_unsupported_for_the_run(tmp_path: Path) -> None:
    log = tmp_path / "backend.log"
    command = faulty_command("not-found", "mapped", tmp_path)
    with open_session(command, tmp_path, log=log) as session:
        backend = session.fresh()
        map_one(backend)
        with pytest.raises(Unsupported) as caught:
            backend.mapped("c0")
        assert caught.value.missing and "mapped" not in session.methods
        assert backend.mappings("c0") == 1  # the child stays in service
        with pytest.raises(Unsupported):
            session.fresh().mapped("c0")  # not sent again
    assert log.read_text().count('"method":"mapped"') == 1
    assert len(started_pids(tmp_path)) == 1


def test_code_2_is_unsupported_with_the_childs_reason(tmp_path: Path) -> None:
    with open_session(faulty_command("unsupported", "map", tmp_path), tmp_path) as session:
        backend = session.fresh()
        with pytest.raises(Unsupported) as caught:
            map_one(backend)
        assert caught.value.at("model", "map", WHERE) == (
            f"backend model cannot run map at {WHERE}: no IOMMU group is free"
        )
        map_one(session.fresh())
    assert len(started_pids(tmp_path)) == 1  # the same child throughout


def test_a_declared_failure_carries_id_and_errno(tmp_path: Path) -> None:
    with open_session(faulty_command("errno", "map", tmp_path, once=False), tmp_path) as session:
        backend = session.fresh()
        map_one(backend)
        with pytest.raises(VfioError) as caught:
            backend.map("c0", 0x100000, 0x7F0000000000, 0x1000)
    assert caught.value.id == "dma.map.failed:overlap"
    assert caught.value.errno == 17  # type: ignore[attr-defined]


def test_the_stderr_tail_keeps_the_last_50_lines(tmp_path: Path) -> None:
    with open_session(faulty_command("chatty", "map", tmp_path), tmp_path) as session:
        fault = fault_of(lambda: map_one(session.fresh()))
    assert fault.detail.splitlines() == [f"line {n}" for n in range(30, 80)]


def test_a_failed_initialize_fails_the_next_scenario_then_a_new_child_is_tried(
    tmp_path: Path,
) -> None:
    command = faulty_command("bad-protocol", "initialize", tmp_path)
    with open_session(command, tmp_path) as session:
        assert session.name == ""  # the plugin asks first: the child fails initialize
        fault = fault_of(session.fresh)
        assert fault.message == (
            f"backend exec:{command} failed initialize: "
            '"protocol" is "vfio-harness/0", not "vfio-harness/1": '
            '{"jsonrpc":"2.0","id":1,"result":{"name":"faulty","protocol":"vfio-harness/0",'
            '"methods":[]}}'
        )
        assert not fault.fatal
        map_one(session.fresh())  # the second child behaves
        assert session.name == "model"
    assert wait_gone(started_pids(tmp_path)) == []


def test_an_initialize_answer_with_a_member_the_page_does_not_name_is_accepted(
    tmp_path: Path,
) -> None:
    command = faulty_command("extra-member", "initialize", tmp_path, once=False)
    with open_session(command, tmp_path) as session:
        assert session.name == "model"
        assert session.info == {"unknown initialize members (ignored)": "version"}
        map_one(session.fresh())
    assert wait_gone(started_pids(tmp_path)) == []


def test_three_failed_initializes_in_a_row_stop_starting_children(tmp_path: Path) -> None:
    command = faulty_command("no-methods", "initialize", tmp_path, once=False)
    with open_session(command, tmp_path) as session:
        first, second, third = (fault_of(session.fresh) for _ in range(3))
        assert (
            first.message
            == second.message
            == (
                f"backend exec:{command} failed initialize: "
                '"protocol" is missing or not a string: '
                '{"jsonrpc":"2.0","id":1,"result":{"name":"faulty"}}'
            )
        )
        assert not first.fatal and not second.fatal and third.fatal
        assert third.message == (
            f"{first.message} (3 children in a row failed initialize: no further child is started)"
        )
        assert fault_of(session.fresh) is third  # at once, without a fourth child
    assert len(started_pids(tmp_path)) == 3
    assert wait_gone(started_pids(tmp_path)) == []


def test_a_command_that_cannot_start_fails_each_scenario(tmp_path: Path) -> None:
    with open_session("./no-such-adapter --flag", tmp_path) as session:
        fault = fault_of(session.fresh)
    assert fault.message == (
        "backend exec:./no-such-adapter --flag: cannot start ./no-such-adapter: "
        "No such file or directory"
    )


def test_the_child_runs_in_the_given_folder(tmp_path: Path) -> None:
    (tmp_path / "adapter.py").write_text(
        "import runpy, sys\nsys.argv = ['harness', 'serve']\n"
        "runpy.run_module('harness', run_name='__main__')\n"
    )
    with open_session(f"{sys.executable} adapter.py", tmp_path) as session:
        assert session.name == "model"


def test_closing_ends_grandchildren_in_the_childs_group(tmp_path: Path) -> None:
    with open_session(faulty_command("grandchild", "map", tmp_path), tmp_path) as session:
        map_one(session.fresh())
        child, grandchild = started_pids(tmp_path)
    assert wait_gone([child, grandchild]) == []


def test_close_is_idempotent_and_a_closed_session_runs_nothing(tmp_path: Path) -> None:
    session = open_session(serve_command(), tmp_path)
    session.fresh()
    session.close()
    session.close()
    with pytest.raises(RuntimeError, match="closed"):
        session.fresh()


def test_ctrl_c_during_a_request_kills_the_child_at_once(tmp_path: Path) -> None:
    command = faulty_command("hang", "map", tmp_path)
    with open_session(command, tmp_path) as session:
        backend = session.fresh()
        timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            map_one(backend)
        assert session.pid is None
    assert wait_gone(started_pids(tmp_path), timeout=0) == []


PARENT = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from harness.backend import CoreDefaults
    from harness.protocol.client import ProcessSession
    session = ProcessSession(sys.argv[1], CoreDefaults(), cwd=Path.cwd(), timeout=30)
    session.fresh()
    print(session.pid, flush=True)
    how = sys.argv[2]
    if how == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif how == "sigterm":
        os.kill(os.getpid(), signal.SIGTERM)
    elif how == "exit":
        sys.exit(0)  # without closing the session: atexit ends the child
    """
)


@pytest.mark.parametrize(
    ("command", "how", "returncode"),
    [
        ("serve", "sigkill", -signal.SIGKILL),  # the child reads end of file and exits
        ("hang", "sigterm", -signal.SIGTERM),  # the handler kills even a hung child
        ("hang", "exit", 0),  # atexit kills it
    ],
)
def test_no_child_outlives_its_parent(
    tmp_path: Path, command: str, how: str, returncode: int
) -> None:
    adapter = (
        serve_command() if command == "serve" else faulty_command("hang", "shutdown", tmp_path)
    )
    parent = subprocess.run(
        [sys.executable, "-c", PARENT, adapter, how],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert parent.returncode == returncode, parent.stderr
    child = int(parent.stdout.split()[0])
    assert wait_gone([child]) == []
