"""``python -m rag``: see :mod:`rag.cli`."""

import sys

from .cli import main

sys.exit(main())
