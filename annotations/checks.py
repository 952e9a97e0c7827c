"""The beyond-Silver checks over one file's annotations: duplicates and unknown ids.

Both run after reading, on the annotations Silver keeps. A duplicate is an annotation that an
earlier one on the same target makes pointless or unsatisfiable; an unknown id is one the
front-end's error catalog does not know.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from annotations.annotation import Annotation, Diagnostic, Kind, OutputId
from annotations.hints import closest_id
from annotations.kinds import (
    ACCEPTING_KINDS,
    EXPECTED_KINDS,
    MISSING_KINDS,
    OUTPUT_KINDS,
    DiagnosticKind,
)
from annotations.render import render_body


def covers(first: OutputId, second: OutputId) -> bool:
    """True when every output id `second` matches is also matched by `first`."""
    if second.reason is not None and ":" in second.reason:
        return first == second  # `a:b:c` is matched by the equal id only (see `id_matches`)
    return first.key == second.key and first.reason in (None, second.reason)


def duplicates(annotations: Sequence[Annotation]) -> list[Diagnostic]:
    """Annotations that an earlier one on the same target makes pointless or unsatisfiable.

    Each annotation is compared with the earlier ones of its target through indexes of what
    they could conflict on (its id's key and reason, its kind and link), so a stack of any
    height is checked in linear time. The earliest conflicting annotation is named.
    """
    # Earlier Expected/UnexpectedOutput by (file, target, id): the first ExpectedOutput, and
    # the first UnexpectedOutput per project (lower case).
    accepting: dict[tuple[str, int | None, OutputId], _Earlier] = {}
    # Earlier MissingOutputs by (file, target, id): the first per project (lower case).
    missing: dict[tuple[str, int | None, OutputId], dict[str, Annotation]] = {}
    # Earlier annotations of the other kinds by everything that makes two of them identical.
    identical: dict[tuple[object, ...], Annotation] = {}
    findings = []
    for annotation in annotations:
        earlier = _earliest_conflict(annotation, accepting, missing, identical)
        if earlier is not None:
            findings.append(
                Diagnostic(
                    DiagnosticKind.DUPLICATE_ANNOTATION.value,
                    annotation.file,
                    annotation.line,
                    annotation.column,
                    _message(earlier, annotation),
                    "remove one of the two, or make their ids differ",
                )
            )
        _remember(annotation, accepting, missing, identical)
    return findings


@dataclass(slots=True)
class _Earlier:
    """The first ExpectedOutput, and the first UnexpectedOutput per project, of one id."""

    expected: Annotation | None = None
    unexpected: dict[str, Annotation] = field(default_factory=dict)


def _identity(annotation: Annotation) -> tuple[object, ...]:
    issue = annotation.issue
    link = None if issue is None else (issue.project.lower(), issue.number)
    output = annotation.kind in OUTPUT_KINDS or annotation.kind is Kind.IGNORE_OTHERS
    return (annotation.file, annotation.target, output, annotation.kind, annotation.output_id, link)


def _remember(
    annotation: Annotation,
    accepting: dict[tuple[str, int | None, OutputId], _Earlier],
    missing: dict[tuple[str, int | None, OutputId], dict[str, Annotation]],
    identical: dict[tuple[object, ...], Annotation],
) -> None:
    if annotation.kind in ACCEPTING_KINDS:
        assert annotation.output_id is not None
        entry = accepting.setdefault(
            (annotation.file, annotation.target, annotation.output_id), _Earlier()
        )
        if annotation.kind in EXPECTED_KINDS:
            entry.expected = entry.expected or annotation
        elif annotation.issue is not None:
            entry.unexpected.setdefault(annotation.issue.project.lower(), annotation)
    else:
        identical.setdefault(_identity(annotation), annotation)
        if annotation.kind in MISSING_KINDS and annotation.issue is not None:
            assert annotation.output_id is not None
            slot = (annotation.file, annotation.target, annotation.output_id)
            missing.setdefault(slot, {}).setdefault(annotation.issue.project.lower(), annotation)


def _covering_ids(output_id: OutputId) -> list[OutputId]:
    """The ids that cover `output_id` (see `covers`): itself, and its key alone."""
    if output_id.reason is not None and ":" not in output_id.reason:
        return [output_id, OutputId(output_id.key)]
    return [output_id]


def _earliest_conflict(
    later: Annotation,
    accepting: dict[tuple[str, int | None, OutputId], _Earlier],
    missing: dict[tuple[str, int | None, OutputId], dict[str, Annotation]],
    identical: dict[tuple[object, ...], Annotation],
) -> Annotation | None:
    if later.kind not in ACCEPTING_KINDS:
        same = identical.get(_identity(later))
        if same is not None or later.kind not in MISSING_KINDS or later.issue is None:
            return same
        # A MissingOutput of the same project whose id covers this one's takes every output
        # both match first: this one is never reported.
        assert later.output_id is not None
        project = later.issue.project.lower()
        earlier = [
            missing[(later.file, later.target, i)][project]
            for i in _covering_ids(later.output_id)
            if project in missing.get((later.file, later.target, i), {})
        ]
        return min(earlier, key=lambda a: (a.line, a.column)) if earlier else None
    output_id = later.output_id
    assert output_id is not None
    ids = _covering_ids(output_id)
    found: list[Annotation] = []
    for candidate in ids:
        entry = accepting.get((later.file, later.target, candidate))
        if entry is None:
            continue
        if entry.expected is not None:
            found.append(entry.expected)
        # An UnexpectedOutput is in force with a later one only when both name one project.
        if later.kind not in EXPECTED_KINDS and later.issue is not None:
            same = entry.unexpected.get(later.issue.project.lower())
            if same is not None:
                found.append(same)
    return min(found, key=lambda a: (a.line, a.column)) if found else None


def _message(earlier: Annotation, later: Annotation) -> str:
    where = f"on line {earlier.line}"
    target = "the same file" if later.target is None else f"line {later.target}"
    if later.kind in ACCEPTING_KINDS:
        return (
            f"{later.kind.value}({later.output_id}) can never be satisfied: "
            f"{earlier.kind.value}({earlier.output_id}) {where} also targets {target} and "
            "Silver gives every matching output to the first"
        )
    if later.kind in MISSING_KINDS and (earlier.issue, earlier.output_id) != (
        later.issue,
        later.output_id,
    ):
        return (
            f"{render_body(later)} is never reported: {render_body(earlier)} {where} also "
            f"targets {target} and Silver gives every matching output to the first"
        )
    return f"{later.kind.value} repeats the identical annotation {where} for {target}"


@dataclass(frozen=True, slots=True)
class Catalog:
    """The ids a front-end can produce: full ids, and the keys they use."""

    ids: frozenset[str]
    keys: frozenset[str]
    sorted_ids: tuple[str, ...]  # the pools a did-you-mean searches, in a stable order
    sorted_ids_and_keys: tuple[str, ...]

    @classmethod
    def of(cls, catalog: Collection[str] | None) -> Catalog | None:
        """The catalog of a caller's ids (None: no catalog, no check)."""
        if catalog is None:
            return None
        return _catalog_of(frozenset(catalog))

    def knows(self, output_id: OutputId) -> bool:
        """True for a catalog id, or (without reason) a catalog id's key."""
        text = str(output_id)
        return text in self.ids or (output_id.reason is None and output_id.key in self.keys)

    def check(self, annotations: Sequence[Annotation]) -> list[Diagnostic]:
        """An UnknownId diagnostic, with a did-you-mean, for each id the catalog does not know."""
        findings = []
        for annotation in annotations:
            output_id = annotation.output_id
            if output_id is None or self.knows(output_id):
                continue
            pool = self.sorted_ids if output_id.reason is not None else self.sorted_ids_and_keys
            close = closest_id(str(output_id), pool)
            findings.append(
                Diagnostic(
                    DiagnosticKind.UNKNOWN_ID.value,
                    annotation.file,
                    annotation.line,
                    annotation.column,
                    f"{annotation.kind.value}({output_id}) names an id the error catalog does not "
                    "know, so it can never match",
                    f"did you mean `{close}`?" if close else "see the error catalog for the ids",
                )
            )
        return findings


@functools.lru_cache(maxsize=16)
def _catalog_of(ids: frozenset[str]) -> Catalog:
    # A run passes the same catalog for every file; its keys are worked out once.
    keys = frozenset(OutputId.parse(entry).key for entry in ids)
    return Catalog(ids, keys, tuple(sorted(ids)), tuple(sorted(ids | keys)))
