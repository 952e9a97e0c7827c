"""The guest's QEMU command line (`harness.kernel.machine`) and configuration (`config`)."""

from __future__ import annotations

import shlex
import sys

import pytest

from harness.kernel import machine
from harness.kernel.config import ConfigError, KernelConfig


def _value(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, word in enumerate(argv) if word == flag]


def test_vtd_machine_has_interrupt_remapping_and_the_kernel_turns_it_on() -> None:
    argv = machine.argv("vtd", "tcg")
    assert "intel-iommu,intremap=on,caching-mode=on" in _value(argv, "-device")
    assert "intel_iommu=on" in _value(argv, "-append")[0].split()


def test_virtio_machine_has_a_virtio_iommu_and_no_intel_option() -> None:
    argv = machine.argv("virtio", "tcg")
    assert "virtio-iommu-pci" in _value(argv, "-device")
    assert "intel_iommu=on" not in _value(argv, "-append")[0]


def test_warnings_reach_the_console() -> None:
    line = machine.kernel_command_line("vtd").split()
    assert "loglevel=5" in line and "quiet" not in line
    assert "console=ttyS0" in line and "panic=-1" in line


def test_accelerator_picks_the_cpu_model() -> None:
    assert _value(machine.argv("vtd", "kvm"), "-cpu") == ["host"]
    assert _value(machine.argv("vtd", "tcg"), "-cpu") == ["max"]
    assert _value(machine.argv("vtd", "kvm"), "-accel") == ["kvm"]


def test_the_guest_has_separate_groups_worth_of_devices() -> None:
    devices = _value(machine.argv("vtd", "tcg"), "-device")
    assert sum(d.startswith("e1000e,") for d in devices) == machine.E1000E_COUNT
    assert sum(d.startswith("virtio-rng-pci,") for d in devices) == machine.RNG_COUNT


def test_the_agent_talks_over_a_virtio_serial_port_not_a_tty() -> None:
    argv = machine.argv("vtd", "tcg")
    assert "virtio-serial-pci,id=agentbus" in _value(argv, "-device")
    assert f"virtserialport,bus=agentbus.0,chardev=agent,name={machine.AGENT_PORT}" in _value(
        argv, "-device"
    )
    assert _value(argv, "-serial") == ["chardev:console"]


def test_incoming_restores_the_snapshot_by_its_name_in_the_runtime_folder() -> None:
    assert _value(machine.argv("vtd", "tcg", incoming=True), "-incoming") == [
        f"exec:cat {machine.SNAPSHOT}"
    ]
    assert "-incoming" not in machine.argv("vtd", "tcg")


def test_identity_names_the_machine_without_paths_and_differs_by_iommu_and_accel() -> None:
    ids = {machine.identity(i, a) for i in ("vtd", "virtio") for a in ("tcg", "kvm")}
    assert len(ids) == 4
    assert not any(word.startswith("/") for word in machine.argv("vtd", "tcg"))


def test_config_refuses_virtio_on_61() -> None:
    with pytest.raises(ConfigError, match="built without virtio-iommu") as caught:
        KernelConfig("6.1", "virtio")
    assert "kernel.version=6.12" in caught.value.hint


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (("5.10", "vtd", "auto"), "kernel.version='5.10'"),
        (("6.1", "amd", "auto"), "kernel.iommu='amd'"),
        (("6.1", "vtd", "hvf"), "kernel.accel='hvf'"),
    ],
)
def test_config_refuses_unknown_values(fields: tuple[str, str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        KernelConfig(*fields)  # type: ignore[arg-type]


def test_config_args_round_trip_to_the_command_line() -> None:
    config = KernelConfig("6.12", "virtio", "tcg")
    assert config.args() == ["--version", "6.12", "--iommu", "virtio", "--accel", "tcg"]


def test_serve_spec_runs_this_interpreter_with_the_configuration_and_timeout() -> None:
    spec = KernelConfig("6.12", "virtio", "tcg").serve_spec(12.5)
    assert spec.startswith("exec:")
    words = shlex.split(spec.removeprefix("exec:"))
    assert words[:5] == [sys.executable, "-m", "harness", "kernel", "serve"]
    assert words[5:] == [
        "--version",
        "6.12",
        "--iommu",
        "virtio",
        "--accel",
        "tcg",
        "--timeout",
        "12.5",
    ]
