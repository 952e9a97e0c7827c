"""Why an annotation body does not parse: where it goes wrong, what is wrong, how to fix it.

`diagnose(body, prefix, error)` looks at a body that `parse_form` rejected for one slip at a
time, and returns a `Problem`: the 1-based column within the body where the slip is, a message
and a hint. The slips: blanks after `//::`, an unknown keyword, a missing `(`, text after the
closing parenthesis (a trailing comment), the comma and space before an issue link, and an
issue link that is not `/PROJECT/issue/N/` (a URL, no leading `/`, `issues`, no number, no
closing `/`). What matches none of them gets the grammar's column and the form's syntax.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from annotations.annotation import Kind
from annotations.forms import KEYWORDS, SYNTAX, Form, FormError, parse_form, shorten
from annotations.hints import closest_keyword, repair
from annotations.kinds import KNOWN_BUG_KINDS, LINKED_KINDS

_LEADING_WORD = re.compile(r"[A-Za-z]+")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_FORMS = ", ".join(f"`{syntax}`" for syntax in SYNTAX.values())
_KINDS = {kind.value: kind for kind in Kind}
_LINK_ONLY = LINKED_KINDS - KNOWN_BUG_KINDS
# How many closing parentheses, from the right, may end the form before trailing text.
_CLOSINGS_TRIED = 4
# Bodies up to this length are memoised; longer ones are no slip anyone repeats.
_MEMO_LENGTH = 512
# A "did you mean" repeats the whole body; past this length it would not help a reader.
_SUGGESTION_LENGTH = 200


@dataclass(frozen=True, slots=True)
class Problem:
    """A slip in a body: its 1-based column within the body, a message and a hint."""

    column: int
    message: str
    hint: str


def diagnose(body: str, prefix: str, error: FormError) -> Problem:
    """Locate and explain the slip that makes `body` (the text after `//:: `) no annotation."""
    if len(body) <= _MEMO_LENGTH:
        return _memoised(body, prefix, error)
    return _diagnose(body, prefix, error)


@functools.lru_cache(maxsize=4096)
def _memoised(body: str, prefix: str, error: FormError) -> Problem:
    # A file may repeat one broken annotation many times; the did-you-mean search is slow.
    return _diagnose(body, prefix, error)


def _diagnose(body: str, prefix: str, error: FormError) -> Problem:
    marker = prefix + "::"
    if error.hint is not None:
        return Problem(error.column, error.message, error.hint)
    if body[:1].isspace():
        fixed = repair(body)
        suggestion = f"; did you mean `{marker} {fixed}`?" if fixed else ""
        return Problem(
            1,
            f"more than one blank after `{marker}`",
            f"write exactly one space after `{marker}`{suggestion}",
        )
    found = _LEADING_WORD.match(body)
    word = found.group() if found else ""
    if word not in KEYWORDS:
        return _unknown_keyword(body, word, marker)
    kind = _KINDS[word]
    form = f"the form is `{marker} {SYNTAX[kind]}`"
    trailing = _trailing(body, word, prefix, marker)
    if trailing is not None:
        return trailing
    if kind is Kind.IGNORE_OTHERS:
        return Problem(error.column, error.message, form)
    if not body.startswith("(", len(word)):
        return Problem(len(word) + 1, f"`{word}` must be followed by `(`", form)
    if not body.endswith(")"):
        return Problem(len(body) + 1, "the annotation does not end with `)`", form)
    inner_at = len(word) + 1
    inner = body[inner_at:-1]
    problem: Problem | None = None
    if kind in KNOWN_BUG_KINDS:
        problem = _separator(body, inner, inner_at, word, marker)
    elif kind in _LINK_ONLY:
        problem = _link(body, inner, inner_at, marker)
    return problem or Problem(error.column, error.message, form)


def _suggest(body: str, marker: str) -> str | None:
    """`did you mean ...?` for a repaired body that parses and is short enough to show."""
    if len(body) > _SUGGESTION_LENGTH or not isinstance(parse_form(body), Form):
        return None
    return f"did you mean `{marker} {body}`?"


def _unknown_keyword(body: str, word: str, marker: str) -> Problem:
    if not word:
        return Problem(
            1, "an annotation starts with its keyword", f"an annotation is one of {_FORMS}"
        )
    keyword = closest_keyword(word)
    fixed = repair(body)
    if fixed is not None and keyword is not None:
        why = " (keywords are case-sensitive)" if keyword.lower() == word.lower() else ""
        return Problem(1, f"unknown keyword `{word}`", f"did you mean `{marker} {fixed}`?{why}")
    if keyword is not None:
        return Problem(1, f"unknown keyword `{word}`", f"did you mean `{keyword}`?")
    return Problem(1, f"unknown keyword `{word}`", f"an annotation is one of {_FORMS}")


def _trailing(body: str, word: str, prefix: str, marker: str) -> Problem | None:
    """Text after a complete form, such as a `// comment` after the closing parenthesis."""
    if word == Kind.IGNORE_OTHERS.value:
        end = len(word) if len(body) > len(word) else None
    else:
        end = None
        closing = len(body)
        for _ in range(_CLOSINGS_TRIED):
            closing = body.rfind(")", 0, closing)
            if closing < 0:
                break
            if closing + 1 < len(body) and isinstance(parse_form(body[: closing + 1]), Form):
                end = closing + 1
                break
    if end is None:
        return None
    rest = body[end:]
    column = end + 1 + len(rest) - len(rest.lstrip())
    shown = shorten(rest.strip(), 60)
    if rest.lstrip().startswith(prefix):
        return Problem(
            column,
            f"the comment `{shown}` follows the annotation on its line",
            f"an annotation line ends with the annotation: put the comment on a `{prefix}` line "
            f"of its own above it, and keep `{marker} {shorten(body[:end], 80)}` alone on its line",
        )
    if word == Kind.IGNORE_OTHERS.value and rest.startswith("("):
        return Problem(column, "IgnoreOthers takes no arguments", f"write `{marker} IgnoreOthers`")
    return Problem(
        column,
        f"unexpected `{shown}` after the annotation",
        "an annotation line ends with the annotation's closing parenthesis",
    )


def _separator(body: str, inner: str, at: int, word: str, marker: str) -> Problem | None:
    """The `, ` between an id and its issue link, then the link itself."""
    comma = inner.rfind(", /")
    if comma < 0:
        comma = inner.rfind(",")
    if comma < 0:
        start = _link_start(inner)
        if start is None:
            return Problem(
                len(body),
                f"{word} needs an issue link after its id",
                f"write `{marker} {word}({shorten(inner, 60)}, /PROJECT/issue/N/)`, naming the "
                "issue that records the known bug",
            )
        output_id = inner[:start].rstrip(" ;")
        separator = inner[len(output_id) : start]
        found = f" (found `{separator}`)" if separator else ""
        fixed = _suggest(f"{body[:at]}{output_id}, {inner[start:]})", marker)
        return Problem(
            at + len(output_id) + 1,
            f"the id and the issue link must be separated by `, `{found}",
            fixed or "write `, ` (a comma and one space) between the id and the issue link",
        )
    after = inner[comma + 1 :]
    spaces = len(after) - len(after.lstrip(" "))
    if spaces != 1:
        column = at + comma + 2 + min(spaces, 1)
        fixed = _suggest(body[: at + comma] + ", " + after.lstrip(" ") + ")", marker)
        return Problem(
            column,
            "the comma before the issue link must be followed by exactly one space",
            fixed or "write `, ` (a comma and one space) before the issue link",
        )
    return _link(body, after[1:], at + comma + 2, marker)


def _link_start(inner: str) -> int | None:
    """Where an issue link seems to start in `inner` (a URL or a `/PROJECT/...`), if anywhere."""
    url = _URL.search(inner)
    slash = inner.find("/")
    starts = [index for index in (url.start() if url else -1, slash) if index > 0]
    return min(starts) if starts else None


def _link(body: str, link: str, at: int, marker: str) -> Problem | None:
    """What is wrong with the issue link `link`, which starts at index `at` of `body`."""

    def fix(new_link: str) -> str | None:
        return _suggest(body[:at] + new_link + body[at + len(link) :], marker)

    form = "an issue link is `/PROJECT/issue/N/`"
    if _URL.match(link):
        path = link.removesuffix("/")
        number = path[len(path.rstrip("0123456789")) :]
        example = f"/PROJECT/issue/{shorten(number, 20) if number else 'N'}/"
        return Problem(
            at + 1,
            f"{form}, not a URL",
            f"write `{example}`, PROJECT naming the project the issue is filed against",
        )
    if not link.startswith("/"):
        return Problem(
            at + 1, "an issue link starts with `/`", fix("/" + link) or f"{form}, starting with `/`"
        )
    issue = link.rfind("/issue/")
    if issue < 0:
        plural = link.rfind("/issues/")
        if plural >= 0:
            fixed = fix(link[:plural] + "/issue/" + link[plural + len("/issues/") :])
            return Problem(
                at + plural + 2,
                f"{form}, with `issue` singular, not `issues`",
                fixed or "write `/issue/` in place of `/issues/`",
            )
        return Problem(at + 1, f"{form}: `/issue/` is missing", f"{form}, e.g. `/model/issue/7/`")
    tail_at = issue + len("/issue/")
    tail = link[tail_at:]
    digits = tail[: len(tail) - len(tail.lstrip("0123456789"))]
    column = at + tail_at + len(digits) + 1
    if not digits:
        what = tail.split("/", 1)[0]
        message = (
            f"the issue number is missing: {form}"
            if not what
            else f"the issue number must be decimal digits, not `{shorten(what, 30)}`"
        )
        return Problem(column, message, f"{form}, N being the issue's number")
    rest = tail[len(digits) :]
    if not rest:
        return Problem(
            column, "an issue link ends with `/` after its number", fix(link + "/") or form
        )
    if rest[0] != "/":
        written = digits + rest.split("/", 1)[0]
        return Problem(
            column,
            f"the issue number must be decimal digits only, not `{shorten(written, 30)}`",
            f"{form}, N being the issue's number",
        )
    if rest != "/":
        extra = rest[1:]
        message = (
            "blanks between the issue link and `)`"
            if not extra.strip()
            else f"unexpected `{shorten(extra, 30)}` after the issue link"
        )
        return Problem(column + 1, message, fix(link[: tail_at + len(digits) + 1]) or form)
    return None
