"""The checker: each reason is one `scenario.error:<reason>` at its line; the statement is
skipped and the rest runs."""

from __future__ import annotations

import pytest

from harness.scenario import execute
from tests.scenario.conftest import FakeBackend

HEADER = "container c0\ndevice d 01:00.0 {\n    bar 0 mem32 64K\n}\n"
HEADER_LINES = 4


def failures(text: str, backend: FakeBackend | None = None) -> list[tuple[int, str]]:
    """The `scenario.error` outputs of the text after HEADER: (line after HEADER, reason)."""
    result = execute([("c.vfio", HEADER + text)], backend or FakeBackend())
    return [
        (output.line - HEADER_LINES, output.id.partition(":")[2])
        for output in result.outputs
        if output.id.startswith("scenario.error:") and output.line is not None
    ]


@pytest.mark.parametrize(
    "statement",
    [
        "map c9 iova=0 vaddr=0 size=4K",
        "alloc nope",
        "attach d c9",
        "attach nope c0",
        "assert c0.bogus == 0",
        "assert d.bar6.size == 0",
        "assert d.bar0.width == 0",
        "assert d.msix.bogus == 0",
        "assert d.msix == 0",
        "assert d.rom == 0",
        "assert c0.mappings.x == 0",
        "assert nope.mappings == 0",
        "msix enable nope",
        "cfg read nope 0",
        "map c0 iova=rw vaddr=0 size=4K",
        "irq d v",
        "assert 1 or nope",
    ],
)
def test_check_fails_unknown_name(statement: str) -> None:
    assert failures(statement) == [(1, "unknown.name")]


@pytest.mark.parametrize(
    "statement",
    [
        "map d iova=0 vaddr=0 size=4K",
        "unmap d all",
        "attach c0 d",
        "alloc c0",
        "cfg write c0 0 0",
        "irq c0 1",
        "assert c0",
        "assert c0.mapped_at == 0",
        "assert c0.mappings(1) == 0",
        "assert d.msix.masked == 0",
        "assert d.bar0.size(2) == 0",
        "map c0 iova=c0 vaddr=0 size=4K",
        "irq d (d)",
        "assert d.msix.last_addr == 0",
    ],
)
def test_check_fails_wrong_kind(statement: str) -> None:
    assert failures(statement) == [(1, "wrong.kind")]


def test_check_fails_duplicate_name_across_kinds_and_skips_the_whole_device() -> None:
    text = "container d\ndevice c0 02:00.0 {\n    bar 9 mem32 3\n}\ncontainer fresh\n"
    assert failures(text) == [(1, "duplicate.name"), (2, "duplicate.name")]


@pytest.mark.parametrize(
    "statement",
    [
        "container c1 mode=v3",
        "container c1 reserved=arm",
        "container c1 pgsize=3000",
        "container c1 pgsize=0",
        "container c1 mode=1",
        "container c1 colour=blue",
        "container c1 limit=1 limit=2",
        "map c0 iova=0 vaddr=0",
        "map c0 iova=0 vaddr=0 size=4K perm=x",
        "map c0 iova=0 vaddr=0 size=4K iova=0",
        "map c0 iova=1:2 vaddr=0 size=4K",
        "map c0 iova=0 vaddr=0 size=4K perm=(1)",
        "unmap c0 all perm=rw",
        "unmap c0 size=4K",
        "cfg write d 0 0 width=4",
        "msix fmask d maybe",
        "msix entry d 0 addr=0xfee00000",
        "msix entry d 0 addr=0xfee00000 data=0 vector=1",
        "window mmio32 base=0",
        "window io base=0x1000 size=0",
        "window mmio64 base=0 size=4K bogus=1",
    ],
)
def test_check_fails_bad_option(statement: str) -> None:
    assert failures(statement) == [(1, "bad.option")]


@pytest.mark.parametrize(
    "statement",
    [
        "map c0 iova=0x1_0000_0000_0000_0000 vaddr=0 size=4K",
        "map c0 iova=0 vaddr=0 size=18446744073709551616",
        "assert 18446744073709551616 > 0",
        "assert c0.mapped_at(0x1_0000_0000_0000_0000)",
        "unmap c0 all == 0x1_0000_0000_0000_0000",
        "container big limit=0x1_0000_0000",
        "cfg write d 0x10 0x1_0000_0000",
        "cfg write d 0x10 0x100 size=1",
        "cfg write d 0x10 0x10000 size=2",
        "cfg read d 0x1_0000_0000_0000_0000",
        "msix entry d 0 addr=0xfee00000 data=0x1_0000_0000",
        "msix entry d 0x1_0000_0000_0000_0000 addr=0xfee00000 data=0",
        "irq d 0x1_0000_0000_0000_0000",
        "window mmio32 base=0xf0000000 size=512M",
        "window io base=0xf000 size=8K",
        "window mmio64 base=0xffff_ffff_ffff_f000 size=8K",
        "container c1 pgsize=2K",
        "container c1 pgsize=2G",
        "container c1 aw=31",
        "container c1 aw=65",
        "cfg write d 0x10 (-1)",
        "map c0 iova=(0 - 4K) vaddr=0 size=4K",
        "mmio write d bar0 0 0x100 size=1",
        "mmio write d bar0 0 0x1_0000_0000_0000_0000 size=8",
        "mmio read d bar4294967296 0",
    ],
)
def test_check_fails_value_range(statement: str) -> None:
    assert failures(statement) == [(1, "value.range")]


@pytest.mark.parametrize(
    "member",
    [
        "bar 0x1_0000_0000 mem32 4K",
        "bar 99999999999999999999999 mem32 4K",
        "bar 1 mem32 0x1_0000_0000_0000_0000",
        "rom 0x1_0000_0000_0000_0000",
        "msix 4 table=8:0x0 pba=0:0x1000",
        "msix 4 table=0:0x1_0000_0000 pba=0:0x1000",
        "msix 0x1_0000_0000_0000_0000 table=0:0 pba=0:0x1000",
    ],
)
def test_check_fails_value_range_in_device_members_at_the_member_line(member: str) -> None:
    text = f"device e 03:00.0 {{\n    bar 2 mem32 4K\n    {member}\n}}\n"
    assert failures(text) == [(3, "value.range")]


def test_values_that_fit_their_field_are_left_to_the_backend() -> None:
    text = (
        "device e 03:00.0 {\n    bar 6 mem32 3\n    msix 4096 table=7:0x4 pba=6:0\n}\n"
        "cfg write d 0x1001 0xff size=1\nirq d 0xffffffffffffffff\n"
        "window mmio32 base=0xc0000000 size=1G\nassert 18446744073709551615 > 0\n"
    )
    assert failures(text) == []


def test_first_failure_in_a_statement_is_reported_names_before_options() -> None:
    assert failures("map c9 iova=rw") == [(1, "unknown.name")]
    assert failures("map c0 iova=rw size=0x1_0000_0000_0000_0000") == [(1, "bad.option")]


def test_names_must_be_declared_on_an_earlier_line() -> None:
    assert failures("alloc later\ndevice later 03:00.0 {\n}\nalloc later\n") == [
        (1, "unknown.name")
    ]


def test_a_skipped_declaration_declares_nothing() -> None:
    assert failures("container c1 mode=v3\nmap c1 iova=0 vaddr=0 size=4K\n") == [
        (1, "bad.option"),
        (2, "unknown.name"),
    ]


def test_checker_keeps_names_across_files() -> None:
    files = [
        ("a_file1.vfio", "container c0\n"),
        ("a_file2.vfio", "map c0 iova=0 vaddr=0 size=4K\ncontainer c0\n"),
    ]
    result = execute(files, FakeBackend())
    assert [(o.file, o.line, o.id) for o in result.outputs] == [
        ("a_file2.vfio", 2, "scenario.error:duplicate.name")
    ]
    assert "a_file1.vfio:1" in result.outputs[0].message


def test_device_plan_runs_msix_after_bars_and_rom() -> None:
    text = (
        "device e 03:00.0 {\n    msix 4 table=0:0 pba=0:0x100\n    bar 0 mem32 4K\n    rom 2K\n}\n"
    )
    fake = FakeBackend()
    execute([("c.vfio", text)], fake)
    assert [method for method, _, _ in fake.calls] == [
        "device",
        "device_bar",
        "device_rom",
        "device_msix",
    ]


def test_options_become_backend_arguments() -> None:
    text = (
        "container c1 mode=v1 limit=4 aw=39\nmap c1 iova=1 vaddr=2 size=3\n"
        "cfg read d 4 size=2 == 0\nunmap c1 all size=0\nmmio write d bar2 8 7 size=8\n"
    )
    fake = FakeBackend()
    execute([("c.vfio", HEADER + text)], fake)
    assert fake.calls[-5:] == [
        ("container", ("c1",), {"mode": "v1", "limit": 4, "aw": 39}),
        ("map", ("c1", 1, 2, 3, "rw"), {}),
        ("cfg_read", ("d", 4, 2), {}),
        ("unmap_all", ("c1",), {"size": 0}),
        ("mmio_write", ("d", 2, 8, 7, 8), {}),
    ]


def test_a_false_assert_quotes_its_text_and_both_sides() -> None:
    result = execute([("c.vfio", HEADER + "assert c0.mappings + 1 == 2 * 1\n")], FakeBackend())
    assert [o.message for o in result.outputs] == [
        "assertion is false: c0.mappings + 1 == 2 * 1 (1 == 2)"
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("let x = 1\ncontainer x\n", "'x' is already declared as an integer at c.vfio:5"),
        ("let x = 1\nalloc x\n", "'x' is an integer, not a device"),
        ("for v in 0..0 {\n    alloc v\n}\n", "'v' is a loop variable, not a device (v=0)"),
        (
            "for v in 0..0 {\n    assert v.size\n}\n",
            "'v' is a loop variable; it has no attributes (v=0)",
        ),
        ("let x = 1\nassert x.size\n", "'x' is an integer; it has no attributes"),
        ("alloc c0\n", "'c0' is a container, not a device"),
    ],
)
def test_messages_name_each_kind_with_its_article(text: str, message: str) -> None:
    result = execute([("c.vfio", HEADER + text)], FakeBackend())
    assert [output.message for output in result.outputs] == [message]
