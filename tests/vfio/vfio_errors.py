"""The helpers the core's tests share to expect a `VfioError` of a kind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from harness.vfio.catalog import ErrorId, VfioError


def error_of(kind: ErrorId, call: Callable[..., object], *args: Any, **kwargs: Any) -> VfioError:
    """Call and expect a VfioError of `kind`; return it so its detail can be checked."""
    with pytest.raises(VfioError) as caught:
        call(*args, **kwargs)
    assert caught.value.kind is kind, f"{caught.value.id} != {kind.value}: {caught.value.message}"
    return caught.value


def outcome(expected: ErrorId | None, call: Callable[..., Any], *args: Any) -> Any:
    """Call: return its result when `expected` is None, else expect that error (and None)."""
    if expected is None:
        return call(*args)
    error_of(expected, call, *args)
    return None
