"""Opening the system under test for a run: `open_backend(spec, defaults, options)`.

A run (the CLI's, or one pytest process: the serial session or one xdist worker) opens one
`BackendSession` and asks it for a fresh `Backend` per scenario; whoever opened it closes it on
every exit path (`close()` is idempotent). Specs:

- `model`: the core model (`harness.model.ModelBackend`);
- `package.module:Class`: a class built as `Class(defaults)` for every scenario.

Loading or building a backend is third-party code: anything it raises (any `BaseException` but
`KeyboardInterrupt`, so also `SystemExit`) becomes a `BackendError` with a message and a hint,
never a traceback. A class may leave out Backend methods: the session lists the ones it has
(`methods`), and a call to a missing one raises `Unsupported`, so the scenario that needs it is
skipped, as for a process backend that lacks the method.

This module imports neither the scenario language nor lark, so that the pytest plugin can open
the session while it configures without paying for them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from harness.backend import Backend, BackendFault, BackendSession, CoreDefaults, Unsupported
from harness.errors import HintedError

if TYPE_CHECKING:
    from harness.options import RunOptions

MODEL = "model"  # the core model's spec, and its project name
# The Backend protocol's methods (its wire names too), in alphabetical order.
BACKEND_METHODS: tuple[str, ...] = tuple(
    sorted(name for name, value in vars(Backend).items() if callable(value) and name[0] != "_")
)
SPEC_HINT = "name the backend 'model' or give an import path 'package.module:Class'"
_CLASS_HINT = "a backend class is built as Class(defaults: CoreDefaults)"
_NO_INFO: Mapping[str, str] = MappingProxyType({})


class BackendError(HintedError):
    """A backend spec that cannot be loaded or built."""

    def __init__(self, spec: str, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.spec = spec

    def where(self) -> str:
        """`backend 'spec'`."""
        return f"backend {self.spec!r}"


def _raised(error: BaseException) -> str:
    """`Type: message` of an exception, as a report shows it."""
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class ClassSession:
    """A session over an in-process class: `fresh()` builds `Class(defaults)` each time."""

    def __init__(self, spec: str, factory: Callable[[CoreDefaults], Any], defaults: CoreDefaults):
        self.spec = spec
        self.defaults = defaults
        self._factory = factory
        first = self._build()
        name = getattr(first, "name", None)
        if not isinstance(name, str) or not name:
            raise BackendError(
                spec,
                f"{_label(factory)}(defaults).name is {name!r}, not a project name",
                "give the class a `name` attribute: the project its issue links use",
            )
        self.name: str = name
        self.info: Mapping[str, str] = _NO_INFO
        self.methods = frozenset(m for m in BACKEND_METHODS if callable(getattr(first, m, None)))
        if not self.methods:
            raise BackendError(
                spec,
                f"{_label(factory)} implements none of the Backend methods",
                "a backend class implements harness.backend.Backend (container, map, ...)",
            )
        self._first: Any = first  # handed out by the first fresh(): it was built for a run
        self.closed = False

    def _build(self, *, passing: tuple[type[BaseException], ...] = ()) -> Any:
        """One instance; any failure of the third-party constructor but KeyboardInterrupt
        and the `passing` kinds as a BackendError."""
        through: tuple[type[BaseException], ...] = (KeyboardInterrupt, *passing)
        try:
            return self._factory(self.defaults)
        except through:
            raise
        except BaseException as error:  # a third-party constructor may raise anything
            label = _label(self._factory)
            message = f"{label}(defaults) failed: {_raised(error)}"
            raise BackendError(self.spec, message, _CLASS_HINT) from None

    def fresh(self) -> Backend:
        """A new instance (a `_Partial` view when the class lacks Backend methods).

        A constructor that raises `Unsupported` or `BackendFault` says so for this scenario
        (a fatal fault stops the run); anything else it raises is a BackendError.
        """
        if self._first is None:
            backend = self._build(passing=(Unsupported, BackendFault))
        else:
            backend = self._first
        self._first = None
        if len(self.methods) < len(BACKEND_METHODS):
            return _Partial(backend, self.methods)  # type: ignore[return-value]
        return backend  # type: ignore[no-any-return]

    def close(self) -> None:
        """Nothing to end for an in-process class; safe to call again."""
        self.closed = True
        self._first = None


class _Partial:
    """A backend that lacks some Backend methods: those raise `Unsupported` when called."""

    def __init__(self, backend: Any, methods: frozenset[str]) -> None:
        self.name = backend.name
        for method in BACKEND_METHODS:
            call = getattr(backend, method) if method in methods else _lacking(method)
            setattr(self, method, call)


def _lacking(method: str) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        raise Unsupported(f"does not implement {method}", missing=True)

    return call


def _label(factory: Callable[..., Any]) -> str:
    return getattr(factory, "__qualname__", None) or repr(factory)


def _factory(spec: str) -> Callable[[CoreDefaults], Any]:
    """The callable a `package.module:Class` spec names."""
    module_name, colon, class_name = spec.partition(":")
    if not colon or not module_name or not class_name:
        raise BackendError(spec, "not a backend name", SPEC_HINT)
    try:
        module = importlib.import_module(module_name)
    except KeyboardInterrupt:
        raise
    except ImportError as error:
        raise BackendError(
            spec,
            f"cannot import module {module_name!r}: {error}",
            "check the module is installed or on PYTHONPATH",
        ) from None
    except BaseException as error:  # importing runs third-party code
        raise BackendError(
            spec,
            f"importing module {module_name!r} failed: {_raised(error)}",
            "the module raised while it was imported; run `python -c 'import "
            f"{module_name}'` to see why",
        ) from None
    factory = getattr(module, class_name, None)
    if factory is None or not callable(factory):
        raise BackendError(
            spec,
            f"module {module_name!r} has no class {class_name!r}",
            "the part after ':' names a class in that module",
        )
    return factory  # type: ignore[no-any-return]


def open_backend(
    spec: str, defaults: CoreDefaults, options: RunOptions | None = None
) -> BackendSession:
    """The session of the backend `spec` names (`options`: the run's, for backend.* keys)."""
    if spec == MODEL:
        from harness.model import ModelBackend

        return ClassSession(spec, ModelBackend, defaults)
    return ClassSession(spec, _factory(spec), defaults)
