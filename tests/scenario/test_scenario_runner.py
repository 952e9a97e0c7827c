"""The runner: files read and parsed, multi-file scenarios on one state, unreadable files,
syntax errors, and backends loaded by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotations.outcome import FindingKind, Verdict
from harness.backend import CoreDefaults
from harness.discovery import Scenario
from harness.model import ModelBackend
from harness.runner import BackendError, load_backend, run_scenario


def scenario(tmp_path: Path, files: dict[str, str | bytes]) -> Scenario:
    paths = []
    for name, content in files.items():
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        paths.append(path)
    return Scenario(paths[0].stem.partition("_file")[0], tuple(paths), tmp_path)


def test_passing_scenario_has_its_outputs_and_texts(tmp_path: Path) -> None:
    text = (
        "container c0\n//:: ExpectedOutput(dma.map.failed:size.zero)\n"
        "map c0 iova=0 vaddr=0 size=0\n"
    )
    result = run_scenario(scenario(tmp_path, {"a.vfio": text}))
    assert result.outcome.verdict is Verdict.PASSED
    file = str(tmp_path / "a.vfio")
    assert [(o.file, o.line, o.id) for o in result.outputs] == [
        (file, 3, "dma.map.failed:size.zero")
    ]
    assert result.texts == {file: text}


def test_multi_file_scenario_runs_in_order_on_one_state(tmp_path: Path) -> None:
    s = scenario(
        tmp_path,
        {
            "v_file1.vfio": "container c0\nmap c0 iova=0 vaddr=0 size=4K\n",
            "v_file2.vfio": (
                "//:: ExpectedOutput(dma.map.failed:overlap)\nmap c0 iova=0 vaddr=0 size=4K\n"
                "assert c0.mappings == 1\n"
            ),
        },
    )
    result = run_scenario(s)
    assert result.outcome.verdict is Verdict.PASSED
    assert [(Path(o.file).name, o.line) for o in result.outputs] == [("v_file2.vfio", 2)]


def test_output_matches_only_annotations_of_its_own_file(tmp_path: Path) -> None:
    s = scenario(
        tmp_path,
        {
            "v_file1.vfio": (
                "container c0\n//:: ExpectedOutput(dma.map.failed:size.zero)\nalloc c0\n"
            ),
            "v_file2.vfio": "\n\nmap c0 iova=0 vaddr=0 size=0\n",
        },
    )
    result = run_scenario(s)
    kinds = sorted(f.kind.value for f in result.outcome.findings)
    assert result.outcome.verdict is Verdict.FAILED
    assert "additional output" in kinds and "expected but missing" in kinds


def test_syntax_error_is_a_parser_error_and_stops_the_scenario(tmp_path: Path) -> None:
    s = scenario(
        tmp_path,
        {
            "v_file1.vfio": "container c0\nmap c0 iova=0 vaddr=0 size=0\n",
            "v_file2.vfio": "map c0 iova=\n",
            "v_file3.vfio": "map c0 iova=0 vaddr=0 size=0\nmap c0 size\n",
        },
    )
    result = run_scenario(s)
    found = [(Path(o.file).name, o.line, o.id) for o in result.outputs]
    assert found == [
        ("v_file1.vfio", 2, "dma.map.failed:size.zero"),
        ("v_file2.vfio", 1, "parser.error"),
        ("v_file3.vfio", 2, "parser.error"),
    ]
    assert result.outputs[1].message == (
        "column 13: option 'iova=' needs a value: a number, a word or BAR:OFFSET"
        " (hint: options are written key=value without spaces, e.g. iova=0x100000)"
    )


def test_unreadable_file_fails_with_an_unreadable_finding(tmp_path: Path) -> None:
    s = scenario(tmp_path, {"a_file1.vfio": "container c0\n", "a_file2.vfio": b"\xff\xfe\x00bad"})
    missing = Scenario("gone", (tmp_path / "gone.vfio",), tmp_path)
    for bad, name in ((s, "a_file2.vfio"), (missing, "gone.vfio")):
        result = run_scenario(bad)
        assert result.outcome.verdict is Verdict.FAILED
        [finding] = result.outcome.findings
        assert finding.kind is FindingKind.UNREADABLE
        assert finding.file == str(tmp_path / name)
        assert finding.message.startswith(f"cannot read {tmp_path / name}: ")
        assert result.outputs == ()


def test_unknown_annotation_id_is_flagged(tmp_path: Path) -> None:
    text = (
        "container c0\n//:: ExpectedOutput(dma.map.failed:size.zer0)\n"
        "map c0 iova=0 vaddr=0 size=0\n"
    )
    result = run_scenario(scenario(tmp_path, {"a.vfio": text}))
    assert result.outcome.verdict is Verdict.FAILED
    assert any(f.kind is FindingKind.ANNOTATION_ERROR for f in result.outcome.findings)


def test_ignored_scenario_is_not_run(tmp_path: Path) -> None:
    text = "//:: IgnoreFile(/model/issue/3/)\nmap nope iova=0\n"
    result = run_scenario(scenario(tmp_path, {"a.vfio": text}))
    assert result.outcome.verdict is Verdict.IGNORED
    assert result.outputs == ()


def test_defaults_reach_the_backend(tmp_path: Path) -> None:
    text = (
        "container c0\n//:: ExpectedOutput(dma.map.failed:misaligned)\n"
        "map c0 iova=0x1000 vaddr=0 size=4K\n"
    )
    defaults = CoreDefaults(pgsize=64 << 10)
    result = run_scenario(scenario(tmp_path, {"a.vfio": text}), defaults=defaults)
    assert result.outcome.verdict is Verdict.PASSED


def test_load_backend_builds_the_model_and_import_paths() -> None:
    assert isinstance(load_backend("model", CoreDefaults()), ModelBackend)
    backend = load_backend("harness.model:ModelBackend", CoreDefaults(limit=3))
    assert isinstance(backend, ModelBackend) and backend.name == "model"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("kernel", "not a backend name"),
        ("harness.model:", "not a backend name"),
        ("no_such_module_xyz:Backend", "cannot import module 'no_such_module_xyz'"),
        ("harness.model:Nope", "module 'harness.model' has no class 'Nope'"),
        ("harness.backend:Window", "Window(defaults) failed: TypeError"),
        ("harness.backend:CoreDefaults", "CoreDefaults lacks name, alloc"),
    ],
)
def test_load_backend_fails_with_message_and_hint(spec: str, message: str) -> None:
    with pytest.raises(BackendError) as info:
        load_backend(spec, CoreDefaults())
    assert info.value.message.startswith(message)
    assert info.value.hint
    assert info.value.spec == spec
