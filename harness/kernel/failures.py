"""Which id a kernel failure gets: never more than the kernel said.

The kernel answers a failed call with an errno alone, and one errno stands for several ids
(EINVAL for six of the map and unmap checks). So the backend runs the model beside the kernel
on the same calls, and for a failed call:

- when the model failed the same call with an id whose errno (`ErrorId.errno`) is the errno the
  kernel returned, the output has the model's id: the kernel's answer is consistent with it,
  and the model says which check it is;
- otherwise (the model succeeded, failed with another errno, or its state no longer mirrors the
  kernel's after an earlier disagreement on this container) the id is `kernel.errno:<NAME>`,
  which claims only the errno.

Either way the output carries the kernel's errno, and its message says which rule gave the id.
"""

from __future__ import annotations

from harness.backend import BackendFault
from harness.vfio.catalog import ErrorId, KernelErrno, VfioError
from harness.vfio.linux_errno import Errno


def errno_name(number: int) -> str:
    """`EINVAL (22)`, or `errno 600` for a number Linux does not define."""
    try:
        return f"{Errno(number).name} ({number})"
    except ValueError:
        return f"errno {number}"


def kernel_failure(
    call: str, errno: int, model: VfioError | None, *, model_trusted: bool = True
) -> VfioError:
    """The output for a kernel call (`call`, e.g. `VFIO_IOMMU_MAP_DMA`) that failed with `errno`.

    `model` is what the model raised for the same call (None when it succeeded);
    `model_trusted` is False once the model's state has parted from the kernel's.
    """
    try:
        code = Errno(errno)
    except ValueError:
        raise BackendFault(
            f"the guest kernel failed {call} with errno {errno}, a number Linux's uapi does"
            " not define (a broken agent or kernel)"
        ) from None
    said = f"{call} failed with {errno_name(errno)}"
    if (
        model is not None
        and model_trusted
        and isinstance(model.kind, ErrorId)
        and model.kind.errno == code
    ):
        return VfioError(
            model.kind,
            f"{said}; the model fails this call with the same errno: {model.message}",
            model.detail,
            errno=errno,
        )
    if model is None:
        why = "the model accepts this call"
    elif not model_trusted:
        why = "the model's state has parted from the kernel's on this container"
    elif isinstance(model.kind, ErrorId) and model.kind.errno is not None:
        why = f"the model says {model.id} ({model.kind.errno.name})"
    else:
        why = f"the model says {model.id}"
    return VfioError(KernelErrno(code), f"{said} ({why})", errno=errno)
