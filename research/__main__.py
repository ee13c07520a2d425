"""``python -m research`` runs the ``research`` command."""

import sys

from research.cli import main

sys.exit(main())
