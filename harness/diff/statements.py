"""The statements a generated program is made of: each renders as scenario text, with the
backend calls the interpreter makes for it, in its order and with its arguments.

Statements are frozen values with Python `repr`s, so Hypothesis shows a failing program as
code. A value a statement returns (`unmap`, `cfg read`, `mmio read`) or a query in an `assert`
is written in the file as the reference answered it: `Line.text` is the statement without its
`== VALUE` part, and `harness.diff.regression` adds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from harness.backend import BarKindName, PermName, ReservedName, UnmapModeName
from harness.diff.calls import Call, Line, Value, size_text


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
    """`container NAME [mode=] [pgsize=] [limit=] [reserved=] [aw=]`; None: the run's default."""

    name: str
    mode: UnmapModeName | None = None
    pgsize: int | None = None
    limit: int | None = None
    reserved: ReservedName | None = None
    aw: int | None = None  # IOMMU address width (language v2)

    def lines(self) -> tuple[Line, ...]:
        """The declaration line and its `container` call."""
        options = (
            ("mode", self.mode),
            ("pgsize", self.pgsize),
            ("limit", self.limit),
            ("reserved", self.reserved),
            ("aw", self.aw),
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
    """`unmap C all [iova=] [size=]` (returns the bytes unmapped); a range only when written."""

    container: str
    iova: int | None = None
    size: int | None = None

    def lines(self) -> tuple[Line, ...]:
        """One line, one `unmap_all` call (`iova`/`size` passed only when written)."""
        given = tuple(
            (k, v) for k, v in (("iova", self.iova), ("size", self.size)) if v is not None
        )
        text = f"unmap {self.container} all" + "".join(f" {k}={v:#x}" for k, v in given)
        call = Call("unmap_all", (self.container,), given, returns=True)
        return (Line(text, call),)


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
class MmioRead:
    """`mmio read DEVICE barN OFFSET [size=]` (returns the value read; language v2)."""

    device: str
    bar: int
    offset: int
    size: int = 4

    def lines(self) -> tuple[Line, ...]:
        """One line, one `mmio_read` call."""
        text = f"mmio read {self.device} bar{self.bar} {self.offset:#x}{_size_option(self.size)}"
        call = Call("mmio_read", (self.device, self.bar, self.offset, self.size), returns=True)
        return (Line(text, call),)


@dataclass(frozen=True, slots=True)
class MmioWrite:
    """`mmio write DEVICE barN OFFSET VALUE [size=]` (language v2)."""

    device: str
    bar: int
    offset: int
    value: int
    size: int = 4

    def lines(self) -> tuple[Line, ...]:
        """One line, one `mmio_write` call."""
        text = (
            f"mmio write {self.device} bar{self.bar} {self.offset:#x} {self.value:#x}"
            f"{_size_option(self.size)}"
        )
        call = Call("mmio_write", (self.device, self.bar, self.offset, self.value, self.size))
        return (Line(text, call),)


@dataclass(frozen=True, slots=True)
class Reset:
    """`reset DEVICE`: a function-level reset (language v2)."""

    device: str

    def lines(self) -> tuple[Line, ...]:
        """One line, one `device_reset` call."""
        return (Line(f"reset {self.device}", Call("device_reset", (self.device,))),)


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
    | MmioRead
    | MmioWrite
    | Reset
    | MsixEntry
    | MsixVector
    | MsixEnable
    | MsixFmask
    | Irq
    | Query
)

DECLARATIONS = (Container, Device)
