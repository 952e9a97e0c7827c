"""`python -m harness`: the command line (see `harness.cli`).

`python -m harness serve` is started as a child process once per run and per xdist worker, so
it skips the command line's imports (rich, the scenario language): it starts in about half the
time.
"""

import sys

if sys.argv[1:] == ["serve"]:
    from harness.protocol.model_server import main

    sys.exit(main())

from harness.cli import main as cli

sys.exit(cli(prog="python -m harness"))
