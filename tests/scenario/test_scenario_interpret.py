"""The interpreter: backend failures become outputs in order, the run goes on, checks and
asserts report false and unevaluable expressions."""

from __future__ import annotations

from typing import Any

from harness.model import ModelBackend


def lines_ids(outputs: list[Any]) -> list[tuple[int, str]]:
    return [(o.line, o.id) for o in outputs]


def test_failure_is_one_output_and_the_run_goes_on(run_text: Any, fake: Any) -> None:
    outputs = run_text(
        "container c0\n"
        "map c0 iova=0 vaddr=0 size=0\n"
        "map c0 iova=0 vaddr=0 size=4K\n"
        "map c0 iova=0x1000 vaddr=0 size=0\n"
        "assert c0.mappings == 1\n"
    )
    assert lines_ids(outputs) == [(2, "dma.map.failed:size.zero"), (4, "dma.map.failed:size.zero")]
    assert outputs[0].file == "t.vfio" and outputs[0].message == "size 0"
    assert fake.maps == {"c0": [(0, 4096)]}


def test_outputs_come_in_statement_order_mixing_check_and_run_failures(run_text: Any) -> None:
    outputs = run_text(
        "container c0\n"
        "map c0 iova=0 vaddr=0 size=0\n"
        "map nope iova=0 vaddr=0 size=4K\n"
        "assert c0.mappings == 5\n"
        "assert 1 / 0\n"
    )
    assert lines_ids(outputs) == [
        (2, "dma.map.failed:size.zero"),
        (3, "scenario.error:unknown.name"),
        (4, "assert.failed:assertion.false"),
        (5, "scenario.error:eval"),
    ]


def test_failed_assert_shows_both_sides(run_text: Any) -> None:
    [output] = run_text("container c0\nassert c0.mappings + 0x100 == 0x1000\n")
    assert output.message == "assertion is false: c0.mappings + 0x100 == 0x1000 (0x100 == 0x1000)"


def test_value_check_compares_the_returned_value(run_text: Any) -> None:
    outputs = run_text(
        "container c0\nmap c0 iova=0 vaddr=0 size=8K\nunmap c0 all == 4K\nunmap c0 all == 0\n"
    )
    assert lines_ids(outputs) == [(3, "assert.failed:assertion.false")]
    assert outputs[0].message == "unmap all returned 0x2000, expected 4K = 0x1000"


def test_value_check_is_skipped_when_the_operation_fails(run_text: Any) -> None:
    outputs = run_text("device d 01:00.0 {\n}\ncfg read d 3 == 1 / 0\n")
    assert lines_ids(outputs) == [(3, "config.access.failed:unaligned")]


def test_value_check_that_cannot_be_evaluated_is_an_eval_error(run_text: Any, fake: Any) -> None:
    outputs = run_text("container c0\nmap c0 iova=0 vaddr=0 size=4K\nunmap c0 all == 1 % 0\n")
    assert lines_ids(outputs) == [(3, "scenario.error:eval")]
    assert fake.maps["c0"] == []  # the unmap itself ran


def test_query_failure_is_an_eval_error_with_the_core_message(run_text: Any) -> None:
    [output] = run_text("container c0\nassert c0.translate(0x1000) == 0\n")
    assert output.id == "scenario.error:eval"
    assert output.message == "cannot evaluate c0.translate(0x1000) == 0: nothing maps 0x1000"


def test_eval_errors_cover_shifts_and_arguments(run_text: Any) -> None:
    outputs = run_text(
        "container c0\nassert 1 << 5000\nassert 1 >> -1\nassert c0.mapped_at(-1)\n"
        "assert 1 << 4096 > 0\n"
    )
    assert lines_ids(outputs) == [
        (2, "scenario.error:eval"),
        (3, "scenario.error:eval"),
        (4, "scenario.error:eval"),
    ]


def test_arithmetic_is_unbounded_with_floor_division_and_bools_as_ints(run_text: Any) -> None:
    outputs = run_text(
        "container c0\nmap c0 iova=0 vaddr=0 size=4K\n"
        "assert 0xffff_ffff_ffff_ffff * 2 == (1 << 65) - 2\n"
        "assert -7 / 2 == -4 and -7 % 2 == 1 and 7 / -2 == -4\n"
        "assert c0.mapped_at(0) + c0.mapped_at(0) == 2 and c0.mapped_at(0x1000) == 0\n"
        "assert (0 or 5) == 5 and (3 and 0) == 0 and not 0\n"
        "assert 1 < 2 < 3 and not (1 < 3 < 2)\n"
    )
    assert outputs == []


def test_short_circuit_skips_the_failing_operand(run_text: Any) -> None:
    assert run_text("assert 1 or 1 / 0\nassert not (0 and 1 / 0)\n") == []


def test_device_with_bad_bdf_is_declared_and_its_members_run(run_text: Any, fake: Any) -> None:
    outputs = run_text("device d bad {\n    bar 0 mem32 4K\n}\nalloc d\n")
    assert lines_ids(outputs) == [(1, "device.invalid:bdf")]
    assert [call[0] for call in fake.calls] == ["device", "device_bar", "alloc"]


def test_model_failure_changes_no_state(run_text: Any) -> None:
    model = ModelBackend()
    outputs = run_text(
        "container c0 limit=1\n"
        "map c0 iova=0x1000 vaddr=0x1000 size=4K\n"
        "map c0 iova=0x1000 vaddr=0x1000 size=4K\n"
        "map c0 iova=0x2000 vaddr=0x2000 size=4K\n"
        "unmap c0 iova=0x1800 size=4K\n"
        "assert c0.mappings == 1 and c0.mapped == 4K and c0.avail == 0\n",
        model,
    )
    assert lines_ids(outputs) == [
        (3, "dma.map.failed:overlap"),
        (4, "dma.map.failed:limit.exceeded"),
        (5, "dma.unmap.failed:misaligned"),
    ]


def test_cfg_access_of_any_size_but_1_2_4_fails_unaligned(run_text: Any) -> None:
    # The page: `unaligned` covers "size not 1, 2 or 4", so such a size reaches the backend.
    outputs = run_text(
        "device d 01:00.0 {\n}\n"
        "cfg read d 0 size=3\ncfg read d 0 size=8\ncfg read d 0 size=0\n"
        "cfg write d 0 0xffffffffff size=8\ncfg write d 0 1 size=0\ncfg write d 0 1 size=5\n",
        ModelBackend(),
    )
    assert lines_ids(outputs) == [(n, "config.access.failed:unaligned") for n in range(3, 9)]


def test_long_flat_expressions_evaluate_without_recursion(run_text: Any) -> None:
    terms = 5000
    text = (
        f"assert {' + '.join(['1'] * terms)} == {terms}\n"
        f"assert {' and '.join(['1'] * terms)}\n"
        f"assert not ({' or '.join(['0'] * terms)})\n"
        f"assert {' - '.join(['1'] * terms)} == {2 - terms}\n"
        f"assert 0 < {' <= '.join(['1'] * terms)} + 1\n"
        f"assert {' + '.join(['1'] * terms)} == 0\n"
    )
    [output] = run_text(text)
    assert (output.line, output.id) == (6, "assert.failed:assertion.false")
    assert output.message.startswith("assertion is false: 1 + 1 + ")
    assert output.message.endswith(" … (0x1388 == 0)")  # the expression is cut, not the values
    assert len(output.message) < 300


def test_and_or_chains_short_circuit_like_python(run_text: Any) -> None:
    outputs = run_text(
        "assert (1 and 2 and 3) == 3 and (1 and 0 and 1 / 0) == 0\n"
        "assert (0 or 0 or 7) == 7 and (0 or 5 or 1 / 0) == 5\n"
        "assert (1 - 2 + 3 * 4 / 2 % 5) == 0 and 2 - 3 - 4 == -5\n"
    )
    assert outputs == []
