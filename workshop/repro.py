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
    """Seed Python, NumPy and (if already imported) Keras and its backend; return the seed.

    Keras is seeded only when a lesson has imported it already, so NumPy-only
    lessons stay fast. `deterministic_ops=True` also asks the backend for
    deterministic kernels (slower; for exact re-runs): TensorFlow's op
    determinism, PyTorch's deterministic algorithms, XLA's deterministic GPU
    ops under JAX (set before JAX starts; its CPU kernels already are).
    """
    seed = check_seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    if deterministic_ops:
        flags = os.environ.get("XLA_FLAGS", "")
        if "xla_gpu_deterministic_ops" not in flags:
            os.environ["XLA_FLAGS"] = f"{flags} --xla_gpu_deterministic_ops=true".strip()
    if "keras" in sys.modules or "tensorflow" in sys.modules:
        import keras

        keras.utils.set_random_seed(seed)
        if deterministic_ops:
            _deterministic_kernels(keras.backend.backend())
    return seed


def _deterministic_kernels(backend: str) -> None:
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    elif backend == "torch":
        import torch

        torch.use_deterministic_algorithms(True, warn_only=True)


def rng(seed: int | None = DEFAULT_SEED) -> np.random.Generator:
    """A NumPy random generator; `None` gives fresh entropy."""
    return np.random.default_rng(None if seed is None else check_seed(seed))
