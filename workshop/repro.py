"""Seeds and determinism: one helper used by every lesson and test."""

from __future__ import annotations

import os
import random
import sys

import numpy as np

DEFAULT_SEED = 0


def check_seed(seed) -> int:
    """Return `seed` as an int, or raise ValueError if it is not a non-negative integer."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def seed_everything(seed: int = DEFAULT_SEED, *, deterministic_ops: bool = False) -> int:
    """Seed Python, NumPy and (if already imported) Keras/TensorFlow; return the seed.

    TensorFlow is seeded only when a lesson has imported it already, so
    NumPy-only lessons stay fast. `deterministic_ops=True` also asks
    TensorFlow for deterministic kernels (slower; for exact re-runs).
    """
    seed = check_seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    if "keras" in sys.modules or "tensorflow" in sys.modules:
        import keras

        keras.utils.set_random_seed(seed)
        if deterministic_ops:
            import tensorflow as tf

            tf.config.experimental.enable_op_determinism()
    return seed


def rng(seed: int | None = DEFAULT_SEED) -> np.random.Generator:
    """A NumPy random generator; `None` gives fresh entropy."""
    return np.random.default_rng(None if seed is None else check_seed(seed))
