"""`-D key=value` parsing (harness/options.py): keys, values, limits, errors for bad ones."""

from __future__ import annotations

import warnings

import pytest

from harness.backend import CoreDefaults, WindowSpec
from harness.options import KEYS, OptionError, RunOptions, parse_defines


def test_no_defines_gives_the_defaults() -> None:
    options = parse_defines([])
    assert options.include_files.pattern == r".*\.vfio"
    assert (options.backend, options.defaults, options.issue_url, options.strict) == (
        "model",
        CoreDefaults(),
        None,
        True,
    )


def test_include_files_is_a_full_match_on_the_relative_path() -> None:
    options = parse_defines([r"includeFiles=dma/.*\.vfio"])
    assert options.includes("dma/overlap.vfio")
    assert not options.includes("bars/dma/overlap.vfio")
    assert not options.includes("dma/overlap.vfio.bak")


def test_the_last_define_of_a_key_wins() -> None:
    options = parse_defines(["strict=false", "strict=true", "vfio:limit=8", "vfio:limit=16"])
    assert options.strict is True
    assert options.defaults.limit == 16


def test_value_is_split_on_the_first_equals_sign() -> None:
    options = parse_defines(["includeFiles=a=b\\.vfio"])
    assert options.include_files.pattern == "a=b\\.vfio"


def test_core_defaults_take_scenario_integers() -> None:
    options = parse_defines(
        [
            "vfio:pgsize=64K",
            "vfio:limit=0x10",
            "vfio:mode=v1",
            "vfio:reserved=none",
            "vfio:aw=39",
            "vfio:mmio32.base=0xe000_0000",
            "vfio:mmio32.size=256M",
            "vfio:io.size=0b1000000000000",
        ]
    )
    assert options.defaults == CoreDefaults(
        pgsize=64 << 10,
        limit=16,
        mode="v1",
        reserved="none",
        aw=39,
        mmio32=WindowSpec(0xE000_0000, 256 << 20),
        io=WindowSpec(0x1000, 4096),
    )


def test_issue_url_and_backend_are_kept_as_written() -> None:
    options = parse_defines(
        ["issueUrl=https://bugs.example/{project}/{issue}", "backend=mypkg.sut:Kernel"]
    )
    assert options.issue_url == "https://bugs.example/{project}/{issue}"
    assert options.backend == "mypkg.sut:Kernel"


def test_parse_defines_fails_unknown_key_with_a_suggestion() -> None:
    with pytest.raises(OptionError) as raised:
        parse_defines(["includefiles=.*"])
    assert raised.value.key == "includefiles"
    assert raised.value.hint == "did you mean 'includeFiles'?"
    assert "unknown key 'includefiles'" in str(raised.value)


def test_parse_defines_fails_unknown_vfio_option_with_a_suggestion() -> None:
    with pytest.raises(OptionError) as raised:
        parse_defines(["vfio:pgsz=4K"])
    assert raised.value.hint == "did you mean 'vfio:pgsize'?"


def test_parse_defines_fails_entry_without_equals() -> None:
    with pytest.raises(OptionError, match="expected key=value"):
        parse_defines(["strict"])


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("includeFiles=(", "not a regular expression"),
        ("backend=not a spec", "not a backend spec"),
        ("strict=maybe", "expected true or false"),
        ("vfio:pgsize=3K", "not a power of two"),
        ("vfio:pgsize=2G", "above 1G"),
        ("vfio:pgsize=0", "not a power of two"),
        ("vfio:pgsize=1K", "below 4K"),
        ("vfio:limit=-1", "not an integer"),
        ("vfio:limit=0x1_0000_0000", "outside 0..4294967295"),
        ("vfio:limit=12_", "not an integer"),
        ("vfio:mode=v3", "expected one of v2, v1"),
        ("vfio:reserved=arm", "expected one of x86, none"),
        ("vfio:aw=31", "outside 32..64"),
        ("vfio:aw=65", "outside 32..64"),
        ("vfio:mmio32.size=4G", "passes 0xffffffff"),
        ("vfio:io.base=0x10000", "out of range"),
        ("vfio:mmio64.size=0", "out of range"),
        ("vfio:limit=0x1_0000_0000_0000_0000", "above 2^64-1"),
        ("issueUrl=https://x/{number}", "unknown placeholder {number}"),
        ("issueUrl=https://x/{project}", "no {issue} placeholder"),
        ("issueUrl=https://x/{issue", "malformed template"),
        ("issueUrl=https://x/{project:d}/{issue}", "{project} has a conversion or format spec"),
        ("issueUrl=https://x/{issue:{x}}", "{issue} has a conversion or format spec"),
        ("issueUrl=https://x/{issue:s}", "{issue} has a conversion or format spec"),
        ("issueUrl=https://x/{issue:>2000000000}", "{issue} has a conversion or format spec"),
        ("issueUrl=https://x/{issue!r}", "{issue} has a conversion or format spec"),
        ("issueUrl=https://x/{issue.real}", "unknown placeholder {issue.real}"),
        ("issueUrl=https://x/{issue[0]}", "unknown placeholder {issue[0]}"),
        ("issueUrl=https://x/{}", "unknown placeholder {}"),
        ("issueUrl=https://x/{0}", "unknown placeholder {0}"),
        ("includeFiles=" + "(" * 600 + "a" + ")" * 600, "Python cannot compile"),
        ("includeFiles=[[a]", "ambiguous regular expression (FutureWarning: Possible nested set"),
    ],
)
def test_parse_defines_fails_bad_value(entry: str, message: str) -> None:
    key, _, value = entry.partition("=")
    with pytest.raises(OptionError) as raised:
        parse_defines([entry])
    assert message in raised.value.message
    assert raised.value.value == value or key.endswith(".size")
    assert raised.value.hint


def test_option_error_shows_the_value_with_repr() -> None:
    error = OptionError("strict", "maybe ", "expected true or false", "write strict=false")
    assert str(error) == "-D strict='maybe ': expected true or false\nhint: write strict=false"


def test_issue_url_may_write_literal_braces() -> None:
    template = "https://x/{{tracker}}/{project}/{issue}"
    assert parse_defines([f"issueUrl={template}"]).issue_url == template


def test_include_files_warning_is_a_usage_error_even_when_warnings_are_errors() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # as `-W error` sets it
        with pytest.raises(OptionError) as raised:
            parse_defines(["includeFiles=[[a]"])
    assert "FutureWarning" in raised.value.message


@pytest.mark.parametrize(
    ("text", "value"),
    [("4096", 4096), ("0x1000", 4096), ("0X1f", 31), ("0b101", 5), ("1_000", 1000),
     ("4K", 4096), ("2M", 2 << 20), ("1G", 1 << 30), ("1T", 1 << 40)],
)
def test_integer_options_read_the_scenario_syntax(text: str, value: int) -> None:
    defines = ["vfio:mmio64.base=0", f"vfio:mmio64.size={text}"]
    assert parse_defines(defines).defaults.mmio64.size == value


def test_describe_lists_every_key_with_its_value() -> None:
    lines = " ".join(RunOptions().describe())
    for key in KEYS:
        assert f"{key}=" in lines
    assert "vfio:mmio32.base=0xc0000000 vfio:mmio32.size=640M" in lines
