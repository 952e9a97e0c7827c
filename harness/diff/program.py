"""Generated programs: scenario statements that know their text and their backend calls.

A `Program` is a list of statements of the scenario language. Each statement renders as the
lines a person would write (`map c0 iova=0x100000 vaddr=0x7f0000100000 size=8K`) and carries
the `Call`s the interpreter makes for those lines, in the interpreter's order and with its
arguments (a test parses the rendered text and compares the plan). The differential run calls
backends directly from the `Call`s; the written regression file is the rendered text.

Statements are frozen values with Python `repr`s, so Hypothesis shows a failing program as
code. A value a statement returns (`unmap`, `cfg read`) or a query in an `assert` is written in
the file as the reference answered it, which the program does not know: `Line.text` is the
statement without its `== VALUE` part, and `harness.diff.regression` adds it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from harness.backend import Backend, BarKindName, PermName, ReservedName, UnmapModeName
from harness.literals import SUFFIXES

Value = int | str | bool


@dataclass(frozen=True, slots=True)
class Call:
    """One backend call: `backend.<method>(*args, **kwargs)`.

    `returns`: an operation whose result the file checks with `== VALUE` (bytes unmapped, a
    value read). `query`: an attribute read by an `assert`, whose failure the interpreter reports
    as `scenario.error:eval`; `boolean`: a query that reads as a truth value.
    """

    method: str
    args: tuple[Value, ...]
    kwargs: tuple[tuple[str, Value], ...] = ()
    returns: bool = False
    query: bool = False
    boolean: bool = False

    def invoke(self, backend: Backend) -> object:
        """Make the call on `backend`."""
        return getattr(backend, self.method)(*self.args, **dict(self.kwargs))


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a rendered program, and the call it makes (None for `}`)."""

    text: str
    call: Call | None = None


def size_text(value: int) -> str:
    """A size as a person writes it: `4K`, `2M`, `1G` when exact, decimal below 1K, else hex."""
    if value < 1024:
        return str(value)
    for suffix, unit in sorted(SUFFIXES.items(), key=lambda item: -item[1]):
        if value and value % unit == 0 and value // unit < 1024 * 1024:
            return f"{value // unit}{suffix}"
    return hex(value)


def _options(pairs: tuple[tuple[str, Value | None], ...]) -> str:
    """` key=value` for each option given (None: left out, the run's default)."""
    text = ""
    for key, value in pairs:
        if value is None:
            continue
        shown = size_text(value) if key in ("pgsize",) and isinstance(value, int) else value
        text += f" {key}={shown}"
    return text


# ------------------------------------------------------------------------- declarations


@dataclass(frozen=True, slots=True)
class Container:
    """`container NAME [mode=] [pgsize=] [limit=] [reserved=]`; None is the run's default."""

    name: str
    mode: UnmapModeName | None = None
    pgsize: int | None = None
    limit: int | None = None
    reserved: ReservedName | None = None

    def lines(self) -> tuple[Line, ...]:
        """The declaration line and its `container` call."""
        options = (
            ("mode", self.mode),
            ("pgsize", self.pgsize),
            ("limit", self.limit),
            ("reserved", self.reserved),
        )
        given = tuple((key, value) for key, value in options if value is not None)
        call = Call("container", (self.name,), given)
        return (Line(f"container {self.name}{_options(options)}", call),)


@dataclass(frozen=True, slots=True)
class Bar:
    """A `bar N KIND [prefetch] SIZE` member."""

    index: int
    kind: BarKindName
    size: int
    prefetch: bool = False


@dataclass(frozen=True, slots=True)
class MsixCap:
    """An `msix VECTORS table=BAR:OFFSET pba=BAR:OFFSET` member."""

    vectors: int
    table_bar: int
    table_offset: int
    pba_bar: int
    pba_offset: int


@dataclass(frozen=True, slots=True)
class Device:
    """`device NAME BDF { members }`: BARs, an optional ROM, optional MSI-X (planned last)."""

    name: str
    bdf: str
    bars: tuple[Bar, ...] = ()
    rom: int | None = None
    msix: MsixCap | None = None

    def lines(self) -> tuple[Line, ...]:
        """Header, one line per member, and `}`; MSI-X is written last, as it is planned."""
        lines = [Line(f"device {self.name} {self.bdf} {{", Call("device", (self.name, self.bdf)))]
        for bar in self.bars:
            prefetch = " prefetch" if bar.prefetch else ""
            lines.append(
                Line(
                    f"    bar {bar.index} {bar.kind}{prefetch} {size_text(bar.size)}",
                    Call(
                        "device_bar",
                        (self.name, bar.index, bar.kind, bar.size),
                        (("prefetch", bar.prefetch),),
                    ),
                )
            )
        if self.rom is not None:
            lines.append(
                Line(f"    rom {size_text(self.rom)}", Call("device_rom", (self.name, self.rom)))
            )
        if self.msix is not None:
            m = self.msix
            args = (self.name, m.vectors, m.table_bar, m.table_offset, m.pba_bar, m.pba_offset)
            text = (
                f"    msix {m.vectors} table={m.table_bar}:{m.table_offset:#x}"
                f" pba={m.pba_bar}:{m.pba_offset:#x}"
            )
            lines.append(Line(text, Call("device_msix", args)))
        lines.append(Line("}"))
        return tuple(lines)

    def truncated(self, calls: int) -> Device:
        """The device with only its first `calls` calls (the header is the first)."""
        bars = self.bars[: max(calls - 1, 0)]
        rest = calls - 1 - len(bars)
        rom = self.rom if self.rom is not None and rest > 0 else None
        rest -= 1 if rom is not None else 0
        msix = self.msix if rest > 0 else None
        return Device(self.name, self.bdf, bars, rom, msix)


@dataclass(frozen=True, slots=True)
class Attach:
    """`attach DEVICE CONTAINER`."""

    device: str
    container: str

    def lines(self) -> tuple[Line, ...]:
        """One line, one `attach` call."""
        call = Call("attach", (self.device, self.container))
        return (Line(f"attach {self.device} {self.container}", call),)


# ------------------------------------------------------------------------- operations


@dataclass(frozen=True, slots=True)
class Map:
    """`map C iova= vaddr= size= [perm=]`."""

    container: str
    iova: int
    vaddr: int
    size: int
    perm: PermName = "rw"

    def lines(self) -> tuple[Line, ...]:
        """One line, one `map` call (perm passed as the interpreter passes it)."""
        perm = "" if self.perm == "rw" else f" perm={self.perm}"
        text = (
            f"map {self.container} iova={self.iova:#x} vaddr={self.vaddr:#x}"
            f" size={size_text(self.size)}{perm}"
        )
        call = Call("map", (self.container, self.iova, self.vaddr, self.size, self.perm))
        return (Line(text, call),)


@dataclass(frozen=True, slots=True)
class Unmap:
    """`unmap C iova= size=` (returns the bytes unmapped)."""

    container: str
    iova: int
    size: int

    def lines(self) -> tuple[Line, ...]:
        """One line, one `unmap` call."""
        text = f"unmap {self.container} iova={self.iova:#x} size={size_text(self.size)}"
        call = Call("unmap", (self.container, self.iova, self.size), returns=True)
        return (Line(text, call),)


@dataclass(frozen=True, slots=True)
class UnmapAll:
    """`unmap C all` (returns the bytes unmapped)."""

    container: str

    def lines(self) -> tuple[Line, ...]:
        """One line, one `unmap_all` call."""
        call = Call("unmap_all", (self.container,), returns=True)
        return (Line(f"unmap {self.container} all", call),)


@dataclass(frozen=True, slots=True)
class Alloc:
    """`alloc DEVICE`."""

    device: str

    def lines(self) -> tuple[Line, ...]:
        """One line, one `alloc` call."""
        return (Line(f"alloc {self.device}", Call("alloc", (self.device,))),)


def _size_option(size: int) -> str:
    return "" if size == 4 else f" size={size}"


@dataclass(frozen=True, slots=True)
class CfgRead:
    """`cfg read DEVICE OFFSET [size=]` (returns the value read)."""

    device: str
    offset: int
    size: int = 4

    def lines(self) -> tuple[Line, ...]:
        """One line, one `cfg_read` call."""
        text = f"cfg read {self.device} {self.offset:#x}{_size_option(self.size)}"
        call = Call("cfg_read", (self.device, self.offset, self.size), returns=True)
        return (Line(text, call),)


@dataclass(frozen=True, slots=True)
class CfgWrite:
    """`cfg write DEVICE OFFSET VALUE [size=]`."""

    device: str
    offset: int
    value: int
    size: int = 4

    def lines(self) -> tuple[Line, ...]:
        """One line, one `cfg_write` call."""
        text = f"cfg write {self.device} {self.offset:#x} {self.value:#x}{_size_option(self.size)}"
        call = Call("cfg_write", (self.device, self.offset, self.value, self.size))
        return (Line(text, call),)


@dataclass(frozen=True, slots=True)
class MsixEntry:
    """`msix entry DEVICE V addr= data=`."""

    device: str
    vector: int
    addr: int
    data: int

    def lines(self) -> tuple[Line, ...]:
        """One line, one `msix_entry` call."""
        text = f"msix entry {self.device} {self.vector} addr={self.addr:#x} data={self.data:#x}"
        call = Call("msix_entry", (self.device, self.vector, self.addr, self.data))
        return (Line(text, call),)


@dataclass(frozen=True, slots=True)
class MsixVector:
    """`msix mask|unmask DEVICE V`."""

    device: str
    action: Literal["mask", "unmask"]
    vector: int

    def lines(self) -> tuple[Line, ...]:
        """One line, one `msix_mask` or `msix_unmask` call."""
        call = Call(f"msix_{self.action}", (self.device, self.vector))
        return (Line(f"msix {self.action} {self.device} {self.vector}", call),)


@dataclass(frozen=True, slots=True)
class MsixEnable:
    """`msix enable|disable DEVICE` (Message Control bit 15)."""

    device: str
    on: bool

    def lines(self) -> tuple[Line, ...]:
        """One line, one `msix_enable` call."""
        word = "enable" if self.on else "disable"
        return (Line(f"msix {word} {self.device}", Call("msix_enable", (self.device, self.on))),)


@dataclass(frozen=True, slots=True)
class MsixFmask:
    """`msix fmask DEVICE on|off` (Message Control bit 14)."""

    device: str
    on: bool

    def lines(self) -> tuple[Line, ...]:
        """One line, one `msix_fmask` call."""
        word = "on" if self.on else "off"
        call = Call("msix_fmask", (self.device, self.on))
        return (Line(f"msix fmask {self.device} {word}", call),)


@dataclass(frozen=True, slots=True)
class Irq:
    """`irq DEVICE V`: the device raises a vector."""

    device: str
    vector: int

    def lines(self) -> tuple[Line, ...]:
        """One line, one `irq` call."""
        return (Line(f"irq {self.device} {self.vector}", Call("irq", (self.device, self.vector))),)


# ------------------------------------------------------------------------- queries


@dataclass(frozen=True, slots=True)
class Query:
    """`assert NAME.ATTR == VALUE`: an attribute read after the operations.

    `attr` is the attribute as written (`mapped`, `bar0.size`, `msix.pending`), `method` the
    backend method behind it, `arg` the call argument (`mapped_at(IOVA)`) or the BAR index the
    attribute names, `boolean` whether it reads as a truth value.
    """

    name: str
    attr: str
    method: str
    arg: int | None = None
    call_form: bool = False  # written `attr(arg)`; otherwise `arg` is implied by `attr`
    boolean: bool = False

    @property
    def expression(self) -> str:
        """The attribute as an expression: `c0.mapped_at(0x1000)`."""
        if self.call_form:
            return f"{self.name}.{self.attr}({self.arg:#x})"
        return f"{self.name}.{self.attr}"

    def lines(self) -> tuple[Line, ...]:
        """One `assert` line (completed with the reference's value), one query call."""
        args: tuple[Value, ...] = (self.name,) if self.arg is None else (self.name, self.arg)
        call = Call(self.method, args, query=True, boolean=self.boolean)
        return (Line(f"assert {self.expression}", call),)


Statement = (
    Container
    | Device
    | Attach
    | Map
    | Unmap
    | UnmapAll
    | Alloc
    | CfgRead
    | CfgWrite
    | MsixEntry
    | MsixVector
    | MsixEnable
    | MsixFmask
    | Irq
    | Query
)

DECLARATIONS = (Container, Device)


def declared(statement: Statement) -> str | None:
    """The name a statement declares, if any."""
    return statement.name if isinstance(statement, DECLARATIONS) else None


def used(statement: Statement) -> tuple[str, ...]:
    """The names a statement uses (that an earlier declaration must provide)."""
    if isinstance(statement, DECLARATIONS):
        return ()
    if isinstance(statement, Attach):
        return (statement.device, statement.container)
    if isinstance(statement, Query):
        return (statement.name,)
    if isinstance(statement, Map | Unmap | UnmapAll):
        return (statement.container,)
    return (statement.device,)


_NAME_FIELDS = ("name", "container", "device")


def renamed(statement: Statement, names: Mapping[str, str]) -> Statement:
    """The statement with every name it declares or uses replaced as `names` says."""
    changes: dict[str, Any] = {
        key: names[value]
        for key in _NAME_FIELDS
        if isinstance(value := getattr(statement, key, None), str) and value in names
    }
    return replace(statement, **changes) if changes else statement


@dataclass(frozen=True, slots=True)
class Program:
    """A generated scenario: statements in order."""

    area: str
    statements: tuple[Statement, ...]

    def lines(self) -> Iterator[tuple[int, Line]]:
        """Every line with the index of its statement."""
        for index, statement in enumerate(self.statements):
            for line in statement.lines():
                yield index, line

    def calls(self) -> list[tuple[int, Call]]:
        """Every call in order, with the index of its statement."""
        return [(index, line.call) for index, line in self.lines() if line.call is not None]

    def text(self) -> str:
        """The program as scenario text, without value checks or annotations."""
        return "".join(line.text + "\n" for _, line in self.lines())

    def __len__(self) -> int:
        return len(self.statements)

    def with_statements(self, statements: Sequence[Statement]) -> Program:
        """The same area with other statements."""
        return Program(self.area, tuple(statements))

    def renamed(self, names: Mapping[str, str]) -> Program:
        """Every name replaced as `names` says."""
        return self.with_statements([renamed(s, names) for s in self.statements])
