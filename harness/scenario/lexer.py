"""A lexer for `scenario.lark` shaped for speed, built from the grammar's own terminals.

lark's contextual lexer tries each parser state's own regex and tracks positions per
character; this one scans with one alternation of every terminal the grammar defines (so the
grammar file stays the single source of the syntax) and makes the contextual decisions the
language needs from the parser state, as the contextual lexer would:
- a word is a keyword only where the parser accepts that keyword (`io` may name a device);
- where the parser accepts a BDF, the BDF terminal is tried first (its priority in the grammar);
- `==` is the check's `==` where the parser accepts that, else a comparison (`COMP_OP`).
Errors are lark's own (`UnexpectedCharacters`), raised with the position, so the parser
boundary reports them like any other.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, ClassVar

from lark import Token
from lark.exceptions import UnexpectedCharacters
from lark.lexer import Lexer, LexerState, PatternStr

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class ScenarioLexer(Lexer):
    """One-regex scanner with the contextual decisions taken from the LALR state."""

    __future_interface__: ClassVar[int] = 2  # lex(lexer_state, parser_state)

    def __init__(self, lexer_conf: Any) -> None:
        terminals = list(lexer_conf.terminals)
        self.ignore = frozenset(lexer_conf.ignore)
        self.keywords: dict[str, str] = {}
        symbols: list[tuple[str, str]] = []
        patterns: list[tuple[str, str]] = []
        self.bdf: re.Pattern[str] | None = None
        for terminal in terminals:
            pattern = terminal.pattern
            if isinstance(pattern, PatternStr) and _WORD.match(pattern.value):
                self.keywords[pattern.value] = terminal.name
            elif isinstance(pattern, PatternStr):
                symbols.append((terminal.name, re.escape(pattern.value)))
            elif terminal.name == "BDF":
                self.bdf = re.compile(pattern.to_regexp())
            else:
                patterns.append((terminal.name, pattern.to_regexp()))
        # Spaces are skipped by a prefix of the one regex, so a token costs one match. The
        # alternatives: a comment before the symbols (`//` is not two `/`), a comparison before
        # the symbols (it wins over the `==` symbol, retyped below where the parser wants
        # that), symbols longest first (`<<` before `<`), options, names and numbers first of
        # all as the most frequent (no symbol starts like them; an option before the name it
        # starts with).
        spaces = next(r for name, r in patterns if name in self.ignore and name != "COMMENT")
        symbols.sort(key=lambda item: -len(item[1]))
        first = ("_NL", "OPTION", "NAME", "INT", *sorted(self.ignore - {"WS"}), "COMP_OP")
        ordered = [p for name in first for p in patterns if p[0] == name] + symbols
        ordered += [p for p in patterns if p[0] not in first and p[0] not in self.ignore]
        self.spaces = re.compile(f"(?:{spaces})?")
        self.scanner = re.compile(
            f"(?:{spaces})?(?:" + "|".join(f"(?P<{name}>{regex})" for name, regex in ordered) + ")"
        )
        self.equals = next((name for name, regex in symbols if regex == re.escape("==")), "")
        self.allowed = frozenset(t.name for t in terminals) - self.ignore

    def lex(self, lexer_state: LexerState, parser_state: Any) -> Iterator[Token]:
        """Tokens of the text, each typed for the state the parser is in when it is read."""
        text = lexer_state.text.text
        end = len(text)
        states = parser_state.parse_conf.states
        stack = parser_state.state_stack
        match = self.scanner.match
        keywords = self.keywords
        ignore = self.ignore
        bdf = self.bdf
        equals = self.equals
        new = str.__new__
        pos = 0
        line = 1
        line_start = 0
        while pos < end:
            found = match(text, pos)
            if found is None:
                pos = self.spaces.match(text, pos).end()  # type: ignore[union-attr]
                if pos == end:
                    break
                # A BDF may start with a character no other token starts with (`:00.0`).
                wide = bdf.match(text, pos) if bdf and "BDF" in states[stack[-1]] else None
                if wide is not None:
                    yield Token("BDF", wide.group(), pos, line, pos - line_start + 1)
                    pos = wide.end()
                    continue
                raise UnexpectedCharacters(  # type: ignore[no-untyped-call]
                    text,
                    pos,
                    line,
                    pos - line_start + 1,
                    allowed=set(states[stack[-1]]) or self.allowed,
                    state=parser_state,
                )
            kind: str = found.lastgroup  # type: ignore[assignment]  # one group always matches
            pos, after = found.span(kind)
            if kind in ignore:
                pos = after
                continue
            value = text[pos:after]
            accepts = states[stack[-1]]
            if bdf is not None and "BDF" in accepts:
                wide = bdf.match(text, pos)
                if wide is not None:
                    kind, value = "BDF", wide.group()
            elif kind == "NAME":
                keyword = keywords.get(value)
                if keyword is not None and keyword in accepts:
                    kind = keyword
            elif kind == "COMP_OP" and value == "==" and equals in accepts and kind not in accepts:
                kind = equals
            # Token's own constructor is two Python calls deep; filling its slots directly
            # builds the same token (all eight slots set) at about a quarter of the cost.
            token = new(Token, value)
            token.type = kind
            token.value = value
            token.start_pos = pos
            token.line = line
            token.column = pos - line_start + 1
            token.end_line = token.end_column = token.end_pos = None
            yield token
            pos = after if kind != "BDF" else pos + len(value)
            if kind == "_NL":
                line += value.count("\n")
                line_start = text.rfind("\n", 0, pos) + 1
