"""``python -m lamina`` = the ``lamina`` command (where the entry point is not on PATH)."""
import sys

from .cli import main

sys.exit(main())
