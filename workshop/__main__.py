"""`python -m workshop …` works like `workshop …` (Windows installs often lack the scripts folder on PATH)."""

import sys

from workshop.cli import main

sys.exit(main())
