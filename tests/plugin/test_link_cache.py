"""Issue links at collection: read as the run reads them, remembered by content hash in
pytest's cache folder, and a cache file that is not what it should be is ignored, never
trusted, never blocking."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from plugin_scenarios import IGNORED, KNOWN_BUG, PASSING

from annotations.annotation import Annotation, IssueRef, Kind, OutputId
from harness.discovery import Scenario
from harness.pytest_plugin.link_cache import NAME, LinkCache, digest
from harness.sources import read_links, read_sources
from harness.tags import Tags

Write = Callable[[dict[str, str | bytes]], Path]
PROJECTS = ("vfio", "model")

LINE = st.sampled_from(
    [
        "container c0",
        "map c0 iova=0x1000 vaddr=0x1000 size=4K",
        "//:: ExpectedOutput(dma.map.failed:overlap)",
        "//:: UnexpectedOutput(dma.map.failed:overlap, /model/issue/12/)",
        "//:: MissingOutput(dma.map.failed, /vfio/issue/3/)",
        "//:: IgnoreFile(/model/issue/4/)",
        "//:: IgnoreFile(/kernel/issue/5/)",
        "//:: IgnoreFileList(/model/issue/6/)",
        "//:: UnexpectedOutput(x, /model/issue/7/) // trailing",
        "//::UnexpectedOutput(x, /model/issue/8/)",
        "// a comment about /model/issue/9/",
        "",
    ]
)


def tags_summary(tags: Tags) -> tuple[object, ...]:
    return tags.links, tags.known_bug(PROJECTS), tags.ignored(PROJECTS), tags.keywords()


@given(st.lists(st.lists(LINE, max_size=6), min_size=1, max_size=3))
def test_links_read_at_collection_give_the_tags_the_run_would(files: list[list[str]]) -> None:
    # A group of files: the tags from the links alone equal those from everything the run
    # reads (so a marker never disagrees with the run), with and without a cache.
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for index, lines in enumerate(files, 1):
            path = Path(folder) / f"g_file{index}.vfio"
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            paths.append(path)
        scenario = Scenario("g", tuple(paths), Path(folder))
        full = tags_summary(Tags(read_sources(scenario).read))
        cache = LinkCache(Path(folder) / NAME)
        assert tags_summary(Tags(read_links(scenario, cache))) == full  # a miss: read
        assert tags_summary(Tags(read_links(scenario, cache))) == full  # a hit: remembered
        assert tags_summary(Tags(read_links(scenario))) == full


def annotation(file: str = "a.vfio") -> Annotation:
    issue = IssueRef("model", 12)
    return Annotation(Kind.UNEXPECTED, file, 2, 3, OutputId("dma.map.failed", "overlap"), issue, 1)


def test_links_are_saved_and_found_again_by_content(tmp_path: Path) -> None:
    path = tmp_path / NAME
    cache = LinkCache(path)
    cache.put(b"content /issue/", (annotation(),))
    cache.save()
    again = LinkCache(path)
    assert again.get(b"content /issue/", "other.vfio") == (annotation("other.vfio"),)
    assert again.get(b"other content", "a.vfio") is None
    assert (path.stat().st_mode & 0o777) == 0o600  # written as a private temporary file


def test_nothing_is_written_when_nothing_was_added(tmp_path: Path) -> None:
    LinkCache(tmp_path / NAME).save()
    assert not (tmp_path / NAME).exists()


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        json.dumps({"version": 99, "files": {}}),
        json.dumps(["version", 1]),
        json.dumps({"version": 1, "files": []}),
        "[" * 100_000,
    ],
)
def test_a_malformed_cache_file_is_ignored(tmp_path: Path, content: str) -> None:
    (tmp_path / NAME).write_text(content, encoding="utf-8")
    assert LinkCache(tmp_path / NAME).entries == {}


@pytest.mark.parametrize(
    "entry",
    [
        [["NoSuchKind", 2, 3, "x", "model", 12, 1]],
        [["UnexpectedOutput", -2, 3, "x", "model", 12, 1]],
        [["UnexpectedOutput", 2, 3, "x", "model", "12", 1]],
        [["UnexpectedOutput", 2, 3, "x", "model", True, 1]],
        [["UnexpectedOutput", 2, 3, "x", "model", 12]],
        ["UnexpectedOutput"],
    ],
)
def test_a_malformed_entry_is_a_miss(tmp_path: Path, entry: list[object]) -> None:
    data = b"text /issue/"
    content = {"version": 1, "files": {digest(data): entry}}
    (tmp_path / NAME).write_text(json.dumps(content), encoding="utf-8")
    assert LinkCache(tmp_path / NAME).get(data, "a.vfio") is None


def test_a_symbolic_link_fifo_or_huge_file_is_not_read(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text(json.dumps({"version": 1, "files": {"k": []}}), encoding="utf-8")
    (tmp_path / "link").mkdir()
    (tmp_path / "link" / NAME).symlink_to(real)
    assert LinkCache(tmp_path / "link" / NAME).entries == {}
    (tmp_path / "fifo").mkdir()
    os.mkfifo(tmp_path / "fifo" / NAME)  # a blocking read would hang the run
    assert LinkCache(tmp_path / "fifo" / NAME).entries == {}
    (tmp_path / "huge").mkdir()
    with open(tmp_path / "huge" / NAME, "wb") as handle:
        handle.truncate(33 << 20)
    assert LinkCache(tmp_path / "huge" / NAME).entries == {}


def test_a_file_edited_between_runs_gets_the_tags_of_its_new_content(
    pytester: pytest.Pytester, write_scenarios: Write
) -> None:
    write_scenarios({"scenarios/a.vfio": KNOWN_BUG, "scenarios/b.vfio": IGNORED})
    first = pytester.runpytest("--collect-only", "-q", "-m", "known_bug")
    assert [line for line in first.stdout.lines if "::" in line] == ["scenarios/a.vfio::a"]
    assert (pytester.path / ".pytest_cache" / "d" / "vfio" / NAME).is_file()
    write_scenarios({"scenarios/a.vfio": PASSING, "scenarios/b.vfio": KNOWN_BUG})
    second = pytester.runpytest("--collect-only", "-q", "-m", "known_bug")
    assert [line for line in second.stdout.lines if "::" in line] == ["scenarios/b.vfio::b"]
