"""Checks before running: a parsed program becomes a plan of backend calls and failures.

Each statement is checked in order against the names declared on earlier lines (and earlier
files of a multi-file scenario). A statement that fails a check becomes one
`scenario.error:<reason>` output at its line and does not run; the rest runs. Within one
statement the first failure in this order is reported: names, then options, then values.

Reasons and the decisions behind them:
- `unknown.name`: a name not declared before; an attribute the name's kind does not have
  (`c0.bogus`, `gpu0.bar6.size`, `gpu0.msix.bogus`).
- `wrong.kind`: a device where a container is wanted or the reverse; a bare name used as a
  value (`assert c0`); an attribute called without being a function (`c0.mappings(1)`) or a
  function attribute used without its argument (`c0.mapped_at`).
- `duplicate.name`: a container or device name already declared (names are unique across
  kinds). A duplicate device declaration is skipped whole, members included.
- `bad.option`: an option the statement does not take, an option given twice, a required
  option missing (map: iova, vaddr, size; unmap: iova, size; window: base, size; msix member:
  table, pba; msix entry: addr, data), a value of the wrong form (a word where a number is
  wanted, or `B:O` where neither is), or a value not allowed: mode v1|v2, reserved x86|none,
  perm rw|r|w|none, fmask on|off, pgsize a power of two from 1 to 1G,
  window size 0.
- `value.range`: any integer literal above 2^64-1 (also inside expressions), or a value too
  wide for its field: a cfg write value wider than its size, MSI-X data above 32 bits, a BAR
  index of 2^32 or more (the VFIO region index is 32 bits), an MSI-X table/PBA BIR above 7
  (3 bits) or offset of 2^32 or more, a container limit of 2^32 or more (the kernel's
  `dma_entry_limit` is an unsigned int), a window ending past its address space (mmio32 4G,
  mmio64 2^64, io 64K).
  Values that fit their field but break the device's rules (BAR index 6, 4096 vectors, a
  config offset past 4096, a config access size other than 1, 2 or 4, an `io prefetch` BAR,
  a second `msix` member, a malformed BDF) are left to the backend, whose `device.invalid:*`
  and `*.failed:*` ids say what the kernel or the PCI spec would.

A statement skipped by a check declares nothing: a later use of its name is `unknown.name`
(the backend never saw it). A window kind may be declared again (it replaces the window).

Device members are planned after the device header, bars and ROM first in order, then the MSI-X
members (the backend places MSI-X inside BARs already added), each at the member's own line.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from annotations.annotation import Output
from harness.scenario import evaluate, fields, nodes
from harness.scenario.evaluate import Compiled
from harness.vfio.catalog import ErrorId


class NameKind(enum.Enum):
    """What a declared name stands for."""

    CONTAINER = "container"
    DEVICE = "device"


@dataclass(frozen=True, slots=True)
class Expect:
    """A compiled expression and its source; `parts` explains a false single comparison."""

    fn: Compiled
    expr: nodes.Expr
    parts: tuple[Compiled, str, Compiled] | None = None

    @property
    def text(self) -> str:
        """The expression as written, cut at `TEXT_LIMIT` (rendered only for a message)."""
        text = nodes.render_expr(self.expr)
        return text if len(text) <= TEXT_LIMIT else text[:TEXT_LIMIT] + " …"


@dataclass(frozen=True, slots=True)
class Call:
    """One backend call at `file:line`; `expect` is the `== EXPR` its result must equal."""

    file: str
    line: int
    method: str
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    expect: Expect | None = None
    declares: str | None = None  # a device header: the name the checker declared


@dataclass(frozen=True, slots=True)
class Assertion:
    """An `assert`."""

    file: str
    line: int
    expect: Expect


@dataclass(frozen=True, slots=True)
class Failure:
    """A statement that failed its check: the output to emit in its place."""

    output: Output


Step = Call | Assertion | Failure


# ---------------------------------------------------------------- expressions

_CONTAINER_ATTRS: dict[str, tuple[str, bool]] = {
    # attribute -> (backend method, takes an argument)
    "mappings": ("mappings", False),
    "mapped": ("mapped", False),
    "avail": ("avail", False),
    "mapped_at": ("mapped_at", True),
    "translate": ("translate", True),
}
_MSIX_ATTRS: dict[str, tuple[str, bool]] = {
    "vectors": ("msix_vectors", False),
    "enabled": ("msix_enabled", False),
    "fmask": ("msix_function_masked", False),
    "masked": ("msix_masked", True),
    "pending": ("msix_pending", True),
    "delivered": ("msix_delivered", True),
    "configured": ("msix_configured", False),
}
_REGION_ATTRS = {"size", "gpa"}
# Where each window must end (exclusive): 32-bit BARs hold addresses below 4G, I/O ports are
# 16 bits; as `-D vfio:<window>.*` allows (harness/options.py).
_WINDOW_END = {"mmio32": 1 << 32, "mmio64": 1 << 64, "io": 1 << 16}
TEXT_LIMIT = 200  # characters of an expression quoted in a message
# How deep operators may nest inside parentheses or call arguments (chains of one precedence
# level and runs of prefix operators do not count: they are loops). Compiling, evaluating and
# rendering recurse once or twice per level, well inside Python's recursion limit; Python's own
# parser stops at 200 nested parentheses.
MAX_NESTING = 200
_ACCESS_SIZES = (1, 2, 4)  # config access sizes whose register width the checker knows
_BAR_NAMES = {f"bar{index}": index for index in range(6)}


# ---------------------------------------------------------------- the checker


class Checker:
    """Checks programs in order against the names declared so far (one per scenario)."""

    def __init__(self) -> None:
        self.names: dict[str, tuple[NameKind, str, int]] = {}

    # ---- names
    def _declare(self, name: str, kind: NameKind, statement: nodes.Node) -> None:
        previous = self.names.get(name)
        if previous is not None:
            what, file, line = previous
            raise fields.fail(
                ErrorId.SCENARIO_DUPLICATE_NAME,
                f"'{name}' is already declared as a {what.value} at {file}:{line}",
            )
        self.names[name] = (kind, statement.file, statement.line)

    def _use(self, name: str, kind: NameKind) -> str:
        entry = self.names.get(name)
        if entry is None:
            raise fields.fail(ErrorId.SCENARIO_UNKNOWN_NAME, f"unknown {kind.value} '{name}'")
        if entry[0] is not kind:
            raise fields.fail(
                ErrorId.SCENARIO_WRONG_KIND,
                f"'{name}' is a {entry[0].value}, not a {kind.value}",
            )
        return name

    # ---- entry point
    def check(self, program: nodes.Program) -> list[Step]:
        """The plan for one file: calls, asserts, and failures in statement order."""
        steps: list[Step] = []
        for statement in program.statements:
            if isinstance(statement, nodes.DeviceDecl):
                self._device(statement, steps)
                continue
            try:
                steps.append(self._DISPATCH[type(statement)](self, statement))
            except fields.CheckError as error:
                steps.append(_failure(statement, error))
        return steps

    # ---- declarations
    def _container(self, s: nodes.ContainerDecl) -> Step:
        options = fields.options("container", s.options, fields.CONTAINER)
        if "limit" in options:
            fields.width(options["limit"], 32, str(options["limit"]), "entry limit")
        self._declare(s.name, NameKind.CONTAINER, s)
        return Call(s.file, s.line, "container", (s.name,), options)

    def _window(self, s: nodes.WindowDecl) -> Step:
        options = fields.options(f"window {s.kind}", s.options, fields.WINDOW)
        base, size = options["base"], options["size"]
        end = _WINDOW_END[s.kind]
        if base + size > end:
            raise fields.fail(
                ErrorId.SCENARIO_VALUE_RANGE,
                f"window {s.kind} [{base:#x}, {base + size:#x}) passes {end - 1:#x}",
            )
        return Call(s.file, s.line, "window", (s.kind, base, size))

    def _device(self, s: nodes.DeviceDecl, steps: list[Step]) -> None:
        try:
            self._declare(s.name, NameKind.DEVICE, s)
        except fields.CheckError as error:
            steps.append(_failure(s, error))
            return
        steps.append(Call(s.file, s.line, "device", (s.name, s.bdf), declares=s.name))
        later: list[Step] = []
        for member in s.members:
            try:
                step = self._member(s.name, member)
            except fields.CheckError as error:
                steps.append(_failure(member, error))
                continue
            (later if isinstance(member, nodes.MsixMember) else steps).append(step)
        steps.extend(later)

    def _member(self, device: str, m: nodes.Member) -> Step:
        if isinstance(m, nodes.BarMember):
            fields.width(m.index, 32, str(m.index), "BAR index")
            fields.u64(m.size, str(m.size))
            return Call(
                m.file,
                m.line,
                "device_bar",
                (device, m.index, m.kind, m.size),
                {"prefetch": m.prefetch},
            )
        if isinstance(m, nodes.RomMember):
            fields.u64(m.size, str(m.size))
            return Call(m.file, m.line, "device_rom", (device, m.size))
        options = fields.options("msix", m.options, fields.MSIX_MEMBER)
        fields.u64(m.vectors, str(m.vectors))
        table: nodes.Location = options["table"]
        pba: nodes.Location = options["pba"]
        for location in (table, pba):
            fields.width(location.bar, 3, location.text, "BIR field")
            fields.width(location.offset, 32, location.text, "offset field")
        return Call(
            m.file,
            m.line,
            "device_msix",
            (device, m.vectors, table.bar, table.offset, pba.bar, pba.offset),
        )

    def _attach(self, s: nodes.Attach) -> Step:
        device = self._use(s.device, NameKind.DEVICE)
        container = self._use(s.container, NameKind.CONTAINER)
        return Call(s.file, s.line, "attach", (device, container))

    # ---- operations
    def _map(self, s: nodes.Map) -> Step:
        container = self._use(s.container, NameKind.CONTAINER)
        o = fields.options("map", s.options, fields.MAP)
        return Call(
            s.file,
            s.line,
            "map",
            (container, o["iova"], o["vaddr"], o["size"], o.get("perm", "rw")),
        )

    def _unmap(self, s: nodes.Unmap) -> Step:
        container = self._use(s.container, NameKind.CONTAINER)
        o = fields.options("unmap", s.options, fields.UNMAP)
        expect = self._expect(s.check)
        return Call(s.file, s.line, "unmap", (container, o["iova"], o["size"]), expect=expect)

    def _unmap_all(self, s: nodes.UnmapAll) -> Step:
        container = self._use(s.container, NameKind.CONTAINER)
        return Call(s.file, s.line, "unmap_all", (container,), expect=self._expect(s.check))

    def _alloc(self, s: nodes.Alloc) -> Step:
        return Call(s.file, s.line, "alloc", (self._use(s.device, NameKind.DEVICE),))

    def _cfg_read(self, s: nodes.CfgRead) -> Step:
        device = self._use(s.device, NameKind.DEVICE)
        size = fields.options("cfg read", s.options, fields.CFG).get("size", 4)
        fields.u64(s.offset, f"{s.offset:#x}")
        expect = self._expect(s.check)
        return Call(s.file, s.line, "cfg_read", (device, s.offset, size), expect=expect)

    def _cfg_write(self, s: nodes.CfgWrite) -> Step:
        device = self._use(s.device, NameKind.DEVICE)
        size = fields.options("cfg write", s.options, fields.CFG).get("size", 4)
        fields.u64(s.offset, f"{s.offset:#x}")
        if size in _ACCESS_SIZES:  # any other size is the backend's `unaligned`, not a width
            fields.width(s.value, 8 * size, f"{s.value:#x}", f"{size}-byte register")
        else:
            fields.u64(s.value, f"{s.value:#x}")
        return Call(s.file, s.line, "cfg_write", (device, s.offset, s.value, size))

    def _msix_entry(self, s: nodes.MsixEntry) -> Step:
        device = self._use(s.device, NameKind.DEVICE)
        o = fields.options("msix entry", s.options, fields.MSIX_ENTRY)
        fields.u64(s.vector, str(s.vector))
        fields.width(o["data"], 32, f"{o['data']:#x}", "message data")
        return Call(s.file, s.line, "msix_entry", (device, s.vector, o["addr"], o["data"]))

    def _msix_vector(self, s: nodes.MsixVector) -> Step:
        device = self._use(s.device, NameKind.DEVICE)
        fields.u64(s.vector, str(s.vector))
        return Call(s.file, s.line, f"msix_{s.action}", (device, s.vector))

    def _msix_control(self, s: nodes.MsixControl) -> Step:
        device = self._use(s.device, NameKind.DEVICE)
        if s.action == "fmask":
            if s.state not in ("on", "off"):
                raise fields.fail(
                    ErrorId.SCENARIO_BAD_OPTION, f"fmask is on or off, not '{s.state}'"
                )
            return Call(s.file, s.line, "msix_fmask", (device, s.state == "on"))
        return Call(s.file, s.line, "msix_enable", (device, s.action == "enable"))

    def _irq(self, s: nodes.Irq) -> Step:
        device = self._use(s.device, NameKind.DEVICE)
        fields.u64(s.vector, str(s.vector))
        return Call(s.file, s.line, "irq", (device, s.vector))

    def _assert(self, s: nodes.Assert) -> Step:
        return Assertion(s.file, s.line, self._compile_expect(s.expr))

    _DISPATCH: ClassVar[dict[type, Callable[[Checker, Any], Step]]] = {
        nodes.ContainerDecl: _container,
        nodes.WindowDecl: _window,
        nodes.Attach: _attach,
        nodes.Map: _map,
        nodes.Unmap: _unmap,
        nodes.UnmapAll: _unmap_all,
        nodes.Alloc: _alloc,
        nodes.CfgRead: _cfg_read,
        nodes.CfgWrite: _cfg_write,
        nodes.MsixEntry: _msix_entry,
        nodes.MsixVector: _msix_vector,
        nodes.MsixControl: _msix_control,
        nodes.Irq: _irq,
        nodes.Assert: _assert,
    }

    # ---- expressions
    def _expect(self, expr: nodes.Expr | None) -> Expect | None:
        return None if expr is None else self._compile_expect(expr)

    def _compile_expect(self, expr: nodes.Expr) -> Expect:
        fn = self._compile(expr)
        if isinstance(expr, nodes.Compare) and len(expr.rest) == 1:
            op, right = expr.rest[0]
            return Expect(fn, expr, (self._compile(expr.first), op, self._compile(right)))
        return Expect(fn, expr)

    def _compile(self, expr: nodes.Expr, depth: int = 0) -> Compiled:
        # Chains of one precedence level and runs of prefix operators compile to loops (any
        # length); nesting in parentheses or call arguments recurses, so it is bounded.
        if depth > MAX_NESTING:
            raise fields.fail(
                ErrorId.SCENARIO_EVAL,
                f"expression nested too deeply (more than {MAX_NESTING} operators inside"
                " parentheses or call arguments); split it into several asserts",
            )
        depth += 1
        if isinstance(expr, nodes.IntLit):
            return evaluate.literal(fields.u64(expr.value, expr.text))
        if isinstance(expr, nodes.Ref):
            return self._ref(expr, depth)
        if isinstance(expr, nodes.Binary):
            if not nodes.continues_chain(expr):  # the common case: one operator
                left, right = self._compile(expr.left, depth), self._compile(expr.right, depth)
                return evaluate.binary(expr.op, left, right)
            first, links = nodes.chain(expr)
            rest = [(op, self._compile(operand, depth)) for op, operand in links]
            return evaluate.binary_chain(self._compile(first, depth), rest)
        if isinstance(expr, nodes.Compare):
            compared = [(op, self._compile(operand, depth)) for op, operand in expr.rest]
            return evaluate.compare(self._compile(expr.first, depth), compared)
        if isinstance(expr, nodes.BoolOp):
            if not nodes.continues_chain(expr):
                left, right = self._compile(expr.left, depth), self._compile(expr.right, depth)
                return evaluate.bool_op(expr.op, left, right)
            first, links = nodes.chain(expr)
            operands = [first, *(operand for _, operand in links)]
            return evaluate.bool_chain(expr.op, [self._compile(e, depth) for e in operands])
        if isinstance(expr, nodes.Unary | nodes.Not):
            ops: list[str] = []
            operand: nodes.Expr = expr
            while isinstance(operand, nodes.Unary | nodes.Not):  # `- - ~x`, `not not x`: a loop
                ops.append(operand.op if isinstance(operand, nodes.Unary) else "not")
                operand = operand.operand
            return evaluate.prefix(ops, self._compile(operand, depth))
        raise TypeError(f"not an expression: {expr!r}")

    def _ref(self, ref: nodes.Ref, depth: int) -> Compiled:
        entry = self.names.get(ref.name)
        if entry is None:
            raise fields.fail(ErrorId.SCENARIO_UNKNOWN_NAME, f"unknown name '{ref.name}'")
        kind = entry[0]
        if not ref.attrs:
            raise fields.fail(
                ErrorId.SCENARIO_WRONG_KIND,
                f"'{ref.name}' is a {kind.value}, not a value; use one of its attributes",
            )
        path = ".".join(ref.attrs)
        method, takes_arg, index = self._attribute(kind, ref.attrs)
        if takes_arg and ref.arg is None:
            raise fields.fail(
                ErrorId.SCENARIO_WRONG_KIND, f"'{path}' needs an argument: {path}(...)"
            )
        if not takes_arg and ref.arg is not None:
            raise fields.fail(ErrorId.SCENARIO_WRONG_KIND, f"'{path}' is not a function")
        arg = None if ref.arg is None else self._compile(ref.arg, depth)
        return evaluate.query(method, ref.name, index, arg, ref)

    def _attribute(self, kind: NameKind, attrs: tuple[str, ...]) -> tuple[str, bool, int | None]:
        if kind is NameKind.CONTAINER:
            if len(attrs) == 1 and attrs[0] in _CONTAINER_ATTRS:
                method, takes_arg = _CONTAINER_ATTRS[attrs[0]]
                return method, takes_arg, None
            known = ", ".join(_CONTAINER_ATTRS)
        else:
            if len(attrs) == 2 and attrs[0] == "msix" and attrs[1] in _MSIX_ATTRS:
                method, takes_arg = _MSIX_ATTRS[attrs[1]]
                return method, takes_arg, None
            if len(attrs) == 2 and attrs[1] in _REGION_ATTRS:
                if attrs[0] in _BAR_NAMES:
                    return f"bar_{attrs[1]}", False, _BAR_NAMES[attrs[0]]
                if attrs[0] == "rom":
                    return f"rom_{attrs[1]}", False, None
            known = "barN.size, barN.gpa (N 0-5), rom.size, rom.gpa, msix." + ", msix.".join(
                _MSIX_ATTRS
            )
        raise fields.fail(
            ErrorId.SCENARIO_UNKNOWN_NAME,
            f"a {kind.value} has no attribute '{'.'.join(attrs)}' (it has: {known})",
        )


def _failure(node: nodes.Node, error: fields.CheckError) -> Failure:
    return Failure(Output(node.file, node.line, error.kind.value, error.message))
