"""``python -m benchmarks [--quick]``: see :mod:`benchmarks.run`."""

import sys

from .run import main

sys.exit(main())
