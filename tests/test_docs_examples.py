"""Every example a user can copy from README.md and docs/ is checked, so none gives a parse error.

- A fenced block marked ```` ```vfio ```` is a whole scenario: it is run on the model and its
  annotations must match (it passes, or is a known bug or ignored as it says).
- Every other `//::` line outside ```` ```text ```` blocks (fenced or inline code) must read as
  an annotation without a finding (an annotation alone before the end of its snippet has no
  target: that one finding is expected).
- ```` ```text ```` marks what is deliberately partial or wrong; it is not checked.

And the reference pages name what they must: every `-D` key in docs/pytest.md, every command of
`python -m harness` in docs/cli.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from annotations import DiagnosticKind, read_text
from annotations.outcome import Verdict
from harness.discovery import Scenario
from harness.options import KEYS
from harness.runner import run_scenario
from harness.sources import known_ids

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
INLINE = re.compile(r"`(//:: [^`]+)`")  # an annotation in inline code (not the bare prefix)


@dataclass(frozen=True)
class Block:
    """A fenced block of a page: its info string, first line (1-based) and text."""

    page: Path
    line: int
    info: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """The fenced code blocks of a Markdown page, in order."""
    found: list[Block] = []
    lines = page.read_text(encoding="utf-8").split("\n")
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        index += 1
        if opening is None:
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        body: list[str] = []
        while index < len(lines) and not lines[index].strip().startswith(fence):
            body.append(lines[index][indent:] if lines[index][:indent].isspace() else lines[index])
            index += 1
        found.append(Block(page, index - len(body), opening["info"].strip(), "\n".join(body)))
        index += 1  # the closing fence
    return found


def all_blocks() -> list[Block]:
    return [block for page in PAGES for block in blocks(page)]


def scenario_blocks() -> list[Block]:
    return [block for block in all_blocks() if block.info == "vfio"]


def annotation_snippets() -> list[tuple[str, str]]:
    """`(where, text)` of every annotation outside ```text and ```vfio blocks."""
    snippets: list[tuple[str, str]] = []
    for page in PAGES:
        fenced = blocks(page)
        inside: set[int] = set()
        for block in fenced:
            first = block.line
            inside.update(range(first - 1, first + block.text.count("\n") + 2))
            if block.info in ("text", "vfio"):
                continue
            for offset, line in enumerate(block.text.split("\n")):
                if line.strip().startswith("//::"):
                    where = f"{page.relative_to(ROOT)}:{first + offset}"
                    snippets.append((where, line.strip()))
        for number, line in enumerate(page.read_text(encoding="utf-8").split("\n"), 1):
            if number in inside:
                continue
            for match in INLINE.finditer(line):
                snippets.append((f"{page.relative_to(ROOT)}:{number}", match.group(1)))
    return snippets


def test_the_pages_hold_examples_of_each_kind() -> None:
    # The checks below must not pass on nothing.
    assert len(scenario_blocks()) >= 5
    assert len(annotation_snippets()) >= 3


@pytest.mark.parametrize("block", scenario_blocks(), ids=lambda block: block.where)
def test_a_scenario_example_runs_on_the_model_as_annotated(block: Block, tmp_path: Path) -> None:
    path = tmp_path / "example.vfio"
    path.write_text(block.text + "\n", encoding="utf-8")
    result = run_scenario(Scenario("example", (path,), tmp_path))
    assert result.abort is None, result.abort
    findings = [f"{f.line}: {f.kind.value}: {f.message}" for f in result.outcome.findings]
    assert result.outcome.verdict is not Verdict.FAILED, findings
    assert not result.outcome.warnings


@pytest.mark.parametrize(
    ("where", "text"), annotation_snippets(), ids=[where for where, _ in annotation_snippets()]
)
def test_an_annotation_shown_in_the_docs_reads_without_a_finding(where: str, text: str) -> None:
    read = read_text(text + "\n", "snippet.vfio", catalog=known_ids())
    findings = [
        f"{d.kind}: {d.message}"
        for d in read.diagnostics
        if d.kind != DiagnosticKind.PENDING_AT_END_OF_FILE.value
    ]
    assert not findings, f"{where}: {text}"
    assert len(read.annotations) + len(read.diagnostics) >= 1, f"{where}: not read at all"


def test_the_pytest_page_names_every_define_key() -> None:
    page = (ROOT / "docs" / "pytest.md").read_text(encoding="utf-8")
    missing = [key for key in KEYS if f"`{key}" not in page]
    assert not missing


def test_the_cli_page_names_every_command() -> None:
    from harness.cli import _parser

    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    usage = _parser("python -m harness").format_usage()  # `... {run,ids,serve} ...`
    found = re.search(r"\{([\w,-]+)\}", usage)
    assert found is not None, usage
    commands = found.group(1).split(",")
    missing = [name for name in commands if f"python -m harness {name}" not in page]
    assert not missing
