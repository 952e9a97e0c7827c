"""The command line: `python -m harness run PATH...`, `ids` and `diff --against SPEC`.

`run` finds `.vfio` files under each PATH (a file or a folder), groups them into scenarios
(`harness.discovery.group`), runs each with the runner, and prints one line per scenario and a
code frame for each failure. Exit status: 0 when nothing failed (known bugs and ignored
scenarios are not failures), 1 when a scenario failed, 2 for a usage error (a bad path, option
or backend). `ids` prints the error catalog, one id per line with its description. Output is
plain text when stdout is not a terminal or `NO_COLOR` is set (rich's Console decides).
`diff` compares a backend with the model on generated scenarios (`harness.diff.command`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from harness import render
from harness.discovery import SUFFIX, Scenario, group, relative, scenario_root
from harness.errors import HintedError
from harness.options import OptionError, RunOptions, parse_defines
from harness.runner import BackendError, RunResult, load_backend, run_scenario
from harness.vfio.catalog import catalog

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(HintedError):
    """A bad path, option or backend: a message (and a hint) and exit status 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m harness", description="Run VFIO scenarios and check their annotations."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run scenarios (files or folders)")
    run.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    run.add_argument("--backend", metavar="SPEC", help="model (default) or package.module:Class")
    run.add_argument(
        "-D",
        dest="defines",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a run option, as for pytest -D (e.g. vfio:pgsize=64K, issueUrl=...)",
    )
    commands.add_parser("ids", help="print the error catalog")
    _diff_arguments(commands.add_parser("diff", help="compare a backend with the model"))
    return parser


def _diff_arguments(diff: argparse.ArgumentParser) -> None:
    """`diff`: generated programs on two backends, one regression file per divergence."""
    diff.description = (
        "Generate scenarios, run each on the reference and the target, and write one"
        " annotated .vfio file per class of divergence (exit 1 when any was found)."
    )
    diff.add_argument(
        "--against", required=True, metavar="SPEC", help="the target backend: any backend spec"
    )
    diff.add_argument(
        "--reference", default="model", metavar="SPEC", help="the reference (default: model)"
    )
    limit = diff.add_mutually_exclusive_group()
    limit.add_argument(
        "--budget", type=int, metavar="N", help="programs to generate (default 1000)"
    )
    limit.add_argument("--time", type=float, metavar="SECONDS", help="search this long instead")
    diff.add_argument("--seed", type=int, metavar="S", help="the seed (default: a random one)")
    diff.add_argument(
        "--areas", default="dma,config,msix", metavar="LIST", help="default dma,config,msix"
    )
    diff.add_argument(
        "--out",
        type=Path,
        default=Path("scenarios") / "regressions",
        metavar="DIR",
        help="where the files go (default scenarios/regressions)",
    )
    diff.add_argument("--overwrite", action="store_true", help="replace a file of the same class")
    diff.add_argument(
        "--max-ops", type=int, default=24, metavar="N", help="operations per program (24)"
    )
    diff.add_argument(
        "-D",
        dest="defines",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a run option for both backends, as for run (e.g. vfio:pgsize=64K)",
    )


def collect(paths: Sequence[Path], options: RunOptions) -> list[Scenario]:
    """The scenarios under `paths`, in the order given (each path's scenarios sorted)."""
    scenarios: list[Scenario] = []
    seen: set[tuple[Path, ...]] = set()
    for path in paths:
        if not path.exists():
            raise UsageError(f"{path}: no such file or folder")
        if path.is_dir():
            root = scenario_root(path / "x", (), path)
            files = sorted(p for p in path.rglob(f"*{SUFFIX}") if p.is_file())
            files = [p for p in files if options.includes(relative(p, root))]
        elif path.suffix == SUFFIX:
            root = scenario_root(path, (), path.parent)
            files = [path]
        else:
            raise UsageError(f"{path}: not a {SUFFIX} file", "give .vfio files or folders")
        for scenario in group(files, root):
            if scenario.files not in seen:
                seen.add(scenario.files)
                scenarios.append(scenario)
    return scenarios


def _complete_groups(scenarios: list[Scenario]) -> list[Scenario]:
    """A `_fileN` file named alone runs with its whole group (its siblings on disk)."""
    complete: list[Scenario] = []
    for scenario in scenarios:
        if scenario.is_group:
            folder = scenario.files[0].parent
            siblings = sorted(folder.glob(f"{scenario.name}_file*{SUFFIX}"))
            regrouped = [s for s in group(siblings, scenario.root) if s.name == scenario.name]
            if regrouped:
                scenario = regrouped[0]
        if scenario not in complete:
            complete.append(scenario)
    return complete


def run_command(args: argparse.Namespace, out: render.Out) -> int:
    """`run`: the report on `out`, and the exit status."""
    try:
        options = parse_defines(args.defines)
    except OptionError as error:
        raise UsageError(str(error)) from None
    backend = args.backend or options.backend
    try:
        load_backend(backend, options.defaults)  # fail early, once, with the spec's message
    except BackendError as error:
        raise UsageError(f"backend {backend!r}: {error.message}", error.hint) from None
    scenarios = _complete_groups(collect(args.paths, options))
    if not scenarios:
        raise UsageError("no scenarios found", f"scenario files end in {SUFFIX}")
    results: list[RunResult] = [
        run_scenario(s, backend=backend, defaults=options.defaults, strict=options.strict)
        for s in scenarios
    ]
    out.print(render.run_report(results, options.issue_url), crop=False)
    return EXIT_FAILED if any(r.outcome.failed for r in results) else EXIT_OK


def ids_command(out: render.Out) -> int:
    """`ids`: every catalog id and its description."""
    for error_id, description in catalog().items():
        out.print(f"{error_id}  {description}", markup=False, highlight=False, soft_wrap=True)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m harness` and `vfio-harness`; returns the exit status."""
    args = _parser().parse_args(argv)
    out = render.console()
    try:
        if args.command == "ids":
            return ids_command(out)
        if args.command == "diff":
            # Imported here: the search needs Hypothesis, which `run` and `ids` never load.
            from harness.diff.command import diff_command

            return diff_command(args, out)
        return run_command(args, out)
    except UsageError as error:
        # Plain lines on stderr, like argparse's own usage errors; the one Console is stdout's.
        print(f"error: {error.message}", file=sys.stderr)
        if error.hint:
            print(f"hint: {error.hint}", file=sys.stderr)
        return EXIT_USAGE
