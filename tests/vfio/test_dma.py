"""Type1 DMA map/unmap rules (`harness/vfio/dma.py`), after vfio-semantics.md and the kernel's
`vfio_dma_do_map` / `vfio_dma_do_unmap` in `drivers/vfio/vfio_iommu_type1.c`."""

from __future__ import annotations

import pytest
from vfio_errors import error_of as fails

from harness.vfio.address import U64_MAX, Hva, Iova, Range
from harness.vfio.catalog import ErrorId
from harness.vfio.dma import (
    X86_MSI_RESERVED,
    Conflict,
    Container,
    LimitReached,
    Mapping,
    Misaligned,
    Operand,
    Perm,
    UnmapMode,
    Wraps,
    address_width_error,
    limit_error,
    page_size_error,
)

PAGE = 0x1000
MB = 1 << 20


def state(c: Container) -> tuple[tuple[Mapping, ...], int, int]:
    """Everything observable about a container's mappings."""
    return tuple(c), len(c), c.mapped


@pytest.fixture
def c() -> Container:
    return Container()


# -- map ------------------------------------------------------------------------------------


def test_map_adds_one_entry(c: Container) -> None:
    mapping = c.map(Iova(0x100000), Hva(0x7F00_0010_0000), 2 * MB)
    assert mapping == Mapping(Iova(0x100000), Hva(0x7F00_0010_0000), 2 * MB, Perm.RW)
    assert len(c) == 1 and c.mapped == 2 * MB and c.avail == 65534
    assert list(c) == [mapping]


def test_map_fails_size_zero(c: Container) -> None:
    error = fails(ErrorId.DMA_MAP_SIZE_ZERO, c.map, Iova(0x1000), Hva(0x1000), 0)
    assert "0x1000" in error.message
    assert len(c) == 0


def test_map_fails_overflow_iova(c: Container) -> None:
    error = fails(ErrorId.DMA_MAP_OVERFLOW, c.map, Iova(U64_MAX - 0xFFF), Hva(0), 2 * PAGE)
    assert error.detail == Wraps("iova", U64_MAX - 0xFFF, 2 * PAGE)


def test_map_fails_overflow_vaddr(c: Container) -> None:
    error = fails(ErrorId.DMA_MAP_OVERFLOW, c.map, Iova(0), Hva(U64_MAX - 0xFFF), 2 * PAGE)
    assert error.detail == Wraps("vaddr", U64_MAX - 0xFFF, 2 * PAGE)


def test_map_fails_no_access(c: Container) -> None:
    fails(ErrorId.DMA_MAP_NO_ACCESS, c.map, Iova(0), Hva(0), PAGE, Perm.NONE)


def test_map_allows_write_only_and_read_only(c: Container) -> None:
    assert c.map(Iova(0), Hva(0), PAGE, Perm.W).perm is Perm.W
    assert c.map(Iova(PAGE), Hva(0), PAGE, Perm.R).perm is Perm.R
    assert Perm.W.writable and not Perm.W.readable
    assert Perm.R.readable and not Perm.R.writable
    assert Perm.RW.readable and Perm.RW.writable
    assert not Perm.NONE.readable and not Perm.NONE.writable


@pytest.mark.parametrize(
    ("iova", "vaddr", "size", "which"),
    [(0x800, 0, PAGE, "iova"), (0, 0x800, PAGE, "vaddr"), (0, 0, 0x800, "size")],
)
def test_map_fails_misaligned(c: Container, iova: int, vaddr: int, size: int, which: str) -> None:
    error = fails(ErrorId.DMA_MAP_MISALIGNED, c.map, Iova(iova), Hva(vaddr), size)
    assert error.detail == Misaligned(which, 0x800, PAGE)


def test_map_alignment_follows_the_container_page_size() -> None:
    c = Container(pgsize=0x10000)
    fails(ErrorId.DMA_MAP_MISALIGNED, c.map, Iova(0x1000), Hva(0), 0x10000)
    c.map(Iova(0x10000), Hva(0), 0x10000)


def test_map_fails_overlap_and_carries_both_ranges(c: Container) -> None:
    c.map(Iova(0x10000), Hva(0), 0x4000)
    before = state(c)
    error = fails(ErrorId.DMA_MAP_OVERLAP, c.map, Iova(0x13000), Hva(0), 0x2000)
    assert error.detail == Conflict(Range(0x13000, 0x14FFF), Range(0x10000, 0x13FFF))
    assert "0x13000" in error.message and "0x10000" in error.message
    assert state(c) == before


@pytest.mark.parametrize(
    ("iova", "size"),
    [(0x10000, 0x4000), (0xF000, 0x2000), (0x11000, 0x1000), (0x8000, 0x10000)],
)
def test_map_fails_overlap_any_byte(c: Container, iova: int, size: int) -> None:
    c.map(Iova(0x10000), Hva(0), 0x4000)
    fails(ErrorId.DMA_MAP_OVERLAP, c.map, Iova(iova), Hva(0), size)


def test_map_identical_remap_is_an_overlap(c: Container) -> None:
    # The kernel's vfio_find_dma() hit returns EEXIST even for an identical request.
    c.map(Iova(0x10000), Hva(0x20000), PAGE)
    fails(ErrorId.DMA_MAP_OVERLAP, c.map, Iova(0x10000), Hva(0x20000), PAGE)


def test_map_adjacent_ranges_coexist_unmerged(c: Container) -> None:
    c.map(Iova(0x10000), Hva(0), PAGE)
    c.map(Iova(0x11000), Hva(PAGE), PAGE)
    c.map(Iova(0xF000), Hva(0), PAGE)
    assert len(c) == 3
    assert [m.iova for m in c] == [Iova(0xF000), Iova(0x10000), Iova(0x11000)]


def test_map_two_iovas_may_alias_one_vaddr(c: Container) -> None:
    c.map(Iova(0x10000), Hva(0x5000), PAGE)
    c.map(Iova(0x20000), Hva(0x5000), PAGE)
    assert c.translate(Iova(0x10010)) == c.translate(Iova(0x20010)) == Hva(0x5010)


def test_map_fails_limit_exceeded() -> None:
    c = Container(limit=2)
    c.map(Iova(0), Hva(0), PAGE)
    c.map(Iova(PAGE), Hva(0), PAGE)
    error = fails(ErrorId.DMA_MAP_LIMIT_EXCEEDED, c.map, Iova(2 * PAGE), Hva(0), PAGE)
    assert error.detail == LimitReached(Range(2 * PAGE, 3 * PAGE - 1), 2)
    assert c.avail == 0 and len(c) == 2


def test_map_failure_does_not_use_up_an_entry() -> None:
    c = Container(limit=1)
    fails(ErrorId.DMA_MAP_MISALIGNED, c.map, Iova(1), Hva(0), PAGE)
    assert c.avail == 1
    c.map(Iova(0), Hva(0), PAGE)


def test_map_fails_out_of_range_in_msi_window(c: Container) -> None:
    error = fails(ErrorId.DMA_MAP_OUT_OF_RANGE, c.map, Iova(0xFEE00000), Hva(0), PAGE)
    assert error.detail == Conflict(Range(0xFEE00000, 0xFEE00FFF), X86_MSI_RESERVED[0])


def test_map_fails_out_of_range_when_spanning_the_msi_window(c: Container) -> None:
    # Inside *one* valid range: a map across the reserved hole fails even if both ends are valid.
    fails(ErrorId.DMA_MAP_OUT_OF_RANGE, c.map, Iova(0xFED00000), Hva(0), 0x300000)


def test_map_around_the_msi_window_is_fine(c: Container) -> None:
    c.map(Iova(0xFED00000), Hva(0), 0x100000)
    c.map(Iova(0xFEF00000), Hva(0), 0x100000)
    assert len(c) == 2


def test_map_without_reserved_ranges_accepts_the_msi_window() -> None:
    c = Container(reserved=())
    c.map(Iova(0xFEE00000), Hva(0), PAGE)
    assert c.valid_ranges() == (Range(0, U64_MAX),)


def test_map_of_the_last_page_of_the_64bit_space_is_legal(c: Container) -> None:
    c.map(Iova(U64_MAX - 0xFFF), Hva(U64_MAX - 0xFFF), PAGE)
    assert c.find(Iova(U64_MAX)) is not None


def test_map_check_order_size_zero_before_overflow_and_access(c: Container) -> None:
    fails(ErrorId.DMA_MAP_SIZE_ZERO, c.map, Iova(U64_MAX), Hva(1), 0, Perm.NONE)


def test_map_check_order_overflow_before_no_access_and_misaligned(c: Container) -> None:
    fails(ErrorId.DMA_MAP_OVERFLOW, c.map, Iova(U64_MAX), Hva(1), 0x800, Perm.NONE)


def test_map_check_order_no_access_before_misaligned(c: Container) -> None:
    fails(ErrorId.DMA_MAP_NO_ACCESS, c.map, Iova(1), Hva(1), 0x800, Perm.NONE)


def test_map_check_order_misaligned_before_overlap(c: Container) -> None:
    c.map(Iova(0), Hva(0), PAGE)
    fails(ErrorId.DMA_MAP_MISALIGNED, c.map, Iova(0), Hva(0), 0x800)


def test_map_check_order_overlap_before_limit() -> None:
    c = Container(limit=1)
    c.map(Iova(0), Hva(0), PAGE)
    fails(ErrorId.DMA_MAP_OVERLAP, c.map, Iova(0), Hva(0), PAGE)


def test_map_check_order_limit_before_out_of_range() -> None:
    c = Container(limit=0)
    fails(ErrorId.DMA_MAP_LIMIT_EXCEEDED, c.map, Iova(0xFEE00000), Hva(0), PAGE)


# -- queries --------------------------------------------------------------------------------


def test_find_returns_the_mapping_holding_the_byte(c: Container) -> None:
    mapping = c.map(Iova(0x10000), Hva(0x90000), 0x3000)
    assert c.find(Iova(0x10000)) == mapping
    assert c.find(Iova(0x12FFF)) == mapping
    assert c.find(Iova(0x13000)) is None
    assert c.find(Iova(0xFFFF)) is None


def test_translate_offsets_into_the_vaddr(c: Container) -> None:
    c.map(Iova(0x10000), Hva(0x90000), 0x3000)
    assert c.translate(Iova(0x11234)) == Hva(0x91234)
    assert c.translate(Iova(0x20000)) is None


def test_iteration_is_in_iova_order(c: Container) -> None:
    for iova in (0x50000, 0x10000, 0x30000):
        c.map(Iova(iova), Hva(0), PAGE)
    assert [m.iova.value for m in c] == [0x10000, 0x30000, 0x50000]


def test_valid_ranges_exclude_the_msi_window(c: Container) -> None:
    assert c.valid_ranges() == (Range(0, 0xFEDFFFFF), Range(0xFEF00000, U64_MAX))


def test_container_fails_page_size_not_a_power_of_two_as_bad_option() -> None:
    error = fails(ErrorId.SCENARIO_BAD_OPTION, Container, pgsize=3000)
    assert "power of two" in error.message


@pytest.mark.parametrize("pgsize", [1, 0x800, 1 << 31])
def test_container_fails_page_size_outside_4k_to_1g_as_value_range(pgsize: int) -> None:
    # type1 folds IOMMU page sizes below PAGE_SIZE into PAGE_SIZE (vfio_update_pgsize_bitmap).
    fails(ErrorId.SCENARIO_VALUE_RANGE, Container, pgsize=pgsize)


@pytest.mark.parametrize("pgsize", [0x1000, 0x10000, 0x200000, 1 << 30])
def test_page_size_rule_accepts_powers_of_two_from_4k_to_1g(pgsize: int) -> None:
    assert page_size_error(pgsize) is None
    assert Container(pgsize=pgsize).pgsize == pgsize


@pytest.mark.parametrize(
    ("aw", "ok"), [(31, False), (32, True), (39, True), (64, True), (65, False)]
)
def test_address_width_rule_is_32_to_64(aw: int, ok: bool) -> None:
    error = address_width_error(aw)
    assert (error is None) is ok
    if not ok:
        assert error is not None and error.kind is ErrorId.SCENARIO_VALUE_RANGE
        fails(ErrorId.SCENARIO_VALUE_RANGE, Container, aw=aw)


def test_limit_rule_is_an_unsigned_int() -> None:
    assert limit_error(0) is None and limit_error(2**32 - 1) is None
    fails(ErrorId.SCENARIO_VALUE_RANGE, Container, limit=2**32)
    fails(ErrorId.SCENARIO_VALUE_RANGE, Container, limit=-1)


# -- address width (aw) -----------------------------------------------------------------------


def test_map_fails_out_of_range_above_the_address_width() -> None:
    c = Container(aw=39)
    top = 1 << 39
    c.map(Iova(top - PAGE), Hva(0), PAGE)  # the last page below 2^39 maps
    before = state(c)
    error = fails(ErrorId.DMA_MAP_OUT_OF_RANGE, c.map, Iova(top), Hva(0), PAGE)
    assert error.detail == Conflict(Range(top, top + PAGE - 1), Range(top, U64_MAX))
    assert "39-bit" in error.message
    assert state(c) == before
    crossing = Container(aw=39)  # a range that starts below 2^39 and ends above it
    fails(ErrorId.DMA_MAP_OUT_OF_RANGE, crossing.map, Iova(top - PAGE), Hva(0), 2 * PAGE)


def test_map_checks_the_address_width_after_overlap_and_limit() -> None:
    # vfio_dma_do_map: vfio_find_dma (EEXIST), dma_avail (ENOSPC), then the iova list (EINVAL).
    c = Container(aw=32, limit=1)
    c.map(Iova(0), Hva(0), PAGE)
    fails(ErrorId.DMA_MAP_OVERLAP, c.map, Iova(0), Hva(0), 1 << 33)
    fails(ErrorId.DMA_MAP_LIMIT_EXCEEDED, c.map, Iova(1 << 32), Hva(0), PAGE)


def test_unmap_is_not_checked_against_the_address_width() -> None:
    c = Container(aw=39)
    assert c.unmap(Iova(1 << 40), PAGE) == 0


def test_valid_ranges_end_at_the_aperture() -> None:
    c = Container(aw=32)
    assert c.valid_ranges() == (Range(0, 0xFEDFFFFF), Range(0xFEF00000, 0xFFFFFFFF))
    assert Container(aw=32, reserved=()).valid_ranges() == (Range(0, 0xFFFFFFFF),)


def test_mapping_fails_bad_values() -> None:
    with pytest.raises(ValueError):
        Mapping(Iova(0), Hva(0), 0)
    with pytest.raises(OverflowError):
        Mapping(Iova(U64_MAX), Hva(0), 2)
    with pytest.raises(TypeError):
        Mapping(Hva(0), Hva(0), PAGE)  # type: ignore[arg-type]


# -- unmap (v2) -----------------------------------------------------------------------------


def test_unmap_exact_mapping_returns_its_size(c: Container) -> None:
    c.map(Iova(0x100000), Hva(0), 2 * MB)
    assert c.unmap(Iova(0x100000), 2 * MB) == 2 * MB
    assert len(c) == 0 and c.mapped == 0


def test_unmap_removes_every_mapping_inside_with_holes(c: Container) -> None:
    c.map(Iova(0x10000), Hva(0), PAGE)
    c.map(Iova(0x13000), Hva(0), 2 * PAGE)
    c.map(Iova(0x20000), Hva(0), PAGE)  # outside the range: stays
    assert c.unmap(Iova(0x10000), 0x10000) == 3 * PAGE
    assert [m.iova for m in c] == [Iova(0x20000)]


def test_unmap_of_nothing_succeeds_with_zero(c: Container) -> None:
    c.map(Iova(0x10000), Hva(0), PAGE)
    assert c.unmap(Iova(0x40000), PAGE) == 0
    assert len(c) == 1


def test_unmap_fails_size_zero(c: Container) -> None:
    fails(ErrorId.DMA_UNMAP_SIZE_ZERO, c.unmap, Iova(0), 0)


@pytest.mark.parametrize(("iova", "size", "which"), [(0x800, PAGE, "iova"), (0, 0x800, "size")])
def test_unmap_fails_misaligned(c: Container, iova: int, size: int, which: str) -> None:
    error = fails(ErrorId.DMA_UNMAP_MISALIGNED, c.unmap, Iova(iova), size)
    assert error.detail == Misaligned(which, 0x800, PAGE)


def test_unmap_fails_overflow(c: Container) -> None:
    fails(ErrorId.DMA_UNMAP_OVERFLOW, c.unmap, Iova(U64_MAX - 0xFFF), 2 * PAGE)


def test_unmap_check_order_follows_the_kernel(c: Container) -> None:
    # vfio_dma_do_unmap: iova alignment first, then size 0 / size alignment, then the wrap.
    fails(ErrorId.DMA_UNMAP_MISALIGNED, c.unmap, Iova(0x800), 0)
    fails(ErrorId.DMA_UNMAP_SIZE_ZERO, c.unmap, Iova(U64_MAX - 0xFFF), 0)
    fails(ErrorId.DMA_UNMAP_MISALIGNED, c.unmap, Iova(U64_MAX - 0xFFF), 0x1800)
    fails(ErrorId.DMA_UNMAP_OVERFLOW, c.unmap, Iova(U64_MAX - 0xFFF), 0x2000)


def test_unmap_fails_bisects_mapping_at_first_byte(c: Container) -> None:
    c.map(Iova(0x10000), Hva(0), 0x4000)
    before = state(c)
    error = fails(ErrorId.DMA_UNMAP_BISECTS_MAPPING, c.unmap, Iova(0x11000), 0x10000)
    assert error.detail == Conflict(Range(0x11000, 0x20FFF), Range(0x10000, 0x13FFF))
    assert state(c) == before


def test_unmap_fails_bisects_mapping_at_last_byte(c: Container) -> None:
    c.map(Iova(0x10000), Hva(0), PAGE)
    c.map(Iova(0x20000), Hva(0), 0x4000)
    before = state(c)
    fails(ErrorId.DMA_UNMAP_BISECTS_MAPPING, c.unmap, Iova(0x10000), 0x11000)
    assert state(c) == before  # nothing removed, not even the whole first mapping


def test_unmap_bisect_check_precedes_removal_of_inner_mappings(c: Container) -> None:
    c.map(Iova(0x10000), Hva(0), 0x2000)
    c.map(Iova(0x14000), Hva(0), PAGE)
    fails(ErrorId.DMA_UNMAP_BISECTS_MAPPING, c.unmap, Iova(0x11000), 0x4000)
    assert len(c) == 2


def test_unmap_all_removes_everything(c: Container) -> None:
    c.map(Iova(0x10000), Hva(0), PAGE)
    c.map(Iova(0x20000), Hva(0), 2 * PAGE)
    assert c.unmap_all() == 3 * PAGE
    assert len(c) == 0 and c.mapped == 0 and c.avail == c.limit
    assert c.unmap_all() == 0


@pytest.mark.parametrize(("iova", "size", "which"), [(PAGE, 0, "iova"), (0, PAGE, "size")])
def test_unmap_all_fails_with_a_range_and_removes_nothing(
    c: Container, iova: int, size: int, which: str
) -> None:
    # vfio_iommu_type1_unmap_dma: VFIO_DMA_UNMAP_FLAG_ALL with a non-zero iova or size is EINVAL.
    c.map(Iova(0x10000), Hva(0), PAGE)
    error = fails(ErrorId.DMA_UNMAP_ALL_WITH_RANGE, c.unmap_all, iova, size)
    assert error.detail == Operand(which, PAGE)
    assert len(c) == 1
    assert c.unmap_all(0, 0) == PAGE


def test_map_unmap_remap_restores_the_entry(c: Container) -> None:
    c.map(Iova(0x10000), Hva(0), PAGE)
    c.unmap(Iova(0x10000), PAGE)
    c.map(Iova(0x10000), Hva(0x5000), PAGE)
    assert c.translate(Iova(0x10000)) == Hva(0x5000)


# -- unmap (v1) -----------------------------------------------------------------------------


@pytest.fixture
def v1() -> Container:
    return Container(mode=UnmapMode.V1)


def test_unmap_v1_starting_inside_a_mapping_removes_nothing(v1: Container) -> None:
    # Kernel: `if (!iommu->v2 && iova > dma->iova) break;` before anything is removed.
    v1.map(Iova(0x10000), Hva(0), 0x4000)
    v1.map(Iova(0x20000), Hva(0), PAGE)
    assert v1.unmap(Iova(0x11000), 0x20000) == 0
    assert len(v1) == 2


def test_unmap_v1_covering_first_byte_removes_whole_mapping(v1: Container) -> None:
    v1.map(Iova(0x10000), Hva(0), 0x4000)
    assert v1.unmap(Iova(0x10000), PAGE) == 0x4000
    assert len(v1) == 0


def test_unmap_v1_removes_mappings_starting_in_range_past_its_end(v1: Container) -> None:
    v1.map(Iova(0x10000), Hva(0), PAGE)
    v1.map(Iova(0x12000), Hva(0), 0x4000)
    assert v1.unmap(Iova(0x10000), 0x3000) == PAGE + 0x4000


def test_unmap_v1_still_checks_alignment_and_size(v1: Container) -> None:
    fails(ErrorId.DMA_UNMAP_SIZE_ZERO, v1.unmap, Iova(0), 0)
    fails(ErrorId.DMA_UNMAP_MISALIGNED, v1.unmap, Iova(1), PAGE)
    fails(ErrorId.DMA_UNMAP_OVERFLOW, v1.unmap, Iova(U64_MAX - 0xFFF), 2 * PAGE)


# -- reserve (attach) ------------------------------------------------------------------------


def test_reserve_adds_ranges() -> None:
    c = Container(reserved=())
    c.reserve(X86_MSI_RESERVED)
    assert c.reserved == X86_MSI_RESERVED
    fails(ErrorId.DMA_MAP_OUT_OF_RANGE, c.map, Iova(0xFEE00000), Hva(0), PAGE)


def test_reserve_is_idempotent_and_merges() -> None:
    c = Container()
    c.reserve(X86_MSI_RESERVED)
    c.reserve([Range(0xFEF00000, 0xFEFFFFFF)])
    assert c.reserved == (Range(0xFEE00000, 0xFEFFFFFF),)


def test_reserve_fails_conflict_naming_mapping_and_range() -> None:
    c = Container(reserved=())
    c.map(Iova(0xFEE01000), Hva(0), PAGE)
    error = fails(ErrorId.DEVICE_ATTACH_CONFLICT, c.reserve, X86_MSI_RESERVED)
    assert error.detail == Conflict(X86_MSI_RESERVED[0], Range(0xFEE01000, 0xFEE01FFF))
    assert "0xfee01000" in error.message and "0xfee00000" in error.message
    assert c.reserved == ()
