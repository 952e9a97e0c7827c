"""The kernel backend on the real guest: DMA, devices, MSI-X, the errno rule (needs QEMU)."""

from __future__ import annotations

from typing import Any

import pytest

from harness.backend import Unsupported
from harness.kernel.session import KernelSession
from harness.vfio.catalog import VfioError

E1000E = [
    (0, "mem32", 128 << 10),
    (1, "mem32", 128 << 10),
    (2, "io", 32),
    (3, "mem32", 16 << 10),
]


def _fail(call: Any) -> VfioError:
    with pytest.raises(VfioError) as caught:
        call()
    return caught.value


def _declare_nic(backend: Any, name: str = "nic") -> None:
    backend.device(name, "0000:01:00.0")
    for index, kind, size in E1000E:
        backend.device_bar(name, index, kind, size)
    backend.device_msix(name, 5, 3, 0x0, 3, 0x2000)


def test_session_info_names_the_kernel_iommu_accelerator_and_qemu(
    kernel_session: KernelSession,
) -> None:
    info = kernel_session.info
    assert info["kernel"].startswith("6.1.")
    assert info["iommu"].startswith("Intel VT-d, 39-bit")
    assert info["accel"] in ("tcg (auto)", "kvm (auto)")
    assert info["qemu"][0].isdigit()


def test_map_unmap_and_the_counts_come_from_the_kernel(kernel_session: KernelSession) -> None:
    backend = kernel_session.fresh()
    backend.container("c0", limit=10)
    backend.map("c0", 0x100000, 0x7F0000000000, 0x200000)
    backend.map("c0", 0x300000, 0x7F0000200000, 0x1000, "r")
    assert backend.avail("c0") == 8
    assert backend.mappings("c0") == 2
    assert backend.mapped("c0") == 0x201000
    assert backend.mapped_at("c0", 0x2FFFFF) and not backend.mapped_at("c0", 0x301000)
    assert backend.unmap("c0", 0x100000, 0x201000) == 0x201000
    assert backend.unmap_all("c0") == 0
    assert (backend.mappings("c0"), backend.mapped("c0")) == (0, 0)


def test_each_scenario_starts_with_no_mapping(kernel_session: KernelSession) -> None:
    first = kernel_session.fresh()
    first.container("c0")
    first.map("c0", 0x100000, 0x7F0000000000, 0x100000)
    second = kernel_session.fresh()
    second.container("c0")
    second.map("c0", 0x100000, 0x7F0000000000, 0x100000)  # no overlap: the first is gone
    assert second.mappings("c0") == 1


def test_a_kernel_failure_keeps_the_models_id_when_the_errno_agrees(
    kernel_session: KernelSession,
) -> None:
    backend = kernel_session.fresh()
    backend.container("c0", limit=1)
    backend.map("c0", 0x100000, 0x7F0000000000, 0x100000)
    overlap = _fail(lambda: backend.map("c0", 0x180000, 0x7F0000000000, 0x1000))
    assert (overlap.id, overlap.errno) == ("dma.map.failed:overlap", 17)
    full = _fail(lambda: backend.map("c0", 0x400000, 0x7F0000000000, 0x1000))
    assert (full.id, full.errno) == ("dma.map.failed:limit.exceeded", 28)
    bisect = _fail(lambda: backend.unmap("c0", 0x100000, 0x1000))
    assert (bisect.id, bisect.errno) == ("dma.unmap.failed:bisects.mapping", 22)


def test_a_kernel_failure_the_model_does_not_share_is_a_kernel_errno(
    kernel_session: KernelSession,
) -> None:
    backend = kernel_session.fresh()
    backend.container("c0")
    fault = _fail(lambda: backend.map("c0", 0x0, 0xFFFFFFFFFFFFC000, 0x1000))  # not user memory
    assert (fault.id, fault.errno) == ("kernel.errno:EFAULT", 14)
    wrap = _fail(lambda: backend.map("c0", 0xFFFFFFFFFFFFF000, 0x1000, 0x2000))  # kernel issue 1
    assert (wrap.id, wrap.errno) == ("kernel.errno:EINVAL", 22)
    assert "the model says dma.map.failed:overflow (EOVERFLOW)" in wrap.message


def test_a_map_only_the_default_width_allows_is_unsupported(
    kernel_session: KernelSession,
) -> None:
    backend = kernel_session.fresh()
    backend.container("c0")
    with pytest.raises(Unsupported, match="39-bit address width"):
        backend.map("c0", 1 << 39, 0x7F0000000000, 0x1000)


def test_a_container_with_the_real_width_fails_such_a_map_as_out_of_range(
    kernel_session: KernelSession,
) -> None:
    backend = kernel_session.fresh()
    backend.container("c0", aw=39)
    error = _fail(lambda: backend.map("c0", 1 << 39, 0x7F0000000000, 0x1000))
    assert (error.id, error.errno) == ("dma.map.failed:out.of.range", 22)


def test_the_msi_window_is_out_of_range_on_the_kernel_too(kernel_session: KernelSession) -> None:
    backend = kernel_session.fresh()
    backend.container("c0")
    error = _fail(lambda: backend.map("c0", 0xFEE00000, 0x7F0000000000, 0x1000))
    assert (error.id, error.errno) == ("dma.map.failed:out.of.range", 22)


def test_type1_v1_unmap_removes_a_whole_mapping(kernel_session: KernelSession) -> None:
    backend = kernel_session.fresh()
    backend.container("c0", mode="v1")
    backend.map("c0", 0x100000, 0x7F0000000000, 0x200000)
    assert backend.unmap("c0", 0x100000, 0x1000) == 0x200000


def test_a_real_devices_bars_size_like_the_model_says(kernel_session: KernelSession) -> None:
    backend = kernel_session.fresh()
    backend.container("vm")
    _declare_nic(backend)
    backend.attach("nic", "vm")
    assert backend.bar_size("nic", 0) == 128 << 10 and backend.msix_vectors("nic") == 5
    with pytest.raises(Unsupported, match="host's address"):
        backend.cfg_read("nic", 0x10)
    for offset, sized in ((0x10, 0xFFFE0000), (0x18, 0xFFFFFFE1), (0x1C, 0xFFFFC000)):
        backend.cfg_write("nic", offset, 0xFFFFFFFF)
        assert backend.cfg_read("nic", offset) == sized
    again = _fail(lambda: backend.attach("nic", "vm"))
    assert (again.id, again.errno) == ("device.attach.failed:already.attached", 22)


def test_msix_routes_a_vector_only_once_unmasked(kernel_session: KernelSession) -> None:
    backend = kernel_session.fresh()
    _declare_nic(backend)
    assert not backend.msix_enabled("nic")
    backend.msix_enable("nic", True)
    assert backend.msix_enabled("nic")
    backend.irq("nic", 0)  # masked: its eventfd is not routed
    assert backend.msix_delivered("nic", 0) == 0
    backend.msix_unmask("nic", 1)  # the model refuses (no address programmed); VFIO routes it
    backend.irq("nic", 1)
    backend.irq("nic", 1)
    assert backend.msix_delivered("nic", 1) == 2
    beyond = _fail(lambda: backend.irq("nic", 5))
    assert (beyond.id, beyond.errno) == ("irq.failed:vector.out.of.range", 22)
    backend.msix_enable("nic", False)
    assert not backend.msix_enabled("nic")
    disabled = _fail(lambda: backend.irq("nic", 1))
    assert (disabled.id, disabled.errno) == ("kernel.errno:EINVAL", 22)


def test_a_declaration_no_guest_device_has_is_unsupported(kernel_session: KernelSession) -> None:
    backend = kernel_session.fresh()
    backend.device("gpu", "0000:65:00.0")
    with pytest.raises(Unsupported, match=r"device gpu declares so far \[bar 0 mem64 prefetch"):
        backend.device_bar("gpu", 0, "mem64", 256 << 20, prefetch=True)


def test_a_method_outside_the_scope_is_unsupported_as_missing(
    kernel_session: KernelSession,
) -> None:
    backend = kernel_session.fresh()
    assert "bar_gpa" not in kernel_session.methods  # the VMM's own state: VFIO holds none
    with pytest.raises(Unsupported) as caught:
        backend.bar_gpa("nic", 0)
    assert caught.value.missing


@pytest.mark.parametrize("mode", ["v1", "v2"])
def test_translate_gives_the_vaddr_of_the_mapping_the_kernel_holds(
    kernel_session: KernelSession, mode: str
) -> None:
    backend = kernel_session.fresh()
    backend.container("c0", mode=mode)  # type: ignore[arg-type]
    backend.map("c0", 0x100000, 0x7F0000000000, 0x200000)
    assert backend.translate("c0", 0x100000) == 0x7F0000000000
    assert backend.translate("c0", 0x2FFFFF) == 0x7F00001FFFFF
    # The kernel refuses an overlapping map: the vaddr stays the first map's.
    _fail(lambda: backend.map("c0", 0x200000, 0x7F0000900000, 0x1000))
    assert backend.translate("c0", 0x200000) == 0x7F0000100000
    # Unmapped and mapped again elsewhere in memory: the new map's vaddr.
    assert backend.unmap("c0", 0x100000, 0x200000) == 0x200000
    unmapped = _fail(lambda: backend.translate("c0", 0x100000))
    assert unmapped.id == "scenario.error:eval" and "holds no mapping" in unmapped.message
    backend.map("c0", 0x100000, 0x7F0000800000, 0x1000)
    assert backend.translate("c0", 0x100FFF) == 0x7F0000800FFF
    unmapped = _fail(lambda: backend.translate("c0", 0x101000))
    assert unmapped.id == "scenario.error:eval"


def test_scattered_vaddrs_stay_backed_across_scenarios(kernel_session: KernelSession) -> None:
    # 2,100 vaddrs 4 MiB apart: more separate stretches of backing than half the agent's
    # table, which the next reset then clears; every map pins real memory all along.
    backend = kernel_session.fresh()
    backend.container("c0", limit=3000)
    for n in range(2100):
        backend.map("c0", n * 0x1000, 0x7E0000000000 + n * 0x400000, 0x1000)
    assert backend.mappings("c0") == 2100
    again = kernel_session.fresh()
    again.container("c0")
    again.map("c0", 0x0, 0x7E0000000000, 0x1000)
    again.map("c0", 0x1000, 0x7E0000000000 + 2099 * 0x400000, 0x1000)
    assert again.mapped("c0") == 0x2000
