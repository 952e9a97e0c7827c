"""`kernel setup` on a copy of the set-up cache: a second run builds nothing, a broken
artifact is never used and is rebuilt (needs QEMU and apt's package lists)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.backend import CoreDefaults
from harness.kernel import artifacts, cache, provision, qemu
from harness.kernel.config import KernelConfig
from harness.kernel.errors import SetupError
from harness.kernel.session import KernelSession


@pytest.fixture
def cache_copy(kernel_ready: None, tmp_path: Path) -> Path:
    """The default configuration's artifacts, copied into a cache of the test's own."""
    source = cache.cache_root()
    root = tmp_path / "kernel"
    root.mkdir()
    config = KernelConfig()
    pointer = artifacts.pointer_path(source, config)
    names = artifacts.read_pointer(source, config)
    for name in names.values():
        shutil.copytree(source / name, root / name)
    shutil.copy(pointer, root / pointer.name)
    return root


def _setup(root: Path) -> list[str]:
    said: list[str] = []
    provision.setup(KernelConfig(), root, say=said.append)
    return said


def test_a_second_setup_builds_and_boots_nothing(cache_copy: Path) -> None:
    said = _setup(cache_copy)
    steps = [line for line in said if line.startswith("  ") and ": " in line]
    assert steps and all(line.endswith("up to date") for line in steps[1:]), said
    assert not any("booted" in line or "built" in line for line in said)
    assert qemu.live() == []


def test_a_broken_snapshot_is_refused_then_rebuilt(cache_copy: Path) -> None:
    names = artifacts.read_pointer(cache_copy, KernelConfig())
    snapshot = cache_copy / names["snapshot"] / artifacts.SNAPSHOT
    data = bytearray(snapshot.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte, same size
    snapshot.write_bytes(bytes(data))
    with pytest.raises(SetupError, match="snapshot artifact is broken and will not be used"):
        KernelSession(CoreDefaults(), root=cache_copy)
    said = _setup(cache_copy)
    assert any("broken" in line and "SHA-256" in line for line in said), said
    assert any(line.startswith("  booted to the agent") for line in said)
    session = KernelSession(CoreDefaults(), root=cache_copy)
    try:
        session.fresh().container("c0")
    finally:
        session.close()


def test_an_interrupted_build_is_rebuilt(cache_copy: Path) -> None:
    names = artifacts.read_pointer(cache_copy, KernelConfig())
    (cache_copy / names["guest"] / cache.MANIFEST).unlink()  # as if killed before the end
    said = _setup(cache_copy)
    assert any("no manifest" in line and "rebuilding" in line for line in said), said
    artifacts.installed(KernelConfig(), cache_copy)


def test_a_session_without_setup_names_the_command(tmp_path: Path) -> None:
    with pytest.raises(SetupError) as caught:
        KernelSession(CoreDefaults(), KernelConfig("6.12", "virtio"), root=tmp_path)
    assert "no guest is set up for kernel.version=6.12 kernel.iommu=virtio" in caught.value.message
    assert caught.value.hint == (
        "run `python -m harness kernel setup --version 6.12 --iommu virtio`"
        " (once; it keeps what it builds)"
    )
