"""The errno rule (`harness.kernel.failures`): an output never claims more than the kernel said."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.backend import BackendFault
from harness.kernel.failures import errno_name, kernel_failure
from harness.vfio.catalog import ErrorId, KernelErrno, VfioError
from harness.vfio.linux_errno import Errno

KERNEL_IDS = [e for e in ErrorId if e.errno is not None]


def test_the_models_id_is_kept_when_its_errno_is_the_kernels() -> None:
    model = VfioError(ErrorId.DMA_MAP_OVERLAP, "overlaps [0x1000, 0x1fff]")
    error = kernel_failure("VFIO_IOMMU_MAP_DMA", 17, model)
    assert error.id == "dma.map.failed:overlap"
    assert error.errno == 17
    assert error.message.startswith("VFIO_IOMMU_MAP_DMA failed with EEXIST (17)")
    assert "overlaps [0x1000, 0x1fff]" in error.message


def test_the_id_is_the_errno_when_the_model_says_another_errno() -> None:
    model = VfioError(ErrorId.DMA_MAP_OVERFLOW, "passes 2^64-1")  # EOVERFLOW
    error = kernel_failure("VFIO_IOMMU_MAP_DMA", 22, model)
    assert error.id == "kernel.errno:EINVAL"
    assert error.errno == 22
    assert "the model says dma.map.failed:overflow (EOVERFLOW)" in error.message


def test_the_id_is_the_errno_when_the_model_accepts_the_call() -> None:
    error = kernel_failure("VFIO_IOMMU_MAP_DMA", 14, None)
    assert error.id == "kernel.errno:EFAULT"
    assert "the model accepts this call" in error.message


def test_the_id_is_the_errno_once_the_models_state_parted_from_the_kernels() -> None:
    model = VfioError(ErrorId.DMA_MAP_OVERLAP, "overlap")
    error = kernel_failure("VFIO_IOMMU_MAP_DMA", 17, model, model_trusted=False)
    assert error.id == "kernel.errno:EEXIST"
    assert "parted from the kernel's" in error.message


def test_an_id_without_an_errno_is_never_used() -> None:
    model = VfioError(ErrorId.CONFIG_UNALIGNED, "crosses a dword")
    assert kernel_failure("a read of the VFIO config region", 22, model).id == "kernel.errno:EINVAL"


def test_an_errno_linux_does_not_define_is_a_fault() -> None:
    with pytest.raises(BackendFault, match="errno 600"):
        kernel_failure("VFIO_IOMMU_MAP_DMA", 600, None)


@given(
    st.one_of(st.none(), st.sampled_from(KERNEL_IDS)), st.sampled_from(list(Errno)), st.booleans()
)
def test_an_output_claims_exactly_the_kernels_errno(
    model_id: ErrorId | None, errno: Errno, trusted: bool
) -> None:
    model = None if model_id is None else VfioError(model_id, "the model's reason")
    error = kernel_failure("VFIO_IOMMU_UNMAP_DMA", int(errno), model, model_trusted=trusted)
    assert error.errno == int(errno)
    if isinstance(error.kind, ErrorId):
        assert error.kind.errno == errno and error.kind is model_id and trusted
    else:
        assert error.kind == KernelErrno(errno)


def test_errno_name_names_known_and_unknown_numbers() -> None:
    assert errno_name(28) == "ENOSPC (28)"
    assert errno_name(600) == "errno 600"
