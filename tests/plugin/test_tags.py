"""The collection-time scan for issue links (harness/tags.py)."""

from __future__ import annotations

from annotations.annotation import IssueRef
from harness.tags import Tags, project_applies, scan

TEXT = """container c0
//:: UnexpectedOutput(dma.map.failed:overlap, /model/issue/12/)
//:: MissingOutput(assert.failed, /Kernel/issue/007/)\r
map c0 iova=0 vaddr=0 size=4K
  //:: IgnoreFile(/vfio/issue/3/)
map c0 iova=0 vaddr=0 size=4K //:: UnexpectedOutput(x, /model/issue/99/)
//::UnexpectedOutput(x, /model/issue/98/)
"""


def test_scan_finds_well_formed_issue_links_in_file_order() -> None:
    assert scan(TEXT).issues == (
        IssueRef("model", 12),
        IssueRef("Kernel", 7),
        IssueRef("vfio", 3),
    )


def test_keywords_are_issue_and_project_issue_names() -> None:
    assert scan(TEXT).keywords() == {
        "issue-12", "model-issue-12", "issue-7", "kernel-issue-7", "issue-3", "vfio-issue-3"
    }


def test_known_bug_and_ignored_apply_only_to_projects_in_force() -> None:
    tags = scan(TEXT)
    assert tags.known_bug(["vfio", "model"])
    assert tags.known_bug(["kernel"])
    assert not tags.known_bug(["vfio", "qemu"])
    assert tags.ignored(["vfio", "qemu"])
    assert not scan(TEXT.replace("/vfio/issue/3/", "/kernel/issue/3/")).ignored(["model"])
    assert not Tags().ignored(["vfio"])


def test_project_names_match_in_any_case_with_affixes() -> None:
    assert project_applies("MODEL", ["model"])
    assert project_applies("model", ["vfio-model"])
    assert project_applies("model", ["model-next"])
    assert not project_applies("model", ["remodel"])


def test_ignore_file_list_ignores_for_every_project() -> None:
    assert scan("//:: IgnoreFileList(/kernel/issue/1/)\n").ignored(["model"])


def test_text_without_annotations_has_no_tags() -> None:
    assert scan("container c0\n") == Tags()


def test_file_level_known_bugs_count_as_known_bugs() -> None:
    tags = scan("//:: UnexpectedFileOutput(scenario.error, /model/issue/4/)\ncontainer c0\n")
    assert tags.issues == (IssueRef("model", 4),)
    assert tags.known_bug(["model"])
