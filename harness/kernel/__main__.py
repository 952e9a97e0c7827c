"""`python -m harness.kernel ...`: the kernel backend's command line (see `cli`)."""

import sys

from harness.kernel.cli import main

sys.exit(main())
