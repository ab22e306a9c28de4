"""ex09's own tests: it builds on ex04 and ex07 from its own folder, refuses bad input with
what was expected and what came, its checks fail when the validation data is the test
split, and its quick run shows overfitting (`check_quick_run`, called by test_lessons.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from workshop import ROOT, backend
from workshop.grading.loader import load_lesson

RUNS = ["augmentation", "baseline", "dropout", "early_stopping", "l2"]


@pytest.fixture(scope="module")
def ex09():
    return load_lesson("ex09_cnn_classifiers", "solutions")


def test_ex09_builds_on_ex04_and_ex07_from_its_own_folder(ex09):
    dense = ex09.build_dense_classifier()
    ex04 = ex09.ex04()
    assert Path(ex04.__file__).parent == ROOT / "solutions", ex04.__file__
    assert dense.count_params() == ex04.build_model().count_params() == 101_770
    assert ex09.ex07().feature_maps is not None


def test_ex09_rejects_bad_input(ex09):
    x = np.zeros((10, 28, 28, 1), dtype="float32")
    y = np.arange(10) % 3
    data = ((x, y), (x, y))
    build = ex09.build_dense_classifier
    for bad, message in [
        (lambda: ex09.load_images("cifar10"), r"which must be one of \['fashion_mnist', 'mnist'\]"),
        (lambda: ex09.build_cnn_classifier(()), r"non-empty tuple of counts such as \(64, 64\)"),
        (lambda: ex09.build_cnn_classifier((64,) * 4), "4 stages.*do not fit.*stage 4 gets 1×1"),
        (lambda: ex09.build_cnn_classifier((8, 0)), "each entry of filters must be at least 1"),
        (lambda: ex09.build_cnn_classifier(kernel_size=0), "kernel_size must be at least 1, got 0"),
        (
            lambda: ex09.build_cnn_classifier(dropout=1.0),
            "dropout is a fraction, from 0 to below 1",
        ),
        (lambda: ex09.build_cnn_classifier(l2=-0.1), "l2 must be at least 0, got -0.1"),
        (lambda: ex09.build_mnist_cnn(3), r"variant must be one of \[1, 2\], got 3"),
        (lambda: ex09.validation_split(x, y[:9]), "same length, got 10 and 9"),
        (lambda: ex09.validation_split(x, y, 0.0), "fraction must be greater than 0, got 0"),
        (lambda: ex09.validation_split(x, y, 1.0), "from above 0 to below 1, got 1"),
        (
            lambda: ex09.validation_split(x, y, 0.01),
            "fraction=0.01 of 10 rows holds out 0: too few",
        ),
        (lambda: ex09.validation_split(x, y, 0.1, seed=-1), "seed must be at least 0, got -1"),
        (lambda: ex09.validation_split(x, y, 0.1, seed=0.5), "seed must be a whole number"),
        (lambda: ex09.compare_models({}, data), "builders must map names to functions making a"),
        (lambda: ex09.compare_models({"a": 3}, data), r"a model, got \{'a': 3\}"),
        (lambda: ex09.compare_models({"a": build}, None), r"data must be \(\(x_train, y_train\)"),
        (lambda: ex09.compare_models({"a": build}, ((x, y[:9]), (x, y))), "x_train and y_train"),
        (lambda: ex09.compare_models({"a": build}, ((x, y - 1), (x, y))), "y_train must be class"),
        (lambda: ex09.compare_models({"a": build}, data, epochs=0), "epochs must be at least 1"),
        (lambda: ex09.regularisation_study(None), "data must be"),
        (lambda: ex09.regularisation_study(data, width=0), "width must be at least 1, got 0"),
        (lambda: ex09.best_epoch([0.5, 0.4]), "expected a keras History or its .history dict"),
        (lambda: ex09.best_epoch({"loss": [1.0]}), "no 'val_loss'.*train with validation_data"),
        (lambda: ex09.best_epoch({"val_loss": [float("nan")] * 3}), "diverged"),
        (lambda: ex09.best_epoch({"val_loss": [[1.0]]}), "must be 1-D"),
        (lambda: ex09.overfitting_gap({"loss": [1.0, 2.0], "val_loss": [1.0]}), "2 epochs"),
    ]:
        with pytest.raises(ValueError, match=message):
            bad()


def test_ex09_checks_fail_when_the_validation_data_is_the_test_split():
    """The same solution, but each fit validates on the test split: both checks that record
    what fit was given must fail, and say why."""
    from workshop.catalog import find_module
    from workshop.grading.runner import run_checks

    module = find_module(9)
    text = module.solution_path().read_text(encoding="utf-8")
    peeking = text
    for honest in ("validation_data=(x_val, y_val)", '"validation_data": (x_val, y_val)'):
        assert text.count(honest) == 1  # compare_models, then regularisation_study
        peeking = peeking.replace(honest, honest.replace("x_val, y_val", "x_test, y_test"))
    checks = [
        "test_compare_models_validates_then_tests_once",
        "test_regularisation_study_chooses_on_the_validation_split",
    ]
    siblings = {
        u: (ROOT / "solutions" / f"{u}.py").read_text(encoding="utf-8") for u in module.uses
    }
    result = run_checks(
        module,
        text=peeking,
        display="solutions/ex09_cnn_classifiers.py (validated on the test split)",
        extra_args=["-k", " or ".join(checks)],
        timeout=900,  # a busy machine: the checks take about 20 s of CPU
        siblings=siblings,
    )
    assert {c: result.tests.get(c) for c in checks} == dict.fromkeys(checks, "failed"), result
    assert "validation_data is the test split" in result.details, result.details[-3000:]


def check_quick_run(out: Path, metrics: dict) -> None:
    """What `workshop run 9 --quick --offline` must show: the three figures, the five runs'
    TensorBoard logs, and a baseline that overfits (its training loss keeps falling after the
    best epoch while its validation loss turns up)."""
    assert {p.name for p in out.glob("*.png")} >= {
        "dense_vs_cnn.png",
        "activations.png",
        "overfitting.png",
    }
    if backend.installed("tensorflow"):
        assert sorted(p.name for p in (out / "logs").iterdir()) == RUNS
    assert sorted(metrics["cures"]) == RUNS
    assert all(0 <= a <= 1 for a in metrics["cures"].values()), metrics["cures"]
    loss, val_loss = (np.array(metrics["baseline"][k]) for k in ("loss", "val_loss"))
    best = int(np.argmin(val_loss))
    assert metrics["best_epoch"] == best + 1
    assert best < len(val_loss) - 1, f"no overfitting: val_loss {val_loss.round(3).tolist()}"
    assert val_loss[-1] > 1.1 * val_loss[best], f"val_loss {val_loss.round(3).tolist()}"
    assert loss[-1] < loss[best], f"training loss {loss.round(3).tolist()}"
    assert json.loads((out / "metrics.json").read_text())["best_epoch"] == best + 1
