"""The run options of the kernel backend: `-D backend=kernel` and the `kernel.*` keys."""

from __future__ import annotations

import pytest

from harness.kernel.config import KernelConfig
from harness.options import OptionError, parse_defines


def test_backend_kernel_with_its_keys_is_a_run_of_that_guest() -> None:
    options = parse_defines(
        ["backend=kernel", "kernel.version=6.12", "kernel.iommu=virtio", "kernel.accel=tcg"]
    )
    assert options.backend == "kernel"
    assert options.kernel == KernelConfig("6.12", "virtio", "tcg")
    assert "kernel.version=6.12 kernel.iommu=virtio kernel.accel=tcg" in options.describe()


def test_the_kernel_keys_default_to_61_vtd_auto() -> None:
    assert parse_defines(["backend=kernel"]).kernel == KernelConfig("6.1", "vtd", "auto")


def test_the_keys_are_checked_together_whatever_their_order() -> None:
    options = parse_defines(["kernel.iommu=virtio", "kernel.version=6.12"])
    assert options.kernel.iommu == "virtio"
    with pytest.raises(OptionError) as caught:
        parse_defines(["kernel.iommu=virtio"])
    assert caught.value.where() == "-D kernel.iommu='virtio'"
    assert "needs kernel.version=6.12" in caught.value.message
    assert caught.value.hint is not None and "kernel.version=6.12" in caught.value.hint


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("kernel.version=6.6", "expected one of 6.1, 6.12"),
        ("kernel.iommu=amd", "expected one of vtd, virtio"),
        ("kernel.accel=hvf", "expected one of auto, tcg, kvm"),
    ],
)
def test_a_bad_kernel_value_is_an_option_error(entry: str, message: str) -> None:
    with pytest.raises(OptionError, match=message):
        parse_defines([entry])


def test_a_misspelt_kernel_key_gets_the_closest_one() -> None:
    with pytest.raises(OptionError, match=r"did you mean 'kernel\.iommu'"):
        parse_defines(["kernel.iomu=vtd"])
