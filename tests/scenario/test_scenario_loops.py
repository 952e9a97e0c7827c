"""`let` and `for`: names bound once or per iteration, outputs per iteration naming it, the
passes over each body line, and a loop equal to its body written out."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from annotations import match, read_texts
from annotations.outcome import Verdict
from harness.model import ModelBackend
from harness.scenario import execute
from harness.scenario.interpret import MAX_ITERATIONS


def run(text: str) -> list[tuple[int, str, str, int]]:
    """(line, id, message, run) of every output of `text` on the model."""
    result = execute([("l.vfio", text)], ModelBackend())
    assert result.abort is None
    return [(o.line or 0, o.id, o.message, o.run) for o in result.outputs]


def runs(text: str) -> dict[int, int]:
    """The passes over each line inside a loop, by line."""
    result = execute([("l.vfio", text)], ModelBackend())
    return {line: count for (_, line), count in result.runs.items()}


def test_let_binds_an_integer_usable_wherever_an_integer_is() -> None:
    text = (
        "let base = 0x100000\nlet pages = 3\ncontainer c0 limit=pages\n"
        "map c0 iova=base vaddr=(base + 0x7f0000000000) size=(pages * 4K)\n"
        "assert c0.mappings == 1 and c0.mapped == pages * 4K and c0.avail == pages - 1\n"
    )
    assert run(text) == []


def test_let_evaluates_once_where_it_stands() -> None:
    text = (
        "container c0\nlet before = c0.mappings\nmap c0 iova=0 vaddr=0 size=4K\n"
        "assert before == 0 and c0.mappings == 1\n"
    )
    assert run(text) == []


def test_let_takes_any_integer_but_a_position_takes_64_bits() -> None:
    text = "let minus = -1\nassert minus < 0\ncontainer c0\nmap c0 iova=minus vaddr=0 size=4K\n"
    [(line, kind, message, _)] = run(text)
    assert (line, kind) == (4, "scenario.error:value.range")
    assert message == "minus = -1 is negative"


def test_let_names_share_the_one_name_space() -> None:
    text = "container c0\nlet c0 = 1\nlet x = 1\nlet x = 2\nassert x == 1\n"
    assert [(line, kind) for line, kind, _, _ in run(text)] == [
        (2, "scenario.error:duplicate.name"),
        (4, "scenario.error:duplicate.name"),
    ]


def test_a_let_that_cannot_be_evaluated_declares_nothing() -> None:
    text = "let x = 1 / 0\nassert x == 0\n"
    assert [(line, kind) for line, kind, _, _ in run(text)] == [
        (1, "scenario.error:eval"),
        (2, "scenario.error:unknown.name"),
    ]


def test_an_integer_name_has_no_attributes() -> None:
    [(_, kind, message, _)] = run("let ram = 3G\nassert ram.size == 3G\n")
    assert kind == "scenario.error:wrong.kind"
    assert message == "'ram' is an integer; it has no attributes"


def test_for_runs_its_body_once_per_value_with_inclusive_bounds() -> None:
    text = (
        "container c0\nfor v in 1..4 {\n    map c0 iova=(v * 4K) vaddr=(v * 4K) size=4K\n}\n"
        "assert c0.mappings == 4 and c0.mapped_at(4 * 4K) and not c0.mapped_at(0)\n"
    )
    assert run(text) == []
    assert runs(text) == {3: 4}


def test_outputs_in_a_body_name_their_iteration_and_pass() -> None:
    text = (
        "container c0\nmap c0 iova=0 vaddr=0 size=4K\n"
        "for v in 5..7 {\n    map c0 iova=0 vaddr=(v * 4K) size=4K\n}\n"
    )
    outputs = run(text)
    assert [(line, kind, run_) for line, kind, _, run_ in outputs] == [
        (4, "dma.map.failed:overlap", 0),
        (4, "dma.map.failed:overlap", 1),
        (4, "dma.map.failed:overlap", 2),
    ]
    assert [message.rsplit(" ", 1)[1] for _, _, message, _ in outputs] == [
        "(v=5)",
        "(v=6)",
        "(v=7)",
    ]


def test_nested_loops_count_passes_across_the_outer_iterations() -> None:
    text = (
        "container c0\nfor i in 0..1 {\n    for j in 0..2 {\n"
        "        assert i * 3 + j != 4\n    }\n}\n"
    )
    [(line, kind, message, run_)] = run(text)
    assert (line, kind, run_) == (4, "assert.failed:assertion.false", 4)
    assert message.endswith("(i=1, j=1)")
    assert runs(text) == {3: 2, 4: 6}


def test_a_body_never_entered_runs_its_lines_zero_times() -> None:
    text = (
        "container c0\nfor v in 3..2 {\n    alloc nothing\n    for w in 0..9 {\n  irq x w\n }\n}\n"
    )
    assert run(text) == []
    assert runs(text) == {3: 0, 4: 0, 5: 0}


def test_the_loop_variable_is_bound_only_while_the_body_runs() -> None:
    text = (
        "container c0\nfor v in 0..0 {\n    assert v == 0\n}\nassert v == 0\n"
        "for v in 1..1 {\n    assert v == 1\n}\n"
    )
    assert [(line, kind) for line, kind, _, _ in run(text)] == [(5, "scenario.error:unknown.name")]


def test_a_loop_variable_that_clashes_is_a_duplicate_and_the_body_does_not_run() -> None:
    text = "container c0\nfor c0 in 0..3 {\n    alloc c0\n}\n"
    assert [(line, kind) for line, kind, _, _ in run(text)] == [
        (2, "scenario.error:duplicate.name")
    ]
    assert runs(text) == {3: 0}


def test_bounds_are_evaluated_once_before_the_first_iteration() -> None:
    text = (
        "container c0\nfor v in 0..c0.mappings + 1 {\n"
        "    map c0 iova=(v * 4K) vaddr=0 size=4K\n}\nassert c0.mappings == 2\n"
    )
    assert run(text) == []


def test_a_bound_that_cannot_be_evaluated_fails_at_the_for_line() -> None:
    text = "container c0\nfor v in 0..1 / 0 {\n    alloc x\n}\n"
    [(line, kind, message, _)] = run(text)
    assert (line, kind) == (2, "scenario.error:eval")
    assert "division by zero" in message
    assert runs(text) == {3: 0}


def test_a_loop_runs_at_most_the_iteration_limit() -> None:
    text = f"for v in 1..{MAX_ITERATIONS + 1} {{\n    assert v > 0\n}}\n"
    [(line, kind, message, _)] = run(text)
    assert (line, kind) == (1, "scenario.error:value.range")
    assert f"at most {MAX_ITERATIONS:,}" in message


def test_a_check_failure_in_a_body_is_reported_in_every_iteration() -> None:
    text = "for v in 0..2 {\n    alloc nothing\n}\n"
    outputs = run(text)
    assert [(line, kind, run_) for line, kind, _, run_ in outputs] == [
        (2, "scenario.error:unknown.name", n) for n in range(3)
    ]


def test_a_value_that_fails_in_one_iteration_fails_only_there() -> None:
    text = "container c0\nfor v in 0..2 {\n    map c0 iova=(4K - v * 4K) vaddr=0 size=4K\n}\n"
    outputs = run(text)
    assert [(line, kind, run_) for line, kind, _, run_ in outputs] == [
        (3, "scenario.error:value.range", 2)
    ]
    assert outputs[0][2] == "4K - v * 4K = -0x1000 is negative (v=2)"


def test_an_annotation_in_a_body_expects_one_output_per_iteration() -> None:
    body = "//:: ExpectedOutput(dma.map.failed:overlap)\n    map c0 iova=0 vaddr=(v * 4K) size=4K\n"
    text = f"container c0\nmap c0 iova=0 vaddr=0 size=4K\nfor v in 0..2 {{\n    {body}}}\n"
    read = read_texts([("l.vfio", text)], prefix="//")
    result = execute([("l.vfio", text)], ModelBackend())
    assert (
        match(result.outputs, read, ("model", "vfio"), runs=result.runs).verdict is Verdict.PASSED
    )
    # The same annotation over a line that fails in only some iterations is not satisfied.
    text = text.replace("    map c0 iova=0 ", "    map c0 iova=(v * 8K) ")
    read = read_texts([("l.vfio", text)], prefix="//")
    result = execute([("l.vfio", text)], ModelBackend())
    outcome = match(result.outputs, read, ("model", "vfio"), runs=result.runs)
    assert outcome.verdict is Verdict.FAILED
    assert [f.passes for f in outcome.findings] == [(1, 2)]


# ---- a loop equals its body written out


def _written(body: list[str], first: int, last: int) -> str:
    return "".join(
        line.replace("V", f"({v})") + "\n" for v in range(first, last + 1) for line in body
    )


def _looped(body: list[str], first: int, last: int) -> str:
    inner = "".join("    " + line.replace("V", "v") + "\n" for line in body)
    return f"for v in {first}..{last} {{\n{inner}}}\n"


_body_lines = st.sampled_from(
    [
        "map c0 iova=(V * 4K) vaddr=(V * 8K) size=4K",
        "map c0 iova=(V * 2K) vaddr=0 size=4K",
        "unmap c0 iova=(V * 4K) size=4K == 4K",
        "unmap c0 iova=(V % 3 * 4K) size=(V % 2 * 4K)",
        "assert c0.mappings < V + 2",
        "assert c0.translate(V * 4K) == V * 8K",
        "cfg write d (V * 4) (V * 0x10001)",
        "cfg read d (V * 4 + 2) size=2 == V",
        "msix entry d V addr=0xfee00000 data=(V - 1)",
        "msix unmask d (V % 5)",
        "irq d V",
        "mmio write d bar0 (V * 8) (V << 40) size=8",
        "mmio read d bar0 (V * 4) == V",
    ]
)
_HEADER = (
    "container c0\ndevice d 01:00.0 {\n    bar 0 mem64 64K\n"
    "    msix 4 table=0:0x8000 pba=0:0x9000\n}\ncfg write d 4 6 size=2\n"
)


@settings(deadline=None)
@given(st.lists(_body_lines, min_size=1, max_size=4), st.integers(-2, 3), st.integers(-1, 6))
def test_a_loop_gives_the_outputs_of_its_body_written_out(
    body: list[str], first: int, last: int
) -> None:
    written = execute([("w.vfio", _HEADER + _written(body, first, last))], ModelBackend())
    looped = execute([("l.vfio", _HEADER + _looped(body, first, last))], ModelBackend())
    assert written.abort is None and looped.abort is None
    # Same outputs in the same order; the loop's messages name the iteration in addition
    # (a backend's message is otherwise the same; the checker's quote the expression, `v`).
    assert [o.id for o in looped.outputs] == [o.id for o in written.outputs]
    for plain, iterated in zip(written.outputs, looped.outputs, strict=True):
        assert iterated.message.endswith(")") and "(v=" in iterated.message
        if not plain.id.startswith(("scenario.error:", "assert.failed:")):
            value = iterated.message.rsplit("(v=", 1)[1].rstrip(")")
            assert iterated.message == f"{plain.message} (v={value})"
    # Each body line ran once per value.
    count = max(0, last - first + 1)
    assert set(looped.runs.values()) == ({count} if body else set())
