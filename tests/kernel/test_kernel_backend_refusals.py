"""What the kernel backend refuses before it asks the guest anything (no QEMU needed): each
refusal is `Unsupported` with the reason, and the guest is never called."""

from __future__ import annotations

import pytest

from harness.backend import CoreDefaults, Unsupported
from harness.kernel.backend import KernelBackend
from harness.kernel.devices import Bar, GuestDevice, Layout, MsixLayout
from harness.kernel.survey import GuestFacts
from harness.vfio.catalog import VfioError

NIC = GuestDevice(
    "0000:00:01.0",
    1,
    0x8086,
    0x10D3,
    0x020000,
    Layout(
        (Bar(0, "mem32", 128 << 10), Bar(3, "mem32", 16 << 10)), 0, MsixLayout(5, 3, 0, 3, 0x2000)
    ),
    0xA0,
)
VTD = GuestFacts(
    "6.1.0-57-amd64",
    0x40201000,
    ((0, 0xFEDFFFFF), (0xFEF00000, (1 << 39) - 1)),
    65535,
    (NIC,),
)


class Untouched:
    """A session whose guest must not be asked: every call fails the test."""

    def __init__(self, defaults: CoreDefaults = CoreDefaults(), facts: GuestFacts = VTD) -> None:  # noqa: B008
        self.defaults = defaults
        self.facts = facts

    def call(self, op: str, *args: int | str) -> list[str]:
        raise AssertionError(f"the guest was asked {op} {args}")


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ({"pgsize": 64 << 10}, "pgsize=64K, but the guest's IOMMU maps pages of 0x40201000"),
        ({"reserved": "none"}, "reserved=none, but the guest's IOMMU reports the valid IOVA"),
        ({"aw": 48}, "aw=48, but the guest's IOMMU has a 39-bit address width"),
    ],
)
def test_a_container_the_iommu_cannot_be_is_unsupported(
    options: dict[str, object], reason: str
) -> None:
    with pytest.raises(Unsupported, match=reason):
        KernelBackend(Untouched()).container("c0", **options)  # type: ignore[arg-type]


def test_the_runs_default_width_counts_as_the_containers() -> None:
    session = Untouched(CoreDefaults(aw=48))
    with pytest.raises(Unsupported, match="aw=48"):
        KernelBackend(session).container("c0")


def test_a_bad_option_is_the_languages_error_not_the_kernels() -> None:
    with pytest.raises(VfioError) as caught:
        KernelBackend(Untouched()).container("c0", pgsize=3000)
    assert caught.value.id.startswith("scenario.error:")


def test_an_invalid_declaration_is_unsupported_with_the_models_reason() -> None:
    backend = KernelBackend(Untouched())
    backend.device("d", "0000:00:01.0")
    with pytest.raises(Unsupported, match=r"device.invalid:bar.size"):
        backend.device_bar("d", 0, "mem32", 3000)


def test_an_invalid_bdf_is_unsupported() -> None:
    with pytest.raises(Unsupported, match=r"device.invalid:bdf"):
        KernelBackend(Untouched()).device("d", "0000:100:00.0")


def test_a_bar_no_guest_device_has_is_unsupported_at_once() -> None:
    backend = KernelBackend(Untouched())
    backend.device("gpu", "0000:65:00.0")
    with pytest.raises(Unsupported, match=r"declares so far \[bar 0 mem64 prefetch 256M\]"):
        backend.device_bar("gpu", 0, "mem64", 256 << 20, prefetch=True)


def test_sizes_of_a_matched_device_come_from_its_vfio_regions() -> None:
    backend = KernelBackend(Untouched())
    backend.device("nic", "0000:01:00.0")
    backend.device_bar("nic", 0, "mem32", 128 << 10)
    backend.device_bar("nic", 3, "mem32", 16 << 10)
    backend.device_msix("nic", 5, 3, 0, 3, 0x2000)
    assert (backend.bar_size("nic", 3), backend.bar_size("nic", 1)) == (16 << 10, 0)
    assert (backend.rom_size("nic"), backend.msix_vectors("nic")) == (0, 5)


def test_a_declaration_left_incomplete_is_refused_at_the_next_call() -> None:
    backend = KernelBackend(Untouched())
    backend.device("nic", "0000:01:00.0")
    backend.device_bar("nic", 0, "mem32", 128 << 10)  # BAR 3 and MSI-X left out
    with pytest.raises(Unsupported, match=r"device nic declares \[bar 0 mem32 128K\]"):
        backend.rom_size("nic")
