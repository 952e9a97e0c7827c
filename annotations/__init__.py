"""A language-agnostic engine for Silver-style `//::` test annotations.

Public API: `read_text`, `read_files` (text → annotations and diagnostics), `match` (outputs +
annotations + projects in force → `Outcome`), and the value types re-exported here.
"""
