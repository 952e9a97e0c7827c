"""Grouping scenario files by name and finding their root (harness/discovery.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.discovery import Scenario, group, group_member, scenario_root

ROOT = Path("/suite/scenarios")


def test_single_files_are_scenarios_named_by_their_stem() -> None:
    scenarios = group([ROOT / "dma/overlap.vfio", ROOT / "bars/size.vfio"], ROOT)
    assert [(s.name, s.relpath) for s in scenarios] == [
        ("size", "bars/size.vfio"),
        ("overlap", "dma/overlap.vfio"),
    ]


def test_numbered_files_form_one_group_in_number_order() -> None:
    files = [ROOT / f"dma/pair_file{n}.vfio" for n in (10, 2, 1, 9)]
    (scenario,) = group(files, ROOT)
    assert scenario.name == "pair"
    assert scenario.relpath == "dma/pair"
    assert [f.name for f in scenario.files] == [
        "pair_file1.vfio", "pair_file2.vfio", "pair_file9.vfio", "pair_file10.vfio"
    ]
    assert scenario.is_group


def test_groups_of_the_same_name_in_two_folders_stay_apart() -> None:
    files = [ROOT / "a/x_file1.vfio", ROOT / "b/x_file1.vfio", ROOT / "a/x_file2.vfio"]
    scenarios = group(files, ROOT)
    assert [(s.relpath, len(s.files)) for s in scenarios] == [("a/x", 2), ("b/x", 1)]


def test_group_member_reads_name_and_number() -> None:
    assert group_member(Path("name_file12.vfio")) == ("name", 12)
    assert group_member(Path("name_fileA.vfio")) is None
    assert group_member(Path("name_file1.txt")) is None


def test_scenario_fails_without_files() -> None:
    with pytest.raises(ValueError, match="no files"):
        Scenario("empty", (), ROOT)


def test_scenario_root_is_the_nearest_scenarios_folder() -> None:
    path = Path("/suite/scenarios/dma/scenarios/x.vfio")
    assert scenario_root(path, (), Path("/suite")) == Path("/suite/scenarios/dma/scenarios")


def test_scenario_root_prefers_the_deepest_configured_root() -> None:
    path = Path("/suite/scenarios/dma/x.vfio")
    roots = (Path("/suite"), Path("/suite/scenarios/dma"))
    assert scenario_root(path, roots, Path("/")) == Path("/suite/scenarios/dma")


def test_scenario_root_falls_back_to_the_rootdir() -> None:
    assert scenario_root(Path("/repo/cases/x.vfio"), (), Path("/repo")) == Path("/repo")
