"""Time reading the annotations of the whole Silver corpus against merely reading its files.

In one process, interleaved round by round, it times three passes over the 1,465 files of
Silver's test corpus (vendored in `tests/data/silver/resources`):

- floor: open each file (UTF-8), read it and split it into lines;
- engine, cold: `annotations.read_files` on each file with the per-body parse memo emptied first;
- engine, warm: the same with the memo kept from the previous round (a long pytest session);

and prints the best and median time of each, and the ratios to the floor. The issue's target is
at most 3x the floor; the script prints the figures and never asserts them. The one-time build
of the lark parser (once per process) is printed apart, analysed afresh and loaded from the
user's cache (`annotations.lark_cache`).

The hostile cases (10 MB of `/`, 100,000 stacked annotations, ...) are in bench/scaling.py.

Usage: `.venv/bin/python bench/annotations.py [--rounds N] [--corpus PATH]`
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this file's folder leads sys.path and its name would shadow the package.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from lark import Lark  # noqa: E402

from annotations import read_files  # noqa: E402
from annotations.forms import _memoised  # noqa: E402
from annotations.grammar import GRAMMAR_PATH, FormBuilder, parser  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "silver" / "resources"
TARGET_RATIO = 3.0


def corpus_files(root: Path) -> list[Path]:
    """Every file under `root`, in sorted order."""
    return sorted(path for path in root.rglob("*") if path.is_file())


def floor(paths: list[Path]) -> int:
    """Read every file and split it into lines; return the line count."""
    lines = 0
    for path in paths:
        with open(path, encoding="utf-8", newline="") as handle:
            lines += len(handle.read().split("\n"))
    return lines


def engine(paths: list[Path]) -> int:
    """Read the annotations of every file; return how many annotations and diagnostics."""
    found = 0
    for path in paths:
        result = read_files([path])
        found += len(result.annotations) + len(result.diagnostics)
    return found


def engine_cold(paths: list[Path]) -> int:
    """`engine` with the per-body parse memo emptied first."""
    _memoised.cache_clear()
    return engine(paths)


def timed(run: Callable[[list[Path]], int], paths: list[Path]) -> float:
    """Seconds one call of `run` takes."""
    start = time.perf_counter()
    run(paths)
    return time.perf_counter() - start


def build_times() -> tuple[float, float]:
    """Seconds to analyse the annotation grammar afresh, and to load it from the cache."""
    start = time.perf_counter()
    Lark(GRAMMAR_PATH.read_text(encoding="utf-8"), parser="lalr", transformer=FormBuilder())
    fresh = time.perf_counter() - start
    parser.cache_clear()
    start = time.perf_counter()
    parser()
    return fresh, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--rounds", type=int, default=7)
    options.add_argument("--corpus", type=Path, default=CORPUS)
    args = options.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"error: corpus folder {args.corpus} not found", file=sys.stderr)
        return 2
    paths = corpus_files(args.corpus)
    parser()  # the first call saves the analysis when the cache had none
    fresh, loaded = build_times()

    runs: dict[str, Callable[[list[Path]], int]] = {
        "floor (read + split lines)": floor,
        "engine, cold parse memo": engine_cold,
        "engine, warm parse memo": engine,
    }
    engine(paths)  # warm the OS file cache and the interpreter once before timing
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            times[name].append(timed(run, paths))

    size = sum(path.stat().st_size for path in paths)
    print(f"corpus: {len(paths)} files, {size / 1e6:.2f} MB, {floor(paths)} lines")
    print(f"annotations + diagnostics: {engine(paths)}")
    print(
        f"lark parser, once per process: analysed {fresh * 1e3:.1f} ms, "
        f"loaded from the cache {loaded * 1e3:.1f} ms"
    )
    base = min(times["floor (read + split lines)"])
    base_median = statistics.median(times["floor (read + split lines)"])
    for name, values in times.items():
        best, median = min(values), statistics.median(values)
        print(
            f"{name:30s} best {best * 1e3:7.1f} ms  median {median * 1e3:7.1f} ms  "
            f"ratio best {best / base:4.2f}x  median {median / base_median:4.2f}x"
        )
    worst = min(times["engine, cold parse memo"]) / base
    verdict = "within" if worst <= TARGET_RATIO else "OVER"
    print(f"target: engine (cold) <= {TARGET_RATIO:.0f}x floor: {worst:.2f}x, {verdict} target")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
