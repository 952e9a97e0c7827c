"""Syntax errors: one located error with the column and what was expected, in words."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.scenario import Program, ScenarioSyntaxError, parse


def error_of(text: str) -> ScenarioSyntaxError:
    with pytest.raises(ScenarioSyntaxError) as info:
        parse(text, "s.vfio")
    return info.value


def test_unknown_statement_names_the_statements() -> None:
    error = error_of("container c0\nfrob c0\n")
    assert (error.file, error.line, error.column) == ("s.vfio", 2, 1)
    assert error.message.startswith("unexpected 'frob'; expected")
    assert "a statement" in error.message
    assert error.hint is not None and "map" in error.hint


def test_missing_option_value_is_reported_after_the_equals() -> None:
    error = error_of("map c0 iova=\n")
    assert (error.line, error.column) == (1, 13)
    assert error.message == "option 'iova=' needs a value: a number, a word or BAR:OFFSET"


def test_bad_option_value_is_named() -> None:
    error = error_of("map c0 iova=$\n")
    assert (error.line, error.column) == (1, 13)
    assert error.message == "option 'iova=' has a bad value '$': a number, a word or BAR:OFFSET"


def test_space_before_equals_is_named() -> None:
    error = error_of("map c0 iova = 1\n")
    assert (error.line, error.column) == (1, 12)
    assert error.message == "option 'iova' has a space before '='"


def test_option_without_value_expects_an_option_with_a_hint() -> None:
    error = error_of("container c0 mode\n")
    assert error.column == 14
    assert error.message == "unexpected 'mode'; expected an option key=value or end of line"
    assert error.hint == "options are written key=value without spaces, e.g. iova=0x100000"


def test_bad_bar_kind_lists_the_kinds() -> None:
    error = error_of("device d 01:00.0 {\n  bar 0 mem16 16\n}\n")
    assert (error.line, error.column) == (2, 9)
    assert error.message == "unexpected 'mem16'; expected 'io', 'mem32' or 'mem64'"


def test_device_header_needs_a_brace_on_its_line() -> None:
    error = error_of("device d 01:00.0\n")
    assert error.message == "unexpected end of line; expected '{'"
    assert error.hint is not None and "'{'" in error.hint


def test_member_outside_the_member_set_is_reported_at_its_line() -> None:
    error = error_of("device d 01:00.0 {\nmap c0\n}\n")
    assert (error.line, error.column) == (2, 1)
    assert error.message == "unexpected 'map'; expected 'bar', 'msix', 'rom' or '}'"


def test_unclosed_device_reports_end_of_file() -> None:
    error = error_of("device d 01:00.0 {\n bar 0 mem32 16\n")
    assert error.line == 2
    assert error.message.startswith("unexpected end of file; expected 'bar', 'msix', 'rom' or '}'")


def test_members_on_the_header_line_are_a_syntax_error() -> None:
    error = error_of("device d 01:00.0 { bar 0 mem32 16 }\n")
    assert (error.line, error.column) == (1, 20)
    assert error.message == "unexpected 'bar'; expected end of line"


def test_incomplete_expression_expects_an_operand() -> None:
    error = error_of("\n\nassert 1 +\n")
    assert (error.line, error.column) == (3, 11)
    assert error.message == (
        "unexpected end of line; expected a name, a number, '(', '+', '-' or '~'"
    )


def test_two_operands_in_a_row_expect_an_operator() -> None:
    error = error_of("assert 1 2\n")
    assert error.column == 10
    assert "an operator" in error.message and error.message.startswith("unexpected '2'")


def test_unknown_character_is_named_with_a_hint() -> None:
    error = error_of("assert 1 + $\n")
    assert (error.line, error.column) == (1, 12)
    assert error.message.startswith("unexpected character '$'; expected a name, a number")
    assert error.hint is not None


def test_error_text_is_path_line_column_message_and_hint() -> None:
    error = error_of("container c0 mode=\n")
    assert str(error) == (
        "s.vfio:1:19: option 'mode=' needs a value: a number, a word or BAR:OFFSET\n"
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
