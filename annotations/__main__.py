"""`python -m annotations`: see `annotations.cli`."""

from annotations.cli import main

raise SystemExit(main())
