"""Conformance: the engine reads Viper Silver's own 1,465 test files as Silver's framework does.

The corpus is vendored in `tests/data/silver/` (its README gives the repository, commit and
licence); the figures are Silver's, from a reading of its parser rules.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

import pytest

from annotations import DiagnosticKind, ReadResult, read_files
from annotations.cli import dump

CORPUS = Path(__file__).resolve().parents[1] / "data" / "silver" / "resources"


@pytest.fixture(scope="module")
def corpus() -> dict[str, ReadResult]:
    """Each corpus file (relative POSIX path) read on its own, as Silver reads a test."""
    files = sorted(p for p in CORPUS.rglob("*") if p.is_file())
    return {p.relative_to(CORPUS).as_posix(): read_files([p]) for p in files}


def test_silver_corpus_has_its_1465_files(corpus: dict[str, ReadResult]) -> None:
    assert len(corpus) == 1465


def test_silver_corpus_annotation_totals_match_silvers(corpus: dict[str, ReadResult]) -> None:
    counts = Counter(a.kind.value for r in corpus.values() for a in r.annotations)
    assert counts == {
        "ExpectedOutput": 1664,
        "UnexpectedOutput": 190,
        "MissingOutput": 126,
        "IgnoreFile": 104,
        "IgnoreOthers": 1,
    }
    assert counts["IgnoreFileList"] == 0


def test_silver_corpus_has_774_annotated_files_and_83_distinct_ids(
    corpus: dict[str, ReadResult],
) -> None:
    assert sum(1 for r in corpus.values() if r.annotations) == 774
    ids = {str(a.output_id) for r in corpus.values() for a in r.annotations if a.output_id}
    assert len(ids) == 83


def test_silver_corpus_has_exactly_silvers_three_parse_errors(
    corpus: dict[str, ReadResult],
) -> None:
    errors = [
        (name, d.line)
        for name, r in corpus.items()
        for d in r.diagnostics
        if d.kind == DiagnosticKind.PARSE_ERROR
    ]
    assert errors == [
        ("counterexample_variables/basic.vpr", 16),
        ("counterexample_variables/basic.vpr", 32),
        ("tutorial/predicates-lseg.vpr", 36),
    ]
    assert all(d.silver for r in corpus.values() for d in r.diagnostics if d.kind == "ParseError")


def test_silver_corpus_beyond_silver_findings_are_its_five_real_near_misses(
    corpus: dict[str, ReadResult],
) -> None:
    findings = [
        (name, d.line, d.kind) for name, r in corpus.items() for d in r.diagnostics if not d.silver
    ]
    assert findings == [
        ("all/functions/unfolding_nonnull.vpr", 37, "NearMiss"),  # `// :: UnexpectedOutput`
        ("quantifiedpermissions/third_party/blom03.vpr", 14, "NearMiss"),  # `// ::`
        ("quantifiedpermissions/third_party/blom03.vpr", 22, "NearMiss"),  # `// ::`
        ("quantifiedpermissions/third_party/testHistogram.vpr", 169, "NearMiss"),  # `////::`
        ("wands/regression/closures_encoded.vpr", 46, "NearMiss"),  # `// :: ExpectedOutput`
    ]


def test_silver_corpus_dump_prints_one_record_per_annotation_and_diagnostic() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert dump([str(CORPUS)], "//", None, out, err) == 0
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    counts = Counter(r["kind"] for r in records)
    assert counts == {
        "ExpectedOutput": 1664,
        "UnexpectedOutput": 190,
        "MissingOutput": 126,
        "IgnoreFile": 104,
        "IgnoreOthers": 1,
        "ParseError": 3,
        "NearMiss": 5,
    }
    assert len({r["file"] for r in records if "message" not in r}) == 774
    assert err.getvalue() == ""
