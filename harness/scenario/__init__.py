"""The scenario language: grammar and parser, checker, interpreter.

`parse(text, file) -> Program` (raises `ScenarioSyntaxError`), `Checker().check(program)` turns
a program into steps (check failures become outputs), `run(steps, backend, outputs)` runs them.
"""

from harness.scenario.check import Checker
from harness.scenario.interpret import run
from harness.scenario.nodes import Program
from harness.scenario.parse import ScenarioSyntaxError, parse

__all__ = ["Checker", "Program", "ScenarioSyntaxError", "parse", "run"]
