"""Grading checks for ex04: data scaling, the dense model, the StopAtAccuracy callback, training.

Every verdict rests on numbers the judge computes. The data: the offline
stand-in, as the helper layer returns it here. The model: rebuilt here,
compared with the judge's own Keras network given the same weights (its
outputs on the judge's images), its loss with Keras's sparse categorical
cross-entropy on the judge's labels, its optimiser by the weights two Adam
steps give. The callback runs where the lesson runs (a @scenario) as `fit`
calls it; a trained model is scored here, and its history recomputed from it.
"""

import math

import numpy as np
import pytest

from workshop import data
from workshop.grading import expect
from workshop.grading.checks import answer, same_network, same_training
from workshop.grading.judge import compiled, scenario, seed, type_name


@pytest.fixture
def offline(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setenv("WORKSHOP_OFFLINE", "1")


def reference_model():
    """The judge's own Flatten → Dense(128, relu) → Dense(10, softmax)."""
    import keras

    return keras.Sequential(
        [
            keras.Input(shape=(28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def test_load_data_scales_to_unit_range(lesson, offline, rng):
    limit = int(rng.integers(100, 400))
    (x_train, y_train), (x_test, y_test) = lesson.load_data(limit=limit)
    raw = data.load_fashion_mnist(limit=limit)
    expect.array(x_train, "x_train", dtype="float32", shape=raw.x_train.shape)
    expect.array(x_test, "x_test", dtype="float32", shape=raw.x_test.shape)
    expect.close(x_train, raw.x_train / 255.0, "x_train", atol=1e-6, hint="pixels / 255")
    expect.close(x_test, raw.x_test / 255.0, "x_test", atol=1e-6, hint="pixels / 255")
    expect.equal(y_train, raw.y_train, "y_train", hint="labels must be unchanged")
    expect.equal(y_test, raw.y_test, "y_test", hint="labels must be unchanged")


def test_model_computes_flatten_relu_softmax(lesson, rng):
    model = lesson.build_model()
    x = rng.random((16, 28, 28), dtype=np.float32)
    same_network(
        model,
        reference_model(),
        x,
        "build_model's network",
        "28×28 inputs, flattened; 128 relu units; 10 softmax outputs (probabilities)",
        inputs="images",
    )


def test_model_learns_with_adam_and_sparse_cross_entropy(lesson, rng):
    import keras

    model = compiled(lesson.build_model(), "build_model")
    x = rng.random((32, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, 32)
    same_training(
        model,
        reference_model(),
        x,
        y,
        keras.losses.SparseCategoricalCrossentropy(),
        keras.optimizers.Adam(),
        "build_model's model",
        "integer labels 0..9: the sparse categorical cross-entropy; optimizer='adam'",
    )


@scenario
def fit_calls(lesson, threshold, logs_per_epoch, monitor=None):
    """Call on_epoch_end as fit does (stopping when asked), with a stand-in model."""
    import types

    if monitor is None:
        cb = lesson.StopAtAccuracy(threshold)
    else:
        cb = lesson.StopAtAccuracy(threshold, monitor=monitor)
    cb.set_model(types.SimpleNamespace(stop_training=False))
    calls = 0
    for epoch, logs in enumerate(logs_per_epoch):
        cb.on_epoch_end(epoch, dict(logs))
        calls += 1
        if cb.model.stop_training is True:
            break
    return {"calls": calls, "stop": cb.model.stop_training, "epoch": getattr(cb, "epoch", None)}


def test_callback_stops_at_first_epoch_reaching_threshold(lesson, rng):
    threshold = float(rng.uniform(0.6, 0.95))
    first = int(rng.integers(1, 6))  # epochs 1..first-1 below the threshold, epoch `first` on it
    below = np.sort(rng.uniform(0.3, threshold - 0.01, first - 1))
    values = [*below, threshold, min(1.0, threshold + 0.02)]
    got = fit_calls(lesson, threshold, [{"loss": 1.0, "accuracy": v} for v in values])
    expect.equal(
        got["calls"],
        first,
        f"the epoch at which training stops (accuracies {np.round(values, 3).tolist()}, "
        f"threshold {threshold:.3f})",
        hint="stop at the first epoch whose accuracy is at least the threshold (>=), not before",
    )
    assert got["stop"] is True, "stop with self.model.stop_training = True"
    expect.equal(
        got["epoch"], first, "self.epoch", hint="Keras's epoch counts from 0; people from 1"
    )


def test_callback_can_watch_validation_accuracy(lesson, rng):
    threshold = float(rng.uniform(0.7, 0.9))
    logs = [
        {"accuracy": 0.99, "val_accuracy": threshold - 0.05},
        {"accuracy": 0.99, "val_accuracy": threshold + 0.01},
    ]
    got = fit_calls(lesson, threshold, logs, monitor="val_accuracy")
    expect.equal(
        got["calls"], 2, "the epoch at which training stops", hint="read logs[self.monitor]"
    )
    expect.equal(got["epoch"], 2, "self.epoch")


def test_callback_explains_an_unknown_monitor(lesson):
    with pytest.raises(ValueError) as info:
        fit_calls(lesson, 0.9, [{"loss": 1.0, "accuracy": 0.5, "val_loss": 1.2}], monitor="acc")
    message = str(info.value)
    for word in ("'acc'", "accuracy", "val_loss"):
        assert word in message, (
            f"the error should name the monitor and list the keys the logs have "
            f"({word} is missing); got: {message}"
        )


@scenario
def train_briefly(lesson, limit, epochs, threshold=None):
    """load_data, build_model and train as the lesson does; with a threshold, StopAtAccuracy too."""
    splits = lesson.load_data(limit=limit)
    callbacks = [] if threshold is None else [lesson.StopAtAccuracy(threshold)]
    history = lesson.train(lesson.build_model(), splits, epochs=epochs, callbacks=callbacks)
    epoch = callbacks[0].epoch if callbacks else None
    return {"history": history, "model": history.model, "epoch": epoch}


def test_train_returns_history_and_learns(lesson, offline):
    seed(lesson, 0)
    got = train_briefly(lesson, 600, 3)
    history = got["history"]
    assert type_name(history) == "History", (
        f"return what model.fit returns (a History), got {type_name(history)}"
    )
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert len(history.history.get(key, [])) == 3, (
            f"history needs 3 values of {key!r}: validate on the test split"
        )
    # Scored here: the returned model on the judge's test images.
    test = data.load_fashion_mnist(limit=600)
    x, y = test.x_test.astype("float32") / 255.0, test.y_test
    scores = got["model"].evaluate(x, y, verbose=0, return_dict=True)
    for key in ("loss", "accuracy"):
        expect.close(
            history.history[f"val_{key}"][-1],
            scores[key],
            f"the history's last val_{key} (against the returned model scored on the test split)",
            rtol=1e-3,
            atol=1e-4,
        )
    # Seeded: three epochs on 600 stand-in digits reach ~0.85; 0.5 is far below.
    expect.between(scores["accuracy"], 0.5, 1.0, "test accuracy after 3 epochs")


def test_callback_stops_real_training(lesson, offline):
    # Any accuracy reaches 0: training must stop after the first epoch.
    got = train_briefly(lesson, 300, 5, threshold=0.0)
    expect.equal(len(got["history"].history["loss"]), 1, "epochs run with threshold 0")
    expect.equal(got["epoch"], 1, "StopAtAccuracy(0.0).epoch after fit")


def test_most_confused(lesson, rng):
    y_true = rng.integers(0, 10, 300)
    y_pred = np.where(rng.random(300) < 0.15, rng.integers(0, 10, 300), y_true)
    off = np.zeros((10, 10), int)
    np.add.at(off, (y_true, y_pred), 1)
    np.fill_diagonal(off, 0)
    k = int(rng.integers(4, 9))
    cells = sorted(((i, j) for i in range(10) for j in range(10)), key=lambda c: -off[c])
    want = [(i, j, int(off[i, j])) for i, j in cells[:k]]  # sorted() keeps ties in row order
    got = lesson.most_confused(y_true, y_pred, k)
    assert isinstance(got, list) and len(got) == k, f"a list of k = {k} triples, got {got!r}"
    for entry in got:
        for v in entry:
            expect.integer(v, "each number of a triple")
    hint = "off the diagonal only, largest count first, ties in row-by-row order"
    expect.equal(got, want, f"most_confused(..., k={k})", hint=hint)
    every = int(np.count_nonzero(off))  # every kind of mistake, down to those made once
    want = [(i, j, int(off[i, j])) for i, j in cells[:every]]
    expect.equal(lesson.most_confused(y_true, y_pred, every), want, f"k={every}", hint=hint)


# --------------------------------------------------------------------------- the questions


def test_q1_parameters(lesson):
    want = reference_model().count_params()
    got = expect.integer(answer(lesson, "q1"), "q1 (the network's parameters)")
    expect.equal(got, want, "q1", hint="a weight per input per unit, and a bias per unit")


def test_q2_updates_per_epoch(lesson):
    want = math.ceil(60_000 / 128)
    got = expect.integer(answer(lesson, "q2"), "q2 (updates in one epoch)")
    expect.equal(got, want, "q2", hint="one update per batch; the last batch may be smaller")


def test_q3_loss_of_a_uniform_guess(lesson):
    import keras

    uniform = np.full((4, 10), 0.1, dtype="float32")
    loss = keras.losses.SparseCategoricalCrossentropy()(np.array([0, 3, 6, 9]), uniform)
    want = float(keras.ops.convert_to_numpy(loss))
    got = expect.number(answer(lesson, "q3"), "q3 (the loss of a uniform guess)")
    expect.close(got, want, "q3", rtol=1e-3, hint="−ln p of the right class, with p = 1/10")


def test_q4_the_validation_accuracy_key(lesson, rng):
    import keras

    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = rng.random((8, 3)), rng.integers(0, 2, 8)
    keys = model.fit(x, y, validation_data=(x, y), epochs=1, verbose=0).history
    options = {"a": "acc", "b": "val_acc", "c": "val_accuracy", "d": "validation_accuracy"}
    want = next(letter for letter, key in options.items() if key in keys and "val" in key)
    got = answer(lesson, "q4")
    expect.equal(got, want, "q4 (a letter)", hint="fit a model with validation_data and look")
