"""Kernel modules for the guest: found in the unpacked package, ordered by their dependencies.

Debian builds VFIO as modules, and which helper modules exist changes between series
(`vfio_virqfd` is a module on 6.1 and built in on 6.12; 6.12 ships `.ko.xz`). So the order is
not written down anywhere: each module's `depends=` (its `.modinfo` section, what `modprobe`
reads) is followed from the modules the guest needs, and every module comes after the ones it
depends on. Compressed modules are decompressed here, so the guest's busybox `insmod` loads
plain ELF files.
"""

from __future__ import annotations

import lzma
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.kernel import elf

_SUFFIXES = (".ko", ".ko.xz")


class ModuleError(ValueError):
    """A module the guest needs is missing, unreadable, or its dependencies loop."""


@dataclass(frozen=True, slots=True)
class Module:
    """One kernel module: its name (underscores), file, and the modules it depends on."""

    name: str
    path: Path
    depends: tuple[str, ...]

    @property
    def file_name(self) -> str:
        """The uncompressed file name it gets in the guest (`vfio_pci.ko`)."""
        return f"{self.name}.ko"


def normalize(name: str) -> str:
    """Module names treat `-` and `_` alike; the kernel reports them with `_`."""
    return name.replace("-", "_")


def index(tree: Path) -> dict[str, Path]:
    """Every module file under `tree` (an unpacked linux-image package) by module name."""
    found: dict[str, Path] = {}
    for path in sorted((tree / "lib" / "modules").glob("*/kernel/**/*.ko*")):
        for suffix in _SUFFIXES:
            if path.name.endswith(suffix):
                found.setdefault(normalize(path.name[: -len(suffix)]), path)
    return found


def builtin(tree: Path) -> frozenset[str]:
    """The modules built into the kernel (`modules.builtin`): there is nothing to load."""
    names: set[str] = set()
    for listing in (tree / "lib" / "modules").glob("*/modules.builtin"):
        for line in listing.read_text(encoding="utf-8", errors="replace").splitlines():
            stem = line.strip().rsplit("/", 1)[-1]
            if stem.endswith(".ko"):
                names.add(normalize(stem[: -len(".ko")]))
    return frozenset(names)


def elf_bytes(path: Path) -> bytes:
    """The module's ELF bytes (decompressed when it is a `.ko.xz`)."""
    data = path.read_bytes()
    if path.name.endswith(".xz"):
        try:
            return lzma.decompress(data)
        except lzma.LZMAError as error:
            raise ModuleError(f"{path.name} does not decompress: {error}") from None
    return data


def modinfo(data: bytes) -> dict[str, str]:
    """The `key=value` entries of a module's `.modinfo` section (the first of each key)."""
    try:
        blob = elf.section(data, ".modinfo")
    except elf.ElfError as error:
        raise ModuleError(f"not a kernel module: {error}") from None
    if blob is None:
        raise ModuleError("not a kernel module: no .modinfo section")
    info: dict[str, str] = {}
    for entry in blob.split(b"\0"):
        key, sep, value = entry.decode("utf-8", "replace").partition("=")
        if sep:
            info.setdefault(key, value)
    return info


def read(name: str, files: Mapping[str, Path]) -> Module:
    """The module called `name`, with its dependencies read from its modinfo."""
    path = files.get(normalize(name))
    if path is None:
        raise ModuleError(f"the kernel package has no module {name}")
    info = modinfo(elf_bytes(path))
    depends = tuple(normalize(d) for d in info.get("depends", "").split(",") if d)
    return Module(normalize(name), path, depends)


def load_order(
    wanted: Iterable[str], files: Mapping[str, Path], builtin: frozenset[str] = frozenset()
) -> list[Module]:
    """`wanted` and everything they depend on, each after its dependencies; a module built
    into the kernel (`builtin`) is left out, as nothing needs loading.

    Ties keep the order of `wanted` and of each `depends=` list, so the order is the same on
    every run.
    """
    order: list[Module] = []
    done: set[str] = set()
    visiting: list[str] = []

    def visit(name: str) -> None:
        name = normalize(name)
        if name in done or (name in builtin and name not in files):
            return
        if name in visiting:
            cycle = " -> ".join([*visiting[visiting.index(name) :], name])
            raise ModuleError(f"the modules depend on each other in a loop: {cycle}")
        visiting.append(name)
        module = read(name, files)
        for dependency in module.depends:
            visit(dependency)
        visiting.pop()
        done.add(name)
        order.append(module)

    for name in wanted:
        visit(name)
    return order
