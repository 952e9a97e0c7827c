"""`python -m harness diff`: search for divergences and write one regression file per class.

The arguments are declared in `harness/cli.py`; this module validates them, opens the two
backend sessions, runs the search with its progress display, writes and checks the files, and
prints the final table. Exit status: 0 when the backends agreed on every program, 1 when they
diverged (or the reference crashed, or a backend broke down for good, or no program got past
its declarations: a message says which),
2 for a usage error (a bad option, a backend that cannot be loaded, an area neither backend
can run), 130 when interrupted. However the search ends, the classes found until then are
written and reported.
"""

from __future__ import annotations

import argparse
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from harness.backend import BackendSession
from harness.cli import EXIT_FAILED, EXIT_OK, UsageError
from harness.diff import generate, regression
from harness.diff import render as view
from harness.diff.compare import ReferenceBroke
from harness.diff.search import Found, Limits, Search, SessionBroke
from harness.diff.verify import check_file
from harness.options import OptionError, RunOptions, parse_defines
from harness.render import Out
from harness.sessions import BackendError, open_backend

DEFAULT_BUDGET = 1000
DEFAULT_OUT = Path("scenarios") / "regressions"
EXIT_INTERRUPTED = 130


def _areas(text: str) -> list[str]:
    areas = [area.strip() for area in text.split(",") if area.strip()]
    unknown = [area for area in areas if area not in generate.AREAS]
    if unknown or not areas:
        raise UsageError(
            f"--areas {text!r}: unknown area {', '.join(unknown) or '(none given)'}",
            f"choose from {','.join(generate.AREAS)} (comma-separated)",
        )
    return list(dict.fromkeys(areas))


def _limits(args: argparse.Namespace) -> Limits:
    if args.budget is not None and args.budget < 1:
        raise UsageError(f"--budget {args.budget}: must be at least 1", "programs to generate")
    if args.time is not None and not args.time > 0:
        raise UsageError(f"--time {args.time:g}: must be above 0", "seconds of search")
    if args.max_ops < 1:
        raise UsageError(f"--max-ops {args.max_ops}: must be at least 1", "e.g. --max-ops 24")
    if args.time is not None:
        return Limits(seconds=args.time)
    return Limits(budget=DEFAULT_BUDGET if args.budget is None else args.budget)


def _check_out(folder: Path) -> None:
    """Refuse, before searching, an --out that cannot become a folder of files (it is created
    only when a file is written)."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(
            f"--out {str(folder)!r}: {str(existing)!r} is not a folder",
            "give a folder for the regression files (it is created if missing)",
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(
            f"--out {str(folder)!r}: cannot write in {str(existing)!r}",
            "give a folder you can write in",
        )


def _open(spec: str, options: RunOptions, role: str) -> BackendSession:
    try:
        return open_backend(spec, options.defaults, options)
    except BackendError as error:
        raise UsageError(f"{role} backend {spec!r}: {error.message}", error.hint) from None


def diff_command(args: argparse.Namespace, out: Out) -> int:
    """Run `diff`: the report on `out`, and the exit status."""
    try:
        options = parse_defines(args.defines)
    except OptionError as error:
        raise UsageError(str(error)) from None
    areas = _areas(args.areas)
    limits = _limits(args)
    seed = secrets.randbelow(1 << 32) if args.seed is None else args.seed
    if seed < 0:
        raise UsageError(f"--seed {seed}: must not be negative", "any integer from 0")
    _check_out(Path(args.out))
    reference = _open(args.reference, options, "reference")
    try:
        target = _open(args.against, options, "target")
        try:
            return _diff(args, out, reference, target, areas, limits, seed)
        finally:
            target.close()
    finally:
        reference.close()


def _diff(
    args: argparse.Namespace,
    out: Out,
    reference: BackendSession,
    target: BackendSession,
    areas: Sequence[str],
    limits: Limits,
    seed: int,
) -> int:
    methods = frozenset(reference.methods) & frozenset(target.methods)
    usable = generate.usable(areas, methods)
    if not usable:
        lacking = "; ".join(
            f"{area} needs {', '.join(generate.missing(area, methods))}" for area in areas
        )
        raise UsageError(
            f"the backends cannot run any area asked for ({lacking})",
            "choose other --areas, or a target that implements those methods",
        )
    limit = f"budget {limits.budget}" if limits.budget is not None else f"{limits.seconds:g} s"
    _say(
        out,
        f"diff: {target.name} ({args.against}) against {reference.name} ({args.reference});"
        f" seed {seed}, {limit}, areas {','.join(usable)}",
    )
    progress = view.Progress(out)
    search = Search(
        reference,
        target,
        areas=usable,
        seed=seed,
        limits=limits,
        max_ops=args.max_ops,
        on_progress=progress.update,
    )
    status = EXIT_OK
    try:
        with progress.running(search.stats):
            search.run_all()
    except ReferenceBroke as broke:
        _say(
            out,
            f"error: the reference {reference.name} {broke.answer.describe()} on"
            f" {broke.call.method}: a bug in the reference, not a divergence. The program:",
        )
        _say(out, broke.program.text())
        status = EXIT_FAILED
    except SessionBroke as broke:
        _say(out, f"error: {broke}")
        if broke.fault.detail:
            _say(out, broke.fault.detail)
        status = EXIT_FAILED
    except KeyboardInterrupt:
        _say(out, "interrupted: writing the classes found so far")
        status = EXIT_INTERRUPTED
    provenance = regression.Provenance(
        regression.Side(args.reference, reference.name, dict(reference.info)),
        regression.Side(args.against, target.name, dict(target.info)),
        seed,
        limits,
        usable,
        tuple(args.defines),
        args.max_ops,
        None if Path(args.out) == DEFAULT_OUT else str(args.out),
    )
    rows = [
        _write(found, provenance, Path(args.out), args.overwrite, reference, target)
        for found in search.found.values()
    ]
    view.report(out, rows, search.stats, reference.name, target.name)
    stats = search.stats
    if status == EXIT_OK and stats.sequences and stats.skipped == stats.sequences:
        # Not one program got past its declarations: "they agreed" would be vacuous.
        said = f"; the last reason: {stats.reason}" if stats.reason else ""
        _say(
            out,
            f"error: no program got past its declarations, so nothing was compared{said}",
        )
        status = EXIT_FAILED
    if status == EXIT_OK and rows:
        status = EXIT_FAILED
    return status


def _say(out: Out, text: str) -> None:
    out.print(text, markup=False, highlight=False, soft_wrap=True)


def _write(
    found: Found,
    provenance: regression.Provenance,
    folder: Path,
    overwrite: bool,
    reference: BackendSession,
    target: BackendSession,
) -> view.Row:
    path = folder / regression.file_name(found, provenance.target)
    rendered = regression.render(found, provenance, str(path))
    try:
        written = regression.write(path, rendered.text, overwrite=overwrite).value
    except OSError as error:  # the folder went away, the disk is full, ...: say so, go on
        written = f"not written: {error.strerror or error}"
    check = check_file(str(path), rendered.text, reference, target)
    return view.Row(
        found,
        path,
        written,
        check.on_reference(),
        check.on_target(rendered.line, rendered.needed),
    )
