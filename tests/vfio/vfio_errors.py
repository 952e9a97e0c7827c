"""The one helper the core's tests share: call something and expect a `VfioError` of a kind."""

from __future__ import annotations

import pytest

from harness.vfio.catalog import ErrorId, VfioError


def error_of(kind: ErrorId, call: object, *args: object, **kwargs: object) -> VfioError:
    """Call and expect a VfioError of `kind`; return it so its values can be checked."""
    assert callable(call)
    with pytest.raises(VfioError) as caught:
        call(*args, **kwargs)
    assert caught.value.kind is kind, caught.value.message
    return caught.value
