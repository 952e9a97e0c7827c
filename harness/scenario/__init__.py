"""The scenario language: grammar and parser, checker, interpreter.

`execute(files, backend) -> Execution` is the entry point: it parses, checks and runs a
scenario's files on a backend. `parse(text, file) -> Program` (raises `ScenarioSyntaxError`) is
the parser alone.
"""

from harness.scenario.check import Checker
from harness.scenario.execution import Execution, FileRun, FileStatus, execute, syntax_output
from harness.scenario.interpret import run
from harness.scenario.nodes import Program
from harness.scenario.syntax import ScenarioSyntaxError, parse

__all__ = [
    "Checker",
    "Execution",
    "FileRun",
    "FileStatus",
    "Program",
    "ScenarioSyntaxError",
    "execute",
    "parse",
    "run",
    "syntax_output",
]
