"""Time bless on the scenario corpus against a plain run of the same corpus.

Copies `scenarios/` into a temporary folder K times (`--copies`), twice over: as it is (bless
finds nothing to change: the cost of looking), and with every `//:: ExpectedOutput(...)` line
stripped (bless has real work: it adds every one of them back, in about half the files, and
matches each scenario's outputs against its new text). Then measures, each as the median over
R pairs of runs made alternately (a shared machine's speed drifts over seconds):

- in process, on one model session: `run_scenario` for every scenario against
  `bless_scenario` (which reads, runs, plans and writes); the stripped copy is restored before
  every bless (not timed), so each one writes the same files;
- end to end: `python -m harness run DIR` against `python -m harness bless DIR`, and
  `pytest DIR` against `pytest DIR --vfio-bless` (subprocesses, cold: no pytest cache).

It prints the figures and the ratios (issue 12's bound: bless at most 1.5x a plain run) and
never asserts them.

Usage: `.venv/bin/python bench/bless.py [--copies K] [--repeat R] [--no-processes]`
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.backend import CoreDefaults  # noqa: E402
from harness.bless import BlessOptions, bless_scenario  # noqa: E402
from harness.cli import collect  # noqa: E402
from harness.discovery import Scenario  # noqa: E402
from harness.options import RunOptions  # noqa: E402
from harness.runner import run_scenario  # noqa: E402
from harness.sessions import MODEL, open_backend  # noqa: E402

EXPECTED = re.compile(r"^[ \t]*//:: ExpectedOutput\(.*\n", re.MULTILINE)


def copy_corpus(target: Path, copies: int, *, strip: bool) -> int:
    """K copies of the corpus under `target` (ExpectedOutput lines stripped when `strip`);
    how many annotation lines were stripped."""
    stripped = 0
    for copy in range(copies):
        for source in sorted((ROOT / "scenarios").rglob("*.vfio")):
            path = target / f"copy{copy}" / source.relative_to(ROOT / "scenarios")
            path.parent.mkdir(parents=True, exist_ok=True)
            text = source.read_text(encoding="utf-8")
            if strip:
                text, count = EXPECTED.subn("", text)
                stripped += count
            path.write_text(text, encoding="utf-8")
    return stripped


def restore(pristine: Path, target: Path) -> None:
    """Make `target` a fresh copy of `pristine`, on disk: bless flushes each file it writes
    (fsync), and on most file systems that also flushes whatever else is waiting, which here
    would be this copy, the benchmark's own setup."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(pristine, target)
    os.sync()


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def paired(
    run: Callable[[], float], bless: Callable[[], float], repeat: int
) -> tuple[float, float, float]:
    """Median ratio bless/run over alternating pairs, and the best time of each side."""
    runs, blesses, ratios = [], [], []
    for _ in range(repeat):
        a, b = run(), bless()
        runs.append(a)
        blesses.append(b)
        ratios.append(b / a)
    return statistics.median(ratios), min(runs), min(blesses)


def in_process(folder: Path, pristine: Path | None, repeat: int) -> tuple[float, float, float]:
    """Every scenario run, against every scenario blessed, on one model session."""
    scenarios: list[Scenario] = collect([folder], RunOptions())
    session = open_backend(MODEL, CoreDefaults())

    def run() -> float:
        return timed(lambda: [run_scenario(s, session=session) for s in scenarios])

    def bless() -> float:
        if pristine is not None:
            restore(pristine, folder)
        options = BlessOptions()
        return timed(lambda: [bless_scenario(s, session, options=options) for s in scenarios])

    try:
        return paired(run, bless, repeat)
    finally:
        session.close()


def process(
    command: list[str], blessing: list[str], folder: Path, pristine: Path | None, repeat: int
) -> tuple[float, float, float]:
    """A plain run against a bless, each a subprocess from the repository's root."""
    environment = {**os.environ, "NO_COLOR": "1"}

    def once(words: list[str]) -> float:
        return timed(
            lambda: subprocess.run(
                words, cwd=ROOT, env=environment, capture_output=True, check=False
            )
        )

    def bless() -> float:
        if pristine is not None:
            restore(pristine, folder)
        return once(blessing)

    return paired(lambda: once(command), bless, repeat)


def report(label: str, figures: tuple[float, float, float]) -> None:
    ratio, run, bless = figures
    print(f"  {label:<34} run {run * 1000:8.1f} ms   bless {bless * 1000:8.1f} ms   "
          f"bless/run {ratio:5.2f}x (median of pairs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=4, help="corpus copies (default 4)")
    parser.add_argument("--repeat", type=int, default=5, help="pairs per figure (default 5)")
    parser.add_argument(
        "--no-processes", action="store_true", help="in-process figures only"
    )
    args = parser.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory() as temporary:
        base = Path(temporary)
        intact, stripped, pristine = base / "intact", base / "stripped", base / "pristine"
        copy_corpus(intact, args.copies, strip=False)
        count = copy_corpus(pristine, args.copies, strip=True)
        restore(pristine, stripped)
        files = len(list(intact.rglob("*.vfio")))
        print(f"corpus: {files} files ({args.copies} copies of scenarios/); the stripped copy "
              f"lacks {count} ExpectedOutput lines")
        print("in process (one model session):")
        report("as it is (nothing to change)", in_process(intact, None, args.repeat))
        report("ExpectedOutput stripped", in_process(stripped, pristine, args.repeat))
        if args.no_processes:
            return
        print("end to end (subprocesses):")
        for label, folder, source in (
            ("as it is", intact, None),
            ("ExpectedOutput stripped", stripped, pristine),
        ):
            cli = [python, "-m", "harness"]
            report(
                f"python -m harness, {label}",
                process([*cli, "run", str(folder)], [*cli, "bless", str(folder)], folder,
                        source, args.repeat),
            )
            pytest = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
                      str(folder)]
            report(
                f"pytest, {label}",
                process(pytest, [*pytest, "--vfio-bless"], folder, source, args.repeat),
            )
    print("bound (issue 12): bless at most 1.5x a plain run of the same corpus")


if __name__ == "__main__":
    main()
