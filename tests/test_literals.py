"""Integer literals: `-D` options and scenario files read exactly the same syntax."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.literals import INT, U64_MAX, parse_int
from harness.options import OptionError, parse_defines
from harness.scenario import ScenarioSyntaxError, parse

literal_like = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from("0123456789"),
    st.text(alphabet="0123456789abcdefxXbBKMGT_", max_size=8),
)


@given(literal_like)
def test_int_pattern_accepts_what_the_scenario_grammar_accepts(text: str) -> None:
    try:
        parse(f"assert {text} == 1\n", "x.vfio")
        parsed = True
    except ScenarioSyntaxError:
        parsed = False
    assert parsed == (INT.fullmatch(text) is not None)


@pytest.mark.parametrize(
    ("text", "value"),
    [("4096", 4096), ("4K", 4096), ("0x1_000", 4096), ("0b1_0", 2), ("1T", 1 << 40)],
)
def test_option_values_read_the_scenario_syntax(text: str, value: int) -> None:
    assert option_value(text) == value == parse_int(text)


@pytest.mark.parametrize("text", ["1_K", "4k", "0x", "1__0", "_1", "0x10K", str(U64_MAX + 1)])
def test_option_values_reject_what_scenarios_reject(text: str) -> None:
    with pytest.raises(OptionError):
        option_value(text)


def option_value(text: str) -> int:
    """`text` read as a `-D` option value (a window size, which takes 1 to 2^64)."""
    defines = ["vfio:mmio64.base=0", f"vfio:mmio64.size={text}"]
    return parse_defines(defines).defaults.mmio64.size
