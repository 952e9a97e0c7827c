"""The conformance report for adapter authors: how much of the suite a backend supports.

Per scenario area (the top-level folder of a scenario below its scenario root: `dma`, `bars`,
...), how many scenarios passed, failed, were known bugs, and were skipped because the backend
cannot run one of their calls; then the methods behind those skips, most frequent first. The
pytest summary and `python -m harness run` both print it for every backend but the model.
Plain text, so that it reads the same in a terminal, a CI log and under pytest-xdist.
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass, field

TOP = "(top)"  # the area of a scenario that sits directly in its scenario root
# A process backend has no project name until a child answers `initialize`.
NO_NAME = "(no child answered initialize)"


class Column(enum.Enum):
    """Where a scenario counts."""

    PASSED = "passed"
    FAILED = "failed"
    KNOWN_BUG = "known bugs"
    UNSUPPORTED = "unsupported"
    IGNORED = "ignored"  # an IgnoreFile for a project in force: shown only when there are some


def area_of(relpath: str) -> str:
    """The area of a scenario from its path relative to its root (`dma/map.vfio` -> `dma`)."""
    head, slash, _ = relpath.partition("/")
    return head if slash else TOP


@dataclass
class Conformance:
    """Counts per area and column, and the methods that made scenarios unsupported."""

    backend: str
    counts: dict[str, Counter[Column]] = field(default_factory=dict)
    methods: Counter[str] = field(default_factory=Counter)

    def add(self, area: str, column: Column, method: str | None = None) -> None:
        """Count one scenario; `method` is the call that made it unsupported."""
        self.counts.setdefault(area, Counter())[column] += 1
        if column is Column.UNSUPPORTED:
            self.methods[method or "(starting the scenario)"] += 1

    def lines(self) -> list[str]:
        """The report: a header, one row per area and a total row, then the methods."""
        if not self.counts:
            return []
        columns: list[Column] = [c for c in Column if c is not Column.IGNORED]
        if any(counter[Column.IGNORED] for counter in self.counts.values()):
            columns.append(Column.IGNORED)
        total: Counter[Column] = Counter()
        for counter in self.counts.values():
            total.update(counter)
        rows = [(area, self.counts[area]) for area in sorted(self.counts)]
        rows.append(("total", total))
        width = max(len(area) for area, _ in rows)
        head = "  ".join(f"{c.value:>{max(len(c.value), 6)}}" for c in columns)
        lines = [
            f"Conformance of backend {self.backend or NO_NAME} (scenarios per area):",
            f"  {'area':<{width}}  {head}",
        ]
        for area, counter in rows:
            cells = "  ".join(f"{counter[c]:>{max(len(c.value), 6)}}" for c in columns)
            lines.append(f"  {area:<{width}}  {cells}")
        if self.methods:
            ranked = sorted(self.methods.items(), key=lambda item: (-item[1], item[0]))
            lines.append(
                "Unsupported methods (scenarios skipped): "
                + ", ".join(f"{method} ({count})" for method, count in ranked)
            )
        return lines
