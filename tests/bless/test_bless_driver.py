"""The bless driver (`harness.bless`) on its own: what it reports as the blessed outcome, where
outputs and loop counts move with the edits, and what it never blesses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.backend import BackendSession, CoreDefaults
from harness.bless import BlessOptions, FileState, Mode, bless_scenario, never_blessed
from harness.discovery import Scenario
from harness.runner import Status, run_scenario
from harness.sessions import MODEL, open_backend
from harness.vfio.catalog import ErrorId


@pytest.fixture
def model() -> Iterator[BackendSession]:
    session = open_backend(MODEL, CoreDefaults())
    yield session
    session.close()


def scenario(folder: Path, **files: str) -> Scenario:
    paths = []
    for name, text in files.items():
        path = folder / f"{name}.vfio"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return Scenario(folder.name, tuple(paths), folder)


# An annotation is added above line 3, so the empty loop's body line moves down one: its
# ExpectedOutput must still count as on a line that never ran (it expects nothing), and the
# loop that runs twice must still need its output in both passes.
LOOPS = """container c0
map c0 iova=0 vaddr=0x7f0000000000 size=4K
map c0 iova=0 vaddr=0x7f0000000000 size=4K
for i in 1..0 {
    //:: ExpectedOutput(dma.map.failed:size.zero)
    map c0 iova=0x1000 vaddr=0 size=0
}
for i in 1..2 {
    //:: ExpectedOutput(dma.map.failed:size.zero)
    map c0 iova=0x1000 vaddr=0 size=0
}
"""


def test_outputs_and_loop_counts_follow_their_lines_to_the_blessed_text(
    tmp_path: Path, model: BackendSession
) -> None:
    case = scenario(tmp_path, loops=LOOPS)
    blessed = bless_scenario(case, model, options=BlessOptions(Mode.DRY_RUN))
    assert blessed.before.status() is Status.FAILED
    assert blessed.after.status() is Status.PASSED, blessed.after.outcome.findings
    (planned,) = blessed.files
    assert planned.plan is not None
    moved = planned.plan.line_map()
    assert {(moved(line), count) for (_, line), count in blessed.before.runs.items()} == set(
        (line, count) for (_, line), count in blessed.after.runs.items()
    )
    assert {o.line for o in blessed.after.outputs} == {4, 11}
    # Written, the file runs as the dry run said it would.
    written = bless_scenario(case, model, options=BlessOptions())
    assert written.files[0].state is FileState.CHANGED
    assert run_scenario(case, session=model).status() is Status.PASSED


def test_a_check_and_a_dry_run_write_nothing_and_report_what_would_change(
    tmp_path: Path, model: BackendSession
) -> None:
    case = scenario(tmp_path, loops=LOOPS)
    before = case.files[0].read_bytes(), case.files[0].stat().st_mtime_ns
    for mode in (Mode.DRY_RUN, Mode.CHECK):
        blessed = bless_scenario(case, model, options=BlessOptions(mode))
        assert [f.state for f in blessed.files] == [FileState.WOULD_CHANGE]
        assert blessed.edited
    assert (case.files[0].read_bytes(), case.files[0].stat().st_mtime_ns) == before


def test_an_all_ignored_scenario_is_not_touched(tmp_path: Path, model: BackendSession) -> None:
    text = "//:: IgnoreFile(/model/issue/3/)\ncontainer c0\nmap c0 iova=0 vaddr=0 size=0\n"
    case = scenario(tmp_path, ignored=text)
    blessed = bless_scenario(case, model)
    assert [f.state for f in blessed.files] == [FileState.IGNORED]
    assert blessed.status() is Status.IGNORED
    assert case.files[0].read_text() == text


def test_a_file_that_cannot_be_read_stops_the_bless_of_its_scenario(
    tmp_path: Path, model: BackendSession
) -> None:
    first = tmp_path / "g_file1.vfio"
    first.write_text("container c0\nmap c0 iova=0 vaddr=0 size=0\n")
    missing = tmp_path / "g_file2.vfio"  # never written: it cannot be read
    blessed = bless_scenario(Scenario("g", (first, missing), tmp_path), model)
    assert blessed.stopped == "a file of the scenario cannot be read"
    assert blessed.files == ()
    assert first.read_text() == "container c0\nmap c0 iova=0 vaddr=0 size=0\n"


def test_the_ids_never_blessed_are_the_syntax_error_and_the_checkers_family() -> None:
    refused = {e.value for e in ErrorId if never_blessed(e.value)}
    assert refused == {ErrorId.PARSER_ERROR.value} | {
        e.value for e in ErrorId if e.value.startswith("scenario.error:")
    }
    assert len(refused) == 7
    assert not never_blessed("dma.map.failed:overlap")
    assert not never_blessed("parser.errors")  # the whole id, not a prefix


def test_a_file_the_system_will_not_let_bless_write_is_reported_with_the_reason(
    tmp_path: Path, model: BackendSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = scenario(tmp_path, loops=LOOPS)

    def refuse(source: str, target: str) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("annotations.rewrite.os.replace", refuse)
    blessed = bless_scenario(case, model)
    (file,) = blessed.files
    assert file.state is FileState.NOT_WRITTEN
    assert file.reason == "it could not be written: Permission denied"
    assert blessed.status() is Status.FAILED  # the outcome of the files as they still are
    assert case.files[0].read_text() == LOOPS
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loops.vfio"]  # no temporary left
