"""`python -m harness`: the command line (see `harness.cli`).

`python -m harness serve` is started as a child process once per run and per xdist worker, so
it skips the command line's imports (rich, the scenario language): it starts in about half the
time. So does `python -m harness kernel serve`, the kernel backend's child.
"""

import sys

if sys.argv[1:] == ["serve"]:
    from harness.protocol.model_server import main

    sys.exit(main())
if sys.argv[1:2] == ["kernel"]:  # the kernel backend's own commands, its `serve` among them
    from harness.kernel.cli import main as kernel

    sys.exit(kernel(sys.argv[2:]))

from harness.cli import main as cli

sys.exit(cli(prog="python -m harness"))
