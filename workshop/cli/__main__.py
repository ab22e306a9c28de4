"""`python -m workshop.cli …` works like `workshop …` (the tests run it this way)."""

import sys

from workshop.cli import main

sys.exit(main())
