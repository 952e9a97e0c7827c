"""Option specs and integer fields of the checker: which options a statement takes, in which
form, which words are allowed, and the ranges and widths integers must fit (`check.py` says why).

An integer a statement takes is a `Value`: a plain int when it is a literal or a `let` name
(checked once, when the statement is checked), else a `Field`, a compiled expression evaluated,
and checked, each time the statement runs (`evaluated(v, frame)` gives either).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from harness.literals import int_value, show
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
    what: str, given: tuple[nodes.Written, ...], spec: Spec
) -> dict[str, int | nodes.Expr | nodes.Location | str]:
    """The options by key, each read in the form it takes: a number option's literal as its
    value (an IntLit when above 2^64-1, for the values check to report), a name or `(EXPR)` as
    an expression; a word as its text; BAR:OFFSET as a Location. Or the first bad.option."""
    values: dict[str, int | nodes.Expr | nodes.Location | str] = {}
    opts = spec.opts
    for option in given:
        if isinstance(option, str):
            key, _, value = option.partition("=")
        else:
            key, value = option.key, ""
        opt = opts.get(key)
        if opt is None:
            known = ", ".join(opts) or "none"
            raise fail(
                ErrorId.SCENARIO_BAD_OPTION,
                f"{what} takes no option '{key}' (its options: {known})",
            )
        if key in values:
            raise fail(ErrorId.SCENARIO_BAD_OPTION, f"option '{key}' is given twice")
        if not value:  # `key=(EXPR)`: only a number option takes one
            if opt.form is not INT:
                raise _form(key, option, opt)
            assert isinstance(option, nodes.Option)
            values[key] = option.value
        elif opt.form is INT and "0" <= value[0] <= "9" and ":" not in value:
            number = int_value(value)  # the most frequent option: a number
            values[key] = number if number <= U64_MAX else nodes.IntLit(number, value)
        else:
            values[key] = _read(key, value, opt)
    if not spec.required <= values.keys():
        missing = next(key for key in opts if key in spec.required and key not in values)
        raise fail(ErrorId.SCENARIO_BAD_OPTION, f"{what} needs option '{missing}='")
    return values


def _read(key: str, text: str, opt: Opt) -> nodes.Expr | nodes.Location | str:
    """An option's text other than a number where a number is wanted, in the option's form."""
    number = text[0].isdigit()
    pair = ":" in text
    if opt.form is INT and not number:
        return nodes.Ref(text)  # a `let` or `for` name
    if opt.form is LOC and number and pair:
        bar, _, offset = text.partition(":")
        return nodes.Location(int_value(bar), int_value(offset), text)
    if opt.form is WORD and not number:
        if text not in opt.words:
            raise fail(
                ErrorId.SCENARIO_BAD_OPTION,
                f"option '{key}' is one of {', '.join(opt.words)}, not '{text}'",
            )
        return text
    raise _form(key, text, opt)


def value_of(options: tuple[nodes.Written, ...], key: str) -> str | nodes.Expr:
    """The value of option `key` as written (for a message about it)."""
    for option in options:
        if isinstance(option, str):
            name, _, text = option.partition("=")
            if name == key:
                return text
        elif option.key == key:
            return option.value
    raise KeyError(key)


def _form(key: str, value: str | nodes.Option, opt: Opt) -> CheckError:
    shown = value if isinstance(value, str) else f"({printer.expression(value.value)})"
    return fail(ErrorId.SCENARIO_BAD_OPTION, f"option '{key}' takes {opt.form}, not '{shown}'")
