"""What collection learns from a scenario's text: the issues its annotations link to.

A cheap line scan, not the annotation reader: collection must stay within a small factor of
merely reading the file, and a malformed annotation is reported when the scenario runs (the
reader's diagnostics), not here. The scan sees only well-formed issue-linked annotations;
anything it misses can only make `-k issue-N` or `-m known_bug` select less, never change
an outcome.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from annotations import project_matches
from annotations.annotation import IssueRef, Kind

SUITE_PROJECT = "vfio"  # the suite-wide project, in force whatever the backend
_ISSUE_LINKED = re.compile(
    r"^[\x00-\x20]*//:: (?P<kind>(?:Unexpected|Missing)(?:File)?Output|IgnoreFileList|IgnoreFile)"
    r"\((?:[^()\n]*, )?/(?P<project>[^/\s]+)/issue/(?P<number>[0-9]+)/\)[\x00-\x20]*$",
    re.MULTILINE,
)
_KNOWN_BUG = (Kind.UNEXPECTED, Kind.MISSING, Kind.UNEXPECTED_FILE, Kind.MISSING_FILE)


@dataclass(frozen=True, slots=True)
class Tags:
    """The issue-linked annotations of a scenario, as (kind, issue) in file order."""

    links: tuple[tuple[Kind, IssueRef], ...] = ()

    @property
    def issues(self) -> tuple[IssueRef, ...]:
        """Every linked issue once, in file order."""
        return tuple(dict.fromkeys(issue for _, issue in self.links))

    def keywords(self) -> set[str]:
        """`-k` names: `issue-12` and `model-issue-12` for each linked issue."""
        names: set[str] = set()
        for issue in self.issues:
            names.add(f"issue-{issue.number}")
            names.add(f"{issue.project.lower()}-issue-{issue.number}")
        return names

    def known_bug(self, projects: Iterable[str]) -> bool:
        """Whether an Unexpected/Missing(File)Output applies to a project in force."""
        return self._any(_KNOWN_BUG, projects)

    def ignored(self, projects: Iterable[str]) -> bool:
        """Whether an IgnoreFile for a project in force, or any IgnoreFileList, stands here."""
        if any(kind is Kind.IGNORE_FILE_LIST for kind, _ in self.links):
            return True  # Silver: an IgnoreFileList ignores the file for every project
        return self._any((Kind.IGNORE_FILE,), projects)

    def _any(self, kinds: tuple[Kind, ...], projects: Iterable[str]) -> bool:
        wanted = tuple(projects)
        return any(
            kind in kinds and project_applies(issue.project, wanted) for kind, issue in self.links
        )

    def __add__(self, other: Tags) -> Tags:
        return Tags(self.links + other.links)


def scan(text: str) -> Tags:
    """The issue-linked annotations of one file's text."""
    if "//::" not in text:
        return Tags()
    return Tags(
        tuple(
            (Kind(found["kind"]), IssueRef(found["project"], int(found["number"])))
            for found in _ISSUE_LINKED.finditer(text)
        )
    )


def project_applies(project: str, projects: Iterable[str]) -> bool:
    """Whether an issue's project names one in force (Silver's rule, from the matcher)."""
    return any(project_matches(project, candidate) for candidate in projects)
