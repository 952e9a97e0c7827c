"""Well-formed scenario programs, as Hypothesis strategies (the language v2 included: `let`,
`for`, `mmio`, `reset`, `aw=`, `unmap ... all`).

Programs are built as syntax trees (`harness.scenario.nodes`) and written out by the printer,
so every one parses; they refer to names that are declared and to some that are not, and use
values in and out of every range, so that their runs meet the checker's and the model's errors.
"""

from __future__ import annotations

from fuzz_inputs import MutatedScenario
from hypothesis import strategies as st

from harness.scenario import nodes, printer

# Declared names of each kind, and some that are not declared at all.
CONTAINERS, DEVICES, INTEGERS = ("c0", "c1"), ("d0", "d1"), ("n", "big")
HEADER = (
    "container c0\ncontainer c1 mode=v1 pgsize=64K limit=4 aw=39\n"
    "device d0 01:00.0 {\n    bar 0 mem64 prefetch 1M\n    bar 2 io 256\n    rom 4K\n"
    "    msix 8 table=0:0x1000 pba=0:0x2000\n}\n"
    "device d1 02:00.0 {\n    bar 1 mem32 64K\n}\n"
    "let n = 3\nlet big = 1 << 70\nattach d0 c0\ncfg write d0 4 7 size=2\n"
)

_anything = st.sampled_from([*CONTAINERS, *DEVICES, *INTEGERS, "v", "nope"])
_small = st.one_of(
    st.integers(0, 70).map(lambda v: nodes.IntLit(v, str(v))),
    st.integers(0, (1 << 64) + 1).map(lambda v: nodes.IntLit(v, hex(v))),
    st.sampled_from([nodes.IntLit(4096, "4K"), nodes.IntLit(1 << 21, "2M")]),
)
_attrs = st.sampled_from(
    [
        ("mappings",),
        ("mapped",),
        ("avail",),
        ("command",),
        ("bar0", "size"),
        ("bar2", "gpa"),
        ("rom", "gpa"),
        ("msix", "vectors"),
        ("msix", "enabled"),
        ("msix", "configured"),
    ]
)
_call_attrs = st.sampled_from(
    [("mapped_at",), ("translate",), ("msix", "masked"), ("msix", "last_data"), ("msix", "pending")]
)


def _extend(children: st.SearchStrategy[nodes.Expr]) -> st.SearchStrategy[nodes.Expr]:
    return st.one_of(
        st.builds(
            nodes.Binary,
            st.sampled_from(["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>"]),
            children,
            children,
        ),
        st.builds(nodes.Unary, st.sampled_from(["-", "+", "~"]), children),
        st.builds(nodes.Not, children),
        st.builds(nodes.BoolOp, st.sampled_from(["and", "or"]), children, children),
        st.builds(
            nodes.Compare,
            children,
            st.lists(
                st.tuples(st.sampled_from(["==", "!=", "<", ">="]), children),
                min_size=1,
                max_size=2,
            ).map(tuple),
        ),
        st.builds(nodes.Ref, _anything, _call_attrs, children),
    )


_leaves = st.one_of(
    _small,
    st.builds(nodes.Ref, _anything),
    st.builds(nodes.Ref, _anything, _attrs),
)
_exprs = st.recursive(_leaves, _extend, max_leaves=8)


def _option(key: str) -> st.SearchStrategy[nodes.Written]:
    written = st.one_of(
        _small.map(lambda lit: lit.text), st.sampled_from([*INTEGERS, "v", "nope", "rw"])
    )
    return st.one_of(
        st.builds(nodes.Option, st.just(key), _exprs), written.map(lambda w: f"{key}={w}")
    )


_map_options = st.lists(
    st.one_of(
        _option("iova"),
        _option("vaddr"),
        _option("size"),
        st.builds(lambda w: f"perm={w}", st.sampled_from(["rw", "r", "x", "1"])),
    ),
    min_size=2,
    max_size=4,
).map(tuple)
_sizes = st.lists(_option("size"), max_size=1).map(tuple)
_bars = st.integers(0, 6).map(lambda n: nodes.BarName(n, f"bar{n}"))
_device = st.sampled_from([*DEVICES, "nope"])
_container = st.sampled_from([*CONTAINERS, "nope"])
_checks = st.none() | _exprs
_operations = st.one_of(
    st.builds(nodes.Map, st.just(1), _container, _map_options),
    st.builds(
        nodes.Unmap,
        st.just(1),
        _container,
        st.tuples(_option("iova"), _option("size")),
        _checks,
    ),
    st.builds(nodes.UnmapAll, st.just(1), _container, _sizes, _checks),
    st.builds(nodes.Alloc, st.just(1), _device),
    st.builds(nodes.Attach, st.just(1), _device, _container),
    st.builds(nodes.CfgRead, st.just(1), _device, _exprs, _sizes, _checks),
    st.builds(nodes.CfgWrite, st.just(1), _device, _exprs, _exprs, _sizes),
    st.builds(nodes.MmioRead, st.just(1), _device, _bars, _exprs, _sizes, _checks),
    st.builds(nodes.MmioWrite, st.just(1), _device, _bars, _exprs, _exprs, _sizes),
    st.builds(
        nodes.MsixEntry,
        st.just(1),
        _device,
        _exprs,
        st.tuples(_option("addr"), _option("data")),
    ),
    st.builds(nodes.MsixVector, st.just(1), st.sampled_from(["mask", "unmask"]), _device, _exprs),
    st.builds(
        nodes.MsixControl, st.just(1), st.sampled_from(["enable", "disable"]), _device, st.none()
    ),
    st.builds(
        nodes.MsixControl, st.just(1), st.just("fmask"), _device, st.sampled_from(["on", "off"])
    ),
    st.builds(nodes.Irq, st.just(1), _device, _exprs),
    st.builds(nodes.Reset, st.just(1), _device),
    st.builds(nodes.Assert, st.just(1), _exprs),
)
_bounds = st.integers(-2, 6).map(
    lambda v: nodes.IntLit(v, str(v)) if v >= 0 else nodes.Unary("-", nodes.IntLit(-v, str(-v)))
)
_statements = st.recursive(
    _operations,
    lambda inner: st.builds(
        nodes.For,
        st.just(1),
        st.sampled_from(["v", "n", "w"]),
        _bounds,
        _bounds,
        st.lists(inner, min_size=1, max_size=3).map(tuple),
    ),
    max_leaves=8,
)
_lets = st.builds(nodes.LetDecl, st.just(1), st.sampled_from(["n", "w", "fresh"]), _exprs)


def statement_lists() -> st.SearchStrategy[list[nodes.Statement]]:
    """Statements and `let`s to follow the header (a `let` only at the top level: a
    declaration in a body is a syntax error)."""
    return st.lists(st.one_of(_statements, _lets), min_size=1, max_size=10)


def program_texts() -> st.SearchStrategy[str]:
    """The text of a well-formed program: the header's declarations, then statements."""
    return statement_lists().map(lambda s: HEADER + printer.program(s))


def programs() -> st.SearchStrategy[MutatedScenario]:
    """A well-formed program as a one-file scenario."""
    return program_texts().map(
        lambda text: MutatedScenario("p", (("p.vfio", text.encode()),), ("generated",))
    )
