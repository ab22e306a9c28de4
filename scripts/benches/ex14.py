"""ex14's bench section: transfer learning on real MNIST, against training from scratch.

The MNIST test set beside the project (../shared/data/mnist-test): of its
first 8,000 images, the digits 0-4 pretrain the lesson's feature extractor
(a tenth of them held out to pick the epoch), and the digits 5-9 give the
few labelled examples (10 and 50 per class) and a validation set (20 per
class, apart from them); the digits 5-9 of the last 2,000 are the test set,
used once per model. The lesson's own functions do the work
(`accuracy_vs_labels`: from scratch, frozen, fine-tuned); the full run
repeats it with three seeds (draws of the few examples and initial weights)
and reports the mean, the quick one uses one seed and fewer epochs.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
COUNTS = (10, 50)


def _mnist_split():
    """The shared MNIST as (N, 28, 28, 1) floats in [0, 1]: (first 8,000, last 2,000)."""
    from benches.shared import real_mnist

    return tuple((x[..., np.newaxis].astype("float32") / 255, y) for x, y in real_mnist())


def bench_transfer(quick: bool) -> dict:
    """Test accuracy on the digits 5-9 at 10 and 50 labelled examples per class: from
    scratch, and the 0-4 network's convolutional part frozen, then fine-tuned."""
    if not (SHARED / "mnist-test").exists():
        print("  skipped: ../shared/data/mnist-test is not here", flush=True)
        return {"skipped": "no ../shared/data/mnist-test"}
    from workshop.grading.loader import load_lesson

    ex14 = load_lesson("ex14_transfer_learning", "solutions")
    import keras  # after workshop, which quiets TensorFlow's start-up

    (x_first, y_first), (x_last, y_last) = _mnist_split()
    seeds = (0,) if quick else (0, 1, 2)
    pretrain_epochs, epochs, fine_tune_epochs = (5, 100, 10) if quick else (10, 150, 30)
    start = time.perf_counter()
    first = ex14.split_by_class(x_first, y_first, ex14.FIRST)
    new = ex14.split_by_class(x_first, y_first, ex14.NEW)
    test = ex14.split_by_class(x_last, y_last, ex14.NEW)
    runs = []
    for seed in seeds:
        keras.backend.clear_session()
        val_first, train_first = ex14.few_shot(*first, len(first[1]) // 50, seed=seed)
        extractor, model = ex14.pretrain(train_first, val_first, pretrain_epochs, seed)
        first_test = ex14.split_by_class(x_last, y_last, ex14.FIRST)
        first_accuracy = model.evaluate(*first_test, verbose=0, return_dict=True)["accuracy"]
        val, pool = ex14.few_shot(*new, 20, seed=seed)
        results = ex14.accuracy_vs_labels(
            COUNTS,
            extractor,
            pool,
            val,
            test,
            seed,
            epochs=epochs,
            fine_tune_epochs=fine_tune_epochs,
        )
        runs.append(results)
        print(
            f"  seed {seed}: digits 0-4 pretrained on {len(train_first[1])} images (test "
            f"accuracy {first_accuracy:.3f}); digits 5-9, {len(test[1])} test images:",
            flush=True,
        )
        for i, n in enumerate(COUNTS):
            row = ", ".join(f"{k} {v[i]:.3f}" for k, v in results.items())
            print(f"    {n:>3} per class: {row}", flush=True)
    mean = {
        name: [round(float(np.mean([r[name][i] for r in runs])), 4) for i in range(len(COUNTS))]
        for name in runs[0]
    }
    by_count = {
        str(n): {
            "scratch": mean["scratch"][i],
            "transferred_frozen": mean["frozen"][i],
            "transferred_fine_tuned": mean["fine_tuned"][i],
        }
        for i, n in enumerate(COUNTS)
    }
    for n, row in by_count.items():
        print(
            f"  mean of {len(seeds)} seed(s), {n} per class: from scratch {row['scratch']:.3f}, "
            f"transferred {row['transferred_frozen']:.3f} frozen, "
            f"{row['transferred_fine_tuned']:.3f} fine-tuned",
            flush=True,
        )
    return {
        "source": "MNIST t10k: digits 0-4 of the first 8,000 pretrain; 5-9 of the first 8,000 "
        "give the labelled examples and 20 per class to validate; 5-9 of the last 2,000 test",
        "seeds": list(seeds),
        "epochs": {"pretrain": pretrain_epochs, "train": epochs, "fine_tune": fine_tune_epochs},
        "test_images": len(test[1]),
        "accuracy": by_count,
        "runs": runs,
        "seconds": round(time.perf_counter() - start, 1),
    }


if __name__ == "__main__":
    import json
    import sys

    sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]
    print(json.dumps(bench_transfer("--quick" in sys.argv), indent=2))
