"""docs/protocol.md and docs/backends.md say what the code does: the method table, the worked
transcript (regenerated and compared), and the example backends (run)."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest

from harness.protocol.methods import METHODS, ValueKind

DOCS = Path(__file__).resolve().parents[2] / "docs"
PROTOCOL = (DOCS / "protocol.md").read_text(encoding="utf-8")
BACKENDS = (DOCS / "backends.md").read_text(encoding="utf-8")
RESULT_WORDS = {ValueKind.NULL: "null", ValueKind.INTEGER: "integer", ValueKind.BOOLEAN: "boolean"}


def fenced(text: str, language: str) -> list[str]:
    """The bodies of the fenced blocks of one language, in order."""
    return re.findall(rf"^```{language}\n(.*?)^```$", text, re.M | re.S)


def test_the_method_table_lists_every_method_with_its_parameters_and_result() -> None:
    rows = re.findall(r"^\| `(\w+)` \| (.*?) \| (.*?) \|$", PROTOCOL, re.M)
    table = {name: (params, result) for name, params, result in rows if name in METHODS}
    assert list(table) == list(METHODS)
    for name, (params, result) in table.items():
        method = METHODS[name]
        written = []
        for piece in params.split(", "):
            found = re.fullmatch(r"`(\w+)(\?)?`(?: \((.*)\))?", piece)
            assert found is not None, piece
            param, optional, choices = found.groups()
            listed = tuple(re.findall(r"`(\w+)`", choices or ""))
            written.append((param, bool(optional), listed))
        expected = [(p.name, p.optional, p.choices) for p in method.params]
        assert written == expected, name
        assert result.startswith(RESULT_WORDS[method.result]), name


def test_the_worked_transcript_is_what_a_run_writes(pytester: pytest.Pytester) -> None:
    (scenario,) = [block for block in fenced(PROTOCOL, "vfio") if "worked" not in block]
    transcript = next(b for b in fenced(PROTOCOL, "text") if b.startswith("# started"))
    pytester.makeini("[pytest]\n")
    (pytester.path / "scenarios" / "dma").mkdir(parents=True)
    (pytester.path / "scenarios" / "dma" / "worked.vfio").write_text(scenario)
    serve = shlex.join([sys.executable, "-m", "harness", "serve"])
    result = pytester.runpytest("-D", f"backend=exec:{serve}", "-D", "backend.log=backend.log")
    result.assert_outcomes(passed=1)
    written = (pytester.path / "backend.log").read_text().splitlines()
    shown = transcript.splitlines()
    pid = re.compile(r"\(pid \d+\): .*")
    assert pid.sub("", written[0]) == pid.sub("", shown[0])
    assert written[1:] == shown[1:]


def test_the_in_process_example_backend_skips_a_huge_mapping(pytester: pytest.Pytester) -> None:
    (example, _) = fenced(BACKENDS, "python")[:2]
    pytester.makepyfile(myvmm_backend=example)
    pytester.syspathinsert()
    pytester.makeini("[pytest]\n")
    (pytester.path / "scenarios").mkdir()
    (pytester.path / "scenarios" / "huge.vfio").write_text(
        "container c0\nmap c0 iova=0x0 vaddr=0x0 size=2G\n"
    )
    (pytester.path / "scenarios" / "small.vfio").write_text(
        "container c0\nmap c0 iova=0x0 vaddr=0x0 size=4K\n"
    )
    result = pytester.runpytest("-D", "backend=myvmm_backend:NoHugeMappings", "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(
        ["*backend myvmm cannot run map at scenarios/huge.vfio:2: this host maps at most 1 GiB*"]
    )


def test_the_errno_example_raises_an_overlap_with_its_errno() -> None:
    namespace: dict[str, object] = {}
    exec(fenced(BACKENDS, "python")[1], namespace)
    with pytest.raises(Exception) as caught:
        namespace["refuse_overlap"](0x1000)  # type: ignore[operator]
    assert (caught.value.id, caught.value.errno) == ("dma.map.failed:overlap", 17)  # type: ignore[attr-defined]


def test_the_python_adapter_example_serves_with_its_info(pytester: pytest.Pytester) -> None:
    adapter = fenced(BACKENDS, "python")[2]
    (pytester.path / "serve_myvmm.py").write_text(adapter)
    pytester.makeini("[pytest]\n")
    (pytester.path / "scenarios").mkdir()
    (pytester.path / "scenarios" / "small.vfio").write_text(
        "container c0\nmap c0 iova=0x0 vaddr=0x0 size=4K\nassert c0.mapped == 4K\n"
    )
    command = shlex.join([sys.executable, "serve_myvmm.py"])
    result = pytester.runpytest("-D", f"backend=exec:{command}")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["vfio: projects in force: vfio, myvmm; *", "*kernel=*"])
