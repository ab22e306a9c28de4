"""The tf.data helper: batches, shuffling, augmentation shapes, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from workshop import pipeline


def test_batches_keep_every_example():
    x, y = np.arange(10, dtype="float32").reshape(10, 1), np.arange(10)
    seen = np.concatenate(
        [b.numpy() for _, b in pipeline.to_dataset(x, y, batch_size=4, shuffle=True)]
    )
    assert sorted(seen.tolist()) == list(range(10))


def test_augmentation_keeps_shapes_and_changes_images():
    images = np.zeros((6, 28, 28, 1), dtype="float32")
    images[:, 10:18, 10:18] = 1.0
    batch = next(iter(pipeline.to_dataset(images, np.zeros(6), batch_size=6, augment=True)))[
        0
    ].numpy()
    assert batch.shape == images.shape
    assert not np.allclose(batch, images), "augmentation should move the square"
    flat = images.reshape(6, -1)
    fbatch = next(
        iter(pipeline.to_dataset(flat, None, batch_size=6, augment=True, image_shape=(28, 28, 1)))
    )
    assert tuple(fbatch.shape) == (6, 784)


def test_bad_input():
    with pytest.raises(ValueError, match="batch_size"):
        pipeline.to_dataset(np.zeros((3, 2)), batch_size=0)
    with pytest.raises(ValueError, match="zero examples"):
        pipeline.to_dataset(np.zeros((0, 2)))
    with pytest.raises(ValueError, match="x has 3 examples but y has 2"):
        pipeline.to_dataset(np.zeros((3, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="augment needs images"):
        pipeline.to_dataset(np.zeros((3, 2)), augment=True)
