"""The real data beside the project (../shared/data), as the bench sections read it."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"


def real_mnist():
    """The MNIST test set beside the project as ((x, y) first 8,000, (x, y) last 2,000).

    Images as stored (uint8, 28×28), labels int64: each section scales and shapes them.
    """
    from workshop.data import read_idx

    folder = SHARED / "mnist-test"
    images = read_idx(folder / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(folder / "t10k-labels-idx1-ubyte.gz").astype("int64")
    return (images[:8000], labels[:8000]), (images[8000:], labels[8000:])
