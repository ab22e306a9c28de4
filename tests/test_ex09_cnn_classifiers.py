"""Grading checks for ex09: CNN classifiers, and how to see them overfit.

Shapes and parameter counts are computed here from each layer's definition
(filters, kernel, pooling), not copied from a model summary; the settings of
build_cnn_classifier and the histories given to best_epoch and
overfitting_gap are drawn at grading time.
"""

import math

import numpy as np
import pytest

from workshop.grading import expect
from workshop.grading.judge import compiled, scenario, seed


def expected_cnn(filters, kernel, dense, pool_size=2):
    """[(kind, output shape)] and the parameter count of Conv/Pool stages, Flatten, Dense, Dense(10)."""
    size, channels, params, layers = 28, 1, 0, []
    for f, k in zip(filters, kernel, strict=True):
        params += (k * k * channels + 1) * f
        size, channels = size - k + 1, f
        layers.append(("Conv2D", (size, size, f)))
        size //= pool_size
        layers.append(("MaxPooling2D", (size, size, f)))
    flat = size * size * channels
    layers += [("Flatten", (flat,)), ("Dense", (dense,))]
    params += (flat + 1) * dense
    layers.append(("Dense", (10,)))
    params += (dense + 1) * 10
    return layers, params


def _summary(model):
    return [
        (type(layer).__name__, tuple(layer.output.shape[1:]))
        for layer in model.layers
        if type(layer).__name__ != "Dropout"
    ]


def _check_cnn(model, builder, filters, kernel, dense):
    import keras

    model = compiled(model, builder)
    assert tuple(model.input_shape) == (None, 28, 28, 1), (
        f"{builder}: start with keras.Input(shape=(28, 28, 1)), got input {model.input_shape}"
    )
    want, params = expected_cnn(filters, kernel, dense)
    got = _summary(model)
    assert got == want, (
        f"{builder}{tuple(filters), kernel[0], dense}: expected the layers (kind, output shape) "
        f"{want}, got {got}"
    )
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            assert layer.activation.__name__ == "relu", (
                f"{layer.name}: ReLU, got {layer.activation.__name__}"
            )
        if isinstance(layer, keras.layers.MaxPooling2D):
            assert layer.pool_size == (2, 2), f"{layer.name}: 2×2 pooling, got {layer.pool_size}"
    denses = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert denses[0].activation.__name__ == "relu", "the hidden Dense layer uses ReLU"
    assert denses[-1].activation.__name__ == "softmax", "10 softmax outputs, one per class"
    assert model.count_params() == params, (
        f"{builder}: the layers above hold {params:,} parameters, the model {model.count_params():,}"
    )
    assert "sparse_categorical_crossentropy" in str(model.loss), (
        f"labels are integers 0..9: loss='sparse_categorical_crossentropy', got {model.loss!r}"
    )
    return model


def test_the_courses_cnn(lesson):
    model = _check_cnn(
        lesson.build_cnn_classifier(), "build_cnn_classifier()", (64, 64), (3, 3), 128
    )
    assert model.count_params() == 243_786  # the course's own summary agrees with the layers
    import keras

    assert not any(isinstance(layer, keras.layers.Dropout) for layer in model.layers), (
        "dropout=0.0 (the default) means no Dropout layer"
    )


def test_cnn_classifier_follows_its_arguments(lesson, rng):
    import keras

    for _ in range(2):
        stages = int(rng.integers(1, 3))
        filters = tuple(int(f) for f in rng.integers(4, 24, stages))
        kernel = int(rng.choice([3, 5]))
        dense = int(rng.integers(16, 80))
        dropout = float(rng.choice([0.0, 0.25, 0.4]))
        l2 = float(rng.choice([0.0, 1e-3]))
        model = lesson.build_cnn_classifier(
            filters, kernel_size=kernel, dense=dense, dropout=dropout, l2=l2
        )
        name = f"build_cnn_classifier({filters}, kernel_size={kernel}, dense={dense}, dropout={dropout}, l2={l2})"
        _check_cnn(model, name, filters, (kernel,) * stages, dense)
        drops = [layer for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
        if dropout > 0:
            assert len(drops) == 1 and math.isclose(drops[0].rate, dropout), (
                f"{name}: one Dropout({dropout}) before the output layer, got {[d.rate for d in drops]}"
            )
            kinds = [type(layer).__name__ for layer in model.layers]
            assert kinds[-2] == "Dropout", (
                f"{name}: the Dropout goes just before the output layer, got {kinds}"
            )
        else:
            assert not drops, f"{name}: no Dropout layer when dropout is 0"
        weighted = [
            layer
            for layer in model.layers
            if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))
        ]
        for layer in weighted:
            reg = layer.kernel_regularizer
            if l2 > 0:
                assert reg is not None and math.isclose(
                    float(reg.get_config()["l2"]), l2, rel_tol=1e-6
                ), f"{name}: {layer.name} needs kernel_regularizer=penalty (L2 {l2}), got {reg!r}"
            else:
                assert reg is None, f"{name}: no regulariser when l2 is 0, {layer.name} has {reg!r}"


def test_the_ibm_courses_mnist_cnns(lesson):
    import keras

    one = _check_cnn(lesson.build_mnist_cnn(1), "build_mnist_cnn(1)", (16,), (5,), 100)
    assert one.count_params() == 231_926
    two = _check_cnn(lesson.build_mnist_cnn(2), "build_mnist_cnn(2)", (16, 8), (5, 2), 100)
    assert two.count_params() == 22_046
    for model in (one, two):
        for layer in model.layers:
            if isinstance(layer, keras.layers.MaxPooling2D):
                assert layer.strides == (2, 2), f"{layer.name}: strides (2, 2), got {layer.strides}"
    with pytest.raises(ValueError, match="variant"):
        lesson.build_mnist_cnn(3)


@scenario
def compare_two_small_models(lesson, sizes, epochs, n_train, n_test, data_seed):
    """compare_models on two tiny dense nets; each trained model is evaluated again here."""
    import numpy as np

    keras = lesson.keras
    rng = np.random.default_rng(data_seed)
    x = rng.random((n_train + n_test, 6, 6, 1)).astype("float32")
    y = (x[:, :3].mean(axis=(1, 2, 3)) > x[:, 3:].mean(axis=(1, 2, 3))).astype("int64")
    data = ((x[:n_train], y[:n_train]), (x[n_train:], y[n_train:]))
    built = []

    def builder(units):
        def build():
            model = keras.Sequential(
                [
                    keras.Input(shape=(6, 6, 1)),
                    keras.layers.Flatten(),
                    keras.layers.Dense(units, activation="relu"),
                    keras.layers.Dense(2, activation="softmax"),
                ]
            )
            model.compile(
                optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]
            )
            built.append(model)
            return model

        return build

    rows = lesson.compare_models(
        {f"dense {u}": builder(u) for u in sizes}, data, epochs=epochs, batch_size=16
    )
    again = [
        float(m.evaluate(x[n_train:], y[n_train:], verbose=0, return_dict=True)["accuracy"])
        for m in built
    ]
    plain = []
    for row in rows:
        history = row.get("history", {})
        plain.append(
            {
                "keys": sorted(row),
                "name": row.get("name"),
                "parameters": row.get("parameters"),
                "accuracy": row.get("accuracy"),
                "seconds_per_epoch": row.get("seconds_per_epoch"),
                "history_keys": sorted(history),
                "epochs_run": len(history.get("loss", [])),
            }
        )
    return {"rows": plain, "evaluated": again, "built": len(built)}


def test_compare_models_trains_and_reports(lesson, rng):
    sizes = [int(u) for u in rng.choice(np.arange(3, 20), 2, replace=False)]
    epochs = int(rng.integers(2, 4))
    got = compare_two_small_models(lesson, sizes, epochs, 96, 48, int(rng.integers(0, 2**31)))
    rows = got["rows"]
    assert got["built"] == 2, f"each builder called once, got {got['built']} models built"
    assert [r["name"] for r in rows] == [f"dense {u}" for u in sizes], (
        f"one row per builder, in the dict's order: {[f'dense {u}' for u in sizes]}, got {[r['name'] for r in rows]}"
    )
    for row, units, accuracy in zip(rows, sizes, got["evaluated"], strict=True):
        want = {"name", "parameters", "accuracy", "seconds_per_epoch", "history"}
        assert want <= set(row["keys"]), (
            f"each row needs the keys {sorted(want)}, got {row['keys']}"
        )
        params = (36 + 1) * units + (units + 1) * 2
        assert row["parameters"] == params, (
            f"{row['name']}: model.count_params() is {params}, the row says {row['parameters']}"
        )
        assert row["epochs_run"] == epochs, (
            f"{row['name']}: trained {row['epochs_run']} epochs, asked {epochs}"
        )
        assert "val_loss" in row["history_keys"] and "val_accuracy" in row["history_keys"], (
            f"{row['name']}: validate on the test split each epoch (history has {row['history_keys']})"
        )
        assert row["accuracy"] == pytest.approx(accuracy, abs=1e-6), (
            f"{row['name']}: the trained model scores {accuracy:.4f} on the test split, the row says "
            f"{row['accuracy']}"
        )
        seconds = row["seconds_per_epoch"]
        assert isinstance(seconds, float) and 0 < seconds < 60, (
            f"{row['name']}: seconds_per_epoch should be the fit's time divided by the epochs, got {seconds!r}"
        )


def _history(rng, epochs):
    """A training run that overfits: loss falls, val_loss falls then rises (noisy)."""
    t = np.arange(epochs)
    loss = 1.5 * np.exp(-t / 4) + 0.05 + rng.uniform(0, 0.02, epochs)
    turn = int(rng.integers(2, epochs - 2))
    val = 0.9 * np.exp(-t / 3) + 0.01 * (t - turn) ** 2 + 0.3 + rng.uniform(0, 0.01, epochs)
    return loss, val


def test_best_epoch(lesson, rng):
    for _ in range(3):
        epochs = int(rng.integers(6, 15))
        loss, val = _history(rng, epochs)
        want = int(np.argmin(val)) + 1
        got = lesson.best_epoch({"loss": loss.tolist(), "val_loss": val.tolist()})
        assert got == want, (
            f"val_loss {np.round(val, 3).tolist()}: the lowest is at epoch {want} (counting from 1), got {got}"
        )
    loss, val = _history(rng, 8)
    low = int(np.argmin(val))
    val[low] = np.nan  # the best epoch blew up
    want = int(np.nanargmin(val)) + 1
    got = lesson.best_epoch({"loss": loss.tolist(), "val_loss": val.tolist()})
    assert got == want, (
        f"val_loss {np.round(val, 3).tolist()}: a NaN epoch cannot be the best; expected {want}, got {got}"
    )
    with pytest.raises(ValueError, match="val_loss"):
        lesson.best_epoch({"loss": loss.tolist()})


def test_overfitting_gap(lesson, rng):
    epochs = int(rng.integers(5, 12))
    loss, val = _history(rng, epochs)
    got = lesson.overfitting_gap(
        {"loss": loss.tolist(), "val_loss": val.tolist(), "accuracy": [0.5] * epochs}
    )
    assert isinstance(got, list) and all(isinstance(v, float) for v in got), (
        f"a list of plain floats, one per epoch; got {type(got).__name__} of "
        f"{sorted({type(v).__name__ for v in got}) if hasattr(got, '__iter__') else '?'}"
    )
    expect.close(
        np.array(got),
        val - loss,
        "overfitting_gap",
        atol=1e-9,
        hint="val_loss − loss, epoch by epoch",
    )


def test_a_small_cnn_learns(lesson, tmp_path, monkeypatch):
    """build_cnn_classifier's model trains: its loss falls on a few images (seeded)."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setenv("WORKSHOP_OFFLINE", "1")
    import keras

    from workshop import data

    keras.utils.set_random_seed(0)
    seed(lesson, 0)
    images = data.load_fashion_mnist(limit=512)
    x = (images.x_train.astype("float32") / 255)[..., None]
    model = compiled(lesson.build_cnn_classifier(filters=(8, 8), dense=32), "build_cnn_classifier")
    before = model.evaluate(x, images.y_train, verbose=0, return_dict=True)
    model.fit(x, images.y_train, epochs=4, batch_size=32, verbose=0)
    after = model.evaluate(x, images.y_train, verbose=0, return_dict=True)
    # Seeded: ~2.3 -> ~1.0 on the stand-in digits; a 20% drop leaves a wide margin.
    assert after["loss"] < 0.8 * before["loss"], (
        f"loss went {before['loss']:.3f} -> {after['loss']:.3f} in 4 epochs: it should drop"
    )
    assert "accuracy" in after, "compile with metrics=['accuracy']"
