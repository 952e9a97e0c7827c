"""The engine's modules import each other without a cycle, and never pytest, rich or harness."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "annotations"


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports, at any depth of its code (lazy imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            found.add(node.module)
            if node.module == "annotations":
                found.update(f"annotations.{alias.name}" for alias in node.names)
    return found


def graph() -> dict[str, set[str]]:
    modules = {f"annotations.{p.stem}": p for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    return {
        name: {m for m in imports_of(path) if m in modules and m != name}
        for name, path in modules.items()
    }


def test_the_engines_modules_import_each_other_without_a_cycle() -> None:
    try:
        order = list(TopologicalSorter(graph()).static_order())
    except CycleError as error:
        raise AssertionError(f"import cycle: {error.args[1]}") from None
    assert "annotations.forms" in order and "annotations.grammar" in order


def test_the_grammar_module_does_not_import_the_forms_module() -> None:
    assert "annotations.forms" not in graph()["annotations.grammar"]


def test_the_engine_imports_no_pytest_rich_or_harness() -> None:
    for path in PACKAGE.glob("*.py"):
        banned = {m for m in imports_of(path) if m.split(".")[0] in ("pytest", "rich", "harness")}
        assert not banned, f"{path.name} imports {sorted(banned)}"
