"""Benchmark of process backends: the suite in process vs over `exec:python -m harness serve`.

Run: `.venv/bin/python bench/protocol.py [--generated 2000] [--repeat 3]`

Prints, in one run:
1. A child's start + `initialize` (the median of 15 sessions opened and closed): the time a
   pytest process or xdist worker pays once. Target: under 150 ms.
2. The corpus (`scenarios/`) and `--generated` generated scenarios (about 40 lines each: DMA,
   config space, MSI-X, asserts, annotated failures), each run end to end by the runner (read,
   parse, check, run, match) on the model in process and on the model over the protocol, with
   the outcomes compared (they must all agree). Times are wall-clock (the child works while
   this process waits), the best of `--repeat` interleaved runs. Target: over the protocol at
   most 2.5x the in-process time.
3. Where the time goes over the protocol: per request, this process's share (binding and
   encoding the call, decoding and checking the answer: cProfile of the run), the time spent
   waiting for the child, and the child's own work (the recorded requests replayed through
   `Server.handle` in this process).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

# bench/annotations.py would shadow the `annotations` package when this folder leads sys.path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

from harness.backend import BackendSession, CoreDefaults  # noqa: E402
from harness.discovery import Scenario, group  # noqa: E402
from harness.protocol.client import ProcessSession  # noqa: E402
from harness.protocol.model_server import ModelSession  # noqa: E402
from harness.protocol.server import Server  # noqa: E402
from harness.runner import RunResult, run_scenario  # noqa: E402
from harness.sessions import open_backend  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SERVE = f"{shlex.quote(sys.executable)} -m harness serve"
PROTOCOL_FILES = ("wire.py", "methods.py", "client.py", "lifecycle.py", "child.py")


def generated_scenario(seed: int) -> str:
    """About 40 statements on one container and one device, every failure annotated."""
    rng = random.Random(seed)
    lines = [
        "container c0",
        "device gpu 0000:01:00.0 {",
        "    bar 0 mem32 64K",
        "    msix 8 table=0:0x0 pba=0:0x800",
        "}",
        "attach gpu c0",
        "alloc gpu",
    ]
    pages: list[int] = []
    for _ in range(33):
        roll = rng.random()
        if roll < 0.35 or not pages:
            page = rng.randrange(1, 1 << 19)  # below the MSI window at 0xfee00000
            if page in pages:
                continue
            pages.append(page)
            lines.append(f"map c0 iova={page << 12:#x} vaddr={(page + 7) << 12:#x} size=4K")
        elif roll < 0.45:
            lines.append("//:: ExpectedOutput(dma.map.failed:overlap)")
            lines.append(f"map c0 iova={pages[-1] << 12:#x} vaddr=0x1000 size=4K")
        elif roll < 0.55:
            page = pages.pop(rng.randrange(len(pages)))
            lines.append(f"unmap c0 iova={page << 12:#x} size=4K == 4K")
        elif roll < 0.7:
            lines.append(f"assert c0.mappings == {len(pages)} and c0.mapped == {len(pages)} * 4K")
        elif roll < 0.8:
            lines.append(f"cfg write gpu 0x3c {rng.randrange(256):#x} size=1")
        elif roll < 0.9:
            vector = rng.randrange(8)
            lines.append(f"msix entry gpu {vector} addr=0xfee00000 data={vector:#x}")
        else:
            lines.append("//:: ExpectedOutput(config.access.failed:unaligned)")
            lines.append("cfg read gpu 0x3 size=2")
    return "\n".join(lines) + "\n"


def write_generated(folder: Path, count: int) -> list[Scenario]:
    """`count` generated scenarios written under `folder/scenarios/gen`."""
    target = folder / "scenarios" / "gen"
    target.mkdir(parents=True)
    files = []
    for seed in range(count):
        path = target / f"g{seed:05}.vfio"
        path.write_text(generated_scenario(seed))
        files.append(path)
    return group(files, folder / "scenarios")


def corpus() -> list[Scenario]:
    """The scenarios of `scenarios/`, folder by folder."""
    root = ROOT / "scenarios"
    found: list[Scenario] = []
    for folder in sorted({p.parent for p in root.rglob("*.vfio")}):
        found += group(sorted(folder.glob("*.vfio")), root)
    return found


def run_all(scenarios: Sequence[Scenario], session: BackendSession) -> list[RunResult]:
    """Every scenario, end to end, on the session."""
    return [run_scenario(s, session=session) for s in scenarios]


def verdicts(results: Sequence[RunResult]) -> list[object]:
    """What must agree between the two runs: each scenario's status and outputs' ids."""
    return [(r.status(), tuple((o.file, o.line, o.id) for o in r.outputs)) for r in results]


def best_of(repeat: int, runs: dict[str, Callable[[], object]]) -> dict[str, float]:
    """The best wall time of each run, the runs interleaved `repeat` times."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeat):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def start_times(count: int = 15) -> list[float]:
    """Seconds from starting a child to its `initialize` answer, `count` times."""
    times = []
    for _ in range(count):
        start = time.perf_counter()
        session = ProcessSession(SERVE, CoreDefaults(), cwd=ROOT, timeout=30)
        assert session.name == "model"
        times.append(time.perf_counter() - start)
        session.close()
    return times


class Recording:
    """A transcript that keeps the request lines, to replay them through a Server."""

    def __init__(self) -> None:
        self.requests: list[bytes] = []

    def write(self, prefix: str, text: str) -> None:
        if prefix == "> ":
            self.requests.append(text.encode() + b"\n")

    def close(self) -> None:
        """Nothing to close."""


def breakdown(scenarios: Sequence[Scenario], in_process: float, over: float) -> None:
    """Where the time over the protocol goes, per request."""
    recording = Recording()
    session = ProcessSession(SERVE, CoreDefaults(), cwd=ROOT, timeout=30, log=recording)
    profile = cProfile.Profile()
    try:
        profile.runcall(run_all, scenarios, session)
    finally:
        session.close()
    requests = len(recording.requests)
    stats = pstats.Stats(profile)
    own = waiting = 0.0
    for (file, _, function), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        if Path(file).name in PROTOCOL_FILES and Path(file).parent.name == "protocol":
            own += tottime
        if function == "<method 'poll' of 'select.poll' objects>":
            waiting += tottime
        elif function in ("<built-in method posix.read>", "<built-in method posix.write>") or (
            "write' of '_io.FileIO" in function
        ):
            own += tottime
    # The child's work: the same requests through a Server in this process.
    server = Server(ModelSession)
    start = time.perf_counter()
    for line in recording.requests:
        server.handle(line)
    child = time.perf_counter() - start
    per = 1e6 / requests
    extra = over - in_process
    print(f"  requests: {requests}, {requests / len(scenarios):.1f} per scenario")
    print(f"  extra time over the protocol: {extra:.2f} s = {extra * per:.0f} us per request")
    print(
        f"    this process, protocol code (bind, encode, decode, check; cProfile): "
        f"{own * per:.0f} us per request (profiled, so inflated)"
    )
    print(
        f"    waiting for the child (poll; includes its work and both context switches): "
        f"{waiting * per:.0f} us per request"
    )
    print(
        f"    the child's own work (the requests replayed through Server.handle): "
        f"{child * per:.0f} us per request"
    )
    ranked = sorted(
        (
            (tottime, function, Path(file).name)
            for (file, _, function), (_, _, tottime, _, _) in stats.stats.items()
        ),  # type: ignore[attr-defined]
        reverse=True,
    )[:8]
    print("  heaviest functions in this process over the protocol (cProfile tottime):")
    for tottime, function, file in ranked:
        print(f"    {tottime * per:7.1f} us/request  {file}:{function}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generated", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    times = start_times()
    median = statistics.median(times)
    print(
        f"child start + initialize: median {median * 1e3:.0f} ms, min {min(times) * 1e3:.0f} ms,"
        f" max {max(times) * 1e3:.0f} ms over {len(times)} (target < 150 ms:"
        f" {'met' if median < 0.150 else 'MISSED'})"
    )

    with tempfile.TemporaryDirectory() as folder:
        sets = {"corpus": corpus(), "generated": write_generated(Path(folder), args.generated)}
        model = open_backend("model", CoreDefaults())
        process = open_backend(f"exec:{SERVE}", CoreDefaults(), cwd=ROOT)
        try:
            for name, scenarios in sets.items():
                a, b = run_all(scenarios, model), run_all(scenarios, process)
                agree = sum(x == y for x, y in zip(verdicts(a), verdicts(b), strict=True))
                best = best_of(
                    args.repeat,
                    {
                        "in process": partial(run_all, scenarios, model),
                        "over the protocol": partial(run_all, scenarios, process),
                    },
                )
                ratio = best["over the protocol"] / best["in process"]
                print(
                    f"{name}: {len(scenarios)} scenarios, outcomes agree {agree}/{len(scenarios)};"
                    f" in process {best['in process']:.2f} s,"
                    f" over the protocol {best['over the protocol']:.2f} s:"
                    f" {ratio:.2f}x (target <= 2.5x: {'met' if ratio <= 2.5 else 'MISSED'})"
                )
                if name == "generated":
                    breakdown(scenarios, best["in process"], best["over the protocol"])
        finally:
            model.close()
            process.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
