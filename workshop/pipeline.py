"""Input pipelines: NumPy arrays to a cached, shuffled, prefetched `tf.data.Dataset`.

Feeding arrays straight into `fit` works, but on a small model the Python
overhead per batch dominates; a `tf.data` pipeline with larger batches and
`prefetch` keeps the CPU (or GPU) busy. `scripts/bench.py` measures the gain.
"""

from __future__ import annotations

import numpy as np

from workshop.gpu import _tf

DEFAULT_BATCH = 128


_augmenter = None


def augmentation_layers(
    shift: float = 0.08, rotate: float = 0.04, zoom: float = 0.0, name: str = "augment"
):
    """New Keras layers that shift images by up to `shift` of their size, turn them by up
    to ±rotate of a full turn (0.04: ±15 degrees) and, when zoom > 0, zoom by up to ±zoom.
    Random only while training; at inference they pass images through."""
    import keras

    layers = [
        keras.layers.RandomTranslation(shift, shift, fill_mode="constant"),
        keras.layers.RandomRotation(rotate, fill_mode="constant"),
    ]
    if zoom > 0:
        layers.append(keras.layers.RandomZoom(zoom, fill_mode="constant"))
    return keras.Sequential(layers, name=name)


def augmenter():
    """The layers `to_dataset(augment=True)` uses, made once and shared."""
    global _augmenter
    if _augmenter is None:
        _augmenter = augmentation_layers()
    return _augmenter


def to_dataset(
    x,
    y=None,
    batch_size: int = DEFAULT_BATCH,
    shuffle: bool = False,
    seed: int = 0,
    cache: bool = True,
    repeat: bool = False,
    augment: bool = False,
    image_shape: tuple[int, ...] | None = None,
):
    """A `tf.data.Dataset` of (x, y) batches (or x alone), cached and prefetched.

    augment=True shifts and rotates every training batch a little (new copies
    each epoch: more data for free). x must then hold images (N, H, W, C), or
    flat vectors with `image_shape` saying how to fold them, e.g. (28, 28, 1).
    """
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
    ds = ds.batch(batch_size)
    if augment:
        shape = tuple(image_shape) if image_shape else tuple(np.shape(x)[1:])
        if len(shape) != 3:
            raise ValueError(
                f"augment needs images (H, W, C) or image_shape=; got examples of shape {shape}"
            )
        layers, flat = augmenter(), image_shape is not None

        def jitter(batch):
            images = tf.reshape(batch, (-1, *shape)) if flat else batch
            images = layers(images, training=True)
            return tf.reshape(images, (-1, int(np.prod(shape)))) if flat else images

        ds = ds.map(
            (lambda a, b: (jitter(a), b)) if y is not None else jitter,
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    return ds.prefetch(tf.data.AUTOTUNE)
