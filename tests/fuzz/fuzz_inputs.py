"""Hostile inputs for the robustness campaign: corpus files mutated, annotation texts, `-D`
entries and issue links, as Hypothesis strategies.

Mutations start from real files (the scenario corpus, and for annotations also Silver's
corpus vendored under tests/data/silver) and apply one to four operators, each of which a
campaign once found worth trying: byte flips, inserted bytes (NUL, bytes that are not UTF-8,
line terminators Java knows and Python does not), deleted or repeated ranges, lines spliced in
from another file, literals of thousands of digits, CR and CRLF line ends, deep nesting, very
long lines, look-alike characters (Cyrillic letters, fullwidth digits, non-breaking spaces),
and annotation lines of every form. Each mutated input keeps the list of operators applied, so
a failure prints what was done to which file.

Every strategy draws a handful of choices whatever the size of what it builds (a literal of
5,000 digits is one draw), so that Hypothesis shrinks them quickly.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hypothesis import strategies as st

from annotations.annotation import IssueRef, Output
from harness.discovery import group
from harness.options import KEYS
from harness.vfio.catalog import catalog

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "scenarios"
SILVER = ROOT / "tests" / "data" / "silver" / "resources"


@dataclass(frozen=True, slots=True)
class CorpusScenario:
    """One scenario of the corpus: its files' paths relative to the corpus, and their bytes."""

    name: str
    files: tuple[tuple[str, bytes], ...]


@functools.cache
def corpus_scenarios() -> tuple[CorpusScenario, ...]:
    """The scenario corpus, one entry per scenario (a `_fileN` group is one), as collected."""
    return tuple(
        CorpusScenario(
            scenario.name,
            tuple(
                (relpath, path.read_bytes())
                for relpath, path in zip(scenario.file_relpaths, scenario.files, strict=True)
            ),
        )
        for scenario in group(CORPUS.rglob("*.vfio"), CORPUS)
    )


@functools.cache
def annotated_texts() -> tuple[tuple[str, bytes], ...]:
    """Files holding `//::` annotations: the scenario corpus and Silver's test corpus."""
    found = [(relpath, data) for s in corpus_scenarios() for relpath, data in s.files]
    if SILVER.is_dir():
        for path in sorted(SILVER.rglob("*")):
            if path.is_file():
                data = path.read_bytes()
                if b"//::" in data:
                    found.append((path.relative_to(SILVER).as_posix(), data))
    return tuple(relpath_data for relpath_data in found if b"//::" in relpath_data[1])


# ---------------------------------------------------------------- the pieces mutations insert

# Bytes that are not UTF-8, control characters, and line terminators of other languages
# (Silver, in Java, also ends lines at NEL, LS and PS; Python's str.splitlines at more).
ODD_BYTES = (
    b"\x00",
    b"\xff",
    b"\xfe\xff",
    b"\xc3",  # a two-byte sequence cut short
    b"\xc0\xaf",  # an overlong `/`
    b"\xed\xa0\x80",  # a UTF-16 surrogate
    b"\xf4\x90\x80\x80",  # above U+10FFFF
    b"\xef\xbb\xbf",  # a byte order mark, in the middle of the text
    b"\r",
    b"\r\n",
    b"\n",
    b"\t",
    b"\x0b",
    b"\x0c",
    b"\x1b[31m",
    b"\x1c",
    b"\x85",
    b"\xc2\x85",  # NEL
    b"\xe2\x80\xa8",  # LINE SEPARATOR
    b"\xe2\x80\xa9",  # PARAGRAPH SEPARATOR
    b"\xe2\x80\xae",  # RIGHT-TO-LEFT OVERRIDE
    b"\xe2\x80\x8b",  # ZERO WIDTH SPACE
)

# ASCII characters and characters that look like them.
LOOK_ALIKES: dict[str, tuple[str, ...]] = {
    "a": ("\u0430",),  # Cyrillic а
    "c": ("\u0441",),
    "e": ("\u0435",),
    "i": ("\u0456",),
    "o": ("\u043e", "\u03bf"),  # Cyrillic о, Greek ο
    "p": ("\u0440",),
    "x": ("\u0445", "\u00d7"),  # Cyrillic х, multiplication sign
    "K": ("\u212a", "\u041a"),  # KELVIN SIGN, Cyrillic К
    "M": ("\u041c",),
    "G": ("\u0262",),
    "0": ("\uff10", "\u0660", "\u041e"),  # fullwidth, Arabic-Indic, Cyrillic О
    "1": ("\uff11", "\u0661", "\u217c"),
    "4": ("\uff14", "\u0664"),
    "9": ("\uff19",),
    " ": ("\u00a0", "\u2007", "\u202f", "\u3000", "\u2003"),  # non-breaking and wide spaces
    "-": ("\u2212", "\u2010", "\u2013"),
    "=": ("\uff1d", "\u2550"),
    "(": ("\uff08",),
    ")": ("\uff09",),
    "/": ("\u2215", "\uff0f", "\u2044"),
    ":": ("\uff1a", "\u2236"),
    ".": ("\uff0e", "\u2024"),
    "_": ("\uff3f",),
    "{": ("\uff5b",),
    "}": ("\uff5d",),
}
_LOOK_ALIKE_BYTES = {ord(ascii_): alikes for ascii_, alikes in LOOK_ALIKES.items()}

# Literals past every limit: decimal and hex beyond Python's 4,300-digit conversion limit,
# suffixed, binary, and ones just past the literal length limit.
HUGE_LITERALS = (
    ("9", "", 4301),
    ("9", "K", 4301),
    ("f", "0x", 4301),
    ("1", "0b", 300),
    ("1", "", 101),
    ("7", "", 20_000),
)

_NUMBER = re.compile(rb"\b(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|[0-9][0-9_]*[KMGT]?)\b")


def _nested(depth: int) -> tuple[bytes, ...]:
    """Lines nesting `depth` deep in each way the language nests (and one it does not)."""
    return (
        b"assert " + b"(" * depth + b"1" + b")" * depth + b"\n",
        b"assert " + b"(" * depth + b"1\n",  # never closed
        b"assert " + b"- " * depth + b"1\n",
        b"assert " + b"not " * depth + b"1\n",
        b"assert " + b"c0.mapped_at(" * depth + b"0" + b")" * depth + b"\n",
        b"for v in 0..1 {\n" * depth + b"assert v < 2\n" + b"}\n" * depth,
        b"for v in 0..1 {\n" * depth,  # never closed
        b"device d 01:00.0 {\n" * depth,
        b"{" * depth + b"\n",
        b"//:: ExpectedOutput(" + b"(" * depth + b"a" + b")" * depth + b")\n",
    )


# ---------------------------------------------------------------- annotation lines

_IDS = tuple(sorted(catalog()))
_KINDS_WITH_ID = ("ExpectedOutput", "ExpectedFileOutput")
_KINDS_WITH_LINK = (
    "UnexpectedOutput",
    "MissingOutput",
    "UnexpectedFileOutput",
    "MissingFileOutput",
)
_KINDS_LINK_ONLY = ("IgnoreFile", "IgnoreFileList")

ids = st.one_of(
    st.sampled_from(_IDS),
    st.sampled_from(("", ":", "a:b:c", "dma", "dma.map.failed:", "x)", "a, /b/issue/1/")),
    st.text(st.characters(codec="utf-8", exclude_characters="\n"), max_size=12),
)
projects = st.one_of(
    st.sampled_from(("model", "vfio", "kernel", "Model", "x-model-y", "", "a/b", "{issue}")),
    st.text(st.characters(codec="utf-8", exclude_characters="\n\r"), max_size=8),
)
issue_numbers = st.one_of(
    st.integers(0, 2**31 - 1).map(str),
    st.sampled_from(("2147483648", "007", "0", "1" * 4301, "9" * 20, "")),
)


@st.composite
def links(draw: st.DrawFn) -> str:
    """An issue link, well formed or slipped (a URL, `issues`, no closing slash)."""
    project, number = draw(projects), draw(issue_numbers)
    shape = draw(st.sampled_from(("/{p}/issue/{n}/", "/{p}/issues/{n}/", "/{p}/issue/{n}",
                                  "https://x.example/{p}/issue/{n}", "{p}#{n}")))
    return shape.format(p=project, n=number)


@st.composite
def annotation_lines(draw: st.DrawFn) -> bytes:
    """One `//::` line of any form, usually well formed, sometimes slightly off."""
    kind = draw(st.sampled_from(
        (*_KINDS_WITH_ID, *_KINDS_WITH_LINK, *_KINDS_LINK_ONLY, "IgnoreOthers", "Expected",
         "expectedOutput")
    ))
    if kind in _KINDS_WITH_LINK:
        separator = draw(st.sampled_from((", ", ",", ",  ", "; ")))
        body = f"{kind}({draw(ids)}{separator}{draw(links())})"
    elif kind in _KINDS_LINK_ONLY:
        body = f"{kind}({draw(links())})"
    elif kind == "IgnoreOthers":
        body = kind
    else:
        body = f"{kind}({draw(ids)})"
    lead = draw(st.sampled_from(("//:: ", "//::", "//::  ", "  //:: ", "// :: ", "//:: ")))
    tail = draw(st.sampled_from(("", "", " ", " // why", "\r")))
    return (lead + body + tail + "\n").encode("utf-8", "surrogatepass")


# ---------------------------------------------------------------- mutations


@dataclass(frozen=True, slots=True)
class Mutated:
    """A file's bytes after mutations, and what was done (for a readable failing example)."""

    relpath: str
    data: bytes
    steps: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Scale:
    """The sizes the heavier mutations choose from: a test's budget is seconds, a campaign's
    minutes."""

    repeats: tuple[int, ...]  # how many times a line is repeated
    depths: tuple[int, ...]  # how deep a nesting goes
    lengths: tuple[int, ...]  # how long a long line is


SMALL = Scale(repeats=(2, 3, 50), depths=(33, 100, 1_000), lengths=(1_000, 10_000))
LARGE = Scale(
    repeats=(2, 3, 50, 2_000), depths=(33, 100, 1_000, 100_000), lengths=(1_000, 100_000)
)

Mutation = Callable[[st.DrawFn, bytes, Scale], tuple[bytes, str]]


def _position(draw: st.DrawFn, data: bytes) -> int:
    return draw(st.integers(0, len(data)))


def _line_start(draw: st.DrawFn, data: bytes) -> int:
    """The offset of the start of a line of `data` (or its end)."""
    starts = [0, *(m.end() for m in re.finditer(rb"\n", data))]
    return draw(st.sampled_from(starts))


def flip(draw: st.DrawFn, data: bytes, scale: Scale) -> tuple[bytes, str]:
    """Flip one bit of one byte."""
    if not data:
        return data, "flip: empty"
    at, bit = draw(st.integers(0, len(data) - 1)), draw(st.integers(0, 7))
    return data[:at] + bytes([data[at] ^ (1 << bit)]) + data[at + 1 :], f"flip bit {bit} at {at}"


def insert_odd(draw: st.DrawFn, data: bytes, scale: Scale) -> tuple[bytes, str]:
    """Insert a NUL, bytes that are not UTF-8, a control character or a line terminator."""
    piece = draw(st.one_of(st.sampled_from(ODD_BYTES), st.binary(min_size=1, max_size=4)))
    at = _position(draw, data)
    return data[:at] + piece + data[at:], f"insert {piece!r} at {at}"


def _short(piece: bytes, most: int = 120) -> str:
    """`piece` for a description: its repr, cut in the middle when long."""
    shown = repr(piece)
    return shown if len(shown) <= most else f"{shown[: most // 2]}…{shown[-most // 2 :]}"


def delete(draw: st.DrawFn, data: bytes, scale: Scale) -> tuple[bytes, str]:
    """Delete a range of bytes."""
    at = _position(draw, data)
    length = draw(st.integers(1, 64))
    return data[:at] + data[at + length :], f"delete {length} at {at}"


def truncate(draw: st.DrawFn, data: bytes, scale: Scale) -> tuple[bytes, str]:
    """Cut the file short."""
    at = _position(draw, data)
    return data[:at], f"truncate at {at}"


def repeat_line(draw: st.DrawFn, data: bytes, scale: Scale) -> tuple[bytes, str]:
    """Repeat one line many times."""
    start = _line_start(draw, data)
    end = data.find(b"\n", start)
    line = data[start:] if end < 0 else data[start : end + 1]
    times = draw(st.sampled_from(scale.repeats))
    return data[:start] + line * times + data[start:], f"repeat line at {start} x{times}"


def splice(draw: st.DrawFn, data: bytes, scale: Scale) -> tuple[bytes, str]:
    """Insert (or put in place of one) a run of lines from another file of the corpus."""
    relpath, other = draw(st.sampled_from(annotated_texts()))
    lines = other.splitlines(keepends=True) or [b"\n"]
    first = draw(st.integers(0, len(lines) - 1))
    count = draw(st.integers(1, 8))
    piece = b"".join(lines[first : first + count])
    at = _line_start(draw, data)
    replace = draw(st.booleans())
    end = data.find(b"\n", at) + 1 if replace and data.find(b"\n", at) >= 0 else at
    verb = "replace line" if end != at else "insert"
    return data[:at] + piece + data[end:], f"{verb} at {at}: lines {first}+{count} of {relpath}"


def huge_literal(draw: st.DrawFn, data: bytes, scale: Scale) -> tuple[bytes, str]:
    """Put a literal of hundreds or thousands of digits in place of a number (or anywhere)."""
    digit, affix, count = draw(st.sampled_from(HUGE_LITERALS))
    literal = (affix + digit * count if affix in ("0x", "0b") else digit * count + affix).encode()
    numbers = list(_NUMBER.finditer(data))
    if numbers and draw(st.booleans()):
        found = draw(st.sampled_from(numbers))
        where = f"number at {found.start()}"
        data = data[: found.start()] + literal + data[found.end() :]
    else:
        at = _position(draw, data)
        where = f"at {at}"
        data = data[:at] + literal + data[at:]
    return data, f"literal {literal[:12]!r}… ({len(literal)} characters) {where}"


def line_ends(draw: st.DrawFn, data: bytes, scale: Scale) -> tuple[bytes, str]:
    """CRLF or CR line ends (all, or one line), or no final newline."""
    how = draw(st.sampled_from(("crlf", "cr", "one-crlf", "one-cr", "no-final")))
    if how == "crlf":
        return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"), how
    if how == "cr":
        return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r"), how
    if how == "no-final":
        return data.rstrip(b"\n"), how
    at = data.find(b"\n", _line_start(draw, data))
    if at < 0:
        return data, how
    return data[:at] + (b"\r\n" if how == "one-crlf" else b"\r") + data[at + 1 :], f"{how} {at}"


def nesting(draw: st.DrawFn, data: bytes, scale: Scale) -> tuple[bytes, str]:
    """Insert a line nesting parentheses, prefix operators, loops or blocks deeply."""
    depth = draw(st.sampled_from(scale.depths))
    shapes = _nested(depth)
    which = draw(st.integers(0, len(shapes) - 1))
    at = _line_start(draw, data)
    return data[:at] + shapes[which] + data[at:], f"nesting shape {which} depth {depth} at {at}"


def long_line(draw: st.DrawFn, data: bytes, scale: Scale) -> tuple[bytes, str]:
    """Insert a very long line (slashes, spaces, a word, an annotation's prefix)."""
    unit = draw(st.sampled_from((b"/", b" ", b"a", b"//:: ", b", /", b"0")))
    count = draw(st.sampled_from(scale.lengths))
    at = _line_start(draw, data)
    return data[:at] + unit * count + b"\n" + data[at:], f"long line {unit!r}x{count} at {at}"


def look_alike(draw: st.DrawFn, data: bytes, scale: Scale) -> tuple[bytes, str]:
    """Replace an ASCII character (one occurrence, or all) by a character that looks like it."""
    candidates = [i for i, byte in enumerate(data) if byte in _LOOK_ALIKE_BYTES]
    if not candidates:
        return data, "look-alike: none"
    at = draw(st.sampled_from(candidates))
    original = data[at]
    alike = draw(st.sampled_from(_LOOK_ALIKE_BYTES[original])).encode("utf-8")
    if draw(st.booleans()):
        return data.replace(bytes([original]), alike), f"every {chr(original)!r} -> {alike!r}"
    return data[:at] + alike + data[at + 1 :], f"{chr(original)!r} at {at} -> {alike!r}"


def annotate(draw: st.DrawFn, data: bytes, scale: Scale) -> tuple[bytes, str]:
    """Insert one or more annotation lines of any form."""
    lines = draw(st.lists(annotation_lines(), min_size=1, max_size=3))
    at = _line_start(draw, data)
    piece = b"".join(lines)
    return data[:at] + piece + data[at:], f"annotate at {at}: {_short(piece)}"


MUTATIONS: tuple[Mutation, ...] = (
    flip,
    insert_odd,
    delete,
    truncate,
    repeat_line,
    splice,
    huge_literal,
    line_ends,
    nesting,
    long_line,
    look_alike,
    annotate,
)


@st.composite
def mutated(
    draw: st.DrawFn, relpath: str, data: bytes, scale: Scale = SMALL, most: int = 4
) -> Mutated:
    """`data` after one to `most` mutations."""
    steps = []
    for _ in range(draw(st.integers(1, most))):
        mutation = draw(st.sampled_from(MUTATIONS))
        data, step = mutation(draw, data, scale)
        steps.append(f"{mutation.__name__}: {step}")
    return Mutated(relpath, data, tuple(steps))


@dataclass(frozen=True, slots=True)
class MutatedScenario:
    """A corpus scenario with one of its files mutated."""

    name: str
    files: tuple[tuple[str, bytes], ...]
    steps: tuple[str, ...]


@st.composite
def mutated_scenarios(draw: st.DrawFn, scale: Scale = SMALL) -> MutatedScenario:
    """A scenario of the corpus (a group included) with one file mutated."""
    scenario = draw(st.sampled_from(corpus_scenarios()))
    index = draw(st.integers(0, len(scenario.files) - 1))
    relpath, data = scenario.files[index]
    change = draw(mutated(relpath, data, scale))
    files = list(scenario.files)
    files[index] = (relpath, change.data)
    return MutatedScenario(scenario.name, tuple(files), (relpath, *change.steps))


@st.composite
def mutated_annotated_texts(draw: st.DrawFn, scale: Scale = SMALL) -> Mutated:
    """A file holding annotations (scenario or Silver corpus), mutated."""
    relpath, data = draw(st.sampled_from(annotated_texts()))
    return draw(mutated(relpath, data, scale))


@st.composite
def outputs_for(draw: st.DrawFn, file: str, text: str) -> tuple[Output, ...]:
    """Outputs a run of `text` could give: lines in (and just past) the file, ids its
    annotations name, catalog ids and others, passes of lines that run more than once."""
    lines = text.count("\n") + 1
    named = re.findall(r"Output\(([^,)\n]*)", text)
    output_ids = st.one_of(st.sampled_from(named), ids) if named else ids
    line = st.one_of(st.none(), st.integers(1, lines + 1))
    single = st.builds(
        Output, st.just(file), line, output_ids, st.text(max_size=10), run=st.integers(0, 3)
    )
    return tuple(draw(st.lists(single, max_size=8)))


# ---------------------------------------------------------------- -D entries

_KEY = st.one_of(
    st.sampled_from(KEYS),
    st.sampled_from(KEYS).map(str.upper),
    st.sampled_from(KEYS).map(lambda key: f" {key} "),
    st.sampled_from(("", "vfio:", "vfio:pgsize ", "kernel", "issueurl", "includefiles")),
    st.text(max_size=12),
)
_REGEX_PIECES = (
    ".*", r"\.vfio", "(", ")", "[", "]", "[[a]", "(a+)+", "{2}", "{9999999999}", "?", "*",
    "+", "|", "\\", "(?P<x>", "(?=", "(?i)", "(?#", "\\1", "a", "dma/", "^", "$", "\\p{L}",
)
_TEMPLATE_PIECES = (
    "https://x.example/", "{issue}", "{project}", "{", "}", "{{", "}}", "{issue:d}",
    "{issue!r}", "{project:>2000000000}", "{issue:{x}}", "{0}", "{}", "{issue.real}",
    "{issue[0]}", "{number}", "/", "%s", "{issue:s}", "\u00e9",
)
_VALUE_PIECES = (
    "", "0", "1", "4K", "64K", "1G", "2G", "0x1000", "0b1", "1_000", "-1", "0x", "4k", "1e3",
    "nan", "inf", "-0", "true", "false", "TRUE", "model", "kernel", "exec:", "exec:python -m x",
    "exec:'", "a.b:C", "sys:exit", "skip", "fail", "v1", "v2", "x86", "none", "6.1", "virtio",
    " ", "\x00", "\uff14K", "\u00a0", "9" * 4301, "0x" + "f" * 200, "(" * 600,
)


@st.composite
def define_values(draw: st.DrawFn) -> str:
    """A value for a `-D` key: pieces of regexes, templates, numbers and words, or any text."""
    pieces = draw(st.sampled_from((_REGEX_PIECES, _TEMPLATE_PIECES, _VALUE_PIECES)))
    built = "".join(draw(st.lists(st.sampled_from(pieces), max_size=6)))
    return draw(st.one_of(st.just(built), st.text(max_size=20)))


@st.composite
def define_entries(draw: st.DrawFn) -> tuple[str, ...]:
    """`-D` entries as given on the command line: `key=value`, or text without `=`."""
    entry = st.one_of(
        st.builds(lambda key, value: f"{key}={value}", _KEY, define_values()),
        st.text(max_size=12),
    )
    return tuple(draw(st.lists(entry, max_size=4)))


issue_refs = st.builds(IssueRef, projects, st.integers(0, 2**31 - 1))
