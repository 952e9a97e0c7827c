"""The lifecycle messages of `vfio-harness/1`: `initialize` and `reset` params, and the handshake.

`defaults_to_wire` and `defaults_from_wire` are the two directions of the run's defaults (the
`defaults` member of `initialize` and `reset`); `handshake_from_wire` validates a child's answer
to `initialize` and `handshake_to_wire` builds a server's. The defaults carry `aw` only when it
is not 64, so that under default options the `initialize` line is byte for byte the protocol
page's example.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, get_args

from harness.backend import CoreDefaults, ReservedName, UnmapModeName, WindowSpec
from harness.protocol.methods import LIFECYCLE, METHODS, PROTOCOL, ValueKind, is_kind
from harness.protocol.wire import json_type

# A project name as issue links use it: `/NAME/issue/N/`.
NAME = re.compile(r"[a-z0-9_-]+")
_WINDOWS = ("mmio32", "mmio64", "io")
_CHOICES: dict[str, tuple[str, ...]] = {
    "mode": get_args(UnmapModeName),
    "reserved": get_args(ReservedName),
}
_DEFAULT_AW = CoreDefaults().aw


class LifecycleError(Exception):
    """A malformed `initialize`/`reset` message; `reason` names the member and what is wrong."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def defaults_to_wire(defaults: CoreDefaults) -> dict[str, Any]:
    """The `defaults` object of `initialize` and `reset`."""
    wire: dict[str, Any] = {
        "pgsize": defaults.pgsize,
        "limit": defaults.limit,
        "mode": defaults.mode,
        "reserved": defaults.reserved,
    }
    if defaults.aw != _DEFAULT_AW:
        wire["aw"] = defaults.aw
    for kind in _WINDOWS:
        window: WindowSpec = getattr(defaults, kind)
        wire[kind] = {"base": window.base, "size": window.size}
    return wire


def defaults_from_wire(params: Mapping[str, Any]) -> CoreDefaults:
    """The run's defaults from `initialize`/`reset` params (every member but `aw` required)."""
    wire = params.get("defaults")
    if not isinstance(wire, dict):
        raise LifecycleError('"defaults" must be an object')
    expected = {f.name for f in dataclasses.fields(CoreDefaults)}
    unknown = sorted(set(wire) - expected)
    if unknown:
        raise LifecycleError(f'unknown member "defaults.{unknown[0]}"')
    values: dict[str, Any] = {}
    for name in sorted(expected):
        if name not in wire:
            if name == "aw":
                continue
            raise LifecycleError(f'"defaults.{name}" is missing')
        value = wire[name]
        if name in _WINDOWS:
            values[name] = _window(name, value)
        elif name in _CHOICES:
            if value not in _CHOICES[name]:
                choices = ", ".join(f'"{c}"' for c in _CHOICES[name])
                raise LifecycleError(f'"defaults.{name}" must be one of {choices}')
            values[name] = value
        elif is_kind(value, ValueKind.INTEGER):
            values[name] = value
        else:
            raise LifecycleError(f'"defaults.{name}" must be an integer in 0..2^64-1')
    return CoreDefaults(**values)


def _window(name: str, value: Any) -> WindowSpec:
    if not isinstance(value, dict) or set(value) != {"base", "size"}:
        raise LifecycleError(f'"defaults.{name}" must be an object with "base" and "size"')
    if not all(is_kind(value[k], ValueKind.INTEGER) for k in ("base", "size")):
        raise LifecycleError(f'"defaults.{name}" base and size must be integers in 0..2^64-1')
    return WindowSpec(value["base"], value["size"])


@dataclass(frozen=True, slots=True)
class Handshake:
    """A child's answer to `initialize`: project name, methods it implements, header info."""

    name: str
    methods: frozenset[str]
    info: Mapping[str, str] = field(default_factory=dict)
    # Names in `methods` that are no method of the protocol (a typo, a newer protocol): shown in
    # the run header, never called.
    unknown: tuple[str, ...] = ()
    # Members of the answer the page does not name: the page refuses only a missing or
    # malformed field, so they are ignored, and shown in the header (a typo shows there).
    extra: tuple[str, ...] = ()


def handshake_from_wire(result: Any) -> Handshake:
    """The handshake of an `initialize` result, validated."""
    if not isinstance(result, dict):
        raise LifecycleError(f"the result is a JSON {json_type(result)}, not an object")
    extra = tuple(sorted(set(result) - {"name", "protocol", "methods", "info"}))
    name, protocol, methods = result.get("name"), result.get("protocol"), result.get("methods")
    if type(protocol) is not str:
        raise LifecycleError('"protocol" is missing or not a string')
    if protocol != PROTOCOL:
        raise LifecycleError(f'"protocol" is "{protocol}", not "{PROTOCOL}"')
    if type(name) is not str or not NAME.fullmatch(name):
        raise LifecycleError(
            '"name" must be a project name: lowercase letters, digits, "-" and "_"'
        )
    if not isinstance(methods, list) or not all(type(m) is str for m in methods):
        raise LifecycleError('"methods" must be an array of strings')
    if len(set(methods)) != len(methods):
        duplicate = next(m for i, m in enumerate(methods) if m in methods[:i])
        raise LifecycleError(f'"methods" lists "{duplicate}" twice')
    info = result.get("info", {})
    if not isinstance(info, dict) or not all(type(v) is str for v in info.values()):
        raise LifecycleError('"info" must be an object of strings')
    known = frozenset(m for m in methods if m in METHODS)
    unknown = tuple(m for m in methods if m not in METHODS and m not in LIFECYCLE)
    return Handshake(name, known, dict(info), unknown, extra)


def handshake_to_wire(handshake: Handshake) -> dict[str, Any]:
    """An `initialize` result (`info` only when there is some)."""
    result: dict[str, Any] = {
        "name": handshake.name,
        "protocol": PROTOCOL,
        "methods": [m for m in METHODS if m in handshake.methods],
    }
    if handshake.info:
        result["info"] = dict(handshake.info)
    return result
