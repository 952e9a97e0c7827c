"""The kernel backend of one scenario: `harness.backend.Backend` calls as VFIO calls in the guest.

Every call runs on the model first (`shadow`) and then on the kernel; the kernel's answer is
the result. The model is there to name failures (`harness.kernel.failures`) and to hold the
scenario's language-level checks: a `scenario.error:*` the model raises (a bad option value)
is raised as is, since the scenario never got as far as the kernel.

What runs on the kernel, and how:

- `container`: `/dev/vfio/vfio`, a group of its own (`assignment`), `dma_entry_limit` written in
  sysfs, `VFIO_SET_IOMMU` (type1v2, or type1 for `mode=v1`). Unsupported when the kernel cannot
  be what the declaration asks: `reserved=none`, a `pgsize` that is not the IOMMU's smallest
  page, an `aw` that is not the IOMMU's width (a container without `aw` gets the real width,
  and a map that only the default 64-bit width would accept is unsupported at that map);
- `map`, `unmap`, `unmap all`: `VFIO_IOMMU_MAP_DMA`/`UNMAP_DMA`; `avail` from
  `VFIO_IOMMU_GET_INFO`'s DMA_AVAIL; `mappings` = the container's limit - avail (the kernel
  keeps one entry per mapping); `mapped`: the bytes of the maps the kernel accepted minus the
  bytes its unmaps reported, added up here (the kernel has no query for it); `mapped_at`: the
  agent asks the kernel to map one page there, which it refuses with EEXIST exactly when a
  mapping holds it (a map that succeeds is undone at once); `translate`: `mapped_at` says
  whether a mapping holds the iova, and the vaddr is that of the last map the kernel accepted
  over it (the kernel makes mappings only from accepted maps, never overlapping, and removes
  them whole, so a mapping there now is that map's);
- devices: a declaration must match a guest device (`devices`); `attach` is
  `VFIO_GROUP_SET_CONTAINER`; `cfg read`/`cfg write` go through the VFIO config region;
  `msix enable`/`disable` and `mask`/`unmask` through `VFIO_DEVICE_SET_IRQS` (VFIO has no
  MSI-X mask, so, as a VMM does, a masked vector's interrupts are routed to no eventfd); `irq`
  is VFIO's user-space trigger of the vector, counted when its eventfd fires.

A read of a BAR or ROM register the scenario has not written is unsupported: the kernel shows
the host's address there, the scenario's model a guest address.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from harness.backend import (
    BackendFault,
    CoreDefaults,
    PermName,
    ReservedName,
    UnmapModeName,
    Unsupported,
)
from harness.kernel.agent import AgentFailed
from harness.kernel.assignment import PRIVATE, Assignment
from harness.kernel.device_calls import DeviceCalls, DeviceState
from harness.kernel.devices import GuestDevice, size_text
from harness.kernel.failures import kernel_failure
from harness.kernel.survey import VFIO_TYPE1_IOMMU, GuestFacts, VFIO_TYPE1v2_IOMMU
from harness.model import ModelBackend
from harness.sessions import BACKEND_METHODS
from harness.vfio.address import U64_MAX
from harness.vfio.catalog import ErrorId, VfioError
from harness.vfio.dma import X86_MSI_RESERVED

T = TypeVar("T")

NAME = "kernel"
PERM_FLAGS = {"rw": 0x3, "r": 0x1, "w": 0x2, "none": 0x0}  # VFIO_DMA_MAP_FLAG_READ | _WRITE
UNMAP_ALL = 0x2  # VFIO_DMA_UNMAP_FLAG_ALL
EINVAL = 22
DEFAULT_AW = CoreDefaults().aw  # what a container has when neither it nor -D gives aw

# The Backend methods this backend implements; every other one is unsupported.
METHODS = frozenset(
    {
        "container",
        "device",
        "device_bar",
        "device_rom",
        "device_msix",
        "attach",
        "map",
        "unmap",
        "unmap_all",
        "avail",
        "mappings",
        "mapped",
        "mapped_at",
        "translate",
        "cfg_read",
        "cfg_write",
        "msix_enable",
        "msix_mask",
        "msix_unmask",
        "irq",
        "msix_enabled",
        "msix_vectors",
        "msix_delivered",
        "bar_size",
        "rom_size",
    }
)


class Guestlike(Protocol):
    """What the backend needs from its session: agent requests, and what the guest has."""

    facts: GuestFacts
    defaults: CoreDefaults

    def call(self, op: str, *args: int | str) -> list[str]:
        """One agent request (AgentFailed: the kernel failed it; BackendFault: breakdown)."""
        ...


@dataclass
class _Container:
    fd: int
    limit: int
    implicit_aw: bool  # the scenario gave no aw: the model's 64 bits, the IOMMU's real width
    mapped: int = 0
    trusted: bool = True  # the model's state still mirrors the kernel's
    # (first iova, last iova, vaddr) of every map the kernel accepted, oldest first
    accepted: list[tuple[int, int, int]] = field(default_factory=list)


def _int(values: list[str]) -> int:
    return int(values[0], 16)


class KernelBackend(DeviceCalls):
    """One scenario on the guest kernel (built by `KernelSession.fresh`)."""

    name = NAME

    def __init__(self, session: Guestlike) -> None:
        self.session = session
        self.facts = session.facts
        self.defaults = session.defaults
        self.shadow = ModelBackend(session.defaults)
        self.assignment = Assignment(self.facts.devices)
        self.containers: dict[str, _Container] = {}
        self.devices: dict[str, DeviceState] = {}
        self._groups: dict[int, int] = {}  # group -> its fd in the agent

    def __getattr__(self, name: str) -> Callable[..., object]:
        """A Backend method this backend does not implement: calling it is `Unsupported`."""
        if name in BACKEND_METHODS:

            def lacking(*args: object, **kwargs: object) -> object:
                raise Unsupported(f"does not implement {name}", missing=True)

            return lacking
        raise AttributeError(name)

    # -- plumbing --------------------------------------------------------------------------

    def _call(self, op: str, *args: int | str) -> list[str]:
        return self.session.call(op, *args)

    def _model(self, call: Callable[[], T]) -> tuple[T | None, VfioError | None]:
        """The model's result or failure; a scenario-level failure is raised as it is."""
        try:
            return call(), None
        except VfioError as error:
            if isinstance(error.kind, ErrorId) and error.kind.value.startswith("scenario."):
                raise
            return None, error

    def _group_fd(self, group: int) -> int:
        if group not in self._groups:
            self._groups[group] = _int(self._call("group", group))
        return self._groups[group]

    def _settle(self) -> None:
        """Finish every device declaration still open: match it to a guest device."""
        for device in self.devices.values():
            if device.guest is None:
                device.guest = self.assignment.assign(device.declaration)

    def _container_fd(self, name: str) -> int:
        return self.containers[name].fd

    def _device_fd(self, device: DeviceState, guest: GuestDevice) -> int:
        """The device's fd, its group joined to a private container first when unattached."""
        if device.fd is not None:
            return device.fd
        group = guest.group
        try:
            group_fd = self._group_fd(group)
            if group not in self.assignment.owner:
                container = _int(self._call("container"))
                self._call("set-container", group_fd, container)
                self._call("set-iommu", container, VFIO_TYPE1v2_IOMMU)
                self.assignment.owner[group] = PRIVATE
            device.fd = _int(self._call("device", group_fd, guest.bdf))
        except AgentFailed as failed:
            raise BackendFault(
                f"the guest could not open device {guest.bdf} through VFIO ({failed})"
            ) from None
        return device.fd

    # -- containers and DMA ----------------------------------------------------------------

    def container(
        self,
        name: str,
        *,
        mode: UnmapModeName | None = None,
        pgsize: int | None = None,
        limit: int | None = None,
        reserved: ReservedName | None = None,
        aw: int | None = None,
    ) -> None:
        """A type1 container with a group of its own; unsupported when the IOMMU differs."""
        self._settle()
        self.shadow.container(name, mode=mode, pgsize=pgsize, limit=limit, reserved=reserved, aw=aw)
        d, facts = self.defaults, self.facts
        mode_ = d.mode if mode is None else mode
        pgsize_ = d.pgsize if pgsize is None else pgsize
        limit_ = d.limit if limit is None else limit
        reserved_ = d.reserved if reserved is None else reserved
        asked_aw = aw if aw is not None else (d.aw if d.aw != DEFAULT_AW else None)
        if pgsize_ != facts.min_pgsize:
            raise Unsupported(
                f"container {name}: pgsize={size_text(pgsize_)}, but the guest's IOMMU maps"
                f" pages of {facts.pgsizes:#x} and the kernel backend runs containers whose"
                f" page size is the smallest of them ({size_text(facts.min_pgsize)})"
            )
        if asked_aw is not None and asked_aw != facts.aw:
            raise Unsupported(
                f"container {name}: aw={asked_aw}, but the guest's IOMMU has a {facts.aw}-bit"
                " address width"
            )
        if reserved_ != "x86" or not self._x86_ranges():
            raise Unsupported(
                f"container {name}: reserved={reserved_}, but the guest's IOMMU reports the"
                f" valid IOVA ranges {self._ranges_text()} (every group reserves the x86 MSI"
                " window 0xfee00000-0xfeefffff)"
            )
        group = self.assignment.anchor(name)
        try:
            fd = _int(self._call("container"))
            self._call("set-container", self._group_fd(group), fd)
            self._call("limit", limit_)
            self._call("set-iommu", fd, VFIO_TYPE1_IOMMU if mode_ == "v1" else VFIO_TYPE1v2_IOMMU)
        except AgentFailed as failed:
            self.assignment.release(name)
            raise kernel_failure(
                f"creating container {name} ({failed.what})", failed.errno, None
            ) from None
        self.containers[name] = _Container(fd, limit_, asked_aw is None)

    def _x86_ranges(self) -> bool:
        """Whether the IOMMU's valid ranges are [0, 2^aw) without the x86 MSI window."""
        (msi,) = X86_MSI_RESERVED
        top = (1 << self.facts.aw) - 1
        return self.facts.ranges == ((0, msi.first - 1), (msi.last + 1, top))

    def _ranges_text(self) -> str:
        return ", ".join(f"[{a:#x}, {b:#x}]" for a, b in self.facts.ranges)

    def map(self, container: str, iova: int, vaddr: int, size: int, perm: PermName = "rw") -> None:
        """VFIO_IOMMU_MAP_DMA (the agent backs `vaddr` with guest memory first)."""
        self._settle()
        c = self.containers[container]
        _, model = self._model(lambda: self.shadow.map(container, iova, vaddr, size, perm))
        try:
            self._call("map", c.fd, iova, vaddr, size, PERM_FLAGS[perm])
        except AgentFailed as failed:
            last = iova + size - 1
            if (
                failed.errno == EINVAL
                and model is None
                and c.implicit_aw
                and size
                and (1 << self.facts.aw) <= last <= U64_MAX
            ):
                raise Unsupported(
                    f"map [{iova:#x}, {last:#x}] reaches above the guest IOMMU's"
                    f" {self.facts.aw}-bit address width, which the container's default"
                    f" aw=64 allows (write aw={self.facts.aw} to run it on this kernel)"
                ) from None
            error = kernel_failure(
                "VFIO_IOMMU_MAP_DMA", failed.errno, model, model_trusted=c.trusted
            )
            if model is None:
                c.trusted = self._forget(container, iova, size) and c.trusted
            raise error from None
        if model is not None:
            c.trusted = False
        c.mapped += size
        c.accepted.append((iova, iova + size - 1, vaddr))

    def _forget(self, container: str, iova: int, size: int) -> bool:
        """Take back from the model a map the kernel refused; whether that worked exactly.

        The model's new mapping is the only one that starts in its own range (mappings never
        overlap), so unmapping that range removes it alone, in v1 and v2 alike.
        """
        try:
            return self.shadow.unmap(container, iova, size) == size
        except VfioError:
            return False

    def _unmap(
        self, container: str, iova: int, size: int, flags: int, model_call: Callable[[], int]
    ) -> int:
        self._settle()
        c = self.containers[container]
        expected, model = self._model(model_call)
        try:
            removed = _int(self._call("unmap", c.fd, iova, size, flags))
        except AgentFailed as failed:
            error = kernel_failure(
                "VFIO_IOMMU_UNMAP_DMA", failed.errno, model, model_trusted=c.trusted
            )
            if model is None:
                c.trusted = False
            raise error from None
        if model is not None or expected != removed:
            c.trusted = False
        c.mapped -= removed
        return removed

    def unmap(self, container: str, iova: int, size: int) -> int:
        """VFIO_IOMMU_UNMAP_DMA of a range; the bytes the kernel says it unmapped."""
        return self._unmap(
            container, iova, size, 0, lambda: self.shadow.unmap(container, iova, size)
        )

    def unmap_all(self, container: str, *, iova: int | None = None, size: int | None = None) -> int:
        """VFIO_IOMMU_UNMAP_DMA with VFIO_DMA_UNMAP_FLAG_ALL (and the iova/size written)."""
        return self._unmap(
            container,
            iova or 0,
            size or 0,
            UNMAP_ALL,
            lambda: self.shadow.unmap_all(container, iova=iova, size=size),
        )

    def avail(self, container: str) -> int:
        """VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL: the entries the kernel has left."""
        self._settle()
        info = self._call("iommu-info", self.containers[container].fd)
        return int(info[1], 16)

    def mappings(self, container: str) -> int:
        """The container's limit minus the kernel's DMA_AVAIL (one entry per mapping)."""
        return self.containers[container].limit - self.avail(container)

    def mapped_at(self, container: str, iova: int) -> bool:
        """Asked of the kernel: it refuses (EEXIST) to map a page there exactly when one is."""
        self._settle()
        page = self.facts.min_pgsize
        start = iova & ~(page - 1)
        if start + page - 1 == U64_MAX:
            raise Unsupported(
                f"mapped_at({iova:#x}): probing the last page of the 64-bit space would unmap a"
                " range ending at 2^64-1, which this kernel reports as 0 bytes (kernel issue 2)"
            )
        try:
            answer = self._call("probe", self.containers[container].fd, start, page)
        except AgentFailed as failed:
            raise BackendFault(
                f"mapped_at({iova:#x}): the kernel did not answer the probe as VFIO documents"
                f" ({failed})"
            ) from None
        return answer[0] == "1"

    def translate(self, container: str, iova: int) -> int:
        """The vaddr behind `iova`: whether a mapping holds it is the kernel's answer (the
        `mapped_at` probe); the vaddr is that of the last map the kernel accepted over it."""
        if not self.mapped_at(container, iova):
            raise VfioError(
                ErrorId.SCENARIO_EVAL,
                f"translate({iova:#x}): the kernel holds no mapping of {container} there",
            )
        for first, last, vaddr in reversed(self.containers[container].accepted):
            if first <= iova <= last:
                return vaddr + (iova - first)
        raise BackendFault(
            f"translate({iova:#x}): the kernel holds a mapping of {container} there that no"
            " map it accepted made"
        )

    def mapped(self, container: str) -> int:
        """Bytes the kernel accepted in maps minus the bytes its unmaps reported."""
        self._settle()
        return self.containers[container].mapped
