"""The command line: `python -m annotations dump PATH...`.

`dump` prints one JSON object per line for each annotation and each diagnostic of the given
files, and of every file under the given folders (recursively, in sorted order). Keys: `file`
(relative to the folder given, or the path as given), `line`, `column`, `kind` (the keyword, or
the diagnostic kind), `target` (null where none), `id` (null where none), `project`, `issue`,
and for diagnostics `message`, `hint` and `silver`. Exit status: 0, 1 when a file could not be
read (each is reported on stderr), 2 for a bad command line or a missing path.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

from annotations.annotation import Annotation, Diagnostic, ReadResult
from annotations.reader import read_text


def _files(path: Path, given: str) -> Iterator[tuple[Path, str]]:
    """The files to read for one argument, each with the name to print for it."""
    if path.is_dir():
        found = [p for p in path.rglob("*") if p.is_file()]
        for file in sorted(found, key=lambda p: p.relative_to(path).as_posix()):
            yield file, file.relative_to(path).as_posix()
    else:
        yield path, given


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
    missing = [given for given in paths if not Path(given).exists()]
    if missing:
        for given in missing:
            print(f"error: {given}: no such file or folder", file=err)
        return 2
    status = 0
    for given in paths:
        for file, name in _files(Path(given), given):
            try:
                with open(file, encoding="utf-8", newline="") as handle:
                    text = handle.read()
            except (OSError, UnicodeDecodeError) as error:
                print(f"error: {file}: cannot read as UTF-8 text: {error}", file=err)
                status = 1
                continue
            read = read_text(text, str(file), prefix=prefix, catalog=catalog)
            for record in records(read, name):
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m annotations", description="Read Silver-style `//::` test annotations."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    dump_command = commands.add_parser(
        "dump", help="print each annotation and diagnostic as one JSON object per line"
    )
    dump_command.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    dump_command.add_argument("--prefix", default="//", help="line comment prefix (default //)")
    dump_command.add_argument(
        "--catalog", metavar="FILE", help="a file of known output ids, one per line"
    )
    args = parser.parse_args(argv)
    catalog: frozenset[str] | None = None
    if args.catalog is not None:
        try:
            lines = Path(args.catalog).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            print(f"error: {args.catalog}: cannot read the catalog: {error}", file=sys.stderr)
            return 2
        catalog = frozenset(line.strip() for line in lines if line.strip())
    try:
        return dump(args.paths, args.prefix, catalog, sys.stdout, sys.stderr)
    except BrokenPipeError:  # e.g. `| head`: the reader has gone, nothing left to say
        sys.stderr.close()
        return 0
    except ValueError as error:  # a prefix the reader refuses
        print(f"error: {error}", file=sys.stderr)
        return 2
