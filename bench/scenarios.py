"""Benchmark of the scenario pipeline: parse, check and run, match, against lark's own parse.

Run: `.venv/bin/python bench/scenarios.py [--count 1000] [--repeat 3] [--only CASE]`

Cases (`--only corpus|large|loop`):
- corpus: 1,000 generated scenarios of about 50 lines each, in one process: lines per second
  for each phase (parse = lark with the project's token checks and inline transformer; run =
  check and run on a fresh model; match = reading annotations and matching) and end to end,
  beside the baseline: lark alone parsing the same text with the same grammar, lark's own
  contextual lexer and no transformer (it builds lark's parse tree). Targets: end to end at
  least 12,000 lines/s, and within 1.6x of the baseline.
- large: one scenario of 65,535 maps against one of 4,096: the per-line cost of each and the
  ratio (target: within 2x).
- loop: a `for` of 10,000 iterations over `map` against the same 10,000 maps written out: the
  cost per iteration against the cost per written line (target: at most 1x).
Times are this process's CPU time (`time.process_time`: other processes on a shared machine do
not inflate them), each the best of `--repeat` interleaved runs.
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

from annotations import match, read_texts  # noqa: E402
from harness.model import ModelBackend  # noqa: E402
from harness.scenario import execute, parse  # noqa: E402
from harness.scenario.interpret import Interpreter  # noqa: E402
from harness.scenario.syntax import GRAMMAR  # noqa: E402
from harness.tags import SUITE_PROJECT  # noqa: E402
from harness.vfio.catalog import catalog  # noqa: E402

PROJECTS = ("model", SUITE_PROJECT)
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


IDS = frozenset(catalog())  # as the plugin reads it once (`harness.sources.known_ids`)


def end_to_end(file: str, text: str) -> bool:
    """Read the annotations, parse, check and run on a fresh model, match: whether it passed."""
    read = read_texts([(file, text)], prefix="//", catalog=IDS)
    result = execute([(file, text)], ModelBackend())
    return not match(result.outputs, read, PROJECTS, runs=result.runs).failed


def corpus(count: int, repeat: int, batch: int = 50) -> None:
    """The generated corpus, phase by phase and end to end, beside lark alone.

    Timed in batches of `batch` scenarios; within a batch every candidate runs `repeat` times in
    turn and keeps its least time, and the figures are sums over batches.
    """
    texts = [(f"gen/s{i}.vfio", generate(i)) for i in range(count)]
    lines = sum(text.count("\n") for _, text in texts)
    baseline = Lark(GRAMMAR.read_text(encoding="utf-8"), parser="lalr", lexer="contextual")
    parse("container warmup\n")  # build the pipeline's parser outside the timings
    assert all(end_to_end(file, text) for file, text in texts)
    totals: dict[str, float] = {}
    for start in range(0, count, batch):
        chunk = texts[start : start + batch]
        programs = [(file, list(parse(text, file))) for file, text in chunk]
        outputs = [execute([item], ModelBackend()) for item in chunk]

        def lark_alone(chunk: list[tuple[str, str]] = chunk) -> None:
            for _, text in chunk:
                baseline.parse(text)

        def parse_all(chunk: list[tuple[str, str]] = chunk) -> None:
            for file, text in chunk:
                list(parse(text, file))

        def run_all(programs: list[tuple[str, list[object]]] = programs) -> None:
            for file, statements in programs:
                Interpreter(ModelBackend()).run(file, statements)  # type: ignore[arg-type]

        def match_all(
            chunk: list[tuple[str, str]] = chunk, outputs: list[object] = outputs
        ) -> None:
            for item, result in zip(chunk, outputs, strict=True):
                read = read_texts([item], prefix="//", catalog=IDS)
                match(result.outputs, read, PROJECTS, runs=result.runs)  # type: ignore[attr-defined]

        def whole(chunk: list[tuple[str, str]] = chunk) -> None:
            for file, text in chunk:
                end_to_end(file, text)

        works = {"lark": lark_alone, "parse": parse_all, "run": run_all, "match": match_all}
        timings = interleaved(repeat, {**works, "total": whole})
        for name, seconds in timings.items():
            totals[name] = totals.get(name, 0.0) + seconds
    floor, total = totals.pop("lark"), totals.pop("total")
    print(f"corpus: {count} generated scenarios, {lines} lines ({lines / count:.1f} per scenario)")
    print(f"  {'baseline: lark alone':<30}{floor:8.3f} s {lines / floor:12,.0f} lines/s")
    print("    (same grammar, lark's contextual lexer, parse tree, no transformer)")
    for name, seconds in totals.items():
        share = 100 * seconds / sum(totals.values())
        print(f"  {name:<30}{seconds:8.3f} s {lines / seconds:12,.0f} lines/s  {share:5.1f} %")
    print(f"  {'end to end':<30}{total:8.3f} s {lines / total:12,.0f} lines/s")
    print(f"  parse / baseline: {totals['parse'] / floor:.2f}x")
    print(f"  end to end / baseline: {total / floor:.2f}x (target <= 1.6x)")
    print(f"  end to end rate: {lines / total:,.0f} lines/s (target >= 12,000)")


def many_maps(count: int) -> str:
    """A scenario of `count` maps (65,535 is the default entry limit) and a final check."""
    body = "".join(
        f"map c0 iova={(i + 1) << 12:#x} vaddr={0x7F00_0000_0000 + (i << 12):#x} size=4K\n"
        for i in range(count)
    )
    return f"container c0\n{body}assert c0.mappings == {count}\n"


def looped_maps(count: int) -> str:
    """The same maps as `many_maps(count)`, written as one `for`."""
    body = "    map c0 iova=((v + 1) << 12) vaddr=(0x7f0000000000 + (v << 12)) size=4K\n"
    return f"container c0\nfor v in 0..{count - 1} {{\n{body}}}\nassert c0.mappings == {count}\n"


def large(repeat: int) -> None:
    """Per-line cost of 65,535 maps against 4,096."""
    print("large: one scenario of many maps")
    costs = {}
    for count in (4096, 65535):
        text = many_maps(count)
        lines = text.count("\n")
        seconds = interleaved(repeat, {"run": lambda text=text: end_to_end("big.vfio", text)})
        costs[count] = seconds["run"] / lines
        print(f"  {count:>6} maps: {seconds['run']:7.3f} s, {1e6 * costs[count]:6.2f} us/line")
    print(f"  per-line cost 65,535 / 4,096: {costs[65535] / costs[4096]:.2f}x (target <= 2x)")


def loop(repeat: int, count: int = 10_000) -> None:
    """A `for` of `count` iterations over `map` against the same maps written out."""
    print(f"loop: {count:,} maps, as a for and written out")
    written, looped = many_maps(count), looped_maps(count)
    assert end_to_end("w.vfio", written) and end_to_end("l.vfio", looped)
    timings = interleaved(
        repeat,
        {
            "written": lambda: end_to_end("w.vfio", written),
            "looped": lambda: end_to_end("l.vfio", looped),
        },
    )
    per_line, per_iteration = timings["written"] / count, timings["looped"] / count
    print(f"  written out: {timings['written']:7.3f} s, {1e6 * per_line:6.2f} us/line")
    print(f"  for loop:    {timings['looped']:7.3f} s, {1e6 * per_iteration:6.2f} us/iteration")
    print(f"  per iteration / per written line: {per_iteration / per_line:.2f}x (target <= 1x)")


def main() -> None:
    """Print the figures."""
    options = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    options.add_argument("--count", type=int, default=1000)
    options.add_argument("--repeat", type=int, default=3)
    options.add_argument("--only", choices=("corpus", "large", "loop"))
    args = options.parse_args()
    print(f"bench/scenarios.py, best of {args.repeat}")
    if args.only in (None, "corpus"):
        corpus(args.count, args.repeat)
    if args.only in (None, "large"):
        large(args.repeat)
    if args.only in (None, "loop"):
        loop(args.repeat)


if __name__ == "__main__":
    main()
