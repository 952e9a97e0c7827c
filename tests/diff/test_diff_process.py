"""Differential testing against process backends (`exec:`), as a VMM's adapter is run.

The planted backends are served by `diff_planted_serve.py` over the protocol: the search must
find each bug, shrink it to at most five statements and write a file that passes on the model
and fails on the planted process at its divergent line. The model served over the protocol
(`python -m harness serve`) must agree with the model everywhere. No child outlives a search.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import pytest

from harness.backend import BackendSession, CoreDefaults
from harness.cli import main
from harness.diff import regression
from harness.diff.compare import Shape
from harness.diff.search import Limits, Search
from harness.diff.verify import check_file
from harness.discovery import Scenario
from harness.options import parse_defines
from harness.runner import run_scenario
from harness.sessions import open_backend

SERVE = Path(__file__).resolve().with_name("diff_planted_serve.py")
PLANTED = {
    "overlap": Shape("map", "dma.map.failed:overlap", "ok"),
    "v1count": Shape("unmap", "ok", "other-value"),
}


def exec_spec(*words: str) -> str:
    return "exec:" + shlex.join([sys.executable, *words])


def open_spec(spec: str) -> BackendSession:
    options = parse_defines([f"backend={spec}"])
    return open_backend(spec, CoreDefaults(), options)


def children_running(marker: str) -> list[int]:
    """PIDs of live processes whose command line holds `marker` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().split()[2]
        except OSError:
            continue
        if marker in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="the leak check reads /proc")
@pytest.mark.parametrize("bug", sorted(PLANTED))
def test_a_planted_process_bug_is_found_shrunk_and_written_as_a_reproducing_file(
    bug: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    spec = exec_spec(str(SERVE), bug)
    reference, target = open_spec("model"), open_spec(spec)
    try:
        limits = Limits(budget=300, classes=1)  # seed 1: program 20 (overlap), 110 (v1count)
        search = Search(reference, target, areas=("dma",), seed=1, limits=limits)
        found = search.run_all()[PLANTED[bug]]
        assert len(found.comparison.program) <= 5
        assert children_running(str(SERVE)), "the target is a process of its own"

        side = regression.Side(spec, target.name)
        provenance = regression.Provenance(
            regression.Side("model", "model"), side, 1, Limits(budget=300), ("dma",)
        )
        path = tmp_path / regression.file_name(found, side)
        rendered = regression.render(found, provenance, str(path))
        regression.write(path, rendered.text)

        scenario = Scenario(path.stem, (path,), tmp_path)
        assert not run_scenario(scenario, session=reference).outcome.failed
        on_target = run_scenario(scenario, session=target)
        assert on_target.outcome.failed
        assert {f.line for f in on_target.outcome.findings} == {rendered.line}
        assert check_file(str(path), rendered.text, reference, target).holds(rendered.line)
    finally:
        target.close()
        reference.close()
    assert children_running(str(SERVE)) == []


def test_the_model_over_the_protocol_agrees_with_the_model() -> None:
    spec = exec_spec("-m", "harness", "serve")
    reference, target = open_spec("model"), open_spec(spec)
    try:
        assert target.name == "model"
        search = Search(reference, target, seed=4, limits=Limits(budget=150))
        assert search.run_all() == {}
        assert search.stats.sequences == 150
        assert search.stats.skipped == 0
        assert search.stats.ops > 150
    finally:
        target.close()
        reference.close()


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="the leak check reads /proc")
def test_the_command_against_a_process_exits_1_and_leaves_no_child(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = exec_spec(str(SERVE), "overlap")
    args = ["diff", "--against", spec, "--areas", "dma", "--seed", "1", "--budget", "60"]
    assert main([*args, "--out", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "class 1: map: dma.map.failed:overlap vs ok" in out
    assert "fails at line" in out
    assert children_running(str(SERVE)) == []


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="the leak check reads /proc")
def test_a_target_that_dies_on_a_call_is_a_class_and_is_restarted_for_the_next_program() -> None:
    spec = exec_spec(str(SERVE), "dies")
    reference, target = open_spec("model"), open_spec(spec)
    try:
        search = Search(reference, target, areas=("dma",), seed=1, limits=Limits(budget=40))
        found = search.run_all()
        shape = Shape("map", "dma.map.failed:overflow", "fault")
        assert shape in found
        assert len(found[shape].comparison.program) <= 3
        assert (
            found[shape]
            .comparison.target[-1]
            .message.startswith("backend planted-dies exited with status 3 during map")
        )
        assert search.stats.sequences == 40  # every program ran: a new child each time
    finally:
        target.close()
        reference.close()
    assert children_running(str(SERVE)) == []


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="the leak check reads /proc")
def test_an_interrupted_search_against_a_process_leaves_no_child(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(self: Search, rng: object) -> object:
        assert children_running(str(SERVE)), "the target runs when the search starts"
        raise KeyboardInterrupt

    monkeypatch.setattr(Search, "_round", interrupted)
    spec = exec_spec(str(SERVE), "overlap")
    assert main(["diff", "--against", spec, "--areas", "dma", "--out", str(tmp_path)]) == 130
    assert "interrupted: writing the classes found so far" in capsys.readouterr().out
    assert children_running(str(SERVE)) == []
