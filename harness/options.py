"""Run options given as `-D key=value` (pytest plugin and CLI alike), parsed and validated.

Keys (each `key=value`, split on the first `=`; when a key repeats, the last one wins):

- `includeFiles=<regex>`: which `.vfio` files are scenarios; a full match on the path relative
  to the scenario root, in posix form (default `.*\\.vfio`). A pattern Python cannot compile
  (too deeply nested included) or flags as ambiguous (a FutureWarning, such as `[[a]`) is
  refused. The pattern runs without a time bound: it is as trusted as the command line.
- `backend=model|package.module:Class|exec:COMMAND`: the system under test (only the spec's
  shape is checked here, and that COMMAND splits like a POSIX shell line into at least one
  word; opening it is `harness.sessions.open_backend`'s job).
- `backend.timeout=<seconds>`: how long one request to a process backend may take (a number
  above 0; default 30). `backend.unsupported=skip|fail`: what a scenario becomes when the
  backend cannot run one of its calls (default skip). `backend.log=<path>`: a file that
  receives a process backend's transcript (under pytest-xdist, one file per worker:
  `backend.gw0.log`).
- `backend=kernel`: the kernel backend (docs/kernel.md), a process backend the project ships;
  `kernel.version=6.1|6.12`, `kernel.iommu=vtd|virtio` (virtio on 6.12 only) and
  `kernel.accel=auto|tcg|kvm` choose its guest (defaults 6.1, vtd, auto).
- `issueUrl=<template>`: how an issue link `/PROJECT/issue/N/` is shown, e.g.
  `https://github.com/acme/{project}/issues/{issue}`. `{issue}` is required, `{project}` optional;
  no other field, and no format spec or conversion (`{issue:>9}`, `{issue!r}`); `{{` and `}}`
  write braces.
- `strict=true|false`: false turns the annotation findings that go beyond Silver into warnings.
- `vfio:<option>=<value>`: a core default (`CoreDefaults`). Integers use the scenario syntax
  (`4096`, `0x1000`, `0b1`, `_` separators, `K M G T` suffixes on decimals). Limits:
  `vfio:pgsize` a power of two from 1 to 1G; `vfio:limit` 0 to 2^32-1 (the kernel's
  `dma_entry_limit` is an unsigned int); `vfio:mode` v1|v2; `vfio:reserved` x86|none;
  `vfio:aw` the IOMMU address width, 32 to 64 (IOVAs lie below 2^aw);
  `vfio:<window>.base` / `.size` for windows mmio32, mmio64 and io: size at least 1, and the
  window must end inside its address space (mmio32 below 4G, io below 64K, mmio64 below 2^64).
"""

from __future__ import annotations

import difflib
import math
import re
import shlex
import string
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from harness.backend import CoreDefaults, WindowSpec
from harness.errors import HintedError
from harness.kernel.config import ACCELS, IOMMUS, SERIES, ConfigError, KernelConfig
from harness.literals import SUFFIXES, parse_int
from harness.vfio.bars import WINDOW_END, WindowKind, window_error
from harness.vfio.catalog import VfioError
from harness.vfio.dma import (
    MAX_AW,
    MAX_LIMIT,
    MAX_PGSIZE,
    MIN_AW,
    MIN_PGSIZE,
    address_width_error,
    limit_error,
    page_size_error,
)

DEFAULT_INCLUDE = r".*\.vfio"
EXEC = "exec:"  # the prefix of a process backend's spec
KERNEL = "kernel"  # the kernel backend's spec (harness.kernel; a process backend)
_KERNEL_DEFAULT = KernelConfig()
DEFAULT_TIMEOUT = 30.0  # seconds (backend.timeout)
_URL_FIELDS = ("project", "issue")
_BACKEND = re.compile(r"model|[A-Za-z_][\w]*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")
# Where each window must end: the top of its address space, exclusive.


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
    backend_timeout: float = DEFAULT_TIMEOUT  # seconds a request to a process backend may take
    backend_unsupported: str = "skip"  # or "fail": a call the backend cannot run fails
    backend_log: str | None = None  # where a process backend's transcript goes
    # kernel.version, kernel.iommu, kernel.accel (for backend=kernel); checked together
    kernel_version: str = _KERNEL_DEFAULT.version
    kernel_iommu: str = _KERNEL_DEFAULT.iommu
    kernel_accel: str = _KERNEL_DEFAULT.accel

    @property
    def kernel(self) -> KernelConfig:
        """The kernel backend's guest (`parse_defines` has checked the combination)."""
        return KernelConfig(
            self.kernel_version,  # type: ignore[arg-type]
            self.kernel_iommu,  # type: ignore[arg-type]
            self.kernel_accel,  # type: ignore[arg-type]
        )

    @property
    def unsupported_fails(self) -> bool:
        """Whether a scenario making a call the backend cannot run fails (else it is skipped)."""
        return self.backend_unsupported == "fail"

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
            f"backend={self.backend} backend.timeout={self.backend_timeout:g}"
            f" backend.unsupported={self.backend_unsupported}"
            f" backend.log={self.backend_log or '(none)'}",
            f"strict={str(self.strict).lower()} includeFiles={self.include_files.pattern}"
            f" issueUrl={self.issue_url or '(none)'}",
            f"vfio:pgsize={_size(d.pgsize)} vfio:limit={d.limit} vfio:mode={d.mode} "
            f"vfio:reserved={d.reserved} vfio:aw={d.aw}",
            windows,
            self.kernel.describe(),
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
    try:
        KernelConfig(options.kernel_version, options.kernel_iommu, options.kernel_accel)  # type: ignore[arg-type]
    except ConfigError as error:  # a combination no guest has (virtio on 6.1)
        raise OptionError("kernel.iommu", options.kernel_iommu, error.message, error.hint) from None
    d = options.defaults
    for kind, window in (("mmio32", d.mmio32), ("mmio64", d.mmio64), ("io", d.io)):
        problem = window_error(WindowKind(kind), window.base, window.size)
        if problem is not None:
            raise OptionError(
                f"vfio:{kind}.size",
                _size(window.size),
                problem.message,
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
    if value.startswith(EXEC):
        example = "write e.g. backend=exec:python -m harness serve"
        try:
            words = shlex.split(value[len(EXEC) :])
        except ValueError as err:
            raise OptionError(
                key, value, f"the command does not split like a shell line: {err}", example
            ) from None
        if not words:
            raise OptionError(key, value, "an empty command", example)
        return replace(options, backend=value)
    if value != KERNEL and not _BACKEND.fullmatch(value):
        raise OptionError(
            key,
            value,
            "not a backend spec",
            "write backend=model, backend=kernel, backend=package.module:Class or"
            " backend=exec:COMMAND",
        )
    return replace(options, backend=value)


def _kernel(name: str, choices: tuple[str, ...]) -> _Parser:
    """A `kernel.*` key: one of `choices` (the combination is checked after the last key)."""

    def parse(options: RunOptions, key: str, value: str) -> RunOptions:
        if value not in choices:
            raise OptionError(
                key, value, f"expected one of {', '.join(choices)}", f"write {key}={choices[0]}"
            )
        changes: dict[str, Any] = {f"kernel_{name}": value}
        return replace(options, **changes)

    return parse


def _timeout(options: RunOptions, key: str, value: str) -> RunOptions:
    hint = "seconds, e.g. backend.timeout=60 or backend.timeout=0.5"
    try:
        seconds = float(value)
    except ValueError:
        raise OptionError(key, value, "not a number", hint) from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise OptionError(key, value, "must be a number above 0", hint)
    return replace(options, backend_timeout=seconds)


def _unsupported(options: RunOptions, key: str, value: str) -> RunOptions:
    if value not in ("skip", "fail"):
        raise OptionError(key, value, "expected one of skip, fail", f"write {key}=fail")
    return replace(options, backend_unsupported=value)


def _log(options: RunOptions, key: str, value: str) -> RunOptions:
    if not value.strip():
        raise OptionError(key, value, "an empty path", f"write {key}=backend.log")
    return replace(options, backend_log=value)


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
    name: str,
    low: int,
    high: int,
    *,
    rule: Callable[[int], VfioError | None] | None = None,
    hint: str | None = None,
    window: str | None = None,
) -> _Parser:
    """An integer option in `low..high`; `rule` is the core's own check of the value."""

    def parse(options: RunOptions, key: str, value: str) -> RunOptions:
        try:
            number = parse_int(value.strip())
        except ValueError as err:
            raise OptionError(
                key, value, str(err), "integers: 4096, 0x1000, 0b1, 64K, 2M, 1_000"
            ) from None
        error = rule(number) if rule is not None else None
        if error is not None:
            raise OptionError(key, value, error.message, hint or f"choose {low}..{high}")
        if not low <= number <= high:
            raise OptionError(
                key, value, f"out of range {_hex(low)}..{_hex(high)}", f"choose {low}..{high}"
            )
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
    "backend.timeout": _timeout,
    "backend.unsupported": _unsupported,
    "backend.log": _log,
    "issueUrl": _issue_url,
    "strict": _strict,
    "vfio:pgsize": _integer(
        "pgsize", MIN_PGSIZE, MAX_PGSIZE, rule=page_size_error, hint="for example 4K or 64K"
    ),
    "vfio:limit": _integer("limit", 0, MAX_LIMIT, rule=limit_error),
    "vfio:mode": _choice("mode", ("v2", "v1")),
    "vfio:reserved": _choice("reserved", ("x86", "none")),
    "vfio:aw": _integer("aw", MIN_AW, MAX_AW, rule=address_width_error),
    "kernel.version": _kernel("version", SERIES),
    "kernel.iommu": _kernel("iommu", IOMMUS),
    "kernel.accel": _kernel("accel", ACCELS),
}
for _kind, _end in WINDOW_END.items():
    _PARSERS[f"vfio:{_kind.value}.base"] = _integer("base", 0, _end - 1, window=_kind.value)
    _PARSERS[f"vfio:{_kind.value}.size"] = _integer("size", 1, _end, window=_kind.value)

KEYS: tuple[str, ...] = tuple(_PARSERS)
