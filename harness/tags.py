"""What a scenario's annotations say about it: its issue links, known bugs and ignores.

Tags are built by the reader the run itself uses (`harness.sources`), so on the same text a
marker or tag never disagrees with what the run does: an annotation Silver drops (an
`IgnoreFile` with no line after it, a malformed link) marks nothing, and `ignored`/`known_bug`
use the matcher's own rules (`annotations.ignored_files`, known bugs of files not ignored, for a
project in force). A file edited between selection and run is run as it is then.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from annotations import ignored_files, project_matches
from annotations.annotation import Annotation, IssueRef, Kind, ReadResult
from annotations.kinds import KNOWN_BUG_KINDS

SUITE_PROJECT = "vfio"  # the suite-wide project, in force whatever the backend
_IGNORE_KINDS = (Kind.IGNORE_FILE, Kind.IGNORE_FILE_LIST)


@dataclass(frozen=True, slots=True)
class Tags:
    """The annotations the engine reads from a scenario's files (`read`, files in order)."""

    read: ReadResult

    @property
    def links(self) -> tuple[tuple[Kind, IssueRef], ...]:
        """The issue-linked annotations as (kind, issue), in file order."""
        return tuple((a.kind, a.issue) for a in self.read.annotations if a.issue is not None)

    @property
    def issues(self) -> tuple[IssueRef, ...]:
        """Every linked issue once, in file order."""
        return tuple(dict.fromkeys(issue for _, issue in self.links))

    def keywords(self) -> set[str]:
        """`-k` names: `issue-12`, `model-issue-12` and the link `/model/issue/12/` itself."""
        names: set[str] = set()
        for issue in self.issues:
            names.add(str(issue))
            names.add(f"issue-{issue.number}")
            names.add(f"{issue.project.lower()}-issue-{issue.number}")
        return names

    def known_bug(self, projects: Iterable[str]) -> bool:
        """Whether an Unexpected/Missing(File)Output is in force (its project, file not ignored)."""
        bugs = [a for a in self.read.annotations if a.kind in KNOWN_BUG_KINDS]
        if not bugs:
            return False
        wanted = tuple(projects)
        ignored = set(ignored_files(self.read, wanted))
        return any(a.file not in ignored and _applies(a, wanted) for a in bugs)

    def ignored(self, projects: Iterable[str]) -> bool:
        """Whether every file is ignored (IgnoreFile for a project in force, or IgnoreFileList)."""
        files, found = self.read.files, self.read.annotations
        if not files or not any(a.kind in _IGNORE_KINDS for a in found):
            return False
        return len(ignored_files(self.read, tuple(projects))) == len(files)


def issue_link(ref: IssueRef, template: str | None) -> str:
    """An issue link through the `issueUrl` template (`{project}`, `{issue}`), else as written."""
    if template is None:
        return str(ref)
    return template.format(project=ref.project, issue=ref.number)


def project_applies(project: str, projects: Iterable[str]) -> bool:
    """Whether an issue's project names one in force (Silver's rule, from the matcher)."""
    return any(project_matches(project, candidate) for candidate in projects)


def _applies(annotation: Annotation, projects: tuple[str, ...]) -> bool:
    issue = annotation.issue
    return issue is not None and project_applies(issue.project, projects)
