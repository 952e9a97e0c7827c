"""Shared helpers of the scenario-language tests: a small fake backend and a text runner."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from annotations.annotation import Output
from harness.backend import CoreDefaults
from harness.scenario import ScenarioSyntaxError, execute, parse
from harness.vfio.catalog import ErrorId, VfioError


class FakeBackend:
    """A backend that records every call; maps are (iova, size) pairs, size 0 fails.

    Enough behaviour to observe the interpreter: failures raise `VfioError` before touching
    state, queries answer from the recorded maps.
    """

    name = "fake"

    def __init__(self, defaults: CoreDefaults = CoreDefaults()) -> None:  # noqa: B008
        self.defaults = defaults
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.maps: dict[str, list[tuple[int, int]]] = {}
        self.cfg: dict[tuple[str, int], int] = {}

    def __getattr__(self, method: str) -> Callable[..., Any]:
        # Every operation not defined below is recorded and succeeds.
        if method.startswith("_"):
            raise AttributeError(method)

        def record(*args: Any, **kwargs: Any) -> None:
            self.calls.append((method, args, kwargs))

        return record

    def container(self, name: str, **options: Any) -> None:
        self.calls.append(("container", (name,), options))
        self.maps[name] = []

    def device(self, name: str, bdf: str) -> None:
        self.calls.append(("device", (name, bdf), {}))
        if bdf == "bad":
            raise VfioError(ErrorId.DEVICE_INVALID_BDF, f"bad BDF {bdf!r}")

    def map(self, container: str, iova: int, vaddr: int, size: int, perm: str = "rw") -> None:
        self.calls.append(("map", (container, iova, vaddr, size, perm), {}))
        if size == 0:
            raise VfioError(ErrorId.DMA_MAP_SIZE_ZERO, "size 0")
        self.maps[container].append((iova, size))

    def unmap_all(self, container: str, **options: int) -> int:
        self.calls.append(("unmap_all", (container,), options))
        total = sum(size for _, size in self.maps[container])
        self.maps[container] = []
        return total

    def cfg_read(self, device: str, offset: int, size: int = 4) -> int:
        self.calls.append(("cfg_read", (device, offset, size), {}))
        if offset % size:
            raise VfioError(ErrorId.CONFIG_UNALIGNED, "unaligned")
        return self.cfg.get((device, offset), 0)

    def mmio_read(self, device: str, bar: int, offset: int, size: int = 4) -> int:
        self.calls.append(("mmio_read", (device, bar, offset, size), {}))
        return 0

    def mappings(self, container: str) -> int:
        return len(self.maps[container])

    def mapped(self, container: str) -> int:
        return sum(size for _, size in self.maps[container])

    def mapped_at(self, container: str, iova: int) -> bool:
        return any(start <= iova < start + size for start, size in self.maps[container])

    def translate(self, container: str, iova: int) -> int:
        raise VfioError(ErrorId.SCENARIO_EVAL, f"nothing maps {iova:#x}")


RunText = Callable[..., list[Output]]


def syntax_error_of(text: str, file: str = "s.vfio") -> ScenarioSyntaxError:
    """The syntax error parsing `text` as `file` raises (the test fails if it raises none)."""
    with pytest.raises(ScenarioSyntaxError) as info:
        parse(text, file)
    return info.value


@pytest.fixture
def fake() -> FakeBackend:
    """A fresh fake backend."""
    return FakeBackend()


@pytest.fixture
def run_text(fake: FakeBackend) -> RunText:
    """Parse, check and run a text on the fake backend (or the given one); the outputs."""

    def go(text: str, backend: Any = None) -> list[Output]:
        result = execute([("t.vfio", text)], backend or fake)
        assert result.abort is None, result.abort
        return list(result.outputs)

    return go
