"""Expressions compiled to closures over a backend, and the errors evaluation can raise.

Semantics (scenario-language.md, `assert`): Python's precedence and unbounded integers.
Decisions recorded here:
- `/` is integer floor division (Python `//`) and `%` takes the sign of the divisor (Python);
  dividing by zero is `EvalError`.
- Booleans are the integers 0 and 1 (`c0.mapped_at(0) + 1 == 2` holds when it is mapped);
  `and`/`or` short-circuit and yield an operand, as in Python; a test is true when non-zero.
- `<<` by a negative count or by more than `MAX_SHIFT` bits is `EvalError` (unbounded
  integers would otherwise let one line exhaust memory); `>>` by a negative count likewise.
- A call argument must lie in 0..2^64-1 when evaluated (`c0.translate(-1)` is `EvalError`).
- An attribute query that raises `VfioError` is `EvalError` with the core's message, whatever
  the core's id (the id belongs to operations; a query that cannot answer is an expression that
  cannot be evaluated).
"""

from __future__ import annotations

import operator
from collections.abc import Callable

from harness.backend import Backend
from harness.scenario import nodes
from harness.scenario.aborts import call
from harness.vfio.address import U64_MAX
from harness.vfio.catalog import VfioError

MAX_SHIFT = 4096

Compiled = Callable[[Backend], int]


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


def _lshift(a: int, b: int) -> int:
    if b < 0 or b > MAX_SHIFT:
        raise EvalError(f"shift count {b} is outside 0..{MAX_SHIFT}")
    return a << b


def _rshift(a: int, b: int) -> int:
    if b < 0:
        raise EvalError(f"shift count {b} is negative")
    return a >> b


_BINARY: dict[str, Callable[[int, int], int]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
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
}


def _argument(value: int, ref: nodes.Ref) -> int:
    if not 0 <= value <= U64_MAX:
        text = nodes.render_expr(ref.arg) if ref.arg is not None else "?"
        raise EvalError(f"argument {text} = {show(value)} is outside 0..2^64-1")
    return value


def query(
    method: str, target: str, index: int | None, arg: Compiled | None, ref: nodes.Ref
) -> Compiled:
    """A closure calling `backend.<method>(target[, index][, arg])`, VfioError made EvalError."""

    def run(backend: Backend) -> int:
        try:
            if arg is not None:
                return int(call(backend, method, target, _argument(arg(backend), ref)))
            if index is not None:
                return int(call(backend, method, target, index))
            return int(call(backend, method, target))
        except VfioError as error:
            raise EvalError(error.message) from None

    return run


def literal(value: int) -> Compiled:
    """A constant."""
    return lambda _backend: value


def unary(op: str, operand: Compiled) -> Compiled:
    """`-x`, `+x`, `~x`."""
    function = _UNARY[op]
    return lambda backend: function(operand(backend))


def binary(op: str, left: Compiled, right: Compiled) -> Compiled:
    """An arithmetic or bitwise operator."""
    function = _BINARY[op]
    return lambda backend: function(left(backend), right(backend))


def binary_chain(first: Compiled, links: list[tuple[str, Compiled]]) -> Compiled:
    """`a op b op c …` of one precedence level, left to right in a loop (never recursing)."""
    if len(links) == 1:
        return binary(links[0][0], first, links[0][1])
    steps = [(_BINARY[op], operand) for op, operand in links]

    def run(backend: Backend) -> int:
        value = first(backend)
        for function, operand in steps:
            value = function(value, operand(backend))
        return value

    return run


def compare(first: Compiled, rest: list[tuple[str, Compiled]]) -> Compiled:
    """A comparison chain: each operand evaluated once, stopping at the first false link."""
    links = [(COMPARE[op], operand) for op, operand in rest]
    if len(links) == 1:
        test, second = links[0]
        return lambda backend: int(test(first(backend), second(backend)))

    def run(backend: Backend) -> int:
        left = first(backend)
        for test, operand in links:
            right = operand(backend)
            if not test(left, right):
                return 0
            left = right
        return 1

    return run


def bool_op(op: str, left: Compiled, right: Compiled) -> Compiled:
    """`and` / `or`, short-circuiting as in Python."""
    if op == "and":
        return lambda backend: left(backend) and right(backend)
    return lambda backend: left(backend) or right(backend)


def bool_chain(op: str, operands: list[Compiled]) -> Compiled:
    """`a and b and c …` (or `or`): the first operand that decides, else the last, in a loop."""
    if len(operands) == 2:
        return bool_op(op, operands[0], operands[1])
    stop_when_true = op == "or"

    def run(backend: Backend) -> int:
        value = 0
        for operand in operands:
            value = operand(backend)
            if bool(value) is stop_when_true:
                return value
        return value

    return run


def negation(operand: Compiled) -> Compiled:
    """`not x`."""
    return lambda backend: int(not operand(backend))


def prefix(ops: list[str], operand: Compiled) -> Compiled:
    """Prefix operators (`-`, `+`, `~`, `not`, outermost first) applied in a loop."""
    if len(ops) == 1:
        op = ops[0]
        return negation(operand) if op == "not" else unary(op, operand)
    functions = [_not if op == "not" else _UNARY[op] for op in reversed(ops)]

    def run(backend: Backend) -> int:
        value = operand(backend)
        for function in functions:
            value = function(value)
        return value

    return run


def _not(value: int) -> int:
    return int(not value)


def show(value: int) -> str:
    """A value for a message: decimal when small, else hex (negative values keep their sign)."""
    if -10 < value < 10:
        return str(value)
    return f"{value:#x}" if value >= 0 else f"-{-value:#x}"


def render(expr: nodes.Expr) -> str:
    """The expression's source text (for messages)."""
    return nodes.render_expr(expr)
