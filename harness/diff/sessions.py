"""Sessions of in-process backends (`model`, `package.module:Class`) for the diff.

A session gives a fresh backend per program. Its `methods` are the Backend methods the class
defines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from harness.backend import Backend, BackendSession, CoreDefaults
from harness.runner import load_backend

BACKEND_METHODS = frozenset(m for m in vars(Backend) if not m.startswith("_"))


@dataclass
class ClassSession:
    """A session over an in-process backend class: `fresh()` builds a new object."""

    spec: str
    defaults: CoreDefaults
    name: str = ""
    info: Mapping[str, str] = field(default_factory=dict)
    methods: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        first = load_backend(self.spec, self.defaults)
        self.name = first.name
        self.methods = frozenset(m for m in BACKEND_METHODS if callable(getattr(first, m, None)))

    def fresh(self) -> Backend:
        """A new backend object."""
        return load_backend(self.spec, self.defaults)

    def close(self) -> None:
        """Nothing to end."""


def open_session(spec: str, defaults: CoreDefaults) -> BackendSession:
    """A session for `spec`."""
    return ClassSession(spec, defaults)
