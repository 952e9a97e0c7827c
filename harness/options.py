"""Run options given as `-D key=value` (pytest plugin and CLI alike), parsed and validated.

Keys (each `key=value`, split on the first `=`; when a key repeats, the last one wins):

- `includeFiles=<regex>`: which `.vfio` files are scenarios; a full match on the path relative
  to the scenario root, in posix form (default `.*\\.vfio`). A pattern Python cannot compile
  (too deeply nested included) or flags as ambiguous (a FutureWarning, such as `[[a]`) is
  refused. The pattern runs without a time bound: it is as trusted as the command line.
- `backend=model|package.module:Class`: the system under test (only the spec's shape is checked
  here; loading it is the runner's job).
- `issueUrl=<template>`: how an issue link `/PROJECT/issue/N/` is shown, e.g.
  `https://github.com/acme/{project}/issues/{issue}`. `{issue}` is required, `{project}` optional;
  no other field, and no format spec or conversion (`{issue:>9}`, `{issue!r}`); `{{` and `}}`
  write braces.
- `strict=true|false`: false turns the annotation findings that go beyond Silver into warnings.
- `vfio:<option>=<value>`: a core default (`CoreDefaults`). Integers use the scenario syntax
  (`4096`, `0x1000`, `0b1`, `_` separators, `K M G T` suffixes on decimals). Limits:
  `vfio:pgsize` a power of two from 1 to 1G; `vfio:limit` 0 to 2^32-1 (the kernel's
  `dma_entry_limit` is an unsigned int); `vfio:mode` v1|v2; `vfio:reserved` x86|none;
  `vfio:<window>.base` / `.size` for windows mmio32, mmio64 and io: size at least 1, and the
  window must end inside its address space (mmio32 below 4G, io below 64K, mmio64 below 2^64).
"""

from __future__ import annotations

import difflib
import re
import string
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from harness.backend import CoreDefaults, WindowSpec
from harness.errors import HintedError
from harness.literals import SUFFIXES, parse_int

DEFAULT_INCLUDE = r".*\.vfio"
_URL_FIELDS = ("project", "issue")
_BACKEND = re.compile(r"model|[A-Za-z_][\w]*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")
# Where each window must end: the top of its address space, exclusive.
_WINDOW_END = {"mmio32": 1 << 32, "mmio64": 1 << 64, "io": 1 << 16}
_MAX_PGSIZE = 1 << 30
_MAX_LIMIT = (1 << 32) - 1


class OptionError(HintedError):
    """A `-D` entry with an unknown key or a bad value."""

    def __init__(self, key: str, value: str, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.key = key
        self.value = value

    def where(self) -> str:
        """`-D key='value'`."""
        return f"-D {self.key}={self.value!r}"


@dataclass(frozen=True)
class RunOptions:
    """The effective options of a run."""

    include_files: re.Pattern[str] = field(default_factory=lambda: re.compile(DEFAULT_INCLUDE))
    backend: str = "model"
    defaults: CoreDefaults = field(default_factory=CoreDefaults)
    issue_url: str | None = None
    strict: bool = True

    def includes(self, relpath: str) -> bool:
        """Whether a file (posix path relative to its scenario root) is a scenario file."""
        return self.include_files.fullmatch(relpath) is not None

    def describe(self) -> list[str]:
        """The options as `key=value` lines, for report headers."""
        d = self.defaults
        windows = " ".join(
            f"vfio:{kind}.base={_hex(w.base)} vfio:{kind}.size={_size(w.size)}"
            for kind, w in (("mmio32", d.mmio32), ("mmio64", d.mmio64), ("io", d.io))
        )
        return [
            f"backend={self.backend} strict={str(self.strict).lower()} "
            f"includeFiles={self.include_files.pattern} issueUrl={self.issue_url or '(none)'}",
            f"vfio:pgsize={_size(d.pgsize)} vfio:limit={d.limit} vfio:mode={d.mode} "
            f"vfio:reserved={d.reserved}",
            windows,
        ]


def parse_defines(defines: Iterable[str]) -> RunOptions:
    """Run options from `key=value` entries; the last entry for a key wins."""
    entries: dict[str, str] = {}
    for entry in defines:
        key, sep, value = entry.partition("=")
        key = key.strip()
        if not sep:
            raise OptionError(key, "", "expected key=value", f"write -D {key}=<value>")
        if key not in _PARSERS:
            raise OptionError(key, value, f"unknown key {key!r}", _suggest(key))
        entries[key] = value
    options = RunOptions()
    for key, value in entries.items():
        options = _PARSERS[key](options, key, value)
    d = options.defaults
    for kind, window in (("mmio32", d.mmio32), ("mmio64", d.mmio64), ("io", d.io)):
        if window.base + window.size > _WINDOW_END[kind]:
            raise OptionError(
                f"vfio:{kind}.size",
                _size(window.size),
                f"the {kind} window {_hex(window.base)}+{_size(window.size)} ends beyond "
                f"{_hex(_WINDOW_END[kind] - 1)}",
                f"lower vfio:{kind}.base or vfio:{kind}.size",
            )
    return options


def _suggest(key: str) -> str:
    """A 'did you mean' hint for an unknown key, else the list of keys."""
    close = difflib.get_close_matches(key, list(_PARSERS), n=1, cutoff=0.5)
    if not close:
        lowered = {k.lower(): k for k in _PARSERS}
        close = difflib.get_close_matches(key.lower(), list(lowered), n=1, cutoff=0.5)
        close = [lowered[c] for c in close]
    if close:
        return f"did you mean {close[0]!r}?"
    return "known keys: " + ", ".join(_PARSERS)


def _include(options: RunOptions, key: str, value: str) -> RunOptions:
    hint = r"for example .*\.vfio or dma/.*"
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # whatever -W says: a warning is reported here
            re.purge()  # a pattern compiled before, from re's cache, would warn no more
            pattern = re.compile(value)
    except re.error as err:
        raise OptionError(key, value, f"not a regular expression: {err}", hint) from None
    except (RecursionError, OverflowError) as err:
        raise OptionError(
            key, value, f"a regular expression Python cannot compile: {err}", hint
        ) from None
    if caught:
        warning = caught[0]
        raise OptionError(
            key,
            value,
            f"an ambiguous regular expression ({warning.category.__name__}: {warning.message})",
            "escape a literal [ or ] as \\[ or \\], or write the set without nesting",
        )
    return replace(options, include_files=pattern)


def _backend(options: RunOptions, key: str, value: str) -> RunOptions:
    if not _BACKEND.fullmatch(value):
        raise OptionError(
            key, value, "not a backend spec", "write backend=model or backend=package.module:Class"
        )
    return replace(options, backend=value)


def _issue_url(options: RunOptions, key: str, value: str) -> RunOptions:
    hint = "write e.g. issueUrl=https://github.com/acme/{project}/issues/{issue}"
    try:
        parts = list(string.Formatter().parse(value))
    except ValueError as err:
        raise OptionError(key, value, f"malformed template: {err}", hint) from None
    fields = set()
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in _URL_FIELDS:
            raise OptionError(key, value, f"unknown placeholder {{{name}}}", hint)
        if spec or conversion:
            raise OptionError(
                key,
                value,
                f"placeholder {{{name}}} has a conversion or format spec, which links cannot use",
                "write {project} and {issue} plainly",
            )
        fields.add(name)
    if "issue" not in fields:
        raise OptionError(key, value, "the template has no {issue} placeholder", hint)
    return replace(options, issue_url=value)


def _strict(options: RunOptions, key: str, value: str) -> RunOptions:
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise OptionError(key, value, "expected true or false", "write strict=false")
    return replace(options, strict=lowered == "true")


def _choice(name: str, choices: tuple[str, ...]) -> _Parser:
    def parse(options: RunOptions, key: str, value: str) -> RunOptions:
        if value not in choices:
            raise OptionError(
                key, value, f"expected one of {', '.join(choices)}", f"write {key}={choices[0]}"
            )
        return _with_default(options, **{name: value})

    return parse


def _integer(
    name: str, low: int, high: int, *, power_of_two: bool = False, window: str | None = None
) -> _Parser:
    def parse(options: RunOptions, key: str, value: str) -> RunOptions:
        try:
            number = parse_int(value.strip())
        except ValueError as err:
            raise OptionError(
                key, value, str(err), "integers: 4096, 0x1000, 0b1, 64K, 2M, 1_000"
            ) from None
        if not low <= number <= high:
            raise OptionError(
                key, value, f"out of range {_hex(low)}..{_hex(high)}", f"choose {low}..{high}"
            )
        if power_of_two and number & (number - 1):
            raise OptionError(key, value, "not a power of two", "for example 4K or 64K")
        if window is None:
            return _with_default(options, **{name: number})
        old: WindowSpec = getattr(options.defaults, window)
        new = WindowSpec(number, old.size) if name == "base" else WindowSpec(old.base, number)
        return _with_default(options, **{window: new})

    return parse


def _with_default(options: RunOptions, **changes: Any) -> RunOptions:
    return replace(options, defaults=replace(options.defaults, **changes))


def _hex(value: int) -> str:
    return f"{value:#x}"


def _size(value: int) -> str:
    """A size in the scenario syntax, with a suffix when exact (`640M`)."""
    for suffix, multiplier in sorted(SUFFIXES.items(), key=lambda item: -item[1]):
        if value and value % multiplier == 0:
            return f"{value // multiplier}{suffix}"
    return str(value)


_Parser = Callable[[RunOptions, str, str], RunOptions]

_PARSERS: dict[str, _Parser] = {
    "includeFiles": _include,
    "backend": _backend,
    "issueUrl": _issue_url,
    "strict": _strict,
    "vfio:pgsize": _integer("pgsize", 1, _MAX_PGSIZE, power_of_two=True),
    "vfio:limit": _integer("limit", 0, _MAX_LIMIT),
    "vfio:mode": _choice("mode", ("v2", "v1")),
    "vfio:reserved": _choice("reserved", ("x86", "none")),
}
for _kind, _end in _WINDOW_END.items():
    _PARSERS[f"vfio:{_kind}.base"] = _integer("base", 0, _end - 1, window=_kind)
    _PARSERS[f"vfio:{_kind}.size"] = _integer("size", 1, _end, window=_kind)

KEYS: tuple[str, ...] = tuple(_PARSERS)
