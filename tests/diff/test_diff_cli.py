"""`python -m harness diff`: exit statuses, what it prints, what it writes."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from harness.backend import CoreDefaults, Unsupported
from harness.cli import main
from harness.diff import regression
from harness.diff.search import Search
from harness.discovery import Scenario
from harness.model import ModelBackend
from harness.runner import run_scenario
from harness.sessions import open_backend

OVERLAP = "diff_planted:OverlapByOnePage"
# Seed 3 finds the overlap in program 42 of the 80, and Hypothesis shrinks it fast.
ARGS = ["--areas", "dma", "--seed", "3", "--budget", "80"]
FILE = "planted-overlap-map-overlap-vs-ok.vfio"


@pytest.fixture(autouse=True)
def fixed_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")


def diff(*args: str | Path) -> int:
    return main(["diff", *map(str, args)])


def test_a_divergence_exits_1_and_writes_a_file_that_reproduces_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert diff("--against", OVERLAP, *ARGS, "--out", tmp_path) == 1
    out = capsys.readouterr().out
    assert "diff: planted-overlap (diff_planted:OverlapByOnePage) against model (model)" in out
    assert "class 1: map: dma.map.failed:overlap vs ok" in out
    assert "1 class of divergence: planted-overlap against model" in out
    assert "\x1b[" not in out  # not a terminal: plain text
    files = sorted(tmp_path.iterdir())
    assert [f.name for f in files] == [FILE]
    assert f"{files[0]} (created)" in out
    scenario = Scenario(files[0].stem, (files[0],), tmp_path)
    model = open_backend("model", CoreDefaults())
    assert not run_scenario(scenario, session=model).outcome.failed
    assert run_scenario(scenario, session=open_backend(OVERLAP, CoreDefaults())).outcome.failed


def test_the_same_seed_and_budget_write_the_same_files(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    assert diff("--against", OVERLAP, *ARGS, "--out", first) == 1
    assert diff("--against", OVERLAP, *ARGS, "--out", second) == 1
    names = sorted(f.name for f in first.iterdir())
    assert names == sorted(f.name for f in second.iterdir())
    assert names == [FILE]
    for name in names:
        one = (first / name).read_text().replace(str(first), "OUT")
        two = (second / name).read_text().replace(str(second), "OUT")
        assert one == two


def test_an_existing_file_of_another_content_is_kept_unless_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = tmp_path / FILE
    name.write_text("// mine\n")
    assert diff("--against", OVERLAP, *ARGS, "--out", tmp_path) == 1
    out = capsys.readouterr().out
    assert "(kept)" in out
    assert "kept a file of the same name with other text: --overwrite replaces them" in out
    assert name.read_text() == "// mine\n"
    assert diff("--against", OVERLAP, *ARGS, "--out", tmp_path, "--overwrite") == 1
    assert "(replaced)" in capsys.readouterr().out
    assert name.read_text().startswith("// Differential test:")


def test_agreeing_backends_exit_0_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert diff("--against", "model", "--seed", "2", "--budget", "60", "--out", tmp_path) == 0
    out = capsys.readouterr().out
    assert "no divergence: model agreed with model on 60 programs" in out
    assert "on model" not in out  # no empty table
    assert "programs 60/60 ·" in out
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--areas", "dma,gpu"], "--areas 'dma,gpu': unknown area gpu"),
        (["--budget", "0"], "--budget 0: must be at least 1"),
        (["--time", "-1"], "--time -1: must be above 0"),
        (["--seed", "-3"], "--seed -3: must not be negative"),
        (["--max-ops", "0"], "--max-ops 0: must be at least 1"),
        (["-D", "vfio:pgsize=3"], "vfio:pgsize"),
    ],
)
def test_a_bad_option_is_a_usage_error(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert diff("--against", "model", *args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_a_target_that_cannot_be_loaded_is_a_usage_error_with_a_hint(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert diff("--against", "no_such_module:Backend") == 2
    err = capsys.readouterr().err
    assert "error: target backend 'no_such_module:Backend': cannot import module" in err
    assert "hint:" in err


def test_budget_and_time_cannot_both_be_given(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        diff("--against", "model", "--budget", "5", "--time", "5")
    assert caught.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_without_hypothesis_diff_is_a_usage_error_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in [
        m for m in sys.modules if m == "hypothesis" or m.startswith(("hypothesis.", "harness.diff"))
    ]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "hypothesis", None)  # what an absent package looks like
    assert diff("--against", "model") == 2
    err = capsys.readouterr().err
    assert "error: diff needs Hypothesis, which is not installed" in err
    assert "pip install 'vfio-harness[diff]'" in err


class CrashingReference(ModelBackend):
    name = "crashing"

    def unmap(self, container: str, iova: int, size: int) -> int:
        raise RuntimeError("reference bug")


def test_a_reference_that_crashes_exits_1_and_prints_the_program(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = diff(
        "--reference",
        "test_diff_cli:CrashingReference",
        "--against",
        "model",
        *ARGS,
        "--out",
        tmp_path,
    )
    assert status == 1
    out = capsys.readouterr().out
    assert "error: the reference crashing crashed: RuntimeError: reference bug" in out
    assert "a bug in the reference, not a divergence. The program:" in out
    assert "\nunmap c" in out  # the program, as scenario text


def test_an_interrupted_search_writes_what_it_found_and_exits_130(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_round = Search._round
    rounds = []

    def interrupted_after_one(self: Search, rng: random.Random) -> object:
        rounds.append(1)
        if len(rounds) > 1:
            raise KeyboardInterrupt
        return real_round(self, rng)

    monkeypatch.setattr(Search, "_round", interrupted_after_one)
    assert diff("--against", OVERLAP, *ARGS, "--out", tmp_path) == 130
    out = capsys.readouterr().out
    assert "interrupted: writing the classes found so far" in out
    assert "1 class of divergence" in out
    assert [f.name for f in tmp_path.iterdir()] == [FILE]


class RunsNothing(ModelBackend):
    name = "runs-nothing"

    def container(self, name: str, **options: object) -> None:
        raise Unsupported("no IOMMU here")

    def device(self, name: str, bdf: str) -> None:
        raise Unsupported("no device here")


def test_a_target_that_runs_no_program_past_its_declarations_is_no_agreement(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args: list[str | Path] = ["--seed", "1", "--budget", "40", "--out", tmp_path]
    assert diff("--against", "test_diff_cli:RunsNothing", *args) == 1
    out = capsys.readouterr().out
    assert "40 programs stopped where the target could not run a declaration" in out
    assert "error: no program got past its declarations, so nothing was compared" in out
    assert "the last reason: no " in out


def test_an_out_that_is_a_file_is_a_usage_error_before_any_search(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    afile = tmp_path / "notes.txt"
    afile.write_text("mine\n")
    assert diff("--against", OVERLAP, *ARGS, "--out", afile / "regressions") == 2
    captured = capsys.readouterr()
    assert f"error: --out '{afile / 'regressions'}': '{afile}' is not a folder" in captured.err
    assert "hint: give a folder for the regression files" in captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""  # refused before searching
    assert afile.read_text() == "mine\n"


def test_a_file_that_cannot_be_written_is_reported_and_the_rest_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(regression, "write", disk_full)
    assert diff("--against", OVERLAP, *ARGS, "--out", tmp_path) == 1
    out = capsys.readouterr().out
    assert f"{tmp_path / FILE} (not written: No space left on device)" in out
    assert "fails at line 20" in out  # the file's text was still checked on both backends
