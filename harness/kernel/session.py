"""`KernelSession`: the guest for a whole run, one `KernelBackend` per scenario.

Opening the session verifies the artifacts `kernel setup` left (a missing or broken one is a
`SetupError` that names the setup command), checks that QEMU is the version the snapshot was
taken with, and restores the snapshot. `fresh()` makes the agent close every VFIO handle the
last scenario opened, which returns the kernel's DMA and interrupt state to the snapshot's.

A fault (the guest hung past the watchdog, QEMU exited, or the console showed `Oops`, `BUG` or
`WARNING`) fails the scenario with `BackendFault`, whose message names the kept console; the
guest is then stopped, and the next `fresh()` restores it from the snapshot (`on_fault` is
called first: the serving process uses it to end itself, which is how a process backend reports
a breakdown). `close()` ends QEMU by its PID; it is safe to call twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import cast

from harness.backend import Backend, BackendFault, CoreDefaults
from harness.kernel import cache
from harness.kernel.agent import AgentFailed
from harness.kernel.artifacts import Installed, installed, setup_hint
from harness.kernel.backend import METHODS, NAME, KernelBackend
from harness.kernel.config import KernelConfig
from harness.kernel.errors import SetupError
from harness.kernel.guest import Guest, GuestFault, Images
from harness.kernel.qemu import QemuError, qemu_version
from harness.kernel.survey import GuestFacts

RESTORE_TIMEOUT = 60.0  # seconds a snapshot restore may take on a loaded machine


class KernelSession:
    """The kernel backend for a run (a `harness.backend.BackendSession`)."""

    name = NAME
    methods = METHODS

    def __init__(
        self,
        defaults: CoreDefaults,
        config: KernelConfig | None = None,
        *,
        root: Path | None = None,
        watchdog: float = 24.0,
        on_fault: Callable[[BackendFault], None] | None = None,
    ) -> None:
        self.defaults = defaults
        self.on_fault = on_fault
        self.config = KernelConfig() if config is None else config
        self.root = cache.cache_root() if root is None else root
        self.watchdog = watchdog
        self.installed: Installed = installed(self.config, self.root)
        self.facts: GuestFacts = self.installed.facts
        try:
            qemu = qemu_version()
        except QemuError as error:
            raise SetupError("qemu", str(error), "install qemu-system-x86") from None
        if qemu != self.installed.qemu_version:
            raise SetupError(
                "qemu",
                f"the snapshot was taken with QEMU {self.installed.qemu_version} and this is"
                f" QEMU {qemu}: a snapshot restores only into the QEMU that took it",
                setup_hint(self.config),
            )
        self.info: Mapping[str, str] = self.installed.info()
        self.restores = 0  # how often a fault made the session restore the snapshot
        self.scenarios = 0  # backends handed out
        self._guest: Guest | None = None
        self._guest = self._start()

    def _start(self) -> Guest:
        images = Images(self.installed.vmlinux, self.installed.initramfs, self.installed.snapshot)
        try:
            return Guest.start(
                images,
                self.config.iommu,
                self.installed.accel,
                watchdog=self.watchdog,
                ready_timeout=RESTORE_TIMEOUT,
                incidents=self.root / "incidents",
            )
        except GuestFault as fault:
            raise BackendFault(
                f"the kernel guest did not start: {fault.message}", fault.detail
            ) from None

    @property
    def guest(self) -> Guest | None:
        """The running guest (None after a fault, until the next `fresh()`)."""
        return self._guest

    def fresh(self) -> Backend:
        """A backend for the next scenario, on a guest with no VFIO handle open."""
        if self._guest is None:
            self._guest = self._start()
            self.restores += 1
        else:
            self.call("reset")
        self.scenarios += 1
        self.call("mark", "scenario", str(self.scenarios))  # where it begins, on the console
        # It implements `methods`; the others raise Unsupported (KernelBackend.__getattr__).
        return cast(Backend, KernelBackend(self))

    def call(self, op: str, *args: int | str) -> list[str]:
        """One agent request; a guest fault stops the guest and becomes a BackendFault."""
        guest = self._guest
        if guest is None:
            raise BackendFault("the kernel guest is not running (an earlier fault stopped it)")
        try:
            return guest.call(op, *args)
        except AgentFailed:
            raise
        except GuestFault as fault:
            self._guest = None
            guest.stop()
            error = BackendFault(fault.message, fault.detail)
            if self.on_fault is not None:
                self.on_fault(error)
            raise error from None

    def close(self) -> None:
        """End QEMU (by its PID) and remove the guest's folder; safe to call twice."""
        guest, self._guest = self._guest, None
        if guest is not None:
            guest.stop()
