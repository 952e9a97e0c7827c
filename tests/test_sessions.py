"""Backend sessions (harness/sessions.py): specs loaded once, a fresh backend per scenario,
clear errors for whatever a third-party backend raises, and methods a class may leave out."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from harness.backend import BackendSession, CoreDefaults, Unsupported
from harness.model import ModelBackend
from harness.sessions import BACKEND_METHODS, BackendError, ClassSession, open_backend

BACKENDS = '''
import sys
from harness.model import ModelBackend


class Counting(ModelBackend):
    built = 0

    def __init__(self, defaults):
        type(self).built += 1
        super().__init__(defaults)


class Exits:
    def __init__(self, defaults):
        sys.exit(3)


class Nameless(ModelBackend):
    name = ""


class OnlyMaps:
    name = "maps"

    def __init__(self, defaults):
        self.calls = []

    def container(self, name, **options):
        self.calls.append(name)

    def map(self, container, iova, vaddr, size, perm="rw"):
        self.calls.append((container, iova))


class Nothing:
    name = "nothing"

    def __init__(self, defaults):
        pass
'''


@pytest.fixture
def backends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A module of test backends on sys.path; returns its name."""
    (tmp_path / "session_backends.py").write_text(BACKENDS, encoding="utf-8")
    (tmp_path / "raises_on_import.py").write_text("raise SystemExit(4)\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("session_backends", "raises_on_import"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    return "session_backends"


def test_backend_methods_are_the_protocols_methods() -> None:
    assert {"container", "map", "unmap_all", "mmio_read", "device_reset", "command"} <= set(
        BACKEND_METHODS
    )
    assert "name" not in BACKEND_METHODS
    assert list(BACKEND_METHODS) == sorted(BACKEND_METHODS)


def test_model_session_gives_a_new_model_per_scenario_with_the_defaults() -> None:
    session = open_backend("model", CoreDefaults(limit=3))
    assert isinstance(session, BackendSession)
    assert (session.name, dict(session.info)) == ("model", {})
    assert session.methods == frozenset(BACKEND_METHODS)
    first, second = session.fresh(), session.fresh()
    assert isinstance(first, ModelBackend) and isinstance(second, ModelBackend)
    assert first is not second


def test_a_fresh_backend_holds_nothing_of_the_previous_scenario() -> None:
    session = open_backend("model", CoreDefaults(limit=3))
    first = session.fresh()
    first.container("c0")
    first.map("c0", 0x1000, 0x1000, 0x1000)
    second = session.fresh()
    second.container("c0")
    assert second.mappings("c0") == 0
    assert second.avail("c0") == 3  # the defaults reach every fresh backend


def test_class_session_builds_the_class_once_per_scenario(backends: str) -> None:
    session = open_backend(f"{backends}:Counting", CoreDefaults())
    module = sys.modules[backends]
    assert module.Counting.built == 1  # built once to check it, and that one serves first
    session.fresh()
    assert module.Counting.built == 1
    session.fresh()
    session.fresh()
    assert module.Counting.built == 3


def test_close_is_idempotent() -> None:
    session = open_backend("model", CoreDefaults())
    assert isinstance(session, ClassSession)
    session.close()
    session.close()
    assert session.closed


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("kernel-ish", "not a backend name"),
        ("harness.model:", "not a backend name"),
        ("no_such_module_xyz:Backend", "cannot import module 'no_such_module_xyz'"),
        ("harness.model:Nope", "module 'harness.model' has no class 'Nope'"),
        ("harness.backend:WindowSpec", "WindowSpec(defaults) failed: TypeError"),
        ("harness.backend:CoreDefaults", "CoreDefaults(defaults).name is None, not a project"),
    ],
)
def test_open_backend_fails_with_message_and_hint(spec: str, message: str) -> None:
    with pytest.raises(BackendError) as info:
        open_backend(spec, CoreDefaults())
    assert info.value.message.startswith(message)
    assert info.value.hint
    assert info.value.spec == spec


def test_open_backend_fails_cleanly_when_the_class_exits(backends: str) -> None:
    # `-D backend=sys:exit` and a constructor that calls sys.exit: a message, not SystemExit.
    with pytest.raises(BackendError) as info:
        open_backend("sys:exit", CoreDefaults())
    assert info.value.message.startswith("exit(defaults) failed: SystemExit: CoreDefaults(")
    with pytest.raises(BackendError) as info:
        open_backend(f"{backends}:Exits", CoreDefaults())
    assert info.value.message == "Exits(defaults) failed: SystemExit: 3"


def test_open_backend_fails_cleanly_when_importing_the_module_exits(backends: str) -> None:
    with pytest.raises(BackendError) as info:
        open_backend("raises_on_import:Backend", CoreDefaults())
    assert info.value.message == "importing module 'raises_on_import' failed: SystemExit: 4"


def test_open_backend_lets_keyboard_interrupt_through(
    backends: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(defaults: CoreDefaults) -> None:
        raise KeyboardInterrupt

    module = importlib.import_module(backends)
    monkeypatch.setattr(module, "Interrupted", interrupted, raising=False)
    with pytest.raises(KeyboardInterrupt):
        open_backend(f"{backends}:Interrupted", CoreDefaults())


def test_a_backend_needs_a_project_name(backends: str) -> None:
    with pytest.raises(BackendError) as info:
        open_backend(f"{backends}:Nameless", CoreDefaults())
    assert "not a project name" in info.value.message


def test_a_class_with_no_backend_method_is_refused(backends: str) -> None:
    with pytest.raises(BackendError) as info:
        open_backend(f"{backends}:Nothing", CoreDefaults())
    assert "implements none of the Backend methods" in info.value.message


def test_a_method_the_class_lacks_raises_unsupported(backends: str) -> None:
    session = open_backend(f"{backends}:OnlyMaps", CoreDefaults())
    assert session.methods == {"container", "map"}
    backend = session.fresh()
    backend.container("c0")
    backend.map("c0", 0x1000, 0, 0x1000)
    with pytest.raises(Unsupported) as info:
        backend.cfg_write("gpu", 0x10, 0)
    assert info.value.reason == "does not implement cfg_write"
