"""MSI-X state of one function: the vector table, the PBA and the two Message Control bits.

Rules (PCI Local Bus spec 3.0 §6.8.2, QEMU `hw/pci/msix.c`, cloud-hypervisor `pci/src/msix.rs`):
a vector is effectively masked while Enable is clear, Function Mask is set, or its own mask bit
is set. An interrupt on an effectively masked vector sets its pending bit and delivers nothing;
when a pending vector becomes unmasked (its own bit cleared, Function Mask cleared, Enable set)
the message is delivered once, with the entry's address/data at that moment, and the bit is
cleared. Control changes are handled as one function of the (old, new) control bits.

Model rule beyond hardware (as in the Isospin VMM): an entry is *configured* when it holds a
valid x86 MSI address (`0xfeeXXXXX`, high dword 0); only a configured entry may be unmasked, and
an unmasked entry cannot be reprogrammed with an invalid address (the PCI spec leaves changing
an unmasked entry undefined). So `unmasked_count <= configured <= vectors` always holds.

Every mutator returns the messages it delivered, as data, for the caller to report.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.vfio.address import U64_MAX
from harness.vfio.catalog import ErrorId, VfioError

MSIX_CAP_ID = 0x11
MIN_VECTORS = 1
MAX_VECTORS = 2048
ENTRY_SIZE = 16  # PCI_MSIX_ENTRY_SIZE
VECTOR_CTRL_MASKBIT = 0x1  # PCI_MSIX_ENTRY_CTRL_MASKBIT
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
        """The Vector Control dword (bit 0 = mask)."""
        return VECTOR_CTRL_MASKBIT if self.masked else 0


class Msix:
    """MSI-X table, PBA and Message Control state for `vectors` vectors."""

    def __init__(self, vectors: int) -> None:
        if not MIN_VECTORS <= vectors <= MAX_VECTORS:
            raise VfioError(
                ErrorId.DEVICE_INVALID_MSIX_VECTORS,
                f"MSI-X vector count {vectors} is outside {MIN_VECTORS}..{MAX_VECTORS}",
                vectors=vectors,
            )
        self._vectors = vectors
        self._addr = [0] * vectors
        self._data = [0] * vectors
        # Entries reset masked (PCI spec: Vector Control mask bit resets to 1).
        self._masked = [True] * vectors
        self._pba = [0] * pba_qwords(vectors)
        self._delivered = [0] * vectors
        self._log: list[Message] = []
        self._enabled = False
        self._function_masked = False
        self._configured = 0
        self._unmasked = 0

    def __repr__(self) -> str:
        return (
            f"Msix(vectors={self._vectors}, enabled={self._enabled},"
            f" function_masked={self._function_masked})"
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
                vector=vector,
                vectors=self._vectors,
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

    # -- delivery --------------------------------------------------------------------------

    def _deliver(self, vector: int) -> Message:
        message = Message(vector, self._addr[vector], self._data[vector])
        self._delivered[vector] += 1
        self._log.append(message)
        return message

    def _flush(self, vectors: range | tuple[int, ...]) -> tuple[Message, ...]:
        """Deliver every pending vector among `vectors` that is no longer blocked."""
        sent: list[Message] = []
        for vector in vectors:
            if self._is_pending(vector) and not self._blocked(vector):
                self._set_pending(vector, False)
                sent.append(self._deliver(vector))
        return tuple(sent)

    # -- table -----------------------------------------------------------------------------

    def program(self, vector: int, addr: int, data: int) -> tuple[Message, ...]:
        """Write an entry's address (64 bits) and data (32 bits); delivers nothing."""
        self._check(vector)
        if not 0 <= addr <= U64_MAX:
            raise ValueError(f"MSI address {addr:#x} does not fit 64 bits")
        if not 0 <= data <= U32_MAX:
            raise ValueError(f"MSI data {data:#x} does not fit 32 bits")
        if not self._masked[vector] and not is_valid_msi_address(addr):
            raise VfioError(
                ErrorId.MSIX_ENTRY_UNMASKED_INVALID,
                f"entry {vector} is unmasked; {addr:#x} is not a valid MSI address"
                " (0xfeeXXXXX, high dword 0)",
                vector=vector,
                addr=addr,
            )
        self._configured += is_valid_msi_address(addr) - is_valid_msi_address(self._addr[vector])
        self._addr[vector] = addr
        self._data[vector] = data
        return ()

    def mask(self, vector: int) -> tuple[Message, ...]:
        """Set the entry's mask bit."""
        self._check(vector)
        if not self._masked[vector]:
            self._masked[vector] = True
            self._unmasked -= 1
        return ()

    def unmask(self, vector: int) -> tuple[Message, ...]:
        """Clear the entry's mask bit (needs a valid MSI address); delivers a pending message."""
        self._check(vector)
        if not is_valid_msi_address(self._addr[vector]):
            raise VfioError(
                ErrorId.MSIX_UNMASK_UNCONFIGURED,
                f"entry {vector} holds address {self._addr[vector]:#x}, not a valid MSI"
                " address (0xfeeXXXXX, high dword 0)",
                vector=vector,
                addr=self._addr[vector],
            )
        if self._masked[vector]:
            self._masked[vector] = False
            self._unmasked += 1
        return self._flush((vector,))

    # -- Message Control -------------------------------------------------------------------

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

    # -- interrupts ------------------------------------------------------------------------

    def raise_irq(self, vector: int) -> tuple[Message, ...]:
        """The device signals `vector`: delivered now, or held in the PBA while masked."""
        self._check(vector, ErrorId.IRQ_VECTOR_OUT_OF_RANGE)
        if self._blocked(vector):
            self._set_pending(vector, True)
            return ()
        return (self._deliver(vector),)
