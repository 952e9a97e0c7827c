"""The grammar and transformer: every statement form and every lexical form become typed nodes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.scenario import nodes, parse
from harness.scenario.nodes import (
    Alloc,
    Assert,
    Attach,
    BarMember,
    Binary,
    BoolOp,
    CfgRead,
    CfgWrite,
    Compare,
    ContainerDecl,
    DeviceDecl,
    IntLit,
    Irq,
    Location,
    Map,
    MsixControl,
    MsixEntry,
    MsixMember,
    MsixVector,
    Not,
    Option,
    Ref,
    RomMember,
    Unary,
    Unmap,
    UnmapAll,
    WindowDecl,
)
from harness.scenario.transform import int_value


def one(text: str) -> nodes.Statement:
    statements = parse(text, "g.vfio").statements
    assert len(statements) == 1
    return statements[0]


def expr(text: str) -> nodes.Expr:
    statement = one(f"assert {text}")
    assert isinstance(statement, Assert)
    return statement.expr


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
    assert statement == DeviceDecl("g.vfio", 1, 1, "d", bdf, ())


def test_statements_carry_file_line_and_column() -> None:
    program = parse("\n// c\n  container c0\nmap c0 iova=1 vaddr=2 size=3\n", "dir/x.vfio")
    first, second = program.statements
    assert (first.file, first.line, first.column) == ("dir/x.vfio", 3, 3)
    assert (second.file, second.line, second.column) == ("dir/x.vfio", 4, 1)


def test_every_declaration_form() -> None:
    text = (
        "container c1 mode=v1 pgsize=64K limit=16 reserved=none\n"
        "window mmio64 base=0x10000000000 size=1T\n"
        "device gpu0 0000:01:00.0 {\n"
        "    bar 0 mem64 prefetch 256M\n"
        "    bar 2 mem32 16M\n"
        "    bar 4 io 256\n"
        "    rom 512K\n"
        "    msix 64 table=2:0x0 pba=2:0x1000\n"
        "}\n"
        "attach gpu0 c1\n"
    )
    container, window, device, attach = parse(text, "f").statements
    assert container == ContainerDecl(
        "f",
        1,
        1,
        "c1",
        (
            Option("mode", "v1", "v1"),
            Option("pgsize", 64 << 10, "64K"),
            Option("limit", 16, "16"),
            Option("reserved", "none", "none"),
        ),
    )
    assert window == WindowDecl(
        "f",
        2,
        1,
        "mmio64",
        (Option("base", 1 << 40, "0x10000000000"), Option("size", 1 << 40, "1T")),
    )
    assert isinstance(device, DeviceDecl)
    assert device.members == (
        BarMember("f", 4, 5, 0, "mem64", True, 256 << 20),
        BarMember("f", 5, 5, 2, "mem32", False, 16 << 20),
        BarMember("f", 6, 5, 4, "io", False, 256),
        RomMember("f", 7, 5, 512 << 10),
        MsixMember(
            "f",
            8,
            5,
            64,
            (
                Option("table", Location(2, 0, "2:0x0"), "2:0x0"),
                Option("pba", Location(2, 0x1000, "2:0x1000"), "2:0x1000"),
            ),
        ),
    )
    assert [m.line for m in device.members] == [4, 5, 6, 7, 8]
    assert attach == Attach("f", 10, 1, "gpu0", "c1")


def test_every_operation_form() -> None:
    f = "g.vfio"
    two = IntLit(2 << 20, "2M")
    cases: list[tuple[str, nodes.Statement]] = [
        (
            "map c0 iova=0x100000 vaddr=0x7f0000100000 size=2M perm=r",
            Map(
                f,
                1,
                1,
                "c0",
                (
                    Option("iova", 0x100000, "0x100000"),
                    Option("vaddr", 0x7F0000100000, "0x7f0000100000"),
                    Option("size", 2 << 20, "2M"),
                    Option("perm", "r", "r"),
                ),
            ),
        ),
        (
            "unmap c0 iova=0x100000 size=2M == 2M",
            Unmap(
                f,
                1,
                1,
                "c0",
                (Option("iova", 0x100000, "0x100000"), Option("size", 2 << 20, "2M")),
                two,
            ),
        ),
        (
            "unmap c0 iova=0 size=4K",
            Unmap(f, 1, 1, "c0", (Option("iova", 0, "0"), Option("size", 4096, "4K")), None),
        ),
        ("unmap c0 all == 2M", UnmapAll(f, 1, 1, "c0", two)),
        ("unmap c0 all", UnmapAll(f, 1, 1, "c0", None)),
        ("alloc gpu0", Alloc(f, 1, 1, "gpu0")),
        ("cfg write gpu0 0x10 0xffffffff", CfgWrite(f, 1, 1, "gpu0", 0x10, 0xFFFFFFFF, ())),
        (
            "cfg write gpu0 0x10 1 size=1",
            CfgWrite(f, 1, 1, "gpu0", 0x10, 1, (Option("size", 1, "1"),)),
        ),
        (
            "cfg read gpu0 0x10 == 0xf000000c",
            CfgRead(f, 1, 1, "gpu0", 0x10, (), IntLit(0xF000000C, "0xf000000c")),
        ),
        (
            "cfg read gpu0 0x10 size=2",
            CfgRead(f, 1, 1, "gpu0", 0x10, (Option("size", 2, "2"),), None),
        ),
        (
            "msix entry gpu0 3 addr=0xfee00000 data=0x4041",
            MsixEntry(
                f,
                1,
                1,
                "gpu0",
                3,
                (Option("addr", 0xFEE00000, "0xfee00000"), Option("data", 0x4041, "0x4041")),
            ),
        ),
        ("msix unmask gpu0 3", MsixVector(f, 1, 1, "unmask", "gpu0", 3)),
        ("msix mask gpu0 3", MsixVector(f, 1, 1, "mask", "gpu0", 3)),
        ("msix enable gpu0", MsixControl(f, 1, 1, "enable", "gpu0", None)),
        ("msix disable gpu0", MsixControl(f, 1, 1, "disable", "gpu0", None)),
        ("msix fmask gpu0 on", MsixControl(f, 1, 1, "fmask", "gpu0", "on")),
        ("irq gpu0 3", Irq(f, 1, 1, "gpu0", 3)),
        (
            "assert c0.mappings == 1",
            Assert(f, 1, 1, Compare(Ref("c0", ("mappings",)), (("==", IntLit(1, "1")),))),
        ),
    ]
    for text, statement in cases:
        assert one(text) == statement, text


def test_keywords_are_reserved_only_where_the_grammar_expects_them() -> None:
    program = parse("device io 01:00.0 {\n}\nassert io.msix.vectors == io.rom.size\n")
    device, check = program.statements
    assert isinstance(device, DeviceDecl) and device.name == "io"
    assert isinstance(check, Assert)
    assert check.expr == Compare(
        Ref("io", ("msix", "vectors")), (("==", Ref("io", ("rom", "size"))),)
    )


def test_expressions_follow_python_precedence() -> None:
    one_, two_, three = IntLit(1, "1"), IntLit(2, "2"), IntLit(3, "3")
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
        "c0", ("mapped_at",), Binary("+", IntLit(16, "0x10"), one_)
    )


def test_comments_blank_lines_and_missing_final_newline_are_accepted() -> None:
    text = "// head\n\n   \ncontainer c0 // tail\n\t// indented\nalloc d"
    assert [s.line for s in parse(text).statements] == [4, 6]
    assert parse("").statements == ()
    assert parse("// only a comment").statements == ()
    assert [s.line for s in parse("container c0\r\nalloc d\r\n").statements] == [1, 2]


# ---- generated programs: render -> parse -> same AST (positions excluded from equality)

_names = st.sampled_from(["c0", "gpu0", "io", "msix", "x_1", "Dev"])
_ints = st.integers(min_value=0, max_value=(1 << 64) + 5)
_lits = st.one_of(
    _ints.map(lambda v: IntLit(v, str(v))),
    _ints.map(lambda v: IntLit(v, hex(v))),
    st.integers(0, 1023).map(lambda v: IntLit(v << 20, f"{v}M")),
)
_refs = st.builds(
    Ref,
    _names,
    st.sampled_from([("mappings",), ("bar0", "size"), ("msix", "masked"), ("rom", "gpa")]),
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


@given(_exprs)
def test_rendered_expressions_parse_back_to_the_same_tree(tree: nodes.Expr) -> None:
    assert expr(nodes.render_expr(tree)) == tree


_opts = st.lists(
    st.one_of(
        st.builds(lambda k, v: Option(k, v, hex(v)), _names, _ints),
        st.builds(lambda k, w: Option(k, w, w), _names, _names),
        st.builds(
            lambda k, b, o: Option(k, Location(b, o, f"{b}:{o:#x}"), f"{b}:{o:#x}"),
            _names,
            st.integers(0, 9),
            _ints,
        ),
    ),
    max_size=4,
).map(tuple)
_int_small = st.integers(0, 1 << 66)
_statements = st.one_of(
    st.builds(ContainerDecl, st.just("f"), st.just(1), st.just(1), _names, _opts),
    st.builds(
        WindowDecl,
        st.just("f"),
        st.just(1),
        st.just(1),
        st.sampled_from(["mmio32", "mmio64", "io"]),
        _opts,
    ),
    st.builds(Map, st.just("f"), st.just(1), st.just(1), _names, _opts),
    st.builds(Unmap, st.just("f"), st.just(1), st.just(1), _names, _opts, st.none() | _exprs),
    st.builds(UnmapAll, st.just("f"), st.just(1), st.just(1), _names, st.none() | _exprs),
    st.builds(Alloc, st.just("f"), st.just(1), st.just(1), _names),
    st.builds(Attach, st.just("f"), st.just(1), st.just(1), _names, _names),
    st.builds(
        CfgRead, st.just("f"), st.just(1), st.just(1), _names, _int_small, _opts, st.none() | _exprs
    ),
    st.builds(
        CfgWrite, st.just("f"), st.just(1), st.just(1), _names, _int_small, _int_small, _opts
    ),
    st.builds(MsixEntry, st.just("f"), st.just(1), st.just(1), _names, _int_small, _opts),
    st.builds(
        MsixVector,
        st.just("f"),
        st.just(1),
        st.just(1),
        st.sampled_from(["mask", "unmask"]),
        _names,
        _int_small,
    ),
    st.builds(
        MsixControl,
        st.just("f"),
        st.just(1),
        st.just(1),
        st.sampled_from(["enable", "disable"]),
        _names,
        st.none(),
    ),
    st.builds(MsixControl, st.just("f"), st.just(1), st.just(1), st.just("fmask"), _names, _names),
    st.builds(Irq, st.just("f"), st.just(1), st.just(1), _names, _int_small),
    st.builds(Assert, st.just("f"), st.just(1), st.just(1), _exprs),
    st.builds(
        DeviceDecl,
        st.just("f"),
        st.just(1),
        st.just(1),
        _names,
        st.sampled_from(["0000:01:00.0", "01:00.0", "bad:bdf"]),
        st.lists(
            st.one_of(
                st.builds(
                    BarMember,
                    st.just("f"),
                    st.just(1),
                    st.just(1),
                    _int_small,
                    st.sampled_from(["mem32", "mem64", "io"]),
                    st.booleans(),
                    _int_small,
                ),
                st.builds(RomMember, st.just("f"), st.just(1), st.just(1), _int_small),
                st.builds(MsixMember, st.just("f"), st.just(1), st.just(1), _int_small, _opts),
            ),
            max_size=4,
        ).map(tuple),
    ),
)


@given(st.lists(_statements, max_size=8).map(tuple))
def test_rendered_programs_parse_back_to_the_same_statements(
    statements: tuple[nodes.Statement, ...],
) -> None:
    assert parse(nodes.render_program(statements)).statements == statements
