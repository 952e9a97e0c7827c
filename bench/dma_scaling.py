"""How the DMA container's costs grow from 1,024 to 65,535 mappings.

For each size N: N random page-aligned, non-overlapping maps; N lookups (`find`) of random
mapped bytes; one `unmap_all`. Prints the cost per operation at each size, the ratio of the
65,535 costs to the 1,024 costs (O(log n) operations stay near 1; the target is <= 2x), the
wall time of the whole 65,535 run (target < 1 s) and its peak traced memory (target < 64 MB).
The script prints figures and never asserts them.

Usage: `.venv/bin/python bench/dma_scaling.py [--seed N]`
"""

from __future__ import annotations

import argparse
import random
import time
import tracemalloc
from dataclasses import dataclass

from harness.vfio.address import Hva, Iova
from harness.vfio.dma import Container

PAGE = 4096
SIZES = (1024, 65535)
RATIO_TARGET = 2.0
WALL_TARGET = 1.0
MEMORY_TARGET = 64 << 20
REPEATS = 5


@dataclass(frozen=True, slots=True)
class Run:
    """Figures of one run at one size."""

    n: int
    map_ns: float
    find_ns: float
    ordered_find_ns: float
    unmap_all_ns: float
    wall_s: float
    peak_bytes: int


def workload(n: int, seed: int) -> tuple[list[tuple[Iova, Hva, int]], list[Iova]]:
    """N non-overlapping maps of 1-4 pages in random order, and N lookups of mapped bytes."""
    rng = random.Random(seed)
    # Slots of 8 pages each, a random subset, each holding a 1-4 page mapping at a random
    # page offset inside its slot: random addresses and sizes, never overlapping.
    slots = rng.sample(range(n * 4), n)
    maps: list[tuple[Iova, Hva, int]] = []
    for slot in slots:
        pages = rng.randint(1, 4)
        start = (slot * 8 + rng.randint(0, 8 - pages)) * PAGE
        maps.append((Iova(start), Hva(0x7F00_0000_0000 + start), pages * PAGE))
    lookups = []
    for _ in range(n):
        iova, _, size = maps[rng.randrange(n)]
        lookups.append(iova + rng.randrange(size))
    return maps, lookups


def exercise(
    maps: list[tuple[Iova, Hva, int]], lookups: list[Iova], ordered: list[Iova]
) -> tuple[float, ...]:
    """Map all, look up all (random, then IOVA order), unmap all; return the phase times."""
    container = Container(limit=65535, reserved=())
    t0 = time.perf_counter()
    for iova, vaddr, size in maps:
        container.map(iova, vaddr, size)
    t1 = time.perf_counter()
    found = sum(container.find(iova) is not None for iova in lookups)
    t2 = time.perf_counter()
    found_in_order = sum(container.find(iova) is not None for iova in ordered)
    t3 = time.perf_counter()
    removed = container.unmap_all()
    t4 = time.perf_counter()
    if not found == found_in_order == len(lookups) or removed != sum(size for _, _, size in maps):
        raise SystemExit(f"wrong results: found {found}, removed {removed}")
    return t1 - t0, t2 - t1, t4 - t3, t3 - t2


def run(n: int, seed: int) -> Run:
    """Time REPEATS untraced runs at size N (best of each phase), then one under tracemalloc.

    tracemalloc slows every allocation several-fold, so timing and memory are separate runs;
    the best of several runs filters out other processes on a shared machine, as timeit does.
    """
    maps, lookups = workload(n, seed)
    ordered = sorted(lookups)
    phases = [exercise(maps, lookups, ordered) for _ in range(REPEATS)]
    # The run's wall time: its maps, random lookups and unmap-all (not the in-order pass).
    walls = [map_s + find_s + unmap_s for map_s, find_s, unmap_s, _ in phases]
    map_s, find_s, unmap_s, ordered_s = (min(column) for column in zip(*phases, strict=True))
    wall_s = min(walls)
    tracemalloc.start()
    exercise(maps, lookups, ordered)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return Run(
        n=n,
        map_ns=map_s / n * 1e9,
        find_ns=find_s / n * 1e9,
        ordered_find_ns=ordered_s / n * 1e9,
        unmap_all_ns=unmap_s * 1e9,
        wall_s=wall_s,
        peak_bytes=peak,
    )


def main() -> None:
    """Run both sizes and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    small, large = (run(n, args.seed) for n in SIZES)
    print(
        f"{'n':>7} {'map ns/op':>10} {'find ns/op':>11} {'unmap_all ms':>13} {'wall s':>8}"
        f" {'peak MB':>8}"
    )
    for r in (small, large):
        print(
            f"{r.n:>7} {r.map_ns:>10.0f} {r.find_ns:>11.0f} {r.unmap_all_ns / 1e6:>13.2f}"
            f" {r.wall_s:>8.3f} {r.peak_bytes / 2**20:>8.1f}"
        )
    map_ratio = large.map_ns / small.map_ns
    find_ratio = large.find_ns / small.find_ns
    ordered_ratio = large.ordered_find_ns / small.ordered_find_ns
    print(
        f"find in IOVA order (same work, cache-friendly): {small.ordered_find_ns:.0f} ns ->"
        f" {large.ordered_find_ns:.0f} ns ({ordered_ratio:.2f}x)"
    )
    print(
        f"per-op ratio {large.n}/{small.n}: map {map_ratio:.2f}x, find {find_ratio:.2f}x"
        f" (target <= {RATIO_TARGET:.0f}x)"
    )
    # unmap_all is O(n) by nature; per mapping it should stay flat too.
    per_small = small.unmap_all_ns / small.n
    per_large = large.unmap_all_ns / large.n
    print(
        f"unmap_all per mapping: {per_small:.0f} ns -> {per_large:.0f} ns"
        f" ({per_large / per_small:.2f}x)"
    )
    print(f"wall time of the {large.n} run: {large.wall_s:.3f} s (target < {WALL_TARGET:.0f} s)")
    print(
        f"peak traced memory of the {large.n} run: {large.peak_bytes / 2**20:.1f} MB"
        f" (target < {MEMORY_TARGET >> 20} MB)"
    )


if __name__ == "__main__":
    main()
