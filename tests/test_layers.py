"""The layer rules of style.md §1, enforced by scanning imports.

- harness/vfio/ imports only the standard library (and sortedcontainers for the DMA map);
- annotations/ never imports pytest, rich or harness;
- only the plugin-side modules import pytest; only harness/render.py imports rich.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_MODULES = {"plugin", "items", "known_bugs", "junit", "summary", "outcomes", "plugin_options"}


def imported_modules(path: Path) -> set[str]:
    """Full names of the modules a file imports (absolute imports only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def imported_roots(path: Path) -> set[str]:
    """Top-level package names a file imports."""
    return {name.split(".")[0] for name in imported_modules(path)}


def modules(package: str) -> list[Path]:
    """Every Python file of a top-level package of the project."""
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", modules("harness/vfio"), ids=lambda p: p.name)
def test_core_imports_only_the_standard_library(path: Path) -> None:
    allowed = set(sys.stdlib_module_names) | {"sortedcontainers"}
    names = imported_modules(path)
    outside = {
        n for n in names if n.split(".")[0] not in allowed and not n.startswith("harness.vfio")
    }
    assert not outside, f"{path.name} imports {sorted(outside)}"


@pytest.mark.parametrize("path", modules("annotations"), ids=lambda p: p.name)
def test_annotation_engine_imports_no_pytest_rich_or_harness(path: Path) -> None:
    assert not imported_roots(path) & {"pytest", "_pytest", "rich", "harness"}


@pytest.mark.parametrize("path", modules("harness"), ids=lambda p: str(p.relative_to(ROOT)))
def test_only_plugin_modules_import_pytest(path: Path) -> None:
    if path.stem in PLUGIN_MODULES and path.parent.name == "harness":
        return
    assert not imported_roots(path) & {"pytest", "_pytest"}


@pytest.mark.parametrize(
    "path", modules("harness") + modules("annotations"), ids=lambda p: str(p.relative_to(ROOT))
)
def test_only_the_renderer_imports_rich(path: Path) -> None:
    if path.relative_to(ROOT).as_posix() == "harness/render.py":
        return
    assert "rich" not in imported_roots(path)
