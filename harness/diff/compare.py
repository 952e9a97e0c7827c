"""Running a program on two backends call by call, and what a disagreement is.

Each call ends in one `Answer`: it succeeded (with the value it returned), it failed the way the
system fails (`VfioError`: an id, and an errno when the backend gives one), the backend could not
run it (`Unsupported`), or the backend broke (`BackendFault`, or any other exception: a crash).

Two answers agree when both succeeded with equal values, or both failed with the same id. A
target that reports only an errno (an id of the `kernel.errno:` family) agrees with a reference
failure whose id has that errno: the errno is all it can say (EINVAL alone stands for six ids).

The first call whose answers disagree is the program's divergence; the run stops there, since
every later call would run on states that differ already. A divergence's `Shape` keeps what is
stable across values (the method, and each side's kind of answer: `ok`, a different value, the
id, a fault), so that thousands of programs showing one bug make one class and one file.
"""

from __future__ import annotations

import enum
import traceback
from dataclasses import dataclass

from harness.backend import Backend, BackendFault, Unsupported
from harness.diff.program import Call, Program
from harness.vfio.catalog import KERNEL_ERRNO, VfioError, kind_of


class AnswerKind(enum.Enum):
    """How a call ended."""

    OK = "ok"
    FAILED = "failed"  # a VfioError: the system refused the call, as specified or not
    UNSUPPORTED = "unsupported"  # the backend cannot run the call: not a finding
    FAULT = "fault"  # the backend broke down (a child exited, hung, broke the protocol)
    CRASH = "crash"  # the backend raised something else: a bug in it


@dataclass(frozen=True, slots=True)
class Answer:
    """What one backend answered to one call."""

    kind: AnswerKind
    value: int | None = None  # OK: the value returned (booleans as 0/1), None for no value
    id: str = ""  # FAILED: the catalog id; CRASH: the exception type
    errno: int | None = None  # FAILED: the errno, when the backend gives one
    message: str = ""

    def describe(self) -> str:
        """The answer in words, for a comment or a table: `ok`, `returned 0x1000`, the id."""
        if self.kind is AnswerKind.OK:
            return "succeeded" if self.value is None else f"returned {self.value:#x}"
        if self.kind is AnswerKind.FAILED:
            errno = f" (errno {self.errno})" if self.errno is not None else ""
            return f"{self.id}{errno}: {self.message}"
        if self.kind is AnswerKind.CRASH:
            return f"crashed: {self.id}: {self.message}"
        return f"{self.kind.value}: {self.message}"


def _errno_of(error: VfioError) -> int | None:
    """The errno the backend reported, else the one the catalog gives the id (the model
    reports none: its ids stand for the kernel's errnos)."""
    if error.errno is not None:
        return error.errno
    kind = kind_of(error.id)
    errno = kind.errno if kind is not None else None
    return None if errno is None else int(errno)


def _value(result: object) -> int | None:
    if result is None:
        return None
    if isinstance(result, bool | int):
        return int(result)
    raise TypeError(f"returned {type(result).__name__} {result!r}, not an integer")


def ask(backend: Backend, call: Call) -> Answer:
    """Make one call and classify how it ended (never raises for a backend's failure)."""
    try:
        return Answer(AnswerKind.OK, _value(call.invoke(backend)))
    except VfioError as error:
        return Answer(AnswerKind.FAILED, id=error.id, errno=_errno_of(error), message=error.message)
    except Unsupported as error:
        return Answer(AnswerKind.UNSUPPORTED, message=error.reason)
    except BackendFault as error:
        return Answer(AnswerKind.FAULT, message=error.message)
    except Exception as error:  # any other exception is a bug of that backend: a finding
        where = traceback.extract_tb(error.__traceback__)[-1]
        message = f"{error} (at {where.filename}:{where.lineno})"
        return Answer(AnswerKind.CRASH, id=type(error).__name__, message=message)


def errno_only(answer: Answer) -> bool:
    """Whether a failure names only an errno (`kernel.errno:EINVAL`)."""
    return answer.id.partition(":")[0] == KERNEL_ERRNO


def agree(reference: Answer, target: Answer, *, query: bool = False) -> bool:
    """Whether the target's answer is the reference's (see the module docstring).

    For a query (an attribute in an `assert`) any two failures agree: the language reports
    every failed query as `scenario.error:eval`, so a file could not tell their ids apart.
    """
    if reference.kind is not target.kind:
        return False
    if reference.kind is AnswerKind.OK:
        return reference.value == target.value
    if reference.kind is AnswerKind.FAILED:
        if reference.id == target.id or query:
            return True
        return errno_only(target) and target.errno is not None and target.errno == reference.errno
    return False


@dataclass(frozen=True, slots=True, order=True)
class Shape:
    """A divergence's class: the method and each side's kind of answer, without values.

    `reference` and `target` are `ok`, `other-value` (succeeded with a different value), a
    failure's id, `unsupported`, `fault`, or `crash:TYPE`.
    """

    method: str
    reference: str
    target: str

    def __str__(self) -> str:
        return f"{self.method}: {self.reference} vs {self.target}"

    def short(self) -> str:
        """The class with each id cut to its reason: `map: overflow vs EINVAL`."""
        return f"{self.method}: {_short(self.reference)} vs {_short(self.target)}"

    def slug(self) -> str:
        """A file-name form: `map-overlap-vs-ok`."""
        parts = [self.method, _short(self.reference), "vs", _short(self.target)]
        text = "-".join(parts)
        return "".join(c if c.isalnum() else "-" for c in text).strip("-")


def _short(side: str) -> str:
    # An id's reason is enough beside the method (`map` fails only as dma.map.failed:*).
    return side.rpartition(":")[2] if ":" in side and not side.startswith("crash:") else side


def _side(answer: Answer, other: Answer) -> str:
    if answer.kind is AnswerKind.OK:
        same_kind = other.kind is AnswerKind.OK
        return "other-value" if same_kind and answer.value != other.value else "ok"
    if answer.kind is AnswerKind.FAILED:
        return answer.id
    if answer.kind is AnswerKind.CRASH:
        return f"crash:{answer.id}"
    return str(answer.kind.value)


def shape(call: Call, reference: Answer, target: Answer) -> Shape:
    """The class of a disagreement at `call` (the reference side is never `other-value`)."""
    ref = _side(reference, target)
    return Shape(call.method, "ok" if ref == "other-value" else ref, _side(target, reference))


class Stop(enum.Enum):
    """Why a comparison ended."""

    END = "end"  # every call agreed
    DIVERGED = "diverged"
    TARGET_UNSUPPORTED = "target-unsupported"  # the target cannot run a call: nothing to compare
    REFERENCE_UNSUPPORTED = "reference-unsupported"
    NOT_STARTED = "not-started"  # a backend could not start the program (a fault in fresh())


@dataclass(frozen=True, slots=True)
class Comparison:
    """Both backends' answers, call by call, up to where the comparison stopped."""

    program: Program
    reference: tuple[Answer, ...]
    target: tuple[Answer, ...]
    stop: Stop
    reason: str = ""  # why a backend could not run the call where the comparison stopped

    @property
    def calls(self) -> int:
        """Calls compared (the last one included when it diverged)."""
        return len(self.target)

    @property
    def divergence(self) -> Shape | None:
        """The class of the first disagreement, or None."""
        if self.stop is not Stop.DIVERGED:
            return None
        _, call = self.program.calls()[len(self.target) - 1]
        return shape(call, self.reference[-1], self.target[-1])

    @property
    def skipped(self) -> frozenset[int]:
        """The statements all of whose compared calls the target could not run."""
        every: dict[int, bool] = {}  # statement -> whether every call of it was skipped
        for (index, _), answer in zip(self.program.calls(), self.target, strict=False):
            skipped = answer.kind is AnswerKind.UNSUPPORTED
            every[index] = every.get(index, True) and skipped
        return frozenset(index for index, all_skipped in every.items() if all_skipped)

    @property
    def statement(self) -> int:
        """The index of the statement of the last call compared."""
        return self.program.calls()[len(self.target) - 1][0]


class ReferenceBroke(Exception):
    """The reference crashed or broke down: a bug of the reference, not a divergence."""

    def __init__(self, program: Program, call: Call, answer: Answer) -> None:
        super().__init__(f"the reference {answer.describe()} on {call.method}")
        self.program = program
        self.call = call
        self.answer = answer


# Declarations: the calls later calls build on. A target that cannot run one of them cannot
# run the program; any other call it cannot run is skipped on both sides and the program goes on.
FOUNDATIONS = frozenset(
    {"container", "window", "device", "device_bar", "device_rom", "device_msix"}
)


def compare(program: Program, reference: Backend, target: Backend) -> Comparison:
    """Run `program` on both backends in step, stopping at the first disagreement.

    The target is asked first: an operation it cannot run (`Unsupported`) is skipped on both
    sides (its answers are UNSUPPORTED on both), so neither state changes; a declaration it
    cannot run ends the comparison (`Stop.TARGET_UNSUPPORTED`).
    """
    ref_answers: list[Answer] = []
    tgt_answers: list[Answer] = []
    for _, call in program.calls():
        tgt = ask(target, call)
        if tgt.kind is AnswerKind.UNSUPPORTED:
            if call.method in FOUNDATIONS:
                return Comparison(
                    program,
                    tuple(ref_answers),
                    tuple(tgt_answers),
                    Stop.TARGET_UNSUPPORTED,
                    tgt.message,
                )
            ref_answers.append(tgt)
            tgt_answers.append(tgt)
            continue
        ref = ask(reference, call)
        if ref.kind in (AnswerKind.FAULT, AnswerKind.CRASH):
            raise ReferenceBroke(program, call, ref)
        if ref.kind is AnswerKind.UNSUPPORTED:  # the target ran it: the states may have parted
            return Comparison(
                program,
                tuple(ref_answers),
                tuple(tgt_answers),
                Stop.REFERENCE_UNSUPPORTED,
                ref.message,
            )
        ref_answers.append(ref)
        tgt_answers.append(tgt)
        if not agree(ref, tgt, query=call.query):
            return Comparison(program, tuple(ref_answers), tuple(tgt_answers), Stop.DIVERGED)
    return Comparison(program, tuple(ref_answers), tuple(tgt_answers), Stop.END)
