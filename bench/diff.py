"""How fast differential testing goes: generated ops/s, and time to the first divergence.

Rows (each a search from `harness.diff.search`, with its own seed):

1. model against the model in process: the generator's and the comparison's own cost;
2. model against the model served over the protocol (`exec:python -m harness serve`): the
   figure issue 15 sets a target for (>= 2,000 ops/s), and its ratio to row 1;
3. a process backend with a planted bug (`tests/diff/diff_planted_serve.py overlap`, a map
   overlapping the last page of another is accepted): seconds until the first divergent
   program, and until its class is shrunk and found, median over several seeds (target
   <= 10 s to the first divergence);
4. against the kernel, when `-D backend=kernel` can be opened here (`python -m harness kernel
   setup`); otherwise the row says why it is left out. `-D kernel.version=6.12` (and the other
   kernel keys) choose the guest.

"ops" are the calls the target answered (declarations, operations and the queries after each
program; shrinking runs included where a row shrinks). The script prints figures and never
asserts them.

Usage: `.venv/bin/python bench/diff.py [--budget N] [--seeds N] [--kernel-budget N] [-D KEY=VALUE]`
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

from harness.backend import BackendSession, CoreDefaults
from harness.diff.search import Limits, Search, Stats
from harness.options import OptionError, parse_defines
from harness.sessions import BackendError, open_backend

ROOT = Path(__file__).resolve().parent.parent
PLANTED = ROOT / "tests" / "diff" / "diff_planted_serve.py"
OPS_TARGET = 2000.0
FIRST_TARGET = 10.0


def _session(spec: str, defines: Sequence[str] = ()) -> BackendSession:
    options = parse_defines([f"backend={spec}", *defines])
    return open_backend(spec, CoreDefaults(), options)


def _exec(*words: str) -> str:
    return "exec:" + shlex.join(words)


def _search(target: str, limits: Limits, seed: int, defines: Sequence[str] = ()) -> Stats:
    reference, other = _session("model"), _session(target, defines)
    try:
        search = Search(reference, other, seed=seed, limits=limits)
        search.run_all()
        return search.stats
    finally:
        other.close()
        reference.close()


def _rate(stats: Stats) -> float:
    return stats.ops / stats.elapsed


def throughput(budget: int) -> None:
    """Rows 1 and 2."""
    in_process = _search("model", Limits(budget=budget), seed=1)
    served = _search(_exec(sys.executable, "-m", "harness", "serve"), Limits(budget=budget), 1)
    print(f"programs per row: {budget} (seed 1, areas dma,config,msix)")
    print(f"  model vs model, in process     {_rate(in_process):9,.0f} ops/s")
    print(
        f"  model vs model, over protocol  {_rate(served):9,.0f} ops/s"
        f"  (target >= {OPS_TARGET:,.0f}; {_rate(served) / OPS_TARGET:.2f}x the target;"
        f" {_rate(served) / _rate(in_process):.2f}x in process)"
    )


def first_divergence(seeds: int) -> None:
    """Row 3: the planted bug over the protocol, each seed searching until its first class."""
    target = _exec(sys.executable, str(PLANTED), "overlap")
    runs = [_search(target, Limits(seconds=60, classes=1), seed) for seed in range(1, seeds + 1)]
    never = float("inf")
    firsts = [never if s.first_divergence is None else s.first_divergence for s in runs]
    founds = [never if s.first_class is None else s.first_class for s in runs]
    median = statistics.median(firsts)
    print(f"planted bug over the protocol (overlap by one page), {seeds} seeds:")
    print(
        f"  first divergent program  median {median:6.2f} s  (max {max(firsts):.2f} s;"
        f" target <= {FIRST_TARGET:.0f} s; {FIRST_TARGET / median:.1f}x under it)"
    )
    print(f"  first class shrunk       median {statistics.median(founds):6.2f} s")


def kernel(budget: int, defines: Sequence[str]) -> None:
    """Row 4, when the kernel backend opens here."""
    try:
        session = _session("kernel", defines)
    except (BackendError, OptionError) as error:  # not wired here, or not set up
        print(f"kernel: left out ({error.message})")
        return
    info = ", ".join(f"{key} {value}" for key, value in sorted(session.info.items()))
    session.close()
    stats = _search("kernel", Limits(budget=budget), seed=1, defines=defines)
    first = "-" if stats.first_divergence is None else f"{stats.first_divergence:.1f} s"
    print(f"kernel ({info}):")
    print(
        f"  {budget} programs (seed 1), {_rate(stats):,.0f} ops/s shrinking included,"
        f" {stats.classes} classes, first divergent program after {first}"
    )


def main() -> None:
    """Run the rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=600, help="programs per throughput row")
    parser.add_argument("--seeds", type=int, default=5, help="seeds for the planted bug")
    parser.add_argument("--kernel-budget", type=int, default=300, help="programs on the kernel")
    parser.add_argument(
        "-D", dest="defines", action="append", default=[], help="kernel.* options of row 4"
    )
    args = parser.parse_args()
    throughput(args.budget)
    first_divergence(args.seeds)
    kernel(args.kernel_budget, args.defines)


if __name__ == "__main__":
    main()
