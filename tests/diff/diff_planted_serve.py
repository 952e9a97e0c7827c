"""A planted backend served over the protocol: `python tests/diff/diff_planted_serve.py BUG`.

BUG is `overlap`, `v1count` or `dies` (the classes `OverlapByOnePage`, `V1MiscountsBytes` and
`DiesOnWrap` of `diff_planted`).
The differential tests and bench/diff.py run it as `exec:` target: a process backend with a
known bug, as a VMM's adapter would be.
"""

from __future__ import annotations

import sys
from pathlib import Path

from harness.protocol.server import serve
from harness.sessions import open_backend

# The plants' module sits beside this script: the session imports it by name.
sys.path.insert(0, str(Path(__file__).resolve().parent))

BUGS = {
    "overlap": "diff_planted:OverlapByOnePage",
    "v1count": "diff_planted:V1MiscountsBytes",
    "dies": "diff_planted:DiesOnWrap",
}


def main(argv: list[str]) -> int:
    """Serve the planted backend named by argv[1] on stdin and stdout."""
    if len(argv) != 2 or argv[1] not in BUGS:
        print(f"usage: {argv[0]} {'|'.join(BUGS)}", file=sys.stderr)
        return 2
    spec = BUGS[argv[1]]
    return serve(lambda defaults: open_backend(spec, defaults), sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
