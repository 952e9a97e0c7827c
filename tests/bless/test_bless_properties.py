"""Properties of bless through the harness: for random scenarios (DMA maps and unmaps with
random values, in one or two files, LF or CRLF, with or without a byte order mark) under random
annotations, blessing with the known-bug rules makes the scenario pass, blessing without them
leaves only stale known bugs failing, and a second bless changes nothing.

The scenarios are well-formed programs: every output is one the model gives for a DMA call,
never a typo (those are never blessed). Loops are in the second property: an output in some
passes of a loop line is left alone, and everything else still holds.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from annotations.outcome import FindingKind, Verdict
from harness.backend import BackendSession, CoreDefaults
from harness.bless import BlessOptions, FileState, ScenarioBless, bless_scenario
from harness.discovery import Scenario
from harness.runner import RunResult, run_scenario
from harness.sessions import MODEL, open_backend

IDS = [
    "dma.map.failed:overlap",
    "dma.map.failed:size.zero",
    "dma.map.failed:misaligned",
    "dma.map.failed",
    "dma.unmap.failed:size.zero",
    "dma.unmap.failed:bisects.mapping",
    "dma.unmap.failed",
]
_addresses = st.integers(0, 8).map(lambda page: page * 0x1000) | st.sampled_from([0x800, 0x1800])
_sizes = st.sampled_from([0, 0x800, 0x1000, 0x2000, 0x3000])
_maps = st.builds(
    lambda iova, size, perm: f"map c0 iova={iova:#x} vaddr=0x7f0000000000 size={size:#x}{perm}",
    _addresses,
    _sizes,
    st.sampled_from(["", " perm=r", " perm=rw"]),
)
_unmaps = st.builds(
    lambda iova, size: f"unmap c0 iova={iova:#x} size={size:#x}", _addresses, _sizes
)
_loops = st.builds(
    lambda count, step: (
        f"for i in 0..{count} {{\n"
        f"    map c0 iova=(i * {step:#x}) vaddr=0x7f0000000000 size=0x1000\n}}"
    ),
    st.integers(0, 3),
    st.sampled_from([0x1000, 0x800, 0]),
)
_annotations = st.one_of(
    st.sampled_from(IDS).map(lambda i: f"//:: ExpectedOutput({i})"),
    st.builds(
        lambda i, n: f"//:: UnexpectedOutput({i}, /model/issue/{n}/)",
        st.sampled_from(IDS),
        st.integers(1, 3),
    ),
    st.builds(
        lambda i, n: f"//:: MissingOutput({i}, /model/issue/{n}/)",
        st.sampled_from(IDS),
        st.integers(1, 3),
    ),
    st.just("// a comment"),
)


@dataclass(frozen=True)
class Generated:
    """One scenario: the texts of its files (the first declares the container)."""

    files: tuple[str, ...]
    crlf: bool
    bom: bool

    def write(self, folder: Path) -> Scenario:
        paths = []
        for number, text in enumerate(self.files, 1):
            path = folder / (f"g_file{number}.vfio" if len(self.files) > 1 else "g.vfio")
            data = text.replace("\n", "\r\n") if self.crlf else text
            path.write_bytes((b"\xef\xbb\xbf" if self.bom else b"") + data.encode())
            paths.append(path)
        return Scenario("g", tuple(paths), folder)


def file_texts(statements: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A file: statements, each under a random stack of annotations and comments."""
    block = st.tuples(st.lists(_annotations, max_size=3), statements)
    return st.lists(block, min_size=1, max_size=6).map(
        lambda blocks: "".join("".join(a + "\n" for a in stack) + s + "\n" for stack, s in blocks)
    )


def scenarios(statements: st.SearchStrategy[str]) -> st.SearchStrategy[Generated]:
    return st.builds(
        Generated,
        st.lists(file_texts(statements), min_size=1, max_size=2).map(
            lambda texts: ("container c0\n" + texts[0], *texts[1:])
        ),
        st.booleans(),
        st.booleans(),
    )


@pytest.fixture(scope="module")
def model() -> Iterator[BackendSession]:
    session = open_backend(MODEL, CoreDefaults())
    yield session
    session.close()


def bless_and_run(
    case: Generated, session: BackendSession, *, known_bugs: bool
) -> tuple[ScenarioBless, RunResult, ScenarioBless, list[bytes], list[bytes]]:
    """Bless once, run, bless again; the bytes after the first and the second bless."""
    with tempfile.TemporaryDirectory() as folder:
        scenario = case.write(Path(folder))
        options = BlessOptions(known_bugs=known_bugs)
        first = bless_scenario(scenario, session, options=options)
        once = [path.read_bytes() for path in scenario.files]
        run = run_scenario(scenario, session=session)
        second = bless_scenario(scenario, session, options=options)
        twice = [path.read_bytes() for path in scenario.files]
    return first, run, second, once, twice


@given(scenarios(_maps | _unmaps))
def test_bless_with_known_bugs_then_run_passes_and_a_second_bless_changes_nothing(
    model: BackendSession, case: Generated
) -> None:
    first, run, second, once, twice = bless_and_run(case, model, known_bugs=True)
    event(f"edited: {first.edited}; verdict before: {first.before.outcome.verdict.value}")
    assert first.stopped is None
    refused = [f for f in first.files if f.state is FileState.NOT_REWRITTEN]
    assert not refused or all("annotation error" in f.reason for f in refused), refused
    if not refused:
        assert run.outcome.verdict is not Verdict.FAILED, run.outcome.findings
        assert first.after.outcome.verdict is run.outcome.verdict  # the report told the truth
    assert not second.edited and twice == once


@given(scenarios(_maps | _unmaps | _loops))
def test_bless_leaves_only_stale_known_bugs_and_loop_lines_failing_and_is_idempotent(
    model: BackendSession, case: Generated
) -> None:
    first, run, second, once, twice = bless_and_run(case, model, known_bugs=False)
    event(f"left alone: {any(f.left_alone for f in first.files)}; edited: {first.edited}")
    if any(f.state is FileState.NOT_REWRITTEN for f in first.files):
        return  # an annotation error (two annotations of one line that collide): by hand
    allowed = (FindingKind.UNEXPECTED_BUT_MISSING, FindingKind.MISSING_BUT_PRESENT)
    left = {(f.file, item.finding.id) for f in first.files for item in f.left_alone}
    for finding in run.outcome.findings:
        # What stays is a stale known bug, or what bless reported it left alone (by file and
        # id: the edits may have moved its line).
        assert finding.kind in allowed or (finding.file, finding.id) in left, finding
    assert not second.edited and twice == once
