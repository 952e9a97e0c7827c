"""MSI-X state of one function: the vector table, the PBA, the Message Control bits, and the
guest's MMIO view of the table and PBA.

Rules (PCI Local Bus spec 3.0 §6.8.2, QEMU `hw/pci/msix.c`, cloud-hypervisor `pci/src/msix.rs`):
a vector is effectively masked while Enable is clear, Function Mask is set, or its own mask bit
is set. An interrupt on an effectively masked vector sets its pending bit and delivers nothing;
when a pending vector becomes unmasked (its own bit cleared, Function Mask cleared, Enable set)
the message is delivered once, with the entry's address/data at that moment, and the bit is
cleared. Control changes are handled as one function of the (old, new) control bits.

Bus Master Enable (Command bit 2, mirrored here by `set_bus_master`) gates every message: an
MSI-X message is a memory write, which a function may not issue while BME is clear (PCIe Base
spec §7.5.1.1.3). While it is clear an interrupt sends nothing and sets no pending bit, and a
pending vector that becomes unmasked loses its bit and sends nothing, as QEMU's
`msix_handle_mask_update` clears the bit before `msi_send_message` is dropped by the disabled
bus-master address space.

Model rule beyond hardware (as in the Isospin VMM): an entry is *configured* when it holds a
valid x86 MSI address (`0xfeeXXXXX`, high dword 0); only a configured entry may be unmasked, and
an unmasked entry cannot be reprogrammed with an invalid address (the PCI spec leaves changing
an unmasked entry undefined). So `unmasked_count <= configured <= vectors` always holds.

Every mutator returns the messages it delivered, as data, for the caller to report.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.vfio.address import U64_MAX
from harness.vfio.catalog import Detail, ErrorId, VfioError

MSIX_CAP_ID = 0x11
MIN_VECTORS = 1
MAX_VECTORS = 2048
ENTRY_SIZE = 16  # PCI_MSIX_ENTRY_SIZE
# Table entry layout (PCI_MSIX_ENTRY_* in include/uapi/linux/pci_regs.h)
ENTRY_LOWER_ADDR = 0
ENTRY_UPPER_ADDR = 4
ENTRY_DATA = 8
ENTRY_VECTOR_CTRL = 12
VECTOR_CTRL_MASKBIT = 0x1  # PCI_MSIX_ENTRY_CTRL_MASKBIT
# "Software must use aligned full DWORD or aligned full QWORD transactions" to the table and PBA
# (PCI Local Bus 3.0 §6.8.2); QEMU's table and PBA regions take 4..8-byte accesses only.
STRUCTURE_ACCESS_SIZES = (4, 8)
MSI_ADDR_BASE = 0xFEE0_0000
MSI_ADDR_MASK = 0xFFF0_0000
U32_MAX = 0xFFFF_FFFF


def is_valid_msi_address(addr: int) -> bool:
    """Whether `addr` is an x86 MSI address: `0xfeeXXXXX` with a zero high dword."""
    return addr >> 32 == 0 and addr & MSI_ADDR_MASK == MSI_ADDR_BASE


def table_size(vectors: int) -> int:
    """Bytes of the vector table: 16 per vector."""
    return ENTRY_SIZE * vectors


def pba_qwords(vectors: int) -> int:
    """Qwords of the PBA: one bit per vector, rounded up to whole qwords."""
    return (vectors + 63) // 64


def pba_size(vectors: int) -> int:
    """Bytes of the PBA."""
    return 8 * pba_qwords(vectors)


@dataclass(frozen=True, slots=True)
class VectorOutOfRange(Detail):
    """A vector the function does not have."""

    vector: int
    vectors: int


@dataclass(frozen=True, slots=True)
class EntryAddress(Detail):
    """An entry's address that a mask change or a write refused."""

    vector: int
    addr: int


@dataclass(frozen=True, slots=True)
class Message:
    """One delivered MSI message."""

    vector: int
    addr: int
    data: int

    def __repr__(self) -> str:
        return f"Message(vector={self.vector}, addr={self.addr:#x}, data={self.data:#x})"


@dataclass(frozen=True, slots=True)
class Entry:
    """A snapshot of one table entry."""

    addr: int
    data: int
    masked: bool

    @property
    def vector_control(self) -> int:
        """The Vector Control dword: bit 0 the mask; the reserved bits 31:1 read 0."""
        return VECTOR_CTRL_MASKBIT if self.masked else 0

    def to_bytes(self) -> bytes:
        """The 16 bytes of the entry as the guest reads them (little-endian fields)."""
        return (
            self.addr.to_bytes(8, "little")
            + self.data.to_bytes(4, "little")
            + self.vector_control.to_bytes(4, "little")
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> Entry:
        """The entry 16 bytes stand for (only the mask bit of Vector Control counts)."""
        vector_control = int.from_bytes(raw[ENTRY_VECTOR_CTRL:ENTRY_SIZE], "little")
        return cls(
            int.from_bytes(raw[ENTRY_LOWER_ADDR:ENTRY_DATA], "little"),
            int.from_bytes(raw[ENTRY_DATA:ENTRY_VECTOR_CTRL], "little"),
            bool(vector_control & VECTOR_CTRL_MASKBIT),
        )


def structure_access_error(what: str, offset: int, size: int) -> str | None:
    """Why an access to the table or PBA at `offset` (from its BAR) is refused, or None."""
    if size not in STRUCTURE_ACCESS_SIZES or offset % size:
        return (
            f"the MSI-X {what} takes aligned 4- or 8-byte accesses, not {size} bytes at {offset:#x}"
        )
    return None


class Msix:
    """MSI-X table, PBA and Message Control state for `vectors` vectors."""

    def __init__(self, vectors: int) -> None:
        if not MIN_VECTORS <= vectors <= MAX_VECTORS:
            raise VfioError(
                ErrorId.DEVICE_INVALID_MSIX_VECTORS,
                f"MSI-X vector count {vectors} is outside {MIN_VECTORS}..{MAX_VECTORS}",
            )
        self._vectors = vectors
        self._delivered = [0] * vectors
        self._last: list[Message | None] = [None] * vectors
        self._log: list[Message] = []
        self._bus_master = False  # Command is 0 at power-on
        self.reset()

    def reset(self) -> None:
        """Function-level reset (QEMU `msix_reset`): Enable and Function Mask clear, every
        entry zeroed and masked, PBA clear; what was delivered stays history.

        Command reads 0 after a reset (PCIe §7.5.1.1), so Bus Master Enable is clear as well.
        """
        vectors = self._vectors
        self._addr = [0] * vectors
        self._data = [0] * vectors
        # Entries reset masked (PCI spec: Vector Control mask bit resets to 1).
        self._masked = [True] * vectors
        self._pba = [0] * pba_qwords(vectors)
        self._enabled = False
        self._function_masked = False
        self._bus_master = False
        self._configured = 0
        self._unmasked = 0

    def __repr__(self) -> str:
        return (
            f"Msix(vectors={self._vectors}, enabled={self._enabled},"
            f" function_masked={self._function_masked}, bus_master={self._bus_master})"
        )

    # -- queries ---------------------------------------------------------------------------

    @property
    def vectors(self) -> int:
        """Number of vectors (table size N)."""
        return self._vectors

    @property
    def enabled(self) -> bool:
        """Message Control bit 15."""
        return self._enabled

    @property
    def function_masked(self) -> bool:
        """Message Control bit 14."""
        return self._function_masked

    @property
    def bus_master(self) -> bool:
        """The function's Bus Master Enable (Command bit 2), as last set."""
        return self._bus_master

    @property
    def configured(self) -> int:
        """Entries holding a valid MSI address."""
        return self._configured

    @property
    def unmasked_count(self) -> int:
        """Entries whose own mask bit is clear."""
        return self._unmasked

    @property
    def log(self) -> tuple[Message, ...]:
        """Every message delivered so far, in order."""
        return tuple(self._log)

    @property
    def pba(self) -> tuple[int, ...]:
        """The PBA as 64-bit qwords; vector v is bit v % 64 of qword v // 64."""
        return tuple(self._pba)

    def _check(self, vector: int, error: ErrorId = ErrorId.MSIX_VECTOR_OUT_OF_RANGE) -> None:
        if not 0 <= vector < self._vectors:
            raise VfioError(
                error,
                f"vector {vector} is outside 0..{self._vectors - 1}",
                VectorOutOfRange(vector, self._vectors),
            )

    def entry(self, vector: int) -> Entry:
        """A snapshot of table entry `vector`."""
        self._check(vector)
        return Entry(self._addr[vector], self._data[vector], self._masked[vector])

    def masked(self, vector: int) -> bool:
        """The entry's own mask bit."""
        self._check(vector)
        return self._masked[vector]

    def effectively_masked(self, vector: int) -> bool:
        """Whether an interrupt on `vector` would be held pending rather than delivered."""
        self._check(vector)
        return self._blocked(vector)

    def _blocked(self, vector: int) -> bool:
        return not self._enabled or self._function_masked or self._masked[vector]

    def pending(self, vector: int) -> bool:
        """The vector's PBA bit."""
        self._check(vector)
        return self._is_pending(vector)

    def _is_pending(self, vector: int) -> bool:
        # 64-bit arithmetic on purpose: a 32-bit shift sets the wrong bit for v % 64 >= 32.
        return bool(self._pba[vector // 64] >> (vector % 64) & 1)

    def _set_pending(self, vector: int, on: bool) -> None:
        bit = 1 << (vector % 64)
        if on:
            self._pba[vector // 64] |= bit
        else:
            self._pba[vector // 64] &= ~bit

    def delivered(self, vector: int) -> int:
        """Messages delivered on `vector` so far."""
        self._check(vector)
        return self._delivered[vector]

    def last_message(self, vector: int) -> Message | None:
        """The last message delivered on `vector`, or None when none was."""
        self._check(vector)
        return self._last[vector]

    # -- delivery --------------------------------------------------------------------------

    def _send(self, vector: int) -> tuple[Message, ...]:
        """Send the entry's message now, or nothing while Bus Master Enable is clear."""
        if not self._bus_master:
            return ()
        message = Message(vector, self._addr[vector], self._data[vector])
        self._delivered[vector] += 1
        self._last[vector] = message
        self._log.append(message)
        return (message,)

    def _flush(self, vectors: range | tuple[int, ...]) -> tuple[Message, ...]:
        """Release every pending vector among `vectors` that is no longer blocked."""
        sent: list[Message] = []
        for vector in vectors:
            if self._is_pending(vector) and not self._blocked(vector):
                self._set_pending(vector, False)
                sent.extend(self._send(vector))
        return tuple(sent)

    # -- table -----------------------------------------------------------------------------

    def _check_program(self, vector: int, addr: int) -> None:
        if not self._masked[vector] and not is_valid_msi_address(addr):
            raise VfioError(
                ErrorId.MSIX_ENTRY_UNMASKED_INVALID,
                f"entry {vector} is unmasked; {addr:#x} is not a valid MSI address"
                " (0xfeeXXXXX, high dword 0)",
                EntryAddress(vector, addr),
            )

    def _check_unmask(self, vector: int, addr: int) -> None:
        if not is_valid_msi_address(addr):
            raise VfioError(
                ErrorId.MSIX_UNMASK_UNCONFIGURED,
                f"entry {vector} holds address {addr:#x}, not a valid MSI address"
                " (0xfeeXXXXX, high dword 0)",
                EntryAddress(vector, addr),
            )

    def _store(self, vector: int, addr: int, data: int) -> None:
        self._configured += is_valid_msi_address(addr) - is_valid_msi_address(self._addr[vector])
        self._addr[vector] = addr
        self._data[vector] = data

    def program(self, vector: int, addr: int, data: int) -> tuple[Message, ...]:
        """Write an entry's address (64 bits) and data (32 bits); delivers nothing."""
        self._check(vector)
        if not 0 <= addr <= U64_MAX:
            raise ValueError(f"MSI address {addr:#x} does not fit 64 bits")
        if not 0 <= data <= U32_MAX:
            raise ValueError(f"MSI data {data:#x} does not fit 32 bits")
        self._check_program(vector, addr)
        self._store(vector, addr, data)
        return ()

    def mask(self, vector: int) -> tuple[Message, ...]:
        """Set the entry's mask bit."""
        self._check(vector)
        if not self._masked[vector]:
            self._masked[vector] = True
            self._unmasked -= 1
        return ()

    def unmask(self, vector: int) -> tuple[Message, ...]:
        """Clear the entry's mask bit (needs a valid MSI address); releases a pending message."""
        self._check(vector)
        self._check_unmask(vector, self._addr[vector])
        if self._masked[vector]:
            self._masked[vector] = False
            self._unmasked += 1
        return self._flush((vector,))

    # -- Message Control and Command -------------------------------------------------------

    def set_control(self, enable: bool, function_mask: bool) -> tuple[Message, ...]:
        """Write both Message Control bits; pending vectors unblocked by the change fire."""
        old_open = self._enabled and not self._function_masked
        self._enabled = enable
        self._function_masked = function_mask
        new_open = enable and not function_mask
        # Only a closed -> open transition of the function-wide gate can release messages;
        # every other (old, new) pair leaves per-vector outcomes unchanged or newly blocked.
        if new_open and not old_open:
            return self._flush(range(self._vectors))
        return ()

    def set_enable(self, on: bool) -> tuple[Message, ...]:
        """Set or clear Enable (bit 15)."""
        return self.set_control(on, self._function_masked)

    def set_function_mask(self, on: bool) -> tuple[Message, ...]:
        """Set or clear Function Mask (bit 14)."""
        return self.set_control(self._enabled, on)

    def set_bus_master(self, on: bool) -> tuple[Message, ...]:
        """Follow Command bit 2; setting it releases nothing (no vector became unmasked)."""
        self._bus_master = on
        return ()

    # -- interrupts ------------------------------------------------------------------------

    def raise_irq(self, vector: int) -> tuple[Message, ...]:
        """The device signals `vector`: delivered now, held in the PBA while masked, or
        dropped without a pending bit while Bus Master Enable is clear (range checked first).
        """
        self._check(vector, ErrorId.IRQ_VECTOR_OUT_OF_RANGE)
        if not self._bus_master:
            return ()
        if self._blocked(vector):
            self._set_pending(vector, True)
            return ()
        return self._send(vector)

    # -- the guest's MMIO view (offsets from the start of the table or PBA) ----------------

    def table_read(self, offset: int, size: int) -> int:
        """A guest read of the table: the entry's fields as stored (QEMU
        `msix_table_mmio_read`). The caller checked the access (`structure_access_error`).
        """
        vector, at = divmod(offset, ENTRY_SIZE)
        raw = self.entry(vector).to_bytes()
        return int.from_bytes(raw[at : at + size], "little")

    def table_write(self, offset: int, value: int, size: int) -> tuple[Message, ...]:
        """A guest write to the table, with the effects and checks of the `msix` statements.

        The entry's bytes are updated as QEMU's `msix_table_mmio_write` does; the new address
        and data are then programmed as `program` does, and a change of the mask bit is a
        `mask` or an `unmask` (QEMU `msix_handle_mask_update`). Both checks run before either
        change, so a refused write leaves the entry as it was.
        """
        vector, at = divmod(offset, ENTRY_SIZE)
        old = self.entry(vector)
        raw = bytearray(old.to_bytes())
        raw[at : at + size] = value.to_bytes(size, "little")
        new = Entry.from_bytes(bytes(raw))
        self._check_program(vector, new.addr)
        if old.masked and not new.masked:
            self._check_unmask(vector, new.addr)
        self._store(vector, new.addr, new.data)
        if new.masked and not old.masked:
            return self.mask(vector)
        if old.masked and not new.masked:
            return self.unmask(vector)
        return ()

    def pba_read(self, offset: int, size: int) -> int:
        """A guest read of the PBA: the pending bits, little-endian qwords."""
        raw = b"".join(qword.to_bytes(8, "little") for qword in self._pba)
        return int.from_bytes(raw[offset : offset + size], "little")
