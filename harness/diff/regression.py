"""Regression files: one annotated `.vfio` scenario per class of divergence.

The file is the shrunk program. Every line states the reference's answer: a failing line gets
`//:: ExpectedOutput(ID)` above it, a statement that returns a value ends in `== VALUE`, a query
is an `assert` of the value the reference read. Run on the reference, the file passes; run on
the target, it fails at the divergent line, which says in a comment what the target answered.
A header comment says which backends disagreed, with what versions, how the file was found
(seed, budget, the program's number) and how to run it again.

Writing is atomic: the text goes to a temporary file in the same folder, then is linked to its
name (which fails if the name exists: an existing file is kept unless `overwrite`, and then it
is replaced with `os.replace`). The date in the header is today's, or `SOURCE_DATE_EPOCH`'s
when that is set (reproducible-builds.org). A file that differs from the existing one only in
that date is the same finding: it is left alone (`unchanged`), and its date stays the day the
class was first found, so the same seed and budget leave the same files on any day.
"""

from __future__ import annotations

import datetime
import enum
import os
import platform
import re
import shlex
import tempfile
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from harness.diff.compare import Answer, AnswerKind, errno_only
from harness.diff.draws import MAX_OPS
from harness.diff.program import Call, size_text
from harness.diff.search import Found, Limits
from harness.vfio.catalog import ErrorId

SUFFIX = ".vfio"
_EVAL = ErrorId.SCENARIO_EVAL.value
_SIZES = {"unmap", "unmap_all", "mapped", "bar_size", "rom_size"}
_COUNTS = {"mappings", "avail", "msix_vectors", "msix_delivered", "msix_configured"}
MESSAGE_WIDTH = 92  # characters per comment line of a target's message


@dataclass(frozen=True, slots=True)
class Side:
    """A backend as the header shows it: the spec given, its project name, its `info`."""

    spec: str
    name: str
    info: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Provenance:
    """How a search ran: what the header says and how to rerun it."""

    reference: Side
    target: Side
    seed: int
    limits: Limits
    areas: Sequence[str]
    defines: Sequence[str] = ()  # the `-D key=value` options given
    max_ops: int = MAX_OPS
    out: str | None = None  # the folder given with --out (None: the default)

    def rerun(self) -> str:
        """The command line that runs this search again (and writes the same files)."""
        words = ["python", "-m", "harness", "diff", "--against", self.target.spec]
        if self.reference.spec != "model":
            words += ["--reference", self.reference.spec]
        words += ["--seed", str(self.seed)]
        if self.limits.budget is not None:
            words += ["--budget", str(self.limits.budget)]
        if self.limits.seconds is not None:
            words += ["--time", f"{self.limits.seconds:g}"]
        words += ["--areas", ",".join(self.areas)]
        if self.max_ops != MAX_OPS:
            words += ["--max-ops", str(self.max_ops)]
        if self.out is not None:
            words += ["--out", self.out]
        return shlex.join(words + self._defines())

    def run_on(self, side: Side, path: str) -> str:
        """The command line that runs a written file on one side's backend."""
        words = ["python", "-m", "harness", "run", path]
        if side.spec != "model":
            words += ["--backend", side.spec]
        return shlex.join(words + self._defines())

    def _defines(self) -> list[str]:
        return [word for define in self.defines for word in ("-D", define)]


def today() -> str:
    """Today's date (UTC), or `SOURCE_DATE_EPOCH`'s when it is set."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = (
        datetime.datetime.fromtimestamp(int(epoch), datetime.UTC)
        if epoch and epoch.isdigit()
        else datetime.datetime.now(datetime.UTC)
    )
    return moment.date().isoformat()


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


def file_name(found: Found, target: Side) -> str:
    """`TARGET-METHOD-REF-vs-TGT.vfio`: one name per class and target."""
    stem = "-".join((target.name, found.shape.slug()))
    return "".join(c if c.isalnum() or c in "-." else "-" for c in stem) + SUFFIX


def _value_text(call: Call, value: int) -> str:
    if call.method in _SIZES:
        return size_text(value) if value else "0"
    if call.method in _COUNTS:
        return str(value)
    return hex(value)


def _answer_text(call: Call, answer: Answer) -> str:
    """The answer in a few words: `succeeded`, `returned 4K`, an id (its message apart)."""
    if answer.kind is AnswerKind.OK:
        if answer.value is None:
            return "succeeded"
        if call.boolean:
            return "true" if answer.value else "false"
        return f"returned {_value_text(call, answer.value)}"
    if answer.kind is AnswerKind.FAILED:
        named = errno_only(answer) or answer.errno is None  # `kernel.errno:EINVAL` names it
        return answer.id if named else f"{answer.id} (errno {answer.errno})"
    if answer.kind is AnswerKind.CRASH:
        return f"crashed: {answer.id}"
    return "cannot run it" if answer.kind is AnswerKind.UNSUPPORTED else "broke down (fault)"


def _message_lines(name: str, answer: Answer) -> list[str]:
    """The backend's own message, whole, as comment lines under the divergent line."""
    if answer.kind is AnswerKind.OK or not answer.message.strip():
        return []
    text = f"{name} said: " + " ".join(answer.message.split())
    return [f"//   {chunk}" for chunk in textwrap.wrap(text, MESSAGE_WIDTH)]


def _line(text: str, call: Call, answer: Answer) -> tuple[str | None, str]:
    """The annotation (if any) and the statement line for the reference's answer."""
    if answer.kind is AnswerKind.FAILED:
        annotation = _EVAL if call.query else answer.id
        return f"//:: ExpectedOutput({annotation})", text
    if answer.value is None:
        return None, text
    if call.boolean:
        expression = text.removeprefix("assert ")
        return None, f"assert {expression}" if answer.value else f"assert not {expression}"
    return None, f"{text} == {_value_text(call, answer.value)}"


@dataclass(frozen=True, slots=True)
class Rendered:
    """A regression file's text and the line (1-based) where the target diverges."""

    text: str
    line: int
    # The lines the target cannot run and yet the divergence needs (`Found.alone`): run as a
    # scenario on the target, the file stops at the first.
    needed: tuple[int, ...] = ()


def render(found: Found, provenance: Provenance, path: str) -> Rendered:
    """The regression file of one class (see the module docstring)."""
    body = _body(found, provenance.reference.name, provenance.target.name)
    header_lines = len(_header(found, provenance, path, body, 0))
    line = header_lines + body.divergent
    header = _header(found, provenance, path, body, header_lines)
    needed = tuple(header_lines + index for index in body.needed)
    return Rendered("\n".join(header + body.lines) + "\n", line, needed)


@dataclass(frozen=True, slots=True)
class _Body:
    lines: list[str]
    divergent: int  # the divergent line's index in `lines` (1-based)
    needed: tuple[int, ...]  # the same for the lines the target skipped yet the divergence needs


def _body(found: Found, reference_name: str, target_name: str) -> _Body:
    """The program's lines with the reference's answers, and where the target parts ways."""
    comparison = found.comparison
    # When the divergence needs a statement the target skipped, the file holds it, and the
    # reference runs it: its answers are those of a run of every call (`Found.alone`).
    references = comparison.reference if found.alone is None else found.alone
    answers = iter(zip(references, comparison.target, strict=True))
    # Calls after the divergent one (a device's later members, when the search could not cut
    # them) have no answers: they are written as they are, and the file check tells.
    last_call = len(comparison.reference) - 1
    lines: list[str] = []
    needed: list[int] = []
    call_index = -1
    divergent = 0
    for _, line in comparison.program.lines():
        if line.call is None:
            lines.append(line.text)
            continue
        call_index += 1
        pair = next(answers, None)
        if pair is None:
            lines.append(line.text)
            continue
        reference, target = pair
        skipped = target.kind is AnswerKind.UNSUPPORTED and call_index != last_call
        if skipped and found.alone is None:  # neither backend ran it (the file check tells)
            lines.append(f"{line.text}   // {target_name} cannot run this: neither side ran it")
            continue
        annotation, text = _line(line.text, line.call, reference)
        if annotation is not None:
            lines.append(annotation)
        if skipped:
            text = f"{text}   // {target_name} cannot run this, and yet the divergence needs it"
            needed.append(len(lines) + 1)
        if call_index == last_call:
            text = f"{text}   // {target_name}: {_answer_text(line.call, target)}"
            if found.alone is not None:  # what the reference answered in the search
                compared = _answer_text(line.call, comparison.reference[-1])
                text += f"; {reference_name} without the skipped line: {compared}"
            divergent = len(lines) + 1
            lines += [text, *_message_lines(target_name, target)]
            continue
        lines.append(text)
    return _Body(lines, divergent, tuple(needed))


def _header(found: Found, provenance: Provenance, path: str, body: _Body, offset: int) -> list[str]:
    """The header comment; `offset` is its own length (body lines are numbered after it)."""
    ref, tgt = provenance.reference, provenance.target
    shrunk = len(found.comparison.program)
    budget = provenance.limits.budget
    of = f" of {budget}" if budget is not None else ""
    line = offset + body.divergent
    needed = ", ".join(str(offset + index) for index in body.needed)
    on_target = (
        f"stops at line {needed}: {tgt.name} cannot run it (see the note)"
        if body.needed
        else f"fails at line {line}"
    )
    lines = [
        f"// Differential test: {tgt.name} answers otherwise than {ref.name} at line {line}.",
        f"// class:     {found.shape}",
        f"// reference: {ref.name} ({ref.spec})",
        *(f"//   {key}: {value}" for key, value in sorted(ref.info.items())),
        f"// target:    {tgt.name} ({tgt.spec})",
        *(f"//   {key}: {value}" for key, value in sorted(tgt.info.items())),
        f"// found:     program {found.sequence}{of}, seed {provenance.seed},"
        f" {found.first_size} statements shrunk to {shrunk}, on {today()}",
        f"// versions:  vfio-harness {_version('vfio-harness')},"
        f" hypothesis {_version('hypothesis')}, python {platform.python_version()}",
        f"// rerun:     {provenance.rerun()}",
        f"// check:     {provenance.run_on(ref, path)}",
        f"//              passes on {ref.name}",
        f"//            {provenance.run_on(tgt, path)}",
        f"//              {on_target}",
    ]
    if body.needed:
        seen = found.comparison.divergence
        lines += [
            f"// note:      {tgt.name} said it cannot run line {needed} (Unsupported), yet the",
            f"//            divergence at line {line} ({seen}) needs that line:",
            "//            the call changed the target's state, which a backend that cannot run",
            "//            a call must not do. `diff` skips such a call on both sides and goes on,",
            "//            which is how the divergence shows; a scenario run stops there.",
        ]
    lines += [
        "//",
        "// Each line holds the reference's answer: an expected output above a line that fails,",
        "// `== VALUE` on a value, an assert of each attribute read at the end. The line where the",
        f"// target answers otherwise ends with what {tgt.name} answered (its message below it).",
        "",
    ]
    return [" ".join(line.split("\n")) for line in lines]


class Written(enum.Enum):
    """What writing a regression file did."""

    CREATED = "created"
    REPLACED = "replaced"
    UNCHANGED = "unchanged"  # the file exists with this very text
    KEPT = "kept"  # the file exists with other text and overwriting was not asked for


# The date at the end of the `found:` line (see `_header`).
_DATE = re.compile(r"^(// found: .*), on \d{4}-\d{2}-\d{2}$", re.MULTILINE)


def _undated(text: str) -> str:
    return _DATE.sub(r"\1", text)


def write(path: Path, text: str, *, overwrite: bool = False) -> Written:
    """Write `text` to `path` atomically; an existing file is replaced only if `overwrite`,
    and left alone when it differs from `text` in its date only."""
    data = text.encode("utf-8")
    if path.exists():
        try:
            if _undated(path.read_text(encoding="utf-8")) == _undated(text):
                return Written.UNCHANGED
        except (OSError, UnicodeDecodeError):
            pass
        if not overwrite:
            return Written.KEPT
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        if overwrite:
            existed = path.exists()
            os.replace(temporary, path)
            return Written.REPLACED if existed else Written.CREATED
        try:
            os.link(temporary, path)  # fails if the name exists: never clobbers
        except FileExistsError:
            return Written.KEPT
        return Written.CREATED
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
