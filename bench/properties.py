"""Time the hypothesis property suite of the VFIO core, serially and with `-n 2`.

Runs `pytest tests/vfio -k "prop or stateful or edge" --hypothesis-profile=thorough` twice in
subprocesses from the repository root (once serially, once under pytest-xdist with two
workers) and prints the wall and CPU times, the test counts, the speed-up ratio and the number
of generated cases the seed report's "91 x 256" claim corresponds to. A third run with an empty
selection shows the fixed cost of starting the workers and collecting `tests/vfio`. The
issue's target is at most 20 s with `-n 2`; the script prints the figures, never asserts them.
CPU seconds are printed beside wall seconds because other load on the machine inflates wall
time much more than CPU time.

Usage: `.venv/bin/python bench/properties.py [--profile NAME] [--workers N]`
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SELECTION = "prop or stateful or edge"
TARGET_SECONDS = 20.0
NO_TESTS_RAN = 5  # pytest's exit status when the selection is empty (the startup run)
SEED_PROPERTIES = 91
SEED_EXAMPLES = 256
_SUMMARY = re.compile(r"(\d+) (passed|failed|error|errors|skipped|xfailed|xpassed)")


@dataclass(frozen=True, slots=True)
class Run:
    """One timed pytest run: wall seconds, outcome counts, exit status."""

    label: str
    seconds: float
    cpu_seconds: float
    counts: dict[str, int]
    returncode: int

    @property
    def tests(self) -> int:
        """Tests that ran to an outcome."""
        return sum(self.counts.values())


def _run(label: str, profile: str, extra: list[str], selection: str = SELECTION) -> Run:
    """Run the selected suite once in a subprocess and time it."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        "tests/vfio",
        "-q",
        "-p",
        "no:cacheprovider",
        "-k",
        selection,
        f"--hypothesis-profile={profile}",
        *extra,
    ]
    cpu_before = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    cpu_seconds = _children_cpu() - cpu_before
    tail = done.stdout.strip().splitlines()[-1:] or [""]
    counts: dict[str, int] = {}
    for number, outcome in _SUMMARY.findall(tail[0]):
        counts[outcome] = counts.get(outcome, 0) + int(number)
    if done.returncode not in (0, NO_TESTS_RAN):
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-2000:])
    return Run(label, seconds, cpu_seconds, counts, done.returncode)


def _children_cpu() -> float:
    """User + system CPU seconds of finished child processes (xdist workers included)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _count_given() -> dict[str, int]:
    """`@given` tests per property file (the stateful machines are counted apart)."""
    return {
        path.name: path.read_text(encoding="utf-8").count("@given(")
        for path in sorted((ROOT / "tests" / "vfio").glob("test_prop_*.py"))
    }


def main(argv: list[str] | None = None) -> int:
    """Print the figures; exit non-zero only if a run failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="thorough")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)

    per_file = _count_given()
    given = sum(per_file.values())
    print(f"property tests (@given) per file, profile {args.profile}:")
    for name, count in per_file.items():
        print(f"  {name:32} {count:4}")
    print(f"  {'total':32} {given:4}")

    # Wall time on a shared machine depends on its other load; CPU seconds much less so.
    print(f"load average before the runs: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    serial = _run("serial", args.profile, [])
    parallel = _run(f"-n {args.workers}", args.profile, ["-n", str(args.workers)])
    # The fixed cost inside that figure: start the workers and collect, but run nothing.
    startup = _run("startup", args.profile, ["-n", str(args.workers)], "no_test_has_this_name")
    for run in (serial, parallel):
        status = "ok" if run.returncode == 0 else f"FAILED (exit {run.returncode})"
        print(
            f"{run.label:>8}: {run.seconds:6.2f} s wall, {run.cpu_seconds:6.2f} s CPU,"
            f" {run.tests} tests {run.counts} {status}"
        )
    print(
        f" startup: {startup.seconds:6.2f} s wall, {startup.cpu_seconds:6.2f} s CPU"
        f" (-n {args.workers}, collection only: included in the -n {args.workers} figure)"
    )
    if parallel.seconds > 0:
        print(f"   ratio: serial / -n {args.workers} = {serial.seconds / parallel.seconds:.2f}x")
    print(f"    load average after the runs: {os.getloadavg()[0]:.2f}")
    verdict = "within" if parallel.seconds <= TARGET_SECONDS else "OVER"
    print(
        f"  target: <= {TARGET_SECONDS:.0f} s with -n {args.workers}: {verdict} "
        f"({parallel.seconds:.2f} s)"
    )
    print(
        f"   cases: seed claim {SEED_PROPERTIES} x {SEED_EXAMPLES} = "
        f"{SEED_PROPERTIES * SEED_EXAMPLES} cases; this suite at most "
        f"{given} x {SEED_EXAMPLES} = {given * SEED_EXAMPLES} property cases "
        "(hypothesis stops early when a strategy's space is exhausted) plus the machines"
    )
    return 0 if serial.returncode == 0 and parallel.returncode == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
