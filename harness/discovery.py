"""Finding scenarios: `.vfio` files under the given paths, grouped into tests by name alone.

Collection never reads a scenario's text to group it: grouping is by file name only.
- `group(paths, root)`: `name_file1.vfio`, `name_file2.vfio`, ... in one folder form one
  scenario `name`, files in number order (file10 after file9); every other file is a
  scenario of its own. Sorted by relative path.
- `scenario_root(path, roots)`: the root a file's relative name is taken from: the deepest
  configured root that holds it, else its nearest ancestor folder named `scenarios`, else
  `fallback` (pytest passes its rootdir).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SUFFIX = ".vfio"
ROOT_FOLDER = "scenarios"
_GROUP_MEMBER = re.compile(r"(?P<name>.+)_file(?P<number>[0-9]+)")


@dataclass(frozen=True, slots=True)
class Scenario:
    """One test: a single file, or a `_fileN` group run in number order on one state.

    Its names relative to the root are worked out once, as it is made: collection asks for
    them several times per scenario.
    """

    name: str  # the stem, or for a group the part before `_fileN`
    files: tuple[Path, ...]
    root: Path  # the scenario root that relative names are taken from
    # Each file's posix path relative to the root, in run order.
    file_relpaths: tuple[str, ...] = field(init=False, compare=False, repr=False)
    # `dma/overlap.vfio`, or `dma/name` for a group.
    relpath: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.files:
            raise ValueError(f"scenario {self.name!r} has no files")
        relpaths = tuple(relative(path, self.root) for path in self.files)
        first = relpaths[0]
        if self.is_group:
            folder, _, _ = first.rpartition("/")
            first = f"{folder}/{self.name}" if folder else self.name
        object.__setattr__(self, "file_relpaths", relpaths)
        object.__setattr__(self, "relpath", first)

    @property
    def is_group(self) -> bool:
        """True for a `_fileN` group (even a group of one numbered file)."""
        return group_member(self.files[0]) is not None


def group_member(path: Path) -> tuple[str, int] | None:
    """`(name, N)` for a file named `name_fileN.vfio`, else None."""
    if path.suffix != SUFFIX:
        return None
    found = _GROUP_MEMBER.fullmatch(path.stem)
    if found is None:
        return None
    return found["name"], int(found["number"])


def relative(path: Path, root: Path) -> str:
    """Posix path of `path` relative to `root` (the file name when outside it)."""
    # String slicing: collection calls this a few times per file, and Path.relative_to is slow.
    text, prefix = str(path), str(root)
    if text.startswith(prefix) and text[len(prefix) : len(prefix) + 1] == os.sep:
        return text[len(prefix) + 1 :].replace(os.sep, "/")
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


def group(paths: Iterable[Path], root: Path) -> list[Scenario]:
    """Scenarios from file names alone, sorted by relative path."""
    singles: list[Scenario] = []
    groups: dict[tuple[Path, str], list[tuple[int, Path]]] = {}
    for path in paths:
        member = group_member(path)
        if member is None:
            singles.append(Scenario(path.stem, (path,), root))
        else:
            name, number = member
            groups.setdefault((path.parent, name), []).append((number, path))
    scenarios = singles + [
        Scenario(name, tuple(path for _, path in sorted(members)), root)
        for (_, name), members in groups.items()
    ]
    return sorted(scenarios, key=lambda scenario: scenario.relpath)


def scenario_root(path: Path, roots: Sequence[Path], fallback: Path) -> Path:
    """The scenario root a file's names are relative to (see the module docstring)."""
    holding = [root for root in roots if path.is_relative_to(root)]
    if holding:
        return max(holding, key=lambda root: len(root.parts))
    for parent in path.parents:
        if parent.name == ROOT_FOLDER:
            return parent
    return fallback if path.is_relative_to(fallback) else path.parent
