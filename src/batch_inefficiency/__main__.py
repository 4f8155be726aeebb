"""``python -m batch_inefficiency``: the command line."""

from batch_inefficiency.cli import main

raise SystemExit(main())
