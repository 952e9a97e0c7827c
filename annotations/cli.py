"""The command line: `python -m annotations dump PATH...`.

`dump` prints one JSON object per line for each annotation and each diagnostic of the given
files, and of every regular file under the given folders (recursively, sorted by relative POSIX
path; names starting with `.` are skipped). Keys: `file` (relative to the folder given, or the
path as given), `line`, `column`, `kind` (the keyword, or the diagnostic kind), `target` (null
where none), `id` (null where none), `project`, `issue`, and for diagnostics `message`, `hint`
and `silver`. The JSON is ASCII (`ensure_ascii`), so no record holds a character that a
line-based reader takes for a line break (U+2028, U+2029, U+0085). Exit status: 0; 1 when a
file could not be read (each is reported on stderr as `file:line:column: error: ... (hint:
...)`, and the others are still dumped); 2 for a bad command line, a bad prefix or a missing
path.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

from annotations.annotation import Annotation, Diagnostic, ReadResult
from annotations.reader import TRIM, read_text


def _files(path: Path, given: str) -> Iterator[tuple[Path, str]]:
    """The files to read for one argument, each with the name to print for it."""
    if not path.is_dir():
        yield path, given
        return
    found: list[tuple[str, Path]] = []
    for folder, folders, names in os.walk(path):
        # Hidden folders (`.git`, `.venv`) and files hold no tests; walk the rest.
        folders[:] = [name for name in folders if not name.startswith(".")]
        for name in names:
            file = Path(folder, name)
            if not name.startswith(".") and file.is_file():
                found.append((file.relative_to(path).as_posix(), file))
    for relative, file in sorted(found):
        yield file, relative


class Unreadable(Exception):
    """A file that cannot be read as UTF-8 text; the message names where and why."""


def read_file(file: Path, name: str) -> str:
    """The text of `file` (UTF-8, CRs kept), or `Unreadable` located at `name:line:column`."""
    try:
        data = file.read_bytes()
    except OSError as error:
        raise Unreadable(
            f"{name}: error: cannot read the file: {error.strerror or error} "
            "(hint: check that it exists and is readable)"
        ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise Unreadable(
            f"{name}:{line}:{column}: error: not UTF-8 text (byte 0x{data[error.start]:02x}) "
            "(hint: save the file as UTF-8)"
        ) from None


def annotation_record(annotation: Annotation, name: str) -> dict[str, object]:
    """The JSON object for one annotation."""
    issue = annotation.issue
    return {
        "file": name,
        "line": annotation.line,
        "column": annotation.column,
        "kind": annotation.kind.value,
        "target": annotation.target,
        "id": None if annotation.output_id is None else str(annotation.output_id),
        "project": None if issue is None else issue.project,
        "issue": None if issue is None else issue.number,
    }


def diagnostic_record(diagnostic: Diagnostic, name: str) -> dict[str, object]:
    """The JSON object for one diagnostic."""
    return {
        "file": name,
        "line": diagnostic.line,
        "column": diagnostic.column,
        "kind": diagnostic.kind,
        "target": None,
        "id": None,
        "project": None,
        "issue": None,
        "message": diagnostic.message,
        "hint": diagnostic.hint,
        "silver": diagnostic.silver,
    }


def records(read: ReadResult, name: str) -> list[dict[str, object]]:
    """Annotations and diagnostics of one read file, in line order (annotations first)."""
    rows = [(a.line, a.column, 0, annotation_record(a, name)) for a in read.annotations]
    rows += [(d.line, d.column, 1, diagnostic_record(d, name)) for d in read.diagnostics]
    rows.sort(key=lambda row: row[:3])
    return [row[3] for row in rows]


def dump(
    paths: Sequence[str], prefix: str, catalog: frozenset[str] | None, out: TextIO, err: TextIO
) -> int:
    """Print the records of every file under `paths`; return the exit status."""
    problem = prefix_problem(prefix)
    if problem is not None:
        print(problem, file=err)
        return 2
    missing = [given for given in paths if not Path(given).exists()]
    if missing:
        for given in missing:
            print(f"error: {given}: no such file or folder", file=err)
        return 2
    status = 0
    for given in paths:
        for file, name in _files(Path(given), given):
            try:
                text = read_file(file, name)
            except Unreadable as error:
                print(error, file=err)
                status = 1
                continue
            read = read_text(text, str(file), prefix=prefix, catalog=catalog)
            for record in records(read, name):
                # ASCII: U+2028, U+2029 and U+0085 would split a record for line-based readers.
                out.write(json.dumps(record, ensure_ascii=True) + "\n")
    return status


def split_prefix(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """Take each `--prefix VALUE` / `--prefix=VALUE` out of `argv`, VALUE verbatim.

    argparse reads a VALUE such as `--` or `-x` as an option (or, in some Python versions, as a
    list); a comment prefix may be any text, so these pairs are taken before argparse sees them.
    """
    rest: list[str] = []
    values: list[str] = []
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg == "--":  # the end of options: the rest are paths
            rest.extend(argv[index:])
            break
        if arg.startswith("--prefix="):
            values.append(arg.removeprefix("--prefix="))
        elif arg == "--prefix" and index + 1 < len(argv):
            values.append(argv[index + 1])
            index += 1
        else:
            rest.append(arg)
        index += 1
    return rest, values


def prefix_problem(prefix: str) -> str | None:
    """Why `prefix` cannot be a line-comment prefix, or None when it can."""
    if not prefix:
        return "error: --prefix: the comment prefix is empty (hint: e.g. --prefix=# or --prefix=--)"
    if any(ch in TRIM for ch in prefix):
        return (
            f"error: --prefix {prefix!r}: a comment prefix cannot hold blanks or control "
            "characters, which Silver trims from every line (hint: e.g. --prefix=# or --prefix=--)"
        )
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m annotations",
        description="Read Silver-style `//::` test annotations.",
        allow_abbrev=False,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    dump_command = commands.add_parser(
        "dump",
        help="print each annotation and diagnostic as one JSON object per line",
        allow_abbrev=False,
    )
    dump_command.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    dump_command.add_argument(
        "--prefix", default="//", help="line comment prefix, any text without blanks (default //)"
    )
    dump_command.add_argument(
        "--catalog", metavar="FILE", help="a file of known output ids, one per line"
    )
    rest, prefixes = split_prefix(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(rest)
    prefix: str = prefixes[-1] if prefixes else args.prefix
    problem = prefix_problem(prefix)
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2
    catalog: frozenset[str] | None = None
    if args.catalog is not None:
        try:
            lines = Path(args.catalog).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            print(f"error: {args.catalog}: cannot read the catalog: {error}", file=sys.stderr)
            return 2
        catalog = frozenset(line.strip() for line in lines if line.strip())
    try:
        return dump(args.paths, prefix, catalog, sys.stdout, sys.stderr)
    except BrokenPipeError:  # e.g. `| head`: the reader has gone, nothing left to say
        sys.stderr.close()
        return 0
