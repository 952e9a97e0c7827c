"""Where lark keeps its analysis of this project's grammars between runs.

lark's own `cache=True` writes a pickle under a fixed name in the system's temporary folder,
where another local user could plant a file that lark would then unpickle. So the analyses are
kept in a folder only the user can write: `$XDG_CACHE_HOME/vfio-harness` (by default
`~/.cache/vfio-harness`), created with mode 0700. Where that folder cannot be made, is a
symbolic link, or is not the user's own with no write access for others, nothing is cached and
each process analyses the grammar again (tens of milliseconds). A stale or broken file is no
risk to results: lark checks a digest of the grammar and options, and rebuilds when it differs.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

FOLDER = "vfio-harness"


def cache_file(grammar: str, lark_version: str) -> str | bool:
    """The path to give lark's `cache` option for `grammar`, or False to cache nothing."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = Path(base) / FOLDER
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.lstat()
    except OSError:
        return False
    if not stat.S_ISDIR(info.st_mode) or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return False
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return False
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    return str(folder / f"{grammar}-lark{lark_version}-py{python}.pickle")
