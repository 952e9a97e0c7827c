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
3. Where the extra time over the protocol goes, per request: this process's extra CPU time
   (binding and encoding the call, the pipe's system calls, decoding and checking the answer),
   the child's own work (the recorded requests replayed through `Server.handle` in this
   process), and the rest (the two context switches of a round trip); then this process's
   heaviest protocol functions (cProfile). For scale, the round trip to a Python child that
   only echoes each line, back to back and after 1 ms of work in this process (on a virtual
   machine, waking a child whose CPU went idle costs far more than the pipe itself).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

# bench/annotations.py would shadow the `annotations` package when this folder leads sys.path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

from harness.backend import BackendSession, CoreDefaults  # noqa: E402
from harness.discovery import Scenario, group  # noqa: E402
from harness.protocol.client import ProcessSession  # noqa: E402
from harness.protocol.model_server import open_model  # noqa: E402
from harness.protocol.server import Server  # noqa: E402
from harness.runner import RunResult, run_scenario  # noqa: E402
from harness.sessions import open_backend  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SERVE = f"{shlex.quote(sys.executable)} -m harness serve"


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


@dataclass(frozen=True)
class Timing:
    """The best wall time of a run, and this process's CPU time in that same run."""

    wall: float
    cpu: float


def best_of(repeat: int, runs: dict[str, Callable[[], object]], passes: int) -> dict[str, Timing]:
    """Each run `passes` times per sample, the runs interleaved, best of `repeat` samples."""
    best = dict.fromkeys(runs, Timing(float("inf"), 0.0))
    for _ in range(repeat):
        for name, run in runs.items():
            cpu, start = time.process_time(), time.perf_counter()
            for _ in range(passes):
                run()
            wall = (time.perf_counter() - start) / passes
            if wall < best[name].wall:
                best[name] = Timing(wall, (time.process_time() - cpu) / passes)
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


ECHO = (
    "import sys\n"
    "for line in sys.stdin.buffer:\n"
    "    sys.stdout.buffer.write(line)\n"
    "    sys.stdout.buffer.flush()\n"
)


def echo_floor(count: int = 2000) -> tuple[float, float]:
    """Round trips to a Python child that only echoes a line: back to back, and after 1 ms of
    work in this process (as when the harness parses a scenario between its requests)."""
    child = subprocess.Popen(
        [sys.executable, "-c", ECHO], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0
    )
    assert child.stdin is not None and child.stdout is not None
    line = b"x" * 100 + b"\n"
    floors = []
    try:
        for work in (0.0, 0.001):
            total = 0.0
            for _ in range(count if not work else count // 4):
                busy = time.perf_counter() + work
                while time.perf_counter() < busy:
                    pass
                start = time.perf_counter()
                child.stdin.write(line)
                child.stdout.readline()
                total += time.perf_counter() - start
            floors.append(total / (count if not work else count // 4))
    finally:
        child.stdin.close()
        child.wait()
    return floors[0], floors[1]


class Recording:
    """A transcript that keeps the request lines, to replay them through a Server."""

    def __init__(self) -> None:
        self.requests: list[bytes] = []

    def write(self, prefix: str, text: str) -> None:
        if prefix == "> ":
            self.requests.append(text.encode() + b"\n")

    def close(self) -> None:
        """Nothing to close."""


def breakdown(scenarios: Sequence[Scenario], inside: Timing, over: Timing) -> None:
    """Where the extra time over the protocol goes, per request."""
    recording = Recording()
    session = ProcessSession(SERVE, CoreDefaults(), cwd=ROOT, timeout=30, log=recording)
    profile = cProfile.Profile()
    try:
        profile.runcall(run_all, scenarios, session)
    finally:
        session.close()
    # The child's own work: the same requests through a Server in this process.
    server = Server(open_model)
    start = time.perf_counter()
    for line in recording.requests:
        server.handle(line)
    child = time.perf_counter() - start
    requests = len(recording.requests)
    per = 1e6 / requests
    extra, mine = over.wall - inside.wall, over.cpu - inside.cpu
    print(f"  requests: {requests}, {requests / len(scenarios):.1f} per scenario")
    print(f"  extra wall time over the protocol: {extra * per:.0f} us per request, of which")
    print(
        f"    this process's extra CPU (bind, encode, write, read, decode, check): "
        f"{mine * per:.0f} us"
    )
    print(f"    the child's own work (decode, check, the model, encode): {child * per:.0f} us")
    print(
        f"    the rest, two context switches and the scheduler: "
        f"{(extra - mine - child) * per:.0f} us"
    )
    stats = pstats.Stats(profile)
    ranked = sorted(
        (
            (tottime, f"{Path(file).name}:{function}")
            for (file, _, function), (_, _, tottime, _, _) in stats.stats.items()  # type: ignore[attr-defined]
            if Path(file).parent.name == "protocol" or file == "~"
        ),
        reverse=True,
    )[:8]
    print("  this process's heaviest protocol functions and calls (cProfile, so inflated; a")
    print("  write to the child's pipe also waits while the child runs):")
    for tottime, name in ranked:
        print(f"    {tottime * per:7.1f} us/request  {name}")


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

    back_to_back, after_work = echo_floor()
    print(
        f"the machine's floor, a Python child that echoes a line: {back_to_back * 1e6:.0f} us"
        f" per round trip back to back, {after_work * 1e6:.0f} us after 1 ms of work here"
    )

    with tempfile.TemporaryDirectory() as folder:
        sets = {"corpus": corpus(), "generated": write_generated(Path(folder), args.generated)}
        model = open_backend("model", CoreDefaults())
        process = open_backend(f"exec:{SERVE}", CoreDefaults(), cwd=ROOT)
        try:
            for name, scenarios in sets.items():
                a, b = run_all(scenarios, model), run_all(scenarios, process)
                agree = sum(x == y for x, y in zip(verdicts(a), verdicts(b), strict=True))
                # The small corpus runs several times per sample, for a measurable time.
                passes = max(1, 1000 // len(scenarios))
                best = best_of(
                    args.repeat,
                    {
                        "in process": partial(run_all, scenarios, model),
                        "over the protocol": partial(run_all, scenarios, process),
                    },
                    passes,
                )
                inside, over = best["in process"], best["over the protocol"]
                ratio = over.wall / inside.wall
                print(
                    f"{name}: {len(scenarios)} scenarios, outcomes agree {agree}/{len(scenarios)};"
                    f" in process {inside.wall:.3f} s, over the protocol {over.wall:.3f} s:"
                    f" {ratio:.2f}x (target <= 2.5x: {'met' if ratio <= 2.5 else 'MISSED'})"
                )
                if name == "generated":
                    breakdown(scenarios, inside, over)
        finally:
            model.close()
            process.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
