"""Rendering annotations back to their canonical `//:: ...` text."""

from __future__ import annotations

from annotations.annotation import Annotation, Kind


def render_body(annotation: Annotation) -> str:
    """The text after `//:: `: the keyword and its arguments, exactly one space after commas."""
    kind = annotation.kind
    if kind is Kind.IGNORE_OTHERS:
        return str(kind.value)
    if kind in (Kind.IGNORE_FILE, Kind.IGNORE_FILE_LIST):
        return f"{kind.value}({annotation.issue})"
    if annotation.issue is None:
        return f"{kind.value}({annotation.output_id})"
    return f"{kind.value}({annotation.output_id}, {annotation.issue})"


def render(annotation: Annotation, prefix: str = "//") -> str:
    """The canonical annotation line, e.g. `//:: ExpectedOutput(dma.map.failed:overlap)`."""
    return f"{prefix}:: {render_body(annotation)}"
