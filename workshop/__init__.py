"""Helper layer of the deep-learning workshop: devices, data, plots, seeds, grading.

Importing this package never imports TensorFlow: the NumPy lessons grade in
about a second because of it. Modules that need TensorFlow import it inside
the functions that use it.
"""

import os
from pathlib import Path

__version__ = "0.1.0"

#: The project's root folder (the one with exercises/, solutions/ and tests/);
#: $WORKSHOP_ROOT points the command at another copy (the toolkit's tests use it).
ROOT = Path(os.environ.get("WORKSHOP_ROOT") or Path(__file__).resolve().parent.parent)
