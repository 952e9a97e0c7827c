"""Did-you-mean hints for annotations that are almost right.

Pure helpers over the forms: the closest keyword to a misspelt one, a repaired body that does
parse, and the closest catalog id to an unknown one.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection

from annotations.forms import KEYWORDS, SYNTAX, Form, parse_form

_LEADING_WORD = re.compile(r"[A-Za-z]+")
_FORMS = ", ".join(f"`{syntax}`" for syntax in SYNTAX.values())


def closest_keyword(word: str) -> str | None:
    """The keyword `word` most likely means: same letters in another case, else a close spelling."""
    for keyword in KEYWORDS:
        if keyword.lower() == word.lower():
            return keyword
    lowered = {keyword.lower(): keyword for keyword in KEYWORDS}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.75)
    return lowered[close[0]] if close else None


def looks_like_keyword(text: str) -> bool:
    """True when `text` starts with a word that is (nearly) an annotation keyword."""
    match = _LEADING_WORD.match(text)
    return match is not None and closest_keyword(match.group()) is not None


def repair(body: str) -> str | None:
    """A body close to `body` that parses: outer blanks dropped, keyword case or spelling fixed."""
    candidate = body.strip()
    if isinstance(parse_form(candidate), Form):
        return candidate
    match = _LEADING_WORD.match(candidate)
    if match is None:
        return None
    keyword = closest_keyword(match.group())
    if keyword is None:
        return None
    fixed = keyword + candidate[match.end() :]
    return fixed if isinstance(parse_form(fixed), Form) else None


def body_hint(body: str, prefix: str) -> str:
    """The hint for a `//:: ` line whose body does not parse."""
    if body[:1].isspace():
        fixed = repair(body)
        suggestion = f"; did you mean `{prefix}:: {fixed}`?" if fixed else ""
        return f"write exactly one space after `{prefix}::`{suggestion}"
    match = _LEADING_WORD.match(body)
    word = match.group() if match else ""
    keyword = closest_keyword(word) if word else None
    if word in KEYWORDS:
        syntax = next(s for s in SYNTAX.values() if s.split("(")[0] == word)
        return f"the form is `{prefix}:: {syntax}` (exactly one space after the comma)"
    fixed = repair(body)
    if fixed is not None:
        return f"did you mean `{prefix}:: {fixed}`? (keywords are case-sensitive)"
    if keyword is not None:
        return f"unknown keyword `{word}`; did you mean `{keyword}`?"
    if word:
        return f"unknown keyword `{word}`; an annotation is one of {_FORMS}"
    return f"an annotation is one of {_FORMS}"


def closest_id(text: str, catalog: Collection[str]) -> str | None:
    """The catalog id closest to `text`, if any is close."""
    close = difflib.get_close_matches(text, list(catalog), n=1, cutoff=0.6)
    return close[0] if close else None
