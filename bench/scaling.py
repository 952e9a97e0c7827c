"""Benchmark of scaling: long and hostile input against its targets, one case per function.

Run: `.venv/bin/python bench/scaling.py [--only CASE] [--scale F]`

Each case runs at two sizes, a tenth (or a hundredth) of its target size and the target size,
each in a child process of its own so that its peak memory (the child's maximum resident set
size) is its alone; the child imports the harness and builds its parsers before it starts the
clock. It prints the time at both sizes, the ratio of the times per unit (1.00x
is linear time), the peak memory, and the targets with the figures measured against
them. `--scale F` multiplies every size (0.01 for a quick look; the targets are for 1). It
prints figures and never asserts them.

- scenario: a mixed scenario (maps, annotated overlaps, unmaps with a value check, config
  writes and reads, long asserts) written to a file and run as a user runs it
  (`harness.runner.run_scenario`: read the file and its annotations, parse, check, run on the
  model, match), at 10,000 and 1,000,000 lines. Targets: 1M lines in at most 120 s and
  500 MB; per-line time at 1M at most 1.5x that at 10k.
- report: a scenario of N lines whose F maps, spread from its top to its bottom, overlap an
  earlier map: passing (each carries its `ExpectedOutput`) and failing (none does, so the
  report has F findings with a code frame each, down to the last lines), each run and
  reported as the pytest plugin reports it, best of three. At 10,000 lines with 100 failures
  and 100,000 lines with 1,000. Target: the failing run, report included, at most 2x the
  passing one.
- slashes: reading the annotations of 10 MB of `/` on one line (1 MB and 10 MB).
- stacked: reading 100,000 identical annotations stacked on one target (10,000 and 100,000).
- stacked_distinct: the same with 100,000 distinct ids.
- open_link: one 10 MB annotation body whose issue link never completes.
- match_stacked: matching 1,000 outputs on a line under 100,000 stacked annotations.
  Target for these five: at most 5 s at the largest size.

Times are wall-clock seconds in the child (it does nothing else); on a shared machine they
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
from dataclasses import dataclass
from pathlib import Path

# bench/annotations.py would shadow the `annotations` package when this folder leads sys.path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

Figures = dict[str, float]

# ---------------------------------------------------------------- scenario: one long file

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


def scenario(lines: int) -> Figures:
    """Write a mixed scenario of `lines` lines and run it end to end."""
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
    return {"units": written, "seconds": seconds}


# ---------------------------------------------------------------- report: failing vs passing

REPORT_HEADER = "container c0 limit=4000000\n"
OVERLAP = "//:: ExpectedOutput(dma.map.failed:overlap)\n"


def overlapping(lines: int, failures: int, annotated: bool) -> str:
    """A scenario of about `lines` lines with `failures` overlapping maps spread through it."""
    body = [REPORT_HEADER]
    every = max(1, lines // max(failures, 1))
    page = 0
    for index in range(lines):
        if index % every == every - 1 and page:
            if annotated:
                body.append(OVERLAP)
            body.append(f"map c0 iova={page - 1 << 12:#x} vaddr=0x1000 size=4K\n")
        elif index % 8 == 7:
            body.append(f"assert c0.mappings == {page}\n")
        else:
            page += 1
            body.append(f"map c0 iova={page << 12:#x} vaddr=0x1000 size=4K\n")
    return "".join(body)


def _run_and_report(folder: Path, name: str, text: str, repeat: int = 3) -> tuple[float, int]:
    """Best time of running a scenario and rendering its report as pytest does; its findings."""
    from harness.discovery import Scenario
    from harness.pytest_plugin.outcomes import report
    from harness.runner import run_scenario

    path = folder / f"{name}.vfio"
    path.write_text(text, encoding="utf-8")
    best, findings = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        result = run_scenario(Scenario(name, (path,), folder))
        if result.outcome.failed:
            report(result, None)
        best = min(best, time.perf_counter() - start)
        findings = len(result.outcome.findings)
    return best, findings


def report(lines: int) -> Figures:
    """A scenario of `lines` lines failing at one line in a hundred, against it passing."""
    failures = lines // 100
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        passing, clean = _run_and_report(folder, "passing", overlapping(lines, failures, True))
        failing, found = _run_and_report(folder, "failing", overlapping(lines, failures, False))
    assert clean == 0 and found == failures, (clean, found)
    return {"units": lines, "seconds": failing, "passing": passing, "findings": found}


# ---------------------------------------------------------------- hostile annotations


def _read_timed(text: str) -> float:
    from annotations import read_text

    start = time.perf_counter()
    read_text(text)
    return time.perf_counter() - start


def slashes(size: int) -> Figures:
    """Read the annotations of `size` bytes of `/` (one line)."""
    return {"units": size, "seconds": _read_timed("/" * size)}


def stacked(count: int) -> Figures:
    """Read `count` identical annotations stacked on one target."""
    text = "//:: ExpectedOutput(dma.map.failed:overlap)\n" * count + "map x\n"
    return {"units": count, "seconds": _read_timed(text)}


def stacked_distinct(count: int) -> Figures:
    """Read `count` distinct annotations stacked on one target."""
    text = "".join(f"//:: ExpectedOutput(a:r{i})\n" for i in range(count)) + "x\n"
    return {"units": count, "seconds": _read_timed(text)}


def open_link(size: int) -> Figures:
    """Read one annotation of `size` bytes whose issue link never completes."""
    text = "//:: UnexpectedOutput(" + ", /" * (size // 3) + ")\nx\n"
    return {"units": size, "seconds": _read_timed(text)}


def match_stacked(count: int) -> Figures:
    """Match 1,000 outputs on a line under `count` stacked annotations."""
    from annotations import Output, match, read_text

    read = read_text("//:: ExpectedOutput(a)\n" * count + "x\n")
    outputs = [Output("<text>", count + 1, "a")] * 1000
    start = time.perf_counter()
    match(outputs, read, ("model",))
    return {"units": count, "seconds": time.perf_counter() - start}


# ---------------------------------------------------------------- the cases and their targets


@dataclass(frozen=True)
class Case:
    """A function of a size, its two sizes (a small one and the target's), and its targets."""

    run: Callable[[int], Figures]
    sizes: tuple[int, int]
    unit: str
    targets: Callable[[Figures, Figures], list[str]]


def _within(value: float, target: float, text: str) -> str:
    return f"{text}: {'within' if value <= target else 'OVER'}"


def _scenario_targets(small: Figures, large: Figures) -> list[str]:
    ratio = _per_unit(large) / _per_unit(small)
    return [
        _within(large["seconds"], 120, f"{large['seconds']:.1f} s <= 120 s"),
        _within(large["peak_mb"], 500, f"{large['peak_mb']:.0f} MB <= 500 MB"),
        _within(ratio, 1.5, f"per-line time {ratio:.2f}x <= 1.5x"),
    ]


def _report_targets(small: Figures, large: Figures) -> list[str]:
    ratio = large["seconds"] / large["passing"]
    return [
        f"passing {large['passing']:.2f} s, failing with {int(large['findings']):,} findings"
        f" reported {large['seconds']:.2f} s",
        _within(ratio, 2.0, f"failing / passing {ratio:.2f}x <= 2.0x"),
    ]


def _five_seconds(small: Figures, large: Figures) -> list[str]:
    return [_within(large["seconds"], 5.0, f"{large['seconds']:.2f} s <= 5 s")]


CASES: dict[str, Case] = {
    "scenario": Case(scenario, (10_000, 1_000_000), "lines", _scenario_targets),
    "report": Case(report, (10_000, 100_000), "lines", _report_targets),
    "slashes": Case(slashes, (1_000_000, 10_000_000), "bytes", _five_seconds),
    "stacked": Case(stacked, (10_000, 100_000), "annotations", _five_seconds),
    "stacked_distinct": Case(stacked_distinct, (10_000, 100_000), "annotations", _five_seconds),
    "open_link": Case(open_link, (1_000_000, 10_000_000), "bytes", _five_seconds),
    "match_stacked": Case(match_stacked, (10_000, 100_000), "annotations", _five_seconds),
}


def _per_unit(figures: Figures) -> float:
    return figures["seconds"] / figures["units"]


def warm() -> None:
    """Pay the once-per-process costs (imports, the grammars' parsers) before any timing, so
    that the small size's time per unit is the steady one."""
    from annotations import read_text
    from harness.discovery import Scenario
    from harness.runner import run_scenario

    read_text("//:: ExpectedOutput(a)\nx\n")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "warm.vfio"
        path.write_text(mixed(20), encoding="utf-8")
        run_scenario(Scenario("warm", (path,), Path(folder)))


def child(case: str, size: int) -> Figures:
    """Run one case at one size in a fresh Python; its figures and peak memory (MB)."""
    command = [sys.executable, __file__, "--child", case, str(size)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{case} at {size:,} failed:\n{done.stderr}")
    figures: Figures = json.loads(done.stdout.splitlines()[-1])
    return figures


def measure(name: str, scale: float) -> None:
    """Print a case's figures at both sizes, the ratio of its per-unit times, and its targets."""
    case = CASES[name]
    small, large = (max(1, int(size * scale)) for size in case.sizes)
    figures = [child(name, small), child(name, large)]
    print(name)
    for size, got in zip((small, large), figures, strict=True):
        print(
            f"  {size:>11,} {case.unit}: {got['seconds']:8.2f} s, {got['peak_mb']:7.1f} MB peak,"
            f" {1e6 * _per_unit(got):8.3f} us per unit"
        )
    ratio = _per_unit(figures[1]) / _per_unit(figures[0])
    print(f"  per-unit time {large:,} / {small:,}: {ratio:.2f}x (1.00x is linear)")
    for line in case.targets(*figures):
        print(f"  target {line}")


def main() -> None:
    """Print the figures (or, with --child, run one case and print its figures as JSON)."""
    options = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    options.add_argument("--only", choices=sorted(CASES))
    options.add_argument("--scale", type=float, default=1.0, help="multiply every size")
    options.add_argument("--child", nargs=2, metavar=("CASE", "SIZE"), help=argparse.SUPPRESS)
    args = options.parse_args()
    if args.child:
        name, size = args.child
        warm()
        figures = CASES[name].run(int(size))
        figures["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(figures))
        return
    if args.scale <= 0:
        options.error("--scale must be above 0")
    print(f"bench/scaling.py (sizes x{args.scale:g}; the targets are for x1)")
    for name in [args.only] if args.only else list(CASES):
        measure(name, args.scale)


if __name__ == "__main__":
    main()
