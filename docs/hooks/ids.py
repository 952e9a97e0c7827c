"""MkDocs hook: the error-id page (ids.md) gets its tables from `harness.vfio.catalog`.

The page holds the marker below where the tables go, so the catalog is written once, in the
code, and the page can never disagree with `python -m harness ids`. Loaded through `hooks:` in
mkdocs.yml; MkDocs calls `on_page_markdown` for every page and only ids.md is changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from harness.vfio.catalog import ErrorId, KernelErrno
from harness.vfio.linux_errno import Errno

MARKER = "<!-- catalog: generated from harness/vfio/catalog.py -->"
PAGE = "ids.md"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def id_rows(ids: Iterable[ErrorId]) -> list[str]:
    """Markdown table rows (id, errno, meaning) for catalog ids."""
    rows = ["| id | errno | when |", "|---|---|---|"]
    for error_id in ids:
        errno = "" if error_id.errno is None else f"`{error_id.errno.name}`"
        rows.append(f"| `{error_id.value}` | {errno} | {_cell(error_id.description)} |")
    return rows


def catalog_markdown() -> str:
    """The catalog as Markdown: one table per id type, then the kernel.errno family."""
    lines: list[str] = []
    types: dict[str, list[ErrorId]] = {}
    for error_id in ErrorId:
        types.setdefault(error_id.value.split(":")[0], []).append(error_id)
    for type_name, ids in types.items():
        lines += [f"### `{type_name}`", "", *id_rows(ids), ""]
    lines += [
        "### `kernel.errno`",
        "",
        "| id | errno number |",
        "|---|---|",
        *(f"| `{KernelErrno(errno).value}` | {int(errno)} |" for errno in Errno),
        "",
    ]
    return "\n".join(lines)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Replace the marker of ids.md by the catalog's tables (other pages pass unchanged)."""
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        raise ValueError(f"{PAGE} lost its marker {MARKER!r}: the catalog has nowhere to go")
    return markdown.replace(MARKER, catalog_markdown())
