"""The beyond-Silver checks over one file's annotations: duplicates and unknown ids.

Both run after reading, on the annotations Silver keeps. A duplicate is an annotation that an
earlier one on the same target makes pointless or unsatisfiable; an unknown id is one the
front-end's error catalog does not know.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from annotations.annotation import Annotation, Diagnostic, Kind, OutputId
from annotations.hints import closest_id
from annotations.kinds import (
    ACCEPTING_KINDS,
    EXPECTED_KINDS,
    LINKED_KINDS,
    OUTPUT_KINDS,
    DiagnosticKind,
)


def covers(first: OutputId, second: OutputId) -> bool:
    """True when every output id `second` matches is also matched by `first`."""
    if second.reason is not None and ":" in second.reason:
        return first == second  # `a:b:c` is matched by the equal id only (see `id_matches`)
    return first.key == second.key and first.reason in (None, second.reason)


def _same_project(first: Annotation, second: Annotation) -> bool:
    if first.issue is None or second.issue is None:
        return first.issue is None and second.issue is None
    return first.issue.project.lower() == second.issue.project.lower()


def duplicates(annotations: Sequence[Annotation]) -> list[Diagnostic]:
    """Annotations that an earlier one on the same target makes pointless or unsatisfiable."""
    groups: dict[tuple[str, int | None, bool], list[Annotation]] = {}
    for annotation in annotations:
        output = annotation.kind in OUTPUT_KINDS or annotation.kind is Kind.IGNORE_OTHERS
        key = (annotation.file, annotation.target, output)
        groups.setdefault(key, []).append(annotation)
    findings = []
    for group in groups.values():
        for index, later in enumerate(group):
            for earlier in group[:index]:
                message = _conflict(earlier, later)
                if message is not None:
                    findings.append(
                        Diagnostic(
                            DiagnosticKind.DUPLICATE_ANNOTATION.value,
                            later.file,
                            later.line,
                            later.column,
                            message,
                            "remove one of the two, or make their ids differ",
                        )
                    )
                    break
    return findings


def _conflict(earlier: Annotation, later: Annotation) -> str | None:
    where = f"on line {earlier.line}"
    target = "the same file" if later.target is None else f"line {later.target}"
    if later.kind in ACCEPTING_KINDS and earlier.kind in ACCEPTING_KINDS:
        assert earlier.output_id is not None and later.output_id is not None
        in_force_together = earlier.kind in EXPECTED_KINDS or (
            later.kind not in EXPECTED_KINDS and _same_project(earlier, later)
        )
        if covers(earlier.output_id, later.output_id) and in_force_together:
            return (
                f"{later.kind.value}({later.output_id}) can never be satisfied: "
                f"{earlier.kind.value}({earlier.output_id}) {where} also targets {target} and "
                "Silver gives every matching output to the first"
            )
        return None
    if later.kind == earlier.kind and later.output_id == earlier.output_id:
        same_link = _same_project(earlier, later) and (
            later.issue is None
            or earlier.issue is None
            or later.issue.number == earlier.issue.number
        )
        if later.kind in LINKED_KINDS and not same_link:
            return None
        return f"{later.kind.value} repeats the identical annotation {where} for {target}"
    return None


@dataclass(frozen=True, slots=True)
class Catalog:
    """The ids a front-end can produce: full ids, and the keys they use."""

    ids: frozenset[str]
    keys: frozenset[str]

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
            pool = self.ids if output_id.reason is not None else self.ids | self.keys
            close = closest_id(str(output_id), sorted(pool))
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
    return Catalog(ids, frozenset(OutputId.parse(entry).key for entry in ids))
