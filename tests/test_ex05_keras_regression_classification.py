"""Grading checks for ex05: standardisation without leakage, regression and classification models.

References: NumPy statistics of the training split, the offline stand-in
data as the helper layer returns it, parameter counts computed from the
layer sizes, np.eye for one-hot, and a save/load round trip. Inputs are
drawn afresh each run (`rng`); models are trained and scored here.
"""

import numpy as np
import pytest

from workshop import data
from workshop.grading import expect
from workshop.grading.judge import compiled, leaves_arguments_alone, scenario, seed


@pytest.fixture
def offline(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setenv("WORKSHOP_OFFLINE", "1")


def test_standardize_uses_training_statistics(lesson, rng):
    X_train = rng.normal(5, 3, (40, 4))
    X_test = rng.normal(-2, 10, (15, 4))
    tr, te = lesson.standardize(X_train, X_test)
    mean, std = X_train.mean(0), X_train.std(0)
    expect.close(
        tr,
        (X_train - mean) / std,
        "the standardised training split",
        hint="each training column minus its mean, divided by its standard deviation: mean 0, std 1",
    )
    expect.close(
        te,
        (X_test - mean) / std,
        "the standardised test split",
        hint="scale the test split with the TRAINING mean and std",
    )


def test_standardize_leaves_its_inputs_alone(lesson, rng):
    X_train, X_test = rng.normal(3, 2, (20, 3)), rng.normal(3, 2, (8, 3))
    lesson.standardize(X_train, X_test)
    leaves_arguments_alone(lesson, "standardize")


def test_standardize_does_not_leak_the_test_split(lesson, rng):
    X_train, X_test = rng.normal(size=(30, 3)), rng.normal(size=(10, 3))
    tr1, te1 = lesson.standardize(X_train, X_test)
    tr2, te2 = lesson.standardize(X_train, X_test * 100 + 1000)
    expect.close(
        tr1,
        tr2,
        "the standardised training split",
        hint="the training split's scaling must not depend on the test split",
    )
    expect.close(
        te2,
        (X_test * 100 + 1000 - X_train.mean(0)) / X_train.std(0),
        "the standardised test split",
        hint="the test split is scaled with the training statistics, not its own",
    )


def test_standardize_constant_column(lesson):
    X_train = np.c_[np.ones(10), np.arange(10.0)]
    tr, te = lesson.standardize(X_train, np.array([[1.0, 3.0]]))
    assert np.all(np.isfinite(tr)) and np.all(np.isfinite(te)), (
        "a constant column must not divide by zero"
    )


def test_regression_model(lesson):
    model = lesson.build_regression_model(8)
    import keras

    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [d.units for d in dense] == [50, 50, 1], (
        f"Dense sizes should be 50, 50, 1; got {[d.units for d in dense]}"
    )
    assert [d.activation.__name__ for d in dense] == ["relu", "relu", "linear"], (
        "ReLU hidden layers, linear output"
    )
    expected = (8 * 50 + 50) + (50 * 50 + 50) + (50 + 1)
    assert model.count_params() == expected, (
        f"{expected} parameters expected, got {model.count_params()}"
    )
    assert tuple(model.input_shape) == (None, 8)
    compiled(model, "build_regression_model")
    assert "mean_squared_error" in str(model.loss) or "mse" in str(model.loss), (
        f"predicting a strength (a number) is regression: loss='mean_squared_error', "
        f"got {model.loss!r}"
    )
    small = lesson.build_regression_model(3, hidden=(7,))
    assert small.count_params() == (3 * 7 + 7) + (7 + 1), (
        "hidden=(7,) means one hidden layer of 7 units"
    )


def test_evaluate_regression_learns(lesson, rng):
    seed(lesson, 0)
    X = rng.normal(size=(160, 4))
    y = X @ np.array([3.0, -2.0, 1.0, 0.5]) + 10 + rng.normal(0, 0.5, 160)
    result = lesson.evaluate_regression(X, y, repeats=2, epochs=40, hidden=(16,), seed=0)
    assert set(result) >= {"mean", "std", "mses"} and len(result["mses"]) == 2, f"got {result}"
    assert result["mean"] == pytest.approx(np.mean(result["mses"])) and result[
        "std"
    ] == pytest.approx(np.std(result["mses"]))
    # Predicting the mean gives MSE = var(y) ~ 115; a trained net gets ~1. 20 is a wide margin.
    assert result["mean"] < 20, (
        f"held-out MSE {result['mean']:.1f}: the model should learn this linear target"
    )


def test_to_one_hot(lesson, rng):
    y = rng.integers(0, 7, 25)
    expect.equal(
        lesson.to_one_hot(y, 7),
        np.eye(7)[y],
        "to_one_hot(y, 7)",
        hint="row i has a single 1 in column y[i]",
    )


def test_classification_model_and_training(lesson, offline):
    model = lesson.build_classification_model()
    import keras

    assert tuple(model.input_shape) == (None, 784) and tuple(model.output_shape) == (None, 10)
    assert model.layers[-1].activation.__name__ == "softmax", "the output layer needs softmax"
    compiled(model, "build_classification_model")
    assert "categorical_crossentropy" in str(model.loss) and "sparse" not in str(model.loss), (
        f"one-hot labels (rows like [0, 0, 1, 0, ...]): loss='categorical_crossentropy'; the "
        f"sparse one is for integer labels. Got {model.loss!r}"
    )
    keras.utils.set_random_seed(0)  # the judge's own shuffling
    seed(lesson, 0)  # the attendee's initial weights
    images = data.load_mnist(limit=600)
    x = images.x_train.reshape(len(images.x_train), -1).astype("float32") / 255
    model = lesson.build_classification_model()
    model.fit(x, np.eye(10)[images.y_train], epochs=5, batch_size=32, verbose=0)
    accuracy = np.mean(model.predict(x, verbose=0).argmax(1) == images.y_train)
    # Seeded: ~0.97 on these 600 stand-in digits after 5 epochs; 0.8 is a wide margin.
    assert accuracy > 0.8, (
        f"training accuracy {accuracy:.3f} after 5 epochs: is the model compiled right?"
    )


@scenario
def save_and_reload_in_the_worker(lesson, n_in, n_out):
    """Build, save and reload where the lesson runs (the judge's folders are not there)."""
    import os
    import tempfile

    model = lesson.build_classification_model(n_in, n_out)
    path = os.path.join(tempfile.mkdtemp(), "model.keras")
    again = lesson.save_and_reload(model, path)
    return {"model": model, "again": again, "saved": os.path.isfile(path), "same": again is model}


def test_save_and_reload_predicts_the_same(lesson, rng):
    got = save_and_reload_in_the_worker(lesson, 20, 3)
    assert got["saved"], "save the model to the given .keras path"
    assert not got["same"], "return the model loaded back from the file"
    x = rng.random((5, 20), dtype=np.float32)
    expect.equal(
        got["again"].predict(x, verbose=0),
        got["model"].predict(x, verbose=0),
        "the reloaded model's predictions",
        hint="the reloaded model must predict the same",
    )
