"""Benchmark of scaling: one long scenario end to end, its time and peak memory, at two sizes.

Run: `.venv/bin/python bench/scaling.py [--lines 1000000] [--small 10000] [--only CASE]`

Each case is one function below, run in a child process of its own so that its peak memory
(the child's maximum resident set size) is its alone; `--only CASE` runs one case.

- scenario: a mixed scenario (maps, annotated overlaps, unmaps with a value check, config
  writes and reads, long asserts) written to a file and run as a user runs it
  (`harness.runner.run_scenario`: read the file and its annotations, parse, check, run on the
  model, match). At `--lines` (1,000,000) and at `--small` (10,000) lines: seconds, peak
  memory, microseconds per line, and the ratio of the per-line times. Targets: 1M lines in
  at most 120 s and 500 MB; per-line time at 1M at most 1.5x that at 10k.

Times are wall-clock seconds of the child (it does nothing else); on a shared machine they
include other processes' load.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

# bench/annotations.py would shadow the `annotations` package when this folder leads sys.path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

HEADER = (
    "// A generated stress scenario: maps, overlaps, unmaps, config space, long asserts.\n"
    "container c0\n"
    "device d 0000:01:00.0 {\n"
    "    bar 0 mem32 64K\n"
    "    msix 4 table=0:0x1000 pba=0:0x2000\n"
    "}\n"
    "attach d c0\n"
)


def mixed(lines: int) -> str:
    """A passing scenario of about `lines` lines (the header included)."""
    out = [HEADER]
    count = HEADER.count("\n")
    live: deque[int] = deque()  # pages mapped, oldest first
    page = 0x100
    step = 0
    while count < lines:
        kind = step % 8
        step += 1
        if kind in (0, 3) or not live:
            iova = page << 12
            page += 1
            out.append(f"map c0 iova={iova:#x} vaddr={0x7F00_0000_0000 + iova:#x} size=4K\n")
            live.append(iova)
            count += 1
        elif kind == 1:
            out.append("//:: ExpectedOutput(dma.map.failed:overlap)\n")
            out.append(f"map c0 iova={live[-1]:#x} vaddr=0x1000 size=4K\n")
            count += 2
        elif kind in (2, 6) and len(live) > 64:  # as many unmaps as maps: the state stays small
            out.append(f"unmap c0 iova={live.popleft():#x} size=4K == 4K\n")
            count += 1
        elif kind == 4:
            out.append(f"cfg write d 0x3c {step & 0xFF:#x} size=1\n")
            count += 1
        elif kind == 5:
            out.append(f"cfg read d 0x3c size=1 == {(step - 1) & 0xFF:#x}\n")
            count += 1
        elif kind == 7:
            mappings = len(live)
            out.append(
                f"assert c0.mappings == {mappings} and c0.mapped == {mappings} * 4K"
                f" and c0.avail == 65535 - {mappings} and c0.mapped_at({live[-1]:#x})"
                f" and not c0.mapped_at(0x1000) and d.bar0.size == 64K\n"
            )
            count += 1
    return "".join(out)


def scenario_case(lines: int) -> dict[str, float]:
    """Write a mixed scenario of `lines` lines and run it end to end; the figures."""
    from harness.discovery import Scenario
    from harness.runner import Status, run_scenario

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "stress.vfio"
        path.write_text(mixed(lines), encoding="utf-8")
        written = path.read_text(encoding="utf-8").count("\n")
        start = time.perf_counter()
        result = run_scenario(Scenario("stress", (path,), Path(folder)))
        seconds = time.perf_counter() - start
    assert result.status() is Status.PASSED, result.outcome.findings[:3]
    return {"lines": written, "seconds": seconds}


CASES: dict[str, Callable[[int], dict[str, float]]] = {"scenario": scenario_case}


def child(case: str, lines: int) -> dict[str, float]:
    """Run one case at one size in a fresh Python; its figures and peak memory (MB)."""
    command = [sys.executable, __file__, "--child", case, str(lines)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{case} at {lines} lines failed:\n{done.stderr}")
    figures: dict[str, float] = json.loads(done.stdout.splitlines()[-1])
    return figures


def report(case: str, small: int, large: int) -> None:
    """Print a case's figures at both sizes and the ratio of their per-line times."""
    print(case)
    per_line = {}
    for lines in (small, large):
        figures = child(case, lines)
        per_line[lines] = figures["seconds"] / figures["lines"]
        print(
            f"  {int(figures['lines']):>9,} lines: {figures['seconds']:8.2f} s,"
            f" {figures['peak_mb']:7.1f} MB peak, {1e6 * per_line[lines]:6.2f} us/line"
        )
    ratio = per_line[large] / per_line[small]
    print(f"  per-line time {large:,} / {small:,}: {ratio:.2f}x (target <= 1.5x)")


def main() -> None:
    """Print the figures (or, with --child, run one case and print its figures as JSON)."""
    options = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    options.add_argument("--lines", type=int, default=1_000_000)
    options.add_argument("--small", type=int, default=10_000)
    options.add_argument("--only", choices=sorted(CASES))
    options.add_argument("--child", nargs=2, metavar=("CASE", "LINES"), help=argparse.SUPPRESS)
    args = options.parse_args()
    if args.child:
        case, lines = args.child
        figures = CASES[case](int(lines))
        figures["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(figures))
        return
    print("bench/scaling.py (targets: 1M lines <= 120 s and <= 500 MB; per-line ratio <= 1.5x)")
    for case in [args.only] if args.only else list(CASES):
        report(case, args.small, args.lines)


if __name__ == "__main__":
    main()
