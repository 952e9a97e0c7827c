"""Did-you-mean hints for annotations that are almost right.

Pure helpers over the forms: the closest keyword to a misspelt one, a repaired body that does
parse, and the closest catalog id to an unknown one.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Collection

from annotations.forms import KEYWORDS, Form, parse_form

_LEADING_WORD = re.compile(r"[A-Za-z]+")


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


def closest_id(text: str, catalog: Collection[str]) -> str | None:
    """The catalog id closest to `text`, if any is close."""
    return _closest_id(text, tuple(catalog))


@functools.lru_cache(maxsize=1024)
def _closest_id(text: str, catalog: tuple[str, ...]) -> str | None:
    # A file may repeat one unknown id many times; difflib is slow enough to remember it.
    close = difflib.get_close_matches(text, catalog, n=1, cutoff=0.6)
    return close[0] if close else None
