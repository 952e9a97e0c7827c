"""Time the pytest plugin on 2,000 generated scenarios against a floor of 2,000 trivial items.

Generates, into one temporary folder, N small scenarios (`scenarios/areaK/sN.vfio`, a few
statements and annotations each, some with known bugs) and N `.txt` files collected by a tiny
conftest plugin whose items only read their file (the floor: pytest's own per-item cost plus
the file read; the vfio plugin is disabled there with `-p no:vfio`). Then runs, each in a
subprocess from that folder:

- a full run and a `--collect-only` run of both suites, and
- both suites again with `-n WORKERS` (pytest-xdist; the floor's figure is a reference for
  what xdist itself costs per item on this machine).

It prints the ratios the issue sets targets for: full run at most 2x the floor (aim 1.5x),
`--collect-only` at most 1.3x the floor (collection reads each scenario's annotations for its
markers but never parses the scenario language), and `-n 2` against serial on two cores. Runs
are cold (`-p no:cacheprovider`), except the row marked "warm cache": pytest's cache folder is
kept there (for both suites), so the plugin finds the issue links of unchanged files by content
hash instead of reading their annotations again, as in a developer's repeated runs. It prints
the figures and never asserts them. Each ratio is the median over R pairs of runs made
alternately (the machine's speed drifts over seconds on a shared host; best-of-R of each side
separately mixes slow and fast periods), with the best wall times of each side beside it, and
for the same-work comparisons also the median CPU ratio (user + sys of pytest and its workers).

Usage: `.venv/bin/python bench/pytest.py [--count N] [--workers W] [--repeat R] [--scale K]`
(`--scale K` makes every scenario K blocks longer, to see where `-n` starts to pay for
pytest-xdist's per-test cost).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
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


NO_CACHE = ["-p", "no:cacheprovider"]


@dataclass(frozen=True, slots=True)
class Timing:
    """One run: wall seconds, CPU seconds (pytest and its workers), its summary line, and
    whether pytest ended normally (exit 0 or 1: tests ran)."""

    seconds: float
    cpu: float
    summary: str
    ok: bool


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


def run(cwd: Path, args: list[str], *, cache: bool = False) -> Timing:
    """Run pytest once in a subprocess from `cwd` (with pytest's cache folder when `cache`)."""
    command = [sys.executable, "-m", "pytest", "-q", *([] if cache else NO_CACHE), *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False, env=ENV)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    ok = done.returncode in (0, 1)
    if not ok:
        sys.stderr.write(done.stdout[-3000:] + done.stderr[-2000:])
    lines = done.stdout.strip().splitlines()
    return Timing(seconds, cpu, lines[-1] if lines else done.stderr.strip()[-200:], ok)


def compare(
    label: str,
    first: tuple[Path, list[str]],
    second: tuple[Path, list[str]],
    repeat: int,
    target: str,
    cpu: bool = True,
    cache: bool = False,
) -> float:
    """Run `first` and `second` alternately `repeat` times; print and return the median ratio.

    On a shared machine the speed drifts over seconds; alternating the two runs (and which
    goes first) and taking the median of the per-pair ratios keeps that drift out of the
    ratio. A pair where pytest did not end normally (exit other than 0 or 1) is left out.
    """
    pairs: list[tuple[Timing, Timing]] = []
    for index in range(repeat):
        if index % 2:
            b, a = run(*second, cache=cache), run(*first, cache=cache)
        else:
            a, b = run(*first, cache=cache), run(*second, cache=cache)
        if a.ok and b.ok:
            pairs.append((a, b))
    if not pairs:
        print(f"{label:<36} no pair ran normally (see the output above)", flush=True)
        return float("nan")
    walls = [a.seconds / b.seconds for a, b in pairs]
    cpus = [a.cpu / b.cpu for a, b in pairs]
    best_a = min(a.seconds for a, _ in pairs)
    best_b = min(b.seconds for _, b in pairs)
    cpu_text = f"{statistics.median(cpus):5.2f}x cpu" if cpu else " " * 10
    print(
        f"{label:<36} {statistics.median(walls):5.2f}x wall {cpu_text}  "
        f"(best {best_a:5.2f} s / {best_b:5.2f} s; target {target})",
        flush=True,
    )
    dropped = f"; {repeat - len(pairs)} pairs left out" if len(pairs) < repeat else ""
    print(f"{'':<36} {pairs[-1][0].summary[:60]} | {pairs[-1][1].summary[:60]}{dropped}",
          flush=True)
    return statistics.median(walls)


def main() -> None:
    """Generate, run, and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5, help="pairs of runs per ratio")
    parser.add_argument("--scale", type=int, default=0, help="extra blocks per scenario")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vfio-bench-") as tmp:
        suite, floor = generate(Path(tmp), args.count, args.scale)
        print(f"{args.count} scenarios (+{args.scale} extra blocks each) vs {args.count} floor "
              f"items; cpus={os.cpu_count()}; median of {args.repeat} alternating pairs")
        # Untimed runs, so that pytest's cached rewritten modules exist before timing.
        run(suite, ["--collect-only", "scenarios"])
        run(floor, ["-p", "no:vfio", "--collect-only", "files"])
        vfio_all, floor_all = (suite, ["scenarios"]), (floor, ["-p", "no:vfio", "files"])
        workers = ["-n", str(args.workers)]
        compare("full run / floor", vfio_all, floor_all, args.repeat, "<= 2.0x")
        compare(
            "--collect-only / floor",
            (suite, ["--collect-only", "scenarios"]),
            (floor, ["-p", "no:vfio", "--collect-only", "files"]),
            args.repeat,
            "<= 1.3x",
        )
        run(suite, ["--collect-only", "scenarios"], cache=True)  # fills the link cache
        compare(
            "--collect-only (warm cache) / floor",
            (suite, ["--collect-only", "scenarios"]),
            (floor, ["-p", "no:vfio", "--collect-only", "files"]),
            args.repeat,
            "<= 1.3x",
            cache=True,
        )
        # Speed-ups: serial wall time over parallel wall time (CPU time is not comparable:
        # the workers share the CPUs). The floor's figure is what pytest-xdist itself gives
        # on items that do almost nothing, for reference.
        compare(f"vfio: serial / -n {args.workers} (speed-up)", vfio_all,
                (suite, [*workers, "scenarios"]), args.repeat, ">= 1.5x", cpu=False)
        compare(f"floor: serial / -n {args.workers} (speed-up)", floor_all,
                (floor, ["-p", "no:vfio", *workers, "files"]), args.repeat, "reference",
                cpu=False)


if __name__ == "__main__":
    main()
