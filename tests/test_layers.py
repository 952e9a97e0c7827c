"""The layers of the project, stated by path and enforced by scanning every import.

- `harness/vfio/` (the core) imports only the standard library and sortedcontainers;
- `annotations/` never imports pytest, rich or harness;
- only `harness/pytest_plugin/` imports pytest, and nothing imports pytest's private `_pytest`;
- only the rendering modules (`harness/render.py`, and the differential tester's
  `harness/diff/render.py`) import rich;
- only the two grammars' packages (`annotations/`, `harness/scenario/`) import lark;
- hypothesis is not a runtime dependency: only the differential tester (`harness/diff/`, run
  by `python -m harness diff`, which needs the `diff` extra) imports it.

Imports inside functions count: a lazy import is still an import of the layer.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ("harness", "annotations")  # the packages pyproject.toml installs


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


def modules(folder: str) -> list[Path]:
    """Every Python file below a folder of the repository."""
    return sorted((ROOT / folder).rglob("*.py"))


def shipped() -> list[Path]:
    """Every Python file of the installed packages."""
    return [path for package in SHIPPED for path in modules(package)]


def below(path: Path, folder: str) -> bool:
    """Whether `path` lies in the repository folder `folder` (posix, relative to the root)."""
    return path.relative_to(ROOT).as_posix().startswith(folder.rstrip("/") + "/")


def ident(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_every_layer_folder_exists_and_holds_modules() -> None:
    # A renamed folder must not make the rules below pass on nothing.
    for folder in ("harness/vfio", "harness/scenario", "harness/pytest_plugin", "annotations"):
        assert modules(folder), folder
    assert (ROOT / "harness" / "render.py").is_file()


@pytest.mark.parametrize("path", modules("harness/vfio"), ids=ident)
def test_core_imports_only_the_standard_library(path: Path) -> None:
    allowed = set(sys.stdlib_module_names) | {"sortedcontainers"}
    names = imported_modules(path)
    outside = {
        n for n in names if n.split(".")[0] not in allowed and not n.startswith("harness.vfio")
    }
    assert not outside, f"{ident(path)} imports {sorted(outside)}"


@pytest.mark.parametrize("path", modules("annotations"), ids=ident)
def test_annotation_engine_imports_no_pytest_rich_or_harness(path: Path) -> None:
    assert not imported_roots(path) & {"pytest", "_pytest", "rich", "harness"}


@pytest.mark.parametrize("path", shipped(), ids=ident)
def test_only_the_pytest_plugin_package_imports_pytest(path: Path) -> None:
    roots = imported_roots(path)
    assert "_pytest" not in roots, "pytest's private modules are not an API"
    if not below(path, "harness/pytest_plugin"):
        assert "pytest" not in roots


def test_the_pytest_plugin_entry_module_imports_pytest() -> None:
    # The rule above exempts this folder; it must be where the plugin really is.
    assert "pytest" in imported_roots(ROOT / "harness" / "pytest_plugin" / "plugin.py")


RENDERERS = ("harness/render.py", "harness/diff/render.py")


@pytest.mark.parametrize("path", shipped(), ids=ident)
def test_only_the_renderers_import_rich(path: Path) -> None:
    if ident(path) not in RENDERERS:
        assert "rich" not in imported_roots(path)


@pytest.mark.parametrize("path", shipped(), ids=ident)
def test_only_the_grammar_packages_import_lark(path: Path) -> None:
    if not (below(path, "annotations") or below(path, "harness/scenario")):
        assert "lark" not in imported_roots(path)


@pytest.mark.parametrize("path", shipped(), ids=ident)
def test_only_the_differential_tester_imports_hypothesis(path: Path) -> None:
    if not below(path, "harness/diff"):
        assert "hypothesis" not in imported_roots(path)
