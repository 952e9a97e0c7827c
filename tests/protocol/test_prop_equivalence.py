"""Property: any call sequence gives the same results in process and over the protocol.

Random sequences of Backend calls (every method of the protocol, arguments drawn from the
method table's parameter kinds, names from the ones declared) run on the model in this process
and on `exec:python -m harness serve`: every result, every error id and message must be equal.
A call the model cannot take at all (an exception other than VfioError, a bug the in-process
run reports as a crash) must be a fault over the protocol, naming the same exception.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from processes import my_children, serve_command, wait_gone

from harness.backend import BackendFault, CoreDefaults
from harness.model import ModelBackend
from harness.protocol.client import ProcessSession
from harness.protocol.methods import METHODS, Method, ValueKind
from harness.vfio.address import U64_MAX
from harness.vfio.catalog import VfioError

CONTAINERS, DEVICES = ("c0", "c1"), ("gpu0", "nic0")
PAGE = 0x1000
INTEGERS = st.one_of(
    st.integers(0, 64).map(lambda n: n * PAGE),
    st.sampled_from([0, 1, 2, 4, 8, 16, 0x10, 0x40, 0x100, 0xFEE00000, 0xFEF00000]),
    st.sampled_from([1 << 30, 1 << 32, U64_MAX, U64_MAX - PAGE + 1, 0x7F0000000000]),
    st.integers(0, U64_MAX),
)
# Declarations made before the random calls, so that most calls find their names.
PRELUDE: tuple[tuple[str, tuple[Any, ...], dict[str, Any]], ...] = (
    ("container", ("c0",), {}),
    ("container", ("c1",), {"mode": "v1", "pgsize": 0x10000}),
    ("device", ("gpu0", "0000:01:00.0"), {}),
    ("device_bar", ("gpu0", 0, "mem64", 1 << 24), {"prefetch": True}),
    ("device_bar", ("gpu0", 2, "mem32", 1 << 16), {}),
    ("device_msix", ("gpu0", 8, 2, 0, 2, 0x800), {}),
    ("device", ("nic0", "02:00.0"), {}),
)


def _value(kind: ValueKind, choices: tuple[str, ...], name: str) -> st.SearchStrategy[Any]:
    if name == "container" or name == "device":
        return st.sampled_from(CONTAINERS if name == "container" else DEVICES)
    if choices:
        return st.sampled_from(choices)
    if kind is ValueKind.BOOLEAN:
        return st.booleans()
    if kind is ValueKind.STRING:  # a BDF, or a name to declare
        return st.sampled_from(["0000:03:00.0", "03:00.1", "zz:00.0", "gpu0", "c9"])
    return INTEGERS


@st.composite
def calls(draw: st.DrawFn) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
    """One Backend call: method, positional arguments, keyword arguments."""
    method: Method = draw(st.sampled_from(list(METHODS.values())))
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for param in method.params:
        if not param.required and draw(st.booleans()):
            continue  # leave a defaulted parameter out
        value = draw(_value(param.kind, param.choices, param.name))
        if param.required and not kwargs:
            args.append(value)
        else:
            kwargs[param.name] = value
    return method.name, tuple(args), kwargs


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessSession]:
    folder: Path = tmp_path_factory.mktemp("serve")
    before = set(my_children())
    with ProcessSession(serve_command(), CoreDefaults(), cwd=folder, timeout=30) as opened:
        yield opened
    assert wait_gone(sorted(set(my_children()) - before)) == []


@pytest.fixture(autouse=True)
def _no_process_left_behind() -> None:
    """The session's child outlives each test (a crash restarts it): checked per module."""


def _in_process(backend: ModelBackend, call: tuple[str, tuple[Any, ...], dict[str, Any]]) -> Any:
    method, args, kwargs = call
    try:
        return ("result", getattr(backend, method)(*args, **kwargs))
    except VfioError as error:
        return ("error", error.id, error.message)
    except Exception as error:  # the in-process run reports it as a crash
        return ("crash", f"{method} raised {type(error).__name__}: {error}")


def _over_protocol(backend: Any, call: tuple[str, tuple[Any, ...], dict[str, Any]]) -> Any:
    method, args, kwargs = call
    try:
        return ("result", getattr(backend, method)(*args, **kwargs))
    except VfioError as error:
        return ("error", error.id, error.message)
    except BackendFault as fault:
        return ("crash", fault.message)  # it quotes the child's answer


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(st.lists(calls(), max_size=30))
def test_call_sequences_agree_in_process_and_over_the_protocol(
    session: ProcessSession, sequence: list[tuple[str, tuple[Any, ...], dict[str, Any]]]
) -> None:
    local, remote = ModelBackend(CoreDefaults()), session.fresh()
    for call in (*PRELUDE, *sequence):
        expected = _in_process(local, call)
        got = _over_protocol(remote, call)
        if expected[0] == "crash":
            # Over the protocol the quoted line carries the same exception; the run stops.
            assert got[0] == "crash" and expected[1] in got[1], call
            return
        assert got == expected, call
