"""Checks before running: each statement becomes the steps that run it, or a failure.

Statements are checked one at a time, in order, against the names declared so far (earlier
lines and earlier files of a multi-file scenario). A statement that fails a check becomes one
`scenario.error:<reason>` output at its line and does not run. Within one statement the first
failure in this order is reported: the statement's names, then its options, then its values.
A `for` body is checked once when the loop is reached, and its steps run in every iteration.

Reasons:
- `unknown.name`: a name not declared before; an attribute its kind does not have
  (`c0.bogus`, `gpu0.bar6.size`, `gpu0.msix.bogus`).
- `wrong.kind`: a device where a container is wanted or the reverse; a container or device
  used as a value (`assert c0`); an integer name with attributes (`ram.size`); an attribute
  called without being a function (`c0.mappings(1)`) or a function attribute used without its
  argument (`c0.mapped_at`).
- `duplicate.name`: a container, device, `let` or `for` name already declared (one name space;
  the first declaration stands). A duplicate device declaration is skipped whole.
- `bad.option`: an option the statement does not take, an option given twice, a required
  option missing, a value of the wrong form (an expression where a word is wanted, BAR:OFFSET
  where a number is), or a word not allowed (mode v1|v2, reserved x86|none, perm rw|r|w|none,
  fmask on|off). Value rules of their own are in `values.py`.
- `value.range` and `eval`: the values, checked when the statement runs (`values.py`).

A statement skipped by a check declares nothing: a later use of its name is `unknown.name`.
Device members run after the device header, bars and ROM first in order, then the MSI-X
members (the backend places MSI-X inside BARs already added), each at the member's own line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from harness.scenario import fields, nodes, values
from harness.scenario.evaluate import Frame
from harness.scenario.fields import Value, evaluated, fail
from harness.scenario.names import NameKind, Names
from harness.scenario.steps import (
    Arguments,
    Assertion,
    Bind,
    Call,
    Expect,
    Failure,
    Loop,
    Step,
    arguments,
    fixed,
)
from harness.vfio.catalog import ErrorId


class Checker:
    """Checks statements in order against the names declared so far (one per scenario)."""

    def __init__(self) -> None:
        self.names = Names()

    def bind(self, name: str, line: int, value: int) -> None:
        """Declare a `let` name with its value, now that it is known."""
        self.names.declare(name, NameKind.INTEGER, line, value)

    # ---- entry point
    def check(self, statement: nodes.Statement, file: str) -> list[Step]:
        """The steps of one statement of `file` (a device is several; a failure is one)."""
        self.names.file = file
        if isinstance(statement, nodes.DeviceDecl):
            return self._device(statement)
        return [self._step(statement)]

    def _step(self, statement: nodes.Statement) -> Step:
        try:
            return self._DISPATCH[type(statement)](self, statement)
        except fields.CheckError as error:
            body = nodes.lines_of(statement.body) if isinstance(statement, nodes.For) else ()
            return Failure(statement.line, error.kind, error.message, tuple(body))

    # ---- declarations
    def _container(self, s: nodes.ContainerDecl) -> Step:
        self.names.free(s.name)
        o = fields.options("container", s.options, fields.CONTAINER)
        ints = {key: self._int(o, key) for key in o if key in values.CONTAINER_INTS}
        words = {key: value for key, value in o.items() if key not in values.CONTAINER_INTS}
        self.names.declare(s.name, NameKind.CONTAINER, s.line)
        name = s.name

        def build(frame: Frame) -> Arguments:
            return (name,), {**words, **values.container(ints, frame)}

        return Call(s.line, "container", build)

    def _window(self, s: nodes.WindowDecl) -> Step:
        o = fields.options(f"window {s.kind}", s.options, fields.WINDOW)
        base, size, kind = self._int(o, "base"), self._int(o, "size"), s.kind

        def build(frame: Frame) -> Arguments:
            return (kind, *values.window(kind, evaluated(base, frame), evaluated(size, frame))), {}

        return Call(s.line, "window", build)

    def _device(self, s: nodes.DeviceDecl) -> list[Step]:
        try:
            self.names.declare(s.name, NameKind.DEVICE, s.line)
        except fields.CheckError as error:
            return [Failure(s.line, error.kind, error.message)]
        steps: list[Step] = [Call(s.line, "device", fixed(s.name, s.bdf))]
        later: list[Step] = []
        for member in s.members:
            step: Step
            try:
                step = self._member(s.name, member)
            except fields.CheckError as error:
                step = Failure(member.line, error.kind, error.message)
            (later if isinstance(member, nodes.MsixMember) else steps).append(step)
        return steps + later

    def _member(self, device: str, m: nodes.DeviceMember) -> Step:
        if isinstance(m, nodes.BarMember):
            index, size, kind, prefetch = (
                self.names.field(m.index),
                self.names.field(m.size),
                m.kind,
                m.prefetch,
            )

            def bar(frame: Frame) -> Arguments:
                number = fields.width(evaluated(index, frame), 32, m.index, "BAR index")
                return (device, number, kind, evaluated(size, frame)), {"prefetch": prefetch}

            return Call(m.line, "device_bar", bar)
        if isinstance(m, nodes.RomMember):
            return Call(m.line, "device_rom", arguments(device, self.names.field(m.size)))
        o = fields.options("msix", m.options, fields.MSIX_MEMBER)
        vectors = self.names.field(m.vectors)
        table, pba = o["table"], o["pba"]
        assert isinstance(table, nodes.Location) and isinstance(pba, nodes.Location)
        for location in (table, pba):
            fields.width(location.bar, 3, location.text, "BIR field")
            fields.width(location.offset, 32, location.text, "offset field")
        where = (table.bar, table.offset, pba.bar, pba.offset)
        return Call(m.line, "device_msix", arguments(device, vectors, *where))

    def _let(self, s: nodes.LetDecl) -> Step:
        self.names.free(s.name)
        return Bind(s.line, s.name, self.names.field(s.expr, checked=False))

    def _attach(self, s: nodes.Attach) -> Step:
        device = self.names.use(s.device, NameKind.DEVICE)
        container = self.names.use(s.container, NameKind.CONTAINER)
        return Call(s.line, "attach", fixed(device, container))

    # ---- operations
    def _map(self, s: nodes.Map) -> Step:
        container = self.names.use(s.container, NameKind.CONTAINER)
        o = fields.options("map", s.options, fields.MAP)
        iova, vaddr, size = self._int(o, "iova"), self._int(o, "vaddr"), self._int(o, "size")
        return Call(s.line, "map", arguments(container, iova, vaddr, size, o.get("perm", "rw")))

    def _unmap(self, s: nodes.Unmap) -> Step:
        container = self.names.use(s.container, NameKind.CONTAINER)
        o = fields.options("unmap", s.options, fields.UNMAP)
        iova, size = self._int(o, "iova"), self._int(o, "size")
        return Call(s.line, "unmap", arguments(container, iova, size), self._expect(s.check))

    def _unmap_all(self, s: nodes.UnmapAll) -> Step:
        container = self.names.use(s.container, NameKind.CONTAINER)
        o = fields.options("unmap all", s.options, fields.UNMAP_ALL)
        written = {key: self._int(o, key) for key in o}  # passed only when written
        expect = self._expect(s.check)

        def build(frame: Frame) -> Arguments:
            return (container,), {key: evaluated(field, frame) for key, field in written.items()}

        return Call(s.line, "unmap_all", build, expect)

    def _alloc(self, s: nodes.Alloc) -> Step:
        return Call(s.line, "alloc", fixed(self.names.use(s.device, NameKind.DEVICE)))

    def _cfg_read(self, s: nodes.CfgRead) -> Step:
        device = self.names.use(s.device, NameKind.DEVICE)
        o = fields.options("cfg read", s.options, fields.ACCESS)
        offset, size = self.names.field(s.offset), self._size(o)
        return Call(s.line, "cfg_read", arguments(device, offset, size), self._expect(s.check))

    def _cfg_write(self, s: nodes.CfgWrite) -> Step:
        device = self.names.use(s.device, NameKind.DEVICE)
        o = fields.options("cfg write", s.options, fields.ACCESS)
        offset, value, size = self.names.field(s.offset), self.names.field(s.value), self._size(o)

        def build(frame: Frame) -> Arguments:
            at, width = evaluated(offset, frame), evaluated(size, frame)
            data = values.register(evaluated(value, frame), width, values.CFG_SIZES, s.value)
            return (device, at, data, width), {}

        return Call(s.line, "cfg_write", build)

    def _mmio_read(self, s: nodes.MmioRead) -> Step:
        device = self.names.use(s.device, NameKind.DEVICE)
        o = fields.options("mmio read", s.options, fields.ACCESS)
        bar = values.bar_index(s.bar)
        offset, size = self.names.field(s.offset), self._size(o)
        step = arguments(device, bar, offset, size)
        return Call(s.line, "mmio_read", step, self._expect(s.check))

    def _mmio_write(self, s: nodes.MmioWrite) -> Step:
        device = self.names.use(s.device, NameKind.DEVICE)
        o = fields.options("mmio write", s.options, fields.ACCESS)
        bar = values.bar_index(s.bar)
        offset, value, size = self.names.field(s.offset), self.names.field(s.value), self._size(o)

        def build(frame: Frame) -> Arguments:
            at, width = evaluated(offset, frame), evaluated(size, frame)
            data = values.register(evaluated(value, frame), width, values.MMIO_SIZES, s.value)
            return (device, bar, at, data, width), {}

        return Call(s.line, "mmio_write", build)

    def _msix_entry(self, s: nodes.MsixEntry) -> Step:
        device = self.names.use(s.device, NameKind.DEVICE)
        o = fields.options("msix entry", s.options, fields.MSIX_ENTRY)
        vector, addr, data = self.names.field(s.vector), self._int(o, "addr"), self._int(o, "data")
        data_expr = fields.value_of(s.options, "data")

        def build(frame: Frame) -> Arguments:
            number, address = evaluated(vector, frame), evaluated(addr, frame)
            message = fields.width(evaluated(data, frame), 32, data_expr, "message data")
            return (device, number, address, message), {}

        return Call(s.line, "msix_entry", build)

    def _msix_vector(self, s: nodes.MsixVector) -> Step:
        device = self.names.use(s.device, NameKind.DEVICE)
        return Call(s.line, f"msix_{s.action}", arguments(device, self.names.field(s.vector)))

    def _msix_control(self, s: nodes.MsixControl) -> Step:
        device = self.names.use(s.device, NameKind.DEVICE)
        if s.action == "fmask":
            if s.state not in ("on", "off"):
                raise fail(ErrorId.SCENARIO_BAD_OPTION, f"fmask is on or off, not '{s.state}'")
            return Call(s.line, "msix_fmask", fixed(device, s.state == "on"))
        return Call(s.line, "msix_enable", fixed(device, s.action == "enable"))

    def _irq(self, s: nodes.Irq) -> Step:
        device = self.names.use(s.device, NameKind.DEVICE)
        return Call(s.line, "irq", arguments(device, self.names.field(s.vector)))

    def _reset(self, s: nodes.Reset) -> Step:
        return Call(s.line, "device_reset", fixed(self.names.use(s.device, NameKind.DEVICE)))

    def _assert(self, s: nodes.Assert) -> Step:
        return Assertion(s.line, self.names.expect(s.expr))

    def _for(self, s: nodes.For) -> Step:
        self.names.free(s.name)
        first = self.names.field(s.first, checked=False)
        last = self.names.field(s.last, checked=False)
        self.names.declare(s.name, NameKind.VARIABLE, s.line)
        try:
            body = tuple(self._step(statement) for statement in s.body)
        finally:
            self.names.release(s.name)  # bound only while its body runs
        return Loop(s.line, s.name, first, last, body, tuple(nodes.lines_of(s.body)))

    _DISPATCH: ClassVar[Mapping[type, Callable[[Checker, Any], Step]]] = {
        nodes.ContainerDecl: _container,
        nodes.WindowDecl: _window,
        nodes.LetDecl: _let,
        nodes.Attach: _attach,
        nodes.Map: _map,
        nodes.Unmap: _unmap,
        nodes.UnmapAll: _unmap_all,
        nodes.Alloc: _alloc,
        nodes.CfgRead: _cfg_read,
        nodes.CfgWrite: _cfg_write,
        nodes.MmioRead: _mmio_read,
        nodes.MmioWrite: _mmio_write,
        nodes.MsixEntry: _msix_entry,
        nodes.MsixVector: _msix_vector,
        nodes.MsixControl: _msix_control,
        nodes.Irq: _irq,
        nodes.Reset: _reset,
        nodes.Assert: _assert,
        nodes.For: _for,
    }

    # ---- integers
    def _int(self, options: Mapping[str, object], key: str) -> Value:
        value = options[key]
        if type(value) is int:  # a literal, read by `fields.options`
            return value
        assert isinstance(value, nodes.Expr)
        return self.names.field(value)

    def _size(self, options: Mapping[str, object]) -> Value:
        return self._int(options, "size") if "size" in options else 4

    def _expect(self, expr: nodes.Expr | None) -> Expect | None:
        return None if expr is None else self.names.expect(expr)
