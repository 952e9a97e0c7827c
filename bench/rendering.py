"""Time a long scenario's report: the same file failing at F lines against it passing.

Generates a scenario of N lines (a container, then maps of distinct pages, with an assert every
few lines) in which F maps, spread evenly from the top to the bottom, overlap an earlier map.
In the passing version each of those lines carries `//:: ExpectedOutput(dma.map.failed:overlap)`;
in the failing version the annotations are absent, so the report has F findings, each with a
code frame, down to the last lines of the file. Each version is run and reported as the pytest
plugin reports it (`harness.pytest_plugin.outcomes.report` for the failure), best of R.

It prints both times and their ratio; the target is that the failing run, report included,
takes at most 2x the passing one (a report's cost grows with its frames, not with how deep in
the file they are). It prints the figures and never asserts them.

Usage: `.venv/bin/python bench/rendering.py [--lines N] [--failures F] [--repeat R]`
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

# Run as a script, this folder leads sys.path, and bench/annotations.py would shadow the
# `annotations` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

from harness.discovery import Scenario  # noqa: E402
from harness.pytest_plugin.outcomes import report  # noqa: E402
from harness.runner import run_scenario  # noqa: E402

HEADER = "container c0 limit=4000000\n"
ANNOTATION = "//:: ExpectedOutput(dma.map.failed:overlap)\n"


def generate(lines: int, failures: int, annotated: bool) -> str:
    """A scenario of about `lines` lines with `failures` overlapping maps spread through it."""
    body = [HEADER]
    every = max(1, lines // max(failures, 1))
    page = 0
    for index in range(lines):
        if index % every == every - 1 and page:
            if annotated:
                body.append(ANNOTATION)
            body.append(f"map c0 iova={page - 1 << 12:#x} vaddr=0x1000 size=4K\n")
        elif index % 8 == 7:
            body.append(f"assert c0.mappings == {page}\n")
        else:
            page += 1
            body.append(f"map c0 iova={page << 12:#x} vaddr=0x1000 size=4K\n")
    return "".join(body)


def timed(folder: Path, name: str, text: str, repeat: int) -> tuple[float, int]:
    """Best time of running the scenario and rendering its report; the findings' count."""
    path = folder / f"{name}.vfio"
    path.write_text(text, encoding="utf-8")
    scenario = Scenario(name, (path,), folder)
    best, findings = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        result = run_scenario(scenario)
        if result.outcome.failed:
            report(result, None)
        best = min(best, time.perf_counter() - start)
        findings = len(result.outcome.findings)
    return best, findings


def main() -> None:
    """Generate, run, and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--failures", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vfio-bench-") as tmp:
        folder = Path(tmp)
        passing, clean = timed(folder, "passing", generate(args.lines, args.failures, True),
                               args.repeat)
        failing, found = timed(folder, "failing", generate(args.lines, args.failures, False),
                               args.repeat)
    print(f"{args.lines} lines, best of {args.repeat}")
    print(f"passing ({clean} findings)              {passing:7.2f} s")
    print(f"failing ({found} findings, reported) {failing:7.2f} s")
    print(f"ratio failing / passing             {failing / passing:7.2f}x  (target <= 2.0x)")


if __name__ == "__main__":
    main()
