"""The campaign's targets and the contract each one checks, for tests/fuzz and bench/fuzz.py.

The contract, for every input: the project either accepts it or answers with one of its own
errors (a located output or finding, an `OptionError` with a hint); nothing else is raised;
the same input gives the same result twice; and no file is written (the scenario files keep
their bytes and times, and nothing appears in the working folder). A check raises
AssertionError (or whatever the project let escape) when the contract is broken.

Targets:

- `scenario`: a corpus scenario with a file mutated, written to a temporary folder and taken
  through what pytest does with it: collection's tags (`read_links`, keywords, markers), the
  run on the model (`run_scenario`: read, parse, check, run, match) and the report of its
  outcome (the failure report and its one line, or the known-bug report); and through
  `python -m harness run` (its lines, report, summary and exit status).
- `program`: a generated well-formed program, taken through the same pipeline; its outputs
  must come from the run alone (no syntax error, no backend crash).
- `annotations`: a file holding annotations (scenario or Silver corpus), mutated, read by the
  engine and matched against generated outputs; each annotation rendered back and each
  finding's advice worded.
- `defines`: `-D` entries parsed; accepted options describe themselves and show issue links
  through their `issueUrl` template at a size bounded by the template's.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from fuzz_inputs import (
    SMALL,
    Mutated,
    MutatedScenario,
    Scale,
    define_entries,
    issue_refs,
    mutated_annotated_texts,
    mutated_scenarios,
    outputs_for,
)
from fuzz_programs import programs
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from annotations import match, read_texts
from annotations import render as render_annotation
from annotations.annotation import Annotation, IssueRef, Kind, Output, OutputId
from annotations.bless import remedy
from annotations.outcome import Finding, FindingKind
from harness.backend import BackendSession, CoreDefaults
from harness.cli import EXIT_FAILED, EXIT_OK, run_all
from harness.discovery import Scenario
from harness.options import OptionError, RunOptions, parse_defines
from harness.pytest_plugin import outcomes
from harness.render import console, crash_line, known_bug_report, stale_advice
from harness.runner import RunResult, Status, run_scenario
from harness.sessions import MODEL, open_backend
from harness.sources import PREFIX, decode, known_ids, read_links
from harness.tags import SUITE_PROJECT, Tags, issue_link
from harness.vfio.catalog import catalog

PROJECTS = (MODEL, SUITE_PROJECT)
# The settings of the campaign's tests (each sets its own budget of examples): derandomized
# under CI, so that a run there tries the same examples each time; elsewhere a failure prints
# the `@reproduce_failure` blob that replays it.
FUZZ = settings(
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
IDS = frozenset(catalog())
Snapshot = dict[str, tuple[bytes, int]]


@functools.cache
def model_session() -> BackendSession:
    """The model, opened once per process (each scenario runs on a fresh backend of it)."""
    return open_backend(MODEL, CoreDefaults())


def snapshot(folder: Path) -> Snapshot:
    """Every file below `folder`: its bytes and modification time."""
    found: Snapshot = {}
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if path.is_file():
            found[name] = (path.read_bytes(), path.stat().st_mtime_ns)
        else:
            found[name + "/"] = (b"", 0)
    return found


@contextlib.contextmanager
def untouched(folder: Path | None = None) -> Iterator[Path]:
    """Run the body in an empty working folder; check that it stays empty, and that `folder`
    (the inputs) keeps every file's bytes and time."""
    before = snapshot(folder) if folder is not None else {}
    with tempfile.TemporaryDirectory(prefix="vfio-fuzz-work-") as work, contextlib.chdir(work):
        yield Path(work)
        appeared = sorted(os.listdir(work))
        assert appeared == [], f"files appeared in the working folder: {appeared}"
    if folder is not None:
        assert snapshot(folder) == before, "an input file was changed"


# ---------------------------------------------------------------- scenario and program


def lines_of(text: str) -> int:
    """How many lines a file holds, as the reader numbers them (LF ends a line)."""
    return text.count("\n") + 1


def located(result: RunResult) -> None:
    """Every output and finding names a file of the scenario and a line inside it."""
    texts = result.texts
    for output in result.outputs:
        assert output.file in texts, output
        assert output.id in IDS, output
        assert output.message, output
        assert output.line is None or 1 <= output.line <= lines_of(texts[output.file]), output
    for finding in result.outcome.findings:
        assert finding.file in texts, finding
        assert finding.message, finding
        if finding.line is not None:
            assert 1 <= finding.line <= lines_of(texts[finding.file]), finding


@dataclass(frozen=True)
class Seen:
    """What pytest would make of a scenario: its tags, its run, its report."""

    keywords: tuple[str, ...]
    known_bug: bool
    ignored: bool
    result: RunResult  # its syntax errors are in `syntax` (exceptions compare by identity)
    syntax: tuple[tuple[str, int, int, str, str | None], ...]
    status: Status
    report: str
    cli: str  # what `python -m harness run` prints for it


def pipeline(scenario: Scenario) -> Seen:
    """Collect (tags), run on the model, and report a scenario as the pytest plugin does; then
    run it as `python -m harness run` does."""
    tags = Tags(read_links(scenario))
    keywords = tuple(sorted(tags.keywords()))
    known_bug, ignored = tags.known_bug(PROJECTS), tags.ignored(PROJECTS)
    result = run_scenario(scenario, session=model_session())
    assert result.abort is None, result.abort  # the model raised something not a VfioError
    located(result)
    status = result.status()
    # Collection and the run read the same annotations: they agree on an ignored scenario.
    assert ignored == (status is Status.IGNORED), (ignored, status)
    report = ""
    if status is Status.FAILED:
        report = outcomes.report(result, None)
        assert report.startswith(crash_line(result))
    elif status is Status.KNOWN_BUG:
        report = known_bug_report(result, PROJECTS)
    syntax = tuple((e.file, e.line, e.column, e.message, e.hint) for e in result.syntax_errors)
    plain = replace(result, syntax_errors=())
    printed = command_line(scenario, status)
    return Seen(keywords, known_bug, ignored, plain, syntax, status, report, printed)


def command_line(scenario: Scenario, status: Status) -> str:
    """What `python -m harness run` prints for the scenario; its exit status follows its end."""
    buffer = io.StringIO()
    code = run_all([scenario], model_session(), RunOptions(), console(buffer, color=False))
    assert code == (EXIT_FAILED if status is Status.FAILED else EXIT_OK), (code, status)
    return buffer.getvalue()


def write_scenario(folder: Path, case: MutatedScenario) -> Scenario:
    """The case's files written below `folder/scenarios`, as a Scenario."""
    root = folder / "scenarios"
    paths = []
    for relpath, data in case.files:
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        paths.append(path)
    return Scenario(case.name, tuple(paths), root)


def check_scenario(case: MutatedScenario) -> Seen:
    """The contract on one scenario: collected, run and reported twice alike, nothing written."""
    with tempfile.TemporaryDirectory(prefix="vfio-fuzz-") as folder:
        scenario = write_scenario(Path(folder), case)
        with untouched(Path(folder)):
            first = pipeline(scenario)
            second = pipeline(scenario)
        assert first == second, "two runs of the same files differ"
    return first


def check_program(case: MutatedScenario) -> Seen:
    """A well-formed program: the scenario contract, and its outputs come from its run."""
    seen = check_scenario(case)
    assert seen.syntax == (), seen.syntax[0]
    assert all(o.id != "parser.error" for o in seen.result.outputs)
    return seen


# ---------------------------------------------------------------- annotations


@dataclass(frozen=True, slots=True)
class AnnotationCase:
    """A mutated annotated file, the outputs a run might give, and how to match them."""

    text: Mutated
    outputs: tuple[Output, ...]
    projects: tuple[str, ...]
    strict: bool
    runs: tuple[tuple[int, int], ...]  # (line, how many times it ran)


@st.composite
def annotation_cases(draw: st.DrawFn, scale: Scale = SMALL) -> AnnotationCase:
    """A case for `check_annotations`."""
    text = draw(mutated_annotated_texts(scale))
    decoded, _ = decode(text.data, text.relpath)
    outputs = draw(outputs_for(text.relpath, decoded))
    projects = tuple(draw(st.lists(st.sampled_from(("model", "vfio", "silicon", "carbon", "")),
                                   min_size=1, max_size=2)))
    lines = st.integers(1, lines_of(decoded))
    runs = tuple(draw(st.lists(st.tuples(lines, st.integers(0, 4)), max_size=3)))
    return AnnotationCase(text, outputs, projects, draw(st.booleans()), runs)


def check_annotations(case: AnnotationCase) -> None:
    """The contract on the engine: read and matched twice alike, every finding located."""
    file = case.text.relpath
    text, _ = decode(case.text.data, file)
    lines = lines_of(text)
    with untouched():
        read = read_texts([(file, text)], prefix=PREFIX, catalog=known_ids())
        assert read == read_texts([(file, text)], prefix=PREFIX, catalog=known_ids())
        for diagnostic in read.diagnostics:
            assert diagnostic.file == file and diagnostic.message, diagnostic
            assert 1 <= diagnostic.line <= lines and diagnostic.column >= 1, diagnostic
        for annotation in read.annotations:
            assert 1 <= annotation.line <= lines, annotation
            render_annotation(annotation)
        runs = {(file, line): count for line, count in case.runs}
        outcome = match(case.outputs, read, case.projects, strict=case.strict, runs=runs)
        again = match(case.outputs, read, case.projects, strict=case.strict, runs=runs)
        assert outcome == again
        for finding in outcome.findings:
            assert finding.file == file and finding.message, finding
            remedy(finding)
            stale_advice(finding, "https://t.example/{project}/{issue}")


# ---------------------------------------------------------------- -D entries and issue links


@dataclass(frozen=True, slots=True)
class DefinesCase:
    """`-D` entries, and issue links to show through the options they give."""

    entries: tuple[str, ...]
    refs: tuple[IssueRef, ...]


defines_cases = st.builds(
    DefinesCase, define_entries(), st.lists(issue_refs, max_size=3).map(tuple)
)


def _parsed(entries: tuple[str, ...]) -> RunOptions | tuple[str, str, str, str | None]:
    try:
        return parse_defines(entries)
    except OptionError as error:
        assert error.message and error.hint, error
        assert str(error).startswith(error.where())
        return (error.key, error.value, error.message, error.hint)


def check_defines(case: DefinesCase) -> None:
    """The contract on `-D`: options or an OptionError with a hint, alike twice; accepted
    options describe themselves and show issue links of a bounded size."""
    with untouched():
        parsed = _parsed(case.entries)
        assert parsed == _parsed(case.entries)
        if not isinstance(parsed, RunOptions):
            return
        parsed.describe()
        parsed.includes("dma/overlap.vfio")
        template = parsed.issue_url
        for ref in case.refs:
            link = issue_link(ref, template)
            longest = max(len(ref.project), len(str(ref.number)))
            assert len(link) <= len(template or str(ref)) * (1 + longest), (template, link)
            annotation = Annotation(
                Kind.UNEXPECTED, "a.vfio", 1, 2, OutputId("dma.map.failed"), ref
            )
            stale = Finding(FindingKind.UNEXPECTED_BUT_MISSING, "a.vfio", 2, "dma.map.failed",
                            "did not occur", annotation=annotation)
            stale_advice(stale, template)
        outcomes.links(case.refs, template)


# ---------------------------------------------------------------- the campaign's table


@dataclass(frozen=True)
class Target:
    """A strategy, the check of its inputs, and how a failing input is saved."""

    name: str
    strategy: st.SearchStrategy[Any]
    check: Callable[[Any], object]
    files: Callable[[Any], dict[str, bytes]]  # a failing input as files (relative paths)


def _scenario_files(case: MutatedScenario) -> dict[str, bytes]:
    steps = "\n".join(case.steps) + "\n"
    return {**{f"scenarios/{relpath}": data for relpath, data in case.files}, "steps.txt":
            steps.encode()}


def _annotation_files(case: AnnotationCase) -> dict[str, bytes]:
    described = (
        "\n".join(case.text.steps)
        + f"\noutputs: {case.outputs!r}\nprojects: {case.projects!r}\nstrict: {case.strict}"
        + f"\nruns: {case.runs!r}\n"
    )
    return {case.text.relpath: case.text.data, "case.txt": described.encode()}


def _defines_files(case: DefinesCase) -> dict[str, bytes]:
    return {"case.txt": f"entries: {case.entries!r}\nrefs: {case.refs!r}\n".encode()}


def targets(scale: Scale = SMALL) -> dict[str, Target]:
    """Every target by name; `scale` sets the sizes of the heavier mutations."""
    return {
        target.name: target
        for target in (
            Target("scenario", mutated_scenarios(scale), check_scenario, _scenario_files),
            Target("program", programs(), check_program, _scenario_files),
            Target("annotations", annotation_cases(scale), check_annotations, _annotation_files),
            Target("defines", defines_cases, check_defines, _defines_files),
        )
    }
