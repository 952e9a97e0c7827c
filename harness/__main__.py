"""`python -m harness`: the command line (see `harness.cli`).

`python -m harness serve` is started as a child process once per run and per xdist worker, so
it skips the command line's imports (rich, the scenario language): it starts in about half the
time.
"""

import sys

if sys.argv[1:] == ["serve"]:
    from harness.protocol.model_server import main
else:
    from harness.cli import main

sys.exit(main())
