"""Time the pytest plugin on 2,000 generated scenarios against a floor of 2,000 trivial items.

Generates, into one temporary folder, N small scenarios (`scenarios/areaK/sN.vfio`, a few
statements and annotations each, some with known bugs) and N `.txt` files collected by a tiny
conftest plugin whose items only read their file (the floor: pytest's own per-item cost plus
the file read; the vfio plugin is disabled there with `-p no:vfio`). Then runs, each in a
subprocess from that folder:

- a full run and a `--collect-only` run of both suites, and
- both suites again with `-n WORKERS` (pytest-xdist; the floor's figure is a reference for
  what xdist itself costs per item on this machine).

It prints wall times and the ratios the issue sets targets for: full run at most 2x the floor,
`--collect-only` at most 1.3x the floor (collection must not parse scenarios), and `-n 2` at
least 1.5x faster than serial on two cores. It prints the figures and never asserts them.
Besides wall time it prints each run's CPU time (user + sys of pytest and its workers): on a
shared machine the CPU ratios are the steadier figure for the two same-work comparisons.

Usage: `.venv/bin/python bench/pytest.py [--count N] [--workers W] [--repeat R] [--scale K]`
(each figure is the best of R runs; `--scale K` makes every scenario K blocks longer, to see
where `-n` starts to pay for pytest-xdist's per-test cost).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

FLOOR_CONFTEST = '''\
"""The floor: each .txt file is one item whose test only reads the file."""

import pytest


def pytest_collect_file(file_path, parent):
    if file_path.suffix == ".txt":
        return TextFile.from_parent(parent, path=file_path)
    return None


class TextFile(pytest.File):
    def collect(self):
        yield TextItem.from_parent(self, name=self.path.stem)


class TextItem(pytest.Item):
    def runtest(self):
        self.path.read_bytes().decode("utf-8")

    def reportinfo(self):
        return self.path, 0, self.name
'''

# Let pytest cache its rewritten modules (as in a normal install) even where the calling
# environment disables bytecode files; otherwise every run, and every xdist worker, rewrites
# the plugin's and Hypothesis's modules again.
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}

# Four shapes of small scenario, cycled: a pass, a known bug, a BAR check, an MSI-X check.
SHAPES = (
    """container c0
map c0 iova=0x100000 vaddr=0x7f0000100000 size=2M
//:: ExpectedOutput(dma.map.failed:overlap)
map c0 iova=0x101000 vaddr=0x7f0000300000 size=4K
unmap c0 iova=0x100000 size=2M == 2M
assert c0.mappings == 0
""",
    """container c0
//:: UnexpectedOutput(dma.map.failed:misaligned, /model/issue/{n}/)
map c0 iova=0x100001 vaddr=0x7f0000100000 size=4K
assert c0.mappings == 0
""",
    """device gpu0 0000:01:00.0 {{
    bar 0 mem64 prefetch 256M
    bar 2 mem32 16M
}}
alloc gpu0
assert gpu0.bar0.size == 256M
""",
    """device gpu0 01:00.0 {{
    bar 2 mem32 16M
    msix 4 table=2:0x0 pba=2:0x1000
}}
//:: ExpectedOutput(msix.failed:vector.out.of.range)
msix unmask gpu0 9
assert gpu0.msix.vectors == 4
""",
)

EXTRA = """container x{k}
map x{k} iova=0x1000 vaddr=0x1000 size=4K
assert x{k}.mappings == 1
"""


@dataclass(frozen=True, slots=True)
class Timing:
    """One measured configuration: best wall seconds, its CPU seconds, the summary line."""

    label: str
    seconds: float
    cpu: float  # user + sys of the pytest process and its workers, for the best run
    summary: str


def generate(folder: Path, count: int, scale: int = 0) -> tuple[Path, Path]:
    """Write the scenario suite and the floor suite; return their folders.

    `scale` appends that many extra blocks (a container, a map, an assert) to every scenario.
    """
    suite = folder / "suite"
    floor = folder / "floor"
    extra = "".join(EXTRA.format(k=k) for k in range(scale))
    for index in range(count):
        text = SHAPES[index % len(SHAPES)].format(n=index) + extra
        area = f"area{index % 20}"
        scenario = suite / "scenarios" / area / f"s{index}.vfio"
        plain = floor / "files" / area / f"s{index}.txt"
        for path in (scenario, plain):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    (floor / "conftest.py").write_text(FLOOR_CONFTEST, encoding="utf-8")
    return suite, floor


def run(label: str, cwd: Path, args: list[str], repeat: int) -> Timing:
    """Run pytest `repeat` times in a subprocess; keep the best wall time."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
    best = float("inf")
    cpu = 0.0
    summary = ""
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, check=False, env=ENV
        )
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if seconds < best:
            best = seconds
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        lines = done.stdout.strip().splitlines()
        summary = lines[-1] if lines else done.stderr.strip()[-200:]
        if done.returncode not in (0, 1):
            sys.stderr.write(done.stdout[-3000:] + done.stderr[-2000:])
    print(f"{label:<34} {best:7.2f} s wall {cpu:7.2f} s cpu   {summary}", flush=True)
    return Timing(label, best, cpu, summary)


def ratio(label: str, numerator: Timing, denominator: Timing, target: str) -> None:
    """Print one ratio (wall, and CPU for the same-work pairs) and its target."""
    wall = numerator.seconds / denominator.seconds
    cpu = numerator.cpu / denominator.cpu
    print(f"{label:<34} {wall:7.2f}x wall {cpu:7.2f}x cpu   (target {target})")


def main() -> None:
    """Generate, run, and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--scale", type=int, default=0, help="extra blocks per scenario")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vfio-bench-") as tmp:
        suite, floor = generate(Path(tmp), args.count, args.scale)
        print(f"{args.count} scenarios (+{args.scale} extra blocks each) vs {args.count} floor "
              f"items; cpus={os.cpu_count()}")
        # One untimed run each, so that pytest's cached rewritten modules exist before timing.
        run("warm-up (untimed)", suite, ["--collect-only", "scenarios"], 1)
        floor_run = run("floor: full run", floor, ["-p", "no:vfio", "files"], args.repeat)
        vfio_run = run("vfio: full run", suite, ["scenarios"], args.repeat)
        floor_co = run("floor: --collect-only", floor,
                       ["-p", "no:vfio", "--collect-only", "files"], args.repeat)
        vfio_co = run("vfio: --collect-only", suite, ["--collect-only", "scenarios"], args.repeat)
        vfio_n = run(f"vfio: full run -n {args.workers}", suite,
                     ["-n", str(args.workers), "scenarios"], args.repeat)
        # Reference only: what pytest-xdist itself costs on items that do almost nothing.
        floor_n = run(f"floor: full run -n {args.workers}", floor,
                      ["-p", "no:vfio", "-n", str(args.workers), "files"], args.repeat)
        print()
        ratio("full run / floor", vfio_run, floor_run, "<= 2.0x")
        ratio("--collect-only / floor", vfio_co, floor_co, "<= 1.3x")
        for name, serial, parallel in (("vfio", vfio_run, vfio_n), ("floor", floor_run, floor_n)):
            label = f"{name}: serial / -n {args.workers} (speed-up)"
            target = "target >= 1.5x" if name == "vfio" else "reference"
            print(f"{label:<34} {serial.seconds / parallel.seconds:7.2f}x wall"
                  f"                ({target}; workers share the CPUs, so wall only)")


if __name__ == "__main__":
    main()
