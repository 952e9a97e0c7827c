"""The version 2 statements, options and attributes reach the backend as the page says."""

from __future__ import annotations

from harness.model import ModelBackend
from harness.scenario import execute
from tests.scenario.conftest import FakeBackend

DEVICE = (
    "container c0\ndevice d 01:00.0 {\n    bar 0 mem64 64K\n    bar 2 io 256\n"
    "    msix 4 table=0:0x8000 pba=0:0x9000\n}\n"
)
LINES = DEVICE.count("\n")


def outputs(text: str) -> list[tuple[int, str]]:
    """(line after DEVICE, id) of each output of DEVICE + text on the model."""
    result = execute([("v.vfio", DEVICE + text)], ModelBackend())
    assert result.abort is None
    return [((o.line or 0) - LINES, o.id) for o in result.outputs]


def calls(text: str) -> list[tuple[str, tuple[object, ...], dict[str, object]]]:
    """The backend calls the text makes after DEVICE (on a recording fake)."""
    fake = FakeBackend()
    execute([("v.vfio", DEVICE + text)], fake)
    return fake.calls[LINES - 1 :]  # the container, device and member calls come first


def test_mmio_reaches_the_backend_with_bar_offset_value_and_size() -> None:
    assert calls("mmio write d bar0 0x10 7\nmmio read d bar2 (1 + 1) size=2 == 0\n") == [
        ("mmio_write", ("d", 0, 0x10, 7, 4), {}),
        ("mmio_read", ("d", 2, 2, 2), {}),
    ]


def test_mmio_plain_memory_reads_back_what_was_written() -> None:
    text = (
        "cfg write d 4 2 size=2\nmmio write d bar0 0x100 0x1122334455667788 size=8\n"
        "mmio read d bar0 0x104 == 0x11223344\nmmio read d bar0 0x100 size=1 == 0x88\n"
    )
    assert outputs(text) == []


def test_mmio_errors_are_the_backends() -> None:
    text = (
        "mmio read d bar1 0\nmmio read d bar0 0x10000\nmmio read d bar0 2\n"
        "mmio read d bar0 0 size=3\n"
    )
    assert outputs(text) == [
        (1, "mmio.access.failed:no.bar"),
        (2, "mmio.access.failed:out.of.range"),
        (3, "mmio.access.failed:unaligned"),
        (4, "mmio.access.failed:unaligned"),
    ]


def test_mmio_write_values_must_fit_their_access() -> None:
    text = (
        "mmio write d bar0 0 0x100 size=1\nmmio write d bar0 0 0xffffffffffffffff size=8\n"
        "mmio write d bar0 0 0x100 size=3\n"
    )
    assert outputs(text) == [(1, "scenario.error:value.range"), (3, "mmio.access.failed:unaligned")]


def test_a_value_check_on_mmio_read_compares_the_value_read() -> None:
    assert outputs("mmio read d bar0 0 == 1\n") == [(1, "assert.failed:assertion.false")]


def test_reset_calls_device_reset() -> None:
    assert calls("reset d\n") == [("device_reset", ("d",), {})]
    text = "cfg write d 4 6 size=2\nassert d.command == 6\nreset d\nassert d.command == 0\n"
    assert outputs(text) == []


def test_aw_is_a_container_option_between_32_and_64() -> None:
    assert calls("container c1 aw=39\n") == [("container", ("c1",), {"aw": 39})]
    text = (
        "container c1 aw=39\nmap c1 iova=(1 << 39) vaddr=0 size=4K\n"
        "container c2 aw=31\ncontainer c3 aw=65\n"
    )
    assert outputs(text) == [
        (2, "dma.map.failed:out.of.range"),
        (3, "scenario.error:value.range"),
        (4, "scenario.error:value.range"),
    ]


def test_unmap_all_passes_only_the_options_written() -> None:
    assert calls("unmap c0 all\nunmap c0 all iova=0\nunmap c0 all iova=(0) size=0\n") == [
        ("unmap_all", ("c0",), {}),
        ("unmap_all", ("c0",), {"iova": 0}),
        ("unmap_all", ("c0",), {"iova": 0, "size": 0}),
    ]
    text = "unmap c0 all size=0 == 0\nunmap c0 all iova=4K\nunmap c0 all perm=rw\n"
    assert outputs(text) == [
        (2, "dma.unmap.failed:all.with.range"),
        (3, "scenario.error:bad.option"),
    ]


def test_the_v2_attributes_read_the_device() -> None:
    text = (
        "cfg write d 4 4 size=2\nmsix entry d 1 addr=0xfee01000 data=0x41\nmsix unmask d 1\n"
        "msix enable d\nirq d 1\n"
        "assert d.command == 4 and d.msix.last_addr(1) == 0xfee01000\n"
        "assert d.msix.last_data(1) == 0x41\nassert d.msix.last_data(2) == 0\n"
    )
    assert outputs(text) == [(8, "scenario.error:eval")]


def test_integer_names_and_expressions_go_wherever_an_integer_does() -> None:
    text = (
        "let v = 1\nlet page = 4K\nmsix entry d v addr=0xfee00000 data=(v + 0x40)\n"
        "msix unmask d v\nmsix enable d\ncfg write d (2 + 2) 6 size=2\n"
        "mmio write d bar0 (v * 8) page size=8\n"
        "map c0 iova=page vaddr=(page * 2) size=page perm=rw\nirq d (v)\n"
        "assert d.msix.delivered(1) == 1 and c0.mapped_at(page)\n"
    )
    assert outputs(text) == []


def test_a_device_member_takes_an_integer_name() -> None:
    text = "let size = 16M\ndevice e 02:00.0 {\n    bar 0 mem32 size\n    rom (size / 128)\n}\n"
    assert outputs(text + "assert e.bar0.size == 16M and e.rom.size == 128K\n") == []
