"""Moved to :mod:`research.run.warmup`; ``python -m research.warmup`` keeps working."""

import sys

from research.run.warmup import DEFAULT_EXPERIMENT, main, warm_caches

__all__ = ["DEFAULT_EXPERIMENT", "main", "warm_caches"]

if __name__ == "__main__":
    sys.exit(main())
