"""The device half of the kernel backend: declarations, attach, config space, MSI-X.

A mixin of `KernelBackend` (see `backend.py` for the rules every call follows); it keeps the
per-device state: which guest device a declaration stands for, its VFIO fd, the config dwords
the scenario wrote, and MSI-X routing and deliveries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from harness.backend import BarKindName, Unsupported
from harness.kernel.agent import AgentFailed
from harness.kernel.assignment import PRIVATE, Assignment
from harness.kernel.devices import Bar, Declaration, GuestDevice, MsixLayout
from harness.kernel.failures import kernel_failure
from harness.model import ModelBackend
from harness.vfio.catalog import VfioError

T = TypeVar("T")

SET_IRQS = "VFIO_DEVICE_SET_IRQS"
CONFIG = "the VFIO config region"
# Config dwords that hold guest addresses in a VMM and host addresses through VFIO.
ADDRESS_DWORDS = frozenset({*range(0x10 // 4, 0x28 // 4), 0x30 // 4})
MSIX_ENABLE = 1 << 15


def _int(values: list[str]) -> int:
    return int(values[0], 16)


def _dwords(offset: int, size: int) -> set[int]:
    return set(range(offset // 4, (offset + max(size, 1) - 1) // 4 + 1))


class DeviceState:
    """One scenario device."""

    def __init__(self, declaration: Declaration) -> None:
        self.declaration = declaration
        self.guest: GuestDevice | None = None
        self.fd: int | None = None
        self.written: set[int] = set()  # config dwords the scenario wrote
        self.msix_on = False
        self.routed: set[int] = set()  # unmasked vectors: routed to their eventfd
        self.delivered: dict[int, int] = {}


class DeviceCalls:
    """Backend methods on devices; the host class provides the plumbing below."""

    shadow: ModelBackend
    assignment: Assignment
    devices: dict[str, DeviceState]

    def _call(self, op: str, *args: int | str) -> list[str]:
        raise NotImplementedError

    def _model(self, call: Callable[[], T]) -> tuple[T | None, VfioError | None]:
        raise NotImplementedError

    def _settle(self) -> None:
        raise NotImplementedError

    def _device_fd(self, device: DeviceState, guest: GuestDevice) -> int:
        raise NotImplementedError

    def _group_fd(self, group: int) -> int:
        raise NotImplementedError

    def _container_fd(self, name: str) -> int:
        raise NotImplementedError

    def _device(self, name: str) -> tuple[DeviceState, GuestDevice]:
        self._settle()
        device = self.devices[name]
        assert device.guest is not None  # settled
        return device, device.guest

    # -- declarations ----------------------------------------------------------------------

    def _declare(
        self, device: str, call: Callable[[], None], grow: Callable[[Declaration], Declaration]
    ) -> None:
        """Run a member on the model; an invalid member or one no guest device has stops here."""
        try:
            call()
        except VfioError as error:
            raise Unsupported(
                f"device {device}: the model rejects this declaration ({error.id}:"
                f" {error.message}); the kernel backend runs declarations of the guest's real"
                " devices only"
            ) from None
        state = self.devices[device]
        state.declaration = grow(state.declaration)
        self.assignment.check_partial(state.declaration)

    def device(self, name: str, bdf: str) -> None:
        """Start a declaration (its BDF is the VMM's business, not compared)."""
        self._settle()
        self.devices[name] = DeviceState(Declaration(name))
        try:
            self.shadow.device(name, bdf)
        except VfioError as error:
            raise Unsupported(
                f"device {name}: the model rejects this declaration ({error.id}:"
                f" {error.message}); the kernel backend runs declarations of the guest's real"
                " devices only"
            ) from None

    def device_bar(
        self, device: str, index: int, kind: BarKindName, size: int, *, prefetch: bool = False
    ) -> None:
        """A BAR of the declaration: some guest device must have it."""
        self._declare(
            device,
            lambda: self.shadow.device_bar(device, index, kind, size, prefetch=prefetch),
            lambda d: d.with_bar(Bar(index, kind, size, prefetch)),
        )

    def device_rom(self, device: str, size: int) -> None:
        """The declaration's ROM: some guest device must have one of that size."""
        self._declare(
            device, lambda: self.shadow.device_rom(device, size), lambda d: d.with_rom(size)
        )

    def device_msix(
        self,
        device: str,
        vectors: int,
        table_bar: int,
        table_offset: int,
        pba_bar: int,
        pba_offset: int,
    ) -> None:
        """MSI-X, the declaration's last member: the whole declaration is matched now."""
        layout = MsixLayout(vectors, table_bar, table_offset, pba_bar, pba_offset)
        self._declare(
            device,
            lambda: self.shadow.device_msix(
                device, vectors, table_bar, table_offset, pba_bar, pba_offset
            ),
            lambda d: d.with_msix(layout),
        )
        self._settle()

    def attach(self, device: str, container: str) -> None:
        """VFIO_GROUP_SET_CONTAINER of the device's group."""
        _, guest = self._device(device)
        _, model = self._model(lambda: self.shadow.attach(device, container))
        if self.assignment.owner.get(guest.group) == PRIVATE:
            raise Unsupported(
                f"attach {device}: the device was used before it was attached, so its group"
                f" {guest.group} is in a container of the backend's own, with the device open"
            )
        try:
            self._call("set-container", self._group_fd(guest.group), self._container_fd(container))
        except AgentFailed as failed:
            raise kernel_failure("VFIO_GROUP_SET_CONTAINER", failed.errno, model) from None
        self.assignment.owner.setdefault(guest.group, container)

    def bar_size(self, device: str, index: int) -> int:
        """The BAR's size as VFIO's region info gave it (0 when absent)."""
        _, guest = self._device(device)
        bar = guest.layout.bar(index)
        return 0 if bar is None else bar.size

    def rom_size(self, device: str) -> int:
        """The ROM region's size (0 when absent)."""
        return self._device(device)[1].layout.rom

    # -- config space ----------------------------------------------------------------------

    def cfg_read(self, device: str, offset: int, size: int = 4) -> int:
        """A read through the VFIO config region."""
        state, guest = self._device(device)
        _, model = self._model(lambda: self.shadow.cfg_read(device, offset, size))
        unwritten = sorted(_dwords(offset, size) & ADDRESS_DWORDS - state.written)
        if model is None and unwritten:
            raise Unsupported(
                f"cfg read {offset:#x}: the BAR/ROM register at {4 * unwritten[0]:#x} was not"
                " written by the scenario, and the kernel shows the host's address there where"
                " a VMM shows the guest's"
            )
        fd = self._device_fd(state, guest)
        try:
            return _int(self._call("cfg-read", fd, offset, size))
        except AgentFailed as failed:
            raise kernel_failure(f"a read of {CONFIG}", failed.errno, model) from None

    def cfg_write(self, device: str, offset: int, value: int, size: int = 4) -> None:
        """A write through the VFIO config region."""
        state, guest = self._device(device)
        _, model = self._model(lambda: self.shadow.cfg_write(device, offset, value, size))
        fd = self._device_fd(state, guest)
        try:
            self._call("cfg-write", fd, offset, size, value)
        except AgentFailed as failed:
            raise kernel_failure(f"a write of {CONFIG}", failed.errno, model) from None
        state.written |= _dwords(offset, size)

    # -- MSI-X -----------------------------------------------------------------------------

    def msix_enable(self, device: str, on: bool) -> None:
        """MSI-X on (every vector set up, the unmasked ones routed) or off, on a change."""
        state, guest = self._device(device)
        _, model = self._model(lambda: self.shadow.msix_enable(device, on))
        if model is None and state.msix_on == on:
            return  # Enable already so: a VMM makes no VFIO call
        fd = self._device_fd(state, guest)
        vectors = guest.layout.msix.vectors if guest.layout.msix else 1
        try:
            self._call("msix", fd, vectors if on else 0)
            if on:
                for vector in sorted(state.routed):
                    self._call("route", fd, vector, 1)
        except AgentFailed as failed:
            raise kernel_failure(SET_IRQS, failed.errno, model) from None
        state.msix_on = on

    def _route(self, device: str, vector: int, on: bool) -> None:
        state, guest = self._device(device)
        call = self.shadow.msix_unmask if on else self.shadow.msix_mask
        _, model = self._model(lambda: call(device, vector))
        if not state.msix_on:
            if model is not None:
                raise Unsupported(
                    f"msix {'unmask' if on else 'mask'} {vector}: while MSI-X is disabled VFIO"
                    f" holds no vector state to ask, and the model rejects the call ({model.id})"
                )
            (state.routed.add if on else state.routed.discard)(vector)
            return
        try:
            self._call("route", self._device_fd(state, guest), vector, 1 if on else 0)
        except AgentFailed as failed:
            raise kernel_failure(SET_IRQS, failed.errno, model) from None
        (state.routed.add if on else state.routed.discard)(vector)

    def msix_mask(self, device: str, vector: int) -> None:
        """Unroute the vector (VFIO_IRQ_SET_ACTION_MASK is ENOTTY for MSI-X)."""
        self._route(device, vector, False)

    def msix_unmask(self, device: str, vector: int) -> None:
        """Route the vector to its eventfd."""
        self._route(device, vector, True)

    def irq(self, device: str, vector: int) -> None:
        """VFIO's user-space trigger of the vector; a delivery when its eventfd fires."""
        state, guest = self._device(device)
        _, model = self._model(lambda: self.shadow.irq(device, vector))
        try:
            fired = _int(self._call("trigger", self._device_fd(state, guest), vector))
        except AgentFailed as failed:
            raise kernel_failure(f"{SET_IRQS} (trigger)", failed.errno, model) from None
        if fired:
            state.delivered[vector] = state.delivered.get(vector, 0) + fired

    def msix_enabled(self, device: str) -> bool:
        """Message Control Enable, read through the VFIO config region."""
        state, guest = self._device(device)
        if guest.msix_cap == 0:
            return False
        fd = self._device_fd(state, guest)
        try:
            control = _int(self._call("cfg-read", fd, guest.msix_cap + 2, 2))
        except AgentFailed as failed:
            raise kernel_failure(f"a read of {CONFIG}", failed.errno, None) from None
        return bool(control & MSIX_ENABLE)

    def msix_vectors(self, device: str) -> int:
        """The MSI-X table size the device's capability gives (0 without MSI-X)."""
        msix = self._device(device)[1].layout.msix
        return 0 if msix is None else msix.vectors

    def msix_delivered(self, device: str, vector: int) -> int:
        """How often the vector's eventfd fired."""
        state, _ = self._device(device)
        vectors = self.msix_vectors(device)
        if vector >= vectors:
            raise Unsupported(
                f"msix.delivered({vector}): the device has {vectors} vectors and no eventfd for"
                " this one, so the kernel has no answer"
            )
        return state.delivered.get(vector, 0)
