"""Comparing answers: what agrees, what a divergence's class is, where a comparison stops."""

from __future__ import annotations

import contextlib

import pytest
from diff_planted import Restricted

from harness.backend import BackendFault, Unsupported
from harness.diff import program as p
from harness.diff.compare import (
    Answer,
    AnswerKind,
    ReferenceBroke,
    Shape,
    Stop,
    agree,
    ask,
    compare,
    shape,
)
from harness.model import ModelBackend
from harness.vfio.catalog import ErrorId, VfioError

OK = Answer(AnswerKind.OK)
MAP = p.Call("map", ("c0", 0, 0, 4096, "rw"))
UNMAP = p.Call("unmap", ("c0", 0, 4096), returns=True)


def failed(error_id: str, errno: int | None = None) -> Answer:
    return Answer(AnswerKind.FAILED, id=error_id, errno=errno, message="m")


def test_equal_values_agree_and_different_values_do_not() -> None:
    assert agree(Answer(AnswerKind.OK, 4096), Answer(AnswerKind.OK, 4096))
    assert not agree(Answer(AnswerKind.OK, 4096), Answer(AnswerKind.OK, 0))


def test_failures_agree_on_their_id_whatever_the_message() -> None:
    overlap = ErrorId.DMA_MAP_OVERLAP.value
    assert agree(failed(overlap), Answer(AnswerKind.FAILED, id=overlap, message="other words"))
    assert not agree(failed(overlap), failed(ErrorId.DMA_MAP_OUT_OF_RANGE.value))


def test_a_target_reporting_only_an_errno_agrees_with_the_same_errno() -> None:
    size_zero = failed(ErrorId.DMA_MAP_SIZE_ZERO.value, errno=22)
    assert agree(size_zero, failed("kernel.errno:EINVAL", errno=22))
    assert not agree(size_zero, failed("kernel.errno:EEXIST", errno=17))
    # a catalog id is compared as an id, even with the same errno
    assert not agree(size_zero, failed(ErrorId.DMA_MAP_MISALIGNED.value, errno=22))


def test_failed_queries_agree_whatever_their_ids() -> None:
    # the language reports every failed query as scenario.error:eval: a file cannot tell them apart
    a, b = failed(ErrorId.MSIX_UNSUPPORTED.value), failed(ErrorId.SCENARIO_EVAL.value)
    assert agree(a, b, query=True)
    assert not agree(a, b)


def test_success_and_failure_never_agree() -> None:
    assert not agree(OK, failed(ErrorId.DMA_MAP_OVERLAP.value))
    assert not agree(failed(ErrorId.DMA_MAP_OVERLAP.value), OK)


def test_a_class_keeps_the_kinds_of_answers_not_their_values() -> None:
    first = shape(UNMAP, Answer(AnswerKind.OK, 8192), Answer(AnswerKind.OK, 4096))
    second = shape(UNMAP, Answer(AnswerKind.OK, 1 << 21), Answer(AnswerKind.OK, 0))
    assert first == second == Shape("unmap", "ok", "other-value")
    assert str(first) == "unmap: ok vs other-value"


def test_a_class_names_the_ids_and_its_slug_their_reasons() -> None:
    found = shape(MAP, failed("dma.map.failed:overflow", 75), failed("kernel.errno:EINVAL", 22))
    assert found == Shape("map", "dma.map.failed:overflow", "kernel.errno:EINVAL")
    assert found.slug() == "map-overflow-vs-EINVAL"
    assert found.short() == "map: overflow vs EINVAL"
    crash = shape(MAP, OK, Answer(AnswerKind.CRASH, id="ZeroDivisionError"))
    assert crash.slug() == "map-ok-vs-crash-ZeroDivisionError"


class Answers:
    """A backend whose `map` does what it is told."""

    name = "answers"

    def __init__(self, behaviour: Exception | int | None) -> None:
        self.behaviour = behaviour

    def map(self, *args: object) -> int | None:
        if isinstance(self.behaviour, Exception):
            raise self.behaviour
        return self.behaviour


@pytest.mark.parametrize(
    ("behaviour", "kind", "error_id"),
    [
        (None, AnswerKind.OK, ""),
        (
            VfioError(ErrorId.DMA_MAP_OVERLAP, "overlaps"),
            AnswerKind.FAILED,
            "dma.map.failed:overlap",
        ),
        (Unsupported("no such device"), AnswerKind.UNSUPPORTED, ""),
        (BackendFault("child exited"), AnswerKind.FAULT, ""),
        (ZeroDivisionError("oops"), AnswerKind.CRASH, "ZeroDivisionError"),
    ],
)
def test_asking_classifies_how_a_call_ended(
    behaviour: Exception | None, kind: AnswerKind, error_id: str
) -> None:
    answer = ask(Answers(behaviour), MAP)  # type: ignore[arg-type]
    assert (answer.kind, answer.id) == (kind, error_id)


def test_a_result_that_is_not_an_integer_is_a_crash() -> None:
    answer = ask(Answers("4096"), MAP)  # type: ignore[arg-type]
    assert answer.kind is AnswerKind.CRASH
    assert "not an integer" in answer.message


def overlap_program() -> p.Program:
    return p.Program(
        "dma",
        (
            p.Container("c0"),
            p.Map("c0", 0x100000, 0x7F0000100000, 8192),
            p.Map("c0", 0x101000, 0x7F0000101000, 4096),
            p.Query("c0", "mappings", "mappings"),
        ),
    )


class AcceptsEverything(ModelBackend):
    name = "accepts"

    def map(self, container: str, iova: int, vaddr: int, size: int, perm: str = "rw") -> None:  # type: ignore[override]
        with contextlib.suppress(VfioError):
            super().map(container, iova, vaddr, size, perm)  # type: ignore[arg-type]


def test_a_comparison_stops_at_the_first_disagreement() -> None:
    comparison = compare(overlap_program(), ModelBackend(), AcceptsEverything())
    assert comparison.stop is Stop.DIVERGED
    assert comparison.calls == 3  # the later query is not asked: the states differ already
    assert comparison.statement == 2
    assert comparison.divergence == Shape("map", "dma.map.failed:overlap", "ok")


def test_a_comparison_of_equal_backends_runs_every_call() -> None:
    comparison = compare(overlap_program(), ModelBackend(), ModelBackend())
    assert (comparison.stop, comparison.calls, comparison.divergence) == (Stop.END, 4, None)
    assert comparison.reference[-1] == Answer(AnswerKind.OK, 1)


class Unsupporting(ModelBackend):
    name = "unsupporting"

    def map(self, *args: object, **kwargs: object) -> None:  # type: ignore[override]
        raise Unsupported("cannot map here")


def test_calls_the_target_cannot_run_are_no_divergence() -> None:
    comparison = compare(overlap_program(), ModelBackend(), Unsupporting())
    assert (comparison.stop, comparison.calls, comparison.divergence) == (Stop.END, 4, None)
    assert comparison.skipped == {1, 2}


class Broken(ModelBackend):
    name = "broken"

    def map(self, *args: object, **kwargs: object) -> None:  # type: ignore[override]
        raise KeyError("bug")


def test_a_reference_that_crashes_stops_everything() -> None:
    with pytest.raises(ReferenceBroke) as caught:
        compare(overlap_program(), Broken(), ModelBackend())
    assert caught.value.call.method == "map"
    assert caught.value.answer.kind is AnswerKind.CRASH


def test_an_operation_the_target_cannot_run_is_skipped_on_both_sides() -> None:
    program = p.Program(
        "dma",
        (
            p.Container("c0"),
            p.Map("c0", 1 << 39, 0x7F0000100000, 4096),  # above the plant's aperture
            p.Map("c0", 0x100000, 0x7F0000100000, 4096),
            p.Query("c0", "mappings", "mappings"),
        ),
    )
    reference = ModelBackend()
    comparison = compare(program, reference, Restricted())
    assert comparison.stop is Stop.END
    assert comparison.reference[1].kind is comparison.target[1].kind is AnswerKind.UNSUPPORTED
    assert comparison.reference[-1] == Answer(AnswerKind.OK, 1)  # the reference never ran it
    assert comparison.skipped == {1}


def test_a_declaration_the_target_cannot_run_ends_the_comparison() -> None:
    program = p.Program("dma", (p.Container("c0", pgsize=64 << 10), p.Map("c0", 0, 0, 65536)))
    comparison = compare(program, ModelBackend(), Restricted())
    assert (comparison.stop, comparison.calls) == (Stop.TARGET_UNSUPPORTED, 0)
