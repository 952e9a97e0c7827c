"""Cross-module properties, driven through `harness.model.ModelBackend` as scenarios drive it.

Each property combines DMA, BARs, config space and MSI-X the way a VMM does (identity-mapped
guest RAM, BARs in the guest windows, vectors routed through the table) and checks the result
against plain arithmetic and counting done here.
"""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st
from vfio_errors import error_of

from harness.backend import CoreDefaults
from harness.model import ModelBackend
from harness.vfio.address import Gpa, Iova
from harness.vfio.catalog import ErrorId, VfioError

MSI_FIRST, MSI_LAST = 0xFEE0_0000, 0xFEEF_FFFF
PG = 4096
KINDS = {"mem32": (4, 26), "mem64": (4, 34), "io": (2, 8)}
BAR_CHOICES = tuple(
    (kind, 1 << bits) for kind, (low, high) in KINDS.items() for bits in range(low, high + 1)
)
bar_lists = st.lists(st.sampled_from(BAR_CHOICES), min_size=1, max_size=6)


def _declare(
    backend: ModelBackend, name: str, bars: list[tuple[str, int]], bus: int
) -> dict[int, tuple[str, int]]:
    """Declare a device with BARs in the next free slots; returns index -> (kind, size)."""
    backend.device(name, f"0000:{bus:02x}:00.0")
    placed: dict[int, tuple[str, int]] = {}
    slot = 0
    for kind, size in bars:
        width = 2 if kind == "mem64" else 1
        if slot + width > 6:
            break
        backend.device_bar(name, slot, kind, size)  # type: ignore[arg-type]
        placed[slot] = (kind, size)
        slot += width
    return placed


@given(st.lists(bar_lists, min_size=1, max_size=2))
def test_prop_integration_bar_size_alignment(devices: list[list[tuple[str, int]]]) -> None:
    """After alloc each BAR's gpa is a multiple of its size, and sizing it in config agrees."""
    backend = ModelBackend(CoreDefaults())
    for n, bars in enumerate(devices):
        name = f"gpu{n}"
        placed = _declare(backend, name, bars, n + 1)
        backend.alloc(name)
        for index, (kind, size) in placed.items():
            assert backend.bar_size(name, index) == size
            gpa = backend.bar_gpa(name, index)
            assert gpa != 0 and gpa % size == 0
            register = 0x10 + 4 * index
            backend.cfg_write(name, register, 0xFFFF_FFFF)
            low = backend.cfg_read(name, register)
            value = low
            if kind == "mem64":
                backend.cfg_write(name, register + 4, 0xFFFF_FFFF)
                value |= backend.cfg_read(name, register + 4) << 32
            address_bits = value & ~(0x3 if kind == "io" else 0xF)
            assert address_bits & -address_bits == size
            assert backend.bar_gpa(name, index) == gpa  # sizing never moves a BAR


@given(
    st.lists(st.integers(min_value=1, max_value=64), min_size=1, max_size=4),
    bar_lists,
)
def test_prop_integration_dma_bar_separate(ram_mib: list[int], bars: list[tuple[str, int]]) -> None:
    """Identity-mapped guest RAM (IOVA = GPA) and the BARs never share a guest address."""
    backend = ModelBackend(CoreDefaults())
    backend.container("c0")
    placed = _declare(backend, "gpu", bars, 1)
    backend.attach("gpu", "c0")
    regions, gpa = [], 0x10_0000
    for mib in ram_mib:  # RAM regions below the mmio32 window, 1 MiB apart
        size = mib << 20
        hva = 0x7F00_0000_0000 + gpa
        backend.map("c0", Iova.from_gpa(Gpa(gpa)).value, hva, size)
        regions.append((gpa, size, hva))
        gpa += size + (1 << 20)
    backend.alloc("gpu")
    for index, (_, size) in placed.items():
        bar = backend.bar_gpa("gpu", index)
        for first in (bar, bar + size - 1):
            assert not backend.mapped_at("c0", Iova.from_gpa(Gpa(first)).value)
        assert all(bar + size <= g or g + s <= bar for g, s, _ in regions)
    for g, s, hva in regions:
        assert backend.translate("c0", g + s - 1) == hva + s - 1
    assert backend.mappings("c0") == len(regions)
    assert backend.mapped("c0") == sum(s for _, s, _ in regions)


@given(
    st.integers(min_value=1, max_value=64),
    st.lists(st.integers(min_value=0, max_value=63), max_size=30),
)
def test_prop_integration_multiple_vectors(n: int, raised: list[int]) -> None:
    """With every vector routed, each irq is delivered once on its own vector."""
    backend = ModelBackend(CoreDefaults())
    backend.device("gpu", "01:00.0")
    backend.device_bar("gpu", 0, "mem32", 0x10000)
    backend.device_msix("gpu", n, 0, 0x0, 0, 0x8000)
    backend.cfg_write("gpu", 0x04, 0x0006, 2)  # Memory Space and Bus Master, as a driver does
    for v in range(n):
        backend.msix_entry("gpu", v, 0xFEE0_0000 | (v % 8) << 12, 0x4000 + v)
        backend.msix_unmask("gpu", v)
    backend.msix_enable("gpu", True)
    expected = Counter(v for v in raised if v < n)
    for v in raised:
        if v < n:
            backend.irq("gpu", v)
        else:
            error_of(ErrorId.IRQ_VECTOR_OUT_OF_RANGE, lambda v=v: backend.irq("gpu", v))
    assert [backend.msix_delivered("gpu", v) for v in range(n)] == [expected[v] for v in range(n)]
    assert not any(backend.msix_pending("gpu", v) for v in range(n))
    assert backend.msix_configured("gpu") == n == backend.msix_vectors("gpu")


@given(st.lists(st.tuples(st.integers(-8, 8), st.integers(1, 8)), max_size=4))
def test_prop_integration_attach_reserves_msi_window(pieces: list[tuple[int, int]]) -> None:
    """Attach reserves the x86 MSI window: a mapping in it is a conflict, later maps fail."""
    backend = ModelBackend(CoreDefaults())
    backend.container("c0", reserved="none")
    backend.device("gpu", "01:00.0")
    spans: list[tuple[int, int]] = []
    for offset, pages in pieces:  # offsets in units of 64 KiB around the window's start
        first = MSI_FIRST + offset * 0x10000
        last = first + pages * PG - 1
        if any(f <= last and first <= lst for f, lst in spans):
            continue
        backend.map("c0", first, first, pages * PG)
        spans.append((first, last))
    before = (backend.mappings("c0"), backend.mapped("c0"))
    if any(f <= MSI_LAST and lst >= MSI_FIRST for f, lst in spans):
        error_of(ErrorId.DEVICE_ATTACH_CONFLICT, lambda: backend.attach("gpu", "c0"))
        assert (backend.mappings("c0"), backend.mapped("c0")) == before
        backend.unmap_all("c0")
    backend.attach("gpu", "c0")
    error_of(ErrorId.DMA_MAP_OUT_OF_RANGE, lambda: backend.map("c0", MSI_FIRST, 0, PG))
    error_of(ErrorId.DEVICE_ATTACH_ALREADY_ATTACHED, lambda: backend.attach("gpu", "c0"))


OPS = st.lists(
    st.sampled_from(
        [
            (op, page, count)
            for op in ("map", "map", "unmap", "map_bad", "unmap_bad")
            for page in range(16)
            for count in (1, 2, 3)
        ]
    ),
    max_size=15,
)


@given(OPS, st.sampled_from(["v1", "v2"]))
def test_prop_integration_backend_failures_change_nothing(
    ops: list[tuple[str, int, int]], mode: str
) -> None:
    """Through the backend, every failed operation leaves every observable attribute as it was."""
    backend = ModelBackend(CoreDefaults(limit=5))
    backend.container("c0", mode=mode)  # type: ignore[arg-type]

    def observe() -> tuple[object, ...]:
        at = tuple(backend.mapped_at("c0", p * PG) for p in range(20))
        return (backend.mappings("c0"), backend.mapped("c0"), backend.avail("c0"), at)

    for op, page, count in ops:
        before = observe()
        iova, size = page * PG, count * PG
        try:
            if op == "map":
                backend.map("c0", iova, 0x1000_0000 + iova, size)
            elif op == "map_bad":
                backend.map("c0", iova, 0x1000_0000, size, "none")
            elif op == "unmap":
                backend.unmap("c0", iova, size)
            else:
                backend.unmap("c0", iova + 0x800, size)
        except VfioError as error:
            assert error.id.startswith(("dma.map.failed:", "dma.unmap.failed:"))
            assert observe() == before
        else:
            assert op in ("map", "unmap")
    assert backend.avail("c0") == 5 - backend.mappings("c0")


MOVABLE = tuple(choice for choice in BAR_CHOICES if choice[0] != "mem64")


@given(
    st.sampled_from(MOVABLE),
    bar_lists,
    st.integers(min_value=0, max_value=5),
    st.integers(min_value=1, max_value=0x3FFF),
)
def test_prop_integration_guest_relocation_visible(
    first: tuple[str, int], more: list[tuple[str, int]], pick: int, slot: int
) -> None:
    """A guest move of a 32-bit or io BAR in config space is what `barN.gpa` then reports."""
    backend = ModelBackend(CoreDefaults())
    placed = _declare(backend, "gpu", [first, *more], 1)
    backend.alloc("gpu")
    movable = [i for i, (kind, _) in placed.items() if kind != "mem64"]
    index = movable[pick % len(movable)]
    kind, size = placed[index]
    low_bits = 0x3 if kind == "io" else 0xF
    target = slot * size & 0xFFFF_FFFF & ~low_bits  # naturally aligned, 32 bits
    if target == 0 or target | low_bits == 0xFFFF_FFFF:
        return  # 0 is "not placed", all ones is a sizing write
    backend.cfg_write("gpu", 0x10 + 4 * index, target)
    assert backend.bar_gpa("gpu", index) == target
    assert backend.cfg_read("gpu", 0x10 + 4 * index) & ~low_bits == target


@given(st.integers(min_value=1, max_value=2048), st.booleans(), st.booleans())
def test_prop_integration_msix_control_via_config(n: int, enable: bool, fmask: bool) -> None:
    """Message Control written through config space is what the MSI-X attributes report."""
    backend = ModelBackend(CoreDefaults())
    backend.device("gpu", "01:00.0")
    backend.device_bar("gpu", 0, "mem64", 0x10_0000)
    backend.device_msix("gpu", n, 0, 0x0, 0, 0x8000)
    backend.cfg_write("gpu", 0x04, 0x0006, 2)  # Memory Space and Bus Master, as a driver does
    backend.msix_entry("gpu", n - 1, MSI_FIRST, 0x77)
    backend.msix_unmask("gpu", n - 1)
    backend.irq("gpu", n - 1)  # Enable is clear: held pending
    assert backend.msix_pending("gpu", n - 1)
    control = (0x8000 if enable else 0) | (0x4000 if fmask else 0)
    cap = backend.cfg_read("gpu", 0x34, 1)  # the one capability: MSI-X
    assert backend.cfg_read("gpu", cap, 1) == 0x11
    backend.cfg_write("gpu", cap + 2, control, 2)
    assert backend.msix_enabled("gpu") == enable
    assert backend.msix_function_masked("gpu") == fmask
    opened = enable and not fmask
    assert backend.msix_delivered("gpu", n - 1) == int(opened)
    assert backend.msix_pending("gpu", n - 1) == (not opened)


@given(
    st.sampled_from(
        [
            "0000:100:00.0",
            "0000:00:20.0",
            "0000:00:00.8",
            "10000:00:00.0",
            "00:00",
            "0000:00:00.0 ",
            "",
            "00::00.0",
        ]
    ),
    st.sampled_from(BAR_CHOICES),
)
def test_prop_integration_bad_bdf_still_declares_device(text: str, bar: tuple[str, int]) -> None:
    """A bad BDF fails as device.invalid:bdf, yet the device exists and takes members."""
    backend = ModelBackend(CoreDefaults())
    error_of(ErrorId.DEVICE_INVALID_BDF, lambda: backend.device("gpu", text))
    kind, size = bar
    backend.device_bar("gpu", 0, kind, size)  # type: ignore[arg-type]
    backend.alloc("gpu")
    assert backend.bar_size("gpu", 0) == size and backend.bar_gpa("gpu", 0) % size == 0
    assert backend.msix_vectors("gpu") == 0
    error_of(ErrorId.MSIX_UNSUPPORTED, lambda: backend.irq("gpu", 0))
