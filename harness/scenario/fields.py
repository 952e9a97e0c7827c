"""Option specs and integer fields of the checker: which options a statement takes, in which
form, which words are allowed, and the ranges and widths integers must fit (`check.py` says why).

An integer a statement takes is a `Value`: a plain int when it is a literal or a `let` name
(checked once, when the statement is checked), else a `Field`, a compiled expression evaluated,
and checked, each time the statement runs (`evaluated(v, frame)` gives either).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from harness.literals import show
from harness.scenario import nodes, printer
from harness.scenario.evaluate import Compiled, EvalError, Frame
from harness.vfio.address import U64_MAX
from harness.vfio.catalog import ErrorId


class CheckError(Exception):
    """A check failed: the reason id and a message (caught by the checker, never escapes)."""

    def __init__(self, kind: ErrorId, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def fail(kind: ErrorId, message: str) -> CheckError:
    """The error to raise for a failed check."""
    return CheckError(kind, message)


# ---------------------------------------------------------------- integer fields


@dataclass(frozen=True, slots=True)
class Field:
    """An integer a statement takes that is computed when it runs.

    A `checked` field lies in 0..2^64-1 (value.range otherwise); `let` values and `for` bounds
    are any integer.
    """

    expr: nodes.Expr
    compiled: Compiled
    checked: bool = True

    def get(self, frame: Frame) -> int:
        """The value, evaluated in `frame`."""
        try:
            value = self.compiled(frame)
        except EvalError as error:
            raise fail(
                ErrorId.SCENARIO_EVAL, f"cannot evaluate {printer.quote(self.expr)}: {error}"
            ) from None
        return u64(value, self.expr) if self.checked else value


Value = int | Field  # an integer a statement takes: known when checked, or computed when run


def evaluated(of: Value, frame: Frame) -> int:
    """The integer `of` stands for in `frame`."""
    return of if type(of) is int else of.get(frame)  # type: ignore[union-attr]


def u64(value: int, expr: nodes.Expr) -> int:
    """`value`, or value.range when it lies outside 0..2^64-1."""
    if 0 <= value <= U64_MAX:
        return value
    where = "above 2^64-1" if value > 0 else "negative"
    raise fail(ErrorId.SCENARIO_VALUE_RANGE, f"{_named(value, expr)} is {where}")


def width(value: int, bits: int, expr: nodes.Expr | str, field_name: str) -> int:
    """`value`, or value.range when it does not fit a field of `bits` bits."""
    if value >> bits:
        raise fail(
            ErrorId.SCENARIO_VALUE_RANGE,
            f"{_named(value, expr)} does not fit the {bits}-bit {field_name}",
        )
    return value


def _named(value: int, expr: nodes.Expr | str) -> str:
    """A value as a message names it: its literal, or its expression and value."""
    if isinstance(expr, str):
        return expr
    if isinstance(expr, nodes.IntLit):
        return expr.text
    return f"{printer.quote(expr)} = {show(value)}"


# ---------------------------------------------------------------- options (statement -> spec)

INT, WORD, LOC = "a number", "a word", "BAR:OFFSET"


@dataclass(frozen=True, slots=True)
class Opt:
    """What one option takes: its form, whether it is required, and the words allowed."""

    form: str
    required: bool = False
    words: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Spec:
    """The options a statement takes, by key, and which of them it needs."""

    opts: Mapping[str, Opt]
    required: frozenset[str]

    @classmethod
    def of(cls, **opts: Opt) -> Spec:
        """A spec from its options."""
        return cls(opts, frozenset(key for key, opt in opts.items() if opt.required))


CONTAINER = Spec.of(
    mode=Opt(WORD, words=("v2", "v1")),
    pgsize=Opt(INT),
    limit=Opt(INT),
    reserved=Opt(WORD, words=("x86", "none")),
    aw=Opt(INT),
)
WINDOW = Spec.of(base=Opt(INT, required=True), size=Opt(INT, required=True))
MAP = Spec.of(
    iova=Opt(INT, required=True),
    vaddr=Opt(INT, required=True),
    size=Opt(INT, required=True),
    perm=Opt(WORD, words=("rw", "r", "w", "none")),
)
UNMAP = Spec.of(iova=Opt(INT, required=True), size=Opt(INT, required=True))
UNMAP_ALL = Spec.of(iova=Opt(INT), size=Opt(INT))
# Any size reaches the backend: a size it cannot access is its `…:unaligned`.
ACCESS = Spec.of(size=Opt(INT))
MSIX_MEMBER = Spec.of(table=Opt(LOC, required=True), pba=Opt(LOC, required=True))
MSIX_ENTRY = Spec.of(addr=Opt(INT, required=True), data=Opt(INT, required=True))


def options(
    what: str, given: tuple[nodes.Option, ...], spec: Spec
) -> dict[str, nodes.Expr | nodes.Location | str]:
    """The options by key (a word as its text), or the first bad.option among them."""
    values: dict[str, nodes.Expr | nodes.Location | str] = {}
    opts = spec.opts
    for option in given:
        key, value = option.key, option.value
        opt = opts.get(key)
        if opt is None:
            known = ", ".join(opts) or "none"
            raise fail(
                ErrorId.SCENARIO_BAD_OPTION,
                f"{what} takes no option '{key}' (its options: {known})",
            )
        if key in values:
            raise fail(ErrorId.SCENARIO_BAD_OPTION, f"option '{key}' is given twice")
        form = opt.form
        if form is INT:
            if isinstance(value, nodes.Location):
                raise _form(option, opt)
            values[key] = value
        elif form is LOC:
            if not isinstance(value, nodes.Location):
                raise _form(option, opt)
            values[key] = value
        elif isinstance(value, nodes.Ref) and not value.attrs and value.arg is None:
            if value.name not in opt.words:
                raise fail(
                    ErrorId.SCENARIO_BAD_OPTION,
                    f"option '{key}' is one of {', '.join(opt.words)}, not '{value.name}'",
                )
            values[key] = value.name
        else:
            raise _form(option, opt)
    if not spec.required <= values.keys():
        missing = next(key for key in opts if key in spec.required and key not in values)
        raise fail(ErrorId.SCENARIO_BAD_OPTION, f"{what} needs option '{missing}='")
    return values


def _form(option: nodes.Option, opt: Opt) -> CheckError:
    value = option.value
    shown = value.text if isinstance(value, nodes.Location) else printer.integer(value)
    return fail(
        ErrorId.SCENARIO_BAD_OPTION, f"option '{option.key}' takes {opt.form}, not '{shown}'"
    )
