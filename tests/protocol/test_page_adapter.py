"""The client against an adapter written from the protocol page alone (adapters/strict.py).

The adapter imports nothing of the harness: it holds every line the harness sends to the page
(framing, ids counting up from 1, the `initialize` line byte for byte under default options,
`reset` with the same defaults, only listed methods, parameters by name with only None left
out, integers in 0..2^64-1, one request at a time, stdin closed after `shutdown`) and exits
with status 2 and a `PAGE:` line at the first breach. It forwards each call to
`python -m harness serve`, so the corpus must give exactly the outcomes of the model in process.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from processes import ADAPTERS, serve_command

from harness.backend import CoreDefaults
from harness.discovery import Scenario, group
from harness.protocol.client import ProcessSession
from harness.runner import RunResult, run_scenario
from harness.sessions import MODEL, open_backend

ROOT = Path(__file__).resolve().parents[2]
STRICT = ADAPTERS / "strict.py"


def corpus() -> list[Scenario]:
    root = ROOT / "scenarios"
    found: list[Scenario] = []
    for folder in sorted({p.parent for p in root.rglob("*.vfio")}):
        found += group(sorted(folder.glob("*.vfio")), root)
    return found


def strict_command(report: Path, *options: str) -> str:
    words = [sys.executable, str(STRICT), *options, "--exact-initialize", "--report", str(report)]
    return shlex.join([*words, "--"]) + " " + serve_command()


def outcome(result: RunResult) -> tuple[object, ...]:
    outputs = tuple((o.file, o.line, o.id, o.message) for o in result.outputs)
    abort = None if result.abort is None else (result.abort.kind, result.abort.message)
    return result.status(), outputs, abort


@pytest.mark.parametrize("methods", ["all", "dma"])
def test_the_corpus_over_an_adapter_written_from_the_page(tmp_path: Path, methods: str) -> None:
    report, log = tmp_path / "breaches", tmp_path / "backend.log"
    scenarios = corpus()
    with closing(open_backend(MODEL, CoreDefaults())) as model:
        expected = [outcome(run_scenario(s, session=model)) for s in scenarios]
    command = strict_command(report, "--methods", methods)
    with ProcessSession(command, CoreDefaults(), cwd=ROOT, timeout=30, log=log) as session:
        got = [outcome(run_scenario(s, session=session)) for s in scenarios]
    assert not report.exists(), report.read_text()
    # One child served the whole corpus and ended by itself after shutdown.
    notes = [line for line in log.read_text().splitlines() if line.startswith("# ")]
    assert len(notes) == 2 and notes[-1] == "# ended: status 0"
    if methods == "all":
        assert got == expected
    else:  # a scenario that needs more than the DMA methods is skipped, the others agree
        for (status, outputs, abort), want in zip(got, expected, strict=True):
            if abort is None:
                assert (status, outputs, abort) == want
            else:
                assert "does not implement" in abort[1]
        assert sum(abort is None for _, _, abort in got) >= 25


@pytest.mark.parametrize(
    ("lines", "breach"),
    [
        (['{"jsonrpc":"2.0","id":2,"method":"initialize","params":{}}'], "id 2, expected 1"),
        (
            ['{"jsonrpc":"2.0","id":1,"method":"reset","params":{}}'],
            "the first request is reset, not initialize",
        ),
    ],
)
def test_the_page_adapter_catches_a_breach(tmp_path: Path, lines: list[str], breach: str) -> None:
    # The adapter can fail: a line against the page ends it with status 2 and says why.
    report = tmp_path / "breaches"
    command = shlex.split(strict_command(report))
    text = "".join(f"{line}\n" for line in lines)
    done = subprocess.run(command, input=text, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr == f"PAGE: {breach}\n" and report.read_text() == f"{breach}\n"
