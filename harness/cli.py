"""The command line: `python -m harness run PATH...`, `bless PATH...`, `ids`, `serve`, `diff`.

`run` finds `.vfio` files under each PATH (a file or a folder), groups them into scenarios
(`harness.discovery.group`), opens the backend once (`harness.sessions.open_backend`), runs each
scenario and prints its line as soon as it has run, then a code frame for each failure and a
summary. `-x`/`--exitfirst` stops after the first failed scenario; Ctrl-C stops the run, still
printing what ran. The backend is closed on every exit path. Exit status: 0 when nothing failed
(known bugs, ignored and skipped scenarios are not failures), 1 when a scenario failed, 2 for a
usage error (a bad path, option or backend), 130 when interrupted. `bless` runs the same
scenarios and rewrites their annotations to accept what they do now (`harness.bless`): a
line per file it changed or left alone, as each scenario ends, then a summary; `--dry-run`
shows the edits as a unified diff and `--check` fails when anything would change. `ids`
prints the error catalog, one id per line with its description. `serve` serves the core model
over the `vfio-harness/1` protocol on stdin and stdout. Output is plain text when stdout is not a
terminal or `NO_COLOR` is set (rich's Console decides), and ASCII when stdout cannot encode more.
The usage line names the program as it was started: `vfio-harness` or `python -m harness`.
`diff --against SPEC` compares a backend with the model on generated scenarios and writes one
regression file per class of divergence (`harness.diff.command`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from harness import render
from harness.backend import AbortKind, BackendSession
from harness.bless import BlessOptions, Folders, Mode, bless_scenario
from harness.bless_report import BlessReport
from harness.discovery import SUFFIX, Scenario, group, relative, scenario_root
from harness.errors import HintedError
from harness.options import OptionError, RunOptions, parse_defines
from harness.protocol.conformance import Column, Conformance, area_of
from harness.runner import RunResult, Status, run_scenario
from harness.sessions import MODEL, BackendError, open_backend
from harness.vfio.catalog import catalog

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
DISTRIBUTION = "vfio-harness"


class UsageError(HintedError):
    """A bad path, option or backend: a message (and a hint) and exit status 2."""


def _version() -> str:
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"


def _parser(prog: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="Run VFIO scenarios and check their annotations."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run scenarios (files or folders)")
    _scenario_arguments(run)
    run.add_argument(
        "-x", "--exitfirst", action="store_true", help="stop after the first failed scenario"
    )
    _bless_arguments(
        commands.add_parser("bless", help="rewrite annotations to accept what scenarios do now")
    )
    commands.add_parser("ids", help="print the error catalog")
    commands.add_parser(
        "serve",
        help="serve the core model over the vfio-harness/1 protocol on stdin and stdout",
    )
    # Listed for --help; `main` hands `kernel ...` to harness.kernel.cli before parsing.
    commands.add_parser(
        "kernel", help="the kernel backend: setup, status, serve (see `kernel --help`)"
    )
    _diff_arguments(commands.add_parser("diff", help="compare a backend with the model"))
    return parser


def _scenario_arguments(command: argparse.ArgumentParser) -> None:
    """The paths, `--backend` and `-D` of the commands that run scenarios."""
    command.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    command.add_argument(
        "--backend", metavar="SPEC", help="model (default), package.module:Class or exec:COMMAND"
    )
    _define_argument(command, "a run option, as for pytest -D (e.g. vfio:pgsize=64K, issueUrl=...)")


def _define_argument(command: argparse.ArgumentParser, text: str) -> None:
    """`-D KEY=VALUE`, repeatable, into `defines`."""
    command.add_argument(
        "-D", dest="defines", action="append", default=[], metavar="KEY=VALUE", help=text
    )


def _bless_arguments(bless: argparse.ArgumentParser) -> None:
    """`bless`: run scenarios, then add and remove annotations so that they pass."""
    bless.description = (
        "Run scenarios and rewrite their //:: annotations to accept what they do now: add an"
        " ExpectedOutput for each output none accepts, remove each ExpectedOutput that saw no"
        " output. Known-bug annotations are left alone unless --bless-known-bugs is given."
    )
    _scenario_arguments(bless)
    bless.add_argument(
        "--dry-run", action="store_true", help="print the edits as a unified diff; write nothing"
    )
    bless.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 when anything would change (for CI)",
    )
    bless.add_argument(
        "--bless-known-bugs",
        action="store_true",
        help="also remove stale UnexpectedOutput and turn stale MissingOutput into ExpectedOutput",
    )


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
    _define_argument(diff, "a run option for both backends, as for run (e.g. vfio:pgsize=64K)")


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


def _prepare(args: argparse.Namespace) -> tuple[RunOptions, list[Scenario], str]:
    """The options, the scenarios and the backend spec of a command that runs scenarios."""
    try:
        options = parse_defines(args.defines)
    except OptionError as error:
        raise UsageError(str(error)) from None
    if args.backend:  # --backend overrides -D backend=
        options = replace(options, backend=args.backend)
    scenarios = _complete_groups(collect(args.paths, options))
    if not scenarios:
        raise UsageError("no scenarios found", f"scenario files end in {SUFFIX}")
    return options, scenarios, options.backend


def _open(spec: str, options: RunOptions) -> BackendSession:
    try:
        return open_backend(spec, options.defaults, options)
    except BackendError as error:
        raise UsageError(f"backend {spec!r}: {error.message}", error.hint) from None


def run_command(args: argparse.Namespace, out: render.Out) -> int:
    """`run`: the report on `out`, and the exit status."""
    options, scenarios, spec = _prepare(args)
    session = _open(spec, options)
    try:
        return run_all(
            scenarios, session, options, out, exitfirst=args.exitfirst, conformance=spec != MODEL
        )
    finally:
        session.close()


def bless_command(args: argparse.Namespace, out: render.Out) -> int:
    """`bless`: bless each scenario, a line per file it changed or left alone as each ends, the
    diffs for `--dry-run`, then a summary. Exit 1 when, blessed, a scenario still fails, or
    with `--check` when a file would change; 130 when interrupted."""
    options, scenarios, spec = _prepare(args)
    mode = Mode.CHECK if args.check else Mode.DRY_RUN if args.dry_run else Mode.WRITE
    blessing = BlessOptions(mode, known_bugs=args.bless_known_bugs)
    report = BlessReport(mode, blessing.known_bugs, "--bless-known-bugs")
    session = _open(spec, options)
    folders = Folders()
    stopped = None
    try:
        for scenario in scenarios:
            blessed = bless_scenario(
                scenario, session, strict=options.strict, options=blessing, folders=folders
            )
            if args.dry_run:
                for file in blessed.files:
                    if file.edited and file.plan is not None:
                        out.file.write(file.plan.diff(file.file))
            for line in report.add(blessed, unsupported_fails=options.unsupported_fails):
                out.print(line, markup=False, highlight=False, crop=False, soft_wrap=True)
            if blessed.before.fatal:
                stopped = "stopped: the backend can run no further scenario"
                break
    except KeyboardInterrupt:
        stopped = "interrupted"
    finally:
        session.close()
        folders.sync()
    for line in (*report.hints(), report.summary(), *([stopped] if stopped else [])):
        out.print(line, markup=False, highlight=False, crop=False, soft_wrap=True)
    if stopped == "interrupted":
        return EXIT_INTERRUPTED
    would_change = mode is Mode.CHECK and report.edited > 0
    return EXIT_FAILED if would_change or report.failed or stopped else EXIT_OK


def run_all(
    scenarios: Sequence[Scenario],
    session: BackendSession,
    options: RunOptions,
    out: render.Out,
    *,
    exitfirst: bool = False,
    conformance: bool = False,
) -> int:
    """Run the scenarios in order, a line each as it ends; then the failures and a summary
    (after the conformance report, when `conformance`: for a backend other than the model)."""
    statuses: list[Status] = []
    report = Conformance(session.name)
    failed: list[RunResult] = []
    stopped = None
    try:
        for scenario in scenarios:
            result = run_scenario(scenario, session=session, strict=options.strict)
            status = result.status(unsupported_fails=options.unsupported_fails)
            statuses.append(status)
            report.add(area_of(scenario.relpath), _COLUMN[status], _unsupported(result))
            out.print(render.ScenarioLine(result, status, options.issue_url), crop=False)
            if status is Status.FAILED:
                failed.append(result)
                if result.fatal:  # the backend can run no further scenario
                    stopped = "stopped: the backend can run no further scenario"
                    break
                if exitfirst:
                    stopped = "stopped at the first failure: -x"
                    break
    except KeyboardInterrupt:
        stopped = "interrupted"
    out.print(render.failure_details(failed, options.issue_url), crop=False)
    out.print()
    if conformance:
        # A process backend that never started has no project name: name it by its spec.
        report.backend = session.name or options.backend
        for line in report.lines():
            out.print(line, markup=False, highlight=False, crop=False, soft_wrap=True)
    out.print(render.Summary(tuple(statuses), stopped), crop=False)
    if stopped == "interrupted":
        return EXIT_INTERRUPTED
    return EXIT_FAILED if failed else EXIT_OK


_COLUMN = {
    Status.PASSED: Column.PASSED,
    Status.FAILED: Column.FAILED,
    Status.KNOWN_BUG: Column.KNOWN_BUG,
    Status.IGNORED: Column.IGNORED,
    Status.SKIPPED: Column.UNSUPPORTED,
}


def _unsupported(result: RunResult) -> str | None:
    """The method a scenario was skipped for, if the backend could not run one of its calls."""
    abort = result.abort
    return abort.method if abort is not None and abort.kind is AbortKind.UNSUPPORTED else None


def ids_command(out: render.Out) -> int:
    """`ids`: every catalog id and its description."""
    for error_id, description in catalog().items():
        out.print(f"{error_id}  {description}", markup=False, highlight=False, soft_wrap=True)
    return EXIT_OK


def _diff(args: argparse.Namespace, out: render.Out) -> int:
    """`diff`, imported here: the search needs Hypothesis, an extra `run` and `ids` never load."""
    try:
        from harness.diff.command import diff_command
    except ModuleNotFoundError as error:
        if error.name != "hypothesis":
            raise
        raise UsageError(
            "diff needs Hypothesis, which is not installed",
            "install the extra: pip install 'vfio-harness[diff]'",
        ) from None
    return diff_command(args, out)


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Entry point of `vfio-harness` and `python -m harness` (which passes its `prog`)."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    if arguments[:1] == ["kernel"]:
        from harness.kernel.cli import main as kernel

        return kernel(arguments[1:])
    args = _parser(prog).parse_args(argv)
    out = render.console()
    try:
        if args.command == "ids":
            return ids_command(out)
        if args.command == "diff":
            return _diff(args, out)
        if args.command == "bless":
            return bless_command(args, out)
        if args.command == "serve":
            from harness.protocol.model_server import main as serve_model

            return serve_model()
        return run_command(args, out)
    except UsageError as error:
        # Plain lines on stderr, like argparse's own usage errors; the one Console is stdout's.
        print(f"error: {error.message}", file=sys.stderr)
        if error.hint:
            print(f"hint: {error.hint}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as the Python docs advise.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED
