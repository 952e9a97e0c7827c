"""Writing the AST back as scenario text: the inverse of parsing (up to spacing and comments).

Used for messages (an expression as written, shortened by `quote`), and by tests that render
random programs and parse them again. An expression is rendered with only the parentheses its
structure needs; chains of one precedence level (`a + b - c`) and runs of prefix operators
(`- - x`) are rendered in loops, so only nesting costs recursion (one frame per level, and the
parser bounds nesting).
"""

from __future__ import annotations

from harness.scenario import nodes

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
QUOTE_LIMIT = 200  # characters of an expression quoted in a message


def strength(expr: nodes.Expr) -> int:
    """How tightly the expression's outermost operator binds (an atom binds tightest)."""
    if isinstance(expr, nodes.Binary | nodes.BoolOp):
        return _PRECEDENCE[expr.op]
    if isinstance(expr, nodes.Not):
        return _PRECEDENCE["not"]
    if isinstance(expr, nodes.Compare):
        return _PRECEDENCE["cmp"]
    if isinstance(expr, nodes.Unary):
        return _PRECEDENCE["unary"]
    return _PRECEDENCE["atom"]


def chain(expr: nodes.Binary | nodes.BoolOp) -> tuple[nodes.Expr, list[tuple[str, nodes.Expr]]]:
    """A left-associative chain flattened: `a + b - c` is (a, [("+", b), ("-", c)]).

    Iterative, so that a flat expression of any length (as long as one line) never recurses
    once per operator: links are the operators of one precedence level (one `and`/`or`).
    """
    level = strength(expr)
    links: list[tuple[str, nodes.Expr]] = []
    node: nodes.Expr = expr
    while isinstance(node, nodes.Binary | nodes.BoolOp) and strength(node) == level:
        links.append((node.op, node.right))
        node = node.left
    links.reverse()
    return node, links


def expression(expr: nodes.Expr) -> str:
    """The expression as source text, with only the parentheses its structure needs."""
    if isinstance(expr, nodes.IntLit):
        return expr.text
    if isinstance(expr, nodes.Ref):
        path = ".".join((expr.name, *expr.attrs))
        return path if expr.arg is None else f"{path}({expression(expr.arg)})"
    if isinstance(expr, nodes.Unary | nodes.Not):
        # `not` binds looser than `-`: a run is `not`s, then `- + ~`; `-(not x)` needs ().
        text = []
        node: nodes.Expr = expr
        while isinstance(node, nodes.Not):
            text.append("not ")
            node = node.operand
        while isinstance(node, nodes.Unary):
            text.append(node.op)
            node = node.operand
        needed = _PRECEDENCE["not"] if text[-1] == "not " else _PRECEDENCE["unary"]
        return "".join(text) + _wrapped(node, needed)
    if isinstance(expr, nodes.Binary | nodes.BoolOp):
        level = strength(expr)
        first, links = chain(expr)
        parts = [_wrapped(first, level)]
        for op, operand in links:  # left-associative: a right operand of equal strength needs ()
            parts += [op, _wrapped(operand, level + 1)]
        return " ".join(parts)
    if isinstance(expr, nodes.Compare):
        level = _PRECEDENCE["cmp"] + 1
        parts = [_wrapped(expr.first, level)]
        for op, operand in expr.rest:
            parts += [op, _wrapped(operand, level)]
        return " ".join(parts)
    raise TypeError(f"not an expression: {expr!r}")


def _wrapped(expr: nodes.Expr, minimum: int) -> str:
    text = expression(expr)
    return f"({text})" if strength(expr) < minimum else text


def quote(expr: nodes.Expr) -> str:
    """The expression for a message: as written, cut after `QUOTE_LIMIT` characters."""
    text = expression(expr)
    return text if len(text) <= QUOTE_LIMIT else text[:QUOTE_LIMIT] + " …"


def integer(expr: nodes.Expr) -> str:
    """An expression where a statement takes an integer: in parentheses unless it is atomic."""
    text = expression(expr)
    simple = isinstance(expr, nodes.IntLit) or (isinstance(expr, nodes.Ref) and not expr.attrs)
    return text if simple else f"({text})"


def _options(options: tuple[nodes.Written, ...]) -> str:
    parts = []
    for option in options:
        if isinstance(option, str):
            parts.append(f" {option}")
        else:
            parts.append(f" {option.key}=({expression(option.value)})")
    return "".join(parts)


def _check(check: nodes.Expr | None) -> str:
    return "" if check is None else f" == {expression(check)}"


def member(m: nodes.DeviceMember) -> str:
    """A device member as one line of source text (without indentation)."""
    if isinstance(m, nodes.BarMember):
        prefetch = " prefetch" if m.prefetch else ""
        return f"bar {integer(m.index)} {m.kind}{prefetch} {integer(m.size)}"
    if isinstance(m, nodes.RomMember):
        return f"rom {integer(m.size)}"
    return f"msix {integer(m.vectors)}{_options(m.options)}"


def statement(s: nodes.Statement, indent: str = "") -> str:
    """A statement as source text (a device or a `for` spans several lines), no final newline."""
    match s:
        case nodes.ContainerDecl(name=name, options=options):
            text = f"container {name}{_options(options)}"
        case nodes.WindowDecl(kind=kind, options=options):
            text = f"window {kind}{_options(options)}"
        case nodes.DeviceDecl(name=name, bdf=bdf, members=members):
            body = "".join(f"{indent}    {member(m)}\n" for m in members)
            text = f"device {name} {bdf} {{\n{body}{indent}}}"
        case nodes.LetDecl(name=name, expr=expr):
            text = f"let {name} = {expression(expr)}"
        case nodes.Attach(device=device, container=container):
            text = f"attach {device} {container}"
        case nodes.Map(container=container, options=options):
            text = f"map {container}{_options(options)}"
        case nodes.Unmap(container=container, options=options, check=check):
            text = f"unmap {container}{_options(options)}{_check(check)}"
        case nodes.UnmapAll(container=container, options=options, check=check):
            text = f"unmap {container} all{_options(options)}{_check(check)}"
        case nodes.Alloc(device=device):
            text = f"alloc {device}"
        case nodes.CfgRead(device=d, offset=offset, options=options, check=check):
            text = f"cfg read {d} {integer(offset)}{_options(options)}{_check(check)}"
        case nodes.CfgWrite(device=d, offset=offset, value=value, options=options):
            text = f"cfg write {d} {integer(offset)} {integer(value)}{_options(options)}"
        case nodes.MmioRead(device=d, bar=bar, offset=offset, options=options, check=check):
            where = f"{bar.text} {integer(offset)}"
            text = f"mmio read {d} {where}{_options(options)}{_check(check)}"
        case nodes.MmioWrite(device=d, bar=bar, offset=offset, value=value, options=options):
            where = f"{bar.text} {integer(offset)} {integer(value)}"
            text = f"mmio write {d} {where}{_options(options)}"
        case nodes.MsixEntry(device=device, vector=vector, options=options):
            text = f"msix entry {device} {integer(vector)}{_options(options)}"
        case nodes.MsixVector(action=action, device=device, vector=vector):
            text = f"msix {action} {device} {integer(vector)}"
        case nodes.MsixControl(action=action, device=device, state=state):
            text = f"msix {action} {device}" + ("" if state is None else f" {state}")
        case nodes.Irq(device=device, vector=vector):
            text = f"irq {device} {integer(vector)}"
        case nodes.Reset(device=device):
            text = f"reset {device}"
        case nodes.Assert(expr=expr):
            text = f"assert {expression(expr)}"
        case nodes.For(name=name, first=first, last=last, body=body):
            inner = "".join(f"{indent}    {statement(b, indent + '    ')}\n" for b in body)
            bounds = f"{expression(first)}..{expression(last)}"
            text = f"for {name} in {bounds} {{\n{inner}{indent}}}"
        case _:
            raise TypeError(f"not a statement: {s!r}")
    return text


def program(statements: tuple[nodes.Statement, ...] | list[nodes.Statement]) -> str:
    """Statements as a scenario file's text, one per line."""
    return "".join(f"{statement(s)}\n" for s in statements)
