"""The robustness campaign, on a small budget: every target's contract on generated and
mutated inputs (`fuzz_targets` says what the contract is). `bench/fuzz.py --minutes N` runs the
same targets for as long as one likes.

Under CI the examples are derandomized (the same ones every run); elsewhere a failure prints
its example and the `@reproduce_failure` blob that replays it.
"""

from __future__ import annotations

from fuzz_inputs import MutatedScenario, mutated_scenarios
from fuzz_targets import (
    FUZZ,
    AnnotationCase,
    DefinesCase,
    annotation_cases,
    check_annotations,
    check_defines,
    check_scenario,
    defines_cases,
)
from hypothesis import given, settings

# Seconds, not minutes, in the README's test command: each target's examples run in a few
# seconds on a small machine.


@settings(FUZZ, max_examples=150)
@given(mutated_scenarios())
def test_a_mutated_corpus_scenario_is_collected_run_and_reported_within_the_contract(
    case: MutatedScenario,
) -> None:
    check_scenario(case)


@settings(FUZZ, max_examples=300)
@given(annotation_cases())
def test_a_mutated_annotated_file_is_read_and_matched_within_the_contract(
    case: AnnotationCase,
) -> None:
    check_annotations(case)


@settings(FUZZ, max_examples=300)
@given(defines_cases)
def test_defines_give_options_or_an_option_error_and_links_of_bounded_size(
    case: DefinesCase,
) -> None:
    check_defines(case)
