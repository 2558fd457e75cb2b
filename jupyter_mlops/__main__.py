"""``python -m jupyter_mlops`` is the same as ``jupyter mlops``."""

import sys

from .cli import main

sys.exit(main())
