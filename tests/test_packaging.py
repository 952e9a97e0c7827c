"""Packaging: the licence as an SPDX expression with its file, and hypothesis as a test (and
`diff` extra) dependency only (the layers test checks what imports it)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def names(requirements: list[str]) -> set[str]:
    """Distribution names of requirement strings (`lark>=1.1.9,<2` -> `lark`)."""
    return {requirement.split(">")[0].split("<")[0].split("=")[0].split(";")[0].strip()
            for requirement in requirements}


def test_licence_is_an_spdx_expression_with_its_file() -> None:
    assert PROJECT["license"] == "MIT"
    assert PROJECT["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n")
    assert "Permission is hereby granted, free of charge" in text


def test_hypothesis_is_a_test_dependency_not_a_runtime_one() -> None:
    assert "hypothesis" not in names(PROJECT["dependencies"])
    extras = PROJECT["optional-dependencies"]
    assert "hypothesis" in names(extras["test"])
    assert "hypothesis" in names(extras["diff"])  # `python -m harness diff` generates with it


def test_the_source_distribution_carries_tests_scenarios_and_docs() -> None:
    manifest = (ROOT / "MANIFEST.in").read_text(encoding="utf-8").split("\n")
    for folder in ("tests", "scenarios", "docs", "bench"):
        assert f"graft {folder}" in manifest, folder
        assert (ROOT / folder).is_dir(), folder
