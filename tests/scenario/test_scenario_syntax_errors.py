"""Syntax errors: one located error with the column and what was expected, in words."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.scenario import Program, ScenarioSyntaxError, parse
from tests.scenario.conftest import syntax_error_of


def test_unknown_statement_names_the_statements() -> None:
    error = syntax_error_of("container c0\nfrob c0\n")
    assert (error.file, error.line, error.column) == ("s.vfio", 2, 1)
    assert error.message.startswith("unexpected 'frob'; expected")
    assert "a statement" in error.message
    assert error.hint is not None and "map" in error.hint


def test_missing_option_value_is_reported_after_the_equals() -> None:
    error = syntax_error_of("map c0 iova=\n")
    assert (error.line, error.column) == (1, 13)
    assert (
        error.message
        == "option 'iova=' needs a value: a number, a word, (expression) or BAR:OFFSET"
    )


def test_bad_option_value_is_named() -> None:
    error = syntax_error_of("map c0 iova=$\n")
    assert (error.line, error.column) == (1, 13)
    assert (
        error.message
        == "option 'iova=' has a bad value '$': a number, a word, (expression) or BAR:OFFSET"
    )


def test_space_before_equals_is_named() -> None:
    error = syntax_error_of("map c0 iova = 1\n")
    assert (error.line, error.column) == (1, 12)
    assert error.message == "option 'iova' has a space before '='"


def test_option_without_value_expects_an_option_with_a_hint() -> None:
    error = syntax_error_of("container c0 mode\n")
    assert error.column == 14
    assert error.message == "unexpected 'mode'; expected an option key=value or end of line"
    assert error.hint == "options are written key=value without spaces, e.g. iova=0x100000"


def test_bad_bar_kind_lists_the_kinds() -> None:
    error = syntax_error_of("device d 01:00.0 {\n  bar 0 mem16 16\n}\n")
    assert (error.line, error.column) == (2, 9)
    assert error.message == "unexpected 'mem16'; expected 'io', 'mem32' or 'mem64'"


def test_device_header_needs_a_brace_on_its_line() -> None:
    error = syntax_error_of("device d 01:00.0\n")
    assert error.message == "unexpected end of line; expected '{'"
    assert error.hint is not None and "'{'" in error.hint


def test_member_outside_the_member_set_is_reported_at_its_line() -> None:
    error = syntax_error_of("device d 01:00.0 {\nmap c0\n}\n")
    assert (error.line, error.column) == (2, 1)
    assert error.message == "unexpected 'map'; expected 'bar', 'msix', 'rom' or '}'"


def test_unclosed_device_is_reported_at_its_opening_brace() -> None:
    # As Python's "'(' was never closed": where the block opens, which is where one annotates.
    error = syntax_error_of("container c0\ndevice d 01:00.0 {\n bar 0 mem32 16\n")
    assert (error.line, error.column) == (2, 18)
    assert error.message == "this device's '{' is never closed: the file ends before its '}'"
    assert error.hint == "add '}' on a line of its own after the device's members"


def test_members_on_the_header_line_are_a_syntax_error() -> None:
    error = syntax_error_of("device d 01:00.0 { bar 0 mem32 16 }\n")
    assert (error.line, error.column) == (1, 20)
    assert error.message == "unexpected 'bar'; expected end of line"


def test_incomplete_expression_expects_an_operand() -> None:
    error = syntax_error_of("\n\nassert 1 +\n")
    assert (error.line, error.column) == (3, 11)
    assert error.message == "unexpected end of line; expected an expression"
    assert error.hint == "an expression is missing after '+'"


def test_two_operands_in_a_row_expect_an_operator() -> None:
    error = syntax_error_of("assert 1 2\n")
    assert error.column == 10
    assert "an operator" in error.message and error.message.startswith("unexpected '2'")


def test_unknown_character_is_named_with_a_hint() -> None:
    error = syntax_error_of("assert 1 + $\n")
    assert (error.line, error.column) == (1, 12)
    assert error.message == "unexpected character '$'; expected an expression"
    assert error.hint is not None


def test_error_text_is_path_line_column_message_and_hint() -> None:
    error = syntax_error_of("container c0 mode=\n")
    assert str(error) == (
        "s.vfio:1:19: option 'mode=' needs a value: a number, a word, (expression) or BAR:OFFSET\n"
        "hint: options are written key=value without spaces, e.g. iova=0x100000"
    )


def test_lark_exceptions_never_escape() -> None:
    texts = ["}", "{", "device", "assert (", "cfg read", "0x", "map c0 iova=0x", "unmap c0 all =="]
    for text in texts:
        with pytest.raises(ScenarioSyntaxError):
            parse(text)


@given(st.text(alphabet=st.sampled_from(list("map c0{}=:.()<>!&|~+-*/%0x1Kbar io\n\t/"))))
def test_any_text_parses_or_fails_with_a_located_error(text: str) -> None:
    try:
        assert isinstance(parse(text), Program)
    except ScenarioSyntaxError as error:
        assert error.line >= 1 and error.column >= 1 and error.message.startswith("unexpected")


@pytest.mark.parametrize(
    ("text", "line", "column", "hint"),
    [
        (
            "device g 0000:01:00.0 {\n    bar 0 mem32 4K\n} x\n",
            3,
            3,
            "'}' stands alone on its line: put what follows on the next line",
        ),
        (
            "device g 0000:01:00.0 {}\n",
            1,
            24,
            "members go on their own lines: end the header line with '{', write each member "
            "on a line of its own, then '}' alone on the last line",
        ),
        ("unmap c0 all ==\n", 1, 16, "an expression is missing after '=='"),
        ("assert 4k == 4096\n", 1, 9, "size suffixes are upper case: 4K"),
        ("map c0 iova=0 vaddr=0 size=4k\n", 1, 29, "size suffixes are upper case: 4K"),
        ("assert 4KB\n", 1, 10, "write 4K: size suffixes are 1024-based and take no 'B'"),
        (
            "assert 0x10K == 0\n",
            1,
            12,
            "size suffixes K M G T apply to decimal numbers only: write 16K or 0x4000",
        ),
        (
            "assert 0x == 0\n",
            1,
            9,
            "a hex number needs digits after 0x (0x1000), a binary one after 0b (0b101)",
        ),
        ("map\n", 1, 4, "usage: map CONTAINER iova=… vaddr=… size=… [perm=rw|r|w|none]"),
        (
            "assert 1 = 1\n",
            1,
            10,
            "did you mean '=='? A single '=' joins an option's key to its value (iova=0x1000)",
        ),
        ("assert (1\n", 1, 10, "a ')' is missing: a '(' on this line is not closed"),
        ("assert ((1\n", 1, 11, "2 ')' are missing: as many '(' on this line are not closed"),
        ("assert 1)\n", 1, 9, "this ')' closes no '('"),
        ("CONTAINER c0\n", 1, 1, "keywords are lowercase: 'container'"),
        (
            "container c1 container c2\n",
            1,
            14,
            "one statement per line: start a new line before 'container'",
        ),
        (
            "map c0 iova=0 vaddr=0 size=4K == 0\n",
            1,
            31,
            "'map' returns no value to check: only 'unmap', 'cfg read' and 'mmio read' take"
            " '== VALUE'",
        ),
        (
            "mmio write d bar0 0 1 == 1\n",
            1,
            23,
            "'mmio write' returns no value to check: only 'unmap', 'cfg read' and 'mmio read'"
            " take '== VALUE'",
        ),
        (
            "cfg write d 0 1 == 1\n",
            1,
            17,
            "'cfg write' returns no value to check: only 'unmap', 'cfg read' and 'mmio read'"
            " take '== VALUE'",
        ),
        (
            "unmap c0 all == 0 size=0\n",
            1,
            19,
            "options come before '== VALUE': unmap c0 all size=0 == 0",
        ),
        ("assert 1 && 1\n", 1, 11, "logic is written 'and', 'or', 'not'; '&' and '|' are bitwise"),
        (
            "mpa c0\n",
            1,
            1,
            "did you mean 'map'? a statement starts with a keyword: "
            "alloc, assert, attach, cfg, container, device, for, irq, let, map, mmio, msix,"
            " reset, unmap, window",
        ),
        (
            "assert 1 2\n",
            1,
            10,
            "two operands in a row: an operator (+, ==, and, …) is missing before '2'",
        ),
    ],
)
def test_common_slips_get_a_hint(text: str, line: int, column: int, hint: str) -> None:
    error = syntax_error_of(text)
    assert (error.line, error.column, error.hint) == (line, column, hint)


def test_control_character_is_escaped_and_named() -> None:
    error = syntax_error_of("container c0 \x00\n")
    assert error.message == (
        "unexpected character '\\x00'; expected an option key=value or end of line"
    )
    assert error.hint == "remove the control character '\\x00' (an editor or a paste inserted it)"


@pytest.mark.parametrize(
    ("text", "column", "message", "hint"),
    [
        (  # found by the fuzz campaign: str.isdigit() took the fullwidth zero for a digit
            "map c0 iova=\uff10x3000 vaddr=0 size=4K\n",
            13,
            "unexpected character '\uff10' (U+FF10 FULLWIDTH DIGIT ZERO) in the value of"
            " option 'iova='",
            "write '0' in its place",
        ),
        (
            "map c0 iova=0 vaddr=0 size=4\u212a\n",
            29,
            "unexpected character '\u212a' (U+212A KELVIN SIGN); expected an option key=value"
            " or end of line",
            "write 'K' in its place",
        ),
        (
            "map c0 iova=0\u00a0vaddr=0 size=4K\n",
            14,
            "unexpected character '\\xa0' (U+00A0 NO-BREAK SPACE); expected an option"
            " key=value or end of line",
            "write a plain space",
        ),
        (
            "\u0430ssert 1\n",
            1,
            "unexpected character '\u0430' (U+0430 CYRILLIC SMALL LETTER A); expected a"
            " statement such as 'map', 'unmap', 'cfg' or 'assert'",
            "outside comments a scenario is ASCII",
        ),
        (
            "assert 1 == \u0661\n",
            13,
            "unexpected character '\u0661' (U+0661 ARABIC-INDIC DIGIT ONE); expected an"
            " expression",
            "outside comments a scenario is ASCII",
        ),
    ],
    ids=["fullwidth-digit-in-option", "kelvin-sign", "no-break-space", "cyrillic", "arabic"],
)
def test_a_look_alike_character_is_named_by_its_code_point(
    text: str, column: int, message: str, hint: str
) -> None:
    error = syntax_error_of(text)
    assert (error.line, error.column, error.message) == (1, column, message)
    assert error.hint is not None and error.hint.startswith(hint)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "frob" + "x" * 100_000 + "\n",
            "unexpected 'frobxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…' (100,004 characters); expected"
            " a statement such as 'map', 'unmap', 'cfg' or 'assert'",
        ),
        (
            "assert 0x" + "f" * 4301 + "K\n",
            "unexpected 'K': '0xffffffffffffffffffffffffffffffffffffff…' (4,304 characters) is not"
            " a number",
        ),
        (
            "map c0 iova=" + "\x01" * 50 + "\n",
            "option 'iova=' has a bad value '" + "\\x01" * 40 + "…' (50 characters): a number,"
            " a word, (expression) or BAR:OFFSET",
        ),
    ],
    ids=["word", "hex-with-suffix", "control-characters"],
)
def test_a_long_word_is_quoted_by_its_start_and_length(text: str, message: str) -> None:
    # Found by the fuzz campaign: a message quoted the whole word, 100,000 characters of it,
    # into the one-line summary (--tb=line, -r, junit).
    assert syntax_error_of(text).message == message


def test_a_cr_without_lf_between_two_statements_is_named_in_the_hint() -> None:
    # Found by the fuzz campaign: a CR alone is blank space, so an editor's two lines are one
    # here; "one statement per line" would puzzle whoever sees two lines.
    error = syntax_error_of("container c0\r\nmap c0 iova=0 vaddr=0 size=4K\rassert 1\n")
    assert (error.line, error.column) == (2, 31)
    assert error.hint == (
        "this line holds a CR without LF (an old Mac line end), which is no line break: save"
        " the file with LF or CRLF line ends"
    )


def test_bom_at_the_start_is_accepted() -> None:
    assert [s.line for s in parse("\ufeffcontainer c0\n", "b.vfio")] == [1]


def test_any_bdf_text_parses_for_the_backend_to_judge() -> None:
    for bdf in ("0000:01:00-0", "01:00.0x", "gpu", "@#$%", "01:00.0é"):
        [device] = parse(f"device d {bdf} {{\n}}\n")
        assert device.bdf == bdf  # type: ignore[union-attr]


def _rule_names() -> set[str]:
    from harness.scenario.syntax import _lark

    english = {"comparison", "shift", "check", "call", "start", "name", "integer", "body"}
    return {str(rule.origin.name) for rule in _lark().rules} - english


_SLIPS = [
    "assert a[0]\n",
    "assert 'x'\n",
    "container c0 \x00\n",
    "container c0 @\n",
    "}\n",
    "{\n",
    "assert (\n",
    "device d 01:00.0 {\n    bar 0 mem32 4K }\n}\n",
    "map c0 ~\n",
    "assert 1 +\n",
    "assert c0.\n",
    "cfg read d 0 size=4 ==\n",
    "msix entry\n",
    "window io base=0 $\n",
    "device d 01:00.0 {\n    bar 0 mem32 prefetch 4K $\n}\n",
    "unmap c0 all == (\n",
]


@pytest.mark.parametrize("text", _SLIPS)
def test_messages_never_name_grammar_internals(text: str) -> None:
    error = syntax_error_of(text)
    said = f"{error.message} {error.hint}"
    words = {w.strip("',;:.()") for w in said.split()}
    assert not words & _rule_names(), said
    assert "__" not in said and "ANON" not in said and "_NL" not in said and "$END" not in said


def test_every_terminal_has_words() -> None:
    from harness.scenario.syntax import _lark, word

    for terminal in _lark().terminals:
        assert word(terminal.name) != terminal.name, terminal.name
    assert word("$END") == "end of file"


def test_a_declaration_in_a_loop_body_is_named_with_the_loop_line() -> None:
    error = syntax_error_of("container c0\nfor v in 0..1 {\n    let w = v\n}\n")
    assert (error.line, error.column) == (3, 5)
    assert error.message.startswith("unexpected 'let'")
    assert (
        error.hint
        == "a 'for' body holds operations only: declare 'let' before the loop (opened on line 2)"
    )


@pytest.mark.parametrize(
    "declaration",
    ["container c1", "window io base=0x1000 size=4K", "device d 01:00.0 {", "let w = v"],
)
def test_every_declaration_in_a_loop_body_gets_the_loop_hint(declaration: str) -> None:
    # A `device` header opens a block of its own: the hint still names the loop around it.
    error = syntax_error_of(f"container c0\nfor v in 0..1 {{\n    {declaration}\n}}\n")
    assert (error.line, error.column) == (3, 5)
    keyword = declaration.split()[0]
    assert error.hint == (
        f"a 'for' body holds operations only: declare '{keyword}' before the loop"
        " (opened on line 2)"
    )


def test_an_unclosed_loop_is_reported_at_its_opening_brace() -> None:
    error = syntax_error_of("container c0\nfor v in 0..1 {\n    irq d v\n")
    assert (error.line, error.column) == (2, 15)
    assert error.message == "this 'for' loop's '{' is never closed: the file ends before its '}'"
    assert error.hint == "add '}' on a line of its own after the loop's body"


@pytest.mark.parametrize(
    ("text", "column", "hint"),
    [
        ("mapc0 iova=0\n", 1, "did you mean 'map'?"),
        ("assert 1and 2\n", 9, "numbers are decimal"),
        ("container c0\nmap c0 iova=0x1000size=4K\n", 19, "numbers are decimal"),
        ("cfg write d 0x10k 1\n", 17, "size suffixes K M G T apply to decimal numbers only"),
    ],
)
def test_keywords_and_numbers_are_whole_words(text: str, column: int, hint: str) -> None:
    error = syntax_error_of(text)
    assert error.column == column
    assert error.hint is not None and hint in error.hint


def test_v2_statements_have_their_usage_as_hint() -> None:
    assert syntax_error_of("mmio read d 0\n").hint == (
        "usage: mmio read DEVICE barN OFFSET [size=1|2|4|8] [== VALUE]"
    )
    assert syntax_error_of("let = 3\n").hint == "usage: let NAME = EXPRESSION, e.g. let ram = 3G"
    assert syntax_error_of("reset\n").hint == "usage: reset DEVICE"


@pytest.mark.parametrize(
    ("statement", "column", "written"),
    [
        ("irq d v - 1", 9, "(v - …)"),
        ("cfg read d 4 + 1", 14, "(4 + …)"),
        ("map c0 iova=base + 4K vaddr=0 size=4K", 18, "iova=(base + …)"),
        ("mmio read d bar0 off << 2", 22, "(off << …)"),
        ("cfg write d 4 * 2 1", 15, "(4 * …)"),
        ("irq d -1", 7, "(-…)"),
    ],
)
def test_an_expression_without_parentheses_in_an_integer_position_gets_a_hint(
    statement: str, column: int, written: str
) -> None:
    error = syntax_error_of(f"container c0\n{statement}\n")
    assert (error.line, error.column) == (2, column)
    assert error.hint == (
        f"an expression where a statement takes an integer goes in parentheses: {written}"
    )


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        (
            "device d 01:00.0\n{\n}\n",
            "a device header ends with '{' on its line; members follow, one per line",
        ),
        (
            "for v in 0..1\n{\n}\n",
            "a 'for' header ends with '{' on its line; the body follows, one statement per line",
        ),
    ],
)
def test_a_block_opened_on_the_next_line_gets_the_hint_of_its_header(text: str, hint: str) -> None:
    error = syntax_error_of(text)
    assert error.line == 1
    assert error.hint == hint
