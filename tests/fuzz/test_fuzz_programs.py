"""Properties of the whole pipeline on generated programs: a well-formed program never raises
anything (its failures are outputs with catalog ids), and a run is deterministic, in the
language alone (`execute`) and as pytest runs it (collected, run from its file, reported)."""

from __future__ import annotations

from fuzz_inputs import MutatedScenario
from fuzz_programs import HEADER, program_texts, statement_lists
from fuzz_targets import FUZZ, IDS, check_program
from hypothesis import given, settings

from harness.model import ModelBackend
from harness.scenario import execute, nodes, printer


@settings(deadline=None)
@given(statement_lists())
def test_a_well_formed_program_never_raises_and_fails_only_with_catalog_ids(
    statements: list[nodes.Statement],
) -> None:
    text = HEADER + printer.program(statements)
    result = execute([("p.vfio", text)], ModelBackend())
    assert result.abort is None and result.syntax_errors == ()
    lines = text.count("\n")
    for output in result.outputs:
        assert output.id in IDS, output
        assert output.line is not None and 1 <= output.line <= lines
        assert output.message
    again = execute([("p.vfio", text)], ModelBackend())
    assert again.outputs == result.outputs and again.runs == result.runs


@settings(FUZZ, max_examples=60)
@given(program_texts())
def test_a_well_formed_program_is_collected_run_and_reported_within_the_contract(
    text: str,
) -> None:
    check_program(MutatedScenario("p", (("p.vfio", text.encode()),), ("generated",)))
