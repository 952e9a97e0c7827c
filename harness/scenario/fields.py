"""Option specs and field widths of the checker: which options a statement takes, in which
form, which values are allowed, and how wide each field is (see `check.py` for the reasons).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from harness.scenario import nodes
from harness.vfio.address import U64_MAX
from harness.vfio.catalog import ErrorId


class CheckError(Exception):
    """A check failed: the reason id and a message (caught by the checker, never escapes)."""

    def __init__(self, kind: ErrorId, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def fail(kind: ErrorId, message: str) -> CheckError:
    """The error to raise for a failed check."""
    return CheckError(kind, message)


# ---------------------------------------------------------------- options (statement -> spec)

_INT, _WORD, _LOC = "a number", "a word", "BAR:OFFSET"


@dataclass(frozen=True, slots=True)
class _Opt:
    """What one option takes: its form, whether required, the words or values allowed."""

    form: str
    required: bool = False
    words: tuple[str, ...] = ()
    allowed: Callable[[int], bool] | None = None
    allowed_text: str = ""


def _page_size(value: int) -> bool:
    # As `-D vfio:pgsize` allows (harness/options.py): a power of two from 1 to 1G.
    return 0 < value <= 1 << 30 and value & (value - 1) == 0


CONTAINER = {
    "mode": _Opt(_WORD, words=("v2", "v1")),
    "pgsize": _Opt(_INT, allowed=_page_size, allowed_text="a power of two from 1 to 1G"),
    "limit": _Opt(_INT),
    "reserved": _Opt(_WORD, words=("x86", "none")),
}
WINDOW = {
    "base": _Opt(_INT, required=True),
    "size": _Opt(_INT, required=True, allowed=lambda v: v > 0, allowed_text="above 0"),
}
MAP = {
    "iova": _Opt(_INT, required=True),
    "vaddr": _Opt(_INT, required=True),
    "size": _Opt(_INT, required=True),
    "perm": _Opt(_WORD, words=("rw", "r", "w", "none")),
}
UNMAP = {"iova": _Opt(_INT, required=True), "size": _Opt(_INT, required=True)}
# Any size reaches the backend: a size other than 1, 2 or 4 is `config.access.failed:unaligned`.
CFG = {"size": _Opt(_INT)}
MSIX_MEMBER = {"table": _Opt(_LOC, required=True), "pba": _Opt(_LOC, required=True)}
MSIX_ENTRY = {"addr": _Opt(_INT, required=True), "data": _Opt(_INT, required=True)}


def options(what: str, given: tuple[nodes.Option, ...], spec: Mapping[str, _Opt]) -> dict[str, Any]:
    """The options as a dict, or the first bad.option / value.range among them."""
    values: dict[str, Any] = {}
    for option in given:
        opt = spec.get(option.key)
        if opt is None:
            known = ", ".join(spec) or "none"
            raise fail(
                ErrorId.SCENARIO_BAD_OPTION,
                f"{what} takes no option '{option.key}' (its options: {known})",
            )
        if option.key in values:
            raise fail(ErrorId.SCENARIO_BAD_OPTION, f"option '{option.key}' is given twice")
        value = option.value
        if isinstance(value, nodes.Location):
            form = _LOC
        else:
            form = _INT if isinstance(value, int) else _WORD
        if form != opt.form:
            raise fail(
                ErrorId.SCENARIO_BAD_OPTION,
                f"option '{option.key}' takes {opt.form}, not '{option.text}'",
            )
        if opt.words and value not in opt.words:
            raise fail(
                ErrorId.SCENARIO_BAD_OPTION,
                f"option '{option.key}' is one of {', '.join(opt.words)}, not '{option.text}'",
            )
        values[option.key] = value
    for key, opt in spec.items():
        if opt.required and key not in values:
            raise fail(ErrorId.SCENARIO_BAD_OPTION, f"{what} needs option '{key}='")
    for option in given:
        value = values[option.key]
        if isinstance(value, int):
            u64(value, option.text)
            opt = spec[option.key]
            if opt.allowed is not None and not opt.allowed(value):
                raise fail(
                    ErrorId.SCENARIO_BAD_OPTION,
                    f"option '{option.key}' must be {opt.allowed_text}, not {option.text}",
                )
    return values


def u64(value: int, text: str) -> int:
    """`value`, or value.range when it is above 2^64-1."""
    if value > U64_MAX:
        raise fail(ErrorId.SCENARIO_VALUE_RANGE, f"{text} is above 2^64-1")
    return value


def width(value: int, bits: int, text: str, field_name: str) -> int:
    """`value`, or value.range when it does not fit a field of `bits` bits."""
    u64(value, text)
    if value >> bits:
        raise fail(
            ErrorId.SCENARIO_VALUE_RANGE,
            f"{text} does not fit the {bits}-bit {field_name}",
        )
    return value
