"""ex04's own toolkit tests: bad input refused, the class names, the TFDS loader, the answers."""

from __future__ import annotations

import numpy as np
import pytest

from workshop import backend
from workshop.grading.loader import load_lesson


@pytest.fixture(scope="module")
def ex04():
    return load_lesson("ex04_fashion_mnist_callbacks", "solutions")


def test_class_names_in_zalandos_order(ex04):
    # Zalando's label order (fashion-mnist README).
    assert ex04.CLASS_NAMES[0] == "T-shirt/top" and ex04.CLASS_NAMES[9] == "Ankle boot"
    assert len(ex04.CLASS_NAMES) == 10 and ex04.CLASS_NAMES[6] == "Shirt"


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda m: m.StopAtAccuracy("high"), "threshold must be a number"),
        (lambda m: m.StopAtAccuracy(0.9, monitor=3), "monitor must be a metric's name"),
        (
            lambda m: m.train(None, ((np.zeros((2, 28, 28)), np.zeros(2)),) * 2, epochs=0),
            "epochs must be at least 1",
        ),
        (lambda m: m.most_confused([0, 1, 2], [0, 1, 1], k=-1), "k must be at least 1"),
        (lambda m: m.most_confused([0, -1, 2], [0, 1, 1]), "class labels from 0"),
        (lambda m: m.most_confused([0, 1], [0, 1, 1]), "same length"),
    ],
)
def test_bad_input_is_a_value_error_naming_both(ex04, call, message):
    with pytest.raises(ValueError, match=message):
        call(ex04)


def test_an_unknown_monitor_lists_what_the_logs_have(ex04):
    import types

    stopper = ex04.StopAtAccuracy(0.9, monitor="acc")
    stopper.set_model(types.SimpleNamespace(stop_training=False))
    with pytest.raises(ValueError, match=r"'acc'.*\['accuracy', 'loss'\]"):
        stopper.on_epoch_end(0, {"loss": 0.5, "accuracy": 0.8})


def test_numpy_numbers_are_numbers(ex04):
    assert ex04.StopAtAccuracy(np.float32(0.9)).threshold == pytest.approx(0.9)
    data = ((np.zeros((8, 28, 28), "float32"), np.arange(8) % 10),) * 2
    history = ex04.train(ex04.build_model(), data, epochs=np.int64(1))
    assert len(history.history["loss"]) == 1


def test_most_confused_ties_keep_row_order(ex04):
    y_true = [0, 0, 1, 2, 2, 3]
    y_pred = [1, 2, 0, 3, 3, 0]  # (2, 3) twice; (0, 1), (0, 2), (1, 0), (3, 0) once
    assert ex04.most_confused(y_true, y_pred, k=4) == [(2, 3, 2), (0, 1, 1), (0, 2, 1), (1, 0, 1)]


def test_the_answers(ex04):
    got = ex04.answers()
    assert got["q1"] == 785 * 128 + 129 * 10 == 101_770
    assert got["q2"] == 469  # 468 full batches of 128 and one of 96
    assert got["q3"] == pytest.approx(np.log(10), rel=1e-5)
    assert got["q4"] == "c"


@pytest.mark.skipif(not backend.is_tensorflow(), reason="TFDS's tf.data pipeline: TensorFlow only")
def test_loads_fashion_mnist_the_tfds_way_under_mock_data(ex04):
    """The tfds.load path, run with TFDS's own mock data (no network)."""
    import tensorflow as tf
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=48):
        train, test, info = ex04.load_tfds(batch_size=16)
        x, y = next(iter(train))
    assert tuple(x.shape) == (16, 28, 28) and x.dtype == tf.float32
    assert float(tf.reduce_min(x)) >= 0.0 and float(tf.reduce_max(x)) <= 1.0
    assert y.dtype == tf.int64 and info.features["label"].num_classes == 10
    model = ex04.build_model()
    history = model.fit(train, validation_data=test, epochs=1, verbose=0)
    assert "val_accuracy" in history.history, "the TFDS pipelines feed fit directly"


def test_tfds_is_said_to_be_tensorflow_only_elsewhere(ex04, monkeypatch, capsys):
    monkeypatch.setattr(backend, "name", lambda: "jax")
    assert ex04.tfds_pipelines(True) is None
    assert "TensorFlow only" in capsys.readouterr().out
    assert ex04.tfds_pipelines(False) is None
