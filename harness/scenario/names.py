"""The scenario's one name space, and expressions compiled against it.

Containers, devices, `let` integers and `for` variables share the name space of a scenario
(all its files). A name is declared once (`scenario.error:duplicate.name` otherwise; the first
declaration stands). An expression is compiled once against the names in force, into a closure
(`evaluate.py`): a literal or a `let` name becomes a constant, a `for` variable a read of the
frame, an attribute a backend query. A name that is unknown, or of the wrong kind for its use,
fails the statement when it is checked, whatever the expression would evaluate to.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.scenario import attributes, evaluate, fields, nodes, printer
from harness.scenario.evaluate import Compiled
from harness.scenario.fields import Field, Value, fail
from harness.scenario.steps import Expect
from harness.vfio.catalog import ErrorId


class NameKind(enum.Enum):
    """What a declared name stands for."""

    CONTAINER = "container"
    DEVICE = "device"
    INTEGER = "integer"  # `let`
    VARIABLE = "loop variable"  # `for`, while its body runs

    @property
    def a(self) -> str:
        """The kind with its article, as a message says it: "an integer", "a device"."""
        return f"{'an' if self.value[0] in 'aeiou' else 'a'} {self.value}"


@dataclass(frozen=True, slots=True)
class Declared:
    """A declared name: its kind, where it was declared, and a `let` name's value."""

    kind: NameKind
    file: str
    line: int
    value: int = 0


class Names:
    """The names declared so far in a scenario, and the file being checked."""

    def __init__(self) -> None:
        self.table: dict[str, Declared] = {}
        self.file = ""

    # ---- declaring and using
    def free(self, name: str) -> None:
        """duplicate.name when `name` is declared already."""
        previous = self.table.get(name)
        if previous is not None:
            raise fail(
                ErrorId.SCENARIO_DUPLICATE_NAME,
                f"'{name}' is already declared as {previous.kind.a} at"
                f" {previous.file}:{previous.line}",
            )

    def declare(self, name: str, kind: NameKind, line: int, value: int = 0) -> None:
        """Declare `name` at `line` of the current file (duplicate.name when it is taken)."""
        self.free(name)
        self.table[name] = Declared(kind, self.file, line, value)

    def release(self, name: str) -> None:
        """Forget a `for` variable when its body has been checked."""
        del self.table[name]

    def use(self, name: str, kind: NameKind) -> str:
        """`name`, when it is declared as a `kind` (unknown.name or wrong.kind otherwise)."""
        entry = self.table.get(name)
        if entry is None:
            raise fail(ErrorId.SCENARIO_UNKNOWN_NAME, f"unknown {kind.value} '{name}'")
        if entry.kind is not kind:
            raise fail(
                ErrorId.SCENARIO_WRONG_KIND,
                f"'{name}' is {entry.kind.a}, not {kind.a}",
            )
        return name

    # ---- integers and expressions
    def field(self, expr: nodes.Expr, *, checked: bool = True) -> Value:
        """An integer a statement takes: a literal or `let` name is its value (in 0..2^64-1
        unless `checked` is False), anything else is compiled and evaluated when it runs."""
        if isinstance(expr, nodes.IntLit):
            value = expr.value
        elif isinstance(expr, nodes.Ref) and not expr.attrs and expr.arg is None:
            entry = self.table.get(expr.name)
            if entry is None or entry.kind is not NameKind.INTEGER:
                return Field(expr, self.compile(expr), checked)
            value = entry.value
        else:
            return Field(expr, self.compile(expr), checked)
        return fields.u64(value, expr) if checked else value

    def expect(self, expr: nodes.Expr) -> Expect:
        """An `assert` or `== EXPR`: the compiled expression, and its two sides when it is one
        comparison (a failure message shows them)."""
        if isinstance(expr, nodes.Compare) and len(expr.rest) == 1:
            op, right = expr.rest[0]
            first, second = self.compile(expr.first), self.compile(right)
            return Expect(evaluate.compare(first, [(op, second)]), expr, (first, op, second))
        return Expect(self.compile(expr), expr)

    def compile(self, expr: nodes.Expr) -> Compiled:
        """The expression as a closure over a frame; chains and prefix runs become loops."""
        compiler = _COMPILERS.get(type(expr))
        if compiler is None:
            raise TypeError(f"not an expression: {expr!r}")
        return compiler(self, expr)

    def _literal(self, expr: nodes.IntLit) -> Compiled:
        return evaluate.literal(fields.u64(expr.value, expr))  # a literal is 64 bits, always

    def _binary(self, expr: nodes.Binary) -> Compiled:
        left = expr.left
        if type(left) is not nodes.Binary or printer.strength(left) != printer.strength(expr):
            return evaluate.binary(expr.op, self.compile(left), self.compile(expr.right))
        first, links = printer.chain(expr)  # `a + b - c ...` of one level: a loop
        compiled = [(op, self.compile(operand)) for op, operand in links]
        return evaluate.binary_chain(self.compile(first), compiled)

    def _compare(self, expr: nodes.Compare) -> Compiled:
        rest = [(op, self.compile(operand)) for op, operand in expr.rest]
        return evaluate.compare(self.compile(expr.first), rest)

    def _bool(self, expr: nodes.BoolOp) -> Compiled:
        first, links = printer.chain(expr)
        operands = [first, *(operand for _, operand in links)]
        return evaluate.bool_chain(expr.op, [self.compile(e) for e in operands])

    def _prefix(self, expr: nodes.Unary | nodes.Not) -> Compiled:
        ops: list[str] = []
        operand: nodes.Expr = expr
        while isinstance(operand, nodes.Unary | nodes.Not):  # `- - ~x`, `not not x`: a loop
            ops.append(operand.op if isinstance(operand, nodes.Unary) else "not")
            operand = operand.operand
        return evaluate.prefix(ops, self.compile(operand))

    def _ref(self, ref: nodes.Ref) -> Compiled:
        entry = self.table.get(ref.name)
        if entry is None:
            raise fail(ErrorId.SCENARIO_UNKNOWN_NAME, f"unknown name '{ref.name}'")
        kind = entry.kind
        if kind in (NameKind.INTEGER, NameKind.VARIABLE):
            if ref.attrs or ref.arg is not None:
                raise fail(
                    ErrorId.SCENARIO_WRONG_KIND,
                    f"'{ref.name}' is {kind.a}; it has no attributes",
                )
            if kind is NameKind.INTEGER:
                return evaluate.literal(entry.value)
            return evaluate.variable(ref.name)
        if not ref.attrs:
            raise fail(
                ErrorId.SCENARIO_WRONG_KIND,
                f"'{ref.name}' is {kind.a}, not a value; use one of its attributes",
            )
        method, takes_arg, index = attributes.resolve(kind.value, ref.attrs)
        path = ".".join(ref.attrs)
        if takes_arg and ref.arg is None:
            raise fail(ErrorId.SCENARIO_WRONG_KIND, f"'{path}' needs an argument: {path}(...)")
        if not takes_arg and ref.arg is not None:
            raise fail(ErrorId.SCENARIO_WRONG_KIND, f"'{path}' is not a function")
        arg = None if ref.arg is None else self.compile(ref.arg)
        return evaluate.query(method, ref.name, index, arg, ref)


_COMPILERS: dict[type, Callable[[Names, Any], Compiled]] = {
    nodes.IntLit: Names._literal,
    nodes.Ref: Names._ref,
    nodes.Binary: Names._binary,
    nodes.Compare: Names._compare,
    nodes.BoolOp: Names._bool,
    nodes.Unary: Names._prefix,
    nodes.Not: Names._prefix,
}
