"""Regression files: what they say, that they pass on the reference and fail on the target at
the divergent line when run like any scenario, and how they are written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.backend import CoreDefaults
from harness.diff import program as p
from harness.diff import regression
from harness.diff.compare import Shape, compare
from harness.diff.search import Found, Limits
from harness.diff.verify import check_file
from harness.discovery import Scenario
from harness.model import ModelBackend
from harness.runner import run_scenario
from harness.sessions import open_backend

OVERLAP = "diff_planted:OverlapByOnePage"
V1COUNT = "diff_planted:V1MiscountsBytes"


def found_for(program: p.Program, target: str) -> Found:
    comparison = compare(program, ModelBackend(), open_backend(target, CoreDefaults()).fresh())
    shape = comparison.divergence
    assert shape is not None
    return Found(shape, comparison, sequence=12, first_size=20)


def provenance(target: str, name: str) -> regression.Provenance:
    return regression.Provenance(
        regression.Side("model", "model"),
        regression.Side(target, name, {"kernel": "6.1.0-test", "iommu": "none"}),
        seed=7,
        limits=Limits(budget=300),
        areas=("dma",),
        defines=("vfio:aw=39",),
    )


V1_PROGRAM = p.Program(
    "dma",
    (
        p.Container("c0", mode="v1"),
        p.Map("c0", 0x100000, 0x7F0000100000, 2 << 20),
        p.Unmap("c0", 0x100000, 4096),
    ),
)


@pytest.fixture(autouse=True)
def fixed_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01


def test_a_file_states_the_references_answers_and_the_targets_at_its_line() -> None:
    found = found_for(V1_PROGRAM, V1COUNT)
    rendered = regression.render(found, provenance(V1COUNT, "planted-v1count"), "out/x.vfio")
    lines = rendered.text.splitlines()
    assert lines[0] == (
        f"// Differential test: planted-v1count answers otherwise than model at line"
        f" {rendered.line}."
    )
    assert "// class:     unmap: ok vs other-value" in lines
    assert "//   kernel: 6.1.0-test" in lines
    assert any(
        "program 12 of 300, seed 7, 20 statements shrunk to 3, on 2026-01-01" in line
        for line in lines
    )
    assert (
        "// rerun:     python -m harness diff --against diff_planted:V1MiscountsBytes --seed 7"
        " --budget 300 --areas dma -D vfio:aw=39"
    ) in lines
    assert lines[-3:] == [
        "container c0 mode=v1",
        "map c0 iova=0x100000 vaddr=0x7f0000100000 size=2M",
        "unmap c0 iova=0x100000 size=4K == 2M   // planted-v1count: returned 4K",
    ]
    assert rendered.line == len(lines)


def test_the_header_reruns_the_search_and_runs_the_file_with_every_option_given() -> None:
    found = found_for(V1_PROGRAM, V1COUNT)
    given = regression.Provenance(
        regression.Side("exec:./ref", "ref"),
        regression.Side(V1COUNT, "planted-v1count"),
        seed=7,
        limits=Limits(budget=300),
        areas=("dma",),
        defines=("kernel.version=6.12",),
        max_ops=8,
        out="my regressions",
    )
    lines = regression.render(found, given, "my regressions/x.vfio").text.splitlines()
    assert (
        "// rerun:     python -m harness diff --against diff_planted:V1MiscountsBytes"
        " --reference exec:./ref --seed 7 --budget 300 --areas dma --max-ops 8"
        " --out 'my regressions' -D kernel.version=6.12"
    ) in lines
    assert (
        "// check:     python -m harness run 'my regressions/x.vfio' --backend exec:./ref"
        " -D kernel.version=6.12"
    ) in lines
    assert (
        "//            python -m harness run 'my regressions/x.vfio'"
        " --backend diff_planted:V1MiscountsBytes -D kernel.version=6.12"
    ) in lines


def test_failures_are_expected_outputs_and_queries_asserts() -> None:
    program = p.Program(
        "dma",
        (
            p.Container("c0"),
            p.Map("c0", 0x100000, 0x7F0000100000, 0),
            p.Map("c0", 0x100000, 0x7F0000100000, 4096),
            p.Query("c0", "mapped", "mapped"),
            p.Query("c0", "avail", "avail"),
            p.Query("c0", "mapped_at", "mapped_at", 0x200000, True, boolean=True),
            p.Query("c0", "translate", "translate", 0x200000, True),
            p.Map("c0", 0x100000, 0x7F0000100000, 4096),
        ),
    )
    found = found_for(program, OVERLAP)
    body = regression.render(found, provenance(OVERLAP, "planted-overlap"), "x.vfio").text
    assert body.endswith(
        "container c0\n"
        "//:: ExpectedOutput(dma.map.failed:size.zero)\n"
        "map c0 iova=0x100000 vaddr=0x7f0000100000 size=0\n"
        "map c0 iova=0x100000 vaddr=0x7f0000100000 size=4K\n"
        "assert c0.mapped == 4K\n"
        "assert c0.avail == 65534\n"
        "assert not c0.mapped_at(0x200000)\n"
        "//:: ExpectedOutput(scenario.error:eval)\n"
        "assert c0.translate(0x200000)\n"
        "//:: ExpectedOutput(dma.map.failed:overlap)\n"
        "map c0 iova=0x100000 vaddr=0x7f0000100000 size=4K   // planted-overlap: succeeded\n"
    )


def test_a_failure_is_named_on_the_line_and_its_message_given_whole_below_it() -> None:
    program = p.Program(
        "dma", (p.Container("c0"), p.Map("c0", (1 << 64) - 4096, 0x7F0000100000, 8192))
    )
    found = found_for(program, "diff_planted:OldKernelErrnos")
    rendered = regression.render(found, provenance("x", "planted-errno"), "x.vfio")
    lines = rendered.text.splitlines()
    assert lines[rendered.line - 1] == (
        "map c0 iova=0xfffffffffffff000 vaddr=0x7f0000100000 size=8K"
        "   // planted-errno: kernel.errno:EINVAL"
    )
    assert lines[rendered.line :] == [
        "//   planted-errno said: map iova 0xfffffffffffff000 + size 0x2000 passes"
        " 0xffffffffffffffff"
    ]


def test_a_config_read_is_checked_in_hex() -> None:
    program = p.Program(
        "config",
        (
            p.Device("gpu0", "0000:01:00.0", (p.Bar(0, "mem64", 16 << 20, prefetch=True),)),
            p.CfgWrite("gpu0", 0x10, 0xFFFF_FFFF),
            p.CfgRead("gpu0", 0x10),
        ),
    )
    comparison = compare(program, ModelBackend(), ModelBackend())
    found = Found(Shape("cfg_read", "ok", "other-value"), comparison, 1, 3)
    text = regression.render(found, provenance("model", "model"), "x.vfio").text
    assert "cfg read gpu0 0x10 == 0xff00000c   // model: returned 0xff00000c" in text


def scenario_at(path: Path) -> Scenario:
    return Scenario(path.stem, (path,), path.parent)


@pytest.mark.parametrize(
    ("program", "target"),
    [
        (V1_PROGRAM, V1COUNT),
        (
            p.Program(
                "dma",
                (
                    p.Container("c0"),
                    p.Map("c0", 0x100000, 0x7F0000100000, 8192),
                    p.Map("c0", 0x101000, 0x7F0000101000, 8192),
                ),
            ),
            OVERLAP,
        ),
        (
            p.Program(
                "dma",
                (p.Container("c0"), p.Map("c0", (1 << 64) - 4096, 0x7F0000100000, 8192)),
            ),
            "diff_planted:OldKernelErrnos",
        ),
    ],
)
def test_a_written_file_passes_on_the_model_and_fails_on_the_target_at_its_line(
    tmp_path: Path, program: p.Program, target: str
) -> None:
    found = found_for(program, target)
    side = provenance(target, open_backend(target, CoreDefaults()).name)
    path = tmp_path / regression.file_name(found, side.target)
    rendered = regression.render(found, side, str(path))
    assert regression.write(path, rendered.text) is regression.Written.CREATED

    on_model = run_scenario(scenario_at(path), session=open_backend("model", CoreDefaults()))
    assert not on_model.outcome.failed, on_model.outcome.findings
    on_target = run_scenario(scenario_at(path), session=open_backend(target, CoreDefaults()))
    assert on_target.outcome.failed
    assert {f.line for f in on_target.outcome.findings} == {rendered.line}

    check = check_file(
        str(path),
        rendered.text,
        open_backend("model", CoreDefaults()),
        open_backend(target, CoreDefaults()),
    )
    assert check.holds(rendered.line)
    assert (check.on_reference(), check.on_target(rendered.line)) == (
        "passes",
        f"fails at line {rendered.line}",
    )


def test_file_names_are_one_per_class_and_target() -> None:
    found = found_for(V1_PROGRAM, V1COUNT)
    side = regression.Side(V1COUNT, "planted-v1count")
    assert regression.file_name(found, side) == "planted-v1count-unmap-ok-vs-other-value.vfio"


def test_writing_creates_then_keeps_an_existing_file_unless_told(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "a.vfio"
    assert regression.write(path, "one\n") is regression.Written.CREATED
    assert regression.write(path, "one\n") is regression.Written.UNCHANGED
    assert regression.write(path, "two\n") is regression.Written.KEPT
    assert path.read_text() == "one\n"
    assert regression.write(path, "two\n", overwrite=True) is regression.Written.REPLACED
    assert path.read_text() == "two\n"
    assert sorted(os.listdir(path.parent)) == ["a.vfio"]  # no temporary file left behind


def test_a_file_that_differs_only_in_its_date_is_the_same_finding_and_kept_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = found_for(V1_PROGRAM, V1COUNT)
    path = tmp_path / "a.vfio"
    first = regression.render(found, provenance(V1COUNT, "planted-v1count"), str(path)).text
    assert regression.write(path, first) is regression.Written.CREATED
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767312000")  # the next day
    later = regression.render(found, provenance(V1COUNT, "planted-v1count"), str(path)).text
    assert "on 2026-01-02" in later and later != first
    assert regression.write(path, later) is regression.Written.UNCHANGED
    assert path.read_text() == first  # the day the class was first found
    other = later.replace("seed 7", "seed 8")
    assert regression.write(path, other) is regression.Written.KEPT


def test_writing_never_clobbers_a_file_that_appears_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.vfio"
    real_mkstemp = regression.tempfile.mkstemp

    def racing_mkstemp(*args: object, **kwargs: object) -> tuple[int, str]:
        path.write_text("theirs\n")  # another writer wins the race after our check
        return real_mkstemp(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(regression.tempfile, "mkstemp", racing_mkstemp)
    assert regression.write(path, "ours\n") is regression.Written.KEPT
    assert path.read_text() == "theirs\n"
    assert os.listdir(tmp_path) == ["a.vfio"]


def test_the_date_follows_source_date_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    assert regression.today() == "2026-01-01"
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert len(regression.today()) == 10
