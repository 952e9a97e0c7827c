"""The protocol's method table, read off `harness.backend.Backend`: names, parameters, results.

The wire names and parameter names of `vfio-harness/1` are those of the `Backend` protocol, so
the table is derived from its signatures rather than written out a second time: a method added
to `Backend` is on the wire at once, with its parameter kinds and its result kind. The client
uses the table to send a call's arguments by name (leaving out only `None`, filling in
concrete defaults such as `map`'s `perm`); the server uses it to validate what it receives.
"""

from __future__ import annotations

import enum
import inspect
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Union

from harness.backend import Backend
from harness.vfio.address import U64_MAX

PROTOCOL = "vfio-harness/1"
# The protocol's own methods; `reset` (per scenario) is why a device's reset is `device_reset`.
LIFECYCLE = ("initialize", "reset", "shutdown")


class ValueKind(enum.Enum):
    """The JSON type a parameter or result has on the wire."""

    NULL = "null"
    INTEGER = "integer"  # a JSON integer in 0 .. 2^64-1, read exactly
    BOOLEAN = "boolean"
    STRING = "string"


KIND_WORDS = {
    ValueKind.NULL: "null",
    ValueKind.INTEGER: "an integer in 0..2^64-1",
    ValueKind.BOOLEAN: "a boolean",
    ValueKind.STRING: "a string",
}
"""Each wire type as the value it asks for, in messages."""


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter: its name, wire type, allowed strings, and default (`REQUIRED` if none)."""

    name: str
    kind: ValueKind
    choices: tuple[str, ...] = ()  # for a Literal type: the strings allowed
    default: object = inspect.Parameter.empty
    optional: bool = False  # `X | None`: left out of the request when None

    @property
    def required(self) -> bool:
        """Whether a request must carry this parameter."""
        return self.default is inspect.Parameter.empty

    def accepts(self, value: object) -> bool:
        """Whether `value` (as decoded from JSON) is a valid value for this parameter."""
        return is_kind(value, self.kind) and (not self.choices or value in self.choices)

    def describe(self) -> str:
        """The expected value in words, for error messages."""
        if self.choices:
            return "one of " + ", ".join(f'"{c}"' for c in self.choices)
        return KIND_WORDS[self.kind]


@dataclass(frozen=True, slots=True)
class Method:
    """One wire method: its parameters in call order, and the kind of its result."""

    name: str
    params: tuple[Param, ...]
    result: ValueKind

    def by_name(self) -> Mapping[str, Param]:
        """The parameters by name."""
        return {p.name: p for p in self.params}


def is_kind(value: object, kind: ValueKind) -> bool:
    """Whether a decoded JSON value has the wire type `kind` (bool is not an integer here)."""
    if kind is ValueKind.INTEGER:
        return type(value) is int and 0 <= value <= U64_MAX
    if kind is ValueKind.BOOLEAN:
        return type(value) is bool
    if kind is ValueKind.STRING:
        return type(value) is str
    return value is None


_SCALARS: dict[object, ValueKind] = {
    int: ValueKind.INTEGER,
    bool: ValueKind.BOOLEAN,
    str: ValueKind.STRING,
    type(None): ValueKind.NULL,
}


def _kind_of(hint: Any, where: str) -> tuple[ValueKind, tuple[str, ...], bool]:
    """(kind, choices, optional) of a type hint of `Backend`."""
    optional = False
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        members = [a for a in typing.get_args(hint) if a is not type(None)]
        optional = len(members) < len(typing.get_args(hint))
        if len(members) != 1:
            raise TypeError(f"{where}: only `X | None` unions go on the wire")
        hint = members[0]
        origin = typing.get_origin(hint)
    if origin is Literal:
        choices = typing.get_args(hint)
        if not all(isinstance(c, str) for c in choices):
            raise TypeError(f"{where}: only string literals go on the wire")
        return ValueKind.STRING, tuple(choices), optional
    if hint in _SCALARS:
        return _SCALARS[hint], (), optional
    raise TypeError(f"{where}: {hint!r} has no wire type")


def _method(name: str) -> Method:
    function = getattr(Backend, name)
    hints = typing.get_type_hints(function)
    params = []
    for parameter in list(inspect.signature(function).parameters.values())[1:]:
        kind, choices, optional = _kind_of(hints[parameter.name], f"{name}({parameter.name})")
        params.append(Param(parameter.name, kind, choices, parameter.default, optional))
    result, _, _ = _kind_of(hints["return"], f"{name} result")
    return Method(name, tuple(params), result)


METHODS: Mapping[str, Method] = {
    name: _method(name)
    for name, member in vars(Backend).items()
    if not name.startswith("_") and inspect.isfunction(member)
}
"""Every wire method but the lifecycle ones, by name, in the order `Backend` declares them."""


def bind(method: Method, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """A call's arguments as the request's `params`: by name, None left out, defaults filled."""
    params: dict[str, Any] = {}
    if len(args) > len(method.params):
        raise TypeError(f"{method.name}() takes {len(method.params)} arguments, not {len(args)}")
    for param, value in zip(method.params, args, strict=False):
        params[param.name] = value
    for key, value in kwargs.items():
        if key in params:
            raise TypeError(f"{method.name}() got {key!r} twice")
        params[key] = value
    wire: dict[str, Any] = {}
    for param in method.params:  # in declaration order, so requests read the same every time
        value = params.pop(param.name, param.default)
        if value is inspect.Parameter.empty:
            raise TypeError(f"{method.name}() is missing {param.name!r}")
        if value is not None:
            wire[param.name] = value
    if params:
        raise TypeError(f"{method.name}() has no parameter {next(iter(params))!r}")
    return wire
