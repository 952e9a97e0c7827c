"""What `diff` prints: the counts, a class as it is found, the final report (exact text at a
fixed width, as rich's own tests compare), and no live display off a terminal."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from harness.diff import program as p
from harness.diff import render as view
from harness.diff.compare import Shape, compare
from harness.diff.search import Found, Stats
from harness.model import ModelBackend
from harness.render import console

PROGRAM = p.Program(
    "dma",
    (
        p.Container("c0", mode="v1"),
        p.Map("c0", 0x100000, 0x7F0000100000, 2 << 20),
        p.Unmap("c0", 0x100000, 4096),
    ),
)


def stats() -> Stats:
    return Stats(
        sequences=1200,
        ops=27000,
        divergent=3,
        classes=1,
        shrink_runs=300,
        started=0.0,
        finished=9.0,
    )


def found() -> Found:
    comparison = compare(PROGRAM, ModelBackend(), ModelBackend())
    return Found(Shape("unmap", "ok", "other-value"), comparison, 158, 37)


def plain(width: int = 100) -> tuple[io.StringIO, object]:
    buffer = io.StringIO()
    return buffer, console(buffer, color=False, width=width)


def test_the_counts_name_every_figure_and_the_rate() -> None:
    assert view.counts(stats()) == (
        "programs 1,200 · ops 27,000 (3,000/s) · divergent 3 · classes 1 · shrinking runs 300"
        " · 9.0 s"
    )


def test_the_counts_show_the_budget_or_the_time_limit() -> None:
    budgeted = stats()
    budgeted.budget = 2000
    assert view.counts(budgeted).startswith("programs 1,200/2,000 · ops 27,000")
    timed = stats()
    timed.seconds = 60
    assert view.counts(timed).endswith("shrinking runs 300 · 9.0/60 s")


def test_a_class_found_is_one_line() -> None:
    assert str(view.found_line(found(), 1)) == (
        "class 1: unmap: ok vs other-value (program 158, 37 statements shrunk to 3)"
    )


def test_the_report_is_a_table_then_the_files_whole_then_the_counts() -> None:
    buffer, out = plain()
    row = view.Row(
        found(),
        Path("scenarios/regressions/a-very-long-name-that-must-not-be-cut-at-any-width.vfio"),
        "created",
        "passes",
        "fails at line 19",
    )
    view.report(out, [row], stats(), "model", "planted")  # type: ignore[arg-type]
    lines = [line.rstrip() for line in buffer.getvalue().splitlines()]
    assert lines[0] == "1 class of divergence: planted against model"
    assert lines[2].split() == ["class", "program", "shrunk", "on", "model", "on", "planted"]
    assert lines[4].split() == [
        "unmap:",
        "ok",
        "vs",
        "other-value",
        "158",
        "37",
        "→",
        "3",
        "passes",
        "fails",
        "at",
        "line",
        "19",
    ]
    assert (
        "scenarios/regressions/a-very-long-name-that-must-not-be-cut-at-any-width.vfio (created)"
        in lines
    )
    assert lines[-1].startswith("programs 1,200 · ops 27,000")


def test_off_a_terminal_there_is_no_live_display_only_the_class_lines() -> None:
    buffer, out = plain()
    progress = view.Progress(out)  # type: ignore[arg-type]
    with progress.running(stats()):
        progress.update(stats(), None)
        progress.update(stats(), found())
    assert buffer.getvalue() == (
        "class 1: unmap: ok vs other-value (program 158, 37 statements shrunk to 3)\n"
    )


def test_on_a_terminal_the_live_count_is_drawn_and_cleared() -> None:
    buffer = io.StringIO()
    terminal = Console(file=buffer, force_terminal=True, width=120, color_system=None)
    progress = view.Progress(terminal)
    with progress.running(stats()):
        progress.update(stats(), found())
    text = buffer.getvalue()
    assert "programs 1,200" in text  # drawn while running
    assert "class 1: unmap: ok vs other-value" in text


def test_no_divergence_is_one_line_not_an_empty_table() -> None:
    buffer, out = plain()
    view.report(out, [], stats(), "model", "planted")  # type: ignore[arg-type]
    assert buffer.getvalue().splitlines()[0] == (
        "no divergence: planted agreed with model on 1,200 programs"
    )
    assert "class " not in buffer.getvalue()


def test_a_file_kept_under_its_name_says_how_to_write_it_anyway() -> None:
    buffer, out = plain()
    row = view.Row(found(), Path("r/a.vfio"), "kept", "passes", "fails at line 19")
    view.report(out, [row], stats(), "model", "planted")  # type: ignore[arg-type]
    lines = buffer.getvalue().splitlines()
    assert "r/a.vfio (kept)" in lines
    assert (
        "kept a file of the same name with other text: --overwrite replaces them,"
        " --out DIR writes elsewhere"
    ) in lines
