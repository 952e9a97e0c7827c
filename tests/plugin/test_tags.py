"""The tags and markers of a scenario (harness/tags.py) agree with the engine's reader."""

from __future__ import annotations

import pytest

from annotations import Verdict, match, read_text, read_texts
from annotations.annotation import IssueRef, ReadResult
from harness.tags import Tags, project_applies

TEXT = """container c0
//:: UnexpectedOutput(dma.map.failed:overlap, /model/issue/12/)
//:: MissingOutput(assert.failed, /Kernel/issue/007/)\r
map c0 iova=0 vaddr=0 size=4K
  //:: IgnoreFile(/vfio/issue/3/)
map c0 iova=0 vaddr=0 size=4K //:: UnexpectedOutput(x, /model/issue/99/)
//::UnexpectedOutput(x, /model/issue/98/)
"""


def scan(text: str, file: str = "a.vfio") -> Tags:
    """The tags of one file's text, read as a run reads it."""
    return Tags(read_text(text, file, prefix="//"))


def test_scan_finds_the_issue_links_the_reader_keeps_in_file_order() -> None:
    assert scan(TEXT).issues == (
        IssueRef("model", 12),
        IssueRef("Kernel", 7),
        IssueRef("vfio", 3),
    )


def test_keywords_are_issue_and_project_issue_names_and_the_links_themselves() -> None:
    assert scan(TEXT).keywords() == {
        "issue-12", "model-issue-12", "issue-7", "kernel-issue-7", "issue-3", "vfio-issue-3",
        "/model/issue/12/", "/Kernel/issue/7/", "/vfio/issue/3/",
    }  # fmt: skip


def test_known_bug_and_ignored_apply_only_to_projects_in_force() -> None:
    tags = scan(TEXT)
    assert tags.known_bug(["model"])
    assert tags.known_bug(["kernel"])
    assert not tags.known_bug(["qemu"])
    assert tags.ignored(["vfio", "qemu"])
    assert not scan(TEXT.replace("/vfio/issue/3/", "/kernel/issue/3/")).ignored(["model"])
    assert not Tags(ReadResult()).ignored(["vfio"])  # no file at all is not "all ignored"


def test_known_bug_of_an_ignored_file_is_not_in_force() -> None:
    # As in the matcher: the annotations of an ignored file are not in force.
    assert not scan(TEXT).known_bug(["vfio", "model"])


def test_project_names_match_in_any_case_with_affixes() -> None:
    assert project_applies("MODEL", ["model"])
    assert project_applies("model", ["vfio-model"])
    assert project_applies("model", ["model-next"])
    assert not project_applies("model", ["remodel"])


def test_ignore_file_list_ignores_for_every_project() -> None:
    assert scan("//:: IgnoreFileList(/kernel/issue/1/)\ncontainer c0\n").ignored(["model"])


def test_ignore_file_with_no_line_after_it_marks_nothing_as_silver_drops_it() -> None:
    text = "container c0\n//:: IgnoreFile(/vfio/issue/3/)\n"
    tags = scan(text)
    assert not tags.ignored(["vfio"])
    assert tags.issues == ()
    assert match([], read_text(text), ["vfio"]).verdict is not Verdict.IGNORED


def test_malformed_issue_links_give_no_tags() -> None:
    text = "//:: UnexpectedOutput(x, /model/issue/1)\n//:: IgnoreFile(/vfio/issue/x/)\nmap\n"
    tags = scan(text)
    assert tags.issues == ()
    assert not tags.known_bug(["model"])
    assert not tags.ignored(["vfio"])


def test_text_without_annotations_has_no_tags() -> None:
    tags = scan("container c0\n")
    assert tags.links == ()
    assert not tags.ignored(["vfio"])
    assert not tags.known_bug(["vfio"])


def test_file_level_known_bugs_count_as_known_bugs() -> None:
    tags = scan("//:: UnexpectedFileOutput(scenario.error, /model/issue/4/)\ncontainer c0\n")
    assert tags.issues == (IssueRef("model", 4),)
    assert tags.known_bug(["model"])


def test_tags_of_a_group_apply_per_file() -> None:
    ignored = "//:: IgnoreFile(/vfio/issue/1/)\ncontainer c0\n"
    buggy = "//:: UnexpectedOutput(x, /model/issue/2/)\nmap\n"
    both = Tags(read_texts([("a_file1.vfio", ignored), ("a_file2.vfio", buggy)]))
    assert both.known_bug(["vfio", "model"])
    assert not both.ignored(["vfio", "model"])
    twice = Tags(read_texts([("b_file1.vfio", ignored), ("b_file2.vfio", ignored)]))
    assert twice.ignored(["vfio"])
    # A known bug in an ignored file is not in force.
    bug_in_ignored = Tags(
        read_texts([("c_file1.vfio", ignored + buggy.replace("model", "vfio"))])
    )
    assert not bug_in_ignored.known_bug(["vfio"])


@pytest.mark.parametrize(
    "text",
    [
        TEXT,
        "//:: IgnoreFile(/vfio/issue/3/)\n",
        "//:: IgnoreFile(/vfio/issue/3/)\r\n\r\n",
        "// //:: IgnoreFile(/vfio/issue/3/)\nmap\n",
        "//:: IgnoreFile(/vfio/issue/3/) \nmap\n",
        "//:: IgnoreFile(/VFIO-x/issue/3/)\nmap\n",
        "//:: IgnoreFile( /vfio/issue/3/)\nmap\n",
        "//:: IgnoreFile(/model/issue/3/)\nmap\n",
        "//:: IgnoreFileList(/kernel/issue/9/)\n// note\nmap\n",
        "//:: UnexpectedOutput(x, /model/issue/5/)\n",
        "//:: UnexpectedOutput(x, /model/issue/5/)\nmap\n",
        "//:: MissingOutput(x, /vfio/issue/5/)\n\nmap\n",
        "//:: MissingOutput(x, /kernel/issue/5/)\nmap\n",
    ],
)
def test_markers_agree_with_the_matchers_verdict(text: str) -> None:
    projects = ["model", "vfio"]
    tags, outcome = scan(text, "t.vfio"), match([], read_text(text, "t.vfio"), projects)
    assert tags.ignored(projects) is (outcome.verdict is Verdict.IGNORED)
    in_force = outcome.verdict is not Verdict.IGNORED and any(
        a.kind.value in ("UnexpectedOutput", "MissingOutput")
        and a.issue is not None
        and project_applies(a.issue.project, projects)
        for a in read_text(text, "t.vfio").annotations
    )
    assert tags.known_bug(projects) is in_force
