"""Hostile input: literals of any length, nesting of any depth, huge values in messages, long
files. Each gets a located error or runs in bounded memory; never a traceback."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from harness.literals import MAX_LITERAL, parse_int, show
from harness.model import ModelBackend
from harness.scenario import execute, parse, program
from harness.scenario.evaluate import MAX_BITS
from harness.scenario.syntax import MAX_NESTING
from tests.scenario.conftest import syntax_error_of

# ---- literals


@pytest.mark.parametrize(
    ("literal", "column"),
    [
        ("9" * 4301, 8),
        ("0x" + "f" * 4301, 8),
        ("9" * 4300 + "K", 8),
        ("0b" + "1" * 200, 8),
        ("1" * (MAX_LITERAL + 1), 8),
    ],
    ids=["decimal", "hex", "suffixed", "binary", "just-over"],
)
def test_a_literal_too_long_is_a_located_syntax_error(literal: str, column: int) -> None:
    error = syntax_error_of(f"assert {literal} == 1\n")
    assert (error.line, error.column) == (1, column)
    assert f"a number of {len(literal):,} characters (at most {MAX_LITERAL})" in error.message
    assert error.hint is not None


def test_a_literal_of_the_longest_length_is_read() -> None:
    literal = "0b" + "_".join(["1111"] * 16)  # 64 bits with separators: 81 characters
    assert len(literal) <= MAX_LITERAL
    [statement] = parse(f"assert {literal} > 0\n")
    assert statement.expr.first.value == (1 << 64) - 1  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("container c0\nmap c0 iova=" + "1" * 500 + " vaddr=0 size=4K\n", 2, 13),
        ("device d 01:00.0 {\n    msix 4 table=0:" + "1" * 500 + " pba=0:0\n}\n", 2, 20),
        ("device d 01:00.0 {\n}\nmmio read d bar" + "0" * 500 + " 0\n", 3, 16),
        ("container c0\nirq c0 " + "7" * 5000 + "\n", 2, 8),
    ],
    ids=["option", "bar-offset", "bar-name", "position"],
)
def test_long_literals_are_located_wherever_they_stand(text: str, line: int, column: int) -> None:
    error = syntax_error_of(text)
    assert (error.line, error.column) == (line, column)
    assert "is not a number a scenario can use" in error.message


def test_a_long_minus_option_value_parses_for_the_command_line_too() -> None:
    with pytest.raises(ValueError, match="at most 100"):
        parse_int("9" * 4301)


# ---- nesting


def test_parentheses_nest_up_to_the_limit() -> None:
    depth = MAX_NESTING
    text = f"assert {'(' * depth}1{')' * depth} == 1\n"
    assert execute([("h.vfio", text)], ModelBackend()).outputs == ()


@pytest.mark.parametrize("count", [MAX_NESTING + 1, 3_000_000])
def test_parentheses_beyond_the_limit_are_a_syntax_error_at_the_first_too_many(
    count: int,
) -> None:
    started = time.process_time()
    error = syntax_error_of(f"container c0\nassert {'(' * count}1{')' * count}\n")
    assert time.process_time() - started < 5
    assert (error.line, error.column) == (2, 8 + MAX_NESTING)
    assert error.message == (
        f"expression nested too deeply: more than {MAX_NESTING} parentheses open"
    )


def test_a_character_no_token_starts_is_located_in_a_file_near_a_limit_too() -> None:
    # Found by the fuzz campaign: a file that may reach a limit is parsed token by token, and
    # there a lexer error (a no-break space) escaped as an AttributeError.
    deep = f"assert {'(' * (MAX_NESTING + 1)}1{')' * (MAX_NESTING + 1)}\n"
    near, far = syntax_error_of("\u00a0\n" + deep), syntax_error_of("\u00a0\nassert (1)\n")
    assert (near.line, near.column, near.message) == (far.line, far.column, far.message)
    assert near.message.startswith("unexpected character '\\xa0' (U+00A0 NO-BREAK SPACE)")


def test_calls_count_as_parentheses() -> None:
    text = f"container c0\nassert {'c0.mapped_at(' * (MAX_NESTING + 1)}0{')' * (MAX_NESTING + 1)}\n"
    assert "parentheses open" in syntax_error_of(text).message


def test_prefix_operators_in_a_row_are_bounded() -> None:
    fine = f"assert {'- ' * MAX_NESTING}1 != 2 and {'not ' * MAX_NESTING}1\n"
    assert execute([("h.vfio", fine)], ModelBackend()).outputs == ()
    error = syntax_error_of(f"assert {'- ' * 1_000_000}1\n")
    assert (error.line, error.column) == (1, 8 + 2 * MAX_NESTING)
    assert error.message == f"more than {MAX_NESTING} prefix operators in a row"


def test_loops_nest_up_to_the_limit() -> None:
    def nested(depth: int) -> str:
        head = "".join(f"for v{n} in 0..0 {{\n" for n in range(depth))
        return "container c0\n" + head + "assert c0.mappings == 0\n" + "}\n" * depth

    assert execute([("h.vfio", nested(MAX_NESTING))], ModelBackend()).outputs == ()
    error = syntax_error_of(nested(MAX_NESTING + 1))
    assert error.line == MAX_NESTING + 2
    assert error.message == f"more than {MAX_NESTING} 'for' bodies inside one another"


def test_the_deepest_expression_runs_checks_and_reports_without_recursion_errors() -> None:
    # Every precedence level inside every allowed pair of parentheses: the deepest tree the
    # parser lets through, compiled, evaluated and printed in a failure message.
    level = "0 or 1 and not 2 == 2 | 0 ^ 0 & 1 << 0 + 0 * -("
    depth = MAX_NESTING - 1  # and one pair around all of it
    text = f"container c0\nassert ({level * depth}0{')' * depth}) == 5\n"
    [output] = execute([("h.vfio", text)], ModelBackend()).outputs
    assert output.id == "assert.failed:assertion.false"
    assert output.message.startswith("assertion is false: (0 or 1 and not 2 == 2 | 0 ^ 0 & 1")


# ---- values in messages


def test_huge_values_are_shown_by_their_ends_and_width() -> None:
    assert show(1 << 4300) == "0x1000000000000000…0000000000000000 (a 4301-bit number)"
    assert show(-(1 << 101)) == "-0x2000000000000000…0000000000000000 (a 102-bit number)"
    assert show((1 << 64) - 1) == "0xffffffffffffffff"
    assert show(255) == "0xff" and show(-3) == "-3"


def test_a_message_about_a_huge_value_never_converts_it_in_full() -> None:
    text = (
        "container c0\nmap c0 iova=((1 << 4096) * (1 << 4000)) vaddr=0 size=4K\n"
        "assert (1 << 4096) * (1 << 4096) == 0\nassert (1 << 4096) == 0\n"
    )
    outputs = execute([("h.vfio", text)], ModelBackend()).outputs
    assert [o.id for o in outputs] == [
        "scenario.error:value.range",
        "scenario.error:eval",
        "assert.failed:assertion.false",
    ]
    assert all(len(o.message) < 400 for o in outputs)
    assert f"at most {MAX_BITS}" in outputs[1].message
    assert outputs[2].message.endswith(
        "(0x1000000000000000…0000000000000000 (a 4097-bit number) == 0)"
    )


# ---- long files


def _mixed(lines: int) -> str:
    out = ["container c0", "device d 01:00.0 {", "    bar 0 mem32 64K", "}"]
    for i in range(lines):
        iova = (i + 1) << 12
        kind = i % 5
        if kind == 0:
            out.append(f"map c0 iova={iova:#x} vaddr={iova:#x} size=4K")
        elif kind == 1:  # the map of the line before
            out.append("//:: ExpectedOutput(dma.map.failed:overlap)")
            out.append(f"map c0 iova={iova - 4096:#x} vaddr=0 size=4K")
        elif kind == 2:
            out.append(f"cfg write d 0x10 {i & 0xFFFF:#x}")
        elif kind == 3:  # the map of three lines before
            out.append(f"unmap c0 iova={iova - 3 * 4096:#x} size=4K == 4K")
        else:
            out.append(f"assert c0.mappings <= {i} and d.bar0.size == 64K")
    return "\n".join(out) + "\n"


def test_a_long_file_runs_chunk_by_chunk_with_the_outputs_of_a_whole_parse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = _mixed(600)
    whole = execute([("h.vfio", text)], ModelBackend())
    monkeypatch.setattr(program, "CHUNK", 7)
    parsed = parse(text, "h.vfio")
    assert parsed.long
    assert [s.line for s in parsed] == [s.line for s in parse(text, "h.vfio")]
    chunked = execute([("h.vfio", text)], ModelBackend())
    assert chunked.outputs == whole.outputs and len(whole.outputs) == 120


def test_memory_does_not_grow_with_the_length_of_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    # Maps undone at once, so that neither the model's state nor the outputs grow: what is left
    # to grow with the file would be the parser's and the checker's.
    def text(pairs: int) -> str:
        body = "".join(
            f"map c0 iova={(i + 1) << 12:#x} vaddr=0 size=4K\n"
            f"unmap c0 iova={(i + 1) << 12:#x} size=4K == 4K\nassert c0.mappings == 0\n"
            for i in range(pairs)
        )
        return "container c0\n" + body

    def peak(pairs: int) -> int:
        source = text(pairs)
        tracemalloc.start()
        try:
            assert execute([("h.vfio", source)], ModelBackend()).outputs == ()
            return tracemalloc.get_traced_memory()[1] - len(source)
        finally:
            tracemalloc.stop()

    monkeypatch.setattr(program, "CHUNK", 50)
    small, large = peak(200), peak(1600)
    assert large < 1.5 * small, (small, large)


def test_a_long_file_with_a_very_long_chain_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    # A chain of thousands of operators is a tree too deep to pickle: its chunk stays as nodes.
    monkeypatch.setattr(program, "CHUNK", 1)
    chain = " + ".join(["1"] * 5000)
    text = f"container c0\nassert {chain} == 5000\nassert {chain} == 1\nassert 1\n"
    parsed = parse(text, "h.vfio")
    assert parsed.long and len(list(parsed)) == 4
    [output] = execute([("h.vfio", text)], ModelBackend()).outputs
    assert (output.line, output.id) == (3, "assert.failed:assertion.false")
