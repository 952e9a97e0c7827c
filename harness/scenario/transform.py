"""The transformer from lark's parse of `scenario.lark` to the typed nodes of `nodes.py`.

Methods are named after the grammar's rules and aliases. It runs inline in the LALR parser
(`Lark(transformer=...)`), so no parse tree is built. Positions come from each statement's first
token (a keyword); `file` is set by the parser boundary before each parse.
"""

from __future__ import annotations

from typing import Any

from lark import Token, Transformer

from harness.literals import int_value
from harness.scenario import nodes


def option(token: str) -> nodes.Option:
    """An OPTION token `key=value` as an Option: a number, a word, or BAR:OFFSET."""
    key, _, text = token.partition("=")
    if not text[0].isdigit():
        return nodes.Option(key, text, text)
    bar, colon, offset = text.partition(":")
    if colon:
        return nodes.Option(key, nodes.Location(int_value(bar), int_value(offset), text), text)
    return nodes.Option(key, int_value(text), text)


def _options(tokens: list[Any]) -> tuple[nodes.Option, ...]:
    return tuple(option(token) for token in tokens)


class _Call:
    """The `(expr)` after a reference, until `ref` takes it."""

    __slots__ = ("arg",)

    def __init__(self, arg: nodes.Expr) -> None:
        self.arg = arg


class ScenarioTransformer(Transformer[Token, Any]):
    """Builds `nodes` from the grammar's rules; `file` names the file being parsed."""

    def __init__(self) -> None:
        super().__init__(visit_tokens=False)
        self.file = "<text>"

    # ---- file
    def start(self, children: list[nodes.Statement]) -> tuple[nodes.Statement, ...]:
        return tuple(children)

    # ---- options
    # ---- declarations
    def container_decl(self, c: list[Any]) -> nodes.ContainerDecl:
        kw = c[0]
        return nodes.ContainerDecl(self.file, kw.line, kw.column, str(c[1]), _options(c[2:]))

    def window_decl(self, c: list[Any]) -> nodes.WindowDecl:
        kw = c[0]
        return nodes.WindowDecl(self.file, kw.line, kw.column, str(c[1]), _options(c[2:]))

    def device_decl(self, c: list[Any]) -> nodes.DeviceDecl:
        kw = c[0]
        return nodes.DeviceDecl(self.file, kw.line, kw.column, str(c[1]), str(c[2]), tuple(c[3:]))

    def bar_member(self, c: list[Any]) -> nodes.BarMember:
        kw = c[0]
        prefetch = len(c) == 5
        return nodes.BarMember(
            self.file, kw.line, kw.column, int_value(c[1]), str(c[2]), prefetch, int_value(c[-1])
        )

    def rom_member(self, c: list[Any]) -> nodes.RomMember:
        kw = c[0]
        return nodes.RomMember(self.file, kw.line, kw.column, int_value(c[1]))

    def msix_member(self, c: list[Any]) -> nodes.MsixMember:
        kw = c[0]
        return nodes.MsixMember(self.file, kw.line, kw.column, int_value(c[1]), _options(c[2:]))

    def attach_stmt(self, c: list[Any]) -> nodes.Attach:
        kw = c[0]
        return nodes.Attach(self.file, kw.line, kw.column, str(c[1]), str(c[2]))

    # ---- operations
    def map_stmt(self, c: list[Any]) -> nodes.Map:
        kw = c[0]
        return nodes.Map(self.file, kw.line, kw.column, str(c[1]), _options(c[2:]))

    def unmap_stmt(self, c: list[Any]) -> nodes.Unmap:
        kw = c[0]
        check = c[-1] if isinstance(c[-1], nodes.Expr) else None
        options = c[2:-1] if check is not None else c[2:]
        return nodes.Unmap(self.file, kw.line, kw.column, str(c[1]), _options(options), check)

    def unmap_all_stmt(self, c: list[Any]) -> nodes.UnmapAll:
        kw = c[0]
        check = c[3] if len(c) == 4 else None
        return nodes.UnmapAll(self.file, kw.line, kw.column, str(c[1]), check)

    def alloc_stmt(self, c: list[Any]) -> nodes.Alloc:
        kw = c[0]
        return nodes.Alloc(self.file, kw.line, kw.column, str(c[1]))

    def cfg_read_stmt(self, c: list[Any]) -> nodes.CfgRead:
        kw = c[0]
        check = c[-1] if isinstance(c[-1], nodes.Expr) else None
        options = c[4:-1] if check is not None else c[4:]
        return nodes.CfgRead(
            self.file, kw.line, kw.column, str(c[2]), int_value(c[3]), _options(options), check
        )

    def cfg_write_stmt(self, c: list[Any]) -> nodes.CfgWrite:
        kw = c[0]
        return nodes.CfgWrite(
            self.file,
            kw.line,
            kw.column,
            str(c[2]),
            int_value(c[3]),
            int_value(c[4]),
            _options(c[5:]),
        )

    def msix_entry_stmt(self, c: list[Any]) -> nodes.MsixEntry:
        kw = c[0]
        return nodes.MsixEntry(
            self.file, kw.line, kw.column, str(c[2]), int_value(c[3]), _options(c[4:])
        )

    def msix_mask_stmt(self, c: list[Any]) -> nodes.MsixVector:
        kw = c[0]
        return nodes.MsixVector(self.file, kw.line, kw.column, "mask", str(c[2]), int_value(c[3]))

    def msix_unmask_stmt(self, c: list[Any]) -> nodes.MsixVector:
        kw = c[0]
        return nodes.MsixVector(self.file, kw.line, kw.column, "unmask", str(c[2]), int_value(c[3]))

    def msix_enable_stmt(self, c: list[Any]) -> nodes.MsixControl:
        kw = c[0]
        return nodes.MsixControl(self.file, kw.line, kw.column, "enable", str(c[2]), None)

    def msix_disable_stmt(self, c: list[Any]) -> nodes.MsixControl:
        kw = c[0]
        return nodes.MsixControl(self.file, kw.line, kw.column, "disable", str(c[2]), None)

    def msix_fmask_stmt(self, c: list[Any]) -> nodes.MsixControl:
        kw = c[0]
        return nodes.MsixControl(self.file, kw.line, kw.column, "fmask", str(c[2]), str(c[3]))

    def irq_stmt(self, c: list[Any]) -> nodes.Irq:
        kw = c[0]
        return nodes.Irq(self.file, kw.line, kw.column, str(c[1]), int_value(c[2]))

    def assert_stmt(self, c: list[Any]) -> nodes.Assert:
        kw = c[0]
        return nodes.Assert(self.file, kw.line, kw.column, c[1])

    def check(self, c: list[nodes.Expr]) -> nodes.Expr:
        return c[0]

    # ---- expressions
    def int_literal(self, c: list[Any]) -> nodes.IntLit:
        return nodes.IntLit(int_value(c[0]), str(c[0]))

    def ref(self, c: list[Any]) -> nodes.Ref:
        if isinstance(c[-1], _Call):
            return nodes.Ref(str(c[0]), tuple(str(t) for t in c[1:-1]), c[-1].arg)
        return nodes.Ref(str(c[0]), tuple(str(t) for t in c[1:]))

    def call(self, c: list[nodes.Expr]) -> _Call:
        return _Call(c[0])

    def or_(self, c: list[nodes.Expr]) -> nodes.BoolOp:
        return nodes.BoolOp("or", c[0], c[1])

    def and_(self, c: list[nodes.Expr]) -> nodes.BoolOp:
        return nodes.BoolOp("and", c[0], c[1])

    def not_(self, c: list[nodes.Expr]) -> nodes.Not:
        return nodes.Not(c[0])

    def compare(self, c: list[Any]) -> nodes.Compare:
        rest = tuple((str(c[i]), c[i + 1]) for i in range(1, len(c), 2))
        return nodes.Compare(c[0], rest)

    def neg(self, c: list[nodes.Expr]) -> nodes.Unary:
        return nodes.Unary("-", c[0])

    def pos(self, c: list[nodes.Expr]) -> nodes.Unary:
        return nodes.Unary("+", c[0])

    def invert(self, c: list[nodes.Expr]) -> nodes.Unary:
        return nodes.Unary("~", c[0])


def _binary(op: str) -> Any:
    def method(self: ScenarioTransformer, c: list[nodes.Expr]) -> nodes.Binary:
        return nodes.Binary(op, c[0], c[1])

    method.__doc__ = f"`a {op} b`"
    return method


# One method per binary alias of the grammar, named as the alias.
for _alias, _op in {
    "bit_or": "|",
    "bit_xor": "^",
    "bit_and": "&",
    "lshift": "<<",
    "rshift": ">>",
    "add": "+",
    "sub": "-",
    "mul": "*",
    "div": "/",
    "mod": "%",
}.items():
    setattr(ScenarioTransformer, _alias, _binary(_op))
