"""Helper layer of the deep-learning workshop: devices, data, plots, seeds, grading.

Importing this package never imports TensorFlow: the NumPy lessons grade in
about a second because of it. Modules that need TensorFlow import it inside
the functions that use it.
"""

import os
import warnings
from pathlib import Path

# JAX on the CPU runs LAPACK (a QR for Keras's orthogonal initialiser, for
# one) from several threads of its own at once, through SciPy's OpenBLAS,
# whose own thread pool then can wait forever (seen in the tests: a process
# spinning in exec_blas_async_wait). One OpenBLAS thread per caller avoids it;
# the lessons' arrays are small. Set before SciPy loads; an explicit value wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# Keras 3's fit() warns that its default shuffle=True is ignored for a
# tf.data.Dataset; the lessons' pipelines shuffle already, so the warning
# would only confuse attendees.
warnings.filterwarnings("ignore", message=r"`shuffle=True` was passed")

__version__ = "0.2.0"

# TensorFlow's C++ start-up lines (absl, oneDNN, "failed call to cuInit" on a
# CPU-only machine) are filtered out of what attendees see; WORKSHOP_TF_LOGS=1
# shows them. Nothing is imported here: the filter acts when TensorFlow loads.
from workshop import quiet as _quiet  # noqa: E402

_quiet.install()

#: The project's root folder (the one with exercises/, solutions/ and tests/);
#: $WORKSHOP_ROOT points the command at another copy (the toolkit's tests use it).
ROOT = Path(os.environ.get("WORKSHOP_ROOT") or Path(__file__).resolve().parent.parent)
