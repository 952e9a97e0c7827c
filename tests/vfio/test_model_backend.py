"""The model backend (`harness/model.py`): the Backend protocol over the core."""

from __future__ import annotations

import pytest
from vfio_errors import error_of

from harness.backend import Backend, CoreDefaults, WindowSpec
from harness.model import ModelBackend
from harness.vfio.catalog import ErrorId

MB = 1 << 20


@pytest.fixture
def b() -> ModelBackend:
    backend = ModelBackend()
    backend.container("c0")
    backend.device("gpu0", "0000:01:00.0")
    backend.device_bar("gpu0", 0, "mem64", 256 * MB, prefetch=True)
    backend.device_bar("gpu0", 2, "mem32", 16 * MB)
    backend.device_bar("gpu0", 4, "io", 256)
    backend.device_rom("gpu0", 512 << 10)
    backend.device_msix("gpu0", 64, 2, 0x0, 2, 0x1000)
    return backend


def test_model_backend_implements_the_protocol() -> None:
    backend = ModelBackend()
    assert isinstance(backend, Backend)
    assert backend.name == "model"


def test_container_uses_run_defaults_unless_given() -> None:
    backend = ModelBackend(CoreDefaults(pgsize=0x10000, limit=3, mode="v1", reserved="none"))
    backend.container("c")
    backend.container("d", pgsize=0x1000, limit=1, mode="v2", reserved="x86")
    assert backend.avail("c") == 3 and backend.avail("d") == 1
    backend.map("c", 0xFEE00000, 0, 0x10000)  # reserved=none, 64K pages
    error_of(ErrorId.DMA_MAP_OUT_OF_RANGE, backend.map, "d", 0xFEE00000, 0, 0x1000)
    assert backend.unmap("c", 0xFEE00000, 0x10000) == 0x10000


def test_container_fails_page_size_not_a_power_of_two_as_bad_option() -> None:
    error_of(ErrorId.SCENARIO_BAD_OPTION, ModelBackend().container, "c", pgsize=3000)


def test_container_fails_page_size_below_4k_as_value_range() -> None:
    error_of(ErrorId.SCENARIO_VALUE_RANGE, ModelBackend().container, "c", pgsize=2048)


def test_container_takes_the_address_width_from_the_run_unless_given() -> None:
    backend = ModelBackend(CoreDefaults(aw=39))
    backend.container("c")
    backend.container("d", aw=48)
    error_of(ErrorId.DMA_MAP_OUT_OF_RANGE, backend.map, "c", 1 << 39, 0, 0x1000)
    backend.map("d", 1 << 39, 0, 0x1000)
    error_of(ErrorId.SCENARIO_VALUE_RANGE, backend.container, "e", aw=16)


def test_window_fails_size_zero_as_bad_option() -> None:
    error_of(ErrorId.SCENARIO_BAD_OPTION, ModelBackend().window, "io", 0x1000, 0)


def test_window_fails_ending_past_its_address_space_as_value_range() -> None:
    error_of(ErrorId.SCENARIO_VALUE_RANGE, ModelBackend().window, "mmio32", 0xF0000000, 1 << 30)
    error_of(ErrorId.SCENARIO_VALUE_RANGE, ModelBackend().window, "io", 0xF000, 0x1001)
    ModelBackend().window("io", 0xF000, 0x1000)


def test_default_windows_ending_past_their_space_fail_value_range() -> None:
    error_of(ErrorId.SCENARIO_VALUE_RANGE, ModelBackend, CoreDefaults(io=WindowSpec(0, 1 << 17)))


def test_map_unmap_and_container_attributes(b: ModelBackend) -> None:
    b.map("c0", 0x100000, 0x7F00_0010_0000, 2 * MB)
    assert (b.mappings("c0"), b.mapped("c0"), b.avail("c0")) == (1, 2 * MB, 65534)
    assert b.mapped_at("c0", 0x2FFFFF) and not b.mapped_at("c0", 0x300000)
    assert b.translate("c0", 0x100010) == 0x7F00_0010_0010
    assert b.unmap("c0", 0x100000, 2 * MB) == 2 * MB
    b.map("c0", 0, 0, 0x1000, perm="r")
    assert b.unmap_all("c0") == 0x1000


def test_map_fails_no_access_for_perm_none(b: ModelBackend) -> None:
    error_of(ErrorId.DMA_MAP_NO_ACCESS, b.map, "c0", 0, 0, 0x1000, "none")


def test_translate_fails_eval_when_unmapped(b: ModelBackend) -> None:
    error = error_of(ErrorId.SCENARIO_EVAL, b.translate, "c0", 0x5000)
    assert "0x5000" in error.message


def test_device_fails_bdf_but_is_declared() -> None:
    backend = ModelBackend()
    error_of(ErrorId.DEVICE_INVALID_BDF, backend.device, "gpu0", "0000:01:20.0")
    backend.device_bar("gpu0", 0, "mem32", 16)
    assert backend.bar_size("gpu0", 0) == 16


def test_device_member_errors_pass_through(b: ModelBackend) -> None:
    error_of(ErrorId.DEVICE_INVALID_BAR_SLOT, b.device_bar, "gpu0", 1, "mem32", 16)
    error_of(ErrorId.DEVICE_INVALID_BAR_INDEX, b.device_bar, "gpu0", 6, "mem32", 16)
    error_of(ErrorId.DEVICE_INVALID_BAR_SIZE, b.device_bar, "gpu0", 3, "mem32", 17)
    error_of(ErrorId.DEVICE_INVALID_BAR_SLOT, b.device_rom, "gpu0", 2048)
    error_of(ErrorId.DEVICE_INVALID_MSIX_DUPLICATE, b.device_msix, "gpu0", 1, 2, 0, 2, 0x1000)


def test_attach_and_its_errors(b: ModelBackend) -> None:
    b.container("c1", reserved="none")
    b.map("c1", 0xFEE00000, 0, 0x1000)
    error_of(ErrorId.DEVICE_ATTACH_CONFLICT, b.attach, "gpu0", "c1")
    b.attach("gpu0", "c0")
    error_of(ErrorId.DEVICE_ATTACH_ALREADY_ATTACHED, b.attach, "gpu0", "c0")


def test_alloc_and_bar_attributes(b: ModelBackend) -> None:
    b.alloc("gpu0")
    assert b.bar_gpa("gpu0", 0) == 0x100_0000_0000
    assert b.bar_gpa("gpu0", 2) == 0xC0000000
    assert b.rom_gpa("gpu0") == 0xC1000000 and b.rom_size("gpu0") == 512 << 10
    assert b.bar_size("gpu0", 5) == 0 and b.bar_gpa("gpu0", 5) == 0


def test_alloc_follows_the_run_default_windows() -> None:
    backend = ModelBackend(CoreDefaults(mmio32=WindowSpec(0x8000_0000, 256 * MB)))
    backend.device("d", "01:00.0")
    backend.device_bar("d", 0, "mem32", MB)
    backend.alloc("d")
    assert backend.bar_gpa("d", 0) == 0x8000_0000


def test_window_statement_replaces_the_window(b: ModelBackend) -> None:
    b.window("mmio32", 0xA0000000, 256 * MB)
    b.alloc("gpu0")
    assert b.bar_gpa("gpu0", 2) == 0xA0000000


def test_cfg_read_and_write(b: ModelBackend) -> None:
    b.alloc("gpu0")
    b.cfg_write("gpu0", 0x18, 0xFFFFFFFF)
    assert b.cfg_read("gpu0", 0x18) == 0xFF000000
    assert b.cfg_read("gpu0", 0x19, 2) == 0x0000  # inside one dword: legal
    error_of(ErrorId.CONFIG_UNALIGNED, b.cfg_read, "gpu0", 0x1B, 2)
    error_of(ErrorId.CONFIG_OUT_OF_RANGE, b.cfg_write, "gpu0", 0x1000, 0, 4)


def test_msix_flow(b: ModelBackend) -> None:
    b.cfg_write("gpu0", 0x04, 0x0006, 2)  # Memory Space and Bus Master, as a driver sets them
    assert b.command("gpu0") == 0x0006
    b.msix_entry("gpu0", 3, 0xFEE00000, 0x4041)
    assert b.msix_configured("gpu0") == 1
    b.msix_unmask("gpu0", 3)
    assert not b.msix_masked("gpu0", 3)
    b.irq("gpu0", 3)
    assert b.msix_pending("gpu0", 3) and b.msix_delivered("gpu0", 3) == 0
    error_of(ErrorId.SCENARIO_EVAL, b.msix_last_addr, "gpu0", 3)
    b.msix_enable("gpu0", True)
    assert b.msix_enabled("gpu0") and b.msix_delivered("gpu0", 3) == 1
    assert (b.msix_last_addr("gpu0", 3), b.msix_last_data("gpu0", 3)) == (0xFEE00000, 0x4041)
    b.msix_fmask("gpu0", True)
    assert b.msix_function_masked("gpu0")
    b.msix_mask("gpu0", 3)
    assert b.msix_masked("gpu0", 3) and b.msix_vectors("gpu0") == 64


def test_msix_errors(b: ModelBackend) -> None:
    error_of(ErrorId.MSIX_UNMASK_UNCONFIGURED, b.msix_unmask, "gpu0", 0)
    error_of(ErrorId.MSIX_VECTOR_OUT_OF_RANGE, b.msix_entry, "gpu0", 64, 0xFEE00000, 0)
    error_of(ErrorId.IRQ_VECTOR_OUT_OF_RANGE, b.irq, "gpu0", 64)
    for query in (b.msix_masked, b.msix_pending, b.msix_delivered):
        error_of(ErrorId.MSIX_VECTOR_OUT_OF_RANGE, query, "gpu0", 64)


def test_msix_on_a_device_without_it_is_unsupported() -> None:
    backend = ModelBackend()
    backend.device("nic", "02:00.0")
    assert backend.msix_vectors("nic") == 0
    for call, args in (
        (backend.msix_entry, ("nic", 0, 0xFEE00000, 0)),
        (backend.msix_mask, ("nic", 0)),
        (backend.msix_unmask, ("nic", 0)),
        (backend.msix_enable, ("nic", True)),
        (backend.msix_fmask, ("nic", True)),
        (backend.irq, ("nic", 0)),
        (backend.msix_masked, ("nic", 0)),
        (backend.msix_pending, ("nic", 0)),
        (backend.msix_delivered, ("nic", 0)),
    ):
        error = error_of(ErrorId.MSIX_UNSUPPORTED, call, *args)
        assert "no MSI-X capability" in error.message


def test_msix_state_of_a_device_without_it_reads_clear_and_unconfigured() -> None:
    backend = ModelBackend()
    backend.device("nic", "02:00.0")
    assert backend.msix_vectors("nic") == 0
    assert backend.msix_enabled("nic") is False
    assert backend.msix_function_masked("nic") is False
    assert backend.msix_configured("nic") == 0


def test_values_wider_than_their_field_fail_value_range(b: ModelBackend) -> None:
    error_of(ErrorId.SCENARIO_VALUE_RANGE, b.cfg_write, "gpu0", 0x3C, 0x100, 1)
    error_of(ErrorId.SCENARIO_VALUE_RANGE, b.msix_entry, "gpu0", 0, 0xFEE00000, 1 << 32)


def test_container_fails_unknown_reserved_as_bad_option() -> None:
    error_of(ErrorId.SCENARIO_BAD_OPTION, ModelBackend().container, "c", reserved="arm")  # type: ignore[arg-type]


def test_unmap_all_fails_with_a_non_zero_range(b: ModelBackend) -> None:
    b.map("c0", 0, 0, 0x1000)
    error_of(ErrorId.DMA_UNMAP_ALL_WITH_RANGE, b.unmap_all, "c0", iova=0x1000)
    error_of(ErrorId.DMA_UNMAP_ALL_WITH_RANGE, b.unmap_all, "c0", size=0x1000)
    assert b.unmap_all("c0", iova=0, size=0) == 0x1000


def test_mmio_reaches_the_bars_once_memory_space_is_on(b: ModelBackend) -> None:
    assert b.mmio_read("gpu0", 0, 0x100) == 0xFFFFFFFF  # decode off: master abort
    b.cfg_write("gpu0", 0x04, 0x0003, 2)
    b.mmio_write("gpu0", 0, 0x100, 0x1234_5678_9ABC_DEF0, 8)
    assert b.mmio_read("gpu0", 0, 0x104) == 0x1234_5678
    b.mmio_write("gpu0", 4, 0x10, 0xAB, 1)
    assert b.mmio_read("gpu0", 4, 0x10, 1) == 0xAB
    error_of(ErrorId.MMIO_NO_BAR, b.mmio_read, "gpu0", 1, 0)
    error_of(ErrorId.SCENARIO_VALUE_RANGE, b.mmio_write, "gpu0", 0, 0, 0x100, 1)


def test_mmio_programs_the_msix_table(b: ModelBackend) -> None:
    b.cfg_write("gpu0", 0x04, 0x0006, 2)
    b.mmio_write("gpu0", 2, 3 * 16, 0xFEE00000)
    b.mmio_write("gpu0", 2, 3 * 16 + 8, 0x4041)
    b.mmio_write("gpu0", 2, 3 * 16 + 12, 0)
    assert b.msix_configured("gpu0") == 1 and not b.msix_masked("gpu0", 3)
    error_of(ErrorId.MSIX_UNMASK_UNCONFIGURED, b.mmio_write, "gpu0", 2, 4 * 16 + 12, 0)


def test_device_reset_returns_the_device_to_its_declared_state(b: ModelBackend) -> None:
    b.alloc("gpu0")
    b.cfg_write("gpu0", 0x04, 0x0006, 2)
    b.msix_entry("gpu0", 0, 0xFEE00000, 1)
    b.msix_unmask("gpu0", 0)
    b.msix_enable("gpu0", True)
    b.irq("gpu0", 0)
    b.device_reset("gpu0")
    assert b.command("gpu0") == 0 and b.bar_gpa("gpu0", 0) == 0 and b.rom_gpa("gpu0") == 0
    assert not b.msix_enabled("gpu0") and b.msix_masked("gpu0", 0)
    assert b.msix_configured("gpu0") == 0
    assert b.msix_delivered("gpu0", 0) == 1 and b.msix_last_data("gpu0", 0) == 1
