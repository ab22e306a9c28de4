"""Grading checks for ex04: data scaling, the dense model, the StopAtAccuracy callback, training.

Data: the offline stand-in (no download) in a temporary cache, compared with
what the helper layer itself returns. Model checks compare with numbers
computed from the layer definitions. Training checks are seeded and use
margins far from the values a correct solution reaches.
"""

from types import SimpleNamespace

import numpy as np
import pytest

from workshop import data


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
    assert np.issubdtype(x_train.dtype, np.floating), (
        f"scaled images should be floats, got {x_train.dtype}"
    )
    assert x_train.min() >= 0.0 and x_train.max() <= 1.0, (
        f"pixels should lie in [0, 1] (divide by 255), got {x_train.min()}..{x_train.max()}"
    )
    np.testing.assert_allclose(
        x_train, raw.x_train / 255.0, atol=1e-6, err_msg="x_train should be images / 255"
    )
    np.testing.assert_array_equal(y_train, raw.y_train, err_msg="labels must be unchanged")
    np.testing.assert_array_equal(y_test, raw.y_test)


def test_model_architecture(lesson):
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
    assert isinstance(model.optimizer, keras.optimizers.Adam), (
        f"use Adam, got {type(model.optimizer).__name__}"
    )
    assert "sparse_categorical_crossentropy" in str(model.loss), f"loss: {model.loss}"
    x = np.random.default_rng(0).random((8, 28, 28), dtype=np.float32)
    result = model.evaluate(x, np.arange(8) % 10, verbose=0, return_dict=True)
    assert "accuracy" in result, (
        f"compile with metrics=['accuracy']; evaluate gave {sorted(result)}"
    )


def _fake_model():
    return SimpleNamespace(stop_training=False)


def test_callback_stops_at_first_epoch_reaching_threshold(lesson):
    cb = lesson.StopAtAccuracy(0.9)
    cb.set_model(_fake_model())
    for epoch, acc in enumerate([0.5, 0.85, 0.899]):
        cb.on_epoch_end(epoch, {"loss": 1.0, "accuracy": acc})
        assert not cb.model.stop_training, f"accuracy {acc} < 0.9 must not stop training"
    cb.on_epoch_end(3, {"loss": 0.3, "accuracy": 0.9})
    assert cb.model.stop_training, (
        "accuracy 0.9 reaches the threshold 0.9: set self.model.stop_training = True"
    )
    assert cb.epoch == 4, f"the 4th epoch (index 3) reached it: record epoch = 4, got {cb.epoch!r}"


def test_callback_can_watch_validation_accuracy(lesson):
    cb = lesson.StopAtAccuracy(0.8, monitor="val_accuracy")
    cb.set_model(_fake_model())
    cb.on_epoch_end(0, {"accuracy": 0.95, "val_accuracy": 0.7})
    assert not cb.model.stop_training, "monitor='val_accuracy' must ignore the training accuracy"
    cb.on_epoch_end(1, {"accuracy": 0.97, "val_accuracy": 0.81})
    assert cb.model.stop_training and cb.epoch == 2


def test_callback_explains_an_unknown_monitor(lesson):
    cb = lesson.StopAtAccuracy(0.9, monitor="acc")
    cb.set_model(_fake_model())
    with pytest.raises(ValueError) as info:
        cb.on_epoch_end(0, {"loss": 1.0, "accuracy": 0.5})
    message = str(info.value)
    assert "acc" in message and "accuracy" in message and "loss" in message, (
        f"the error should name the monitor and list the keys the logs have; got: {message}"
    )


def test_train_returns_history_and_learns(lesson, offline):
    import keras

    keras.utils.set_random_seed(0)
    splits = lesson.load_data(limit=600)
    model = lesson.build_model()
    history = lesson.train(model, splits, epochs=3)
    assert isinstance(history, keras.callbacks.History), (
        f"return what model.fit returns, got {type(history)}"
    )
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert len(history.history.get(key, [])) == 3, (
            f"history needs 3 values of {key!r}: validate on the test split"
        )
    # Seeded: three epochs on 600 stand-in digits reach ~0.85; 0.5 is far below.
    assert history.history["val_accuracy"][-1] > 0.5, (
        f"val_accuracy {history.history['val_accuracy']}"
    )


def test_callback_stops_real_training(lesson, offline):
    import keras

    keras.utils.set_random_seed(0)
    splits = lesson.load_data(limit=300)
    cb = lesson.StopAtAccuracy(0.0)  # any accuracy reaches 0: stop after the first epoch
    history = lesson.train(lesson.build_model(), splits, epochs=5, callbacks=[cb])
    assert len(history.history["loss"]) == 1 and cb.epoch == 1, (
        f"a threshold of 0 must stop after epoch 1; ran {len(history.history['loss'])} epochs"
    )
