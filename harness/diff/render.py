"""What `python -m harness diff` shows: the live count, each class as it is found, the table.

The only module of `harness/diff/` that imports rich. On a terminal a live line counts
programs, operations, divergent programs and classes while the search runs; elsewhere (a pipe,
a CI log) nothing is redrawn and one plain line is printed per class found. The final table has
one row per class. The Console comes from `harness.render.console()`, which owns `NO_COLOR`
and terminal detection.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.live import Live
from rich.table import Table
from rich.text import Text

from harness.diff.search import Found, Stats


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s" if seconds > 0 else "-"


def counts(stats: Stats) -> str:
    """The counts in one line: `programs 1,200/2,000 · ops 27,000 (3,100/s) · ...` (the
    budget or the time limit after the count it limits)."""
    elapsed = stats.elapsed
    budget = f"/{stats.budget:,}" if stats.budget is not None else ""
    seconds = f"/{stats.seconds:g}" if stats.seconds is not None else ""
    return (
        f"programs {stats.sequences:,}{budget} · ops {stats.ops:,} ({_rate(stats.ops, elapsed)})"
        f" · divergent {stats.divergent:,} · classes {stats.classes:,}"
        f" · shrinking runs {stats.shrink_runs:,} · {elapsed:.1f}{seconds} s"
    )


@dataclass(frozen=True, slots=True)
class LiveCount:
    """A renderable that reads the search's counts each time it is drawn."""

    stats: Stats

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Text(counts(self.stats))


def found_line(found: Found, number: int) -> Text:
    """One line for a class just found."""
    return Text(
        f"class {number}: {found.shape} (program {found.sequence},"
        f" {found.first_size} statements shrunk to {len(found.comparison.program)})"
    )


class Progress:
    """The search's display: `update` when a class is found, live counts on a terminal."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._live: Live | None = None
        self._classes = 0

    @contextmanager
    def running(self, stats: Stats) -> Iterator[Progress]:
        """Show the live count (on a terminal) while the block runs."""
        if not self.console.is_terminal:
            yield self
            return
        with Live(
            LiveCount(stats), console=self.console, refresh_per_second=4, transient=True
        ) as live:
            self._live = live
            try:
                yield self
            finally:
                self._live = None

    def update(self, stats: Stats, found: Found | None) -> None:
        """Print a class as soon as it is found (above the live line, if any)."""
        if found is None:
            return
        self._classes += 1
        self.console.print(found_line(found, self._classes), soft_wrap=True)


@dataclass(frozen=True, slots=True)
class Row:
    """One class in the final table."""

    found: Found
    path: Path
    written: str  # created, replaced, unchanged, kept, or "not written: REASON"
    on_reference: str  # how the file ran on the reference: `passes`
    on_target: str  # how it ran on the target: `fails at line N`


def report(out: Console, rows: Sequence[Row], stats: Stats, reference: str, target: str) -> None:
    """Print the final table (one row per class), the files written, and the counts."""
    if rows:
        _table(out, rows, reference, target)
    else:
        programs = "program" if stats.sequences == 1 else "programs"
        out.print(
            Text(
                f"no divergence: {target} agreed with {reference} on {stats.sequences:,} {programs}"
            ),
            soft_wrap=True,
        )
    # Paths and counts are printed whole (soft wrap): a path cut at the width is useless.
    for row in rows:
        out.print(Text(f"{row.path} ({row.written})"), soft_wrap=True)
    kept = sum(1 for row in rows if row.written == "kept")
    if kept:
        files = "a file" if kept == 1 else f"{kept} files"
        out.print(
            Text(
                f"kept {files} of the same name with other text: --overwrite replaces them,"
                " --out DIR writes elsewhere"
            ),
            soft_wrap=True,
        )
    _notes(out, stats)


def _table(out: Console, rows: Sequence[Row], reference: str, target: str) -> None:
    plural = "class" if len(rows) == 1 else "classes"
    result = Table(
        title=f"{len(rows)} {plural} of divergence: {target} against {reference}",
        box=box.SIMPLE,
        title_justify="left",
    )
    result.add_column("class", ratio=3, overflow="fold")
    result.add_column("program", justify="right", no_wrap=True)
    result.add_column("shrunk", justify="right", no_wrap=True)
    result.add_column(f"on {reference}", ratio=1, overflow="fold")
    result.add_column(f"on {target}", ratio=2, overflow="fold")
    for row in rows:
        found = row.found
        result.add_row(
            found.shape.short(),  # the ids in full are in the lines above and in the file
            str(found.sequence),
            f"{found.first_size} → {len(found.comparison.program)}",
            row.on_reference,
            row.on_target,
        )
    out.print(result)


def _notes(out: Console, stats: Stats) -> None:
    out.print(Text(counts(stats)), soft_wrap=True)
    if stats.avoided:
        avoided = ", ".join(stats.avoided)
        out.print(Text(f"not drawn after the target could not run them: {avoided}"), soft_wrap=True)
    if stats.dropped:
        areas = ", ".join(stats.dropped)
        out.print(
            Text(f"areas left out: {areas} (the target could not start any of their programs)"),
            soft_wrap=True,
        )
    if stats.skipped:
        out.print(
            Text(
                f"{stats.skipped:,} programs stopped where the target could not run a declaration"
            ),
            soft_wrap=True,
        )
