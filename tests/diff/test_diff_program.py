"""Generated programs say what they do: their text runs exactly their calls.

The differential run calls backends from `Program.calls()`; the regression file is
`Program.text()`. These tests hold the two together: the interpreter, given the text, makes
the very calls (methods, arguments, order) the program lists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given

from harness.diff import program as p
from harness.diff.generate import AREAS, programs
from harness.model import ModelBackend
from harness.scenario import execute
from harness.sessions import BACKEND_METHODS

METHODS = frozenset(BACKEND_METHODS)


class Recorder:
    """The model, recording every call made on it as (method, args, kwargs)."""

    def __init__(self) -> None:
        self.model = ModelBackend()
        self.name = self.model.name
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __getattr__(self, method: str) -> Callable[..., Any]:
        real = getattr(self.model, method)

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((method, args, kwargs))
            return real(*args, **kwargs)

        return call


def interpreted_calls(text: str) -> list[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    recorder = Recorder()
    execution = execute([("generated.vfio", text)], recorder)  # type: ignore[arg-type]
    assert execution.abort is None, execution.abort
    checks = [o for o in execution.outputs if o.id.startswith(("scenario.", "parser."))]
    assert all(o.id == "scenario.error:eval" for o in checks), checks
    return recorder.calls


@given(programs(AREAS, METHODS))
def test_the_interpreter_makes_exactly_the_calls_of_a_programs_text(program: p.Program) -> None:
    listed = [(c.method, c.args, dict(c.kwargs)) for _, c in program.calls()]
    assert interpreted_calls(program.text()) == listed


def test_a_device_renders_its_members_msix_last() -> None:
    device = p.Device(
        "gpu0",
        "0000:01:00.0",
        (p.Bar(0, "mem64", 16 << 20, prefetch=True), p.Bar(2, "io", 256)),
        2048,
        p.MsixCap(4, 0, 0, 0, 0x1000),
    )
    assert [line.text for line in device.lines()] == [
        "device gpu0 0000:01:00.0 {",
        "    bar 0 mem64 prefetch 16M",
        "    bar 2 io 256",
        "    rom 2K",
        "    msix 4 table=0:0x0 pba=0:0x1000",
        "}",
    ]


@pytest.mark.parametrize(
    ("calls", "bars", "rom", "msix"),
    [(1, 0, False, False), (2, 1, False, False), (3, 2, False, False), (4, 2, True, False)],
)
def test_a_truncated_device_keeps_its_first_calls(
    calls: int, bars: int, rom: bool, msix: bool
) -> None:
    device = p.Device(
        "gpu0",
        "0000:01:00.0",
        (p.Bar(0, "mem32", 4096), p.Bar(1, "mem32", 4096)),
        2048,
        p.MsixCap(1, 0, 0, 1, 0),
    )
    cut = device.truncated(calls)
    assert (len(cut.bars), cut.rom is not None, cut.msix is not None) == (bars, rom, msix)
    assert len([line for line in cut.lines() if line.call is not None]) == calls
    assert device.truncated(5) == device


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (4096, "4K"),
        (2 << 20, "2M"),
        (1 << 30, "1G"),
        (0x800, "2K"),
        (0x1800, "6K"),
        (256, "256"),
        (0x1001, "0x1001"),
    ],
)
def test_sizes_are_written_with_a_suffix_when_exact(value: int, text: str) -> None:
    assert p.size_text(value) == text


def test_a_huge_size_is_written_in_hex() -> None:
    assert p.size_text((1 << 64) - 4096) == "0xfffffffffffff000"


def test_renaming_changes_declarations_and_uses() -> None:
    program = p.Program(
        "dma",
        (
            p.Container("c1", mode="v1"),
            p.Map("c1", 0x1000, 0x1000, 4096),
            p.Query("c1", "mapped", "mapped"),
        ),
    )
    assert program.renamed({"c1": "c0"}).text() == (
        "container c0 mode=v1\nmap c0 iova=0x1000 vaddr=0x1000 size=4K\nassert c0.mapped\n"
    )


def test_declared_and_used_names() -> None:
    assert p.declared(p.Container("c0")) == "c0"
    assert p.declared(p.Map("c0", 0, 0, 4096)) is None
    assert p.used(p.Attach("dev0", "c0")) == ("dev0", "c0")
    assert p.used(p.Irq("gpu0", 1)) == ("gpu0",)
    assert p.used(p.Container("c0")) == ()
