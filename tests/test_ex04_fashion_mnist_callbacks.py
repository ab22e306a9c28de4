"""Grading checks for ex04: data scaling, the dense model, the StopAtAccuracy callback, training.

Data: the offline stand-in (no download) in a temporary cache, compared with
what the helper layer itself returns. Model checks compare with numbers
computed from the layer definitions. The callback runs where the lesson runs,
in the worker (a @scenario); the judge asserts on what it reports and scores
the trained model itself. Training checks are seeded and use margins far from
the values a correct solution reaches.
"""

import numpy as np
import pytest

from workshop import data
from workshop.grading import expect
from workshop.grading.judge import compiled, scenario, type_name


@pytest.fixture
def offline(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setenv("WORKSHOP_OFFLINE", "1")


def test_load_data_scales_to_unit_range(lesson, offline):
    (x_train, y_train), (x_test, y_test) = lesson.load_data(limit=200)
    raw = data.load_fashion_mnist(limit=200)
    assert x_train.shape == (200, 28, 28) and x_test.shape == raw.x_test.shape, (
        f"limit=200 should give 200 training images of 28x28, got {x_train.shape}"
    )
    expect.array(x_train, "x_train", dtype="float32")  # what Keras computes in: half of float64
    assert x_train.min() >= 0.0 and x_train.max() <= 1.0, (
        f"pixels should lie in [0, 1] (divide by 255), got {x_train.min()}..{x_train.max()}"
    )
    expect.close(x_train, raw.x_train / 255.0, "x_train", atol=1e-6, hint="images / 255")
    expect.equal(y_train, raw.y_train, "y_train", hint="labels must be unchanged")
    expect.equal(y_test, raw.y_test, "y_test", hint="labels must be unchanged")


def test_model_architecture(lesson, rng):
    model = lesson.build_model()
    import keras

    assert tuple(model.input_shape) == (None, 28, 28), (
        f"input shape should be (None, 28, 28), got {model.input_shape}"
    )
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Flatten", "Dense", "Dense"], f"expected Flatten, Dense, Dense; got {kinds}"
    hidden, output = model.layers[1], model.layers[2]
    assert hidden.units == 128 and hidden.activation.__name__ == "relu", (
        "hidden layer: Dense(128, relu)"
    )
    assert output.units == 10 and output.activation.__name__ == "softmax", (
        "output layer: Dense(10, softmax)"
    )
    expected = (28 * 28 * 128 + 128) + (128 * 10 + 10)
    assert model.count_params() == expected, (
        f"{expected} parameters expected, got {model.count_params()}"
    )
    compiled(model, "build_model")
    assert isinstance(model.optimizer, keras.optimizers.Adam), (
        f"use Adam, got {type(model.optimizer).__name__}"
    )
    assert "sparse_categorical_crossentropy" in str(model.loss), (
        f"integer labels (0..9, not one-hot): loss='sparse_categorical_crossentropy', "
        f"got {model.loss!r}"
    )
    x = rng.random((8, 28, 28), dtype=np.float32)
    result = model.evaluate(x, np.arange(8) % 10, verbose=0, return_dict=True)
    assert "accuracy" in result, (
        f"compile with metrics=['accuracy']; evaluate gave {sorted(result)}"
    )


@scenario
def drive_callback(lesson, threshold, logs_per_epoch, monitor=None):
    """Call the callback's on_epoch_end as fit would, with a stand-in model; report what it did."""
    import types

    if monitor is None:
        cb = lesson.StopAtAccuracy(threshold)
    else:
        cb = lesson.StopAtAccuracy(threshold, monitor=monitor)
    cb.set_model(types.SimpleNamespace(stop_training=False))
    stops = []
    for epoch, logs in enumerate(logs_per_epoch):
        cb.on_epoch_end(epoch, logs)
        stops.append(cb.model.stop_training)
    return {"stops": stops, "epoch": getattr(cb, "epoch", None)}


def test_callback_stops_at_first_epoch_reaching_threshold(lesson):
    accuracies = [0.5, 0.85, 0.899, 0.9]
    got = drive_callback(lesson, 0.9, [{"loss": 1.0, "accuracy": a} for a in accuracies])
    for acc, stop in zip(accuracies[:3], got["stops"], strict=False):
        assert not stop, f"accuracy {acc} < 0.9 must not stop training"
    assert got["stops"][3], (
        "accuracy 0.9 reaches the threshold 0.9: set self.model.stop_training = True"
    )
    assert got["epoch"] == 4, (
        f"the 4th epoch (index 3) reached it: record epoch = 4, got {got['epoch']!r}"
    )


def test_callback_can_watch_validation_accuracy(lesson):
    logs = [{"accuracy": 0.95, "val_accuracy": 0.7}, {"accuracy": 0.97, "val_accuracy": 0.81}]
    got = drive_callback(lesson, 0.8, logs, monitor="val_accuracy")
    assert not got["stops"][0], "monitor='val_accuracy' must ignore the training accuracy"
    assert got["stops"][1] and got["epoch"] == 2


def test_callback_explains_an_unknown_monitor(lesson):
    with pytest.raises(ValueError) as info:
        drive_callback(lesson, 0.9, [{"loss": 1.0, "accuracy": 0.5}], monitor="acc")
    message = str(info.value)
    assert "acc" in message and "accuracy" in message and "loss" in message, (
        f"the error should name the monitor and list the keys the logs have; got: {message}"
    )


@scenario
def train_briefly(lesson, limit, epochs, threshold=None, seed=0):
    """load_data, build_model and train as the lesson does; with a threshold, StopAtAccuracy too."""
    import keras

    keras.utils.set_random_seed(seed)
    splits = lesson.load_data(limit=limit)
    if threshold is None:
        history = lesson.train(lesson.build_model(), splits, epochs=epochs)
        return {"history": history, "model": history.model}
    cb = lesson.StopAtAccuracy(threshold)
    history = lesson.train(lesson.build_model(), splits, epochs=epochs, callbacks=[cb])
    return {"history": history, "epoch": cb.epoch}


def test_train_returns_history_and_learns(lesson, offline):
    got = train_briefly(lesson, 600, 3)
    history = got["history"]
    assert type_name(history) == "History", (
        f"return what model.fit returns (a History), got {type_name(history)}"
    )
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert len(history.history.get(key, [])) == 3, (
            f"history needs 3 values of {key!r}: validate on the test split"
        )
    # Scored here, not taken from the history: three seeded epochs on 600
    # stand-in digits reach ~0.85; 0.5 is far below.
    test = data.load_fashion_mnist(limit=600)
    scores = got["model"].evaluate(test.x_test / 255.0, test.y_test, verbose=0, return_dict=True)
    assert scores["accuracy"] > 0.5, f"test accuracy {scores['accuracy']:.3f} after 3 epochs"


def test_callback_stops_real_training(lesson, offline):
    # Any accuracy reaches 0: training must stop after the first epoch.
    got = train_briefly(lesson, 300, 5, threshold=0.0)
    epochs_run = len(got["history"].history["loss"])
    assert epochs_run == 1 and got["epoch"] == 1, (
        f"a threshold of 0 must stop after epoch 1; ran {epochs_run} epochs"
    )


def test_most_confused(lesson, rng):
    y_true = rng.integers(0, 10, 400)
    y_pred = np.where(rng.random(400) < 0.35, rng.integers(0, 10, 400), y_true)
    counts = np.zeros((10, 10), int)
    np.add.at(counts, (y_true, y_pred), 1)
    off = counts.copy()
    np.fill_diagonal(off, 0)
    k = int(rng.integers(3, 8))
    got = lesson.most_confused(y_true, y_pred, k)
    assert isinstance(got, list) and len(got) == k, f"a list of k = {k} triples, got {got!r}"
    for entry in got:
        i, j, n = (expect.integer(v, "each entry of a triple") for v in entry)
        assert i != j, f"({i}, {j}, {n}) is on the diagonal: those are the right answers"
        assert off[i, j] == n, f"true {i} predicted as {j} happens {off[i, j]} times, not {n}"
    counted = [n for _, _, n in got]
    assert counted == sorted(counted, reverse=True), f"largest first: {counted}"
    assert counted == sorted(off.ravel(), reverse=True)[:k], (
        f"the {k} largest counts off the diagonal are {sorted(off.ravel(), reverse=True)[:k]}, "
        f"got {counted}"
    )
