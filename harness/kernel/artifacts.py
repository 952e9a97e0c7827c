"""Which artifacts make up a configuration's guest, and finding them verified.

`kernel setup` leaves, per configuration (`kernel.version`, `kernel.iommu`, `kernel.accel`), a
small pointer file naming the four artifacts it built or found:

- `linux-<package>_<version>`: the PVH `vmlinux` and the VFIO modules of a Debian kernel image;
- `busybox-<package>_<version>`: the static busybox;
- `guest-<key>`: the initramfs (busybox, `/init`, the compiled agent, the modules in order);
- `snapshot-<key>`: the migration snapshot of the booted guest, and what the guest has
  (`GuestFacts`: kernel release, IOMMU page sizes and ranges, devices).

A session reads the pointer and verifies every artifact it names (sizes and SHA-256 against the
manifests) before it starts QEMU: a missing or broken one is a `SetupError` that says to run
`python -m harness kernel setup`, never a guest started from damaged files.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.kernel import cache, machine
from harness.kernel.cache import Artifact, BrokenArtifact
from harness.kernel.config import KernelConfig
from harness.kernel.errors import SetupError
from harness.kernel.survey import GuestFacts

KINDS = ("linux", "busybox", "guest", "snapshot")
VMLINUX = "vmlinux"
INITRAMFS = "initramfs.cpio"
SNAPSHOT = "snapshot.bin"
GUEST_SOURCES = Path(__file__).with_name("guest")
SETUP_HINT = "run `python -m harness kernel setup{args}` (once; it keeps what it builds)"


def setup_hint(config: KernelConfig) -> str:
    """The command that (re)builds this configuration's guest."""
    default = KernelConfig()
    args = "".join(
        f" --{name} {value}"
        for name, value in (
            ("version", config.version),
            ("iommu", config.iommu),
            ("accel", config.accel),
        )
        if value != getattr(default, name)
    )
    return SETUP_HINT.format(args=args)


def guest_sources() -> dict[str, str]:
    """The SHA-256 of each source the guest is built from (`agent.c`, `init`)."""
    return {name: cache.file_digest(GUEST_SOURCES / name) for name in ("agent.c", "init")}


def pointer_path(root: Path, config: KernelConfig) -> Path:
    """Where setup records the artifacts of `config`."""
    return root / f"current-{config.version}-{config.iommu}-{config.accel}.json"


def write_pointer(root: Path, config: KernelConfig, names: Mapping[str, str]) -> None:
    """Record the artifacts of `config` (atomically: a reader sees the old or the new file)."""
    path = pointer_path(root, config)
    scratch = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    scratch.write_text(json.dumps(dict(names), indent=1, sort_keys=True), encoding="utf-8")
    os.replace(scratch, path)


@dataclass(frozen=True, slots=True)
class Installed:
    """A configuration's verified artifacts, and what its snapshot says about the guest."""

    config: KernelConfig
    artifacts: Mapping[str, Artifact]
    facts: GuestFacts
    accel: machine.RunAccel
    qemu_version: str

    @property
    def vmlinux(self) -> Path:
        """The kernel QEMU boots."""
        return self.artifacts["linux"].file(VMLINUX)

    @property
    def initramfs(self) -> Path:
        """The guest's initramfs."""
        return self.artifacts["guest"].file(INITRAMFS)

    @property
    def snapshot(self) -> Path:
        """The snapshot sessions restore."""
        return self.artifacts["snapshot"].file(SNAPSHOT)

    def info(self) -> dict[str, str]:
        """What a run's header shows about this guest."""
        facts = self.facts
        iommu = "Intel VT-d" if self.config.iommu == "vtd" else "virtio-iommu"
        return {
            "kernel": facts.release,
            "iommu": f"{iommu}, {facts.aw}-bit, pages {facts.pgsizes:#x}",
            "accel": self.accel if self.config.accel != "auto" else f"{self.accel} (auto)",
            "qemu": self.qemu_version,
        }


def read_pointer(root: Path, config: KernelConfig) -> dict[str, str]:
    """The artifact names setup recorded for `config`; SetupError when there are none."""
    path = pointer_path(root, config)
    try:
        names = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SetupError(
            "artifacts",
            f"no guest is set up for {config.describe()} (nothing in {root})",
            setup_hint(config),
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SetupError(
            "artifacts", f"{path} is unreadable: {error}", setup_hint(config)
        ) from None
    if not isinstance(names, dict) or not set(KINDS) <= set(names):
        raise SetupError(
            "artifacts", f"{path} does not name {', '.join(KINDS)}", setup_hint(config)
        )
    return {str(k): str(v) for k, v in names.items()}


def require(config: KernelConfig, root: Path | None = None) -> None:
    """SetupError unless setup recorded every artifact of `config` and each has a manifest.

    Cheap (no hashing): what a run checks before it starts the serving process, which then
    verifies everything (`installed`).
    """
    base = cache.cache_root() if root is None else root
    for kind, name in read_pointer(base, config).items():
        if not (base / name / cache.MANIFEST).is_file():
            raise SetupError(
                "artifacts",
                f"the {kind} artifact {name} is missing or incomplete",
                setup_hint(config),
            )


def installed(config: KernelConfig, root: Path | None = None) -> Installed:
    """The verified artifacts of `config`; SetupError (with the setup command) otherwise."""
    base = cache.cache_root() if root is None else root
    names = read_pointer(base, config)
    verified: dict[str, Artifact] = {}
    for kind in KINDS:
        path = base / names[kind]
        try:
            verified[kind] = cache.verify(path)
        except BrokenArtifact as broken:
            raise SetupError(
                "artifacts",
                f"the {kind} artifact is broken and will not be used: {broken.reason} ({path})",
                setup_hint(config),
            ) from None
    built_from = {k: verified["guest"].inputs.get(k) for k in ("agent.c", "init")}
    if built_from != guest_sources():
        raise SetupError(
            "artifacts",
            "the guest was built from another version of the agent or /init than this harness has",
            setup_hint(config),
        )
    snapshot_facts: Mapping[str, Any] = verified["snapshot"].facts
    try:
        facts = GuestFacts.from_json(snapshot_facts["guest"])
        accel = snapshot_facts["accel"]
        qemu_version = str(snapshot_facts["qemu"])
    except (KeyError, TypeError, ValueError) as error:
        raise SetupError(
            "artifacts", f"the snapshot's facts are malformed: {error!r}", setup_hint(config)
        ) from None
    if accel not in ("tcg", "kvm"):
        raise SetupError(
            "artifacts", f"the snapshot names accelerator {accel!r}", setup_hint(config)
        )
    return Installed(config, verified, facts, accel, qemu_version)
