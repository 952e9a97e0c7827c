"""Hypothesis strategies for programs, biased towards the edges the VFIO semantics name.

One program exercises one area: `dma` (`harness.diff.dma_programs`), `config` and `msix`
(`harness.diff.device_programs`); their modules say what each draws. Only statements whose
backend methods are in `methods` are drawn (the methods both backends implement), and nothing
in `avoid` (what the search learned the target cannot run). Choices are listed simplest first,
so Hypothesis shrinks towards plain maps of one page at low addresses.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from harness.diff import program as p
from harness.diff.device_programs import config_programs, msix_programs
from harness.diff.dma_programs import dma_programs
from harness.diff.draws import MAX_OPS, Avoid

AREAS = ("dma", "config", "msix")
__all__ = ["AREAS", "MAX_OPS", "missing", "programs", "usable"]


_NEEDS = {
    "dma": {"container", "map"},
    "config": {"device", "cfg_write", "cfg_read"},
    "msix": {"device", "device_bar", "device_msix", "msix_entry"},
}
_STRATEGIES = {"dma": dma_programs, "config": config_programs, "msix": msix_programs}


def usable(areas: Sequence[str], methods: frozenset[str]) -> list[str]:
    """The areas whose declarations and first operations the backends implement."""
    return [area for area in areas if _NEEDS[area] <= methods]


def missing(area: str, methods: frozenset[str]) -> list[str]:
    """The methods an area needs that are not in `methods`."""
    return sorted(_NEEDS[area] - methods)


def programs(
    areas: Sequence[str],
    methods: frozenset[str],
    max_ops: int = MAX_OPS,
    avoid: Avoid = frozenset(),
) -> st.SearchStrategy[p.Program]:
    """Programs of the given areas (each program one area), using only `methods`, and no
    container option in `avoid` ((key, value) pairs a target cannot run)."""
    chosen = usable(areas, methods)
    if not chosen:
        raise ValueError(f"no area of {', '.join(areas)} can run with these methods")
    return st.one_of([_STRATEGIES[area](methods, max_ops, avoid) for area in chosen])
