"""A running guest: QEMU in a folder of its own, the agent's connection, the console.

`Guest.start` boots the kernel (setup) or restores the snapshot (sessions) and returns once the
agent answers. `Guest.call` runs one agent request under the watchdog and then reads the
console: a hang, QEMU's exit, or a kernel fault banner on the console becomes a `GuestFault`,
which names what happened and where the console was kept.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from harness.kernel import machine
from harness.kernel.agent import Agent, AgentFailed, AgentGone, AgentHung
from harness.kernel.config import IommuName
from harness.kernel.console import Console, keep
from harness.kernel.qemu import Monitor, Qemu, QemuError

__all__ = ["AgentFailed", "Guest", "GuestFault", "Images"]


class GuestFault(Exception):
    """The guest broke down: it hung, QEMU exited, or its kernel printed a fault banner."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Images:
    """The files a guest starts from; `snapshot` None means a cold boot."""

    vmlinux: Path
    initramfs: Path
    snapshot: Path | None = None


class Guest:
    """One running guest; `stop()` ends QEMU and removes its folder (safe to call again)."""

    def __init__(self, runtime: Path, qemu: Qemu, agent: Agent, incidents: Path) -> None:
        self.runtime = runtime
        self.qemu = qemu
        self.agent = agent
        self.console = Console(runtime / machine.CONSOLE)
        self.incidents = incidents
        self.ready_seconds = 0.0  # from starting QEMU to the agent's first answer

    @classmethod
    def start(
        cls,
        images: Images,
        iommu: IommuName,
        accel: machine.RunAccel,
        *,
        watchdog: float,
        ready_timeout: float,
        incidents: Path,
    ) -> Guest:
        """Boot (or restore) a guest and wait for its agent; GuestFault when it never answers."""
        runtime = Path(tempfile.mkdtemp(prefix="vfio-kernel-"))
        links = {machine.VMLINUX: images.vmlinux, machine.INITRAMFS: images.initramfs}
        if images.snapshot is not None:
            links[machine.SNAPSHOT] = images.snapshot
        for name, target in links.items():
            os.symlink(target.resolve(), runtime / name)
        argv = machine.argv(iommu, accel, incoming=images.snapshot is not None)
        qemu = Qemu(argv, runtime)
        guest = cls(runtime, qemu, Agent(runtime / machine.AGENT_SOCKET, watchdog), incidents)
        began = time.monotonic()
        try:
            qemu.start()
            deadline = began + ready_timeout
            guest.agent.connect(deadline)
            guest.agent.wait_ready(deadline, alive=qemu.alive)
        except (QemuError, AgentGone, AgentHung) as error:
            fault = guest._fault(f"the guest did not start: {error}", "start")
            guest.stop()
            raise fault from None
        except BaseException:
            guest.stop()
            raise
        guest.ready_seconds = time.monotonic() - began
        banner = guest.console.check()
        if banner is not None:
            fault = guest._fault(
                f"the guest kernel reported {banner.banner!r} while starting", "start"
            )
            guest.stop()
            raise fault
        return guest

    def call(self, op: str, *args: int | str) -> list[str]:
        """One agent request; AgentFailed when the kernel failed it, GuestFault on breakdown."""
        try:
            answer = self.agent.call(op, *args)
        except AgentHung as error:
            raise self._fault(f"the guest hung: {error}", op) from None
        except AgentGone as error:
            self.qemu.wait_exit(2.0)  # the socket closes as QEMU dies: let it finish dying
            raise self._fault(f"the guest died during {op}: {error}", op) from None
        except AgentFailed:
            self.check_console(op)
            raise
        self.check_console(op)
        return answer

    def check_console(self, op: str) -> None:
        """GuestFault when the kernel printed a fault banner since the last check."""
        found = self.console.check()
        if found is not None:
            raise self._fault(
                f"the guest kernel reported {found.banner!r} during {op}", op, found.excerpt
            )

    def _fault(self, message: str, op: str, excerpt: str = "") -> GuestFault:
        status = self.qemu.exit_status()
        if status is not None:
            message += f" (QEMU exited with status {status})"
        kept = keep(self.console, self.incidents, op)
        where = f"the guest console is kept in {kept}" if kept else "the console could not be kept"
        detail = excerpt or self.console.tail()
        log = self.qemu.log_tail()
        if log:
            detail = f"{detail}\n--- QEMU said:\n{log}" if detail else f"--- QEMU said:\n{log}"
        return GuestFault(f"{message}; {where}", detail)

    def monitor(self, timeout: float = 60.0) -> Monitor:
        """A connection to QEMU's monitor (the caller closes it)."""
        monitor = Monitor(self.runtime / machine.MONITOR_SOCKET, timeout)
        monitor.connect(time.monotonic() + timeout)
        return monitor

    def stop(self) -> None:
        """End QEMU by its PID, close the agent's connection and remove the folder."""
        try:
            self.qemu.stop()
        finally:
            self.agent.close()
            shutil.rmtree(self.runtime, ignore_errors=True)
