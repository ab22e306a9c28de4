"""ex13's bench section: autoencoders on real MNIST, against raw-pixel distances.

The MNIST test set beside the project (../shared/data/mnist-test): the first
8,000 images train, the last 2,000 test. The odd images: Fashion-MNIST is
not among the shared data, so each odd class is a digit kept out of
training (its images among the last 2,000 are the odd ones, the other
digits there the normal ones); the full run holds out each digit in turn,
the quick one only 7 (the lesson's offline choice). Each autoencoder (the
lesson's own `train_autoencoder`, code of 32) is compared with two scores
that need no network: an image's squared distance to the mean training
image, and to its nearest training image (both per pixel, like the
reconstruction error). The denoiser is measured on the same split.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"


def _mnist_split():
    """The shared MNIST as floats in [0, 1]: (first 8,000, last 2,000)."""
    from benches.shared import real_mnist

    return tuple((x.astype("float32") / 255, y) for x, y in real_mnist())


def _nearest(x, reference, batch: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """Each image's nearest image in `reference`: (mean squared pixel difference, index)."""
    ref = reference.reshape(len(reference), -1).astype("float64")
    ref_sq = np.sum(ref**2, axis=1)
    distances, indices = [], []
    for start in range(0, len(x), batch):
        flat = x[start : start + batch].reshape(-1, ref.shape[1]).astype("float64")
        d2 = np.sum(flat**2, axis=1)[:, None] - 2 * flat @ ref.T + ref_sq[None, :]
        indices.append(d2.argmin(axis=1))
        distances.append(np.maximum(d2.min(axis=1), 0) / ref.shape[1])
    return np.concatenate(distances), np.concatenate(indices)


def _auc(normal_scores, odd_scores) -> float:
    from sklearn.metrics import roc_auc_score

    labels = np.r_[np.zeros(len(normal_scores)), np.ones(len(odd_scores))]
    return float(roc_auc_score(labels, np.r_[normal_scores, odd_scores]))


def bench_autoencoders(quick: bool) -> dict:
    """AUC of the reconstruction error for a held-out digit, and the reconstruction error, on
    real MNIST; raw-pixel distances (to the mean image, to the nearest image) as baselines."""
    if not (SHARED / "mnist-test").exists():
        print("  skipped: ../shared/data/mnist-test is not here", flush=True)
        return {"skipped": "no ../shared/data/mnist-test"}
    from workshop.grading.loader import load_lesson

    ex13 = load_lesson("ex13_autoencoders", "solutions")
    import keras  # after workshop, which quiets TensorFlow's start-up

    (x_first, y_first), (x_last, y_last) = _mnist_split()
    held_out = (7,) if quick else tuple(range(10))
    epochs, latent = (3 if quick else 15), 32
    start = time.perf_counter()
    rows = {}
    for digit in held_out:
        x_train = x_first[y_first != digit]
        normal, odd = x_last[y_last != digit], x_last[y_last == digit]
        keras.utils.set_random_seed(0)
        trained = ex13.train_autoencoder(x_train, normal, latent_dim=latent, epochs=epochs)
        errors = [ex13.reconstruction_errors(trained.autoencoder, x) for x in (normal, odd)]
        mean_image = x_train.mean(axis=0)
        to_mean = [np.mean((x - mean_image) ** 2, axis=(1, 2)) for x in (normal, odd)]
        nearest = [_nearest(x, x_train)[0] for x in (normal, odd)]
        rows[digit] = r = {
            "train": len(x_train),
            "normal": len(normal),
            "odd": len(odd),
            "auc": round(_auc(*errors), 4),
            "auc_mean_image": round(_auc(*to_mean), 4),
            "auc_nearest_image": round(_auc(*nearest), 4),
            "error_normal": round(float(errors[0].mean()), 5),
            "error_odd": round(float(errors[1].mean()), 5),
            "mean_image_error_normal": round(float(to_mean[0].mean()), 5),
            "nearest_image_error_normal": round(float(nearest[0].mean()), 5),
        }
        print(
            f"  odd digit {digit}: AUC {r['auc']:.3f} (mean image {r['auc_mean_image']:.3f}, "
            f"nearest image {r['auc_nearest_image']:.3f}); reconstruction error of normal "
            f"digits {r['error_normal']:.4f} (mean image {r['mean_image_error_normal']:.4f}, "
            f"nearest training image {r['nearest_image_error_normal']:.4f})",
            flush=True,
        )
    keys = [k for k in next(iter(rows.values())) if k.startswith(("auc", "error", "mean", "near"))]
    mean = {k: round(float(np.mean([r[k] for r in rows.values()])), 4) for k in keys}
    print(
        f"  mean over {len(rows)} held-out digit(s): AUC {mean['auc']:.3f} against "
        f"{mean['auc_mean_image']:.3f} (mean image) and {mean['auc_nearest_image']:.3f} "
        f"(nearest image); error {mean['error_normal']:.4f} against "
        f"{mean['mean_image_error_normal']:.4f} and {mean['nearest_image_error_normal']:.4f}",
        flush=True,
    )
    keras.utils.set_random_seed(0)
    denoiser = ex13.train_autoencoder(x_first, x_last, latent, epochs, noise_std=0.5)
    noisy = ex13.add_noise(x_last, 0.5, seed=2)
    cleaned = denoiser.autoencoder.predict(noisy, verbose=0)
    closest = _nearest(noisy, x_first)[1]  # the raw-pixel way: the nearest clean training image
    denoising = {
        "noisy_mse": round(float(np.mean((noisy - x_last) ** 2)), 5),
        "denoised_mse": round(float(np.mean((cleaned - x_last) ** 2)), 5),
        "nearest_image_mse": round(float(np.mean((x_first[closest] - x_last) ** 2)), 5),
    }
    print(
        f"  denoising (std 0.5): MSE {denoising['noisy_mse']:.4f} noisy, "
        f"{denoising['denoised_mse']:.4f} denoised, {denoising['nearest_image_mse']:.4f} by the "
        "nearest training image",
        flush=True,
    )
    return {
        "source": "MNIST t10k: first 8,000 train, last 2,000 test",
        "odd": "a digit held out of training (no Fashion-MNIST in ../shared/data)",
        "epochs": epochs,
        "latent_dim": latent,
        "held_out": {str(d): r for d, r in rows.items()},
        "mean": mean,
        "denoising": denoising,
        "seconds": round(time.perf_counter() - start, 1),
    }


if __name__ == "__main__":
    import json
    import sys

    sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]
    print(json.dumps(bench_autoencoders("--quick" in sys.argv), indent=2))
