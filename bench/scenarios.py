"""Benchmark of the scenario pipeline: parse, check, run and match, against lark parsing alone.

Run: `.venv/bin/python bench/scenarios.py [--count 1000] [--repeat 3]`

Prints:
1. 1,000 generated scenarios of about 50 lines each, in one process: lines per second for
   each phase (parse = lark with the inline transformer, check, run on a fresh model, match =
   reading annotations and matching) and end to end, beside lark parsing the same text alone
   with the same grammar and lexer, building its tree (the floor this design sets). Targets:
   end to end at least 12,000 lines/s on a 2-core machine, and within 1.5x of lark alone.
2. One scenario of 65,535 maps against one of 4,096: the per-line cost of each and the ratio
   (target: within 2x).
Times are this process's CPU time (`time.process_time`: other processes on a shared machine do
not inflate them), each the best of `--repeat` interleaved runs; the corpus is timed in batches
(see `corpus_figures`).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

# bench/annotations.py (the annotation engine's benchmark) would shadow the `annotations`
# package when this script's folder leads sys.path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

from lark import Lark  # noqa: E402

from annotations import Output, match, read_texts  # noqa: E402
from harness.model import ModelBackend  # noqa: E402
from harness.runner import PROJECT, run_programs  # noqa: E402
from harness.scenario import Checker, Program, parse, run  # noqa: E402
from harness.scenario.check import Step  # noqa: E402
from harness.scenario.syntax import GRAMMAR  # noqa: E402
from harness.vfio.catalog import catalog  # noqa: E402

HEADER = """container c0
device gpu0 0000:01:00.0 {
    bar 0 mem64 prefetch 256M
    bar 2 mem32 16M
    msix 16 table=2:0x0 pba=2:0x1000
}
attach gpu0 c0
alloc gpu0
"""


def generate(seed: int, lines: int = 50) -> str:
    """A passing scenario of about `lines` lines: maps, unmaps, config, MSI-X, asserts, errors."""
    rng = random.Random(seed)
    out = [f"// generated scenario {seed}", *HEADER.splitlines()]
    mapped: list[int] = []
    next_page = 0x100
    unmasked = False
    while len(out) < lines:
        choice = rng.randrange(10)
        if choice < 4 or not mapped:
            iova = next_page << 12
            next_page += rng.randrange(1, 4)
            out.append(f"map c0 iova={iova:#x} vaddr={0x7F00_0000_0000 + iova:#x} size=4K")
            mapped.append(iova)
        elif choice == 4:
            iova = mapped[rng.randrange(len(mapped))]
            out.append("//:: ExpectedOutput(dma.map.failed:overlap)")
            out.append(f"map c0 iova={iova:#x} vaddr=0x1000 size=4K")
        elif choice == 5:
            iova = mapped.pop(rng.randrange(len(mapped)))
            out.append(f"unmap c0 iova={iova:#x} size=4K == 4K")
        elif choice == 6:
            out.append(f"assert c0.mappings == {len(mapped)} and c0.mapped == {len(mapped)} * 4K")
        elif choice == 7:
            out.append("cfg read gpu0 0x18 == 0xc0000000")
        elif choice == 8:
            vector = rng.randrange(16)
            out.append(f"msix entry gpu0 {vector} addr=0xfee00000 data={0x4000 + vector:#x}")
            if not unmasked:
                out.append(f"msix unmask gpu0 {vector}")
                unmasked = True
        else:
            out.append(f"irq gpu0 {rng.randrange(16)}")
    return "\n".join(out) + "\n"


def best(repeat: int, work: Callable[[], object]) -> float:
    """The least of `repeat` CPU timings of `work()`, in seconds."""
    return interleaved(repeat, {"work": work})["work"]


def interleaved(repeat: int, works: dict[str, Callable[[], object]]) -> dict[str, float]:
    """The least of `repeat` timings of each work, run in turn so that they share the load of
    the machine alike (a ratio of two figures taken minutes apart measures the machine)."""
    least = dict.fromkeys(works, float("inf"))
    for _ in range(repeat):
        for name, work in works.items():
            start = time.process_time()
            work()
            least[name] = min(least[name], time.process_time() - start)
    return least


def corpus_figures(count: int, repeat: int, batch: int = 50) -> None:
    """Section 1: the generated corpus, phase by phase and end to end, beside lark alone.

    The corpus is timed in batches of `batch` scenarios; within a batch every candidate runs
    `repeat` times in turn and keeps its least time, and the figures are sums over batches.
    Short interleaved timings keep the ratios honest on a machine whose load changes.
    """
    texts = [(f"gen/s{i}.vfio", generate(i)) for i in range(count)]
    lines = sum(text.count("\n") for _, text in texts)
    ids = catalog().keys()
    projects = ("model", PROJECT)
    lark_alone = Lark(GRAMMAR.read_text(encoding="utf-8"), parser="lalr", lexer="contextual")
    parse("container warmup\n")  # build the pipeline's parser outside the timings
    totals: dict[str, float] = {}
    for start in range(0, count, batch):
        chunk = texts[start : start + batch]
        programs = [parse(text, file) for file, text in chunk]
        plans = [Checker().check(program) for program in programs]
        outputs_of: list[list[Output]] = [[] for _ in chunk]
        for plan, found in zip(plans, outputs_of, strict=True):
            run(plan, ModelBackend(), found)
        reads = [read_texts([item], prefix="//", catalog=ids) for item in chunk]

        def lark_only(chunk: list[tuple[str, str]] = chunk) -> None:
            for _, text in chunk:
                lark_alone.parse(text)

        def parse_all(chunk: list[tuple[str, str]] = chunk) -> None:
            for file, text in chunk:
                parse(text, file)

        def check_all(programs: list[Program] = programs) -> None:
            for program in programs:
                Checker().check(program)

        def run_all(plans: list[list[Step]] = plans) -> None:
            for plan in plans:
                run(plan, ModelBackend(), [])

        def match_all(
            chunk: list[tuple[str, str]] = chunk, outputs_of: list[list[Output]] = outputs_of
        ) -> None:
            for item, found in zip(chunk, outputs_of, strict=True):
                match(found, read_texts([item], prefix="//", catalog=ids), projects)

        def end_to_end(chunk: list[tuple[str, str]] = chunk) -> None:
            for file, text in chunk:
                read = read_texts([(file, text)], prefix="//", catalog=ids)
                outputs = run_programs([parse(text, file)], ModelBackend())
                outcome = match(outputs, read, projects)
                assert not outcome.failed, (file, outcome.findings)

        assert all(not match(o, r, projects).failed for o, r in zip(outputs_of, reads, strict=True))
        timings = interleaved(
            repeat,
            {
                "lark": lark_only,
                "parse": parse_all,
                "check": check_all,
                "run": run_all,
                "match": match_all,
                "total": end_to_end,
            },
        )
        for name, seconds in timings.items():
            totals[name] = totals.get(name, 0.0) + seconds
    floor, total = totals.pop("lark"), totals.pop("total")
    phases = totals
    print(f"{count} generated scenarios, {lines} lines ({lines / count:.1f} per scenario)")
    print(f"  {'lark parse alone (tree)':<26}{floor:8.3f} s {lines / floor:12,.0f} lines/s")
    for name, seconds in phases.items():
        share = 100 * seconds / sum(phases.values())
        print(f"  {name:<26}{seconds:8.3f} s {lines / seconds:12,.0f} lines/s  {share:5.1f} %")
    print(f"  {'end to end':<26}{total:8.3f} s {lines / total:12,.0f} lines/s")
    print(f"  parse (ours) / lark alone: {phases['parse'] / floor:.2f}x")
    print(f"  end to end / lark alone: {total / floor:.2f}x (target <= 1.5x)")
    print(f"  end to end rate: {lines / total:,.0f} lines/s (target >= 12,000)")


def many_maps(count: int) -> str:
    """A scenario of `count` maps (65,535 is the default entry limit) and a final check."""
    body = "".join(
        f"map c0 iova={(i + 1) << 12:#x} vaddr={0x7F00_0000_0000 + (i << 12):#x} size=4K\n"
        for i in range(count)
    )
    return f"container c0\n{body}assert c0.mappings == {count}\n"


def big_figures(repeat: int) -> None:
    """Section 2: per-line cost of 65,535 maps against 4,096 maps."""
    costs = {}
    for count in (4096, 65535):
        text = many_maps(count)
        lines = text.count("\n")

        def once(text: str = text, count: int = count) -> None:
            read = read_texts([("big.vfio", text)], prefix="//")
            outputs = run_programs([parse(text, "big.vfio")], ModelBackend())
            assert not outputs, outputs[:3]
            match(outputs, read, ("model", PROJECT))

        seconds = best(repeat, once)
        costs[count] = seconds / lines
        print(f"  {count:>6} maps: {seconds:7.3f} s, {1e6 * costs[count]:6.2f} us/line")
    print(f"  per-line cost 65,535 / 4,096: {costs[65535] / costs[4096]:.2f}x (target <= 2x)")


def main() -> None:
    """Print the figures."""
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--count", type=int, default=1000)
    options.add_argument("--repeat", type=int, default=3)
    args = options.parse_args()
    print(f"bench/scenarios.py ({Path(__file__).name}), best of {args.repeat}")
    corpus_figures(args.count, args.repeat)
    print("one large scenario")
    big_figures(args.repeat)


if __name__ == "__main__":
    main()
