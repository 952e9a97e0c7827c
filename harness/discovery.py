"""Finding scenarios: `.vfio` files under the given paths, grouped into tests by name alone.

CONTRACT (signatures fixed; bodies filled in by the plugin work). Collection never reads a
scenario's text: grouping is by file name only.
- `group(paths, root)`: `name_file1.vfio`, `name_file2.vfio`, ... in one folder form one
  scenario `name`, files in number order (file10 after file9); every other file is a
  scenario of its own. Sorted by relative path.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Scenario:
    """One test: a single file, or a `_fileN` group run in number order on one state."""

    name: str  # the stem, or for a group the part before `_fileN`
    files: tuple[Path, ...]
    root: Path  # the scenario root that relative names are taken from

    @property
    def relpath(self) -> str:
        """Posix path relative to the root: `dma/overlap.vfio`, or `dma/name` for a group."""
        raise NotImplementedError


def group(paths: Iterable[Path], root: Path) -> list[Scenario]:
    """Scenarios from file names alone, sorted by relative path."""
    raise NotImplementedError
