"""bench/fuzz.py finds what a campaign is for: each distinct failure once, shrunk to its
smallest input, counted each time it is met again, and saved outside the corpus."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest
from fuzz_targets import Target
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_fuzz", ROOT / "bench" / "fuzz.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


bench = load_bench()


def planted(number: int) -> None:
    """A target with two bugs and one input that hangs."""
    if number >= 500:
        raise ValueError("too big")
    if 100 <= number < 200:
        raise SystemExit(3)  # a BaseException: found like any other
    if number == 7:
        time.sleep(5)


PLANTED = Target(
    "planted",
    st.integers(0, 1000),
    planted,
    lambda number: {"input.txt": f"{number}\n".encode()},
)


def test_a_campaign_reports_each_distinct_failure_once_with_its_smallest_input() -> None:
    tally = bench.campaign(PLANTED, seconds=3, first_seed=0, timeout=0.5)
    found = {failure.signature[0]: failure for failure in tally.failures}
    assert set(found) == {"ValueError", "SystemExit", "TooSlow"}
    assert found["ValueError"].example == 500
    assert found["SystemExit"].example == 100
    assert found["TooSlow"].example == 7
    assert found["ValueError"].signature[1].startswith("tests/fuzz/test_fuzz_bench.py:")
    assert "ValueError: too big" in found["ValueError"].text
    assert tally.inputs > found["ValueError"].met > 1  # met again, not shrunk again


def test_a_failure_is_saved_in_a_folder_of_its_own(tmp_path: Path) -> None:
    failure = bench.Failure("planted", ("ValueError", "x.py:1 (f)"), 500, "Traceback ...\n")
    first = bench.save(failure, PLANTED, tmp_path / "found")
    second = bench.save(failure, PLANTED, tmp_path / "found")
    assert (first.name, second.name) == ("planted-1", "planted-2")
    assert (first / "input.txt").read_text() == "500\n"
    assert (first / "traceback.txt").read_text() == "Traceback ...\n"


def test_the_findings_folder_may_not_be_inside_the_corpus(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        bench.main(["--minutes", "1", "--out", str(ROOT / "scenarios" / "found")])
    assert exited.value.code == 2
    assert "--out must not be inside the scenario corpus" in capsys.readouterr().err


def test_an_unknown_target_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        bench.main(["--targets", "scenario,nope"])
    assert exited.value.code == 2
    assert "unknown target 'nope'" in capsys.readouterr().err
