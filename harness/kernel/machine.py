"""The QEMU command line of the guest, as data.

One q35 machine with an emulated IOMMU (Intel VT-d with interrupt remapping, or virtio-iommu)
and the PCI devices the scenarios use: two e1000e NICs (three memory BARs and an I/O BAR, MSI-X
with 5 vectors) and two virtio-rng devices (MSI-X with 4 vectors, a 64-bit BAR), each in its
own IOMMU group, plus the ICH9 functions q35 always has (a fifth group). PVH boot of the
uncompressed kernel, the serial port to a console file, a virtio-serial port on a unix socket
for the agent, the human monitor on another socket.

A snapshot restores only into the very same machine, so the command line is a pure function of
the configuration, and it is part of the snapshot's cache key.
"""

from __future__ import annotations

from typing import Literal

from harness.kernel.config import IommuName
from harness.kernel.tools import QEMU

RunAccel = Literal["tcg", "kvm"]  # what `auto` resolves to
MEMORY = "512M"
E1000E_COUNT = 2
RNG_COUNT = 2
RNG_VECTORS = 4


def devices() -> list[str]:
    """The `-device`/`-netdev` arguments of the PCI devices the guest binds to vfio-pci."""
    args: list[str] = []
    for n in range(E1000E_COUNT):
        # romfile= (empty): no option ROM, so the NIC needs no ipxe package on the host
        args += ["-device", f"e1000e,netdev=net{n},romfile="]
        args += ["-netdev", f"user,id=net{n},restrict=on"]
    for _ in range(RNG_COUNT):
        args += ["-device", f"virtio-rng-pci,disable-legacy=on,vectors={RNG_VECTORS}"]
    return args


AGENT_PORT = "vfio.agent"  # the virtio-serial port's name, which the agent looks for


def agent_channel() -> list[str]:
    """The agent's channel: a virtio-serial port on a unix socket.

    A virtio port is no tty: a request reaches the agent without the serial line's per-byte
    interrupts and the tty layer's deferred work, which under TCG halves the round trip.
    """
    return [
        "-device",
        "virtio-serial-pci,id=agentbus",
        "-chardev",
        f"socket,id=agent,path={AGENT_SOCKET},server=on,wait=off",
        "-device",
        f"virtserialport,bus=agentbus.0,chardev=agent,name={AGENT_PORT}",
    ]


def iommu_device(iommu: IommuName) -> list[str]:
    """The IOMMU's `-device`: VT-d (caching mode, as a VMM that shadows it needs) or virtio."""
    if iommu == "vtd":
        return ["-device", "intel-iommu,intremap=on,caching-mode=on"]
    return ["-device", "virtio-iommu-pci"]


def kernel_command_line(iommu: IommuName) -> str:
    """What the guest kernel boots with: console on ttyS0, /init from the initramfs.

    `loglevel=5` puts warnings and worse on the console (the `WARNING:` banner is printed at
    KERN_WARNING, which `quiet` would hide) and keeps the boot's chatter off it.
    """
    line = "console=ttyS0 loglevel=5 panic=-1 rdinit=/init"
    return f"{line} intel_iommu=on" if iommu == "vtd" else line


# QEMU runs in a folder of its own (`runtime`) that holds these names (the images and the
# snapshot as links into the cache): the command line then has no paths to quote, the sockets'
# paths stay short (a unix socket path has at most 107 bytes), and the snapshot is written and
# read as `snapshot.bin` whatever the cache's path is.
VMLINUX = "vmlinux"
INITRAMFS = "initramfs.cpio"
SNAPSHOT = "snapshot.bin"
CONSOLE = "console.log"
AGENT_SOCKET = "agent.sock"
MONITOR_SOCKET = "monitor.sock"


def argv(
    iommu: IommuName, accel: RunAccel, *, incoming: bool = False, qemu: str = QEMU
) -> list[str]:
    """The full command line, run in the runtime folder; `incoming` restores the snapshot."""
    cpu = "host" if accel == "kvm" else "max"
    args = [
        qemu,
        "-accel",
        accel,
        "-machine",
        "q35,kernel-irqchip=split",
        "-cpu",
        cpu,
        "-smp",
        "1",
        "-m",
        MEMORY,
        "-nodefaults",
        "-display",
        "none",
        "-no-reboot",
        *iommu_device(iommu),
        *devices(),
        "-kernel",
        VMLINUX,
        "-initrd",
        INITRAMFS,
        "-append",
        kernel_command_line(iommu),
        "-chardev",
        f"file,id=console,path={CONSOLE}",
        "-serial",
        "chardev:console",
        *agent_channel(),
        "-monitor",
        f"unix:{MONITOR_SOCKET},server=on,wait=off",
    ]
    if incoming:
        args += ["-incoming", f"exec:cat {SNAPSHOT}"]
    return args


def identity(iommu: IommuName, accel: RunAccel) -> str:
    """The machine's shape: what a snapshot's cache key must include."""
    return " ".join(argv(iommu, accel))
