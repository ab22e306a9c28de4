"""Input pipelines: NumPy arrays to a cached, shuffled, prefetched `tf.data.Dataset`.

Feeding arrays straight into `fit` works, but on a small model the Python
overhead per batch dominates; a `tf.data` pipeline with larger batches and
`prefetch` keeps the CPU (or GPU) busy. `scripts/bench.py` measures the gain.
"""

from __future__ import annotations

import numpy as np

from workshop.gpu import _tf

DEFAULT_BATCH = 128


def to_dataset(
    x,
    y=None,
    batch_size: int = DEFAULT_BATCH,
    shuffle: bool = False,
    seed: int = 0,
    cache: bool = True,
    repeat: bool = False,
):
    """A `tf.data.Dataset` of (x, y) batches (or x alone), cached and prefetched."""
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, (int, np.integer))
        or batch_size < 1
    ):
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    n = len(x)
    if n == 0:
        raise ValueError("cannot build a dataset from zero examples")
    if y is not None and len(y) != n:
        raise ValueError(f"x has {n} examples but y has {len(y)}")
    tf = _tf()
    ds = tf.data.Dataset.from_tensor_slices(x if y is None else (x, y))
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(min(n, 20_000), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
