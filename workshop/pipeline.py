"""Input pipelines: NumPy arrays to batches `fit` takes, on every Keras backend.

Feeding arrays straight into `fit` works, but on a small model the Python
overhead per batch dominates; a `tf.data` pipeline with larger batches and
`prefetch` keeps the CPU (or GPU) busy. `scripts/bench.py` measures the gain.
Under TensorFlow `to_dataset` gives that `tf.data.Dataset`; under JAX or
PyTorch (where TensorFlow may not even be installed) it gives a
`keras.utils.PyDataset` with the same batches, shuffling and augmentation.
"""

from __future__ import annotations

import numpy as np

from workshop import backend

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
    Under JAX or PyTorch the result is an `ArrayBatches` (a keras PyDataset):
    `cache` is moot there (the arrays are in memory already).
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
    shape = None
    if augment:
        shape = tuple(image_shape) if image_shape else tuple(np.shape(x)[1:])
        if len(shape) != 3:
            raise ValueError(
                f"augment needs images (H, W, C) or image_shape=; got examples of shape {shape}"
            )
    if not backend.is_tensorflow():
        return _array_batches()(
            x, y, batch_size, shuffle=shuffle, seed=seed, repeat=repeat, image_shape=shape
        )
    tf = backend.tf()
    ds = tf.data.Dataset.from_tensor_slices(x if y is None else (x, y))
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(min(n, 20_000), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size)
    if augment:
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


_ARRAY_BATCHES = None


def _array_batches():
    """The `ArrayBatches` class, made on first use (it subclasses keras.utils.PyDataset)."""
    global _ARRAY_BATCHES
    if _ARRAY_BATCHES is not None:
        return _ARRAY_BATCHES
    import keras

    class ArrayBatches(keras.utils.PyDataset):
        """Batches of in-memory arrays for `fit`/`evaluate`/`predict` on every backend.

        shuffle: a new order each epoch, drawn from (seed, epoch), so a run
        repeats. repeat: endless (give `fit` steps_per_epoch). image_shape:
        augment each batch of images with `augmenter()`'s random shifts and turns.
        """

        def __init__(self, x, y, batch_size, shuffle, seed, repeat, image_shape):
            super().__init__()
            self.x, self.y, self.batch_size = np.asarray(x), y, int(batch_size)
            self.y = None if y is None else np.asarray(y)
            self.shuffle, self.seed, self.repeat = shuffle, seed, repeat
            self.image_shape, self.epoch = image_shape, 0
            self.batches = -(-len(self.x) // self.batch_size)

        def __len__(self):
            return self.batches

        @property
        def num_batches(self):
            return None if self.repeat else self.batches

        def order(self, epoch: int) -> np.ndarray:
            n = len(self.x)
            if not self.shuffle:
                return np.arange(n)
            return np.random.default_rng((self.seed, epoch)).permutation(n)

        def __getitem__(self, index):
            epoch, index = (self.epoch, index) if not self.repeat else divmod(index, self.batches)
            rows = self.order(epoch)[index * self.batch_size : (index + 1) * self.batch_size]
            xb = self.x[rows]
            if self.image_shape is not None:
                xb = self.jitter(xb)
            return xb if self.y is None else (xb, self.y[rows])

        def jitter(self, xb):
            images = xb.reshape((-1, *self.image_shape))
            moved = keras.ops.convert_to_numpy(augmenter()(images, training=True))
            return moved.reshape(xb.shape).astype(xb.dtype, copy=False)

        def on_epoch_end(self):
            self.epoch += 1

    _ARRAY_BATCHES = ArrayBatches
    return ArrayBatches
