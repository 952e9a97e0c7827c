"""The method table and the lifecycle messages (`methods.py`, `lifecycle.py`)."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.backend import Backend, CoreDefaults, WindowSpec
from harness.protocol import wire
from harness.protocol.lifecycle import (
    Handshake,
    LifecycleError,
    defaults_from_wire,
    defaults_to_wire,
    handshake_from_wire,
    handshake_to_wire,
)
from harness.protocol.methods import METHODS, ValueKind, bind

# The protocol page's example `initialize` line, byte for byte.
PAGE_INITIALIZE = (
    b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocol":"vfio-harness/1",'
    b'"defaults":{"pgsize":4096,"limit":65535,"mode":"v2","reserved":"x86",'
    b'"mmio32":{"base":3221225472,"size":671088640},'
    b'"mmio64":{"base":1099511627776,"size":1099511627776},"io":{"base":4096,"size":61440}}}}\n'
)


def test_every_backend_method_is_on_the_wire() -> None:
    declared = {n for n, m in vars(Backend).items() if inspect.isfunction(m) and n[0] != "_"}
    assert set(METHODS) == declared


@pytest.mark.parametrize(
    ("kind", "methods"),
    [
        (
            ValueKind.NULL,
            "container window device device_bar device_rom device_msix attach map alloc "
            "cfg_write msix_entry msix_mask msix_unmask msix_enable msix_fmask irq "
            "mmio_write device_reset",
        ),
        (
            ValueKind.INTEGER,
            "unmap unmap_all cfg_read mappings mapped avail translate bar_size bar_gpa rom_size "
            "rom_gpa msix_vectors msix_delivered msix_configured mmio_read msix_last_addr "
            "msix_last_data command",
        ),
        (
            ValueKind.BOOLEAN,
            "mapped_at msix_enabled msix_function_masked msix_masked msix_pending",
        ),
    ],
)
def test_result_kinds_follow_the_protocol_table(kind: ValueKind, methods: str) -> None:
    assert {m for m, spec in METHODS.items() if spec.result is kind} == set(methods.split())


def test_bind_sends_positional_arguments_by_name_with_concrete_defaults() -> None:
    assert bind(METHODS["map"], ("c0", 0x1000, 0x2000, 0x1000), {}) == {
        "container": "c0",
        "iova": 0x1000,
        "vaddr": 0x2000,
        "size": 0x1000,
        "perm": "rw",
    }


def test_bind_leaves_out_only_none() -> None:
    params = bind(METHODS["container"], ("c0",), {"mode": None, "pgsize": 0, "aw": None})
    assert params == {"name": "c0", "pgsize": 0}
    assert bind(METHODS["msix_enable"], ("gpu", False), {}) == {"device": "gpu", "on": False}


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("c0",), {}, "map() is missing 'iova'"),
        (("c0", 1, 2, 3, "rw", 9), {}, "map() takes 5 arguments, not 6"),
        (("c0", 1, 2, 3), {"container": "c1"}, "map() got 'container' twice"),
        (("c0", 1, 2, 3), {"flags": 1}, "map() has no parameter 'flags'"),
    ],
)
def test_bind_fails_like_a_python_call(
    args: tuple[Any, ...], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(TypeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        bind(METHODS["map"], args, kwargs)


def test_default_defaults_give_the_pages_initialize_line() -> None:
    params = {"protocol": "vfio-harness/1", "defaults": defaults_to_wire(CoreDefaults())}
    assert wire.request(1, "initialize", params) == PAGE_INITIALIZE


def test_aw_is_sent_only_when_not_64() -> None:
    assert "aw" not in defaults_to_wire(CoreDefaults())
    assert defaults_to_wire(CoreDefaults(aw=48))["aw"] == 48


windows = st.builds(WindowSpec, st.integers(0, 2**40), st.integers(1, 2**40))


@given(
    st.builds(
        CoreDefaults,
        pgsize=st.sampled_from([1, 4096, 1 << 16, 1 << 30]),
        limit=st.integers(0, 2**32 - 1),
        mode=st.sampled_from(["v1", "v2"]),
        reserved=st.sampled_from(["x86", "none"]),
        aw=st.integers(1, 64),
        mmio32=windows,
        mmio64=windows,
        io=windows,
    )
)
def test_defaults_round_trip(defaults: CoreDefaults) -> None:
    assert defaults_from_wire({"defaults": defaults_to_wire(defaults)}) == defaults


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"pgsize": None}, '"defaults.pgsize" is missing'),
        ({"pgsize": 4096.0}, '"defaults.pgsize" must be an integer in 0..2^64-1'),
        ({"limit": True}, '"defaults.limit" must be an integer in 0..2^64-1'),
        ({"mode": "v3"}, '"defaults.mode" must be one of "v1", "v2"'),
        ({"io": {"base": 1}}, '"defaults.io" must be an object with "base" and "size"'),
        ({"io": {"base": -1, "size": 1}}, '"defaults.io" base and size must be integers'),
        ({"colour": 1}, 'unknown member "defaults.colour"'),
    ],
)
def test_defaults_from_wire_fails_naming_the_member(change: dict[str, Any], reason: str) -> None:
    wire_defaults = defaults_to_wire(CoreDefaults())
    for key, value in change.items():
        if value is None:
            del wire_defaults[key]
        else:
            wire_defaults[key] = value
    with pytest.raises(LifecycleError) as caught:
        defaults_from_wire({"defaults": wire_defaults})
    assert caught.value.reason.startswith(reason)


def test_handshake_round_trips_with_info() -> None:
    handshake = Handshake("my-vmm_2", frozenset({"map", "container"}), {"kernel": "6.12"})
    assert handshake_from_wire(handshake_to_wire(handshake)) == handshake


def test_handshake_keeps_unknown_method_names_apart() -> None:
    result = {
        "name": "myvmm",
        "protocol": "vfio-harness/1",
        "methods": ["map", "cfgread", "shutdown"],
    }
    handshake = handshake_from_wire(result)
    assert handshake.methods == {"map"} and handshake.unknown == ("cfgread",)


def test_handshake_ignores_members_the_page_does_not_name() -> None:
    # The page fails initialize for a wrong protocol, a missing or malformed field, or no
    # answer: a member it does not name is none of those.
    result = {"name": "x", "protocol": "vfio-harness/1", "methods": ["map"], "version": "1.2"}
    handshake = handshake_from_wire(result)
    assert handshake.methods == {"map"} and handshake.extra == ("version",)


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        ([], "the result is a JSON array, not an object"),
        ({"name": "x", "methods": []}, '"protocol" is missing or not a string'),
        (
            {"name": "x", "protocol": "vfio-harness/2", "methods": []},
            '"protocol" is "vfio-harness/2", not "vfio-harness/1"',
        ),
        ({"name": "MyVMM", "protocol": "vfio-harness/1", "methods": []}, '"name" must be'),
        ({"protocol": "vfio-harness/1", "methods": []}, '"name" must be'),
        ({"name": "x", "protocol": "vfio-harness/1"}, '"methods" must be an array of strings'),
        (
            {"name": "x", "protocol": "vfio-harness/1", "methods": ["map", "map"]},
            '"methods" lists "map" twice',
        ),
        (
            {"name": "x", "protocol": "vfio-harness/1", "methods": [], "info": {"k": 1}},
            '"info" must be an object of strings',
        ),
    ],
)
def test_handshake_from_wire_fails_naming_the_field(result: Any, reason: str) -> None:
    with pytest.raises(LifecycleError) as caught:
        handshake_from_wire(result)
    assert caught.value.reason.startswith(reason)
