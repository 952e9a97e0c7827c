"""The scenario AST: one frozen class per grammar rule, built by `transform.py`.

Statements and device members carry `file`, `line` and `column` (1-based) of their first
token; these positions are excluded from equality so that a program rendered back to text and
parsed again compares equal. Integer literals keep their source text for messages.
`render_program` writes a program back in the language (the inverse of parsing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeAlias

# ---------------------------------------------------------------- expressions


class Expr:
    """Base of expression nodes."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class IntLit(Expr):
    """An integer literal (`value` unbounded here; the checker limits it to 64 bits)."""

    value: int
    text: str


@dataclass(frozen=True, slots=True)
class Ref(Expr):
    """A name with attributes and at most one call: `gpu0.msix.masked(3)`, `c0.mappings`."""

    name: str
    attrs: tuple[str, ...] = ()
    arg: Expr | None = None


@dataclass(frozen=True, slots=True)
class Unary(Expr):
    """`-x`, `+x`, `~x` (op is the operator text)."""

    op: str
    operand: Expr


@dataclass(frozen=True, slots=True)
class Binary(Expr):
    """An arithmetic or bitwise operation: `+ - * / % & | ^ << >>`."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Compare(Expr):
    """A comparison chain, as in Python: `a < b <= c` is `a < b and b <= c`."""

    first: Expr
    rest: tuple[tuple[str, Expr], ...]


@dataclass(frozen=True, slots=True)
class BoolOp(Expr):
    """`and` / `or` with Python's short-circuit."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Not(Expr):
    """`not x`."""

    operand: Expr


# ---------------------------------------------------------------- options


@dataclass(frozen=True, slots=True)
class Location:
    """`BAR:OFFSET`, the value of an MSI-X `table=` or `pba=` option."""

    bar: int
    offset: int
    text: str


OptionValue: TypeAlias = int | str | Location


@dataclass(frozen=True, slots=True)
class Option:
    """`key=value`; a number keeps its source text in `text` (the word or `B:O` otherwise)."""

    key: str
    value: OptionValue
    text: str


# ---------------------------------------------------------------- statements


@dataclass(frozen=True, slots=True)
class Node:
    """Where a statement or member starts."""

    file: str = field(compare=False)
    line: int = field(compare=False)
    column: int = field(compare=False)


@dataclass(frozen=True, slots=True)
class BarMember(Node):
    """`bar N mem32|mem64|io [prefetch] SIZE` (`io prefetch` is the backend's error)."""

    index: int
    kind: str
    prefetch: bool
    size: int


@dataclass(frozen=True, slots=True)
class RomMember(Node):
    """`rom SIZE`."""

    size: int


@dataclass(frozen=True, slots=True)
class MsixMember(Node):
    """`msix VECTORS table=BAR:OFFSET pba=BAR:OFFSET`."""

    vectors: int
    options: tuple[Option, ...]


Member: TypeAlias = BarMember | RomMember | MsixMember


@dataclass(frozen=True, slots=True)
class ContainerDecl(Node):
    """`container NAME [mode=] [pgsize=] [limit=] [reserved=]`."""

    name: str
    options: tuple[Option, ...]


@dataclass(frozen=True, slots=True)
class WindowDecl(Node):
    """`window mmio32|mmio64|io base=A size=S`."""

    kind: str
    options: tuple[Option, ...]


@dataclass(frozen=True, slots=True)
class DeviceDecl(Node):
    """`device NAME BDF {` members `}` (the BDF as written; the backend validates it)."""

    name: str
    bdf: str
    members: tuple[Member, ...]


@dataclass(frozen=True, slots=True)
class Attach(Node):
    """`attach DEVICE CONTAINER`."""

    device: str
    container: str


@dataclass(frozen=True, slots=True)
class Map(Node):
    """`map C iova= vaddr= size= [perm=]`."""

    container: str
    options: tuple[Option, ...]


@dataclass(frozen=True, slots=True)
class Unmap(Node):
    """`unmap C iova= size= [== EXPR]`."""

    container: str
    options: tuple[Option, ...]
    check: Expr | None


@dataclass(frozen=True, slots=True)
class UnmapAll(Node):
    """`unmap C all [== EXPR]`."""

    container: str
    check: Expr | None


@dataclass(frozen=True, slots=True)
class Alloc(Node):
    """`alloc DEVICE`."""

    device: str


@dataclass(frozen=True, slots=True)
class CfgRead(Node):
    """`cfg read DEVICE OFFSET [size=] [== EXPR]`."""

    device: str
    offset: int
    options: tuple[Option, ...]
    check: Expr | None


@dataclass(frozen=True, slots=True)
class CfgWrite(Node):
    """`cfg write DEVICE OFFSET VALUE [size=]`."""

    device: str
    offset: int
    value: int
    options: tuple[Option, ...]


@dataclass(frozen=True, slots=True)
class MsixEntry(Node):
    """`msix entry DEVICE VECTOR addr= data=`."""

    device: str
    vector: int
    options: tuple[Option, ...]


@dataclass(frozen=True, slots=True)
class MsixVector(Node):
    """`msix mask|unmask DEVICE VECTOR` (`action` is the keyword)."""

    action: str
    device: str
    vector: int


@dataclass(frozen=True, slots=True)
class MsixControl(Node):
    """`msix enable|disable DEVICE` and `msix fmask DEVICE on|off` (`state` as written)."""

    action: str
    device: str
    state: str | None


@dataclass(frozen=True, slots=True)
class Irq(Node):
    """`irq DEVICE VECTOR`."""

    device: str
    vector: int


@dataclass(frozen=True, slots=True)
class Assert(Node):
    """`assert EXPR`."""

    expr: Expr


Statement: TypeAlias = (
    ContainerDecl
    | WindowDecl
    | DeviceDecl
    | Attach
    | Map
    | Unmap
    | UnmapAll
    | Alloc
    | CfgRead
    | CfgWrite
    | MsixEntry
    | MsixVector
    | MsixControl
    | Irq
    | Assert
)


@dataclass(frozen=True, slots=True)
class Program:
    """A parsed file: its statements in order."""

    file: str
    statements: tuple[Statement, ...]


# ---------------------------------------------------------------- rendering back to text

# Binding strength of each operator, as in Python (higher binds tighter).
_PRECEDENCE = {
    "or": 1,
    "and": 2,
    "not": 3,
    "cmp": 4,
    "|": 5,
    "^": 6,
    "&": 7,
    "<<": 8,
    ">>": 8,
    "+": 9,
    "-": 9,
    "*": 10,
    "/": 10,
    "%": 10,
    "unary": 11,
    "atom": 12,
}


def _strength(expr: Expr) -> int:
    if isinstance(expr, BoolOp):
        return _PRECEDENCE[expr.op]
    if isinstance(expr, Not):
        return _PRECEDENCE["not"]
    if isinstance(expr, Compare):
        return _PRECEDENCE["cmp"]
    if isinstance(expr, Binary):
        return _PRECEDENCE[expr.op]
    if isinstance(expr, Unary):
        return _PRECEDENCE["unary"]
    return _PRECEDENCE["atom"]


def continues_chain(expr: Binary | BoolOp) -> bool:
    """Whether the left operand is an operation of the same precedence level (`a + b - c`)."""
    left = expr.left
    return type(left) is type(expr) and _PRECEDENCE[left.op] == _PRECEDENCE[expr.op]


def chain(expr: Binary | BoolOp) -> tuple[Expr, list[tuple[str, Expr]]]:
    """A left-associative chain flattened: `a + b - c` is (a, [("+", b), ("-", c)]).

    Iterative, so that a flat expression of any length (as long as one line) never recurses
    once per operator: links are the operators of one precedence level (one `and`/`or`).
    """
    strength = _strength(expr)
    links: list[tuple[str, Expr]] = []
    node: Expr = expr
    while isinstance(node, Binary | BoolOp) and _strength(node) == strength:
        links.append((node.op, node.right))
        node = node.left
    links.reverse()
    return node, links


def _wrap(expr: Expr, minimum: int) -> str:
    text = render_expr(expr)
    return f"({text})" if _strength(expr) < minimum else text


def render_expr(expr: Expr) -> str:
    """The expression as source text, with only the parentheses its structure needs."""
    if isinstance(expr, IntLit):
        return expr.text
    if isinstance(expr, Ref):
        path = ".".join((expr.name, *expr.attrs))
        return path if expr.arg is None else f"{path}({render_expr(expr.arg)})"
    if isinstance(expr, Unary | Not):
        # A run of prefix operators in a loop (`- - ~x`, `not not x`): any length.
        prefix: list[str] = []
        node: Unary | Not = expr
        while True:
            op, minimum = (
                (node.op, _PRECEDENCE["unary"])
                if isinstance(node, Unary)
                else ("not ", _PRECEDENCE["not"])
            )
            prefix.append(op)
            operand = node.operand
            if not isinstance(operand, Unary | Not) or _strength(operand) < minimum:
                return "".join(prefix) + _wrap(operand, minimum)
            node = operand
    if isinstance(expr, Binary | BoolOp):
        strength = _strength(expr)
        first, links = chain(expr)
        # Left-associative: a right operand needs parentheses at equal strength.
        parts = [_wrap(first, strength)]
        for op, operand in links:
            parts += [op, _wrap(operand, strength + 1)]
        return " ".join(parts)
    if isinstance(expr, Compare):
        strength = _PRECEDENCE["cmp"] + 1
        parts = [_wrap(expr.first, strength)]
        for op, operand in expr.rest:
            parts += [op, _wrap(operand, strength)]
        return " ".join(parts)
    raise TypeError(f"not an expression: {expr!r}")


def _options(options: tuple[Option, ...]) -> str:
    return "".join(f" {option.key}={option.text}" for option in options)


def _check(check: Expr | None) -> str:
    return "" if check is None else f" == {render_expr(check)}"


def render_member(member: Member) -> str:
    """A device member as one line of source text (without indentation)."""
    if isinstance(member, BarMember):
        prefetch = " prefetch" if member.prefetch else ""
        return f"bar {member.index} {member.kind}{prefetch} {member.size:#x}"
    if isinstance(member, RomMember):
        return f"rom {member.size:#x}"
    return f"msix {member.vectors}{_options(member.options)}"


def render_statement(statement: Statement) -> str:
    """A statement as source text (a device declaration spans several lines)."""
    match statement:
        case ContainerDecl(name=name, options=options):
            return f"container {name}{_options(options)}"
        case WindowDecl(kind=kind, options=options):
            return f"window {kind}{_options(options)}"
        case DeviceDecl(name=name, bdf=bdf, members=members):
            body = "".join(f"    {render_member(member)}\n" for member in members)
            return f"device {name} {bdf} {{\n{body}}}"
        case Attach(device=device, container=container):
            return f"attach {device} {container}"
        case Map(container=container, options=options):
            return f"map {container}{_options(options)}"
        case Unmap(container=container, options=options, check=check):
            return f"unmap {container}{_options(options)}{_check(check)}"
        case UnmapAll(container=container, check=check):
            return f"unmap {container} all{_check(check)}"
        case Alloc(device=device):
            return f"alloc {device}"
        case CfgRead(device=device, offset=offset, options=options, check=check):
            return f"cfg read {device} {offset:#x}{_options(options)}{_check(check)}"
        case CfgWrite(device=device, offset=offset, value=value, options=options):
            return f"cfg write {device} {offset:#x} {value:#x}{_options(options)}"
        case MsixEntry(device=device, vector=vector, options=options):
            return f"msix entry {device} {vector}{_options(options)}"
        case MsixVector(action=action, device=device, vector=vector):
            return f"msix {action} {device} {vector}"
        case MsixControl(action=action, device=device, state=state):
            return f"msix {action} {device}" + ("" if state is None else f" {state}")
        case Irq(device=device, vector=vector):
            return f"irq {device} {vector}"
        case Assert(expr=expr):
            return f"assert {render_expr(expr)}"
    raise TypeError(f"not a statement: {statement!r}")


def render_program(statements: tuple[Statement, ...]) -> str:
    """Statements as a scenario file's text, one per line."""
    return "".join(f"{render_statement(statement)}\n" for statement in statements)
