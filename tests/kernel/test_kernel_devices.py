"""Guest devices read from VFIO, and declarations matched to them (`devices`, `assignment`)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.backend import Unsupported
from harness.kernel.assignment import Assignment
from harness.kernel.devices import (
    Bar,
    Declaration,
    GuestDevice,
    Layout,
    MsixLayout,
    bar_from_register,
    candidates,
    describe,
    size_text,
)

E1000E = Layout(
    (
        Bar(0, "mem32", 128 << 10),
        Bar(1, "mem32", 128 << 10),
        Bar(2, "io", 32),
        Bar(3, "mem32", 16 << 10),
    ),
    0,
    MsixLayout(5, 3, 0x0, 3, 0x2000),
)
RNG = Layout(
    (Bar(1, "mem32", 4096), Bar(4, "mem64", 16 << 10, True)), 0, MsixLayout(4, 1, 0, 1, 0x800)
)
ICH9 = Layout((Bar(4, "io", 32), Bar(5, "mem32", 4096)))


def _config_space(e1000e: bool = True) -> bytes:
    """The first 256 bytes of an e1000e's config space as vfio-pci shows them (host BARs)."""
    space = bytearray(256)
    struct.pack_into("<HH", space, 0, 0x8086, 0x10D3)
    struct.pack_into("<H", space, 0x06, 0x0010)  # Status: capability list
    struct.pack_into("<I", space, 0x08, 0x02000000)  # class 0x020000, revision 0
    for index, value in enumerate((0xFEB60000, 0xFEB80000, 0xC041, 0xFEBE0000, 0, 0)):
        struct.pack_into("<I", space, 0x10 + 4 * index, value)
    space[0x34] = 0xC8
    space[0xC8:0xCA] = bytes([0x01, 0xE0])  # power management, next 0xe0
    space[0xE0:0xE2] = bytes([0x10, 0xA0])  # PCI Express, next 0xa0
    space[0xA0:0xA2] = bytes([0x11, 0x00])  # MSI-X, last
    struct.pack_into("<HII", space, 0xA2, 0x0004, 0x00000003, 0x00002003)
    if not e1000e:
        struct.pack_into("<H", space, 0x06, 0)
    return bytes(space)


def _reader(space: bytes):  # type: ignore[no-untyped-def]
    return lambda offset, size: int.from_bytes(space[offset : offset + size], "little")


def test_describe_reads_an_e1000e_from_its_config_space_and_regions() -> None:
    sizes = {0: 128 << 10, 1: 128 << 10, 2: 32, 3: 16 << 10, 4: 0, 5: 0, 6: 0}
    device = describe("0000:00:01.0", 1, _reader(_config_space()), sizes)
    assert device.layout == E1000E
    assert (device.vendor, device.device, device.class_code) == (0x8086, 0x10D3, 0x020000)
    assert device.msix_cap == 0xA0


def test_describe_finds_no_msix_without_a_capability_list() -> None:
    device = describe("0000:00:01.0", 1, _reader(_config_space(e1000e=False)), {0: 4096})
    assert device.layout.msix is None and device.msix_cap == 0


def test_describe_stops_on_a_looping_capability_list() -> None:
    space = bytearray(_config_space())
    space[0xA0:0xA2] = bytes([0x05, 0xC8])  # MSI instead of MSI-X, pointing back: a loop
    device = describe("0000:00:01.0", 1, _reader(bytes(space)), {0: 4096})
    assert device.layout.msix is None


def test_bar_from_register_reads_io_64_bit_and_prefetch_bits() -> None:
    assert bar_from_register(2, 0xC041, 32) == Bar(2, "io", 32)
    assert bar_from_register(0, 0xFEB60000, 4096) == Bar(0, "mem32", 4096)
    assert bar_from_register(4, 0x0000000C, 16 << 10) == Bar(4, "mem64", 16 << 10, True)


def test_describe_skips_the_upper_half_of_a_64_bit_bar() -> None:
    space = bytearray(256)
    struct.pack_into("<II", space, 0x20, 0x0000000C, 0x00000001)  # BAR 4 (64-bit), BAR 5 high
    device = describe("0000:00:04.0", 4, _reader(bytes(space)), {4: 16 << 10, 5: 16 << 10})
    assert device.layout.bars == (Bar(4, "mem64", 16 << 10, True),)


def test_a_declaration_matches_only_the_exact_layout() -> None:
    devices = [
        GuestDevice("0000:00:01.0", 1, 0, 0, 0, E1000E),
        GuestDevice("0000:00:03.0", 3, 0, 0, 0, RNG),
    ]
    assert candidates(RNG, devices, complete=True) == [devices[1]]
    fewer = Layout(RNG.bars, 0, None)  # the same BARs, MSI-X left out
    assert candidates(fewer, devices, complete=True) == []
    assert candidates(fewer, devices, complete=False) == [devices[1]]
    other_size = Layout((Bar(1, "mem32", 8192),))
    assert candidates(other_size, devices, complete=False) == []


@given(
    st.lists(
        st.tuples(
            st.integers(0, 5),
            st.sampled_from(["mem32", "mem64", "io"]),
            st.integers(4, 40).map(lambda n: 1 << n),
            st.booleans(),
        ),
        max_size=6,
    ),
    st.integers(0, 1 << 20),
    st.one_of(st.none(), st.tuples(*(st.integers(0, 0xFFFF) for _ in range(5)))),
)
def test_guest_device_json_round_trips(
    bars: list[tuple[int, str, int, bool]], rom: int, msix: tuple[int, ...] | None
) -> None:
    layout = Layout(
        tuple(Bar(i, k, s, p) for i, k, s, p in bars),  # type: ignore[arg-type]
        rom,
        None if msix is None else MsixLayout(*msix),
    )
    device = GuestDevice("0000:00:02.0", 2, 0x8086, 0x10D3, 0x020000, layout, 0xA0)
    assert GuestDevice.from_json(device.to_json()) == device


def test_size_text_writes_sizes_as_a_scenario_does() -> None:
    assert [size_text(n) for n in (32, 4096, 128 << 10, 16 << 20, 3000)] == [
        "32",
        "4K",
        "128K",
        "16M",
        "3000",
    ]


def test_layout_declaration_is_scenario_syntax() -> None:
    assert E1000E.declaration() == (
        "bar 0 mem32 128K; bar 1 mem32 128K; bar 2 io 32; bar 3 mem32 16K;"
        " msix 5 table=3:0x0 pba=3:0x2000"
    )


# -- assignment -----------------------------------------------------------------------------

GUEST = [
    GuestDevice("0000:00:01.0", 1, 0, 0, 0, E1000E),
    GuestDevice("0000:00:02.0", 2, 0, 0, 0, E1000E),
    GuestDevice("0000:00:03.0", 3, 0, 0, 0, RNG),
    GuestDevice("0000:00:04.0", 4, 0, 0, 0, RNG),
    GuestDevice("0000:00:1f.2", 5, 0, 0, 0, ICH9),
    GuestDevice("0000:00:1f.3", 5, 0, 0, 0, Layout((Bar(4, "io", 64),))),
]


def test_anchors_come_from_the_biggest_group_then_the_highest() -> None:
    assignment = Assignment(GUEST)
    assert [assignment.anchor(f"c{n}") for n in range(5)] == [5, 4, 3, 2, 1]


def test_anchor_fails_when_every_group_is_taken() -> None:
    assignment = Assignment(GUEST)
    for n in range(5):
        assignment.anchor(f"c{n}")
    with pytest.raises(Unsupported, match="every one of the guest's 5 IOMMU groups is taken"):
        assignment.anchor("c5")


def test_assign_avoids_devices_whose_group_anchors_a_container() -> None:
    assignment = Assignment(GUEST)
    assignment.anchor("c0")  # group 5
    assignment.anchor("c1")  # group 4: the second rng
    assert assignment.assign(Declaration("rng", RNG)).bdf == "0000:00:03.0"
    with pytest.raises(Unsupported, match="2 devices of that layout are all in use"):
        assignment.assign(Declaration("rng2", RNG))


def test_assign_gives_each_declaration_its_own_device() -> None:
    assignment = Assignment(GUEST)
    first = assignment.assign(Declaration("nic0", E1000E))
    second = assignment.assign(Declaration("nic1", E1000E))
    assert {first.bdf, second.bdf} == {"0000:00:01.0", "0000:00:02.0"}


def test_assign_fails_naming_the_declaration_when_nothing_matches() -> None:
    gpu = Declaration("gpu", Layout((Bar(0, "mem64", 256 << 20, True),)))
    with pytest.raises(Unsupported) as caught:
        Assignment(GUEST).assign(gpu)
    assert caught.value.reason.startswith(
        "device gpu declares [bar 0 mem64 prefetch 256M], and none of the guest's 6 devices"
        " has exactly that"
    )


def test_check_partial_fails_as_soon_as_a_member_fits_no_device() -> None:
    assignment = Assignment(GUEST)
    assignment.check_partial(Declaration("d", Layout((Bar(2, "io", 32),))))
    with pytest.raises(Unsupported, match="declares so far"):
        assignment.check_partial(Declaration("d", Layout((Bar(2, "io", 64),))))


def test_release_frees_the_group_of_a_container_that_failed() -> None:
    assignment = Assignment(GUEST)
    group = assignment.anchor("c0")
    assignment.release("c0")
    assert assignment.anchor("c1") == group
