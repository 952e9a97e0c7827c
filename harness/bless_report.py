"""What a bless did, as plain lines: the CLI prints them as each scenario ends, the pytest
plugin writes them in its terminal summary.

One line per file that bless changed (or would change) with its annotations added, removed and
replaced; one per file left alone with why (not rewritten, not written); one per finding no
edit fixes; one per scenario not blessed at all; then a summary line and hints. Every line
starts with the place it is about (`path:` or `path:line:`), as compilers print, so editors
and grep read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from annotations.bless import Action, LeftAlone
from annotations.outcome import FindingKind
from harness.bless import FileBless, FileState, Mode, ScenarioBless
from harness.runner import Status

_STALE_BUG = (FindingKind.UNEXPECTED_BUT_MISSING, FindingKind.MISSING_BUT_PRESENT)
_VERBS = ((Action.ADDED, "added"), (Action.REMOVED, "removed"), (Action.REPLACED, "replaced"))


def plural(count: int, noun: str) -> str:
    """`1 file`, `2 files`."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def changes(counts: dict[Action, int]) -> str:
    """`2 annotations added, 1 removed` (only the actions that occur)."""
    done = [(counts[action], verb) for action, verb in _VERBS if counts.get(action)]
    if not done:
        return "no annotation changed"
    (first, verb), rest = done[0], done[1:]
    return ", ".join([f"{plural(first, 'annotation')} {verb}", *(f"{n} {v}" for n, v in rest)])


@dataclass
class BlessReport:
    """Counts and lines of a bless over many scenarios.

    `known_bugs_switch` is how the user turns on the known-bug rules (`--bless-known-bugs` on
    the command line, `--vfio-bless-known-bugs` under pytest), for the hint about stale known
    bugs left alone.
    """

    mode: Mode
    known_bugs: bool
    known_bugs_switch: str
    scenarios: int = 0
    states: dict[FileState, int] = field(default_factory=dict)
    actions: dict[Action, int] = field(default_factory=dict)
    left_alone: int = 0
    stale_bugs_left: int = 0
    not_blessed: int = 0
    failed: int = 0  # scenarios that fail with their blessed annotations
    edited: int = 0  # files changed, or that would change

    def add(self, blessed: ScenarioBless, *, unsupported_fails: bool = False) -> list[str]:
        """Count one scenario's bless; its lines."""
        self.scenarios += 1
        if blessed.status(unsupported_fails=unsupported_fails) is Status.FAILED:
            self.failed += 1
        if blessed.stopped is not None:
            self.not_blessed += 1
            return [f"{blessed.before.scenario.files[0]}: not blessed: {blessed.stopped}"]
        lines: list[str] = []
        for file in blessed.files:
            self.states[file.state] = self.states.get(file.state, 0) + 1
            if file.edited:
                self.edited += 1
                for action, count in file.counts().items():
                    self.actions[action] = self.actions.get(action, 0) + count
            line = self._file_line(file)
            if line is not None:
                lines.append(line)
            if file.state is not FileState.NOT_REWRITTEN:
                lines.extend(self._left_alone(file.file, item) for item in file.left_alone)
        return lines

    def _file_line(self, file: FileBless) -> str | None:
        if file.edited:
            return f"{file.file}: {file.state.value}: {changes(file.counts())}"
        if file.state in (FileState.NOT_WRITTEN, FileState.NOT_REWRITTEN):
            return f"{file.file}: {file.state.value}: {file.reason}"
        return None

    def _left_alone(self, file: str, item: LeftAlone) -> str:
        self.left_alone += 1
        if item.finding.kind in _STALE_BUG:
            self.stale_bugs_left += 1
        finding = item.finding
        where = file if finding.line is None else f"{file}:{finding.line}"
        label = f"[{finding.id}] " if finding.id else ""
        return f"{where}: left alone: {label}{item.reason}"

    def summary(self) -> str:
        """One line: what changed, what was left alone, what was unchanged."""
        get = self.states.get
        verb = "changed" if self.mode is Mode.WRITE else "would change"
        parts = [f"{plural(self.edited, 'file')} {verb}"]
        if self.edited:
            parts[0] += f" ({changes(self.actions)})"
        for state in (FileState.NOT_REWRITTEN, FileState.NOT_WRITTEN):
            if get(state):
                parts.append(f"{plural(get(state, 0), 'file')} {state.value}")
        if self.left_alone:
            parts.append(f"{plural(self.left_alone, 'finding')} left alone")
        if self.not_blessed:
            parts.append(f"{plural(self.not_blessed, 'scenario')} not blessed")
        unchanged = get(FileState.UNCHANGED, 0) + get(FileState.IGNORED, 0)
        parts.append(f"{plural(unchanged, 'file')} unchanged")
        head = "bless" if self.mode is Mode.WRITE else f"bless ({self.mode.value}, nothing written)"
        return f"{head}: {', '.join(parts)}"

    def hints(self) -> list[str]:
        """What to do next about what was left alone."""
        hints: list[str] = []
        if self.stale_bugs_left and not self.known_bugs:
            hints.append(
                f"hint: {plural(self.stale_bugs_left, 'stale known bug')} left alone: "
                f"{self.known_bugs_switch} updates their annotations too"
            )
        if self.states.get(FileState.NOT_WRITTEN):
            hints.append("hint: a file changed while bless ran; bless again to update it")
        return hints
