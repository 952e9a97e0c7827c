"""The error catalog: complete against the language reference, stable, described, with errnos."""

from __future__ import annotations

import errno as host_errno
import re
import sys

import pytest

from harness.vfio.address import Range
from harness.vfio.catalog import (
    ErrorId,
    KernelErrno,
    UncataloguedId,
    VfioError,
    catalog,
    is_known,
    kind_of,
)
from harness.vfio.dma import Conflict
from harness.vfio.linux_errno import Errno

# The error table of the scenario language reference (version 1 and the version 2 additions),
# which is normative: these ids must exist and never change. Written out here so that the
# test needs nothing beside the checkout.
NORMATIVE_IDS = {
    "dma.map.failed:size.zero",
    "dma.map.failed:overflow",
    "dma.map.failed:no.access",
    "dma.map.failed:misaligned",
    "dma.map.failed:overlap",
    "dma.map.failed:limit.exceeded",
    "dma.map.failed:out.of.range",
    "dma.unmap.failed:size.zero",
    "dma.unmap.failed:misaligned",
    "dma.unmap.failed:overflow",
    "dma.unmap.failed:bisects.mapping",
    "device.invalid:bdf",
    "device.invalid:bar.index",
    "device.invalid:bar.slot",
    "device.invalid:bar.size",
    "device.invalid:msix.vectors",
    "device.invalid:msix.location",
    "device.attach.failed:already.attached",
    "device.attach.failed:conflict",
    "bar.alloc.failed:window.exhausted",
    "config.access.failed:out.of.range",
    "config.access.failed:unaligned",
    "msix.failed:unsupported",
    "msix.failed:vector.out.of.range",
    "msix.unmask.failed:unconfigured",
    "irq.failed:vector.out.of.range",
    "assert.failed:assertion.false",
    "parser.error",
    "scenario.error:unknown.name",
    "scenario.error:wrong.kind",
    "scenario.error:duplicate.name",
    "scenario.error:bad.option",
    "scenario.error:value.range",
    # version 2
    "scenario.error:eval",
    "mmio.access.failed:no.bar",
    "mmio.access.failed:out.of.range",
    "mmio.access.failed:unaligned",
    "dma.unmap.failed:all.with.range",
}
# Ids the harness adds beyond the reference; each says so in its description.
EXTENSIONS = {
    "device.invalid:bar.prefetch",
    "device.invalid:msix.duplicate",
    "msix.entry.failed:unmasked.invalid",
}


def test_catalog_holds_every_id_of_the_normative_table() -> None:
    assert NORMATIVE_IDS - set(catalog()) == set()


def test_ids_beyond_the_normative_table_are_marked_as_extensions() -> None:
    beyond = {e.value for e in ErrorId} - NORMATIVE_IDS
    assert beyond == EXTENSIONS
    assert all("(extension" in ErrorId(value).description for value in beyond)


def test_every_id_has_a_description() -> None:
    assert all(text.strip() for text in catalog().values())


def test_ids_have_the_type_reason_shape() -> None:
    for error_id in catalog():
        assert re.fullmatch(r"[a-z]+(\.[a-z]+)*(:[a-z]+(\.[a-z]+)*)?", error_id) or re.fullmatch(
            r"kernel\.errno:E[A-Z0-9]+", error_id
        ), error_id


def test_catalog_lists_the_ids_then_one_kernel_errno_id_per_linux_errno() -> None:
    ids = list(catalog())
    assert ids[: len(ErrorId)] == [e.value for e in ErrorId]
    assert ids[len(ErrorId) :] == [f"kernel.errno:{e.name}" for e in Errno]
    assert "kernel.errno:EINVAL" in ids and "kernel.errno:EHWPOISON" in ids


@pytest.mark.parametrize(
    ("error_id", "errno"),
    [
        (ErrorId.DMA_MAP_OVERLAP, Errno.EEXIST),
        (ErrorId.DMA_MAP_LIMIT_EXCEEDED, Errno.ENOSPC),
        (ErrorId.DMA_MAP_OVERFLOW, Errno.EOVERFLOW),
        (ErrorId.DMA_UNMAP_OVERFLOW, Errno.EOVERFLOW),
        (ErrorId.DMA_MAP_OUT_OF_RANGE, Errno.EINVAL),
        (ErrorId.DMA_UNMAP_BISECTS_MAPPING, Errno.EINVAL),
        (ErrorId.DMA_UNMAP_ALL_WITH_RANGE, Errno.EINVAL),
        (ErrorId.CONFIG_OUT_OF_RANGE, Errno.EFAULT),
        (ErrorId.DEVICE_INVALID_BDF, None),
        (ErrorId.CONFIG_UNALIGNED, None),
        (ErrorId.SCENARIO_EVAL, None),
    ],
)
def test_ids_name_the_errno_a_kernel_returns(error_id: ErrorId, errno: Errno | None) -> None:
    assert error_id.errno is errno


def test_every_dma_failure_has_an_errno() -> None:
    dma = [e for e in ErrorId if e.value.startswith(("dma.", "device.attach."))]
    assert dma and all(e.errno is not None for e in dma)


@pytest.mark.skipif(sys.platform != "linux", reason="Python's errno follows the host's libc")
def test_linux_errno_numbers_agree_with_the_host_where_names_agree() -> None:
    # glibc spells 35 EDEADLOCK and 95 ENOTSUP (aliases the kernel also defines or not);
    # every name both know must have the same number.
    shared = [e for e in Errno if hasattr(host_errno, e.name)]
    assert len(shared) >= 128
    assert all(getattr(host_errno, e.name) == e for e in shared)


def test_is_known_accepts_catalog_ids_and_the_kernel_errno_family() -> None:
    assert is_known("dma.map.failed:overlap")
    assert is_known("kernel.errno:EFAULT")
    assert not is_known("kernel.errno:EWOULDBLOCK")  # an alias, not a primary name
    assert not is_known("kernel.errno:")
    assert not is_known("dma.map.failed:overlaps")


def test_kind_of_names_the_kind() -> None:
    assert kind_of("mmio.access.failed:no.bar") is ErrorId.MMIO_NO_BAR
    assert kind_of("kernel.errno:ENOMEM") == KernelErrno(Errno.ENOMEM)
    assert kind_of("nothing:here") is None


def test_error_carries_its_id_message_and_typed_detail() -> None:
    detail = Conflict(Range(0x1000, 0x1FFF), Range(0x1000, 0x3FFF))
    error = VfioError(ErrorId.DMA_MAP_OVERLAP, "overlaps", detail)
    assert error.id == "dma.map.failed:overlap"
    assert str(error) == "overlaps" and error.message == "overlaps"
    assert error.detail == detail and error.errno is None


def test_error_in_the_kernel_errno_family_carries_the_errno() -> None:
    error = VfioError.from_errno(14, "bad address")
    assert error.id == "kernel.errno:EFAULT" and error.errno == 14
    assert error.kind == KernelErrno(Errno.EFAULT)


def test_error_from_an_unknown_errno_number_is_refused() -> None:
    with pytest.raises(ValueError):
        VfioError.from_errno(4095, "no such errno")


def test_error_from_id_text_keeps_the_kind_and_the_errno() -> None:
    known = VfioError.from_id("dma.map.failed:overlap", "m", errno=17)
    assert known.kind is ErrorId.DMA_MAP_OVERLAP and known.errno == 17
    family = VfioError.from_id("kernel.errno:EIO", "m")
    assert family.kind == KernelErrno(Errno.EIO) and family.errno == 5
    foreign = VfioError.from_id("acme.failed:reason", "m")
    assert foreign.kind == UncataloguedId("acme.failed:reason")
    assert foreign.id == "acme.failed:reason"


def test_error_repr_is_python() -> None:
    error = VfioError(ErrorId.MMIO_NO_BAR, "no BAR 3", errno=22)
    assert repr(error) == "VfioError(ErrorId.MMIO_NO_BAR, 'no BAR 3', errno=22)"
    assert repr(KernelErrno(Errno.EIO)) == "KernelErrno(Errno.EIO)"


def test_catalog_text_names_the_errno_of_an_id() -> None:
    text = catalog()
    assert text["dma.map.failed:overlap"].endswith("(EEXIST)")
    assert "(" not in text["device.invalid:bar.index"]
