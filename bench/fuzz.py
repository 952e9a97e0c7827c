"""A long robustness campaign outside pytest: the targets of tests/fuzz for as long as you like.

Run: `.venv/bin/python bench/fuzz.py --minutes N [--targets scenario,annotations]
[--out DIR] [--seed S] [--timeout SECONDS]`

Each target (tests/fuzz/fuzz_targets.py: `scenario`, `program`, `annotations`, `defines`)
gets an equal share of the time, with the campaign's larger sizes (lines repeated 2,000 times,
nesting 100,000 deep, lines of 100,000 characters). Hypothesis generates and mutates the inputs
and checks each against the target's contract: the project accepts it or answers with its own
located error, never another exception; the same input gives the same result twice; no file is
written. An input that takes longer than `--timeout` seconds is a failure too.

When an input breaks the contract, Hypothesis shrinks it to the smallest input that fails the
same way (the same exception from the same line of the project), and the campaign goes on:
that failure, met again, is counted and not shrunk again. Each distinct failure is printed
once, with how often it was met, and its smallest input is saved in a folder of its own under
`--out` (default `fuzz-findings`, created only when something is found; never the corpus):
the input's files, a description of how it was made, and the traceback.

It prints, per target, the inputs tried, the seconds spent and inputs per second. Exit status:
0 when nothing was found, 1 when something was, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this folder leads sys.path and bench/annotations.py would shadow the
# `annotations` package; the targets live beside the fuzz tests.
sys.path[:] = [str(ROOT), str(ROOT / "tests" / "fuzz")] + [
    p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"
]

from fuzz_inputs import LARGE  # noqa: E402
from fuzz_targets import Target, targets  # noqa: E402
from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

ROUND = 5_000  # examples per Hypothesis run: its record of choices tried stays small


class Escaped(Exception):
    """A BaseException the project let escape (SystemExit, ...), carried as an Exception so
    that Hypothesis shrinks it like any failure."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.error = error


class TooSlow(Exception):
    """An input that took longer than the campaign's timeout."""


@dataclass
class Failure:
    """One distinct failure: where it comes from, how often it was met, its smallest input."""

    target: str
    signature: tuple[str, str]  # (exception type, innermost frame of the project)
    example: Any
    text: str  # the traceback of the smallest input
    met: int = 1


@dataclass
class Tally:
    """What one target's share of the campaign did."""

    inputs: int = 0
    seconds: float = 0.0
    failures: list[Failure] = field(default_factory=list)


def signature(error: BaseException) -> tuple[str, str]:
    """The exception's type and the innermost frame in this project's code (not a library's):
    two inputs failing the same way share it."""
    if isinstance(error, TooSlow):
        return "TooSlow", "-"  # wherever the timer struck: one failure per target
    cause = error.error if isinstance(error, Escaped) else error
    where = "?"
    for frame in traceback.extract_tb(cause.__traceback__):
        path = Path(frame.filename)
        if ROOT in path.parents and ".venv" not in path.parts:
            where = f"{path.relative_to(ROOT)}:{frame.lineno} ({frame.name})"
    return type(cause).__name__, where


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise TooSlow in the body after `seconds` (the main thread's interval timer)."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise TooSlow(f"one input took more than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def campaign(target: Target, seconds: float, first_seed: int, timeout: float) -> Tally:
    """Run one target for `seconds`: Hypothesis runs of `ROUND` examples until the time is up."""
    tally = Tally()
    known: dict[tuple[str, str], Failure] = {}
    start = time.monotonic()
    stop = start + seconds
    latest: dict[tuple[str, str], tuple[Any, str]] = {}

    def check(data: st.DataObject) -> None:
        if time.monotonic() >= stop:
            return  # no draw: Hypothesis sees nothing left to try and ends the run
        value = data.draw(target.strategy)
        tally.inputs += 1
        try:
            with time_limit(timeout):
                target.check(value)
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # anything the project lets escape is a finding
            found = error if isinstance(error, Exception) else Escaped(error)
            key = signature(found)
            if key in known:
                known[key].met += 1
                return
            # Hypothesis replays the smallest failing input last: the one kept.
            latest[key] = (value, "".join(traceback.format_exception(error)))
            raise found from None

    number = 0
    while time.monotonic() < stop:
        run = settings(
            database=None,
            deadline=None,
            max_examples=ROUND,
            phases=(Phase.generate, Phase.shrink),
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=True,
            verbosity=Verbosity.quiet,
        )(seed(first_seed + number)(given(st.data())(check)))
        number += 1
        try:
            run()
        except KeyboardInterrupt:
            raise
        except Exception:  # Hypothesis re-raises what it found: the failures are in `latest`
            pass
        for key, (example, text) in latest.items():
            if key not in known:
                known[key] = Failure(target.name, key, example, text)
                tally.failures.append(known[key])
        latest.clear()
    tally.seconds = time.monotonic() - start
    return tally


def save(failure: Failure, target: Target, folder: Path) -> Path:
    """Write a failure's smallest input, how it was made, and its traceback to a new folder."""
    index = 1
    while (folder / f"{failure.target}-{index}").exists():
        index += 1
    where = folder / f"{failure.target}-{index}"
    for relpath, data in target.files(failure.example).items():
        path = where / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (where / "traceback.txt").write_text(failure.text, encoding="utf-8")
    return where


def main(argv: list[str] | None = None) -> int:
    """Run the campaign and print what it did and found."""
    table = targets(LARGE)
    options = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    options.add_argument("--minutes", type=float, default=10.0, help="the whole campaign's time")
    options.add_argument(
        "--targets", default=",".join(table), help=f"comma-separated, of: {', '.join(table)}"
    )
    options.add_argument("--out", type=Path, default=Path("fuzz-findings"))
    options.add_argument("--seed", type=int, default=0)
    options.add_argument("--timeout", type=float, default=60.0, help="seconds one input may take")
    args = options.parse_args(argv)
    chosen = [name.strip() for name in args.targets.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in table]
    if unknown or not chosen or args.minutes <= 0 or args.timeout <= 0:
        options.error(f"unknown target {unknown[0]!r}" if unknown else "nothing to run")
    if ROOT / "scenarios" in [args.out.resolve(), *args.out.resolve().parents]:
        options.error("--out must not be inside the scenario corpus")
    share = args.minutes * 60 / len(chosen)
    print(f"bench/fuzz.py: {args.minutes:g} minutes over {', '.join(chosen)} "
          f"({share:.0f} s each), seed {args.seed}")
    print(f"{'target':12s} {'inputs':>9s} {'seconds':>8s} {'inputs/s':>9s} {'failures':>9s}")
    found: list[Failure] = []
    try:
        for offset, name in enumerate(chosen):
            tally = campaign(table[name], share, args.seed + 1_000_000 * offset, args.timeout)
            rate = tally.inputs / tally.seconds if tally.seconds else 0.0
            print(f"{name:12s} {tally.inputs:9,} {tally.seconds:8.1f} {rate:9.1f} "
                  f"{len(tally.failures):9}", flush=True)
            found.extend(tally.failures)
    except KeyboardInterrupt:
        print("interrupted: what was found so far follows")
    if not found:
        print("found nothing: every input was accepted or answered with a located error")
        return 0
    print(f"found {len(found)} distinct failure(s):")
    for failure in found:
        kind, where = failure.signature
        folder = save(failure, table[failure.target], args.out)
        print(f"- {failure.target}: {kind} at {where}, met {failure.met} time(s); "
              f"smallest input in {folder}")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
