"""`python -m matrixcalculus ...`: the same command line as `matrixcalculus ...`."""

from .cli import main

raise SystemExit(main())
