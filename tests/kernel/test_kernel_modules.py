"""Finding and ordering the guest's kernel modules (`harness.kernel.modules`)."""

from __future__ import annotations

import lzma
from pathlib import Path

import pytest
from kernel_images import elf_file, module

from harness.kernel import modules


def _tree(tmp_path: Path, files: dict[str, bytes]) -> Path:
    """An unpacked linux-image package holding these module files (path under kernel/)."""
    for name, data in files.items():
        path = tmp_path / "lib" / "modules" / "6.1.0-1-amd64" / "kernel" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return tmp_path


def _debian_61(tmp_path: Path) -> Path:
    """The VFIO modules of Debian's 6.1 with their real depends= lists."""
    return _tree(
        tmp_path,
        {
            "virt/lib/irqbypass.ko": module("irqbypass"),
            "drivers/vfio/vfio.ko": module("vfio"),
            "drivers/vfio/vfio_iommu_type1.ko": module("vfio_iommu_type1", ["vfio"]),
            "drivers/vfio/vfio_virqfd.ko": module("vfio_virqfd"),
            "drivers/vfio/pci/vfio-pci-core.ko": module(
                "vfio_pci_core", ["vfio", "vfio_virqfd", "irqbypass"]
            ),
            "drivers/vfio/pci/vfio-pci.ko": module("vfio_pci", ["vfio-pci-core", "vfio"]),
        },
    )


def test_load_order_puts_every_module_after_its_dependencies(tmp_path: Path) -> None:
    files = modules.index(_debian_61(tmp_path))
    order = [m.name for m in modules.load_order(["vfio_iommu_type1", "vfio_pci"], files)]
    assert order == [
        "vfio",
        "vfio_iommu_type1",
        "vfio_virqfd",
        "irqbypass",
        "vfio_pci_core",
        "vfio_pci",
    ]


def test_load_order_reads_compressed_modules(tmp_path: Path) -> None:
    tree = _tree(
        tmp_path,
        {
            "drivers/vfio/vfio.ko.xz": lzma.compress(module("vfio")),
            "drivers/vfio/pci/vfio-pci.ko.xz": lzma.compress(module("vfio_pci", ["vfio"])),
        },
    )
    order = modules.load_order(["vfio-pci"], modules.index(tree))
    assert [m.name for m in order] == ["vfio", "vfio_pci"]
    assert modules.elf_bytes(order[1].path) == module("vfio_pci", ["vfio"])


def test_load_order_leaves_out_built_in_modules(tmp_path: Path) -> None:
    tree = _tree(tmp_path, {"drivers/vfio/vfio.ko": module("vfio")})
    listing = tmp_path / "lib" / "modules" / "6.1.0-1-amd64" / "modules.builtin"
    listing.write_text("kernel/drivers/char/virtio_console.ko\nkernel/drivers/virtio/virtio.ko\n")
    builtin = modules.builtin(tree)
    assert builtin == {"virtio_console", "virtio"}
    order = modules.load_order(["virtio_console", "vfio"], modules.index(tree), builtin)
    assert [m.name for m in order] == ["vfio"]


def test_load_order_fails_on_a_missing_module(tmp_path: Path) -> None:
    tree = _tree(tmp_path, {"drivers/vfio/pci/vfio-pci.ko": module("vfio_pci", ["vfio"])})
    with pytest.raises(modules.ModuleError, match="has no module vfio"):
        modules.load_order(["vfio_pci"], modules.index(tree))


def test_load_order_fails_on_a_dependency_loop(tmp_path: Path) -> None:
    tree = _tree(tmp_path, {"a.ko": module("a", ["b"]), "b.ko": module("b", ["a"])})
    with pytest.raises(modules.ModuleError, match="loop: a -> b -> a"):
        modules.load_order(["a"], modules.index(tree))


def test_modinfo_fails_on_a_file_without_modinfo() -> None:
    with pytest.raises(modules.ModuleError, match=r"no \.modinfo section"):
        modules.modinfo(elf_file([(".text", b"\x90")]))


def test_elf_bytes_fails_on_a_corrupt_compressed_module(tmp_path: Path) -> None:
    path = tmp_path / "broken.ko.xz"
    path.write_bytes(b"\xfd7zXZ\0 not really")
    with pytest.raises(modules.ModuleError, match="does not decompress"):
        modules.elf_bytes(path)
