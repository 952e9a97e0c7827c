"""The grammar and transformer: every statement form and every lexical form become typed nodes,
and a program written back to text parses to the same nodes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.literals import int_value
from harness.scenario import nodes, parse, printer, program
from harness.scenario.nodes import (
    Alloc,
    Assert,
    Attach,
    BarMember,
    BarName,
    Binary,
    BoolOp,
    CfgRead,
    CfgWrite,
    Compare,
    ContainerDecl,
    DeviceDecl,
    For,
    IntLit,
    Irq,
    LetDecl,
    Map,
    MmioRead,
    MmioWrite,
    MsixControl,
    MsixEntry,
    MsixMember,
    MsixVector,
    Not,
    Option,
    Ref,
    Reset,
    RomMember,
    Unary,
    Unmap,
    UnmapAll,
    WindowDecl,
)

GRAMMAR = Path(__file__).resolve().parents[2] / "harness" / "scenario" / "scenario.lark"


def one(text: str) -> nodes.Statement:
    statements = list(parse(text, "g.vfio"))
    assert len(statements) == 1
    return statements[0]


def expr(text: str) -> nodes.Expr:
    statement = one(f"assert {text}")
    assert isinstance(statement, Assert)
    return statement.expr


def lit(text: str) -> IntLit:
    return IntLit(int_value(text), text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("4096", 4096),
        ("0x1000", 0x1000),
        ("0X1000", 0x1000),
        ("0xAbCd", 0xABCD),
        ("0b101", 5),
        ("0B101", 5),
        ("0x7f00_0000_0000", 0x7F00_0000_0000),
        ("1_000", 1000),
        ("0b1010_1010", 0xAA),
        ("4K", 4096),
        ("2M", 2 << 20),
        ("256M", 256 << 20),
        ("3G", 3 << 30),
        ("1T", 1 << 40),
        ("1_0K", 10 << 10),
        ("007", 7),
        ("18446744073709551616", 1 << 64),
    ],
)
def test_integer_literals_have_their_value_and_text(text: str, value: int) -> None:
    assert int_value(text) == value
    assert expr(text) == IntLit(value, text)


@pytest.mark.parametrize("bdf", ["0000:01:00.0", "01:00.0", "ABCD:EF:1f.7", "0:0:0.0", "zz:00.0"])
def test_bdf_text_is_kept_as_written_for_the_backend(bdf: str) -> None:
    statement = one(f"device d {bdf} {{\n}}")
    assert statement == DeviceDecl(1, "d", bdf, ())


def test_statements_carry_their_first_line() -> None:
    program = parse("\n// c\n  container c0\nmap c0 iova=1 vaddr=2 size=3\n", "dir/x.vfio")
    assert [s.line for s in program] == [3, 4]
    assert program.file == "dir/x.vfio"


def test_every_declaration_form() -> None:
    text = (
        "container c1 mode=v1 pgsize=64K limit=16 reserved=none aw=39\n"
        "window mmio64 base=0x10000000000 size=1T\n"
        "device gpu0 0000:01:00.0 {\n"
        "    bar 0 mem64 prefetch 256M\n"
        "    bar 2 mem32 16M\n"
        "    bar 4 io 256\n"
        "    rom 512K\n"
        "    msix 64 table=2:0x0 pba=2:0x1000\n"
        "}\n"
        "let ram = 3G\n"
        "attach gpu0 c1\n"
    )
    container, window, device, let, attach = parse(text, "f")
    assert container == ContainerDecl(
        1,
        "c1",
        (
            "mode=v1",
            "pgsize=64K",
            "limit=16",
            "reserved=none",
            "aw=39",
        ),
    )
    assert window == WindowDecl(2, "mmio64", ("base=0x10000000000", "size=1T"))
    assert isinstance(device, DeviceDecl)
    assert device.members == (
        BarMember(4, lit("0"), "mem64", True, lit("256M")),
        BarMember(5, lit("2"), "mem32", False, lit("16M")),
        BarMember(6, lit("4"), "io", False, lit("256")),
        RomMember(7, lit("512K")),
        MsixMember(
            8,
            lit("64"),
            (
                "table=2:0x0",
                "pba=2:0x1000",
            ),
        ),
    )
    assert [m.line for m in device.members] == [4, 5, 6, 7, 8]
    assert let == LetDecl(10, "ram", lit("3G"))
    assert attach == Attach(11, "gpu0", "c1")


def test_every_operation_form() -> None:
    two = lit("2M")
    cases: list[tuple[str, nodes.Statement]] = [
        (
            "map c0 iova=0x100000 vaddr=0x7f0000100000 size=2M perm=r",
            Map(
                1,
                "c0",
                (
                    "iova=0x100000",
                    "vaddr=0x7f0000100000",
                    "size=2M",
                    "perm=r",
                ),
            ),
        ),
        (
            "unmap c0 iova=0x100000 size=2M == 2M",
            Unmap(1, "c0", ("iova=0x100000", "size=2M"), two),
        ),
        ("unmap c0 all == 2M", UnmapAll(1, "c0", (), two)),
        ("unmap c0 all", UnmapAll(1, "c0", (), None)),
        (
            "unmap c0 all iova=0 size=(1 + 1) == 0",
            UnmapAll(
                1,
                "c0",
                ("iova=0", Option("size", Binary("+", lit("1"), lit("1")))),
                lit("0"),
            ),
        ),
        ("alloc gpu0", Alloc(1, "gpu0")),
        ("cfg write gpu0 0x10 0xffffffff", CfgWrite(1, "gpu0", lit("0x10"), lit("0xffffffff"), ())),
        (
            "cfg write gpu0 0x10 1 size=1",
            CfgWrite(1, "gpu0", lit("0x10"), lit("1"), ("size=1",)),
        ),
        (
            "cfg read gpu0 0x10 == 0xf000000c",
            CfgRead(1, "gpu0", lit("0x10"), (), lit("0xf000000c")),
        ),
        (
            "cfg read gpu0 off size=2",
            CfgRead(1, "gpu0", Ref("off"), ("size=2",), None),
        ),
        (
            "mmio write gpu0 bar0 0xb90000 0xfee00000",
            MmioWrite(1, "gpu0", BarName(0, "bar0"), lit("0xb90000"), lit("0xfee00000"), ()),
        ),
        (
            "mmio read gpu0 bar2 (base + 8) size=8 == 0x1",
            MmioRead(
                1,
                "gpu0",
                BarName(2, "bar2"),
                Binary("+", Ref("base"), lit("8")),
                ("size=8",),
                lit("0x1"),
            ),
        ),
        (
            "msix entry gpu0 v addr=0xfee00000 data=(0x4040 + v)",
            MsixEntry(
                1,
                "gpu0",
                Ref("v"),
                (
                    "addr=0xfee00000",
                    Option("data", Binary("+", lit("0x4040"), Ref("v"))),
                ),
            ),
        ),
        ("msix unmask gpu0 3", MsixVector(1, "unmask", "gpu0", lit("3"))),
        ("msix mask gpu0 3", MsixVector(1, "mask", "gpu0", lit("3"))),
        ("msix enable gpu0", MsixControl(1, "enable", "gpu0", None)),
        ("msix disable gpu0", MsixControl(1, "disable", "gpu0", None)),
        ("msix fmask gpu0 on", MsixControl(1, "fmask", "gpu0", "on")),
        ("irq gpu0 (1 << 2)", Irq(1, "gpu0", Binary("<<", lit("1"), lit("2")))),
        ("reset gpu0", Reset(1, "gpu0")),
        (
            "assert c0.mappings == 1",
            Assert(1, Compare(Ref("c0", ("mappings",)), (("==", lit("1")),))),
        ),
    ]
    for text, statement in cases:
        assert one(text) == statement, text


def test_for_holds_its_body_and_nests() -> None:
    text = (
        "for v in 0..n - 1 {\n"
        "    msix unmask gpu0 v\n"
        "    for w in v..v {\n"
        "        irq gpu0 w\n"
        "    }\n"
        "}\n"
    )
    loop = one(text)
    assert loop == For(
        1,
        "v",
        lit("0"),
        Binary("-", Ref("n"), lit("1")),
        (
            MsixVector(2, "unmask", "gpu0", Ref("v")),
            For(3, "w", Ref("v"), Ref("v"), (Irq(4, "gpu0", Ref("w")),)),
        ),
    )
    assert isinstance(loop, For)
    assert nodes.lines_of(loop.body) == [2, 3, 4]


def test_keywords_are_reserved_only_where_the_grammar_expects_them() -> None:
    program = parse("device io 01:00.0 {\n}\nassert io.msix.vectors == io.rom.size\nlet in = 1\n")
    device, check, let = program
    assert isinstance(device, DeviceDecl) and device.name == "io"
    assert isinstance(check, Assert)
    assert check.expr == Compare(
        Ref("io", ("msix", "vectors")), (("==", Ref("io", ("rom", "size"))),)
    )
    assert let == LetDecl(4, "in", lit("1"))


def test_expressions_follow_python_precedence() -> None:
    one_, two_, three = lit("1"), lit("2"), lit("3")
    assert expr("1 + 2 * 3") == Binary("+", one_, Binary("*", two_, three))
    assert expr("1 - 2 - 3") == Binary("-", Binary("-", one_, two_), three)
    assert expr("1 << 2 + 3") == Binary("<<", one_, Binary("+", two_, three))
    assert expr("1 | 2 ^ 3 & 1") == Binary("|", one_, Binary("^", two_, Binary("&", three, one_)))
    assert expr("-1 * ~2") == Binary("*", Unary("-", one_), Unary("~", two_))
    assert expr("not 1 == 2 and 3 or 1") == BoolOp(
        "or", BoolOp("and", Not(Compare(one_, (("==", two_),))), three), one_
    )
    assert expr("1 < 2 <= 3") == Compare(one_, (("<", two_), ("<=", three)))
    assert expr("(1 + 2) * 3") == Binary("*", Binary("+", one_, two_), three)
    assert expr("1 >> 2 >= 3") == Compare(Binary(">>", one_, two_), ((">=", three),))
    assert expr("c0.mapped_at(0x10 + 1)") == Ref(
        "c0", ("mapped_at",), Binary("+", lit("0x10"), one_)
    )


def test_comments_blank_lines_and_missing_final_newline_are_accepted() -> None:
    text = "// head\n\n   \ncontainer c0 // tail\n\t// indented\nalloc d"
    assert [s.line for s in parse(text)] == [4, 6]
    assert list(parse("")) == [] and parse("").empty
    assert list(parse("// only a comment")) == []
    assert [s.line for s in parse("container c0\r\nalloc d\r\n")] == [1, 2]


def test_top_level_and_loop_bodies_list_the_same_operations() -> None:
    # `body` lists every statement itself (one reduction less per line); `_operation` is what
    # a `for` body takes: the two lists must differ exactly by the declarations.
    grammar = GRAMMAR.read_text(encoding="utf-8")
    body = re.search(r"^body:\n\s*\|\s*body \((.*?)\) _NL", grammar, re.S | re.M)
    operation = re.search(r"^_operation: (.*?)\n\w", grammar, re.S | re.M)
    assert body is not None and operation is not None
    top = {name.strip() for name in body.group(1).split("|")}
    loop = {name.strip() for name in operation.group(1).split("|")}
    assert top - loop == {"container_decl", "window_decl", "device_decl", "let_decl"}
    assert loop <= top


# ---- generated programs: print -> parse -> same AST (positions excluded from equality)

# Keywords are names wherever the grammar takes a name (`not`, `and`, `or` are operators in
# expressions and `prefetch` may follow a BAR kind, so those four are left out).
_names = st.sampled_from(
    [
        *("c0", "gpu0", "x_1", "Dev", "io", "msix", "all", "read", "entry", "map", "in"),
        *("mem32", "rom", "bar", "reset", "for", "let", "container", "device", "size", "bar0"),
        "notes",
    ]
)
_ints = st.integers(min_value=0, max_value=(1 << 64) + 5)
_lits = st.one_of(
    _ints.map(lambda v: IntLit(v, str(v))),
    _ints.map(lambda v: IntLit(v, hex(v))),
    st.integers(0, 1023).map(lambda v: IntLit(v << 20, f"{v}M")),
)
_refs = st.builds(
    Ref,
    _names,
    st.sampled_from([(), ("mappings",), ("bar0", "size"), ("msix", "masked"), ("rom", "gpa")]),
    st.none(),
)


def _extend(children: st.SearchStrategy[nodes.Expr]) -> st.SearchStrategy[nodes.Expr]:
    return st.one_of(
        st.builds(
            Binary,
            st.sampled_from(["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>"]),
            children,
            children,
        ),
        st.builds(Unary, st.sampled_from(["-", "+", "~"]), children),
        st.builds(Not, children),
        st.builds(BoolOp, st.sampled_from(["and", "or"]), children, children),
        st.builds(
            Compare,
            children,
            st.lists(
                st.tuples(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), children),
                min_size=1,
                max_size=3,
            ).map(tuple),
        ),
        st.builds(Ref, _names, st.just(("mapped_at",)), children),
    )


_exprs = st.recursive(st.one_of(_lits, _refs), _extend, max_leaves=12)
_integers = st.one_of(_lits, st.builds(Ref, _names), _exprs)  # where a statement takes one


@given(_exprs)
def test_printed_expressions_parse_back_to_the_same_tree(tree: nodes.Expr) -> None:
    assert expr(printer.expression(tree)) == tree


# An option is kept as written (`key=value`, its value a number, a word or name, BAR:OFFSET)
# or, written `key=(EXPR)`, as an Option with the expression.
_opts = st.lists(
    st.one_of(
        st.builds(lambda k, lit: f"{k}={lit.text}", _names, _lits),
        st.builds(lambda k, w: f"{k}={w}", _names, _names),
        st.builds(Option, _names, _exprs),
        st.builds(lambda k, b, o: f"{k}={b}:{o:#x}", _names, st.integers(0, 9), _ints),
    ),
    max_size=4,
).map(tuple)
_bars = st.integers(0, 99).map(lambda n: BarName(n, f"bar{n}"))
_checks = st.none() | _exprs
_operations = st.one_of(
    st.builds(Map, st.just(1), _names, _opts),
    st.builds(Unmap, st.just(1), _names, _opts, _checks),
    st.builds(UnmapAll, st.just(1), _names, _opts, _checks),
    st.builds(Alloc, st.just(1), _names),
    st.builds(Attach, st.just(1), _names, _names),
    st.builds(CfgRead, st.just(1), _names, _integers, _opts, _checks),
    st.builds(CfgWrite, st.just(1), _names, _integers, _integers, _opts),
    st.builds(MmioRead, st.just(1), _names, _bars, _integers, _opts, _checks),
    st.builds(MmioWrite, st.just(1), _names, _bars, _integers, _integers, _opts),
    st.builds(MsixEntry, st.just(1), _names, _integers, _opts),
    st.builds(MsixVector, st.just(1), st.sampled_from(["mask", "unmask"]), _names, _integers),
    st.builds(MsixControl, st.just(1), st.sampled_from(["enable", "disable"]), _names, st.none()),
    st.builds(MsixControl, st.just(1), st.just("fmask"), _names, _names),
    st.builds(Irq, st.just(1), _names, _integers),
    st.builds(Reset, st.just(1), _names),
    st.builds(Assert, st.just(1), _exprs),
)
_bodies = st.recursive(
    _operations,
    lambda inner: st.builds(
        For, st.just(1), _names, _exprs, _exprs, st.lists(inner, max_size=3).map(tuple)
    ),
    max_leaves=6,
)
_statements = st.one_of(
    _bodies,
    st.builds(ContainerDecl, st.just(1), _names, _opts),
    st.builds(WindowDecl, st.just(1), st.sampled_from(["mmio32", "mmio64", "io"]), _opts),
    st.builds(LetDecl, st.just(1), _names, _exprs),
    st.builds(
        DeviceDecl,
        st.just(1),
        _names,
        st.sampled_from(["0000:01:00.0", "01:00.0", "bad:bdf"]),
        st.lists(
            st.one_of(
                st.builds(
                    BarMember,
                    st.just(1),
                    _integers,
                    st.sampled_from(["mem32", "mem64", "io"]),
                    st.booleans(),
                    _integers,
                ),
                st.builds(RomMember, st.just(1), _integers),
                st.builds(MsixMember, st.just(1), _integers, _opts),
            ),
            max_size=4,
        ).map(tuple),
    ),
)


@given(st.lists(_statements, max_size=8))
def test_printed_programs_parse_back_to_the_same_statements(
    statements: list[nodes.Statement],
) -> None:
    assert list(parse(printer.program(statements))) == statements


@given(st.lists(_statements, min_size=1, max_size=8))
def test_statements_packed_in_chunks_come_back_the_same(
    statements: list[nodes.Statement],
) -> None:
    text = printer.program(statements)
    whole = list(parse(text))
    original = program.CHUNK
    program.CHUNK = 1  # every statement but the last is packed
    try:
        packed = parse(text)
        assert packed.long == (len(statements) > 1)
        again = list(packed)
    finally:
        program.CHUNK = original
    assert again == whole
    assert [s.line for s in again] == [s.line for s in whole]
