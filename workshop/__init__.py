"""Helper layer of the deep-learning workshop: devices, data, plots, seeds, grading.

Importing this package never imports TensorFlow: the NumPy lessons grade in
about a second because of it. Modules that need TensorFlow import it inside
the functions that use it.
"""

from pathlib import Path

__version__ = "0.1.0"

#: The project's root folder (the one with exercises/, solutions/ and tests/).
ROOT = Path(__file__).resolve().parent.parent
