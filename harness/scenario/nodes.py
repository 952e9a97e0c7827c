"""The scenario AST: one frozen class per grammar rule, built by `transform.py`.

Statements and device members carry the 1-based `line` of their first token (the file is the
caller's to know); positions are left out of equality, so that a program written back to text
(`printer.py`) and parsed again compares equal. Integer literals keep their source text for
messages. Wherever a statement takes an integer it holds an `Expr` (a literal, a name bound by
`let` or `for`, or any expression written in parentheses).

Nodes pickle as their class and field values (`program.py` packs the statements of a long file
that way): the default for slotted dataclasses looks up the fields of each object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias


class Packable:
    """Pickled as `(class, field values)`, rebuilt by the class's own constructor."""

    __slots__ = ()
    __match_args__: tuple[str, ...]  # the dataclass's fields, in constructor order

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return type(self), tuple([getattr(self, name) for name in self.__match_args__])


# ---------------------------------------------------------------- expressions


class Expr(Packable):
    """Base of expression nodes."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class IntLit(Expr):
    """An integer literal (`value` unbounded here; where it is used decides its range)."""

    value: int
    text: str


@dataclass(frozen=True, slots=True)
class Ref(Expr):
    """A name with attributes and at most one call: `gpu0.msix.masked(3)`, `c0.mappings`, `v`."""

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
class Location(Packable):
    """`BAR:OFFSET`, the value of an MSI-X `table=` or `pba=` option (literals only)."""

    bar: int
    offset: int
    text: str


@dataclass(frozen=True, slots=True)
class Option(Packable):
    """`key=(EXPR)`: an option whose value is an expression."""

    key: str
    value: Expr


# An option as written: the token `key=value` (its value a number, a word or name, or
# BAR:OFFSET: what it means depends on the option, which the checker knows, so the text is kept
# as it stands), or an Option for `key=(EXPR)`.
Written: TypeAlias = str | Option


# ---------------------------------------------------------------- statements


@dataclass(frozen=True, slots=True)
class Node(Packable):
    """Where a statement or device member starts (its first token's line)."""

    line: int = field(compare=False)


@dataclass(frozen=True, slots=True)
class BarMember(Node):
    """`bar N mem32|mem64|io [prefetch] SIZE` (`io prefetch` is the backend's error)."""

    index: Expr
    kind: str
    prefetch: bool
    size: Expr


@dataclass(frozen=True, slots=True)
class RomMember(Node):
    """`rom SIZE`."""

    size: Expr


@dataclass(frozen=True, slots=True)
class MsixMember(Node):
    """`msix VECTORS table=BAR:OFFSET pba=BAR:OFFSET`."""

    vectors: Expr
    options: tuple[Written, ...]


DeviceMember: TypeAlias = BarMember | RomMember | MsixMember


@dataclass(frozen=True, slots=True)
class ContainerDecl(Node):
    """`container NAME [mode=] [pgsize=] [limit=] [reserved=] [aw=]`."""

    name: str
    options: tuple[Written, ...]


@dataclass(frozen=True, slots=True)
class WindowDecl(Node):
    """`window mmio32|mmio64|io base=A size=S`."""

    kind: str
    options: tuple[Written, ...]


@dataclass(frozen=True, slots=True)
class DeviceDecl(Node):
    """`device NAME BDF {` members `}` (the BDF as written; the backend validates it)."""

    name: str
    bdf: str
    members: tuple[DeviceMember, ...]


@dataclass(frozen=True, slots=True)
class LetDecl(Node):
    """`let NAME = EXPR`."""

    name: str
    expr: Expr


@dataclass(frozen=True, slots=True)
class Attach(Node):
    """`attach DEVICE CONTAINER`."""

    device: str
    container: str


@dataclass(frozen=True, slots=True)
class Map(Node):
    """`map C iova= vaddr= size= [perm=]`."""

    container: str
    options: tuple[Written, ...]


@dataclass(frozen=True, slots=True)
class Unmap(Node):
    """`unmap C iova= size= [== EXPR]`."""

    container: str
    options: tuple[Written, ...]
    check: Expr | None


@dataclass(frozen=True, slots=True)
class UnmapAll(Node):
    """`unmap C all [iova=] [size=] [== EXPR]`."""

    container: str
    options: tuple[Written, ...]
    check: Expr | None


@dataclass(frozen=True, slots=True)
class Alloc(Node):
    """`alloc DEVICE`."""

    device: str


@dataclass(frozen=True, slots=True)
class CfgRead(Node):
    """`cfg read DEVICE OFFSET [size=] [== EXPR]`."""

    device: str
    offset: Expr
    options: tuple[Written, ...]
    check: Expr | None


@dataclass(frozen=True, slots=True)
class CfgWrite(Node):
    """`cfg write DEVICE OFFSET VALUE [size=]`."""

    device: str
    offset: Expr
    value: Expr
    options: tuple[Written, ...]


@dataclass(frozen=True, slots=True)
class BarName(Packable):
    """`barN` in an `mmio` statement: the BAR index and the name as written."""

    index: int
    text: str


@dataclass(frozen=True, slots=True)
class MmioRead(Node):
    """`mmio read DEVICE barN OFFSET [size=] [== EXPR]`."""

    device: str
    bar: BarName
    offset: Expr
    options: tuple[Written, ...]
    check: Expr | None


@dataclass(frozen=True, slots=True)
class MmioWrite(Node):
    """`mmio write DEVICE barN OFFSET VALUE [size=]`."""

    device: str
    bar: BarName
    offset: Expr
    value: Expr
    options: tuple[Written, ...]


@dataclass(frozen=True, slots=True)
class MsixEntry(Node):
    """`msix entry DEVICE VECTOR addr= data=`."""

    device: str
    vector: Expr
    options: tuple[Written, ...]


@dataclass(frozen=True, slots=True)
class MsixVector(Node):
    """`msix mask|unmask DEVICE VECTOR` (`action` is the keyword)."""

    action: str
    device: str
    vector: Expr


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
    vector: Expr


@dataclass(frozen=True, slots=True)
class Reset(Node):
    """`reset DEVICE` (function-level reset)."""

    device: str


@dataclass(frozen=True, slots=True)
class Assert(Node):
    """`assert EXPR`."""

    expr: Expr


@dataclass(frozen=True, slots=True)
class For(Node):
    """`for NAME in FIRST..LAST {` operations `}` (bounds inclusive)."""

    name: str
    first: Expr
    last: Expr
    body: tuple[Operation, ...]


Declaration: TypeAlias = ContainerDecl | WindowDecl | DeviceDecl | LetDecl
Operation: TypeAlias = (
    Attach
    | Map
    | Unmap
    | UnmapAll
    | Alloc
    | CfgRead
    | CfgWrite
    | MmioRead
    | MmioWrite
    | MsixEntry
    | MsixVector
    | MsixControl
    | Irq
    | Reset
    | Assert
    | For
)
Statement: TypeAlias = Declaration | Operation


def lines_of(body: tuple[Operation, ...]) -> list[int]:
    """The line of every statement in a `for` body, nested bodies included (in order)."""
    lines: list[int] = []
    for statement in body:
        lines.append(statement.line)
        if isinstance(statement, For):
            lines += lines_of(statement.body)
    return lines
