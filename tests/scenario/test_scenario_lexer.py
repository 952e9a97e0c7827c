"""The speed-shaped lexer gives the parser the same tokens as lark's contextual lexer."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lark import Lark, Tree
from lark.exceptions import UnexpectedInput

from harness.scenario import parse
from harness.scenario.lexer import ScenarioLexer
from harness.scenario.nodes import Assert, BarMember, Binary, Compare, DeviceDecl, IntLit, Ref
from harness.scenario.syntax import GRAMMAR

CORPUS = sorted((Path(__file__).resolve().parents[2] / "scenarios").rglob("*.vfio"))


@cache
def parsers() -> tuple[Lark, Lark]:
    grammar = GRAMMAR.read_text(encoding="utf-8")
    return (
        Lark(grammar, parser="lalr", lexer="contextual"),
        Lark(grammar, parser="lalr", lexer=ScenarioLexer),
    )


def trees(text: str) -> tuple[Tree[object] | str, Tree[object] | str]:
    """Both parse trees of `text`, or the kind and line of each one's error."""
    results: list[Tree[object] | str] = []
    for lark in parsers():
        try:
            results.append(lark.parse(text if text.endswith("\n") else text + "\n"))
        except UnexpectedInput as error:
            results.append(f"error at line {error.line}")
    return results[0], results[1]


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_corpus_parses_to_the_same_tree_with_either_lexer(path: Path) -> None:
    ours, theirs = trees(path.read_text(encoding="utf-8"))
    assert ours == theirs


# Words that start with a keyword (`mapped_at`, `iova=`) are left out: lark's contextual lexer
# splits them where only keywords are expected (`mapc0` becomes `map c0`); ours keeps a word
# whole, see test_a_word_is_never_split_into_a_keyword.
_pieces = st.sampled_from(
    [
        "map",
        "c0",
        "vaddr=0x10",
        "size=4K",
        "perm=rw",
        "table=2:0x0",
        "unmap",
        "all",
        "==",
        "assert",
        "io",
        "msix",
        "rom",
        "bar",
        "0",
        "mem32",
        "prefetch",
        "device",
        "d",
        "01:00.0",
        "{",
        "}",
        "\n",
        "\n",
        " ",
        "//",
        "x",
        "(",
        ")",
        "<<",
        "<",
        "<=",
        "+",
        "-",
        "not",
        "and",
        ".",
        "translate",
        "16M",
        "0b1",
        "cfg",
        "read",
        "write",
        "size=2",
    ]
)


@given(st.lists(_pieces, max_size=14).map(" ".join))
def test_generated_text_parses_alike_or_fails_at_the_same_line(text: str) -> None:
    ours, theirs = trees(text)
    assert ours == theirs


def test_a_word_is_never_split_into_a_keyword() -> None:
    contextual, ours = trees("mapc0 iova=0 vaddr=0 size=4K\n")
    assert isinstance(contextual, Tree)  # lark's contextual lexer reads `map c0`
    assert ours == "error at line 1"


def test_keywords_and_bdf_are_contextual() -> None:
    program = parse("device io :00.0 {\n    bar 0 io 4\n}\nassert io.bar0.size / 2 == 2 // 4\n")
    device, check = program.statements
    assert isinstance(device, DeviceDecl) and (device.name, device.bdf) == ("io", ":00.0")
    assert device.members == (BarMember("f", 2, 5, 0, "io", False, 4),)
    # `/` is division, `//` a comment
    assert isinstance(check, Assert)
    assert check.expr == Compare(
        Binary("/", Ref("io", ("bar0", "size")), IntLit(2, "2")), (("==", IntLit(2, "2")),)
    )


def test_positions_count_lines_through_comments_and_blank_lines() -> None:
    text = "// a\n\n  // b\n\t\nmap c0 iova=1\n   alloc d   // c\n\n\nirq d 1"
    assert [(s.line, s.column) for s in parse(text).statements] == [(5, 1), (6, 4), (9, 1)]
