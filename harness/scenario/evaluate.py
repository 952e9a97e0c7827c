"""Expressions compiled to closures over a `Frame`, and the errors evaluation can raise.

Semantics (docs/language.md, "Expressions"): Python's precedence and unbounded integers.
- `/` is integer floor division (Python `//`) and `%` takes the sign of the divisor (Python);
  dividing by zero is `EvalError`.
- Booleans are the integers 0 and 1 (`c0.mapped_at(0) + 1 == 2` holds when it is mapped);
  `and`/`or` short-circuit and yield an operand, as in Python; a test is true when non-zero.
- `<<` by a negative count or by more than `MAX_SHIFT` bits, `>>` by a negative count, and a
  `*` or `<<` whose result would be wider than `MAX_BITS` bits are `EvalError`: unbounded
  integers would otherwise let one line (or a loop) exhaust memory.
- A call argument must lie in 0..2^64-1 when evaluated (`c0.translate(-1)` is `EvalError`).
- An attribute query that raises `VfioError` is `EvalError` with the core's message, whatever
  the core's id (the id belongs to operations; a query that cannot answer is an expression that
  cannot be evaluated). Anything else a query raises stops the run (`aborts.call`).

Chains of one precedence level (`1 + 1 + …`, `a and b and …`, `a < b < …`) and runs of prefix
operators evaluate in loops; only nesting in parentheses recurses, one frame per level.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from harness.backend import Backend
from harness.literals import show
from harness.scenario import nodes, printer
from harness.scenario.aborts import call_for_int
from harness.vfio.address import U64_MAX
from harness.vfio.catalog import VfioError

MAX_SHIFT = 4096
MAX_BITS = 8192


class Frame:
    """What an expression is evaluated in: the backend and the `for` variables bound now."""

    __slots__ = ("backend", "variables")

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.variables: dict[str, int] = {}  # in binding order, outermost loop first

    def iteration(self) -> str:
        """The loop variables for a message, `(v=3)` or `(i=0, v=3)`; "" outside loops."""
        if not self.variables:
            return ""
        return "(" + ", ".join(f"{n}={show(v)}" for n, v in self.variables.items()) + ")"


Compiled = Callable[[Frame], int]


class EvalError(Exception):
    """An expression that cannot be evaluated (`scenario.error:eval`)."""


def _floordiv(a: int, b: int) -> int:
    if b == 0:
        raise EvalError("division by zero")
    return a // b


def _mod(a: int, b: int) -> int:
    if b == 0:
        raise EvalError("modulo by zero")
    return a % b


def _mul(a: int, b: int) -> int:
    if a.bit_length() + b.bit_length() > MAX_BITS + 1:
        _too_wide(a.bit_length() + b.bit_length() - 1)
    return a * b


def _lshift(a: int, b: int) -> int:
    if b < 0 or b > MAX_SHIFT:
        raise EvalError(f"shift count {show(b)} is outside 0..{MAX_SHIFT}")
    if a.bit_length() + b > MAX_BITS:
        _too_wide(a.bit_length() + b)
    return a << b


def _rshift(a: int, b: int) -> int:
    if b < 0:
        raise EvalError(f"shift count {show(b)} is negative")
    return a >> b


def _too_wide(bits: int) -> None:
    raise EvalError(f"the result would have at least {bits} bits (at most {MAX_BITS})")


_BINARY: dict[str, Callable[[int, int], int]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": _mul,
    "/": _floordiv,
    "%": _mod,
    "&": operator.and_,
    "|": operator.or_,
    "^": operator.xor,
    "<<": _lshift,
    ">>": _rshift,
}
COMPARE: dict[str, Callable[[int, int], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_UNARY: dict[str, Callable[[int], int]] = {
    "-": operator.neg,
    "+": operator.pos,
    "~": operator.invert,
    "not": lambda value: int(not value),
}


def _argument(value: int, ref: nodes.Ref) -> int:
    if not 0 <= value <= U64_MAX:
        text = printer.quote(ref.arg) if ref.arg is not None else "?"
        raise EvalError(f"argument {text} = {show(value)} is outside 0..2^64-1")
    return value


def query(
    method: str, target: str, index: int | None, arg: Compiled | None, ref: nodes.Ref
) -> Compiled:
    """A closure calling `backend.<method>(target[, index][, arg])`, VfioError made EvalError."""

    def run(frame: Frame) -> int:
        args: tuple[Any, ...] = (target,)
        if arg is not None:
            args = (target, _argument(arg(frame), ref))
        elif index is not None:
            args = (target, index)
        try:
            return call_for_int(frame.backend, method, *args)
        except VfioError as error:
            raise EvalError(error.message) from None

    return run


def literal(value: int) -> Compiled:
    """A constant."""
    return lambda _frame: value


def variable(name: str) -> Compiled:
    """A `for` variable, read from the frame."""
    return lambda frame: frame.variables[name]


def binary(op: str, left: Compiled, right: Compiled) -> Compiled:
    """An arithmetic or bitwise operator."""
    function = _BINARY[op]
    return lambda frame: function(left(frame), right(frame))


def binary_chain(first: Compiled, links: list[tuple[str, Compiled]]) -> Compiled:
    """`a op b op c …` of one precedence level, left to right in a loop (never recursing)."""
    if len(links) == 1:
        return binary(links[0][0], first, links[0][1])
    steps = [(_BINARY[op], operand) for op, operand in links]

    def run(frame: Frame) -> int:
        value = first(frame)
        for function, operand in steps:
            value = function(value, operand(frame))
        return value

    return run


def compare(first: Compiled, rest: list[tuple[str, Compiled]]) -> Compiled:
    """A comparison chain: each operand evaluated once, stopping at the first false link."""
    links = [(COMPARE[op], operand) for op, operand in rest]
    if len(links) == 1:
        test, second = links[0]
        return lambda frame: int(test(first(frame), second(frame)))

    def run(frame: Frame) -> int:
        left = first(frame)
        for test, operand in links:
            right = operand(frame)
            if not test(left, right):
                return 0
            left = right
        return 1

    return run


def bool_chain(op: str, operands: list[Compiled]) -> Compiled:
    """`a and b and c …` (or `or`): the first operand that decides, else the last, in a loop."""
    if len(operands) == 2:
        left, right = operands
        if op == "and":
            return lambda frame: left(frame) and right(frame)
        return lambda frame: left(frame) or right(frame)
    stop_when_true = op == "or"

    def run(frame: Frame) -> int:
        value = 0
        for operand in operands:
            value = operand(frame)
            if bool(value) is stop_when_true:
                return value
        return value

    return run


def prefix(ops: list[str], operand: Compiled) -> Compiled:
    """Prefix operators (`-`, `+`, `~`, `not`, outermost first) applied in a loop."""
    functions = [_UNARY[op] for op in reversed(ops)]
    if len(functions) == 1:
        function = functions[0]
        return lambda frame: function(operand(frame))

    def run(frame: Frame) -> int:
        value = operand(frame)
        for function in functions:
            value = function(value)
        return value

    return run
