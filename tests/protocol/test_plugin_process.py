"""`-D backend=exec:COMMAND` under pytest: every fault of the protocol page, as the user sees it.

Each fault test runs two scenarios on the faulty adapter (tests/protocol/adapters/faulty.py),
which misbehaves once: the first scenario gets the page's exact sentence (and the stderr tail),
and the second passes on a fresh child. Every test checks that no child is left running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from processes import faulty_command, serve_command, started_pids, wait_gone, write_files

SCENARIO = """\
container c0
map c0 iova=0x100000 vaddr=0x7f0000000000 size=4K
assert c0.mappings == 1 and c0.mapped == 4K
"""
TWO = {"scenarios/dma/a_first.vfio": SCENARIO, "scenarios/dma/b_second.vfio": SCENARIO}


@pytest.fixture
def folder(pytester: pytest.Pytester) -> Path:
    """Two DMA scenarios in pytester's folder (with an ini file, so it is the rootdir)."""
    return write_files(pytester.path, TWO)


def run_faulty(
    pytester: pytest.Pytester, folder: Path, action: str, method: str, *args: str
) -> pytest.RunResult:
    command = faulty_command(action, method, folder)
    result = pytester.runpytest("-p", "no:randomly", "-D", f"backend=exec:{command}", *args)
    assert wait_gone(started_pids(folder)) == []
    return result


def test_a_suite_over_python_m_harness_serve_passes_and_shows_the_child(
    pytester: pytest.Pytester, folder: Path
) -> None:
    result = pytester.runpytest("-D", f"backend=exec:{serve_command()}")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["vfio: projects in force: vfio, model; *"])


def test_crash_mid_scenario_fails_with_status_and_non_ascii_stderr(
    pytester: pytest.Pytester, folder: Path
) -> None:
    result = run_faulty(pytester, folder, "crash", "map")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "scenarios/dma/a_first.vfio:2: backend fault — backend model exited with status 3 "
            "during map at scenarios/dma/a_first.vfio:2",
            "*❱ 2 map c0 iova=0x100000 vaddr=0x7f0000000000 size=4K",
            "*adapter: the VMM died — état perdu",
        ]
    )
    assert "Traceback" not in result.stdout.str()


@pytest.mark.parametrize(
    ("action", "said"),
    [
        ("garbage", "not JSON (Expecting value at column 1): this is not json"),
        ("wrong-id", 'a response with id 5 to request 4: {"jsonrpc":"2.0","id":5,"result":null}'),
        ("wrong-type", 'the result is not null: {"jsonrpc":"2.0","id":4,"result":"4096"}'),
    ],
)
def test_a_protocol_violation_fails_quoting_the_line(
    pytester: pytest.Pytester, folder: Path, action: str, said: str
) -> None:
    result = run_faulty(pytester, folder, action, "map")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "scenarios/dma/a_first.vfio:2: backend fault — backend model broke the protocol at "
            f"scenarios/dma/a_first.vfio:2 (map): {said.replace('[', '[[]')}"
        ]
    )


def test_a_hang_is_killed_after_backend_timeout(pytester: pytest.Pytester, folder: Path) -> None:
    # Long enough for a loaded machine to start the child, which must answer initialize in it.
    result = run_faulty(pytester, folder, "hang", "mapped", "-D", "backend.timeout=2.5")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "scenarios/dma/a_first.vfio:3: backend fault — backend model did not answer mapped "
            "at scenarios/dma/a_first.vfio:3 within 2.5 s",
            "*adapter: waiting forever",
        ]
    )


def test_a_method_the_child_lacks_skips_naming_method_and_line(
    pytester: pytest.Pytester, folder: Path
) -> None:
    (folder / "scenarios/cfg.vfio").write_text(
        "container c0\ndevice gpu 0000:01:00.0 {\n    bar 0 mem32 4K\n}\n"
    )
    result = run_faulty(pytester, folder, "few-methods", "initialize", "-rs")
    result.assert_outcomes(passed=2, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "SKIPPED [[]1] scenarios/cfg.vfio:1: backend model does not implement device "
            "(scenarios/cfg.vfio:2)"
        ]
    )


def test_backend_unsupported_fail_fails_the_scenario_instead(
    pytester: pytest.Pytester, folder: Path
) -> None:
    result = run_faulty(pytester, folder, "unsupported", "map", "-D", "backend.unsupported=fail")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*backend model cannot run map at scenarios/dma/a_first.vfio:2: no IOMMU group is free"]
    )


def test_a_failed_initialize_fails_one_scenario_then_a_fresh_child_runs(
    pytester: pytest.Pytester, folder: Path
) -> None:
    # The child started at configure (for the project name) fails; the first scenario reports
    # it, and the next child behaves.
    command = faulty_command("bad-protocol", "initialize", folder)
    result = pytester.runpytest("-p", "no:randomly", "-D", f"backend=exec:{command}")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            f"scenarios/dma/a_first.vfio: backend fault — backend exec:{command} failed "
            'initialize: "protocol" is "vfio-harness/0", not "vfio-harness/1": '
            '{"jsonrpc":"2.0","id":1,"result":{"name":"faulty",*'
        ]
    )
    # No child had told its project name when the header was written: none is listed.
    result.stdout.fnmatch_lines(["vfio: projects in force: vfio; scenario roots: *"])
    assert wait_gone(started_pids(folder)) == []


def test_three_failed_initializes_stop_the_run(pytester: pytest.Pytester, folder: Path) -> None:
    for name in ("c_third", "d_fourth"):
        (folder / f"scenarios/dma/{name}.vfio").write_text(SCENARIO)
    command = faulty_command("no-methods", "initialize", folder, once=False)
    result = pytester.runpytest("-p", "no:randomly", "-D", f"backend=exec:{command}")
    result.assert_outcomes(failed=3)  # the configure child, then one per scenario: stop
    result.stdout.fnmatch_lines(
        [
            "*(3 children in a row failed initialize: no further child is started)",
            "*Interrupted: backend exec:*",
        ]
    )
    assert len(started_pids(folder)) == 3
    assert wait_gone(started_pids(folder)) == []


def test_a_program_that_cannot_start_is_a_usage_error(
    pytester: pytest.Pytester, folder: Path
) -> None:
    result = pytester.runpytest("-D", "backend=exec:./no-such-adapter --fast")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: -D backend='exec:./no-such-adapter --fast': cannot start "
            "'./no-such-adapter': no executable file of that name in *",
            "hint: the command runs in *",
        ]
    )


@pytest.mark.parametrize(
    ("define", "message"),
    [
        ("backend=exec:", "ERROR: -D backend='exec:': an empty command"),
        ("backend=exec:'unclosed", "*the command does not split like a shell line*"),
        ("backend.timeout=soon", "ERROR: -D backend.timeout='soon': not a number"),
        ("backend.timeout=0", "ERROR: -D backend.timeout='0': must be a number above 0"),
        ("backend.unsupported=ignore", "*expected one of skip, fail"),
        ("backend.log=", "ERROR: -D backend.log='': an empty path"),
        ("backend.timout=5", "*unknown key 'backend.timout'*"),
    ],
)
def test_bad_backend_keys_are_usage_errors_naming_the_key(
    pytester: pytest.Pytester, folder: Path, define: str, message: str
) -> None:
    result = pytester.runpytest("-D", define)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_backend_log_holds_the_transcript(pytester: pytest.Pytester, folder: Path) -> None:
    result = run_faulty(pytester, folder, "crash", "map", "-D", "backend.log=logs/backend.log")
    result.assert_outcomes(passed=1, failed=1)
    lines = (folder / "logs/backend.log").read_text(encoding="utf-8").splitlines()
    assert [line[:2] for line in lines[:3]] == ["# ", "> ", "< "]
    assert "! adapter: the VMM died — état perdu" in lines
    assert sum(line.startswith("# started") for line in lines) == 2  # the fresh child too


def test_xdist_workers_each_have_a_child_and_give_the_serial_outcomes(
    pytester: pytest.Pytester, folder: Path
) -> None:
    for n in range(6):
        (folder / f"scenarios/dma/more_{n}.vfio").write_text(SCENARIO)
    (folder / "scenarios/dma/fails.vfio").write_text("container c0\nassert c0.mappings == 1\n")
    args = ("-D", f"backend=exec:{serve_command()}", "-D", "backend.log=backend.log")
    serial = pytester.runpytest(*args)
    serial.assert_outcomes(passed=8, failed=1)
    parallel = pytester.runpytest("-n", "2", *args)
    parallel.assert_outcomes(passed=8, failed=1)
    logs = sorted(p.name for p in folder.glob("backend*.log"))
    assert logs == ["backend.gw0.log", "backend.gw1.log", "backend.log"]


def test_x_stops_at_the_first_failure_and_leaves_no_child(
    pytester: pytest.Pytester, folder: Path
) -> None:
    result = run_faulty(pytester, folder, "crash", "map", "-x")
    result.assert_outcomes(failed=1)


def _pytest_process(folder: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:randomly", "-p", "no:cacheprovider", *args],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )


def _wait_for_pids(folder: Path, count: int) -> list[int]:
    deadline = time.monotonic() + 60
    while len(pids := started_pids(folder)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return pids


@pytest.mark.parametrize(
    ("how", "workers"),
    [(signal.SIGINT, ()), (signal.SIGTERM, ()), (signal.SIGINT, ("-n", "2"))],
    ids=["ctrl-c", "sigterm", "ctrl-c-xdist"],
)
def test_an_interrupted_run_leaves_no_child(
    folder: Path, how: signal.Signals, workers: tuple[str, ...]
) -> None:
    command = faulty_command("hang", "map", folder, once=False)
    run = _pytest_process(folder, *workers, "-D", f"backend=exec:{command}")
    try:
        expected = 3 if workers else 1  # under xdist: the controller's child and one per worker
        pids = _wait_for_pids(folder, expected)
        time.sleep(0.5)  # let the scenarios reach the hanging map
        if how == signal.SIGINT:  # Ctrl-C reaches the terminal's whole foreground group
            os.killpg(run.pid, how)
        else:
            os.kill(run.pid, how)
        output, _ = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert len(pids) >= expected, output
    assert run.returncode != 0
    assert wait_gone(started_pids(folder)) == [], output


def test_the_errno_a_child_reports_is_shown_with_the_output(
    pytester: pytest.Pytester, folder: Path
) -> None:
    (folder / "scenarios/dma/b_second.vfio").write_text(
        SCENARIO + "map c0 iova=0x100000 vaddr=0x7f0000000000 size=4K\n"
    )
    command = faulty_command("errno", "map", folder, once=False)
    result = pytester.runpytest("-p", "no:randomly", "-D", f"backend=exec:{command}")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["scenarios/dma/b_second.vfio:4: dma.map.failed:overlap — *(errno 17 EEXIST)*"]
    )
