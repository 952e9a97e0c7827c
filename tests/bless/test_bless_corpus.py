"""Bless on the real corpus: strip every `ExpectedOutput` line from a copy of `scenarios/`,
bless it, and the copy runs as the corpus does (known bugs still known bugs); a second bless
changes nothing. Only the files whose annotations expect an error in the scenario itself (a
syntax or checker error: never blessed) stay stripped, and bless says so for each."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from harness.backend import CoreDefaults
from harness.bless import BlessOptions, FileState, bless_scenario, never_blessed
from harness.cli import collect, main
from harness.options import RunOptions
from harness.runner import Status, run_scenario
from harness.sessions import MODEL, open_backend

ROOT = Path(__file__).resolve().parents[2]
KNOWN_BUG = """container c0
map c0 iova=0x100000 vaddr=0x7f0000100000 size=2M
//:: ExpectedOutput(dma.map.failed:size.zero)
//:: UnexpectedOutput(dma.map.failed:overlap, /model/issue/12/)
map c0 iova=0x101000 vaddr=0x7f0000300000 size=4K
map c0 iova=0 vaddr=0 size=0
"""
EXPECTED = re.compile(r"^[ \t]*//:: ExpectedOutput\((?P<id>[^)]*)\)[^\n]*\n", re.MULTILINE)


def strip(folder: Path) -> set[str]:
    """Remove every ExpectedOutput line below `folder`; the files that expected an output
    bless never writes (relative paths)."""
    typo_files = set()
    for path in folder.rglob("*.vfio"):
        text = path.read_text(encoding="utf-8")
        if any(never_blessed(m["id"]) for m in EXPECTED.finditer(text)):
            typo_files.add(path.relative_to(folder).as_posix())
        path.write_text(EXPECTED.sub("", text), encoding="utf-8")
    return typo_files


def test_blessing_the_stripped_corpus_gives_back_its_outcomes(tmp_path: Path) -> None:
    copy = tmp_path / "scenarios"
    shutil.copytree(ROOT / "scenarios", copy)
    intact = {
        s.relpath: s for s in collect([ROOT / "scenarios"], RunOptions())
    }
    typo_files = strip(copy)
    assert typo_files  # the corpus tests its syntax and checker errors
    session = open_backend(MODEL, CoreDefaults())
    try:
        scenarios = collect([copy], RunOptions())
        refused: set[str] = set()
        for scenario in scenarios:
            blessed = bless_scenario(scenario, session, options=BlessOptions())
            for file in blessed.files:
                if file.state is FileState.NOT_REWRITTEN:
                    refused.add(Path(file.file).relative_to(copy).as_posix())
        # Exactly the files whose run gives an error in the scenario itself are refused.
        assert refused == typo_files
        for scenario in scenarios:
            expected = run_scenario(intact[scenario.relpath], session=session).status()
            got = run_scenario(scenario, session=session).status()
            if set(scenario.file_relpaths) & typo_files:
                assert got is Status.FAILED, scenario.relpath
            else:
                assert got is expected, scenario.relpath
        for scenario in scenarios:
            again = bless_scenario(scenario, session, options=BlessOptions())
            assert not again.edited, scenario.relpath
    finally:
        session.close()


def test_pytest_vfio_bless_on_the_stripped_corpus_then_the_run_passes_but_for_typos(
    pytester: pytest.Pytester,
) -> None:
    copy = pytester.path / "scenarios"
    shutil.copytree(ROOT / "scenarios", copy)
    typo_files = strip(copy)
    typo_scenarios = {re.sub(r"_file\d+$", "", Path(f).stem) for f in typo_files}
    # The corpus's own known bugs are the kernel's; one of the model's joins it here.
    (copy / "dma" / "model_known_bug.vfio").write_text(KNOWN_BUG)
    blessed = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--vfio-bless", "scenarios")
    after = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rfx", "scenarios")
    outcomes = after.parseoutcomes()
    assert outcomes.get("failed", 0) == len(typo_scenarios), after.stdout.str()
    assert outcomes.get("xfailed", 0) == 1  # the known bug is still a known bug
    failed = set(re.findall(r"^FAILED \S+::(\S+)", after.stdout.str(), re.MULTILINE))
    assert failed == typo_scenarios
    assert blessed.parseoutcomes() == outcomes  # the bless reported the blessed outcomes


def test_the_corpus_is_as_bless_writes_it_even_with_the_known_bug_rules(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Its known bugs are the kernel's (not in force on the model): the known-bug rules must
    # leave them alone, as everything else.
    assert main(["bless", str(ROOT / "scenarios"), "--check", "--bless-known-bugs"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith(
        "bless (check, nothing written): 0 files would change, "
    )
