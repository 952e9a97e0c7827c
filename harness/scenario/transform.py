"""The transformer from lark's parse of `scenario.lark` to the nodes of `nodes.py`.

Methods are named after the grammar's rules and aliases. It runs inline in the LALR parser
(`Lark(transformer=...)`), so no parse tree is built, and it holds no state: what one parse
builds belongs to that parse alone. Positions come from each statement's first token.

The top-level `body` rule hands each statement to the parse's `Statements` (`program.py`) as
soon as it is complete.
"""

from __future__ import annotations

from typing import Any

from lark import Token, Transformer

from harness.literals import MAX_LITERAL, int_value, too_long
from harness.scenario import nodes
from harness.scenario.program import Statements


class LiteralTooLong(Exception):
    """A literal longer than `literals.MAX_LITERAL` characters, at `line:column` (the parser
    boundary makes it a syntax error)."""

    def __init__(self, token: Token, offset: int, text: str) -> None:
        super().__init__(text)
        self.line = token.line or 1
        self.column = (token.column or 1) + offset
        self.message = f"{too_long(text)} is not a number a scenario can use"
        self.hint = "a number that long is a mistake: check what was pasted here"


def _int(text: str, token: Token, offset: int = 0) -> int:
    """The value of literal `text`, found `offset` characters into `token`."""
    if len(text) > MAX_LITERAL:
        raise LiteralTooLong(token, offset, text)
    return int_value(text)


def _option(item: Token | nodes.Option) -> nodes.Written:
    """One option as written: an OPTION token as its text, `key=(EXPR)` as an Option.

    A number in an option longer than a literal may be is a syntax error here, where the
    token's position is known.
    """
    if isinstance(item, nodes.Option):
        return item
    if len(item) > MAX_LITERAL:
        _check_length(item)
    return str(item)


def _check_length(token: Token) -> None:
    """`LiteralTooLong` when a number in an OPTION token `key=value` is too long."""
    key, _, text = token.partition("=")
    if not text[:1].isdigit():
        return
    at = len(key) + 1
    for part in text.split(":"):
        if len(part) > MAX_LITERAL:
            raise LiteralTooLong(token, at, part)
        at += len(part) + 1


def _options(items: list[Any]) -> tuple[nodes.Written, ...]:
    """The options of a statement: its `options` list when it has one (the only item left)."""
    return tuple(items[0]) if items else ()


def _split_check(items: list[Any]) -> tuple[tuple[nodes.Written, ...], nodes.Expr | None]:
    """The options and the trailing `== EXPR` (the only expression among them) of a statement."""
    if items and isinstance(items[-1], nodes.Expr):
        return _options(items[:-1]), items[-1]
    return _options(items), None


class _Call:
    """The `(expr)` after a reference, until `ref` takes it."""

    __slots__ = ("arg",)

    def __init__(self, arg: nodes.Expr) -> None:
        self.arg = arg


class ScenarioTransformer(Transformer[Token, Any]):
    """Builds `nodes` from the grammar's rules."""

    def __init__(self) -> None:
        super().__init__(visit_tokens=False)

    # ---- file
    def start(self, c: list[Statements]) -> Statements:
        return c[0]

    def body(self, c: list[Any]) -> Statements:
        if not c:
            return Statements()
        statements: Statements = c[0]
        kept = statements.kept
        kept.append(c[1])
        if len(kept) > statements.chunk:
            statements.pack()
        return statements

    # ---- declarations
    def container_decl(self, c: list[Any]) -> nodes.ContainerDecl:
        return nodes.ContainerDecl(c[0].line, str(c[1]), _options(c[2:]))

    def window_decl(self, c: list[Any]) -> nodes.WindowDecl:
        return nodes.WindowDecl(c[0].line, str(c[1]), _options(c[2:]))

    def device_decl(self, c: list[Any]) -> nodes.DeviceDecl:
        return nodes.DeviceDecl(c[0].line, str(c[1]), str(c[2]), tuple(c[3:]))

    def bar_member(self, c: list[Any]) -> nodes.BarMember:
        prefetch = len(c) == 5
        return nodes.BarMember(c[0].line, c[1], str(c[2]), prefetch, c[-1])

    def rom_member(self, c: list[Any]) -> nodes.RomMember:
        return nodes.RomMember(c[0].line, c[1])

    def msix_member(self, c: list[Any]) -> nodes.MsixMember:
        return nodes.MsixMember(c[0].line, c[1], _options(c[2:]))

    def let_decl(self, c: list[Any]) -> nodes.LetDecl:
        return nodes.LetDecl(c[0].line, str(c[1]), c[2])

    # ---- operations
    def attach_stmt(self, c: list[Any]) -> nodes.Attach:
        return nodes.Attach(c[0].line, str(c[1]), str(c[2]))

    def map_stmt(self, c: list[Any]) -> nodes.Map:
        return nodes.Map(c[0].line, str(c[1]), _options(c[2:]))

    def unmap_stmt(self, c: list[Any]) -> nodes.Unmap:
        options, check = _split_check(c[2:])
        return nodes.Unmap(c[0].line, str(c[1]), options, check)

    def unmap_all_stmt(self, c: list[Any]) -> nodes.UnmapAll:
        options, check = _split_check(c[3:])
        return nodes.UnmapAll(c[0].line, str(c[1]), options, check)

    def alloc_stmt(self, c: list[Any]) -> nodes.Alloc:
        return nodes.Alloc(c[0].line, str(c[1]))

    def cfg_read_stmt(self, c: list[Any]) -> nodes.CfgRead:
        options, check = _split_check(c[4:])
        return nodes.CfgRead(c[0].line, str(c[2]), c[3], options, check)

    def cfg_write_stmt(self, c: list[Any]) -> nodes.CfgWrite:
        return nodes.CfgWrite(c[0].line, str(c[2]), c[3], c[4], _options(c[5:]))

    def mmio_read_stmt(self, c: list[Any]) -> nodes.MmioRead:
        options, check = _split_check(c[5:])
        bar = _bar_name(c[3])
        return nodes.MmioRead(c[0].line, str(c[2]), bar, c[4], options, check)

    def mmio_write_stmt(self, c: list[Any]) -> nodes.MmioWrite:
        bar = _bar_name(c[3])
        return nodes.MmioWrite(c[0].line, str(c[2]), bar, c[4], c[5], _options(c[6:]))

    def msix_entry_stmt(self, c: list[Any]) -> nodes.MsixEntry:
        return nodes.MsixEntry(c[0].line, str(c[2]), c[3], _options(c[4:]))

    def msix_mask_stmt(self, c: list[Any]) -> nodes.MsixVector:
        return nodes.MsixVector(c[0].line, "mask", str(c[2]), c[3])

    def msix_unmask_stmt(self, c: list[Any]) -> nodes.MsixVector:
        return nodes.MsixVector(c[0].line, "unmask", str(c[2]), c[3])

    def msix_enable_stmt(self, c: list[Any]) -> nodes.MsixControl:
        return nodes.MsixControl(c[0].line, "enable", str(c[2]), None)

    def msix_disable_stmt(self, c: list[Any]) -> nodes.MsixControl:
        return nodes.MsixControl(c[0].line, "disable", str(c[2]), None)

    def msix_fmask_stmt(self, c: list[Any]) -> nodes.MsixControl:
        return nodes.MsixControl(c[0].line, "fmask", str(c[2]), str(c[3]))

    def irq_stmt(self, c: list[Any]) -> nodes.Irq:
        return nodes.Irq(c[0].line, str(c[1]), c[2])

    def reset_stmt(self, c: list[Any]) -> nodes.Reset:
        return nodes.Reset(c[0].line, str(c[1]))

    def assert_stmt(self, c: list[Any]) -> nodes.Assert:
        return nodes.Assert(c[0].line, c[1])

    def for_stmt(self, c: list[Any]) -> nodes.For:
        return nodes.For(c[0].line, str(c[1]), c[3], c[4], tuple(c[5:]))

    def check(self, c: list[Any]) -> nodes.Expr:
        return c[1]  # type: ignore[no-any-return]

    def options(self, c: list[Any]) -> list[nodes.Written]:
        if len(c) == 1:
            return [_option(c[0])]
        written: list[nodes.Written] = c[0]
        written.append(_option(c[1]))
        return written

    def option_expr(self, c: list[Any]) -> nodes.Option:
        return nodes.Option(str(c[0])[:-1], c[1])

    # ---- expressions
    def int_literal(self, c: list[Token]) -> nodes.IntLit:
        return nodes.IntLit(_int(c[0], c[0]), str(c[0]))

    def name(self, c: list[Token]) -> nodes.Ref:
        return nodes.Ref(str(c[0]))

    def ref(self, c: list[Any]) -> nodes.Ref:
        if isinstance(c[-1], _Call):
            return nodes.Ref(str(c[0]), tuple(str(t) for t in c[1:-1]), c[-1].arg)
        return nodes.Ref(str(c[0]), tuple(str(t) for t in c[1:]))

    def call(self, c: list[nodes.Expr]) -> _Call:
        return _Call(c[0])

    def or_(self, c: list[Any]) -> nodes.BoolOp:
        return nodes.BoolOp("or", c[0], c[2])

    def and_(self, c: list[Any]) -> nodes.BoolOp:
        return nodes.BoolOp("and", c[0], c[2])

    def not_(self, c: list[Any]) -> nodes.Not:
        return nodes.Not(c[1])

    def compare(self, c: list[Any]) -> nodes.Compare:
        rest = tuple((str(c[i]), c[i + 1]) for i in range(1, len(c), 2))
        return nodes.Compare(c[0], rest)

    def neg(self, c: list[nodes.Expr]) -> nodes.Unary:
        return nodes.Unary("-", c[0])

    def pos(self, c: list[nodes.Expr]) -> nodes.Unary:
        return nodes.Unary("+", c[0])

    def invert(self, c: list[nodes.Expr]) -> nodes.Unary:
        return nodes.Unary("~", c[0])

    def bit_or(self, c: list[nodes.Expr]) -> nodes.Binary:
        return nodes.Binary("|", c[0], c[1])

    def bit_xor(self, c: list[nodes.Expr]) -> nodes.Binary:
        return nodes.Binary("^", c[0], c[1])

    def bit_and(self, c: list[nodes.Expr]) -> nodes.Binary:
        return nodes.Binary("&", c[0], c[1])

    def lshift(self, c: list[nodes.Expr]) -> nodes.Binary:
        return nodes.Binary("<<", c[0], c[1])

    def rshift(self, c: list[nodes.Expr]) -> nodes.Binary:
        return nodes.Binary(">>", c[0], c[1])

    def add(self, c: list[nodes.Expr]) -> nodes.Binary:
        return nodes.Binary("+", c[0], c[1])

    def sub(self, c: list[nodes.Expr]) -> nodes.Binary:
        return nodes.Binary("-", c[0], c[1])

    def mul(self, c: list[nodes.Expr]) -> nodes.Binary:
        return nodes.Binary("*", c[0], c[1])

    def div(self, c: list[nodes.Expr]) -> nodes.Binary:
        return nodes.Binary("/", c[0], c[1])

    def mod(self, c: list[nodes.Expr]) -> nodes.Binary:
        return nodes.Binary("%", c[0], c[1])


def _bar_name(token: Token) -> nodes.BarName:
    """`barN` as its index and text (`bar` is followed by decimal digits only)."""
    return nodes.BarName(_int(token[3:], token, 3), str(token))
