"""``python -m minigrad train ...``: the same command line as the ``minigrad`` script."""
import sys

from .cli import main

sys.exit(main())
