"""Grading checks for ex09: CNN classifiers, a validation split, and overfitting.

A pass rests on numbers computed here. The models come back rebuilt in the judge
and are set side by side with reference models built here from the lesson's
layer table: with the same weights they must predict the same, have the same loss
(L2 penalty included) and, after one training step, the same weights: the
activations, the pooling, the loss and the optimiser are judged by what they
compute, never by their names. compare_models and regularisation_study run on
images that carry their own number (first pixel = number / 4096), in a scenario
that records what fit and evaluate were really given: the judge sees which split
trained, which one validated and which one tested, and evaluates the trained
models itself. Settings and data are drawn at grading time.
"""

import numpy as np

from workshop.grading import expect
from workshop.grading.judge import compiled, scenario, type_name

NUMBER = 4096  # an image's number, in its first pixel: number / NUMBER (exact in float32)


# --------------------------------------------------------------------------- reference models


def reference_cnn(stages, dense, dropout=0.0, l2=0.0):
    """The lesson's table in Keras: per (filters, kernel) stage Conv2D(relu) and 2×2 max
    pooling (strides 2), then Flatten, Dense(dense, relu), Dropout, Dense(10, softmax)."""
    import keras

    penalty = keras.regularizers.L2(l2) if l2 else None
    layers = [keras.Input(shape=(28, 28, 1))]
    for filters, kernel in stages:
        layers.append(
            keras.layers.Conv2D(filters, kernel, activation="relu", kernel_regularizer=penalty)
        )
        layers.append(keras.layers.MaxPooling2D(pool_size=2, strides=2))
    layers.append(keras.layers.Flatten())
    layers.append(keras.layers.Dense(dense, activation="relu", kernel_regularizer=penalty))
    if dropout:
        layers.append(keras.layers.Dropout(dropout))
    layers.append(keras.layers.Dense(10, activation="softmax", kernel_regularizer=penalty))
    model = keras.Sequential(layers)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.001),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )
    return model


def _table(model) -> str:
    return " → ".join(f"{type(lay).__name__} {tuple(lay.output.shape[1:])}" for lay in model.layers)


def check_like(model, reference, what, rng, *, step=True):
    """`model` (the attendee's, rebuilt here) computes what `reference` computes."""
    import keras

    model = compiled(model, what)
    expect.equal(
        _table(model),
        _table(reference),
        f"{what}: the layers (kind, output shape)",
        hint="compare with the table in the lesson: stages, pooling, Flatten, Dense, Dropout",
    )
    expect.equal(model.count_params(), reference.count_params(), f"{what}: the parameters")
    reference.set_weights(model.get_weights())
    x = rng.random((12, 28, 28, 1)).astype("float32")
    y = rng.integers(0, 10, 12)
    out = keras.ops.convert_to_numpy(model(x, training=False))
    want = keras.ops.convert_to_numpy(reference(x, training=False))
    expect.close(
        out,
        want,
        f"{what}: its predictions, against a model built here with its own weights",
        rtol=1e-4,
        atol=1e-6,
        hint="which activation after each convolution and hidden Dense layer, which at the end?",
    )
    expect.close(
        float(keras.ops.convert_to_numpy(model.compute_loss(x=x, y=y, y_pred=out, training=False))),
        float(
            keras.ops.convert_to_numpy(
                reference.compute_loss(x=x, y=y, y_pred=want, training=False)
            )
        ),
        f"{what}: its loss on 12 images with integer labels",
        rtol=1e-5,
        hint="sparse categorical cross-entropy, plus the L2 penalty of every kernel when l2 > 0",
    )
    if not step:  # dropout draws at random while training: no step to compare
        return model
    logs = model.train_on_batch(x, y, return_dict=True)
    assert "accuracy" in logs, f"{what}: compile with metrics=['accuracy'], got {sorted(logs)}"
    ref_logs = reference.train_on_batch(x, y, return_dict=True)
    expect.close(logs["accuracy"], ref_logs["accuracy"], f"{what}: its accuracy", atol=1e-6)
    for i, (got, w) in enumerate(zip(model.get_weights(), reference.get_weights(), strict=True)):
        expect.close(
            got,
            w,
            f"{what}: weight array {i} after one training step",
            rtol=1e-4,
            atol=1e-6,
            hint="compile with optimizer='adam' (its own learning rate) and the loss above",
        )
    return model


def test_the_courses_cnn(lesson, rng):
    model = check_like(
        lesson.build_cnn_classifier(),
        reference_cnn([(64, 3), (64, 3)], 128),
        "build_cnn_classifier()",
        rng,
    )
    import keras

    assert not any(isinstance(lay, keras.layers.Dropout) for lay in model.layers), (
        "dropout=0.0 (the default) means no Dropout layer"
    )


def test_cnn_classifier_follows_its_arguments(lesson, rng):
    for dropout in (0.0, float(rng.choice([0.25, 0.4]))):
        stages = int(rng.integers(1, 3))
        filters = tuple(int(f) for f in rng.integers(2, 9, stages))
        kernel = int(rng.choice([3, 5]))
        dense = int(rng.integers(8, 40))
        l2 = float(rng.choice([1e-3, 1e-2])) if dropout == 0 else 0.0
        what = (
            f"build_cnn_classifier({filters}, kernel_size={kernel}, dense={dense}, "
            f"dropout={dropout}, l2={l2})"
        )
        model = lesson.build_cnn_classifier(
            filters, kernel_size=kernel, dense=dense, dropout=dropout, l2=l2
        )
        reference = reference_cnn([(f, kernel) for f in filters], dense, dropout, l2)
        model = check_like(model, reference, what, rng, step=dropout == 0)
        rates = [lay.rate for lay in model.layers if type(lay).__name__ == "Dropout"]
        expect.close(rates, [dropout] if dropout else [], f"{what}: the Dropout rates", rtol=1e-6)


def test_the_ibm_courses_mnist_cnns(lesson, rng):
    check_like(
        lesson.build_mnist_cnn(1),
        reference_cnn([(16, 5)], 100),
        "build_mnist_cnn(1)",
        rng,
        step=False,
    )
    check_like(
        lesson.build_mnist_cnn(2), reference_cnn([(16, 5), (8, 2)], 100), "build_mnist_cnn(2)", rng
    )


# --------------------------------------------------------------------------- the validation split


def test_validation_split(lesson, rng):
    n = int(rng.integers(40, 90))
    fraction = float(rng.choice([0.1, 0.2, 0.25, 0.3]))
    seed = int(rng.integers(0, 10_000))
    x = rng.random((n, 3, 2)).astype("float32")
    x[:, 0, 0] = np.arange(n)  # each row's number
    y = rng.integers(0, 10, n)
    call = f"validation_split(x, y, fraction={fraction}, seed={seed}) on {n} rows"
    got = lesson.validation_split(x, y, fraction, seed)
    assert isinstance(got, tuple) and len(got) == 2 and all(len(p) == 2 for p in got), (
        f"{call}: return ((x_train, y_train), (x_val, y_val)), got {type_name(got)}"
    )
    (x_fit, y_fit), (x_val, y_val) = got
    n_val = round(fraction * n)
    expect.array(x_val, "x_val", dtype="float32", shape=(n_val, 3, 2))
    expect.array(x_fit, "x_train", dtype="float32", shape=(n - n_val, 3, 2))
    val, fit = x_val[:, 0, 0].astype(int), x_fit[:, 0, 0].astype(int)
    expect.equal(
        np.sort(np.concatenate([fit, val])),
        np.arange(n),
        f"{call}: the row numbers of both parts, sorted",
        hint="every row in exactly one part: none lost, none twice",
    )
    expect.equal(x_fit, x[fit], f"{call}: the training rows, whole")
    expect.equal(x_val, x[val], f"{call}: the validation rows, whole")
    expect.equal(y_fit, y[fit], f"{call}: y_train, the labels of the training rows")
    expect.equal(y_val, y[val], f"{call}: y_val, the labels of the validation rows")
    again = lesson.validation_split(x, y, fraction, seed)[1][0][:, 0, 0].astype(int)
    expect.equal(
        again, val, f"{call} a second time: the validation rows", hint="seed the generator"
    )
    other = lesson.validation_split(x, y, fraction, seed + 1)[1][0][:, 0, 0].astype(int)
    assert sorted(other) != sorted(val), (
        f"{call}: seeds {seed} and {seed + 1} hold out the same rows {sorted(val)}: the rows "
        "should be drawn at random with the seed, not taken in order"
    )


# --------------------------------------------------------------------------- what fit and evaluate saw


def numbered(rng, n_train, n_test, size):
    """Images (size, size, 1) whose first pixel is their number, and labels a network can learn."""
    x = rng.random((n_train + n_test, size, size, 1)).astype("float32")
    y = (x[:, : size // 2].mean(axis=(1, 2, 3)) > x[:, size // 2 :].mean(axis=(1, 2, 3))).astype(
        int
    )
    x[:, 0, 0, 0] = np.arange(n_train + n_test) / NUMBER
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])


@scenario
def recorded(lesson, which, train, test, kwargs):
    """compare_models (on small dense nets built here) or regularisation_study, with every
    fit and evaluate recorded: which images (by number), which labels, the settings, the
    callbacks, the time, the History; then the trained models themselves."""
    import inspect
    import time

    import keras
    import numpy as np

    models, calls, inside = [], [], []
    real_fit, real_evaluate = keras.Model.fit, keras.Model.evaluate
    saved = {n: keras.Model.__dict__.get(n) for n in ("fit", "evaluate")}

    def index(model):
        for i, m in enumerate(models):
            if m is model:
                return i
        models.append(model)
        return len(models) - 1

    def numbers(x):
        if x is None:
            return None
        if not isinstance(x, np.ndarray):
            return f"a {type(x).__name__}, not an array"
        return np.rint(x.reshape(len(x), -1)[:, 0] * 4096).astype(int).tolist()

    def labels(y):
        return np.asarray(y).astype(int).tolist() if isinstance(y, np.ndarray) else None

    def fit(self, *args, **kw):
        a = inspect.signature(real_fit).bind(self, *args, **kw).arguments
        val = a.get("validation_data")
        val = tuple(val) + (None,) * 2 if isinstance(val, (tuple, list)) else (val, None)
        entry = {
            "call": "fit",
            "model": index(self),
            "x": numbers(a.get("x")),
            "y": labels(a.get("y")),
            "val_x": numbers(val[0]),
            "val_y": labels(val[1]),
            "validation_split": float(a.get("validation_split") or 0.0),
            "epochs": a.get("epochs", 1),
            "batch_size": a.get("batch_size"),
            "callbacks": [
                [type(c).__name__, str(getattr(c, "monitor", ""))] for c in a.get("callbacks") or []
            ],
            "initial": [np.array(w) for w in self.get_weights()],
        }
        inside.append(1)
        start = time.perf_counter()
        try:
            history = real_fit(self, *args, **kw)
        finally:
            inside.pop()
        entry["seconds"] = time.perf_counter() - start
        entry["history"] = {k: [float(v) for v in vs] for k, vs in history.history.items()}
        calls.append(entry)
        return history

    def evaluate(self, *args, **kw):
        if not inside:  # fit validates through evaluate: that is not a test
            a = inspect.signature(real_evaluate).bind(self, *args, **kw).arguments
            calls.append({"call": "evaluate", "model": index(self), "x": numbers(a.get("x"))})
        return real_evaluate(self, *args, **kw)

    keras.Model.fit, keras.Model.evaluate = fit, evaluate
    try:
        if which == "compare_models":
            built = []

            def builder(units):
                def build():
                    model = keras.Sequential(
                        [
                            keras.Input(shape=train[0].shape[1:]),
                            keras.layers.Flatten(),
                            keras.layers.Dense(units, activation="relu"),
                            keras.layers.Dense(2, activation="softmax"),
                        ]
                    )
                    model.compile(
                        optimizer="adam",
                        loss="sparse_categorical_crossentropy",
                        metrics=["accuracy"],
                    )
                    built.append(index(model))
                    return model

                return build

            sizes = kwargs.pop("sizes")
            rows = lesson.compare_models(
                {f"dense {u}": builder(u) for u in sizes}, (train, test), **kwargs
            )
            result = [
                {
                    "keys": sorted(row),
                    "name": row.get("name"),
                    "parameters": row.get("parameters"),
                    "accuracy": row.get("accuracy"),
                    "seconds_per_epoch": row.get("seconds_per_epoch"),
                    "history": dict(row.get("history") or {}),
                    "model": next((i for i, m in enumerate(models) if m is row.get("model")), -1),
                }
                for row in rows
            ]
            return {"calls": calls, "models": models, "result": result, "built": built}
        histories = lesson.regularisation_study((train, test), **kwargs)
        result = {
            name: {
                "history": dict(getattr(h, "history", {})),
                "test_accuracy": getattr(h, "test_accuracy", None),
            }
            for name, h in histories.items()
        }
        return {"calls": calls, "models": models, "result": result}
    finally:
        for name, method in saved.items():
            if method is None:
                delattr(keras.Model, name)
            else:
                setattr(keras.Model, name, method)


def judged(model, x, y):
    """The judge's own loss (mean sparse cross-entropy) and accuracy of `model` on (x, y)."""
    import keras

    p = keras.ops.convert_to_numpy(model(x, training=False)).astype(float)
    loss = float(np.mean(-np.log(np.clip(p[np.arange(len(y)), y], 1e-7, 1.0))))
    return loss, float(np.mean(np.argmax(p, axis=1) == y))


def check_protocol(got, train, test, fraction, epochs, who):
    """Each model: one fit on training rows, validated on the held-out rows (never on the test
    split), then one evaluate on the whole test split. Returns {model: (fit entry, its rows)}."""
    (x_train, y_train), (x_test, _) = train, test
    n, n_val = len(x_train), round(fraction * len(x_train))
    test_ids = set(range(n, n + len(x_test)))
    fits = {}
    for step, c in enumerate(got["calls"]):
        if c["call"] == "fit":
            assert c["model"] not in fits, f"{who}: model {c['model']} trained twice"
            fits[c["model"]] = (step, c)
    assert fits, f"{who} trained no model: no call to fit reached Keras (is model.fit called?)"
    val_sets = set()
    for model, (step, c) in fits.items():
        where = f"{who}: the fit of model {model + 1}"
        for part in ("x", "val_x"):
            assert isinstance(c[part], list), (
                f"{where}: {part.replace('val_x', 'validation_data')} should be arrays, got "
                f"{c[part]!r} (validation_data=(x_val, y_val))"
            )
        leak = sorted(test_ids & set(c["x"] + c["val_x"]))
        assert not leak, (
            f"{where} was given {len(leak)} test images ("
            + ("validation_data is the test split" if set(c["val_x"]) & test_ids else "to train on")
            + "): validate on a validation split of the training images (validation_split), "
            "and keep the test split for one evaluate at the end"
        )
        assert c["validation_split"] == 0.0, (
            f"{where}: validation_split={c['validation_split']} in fit takes the last rows, "
            "unshuffled: hold out validation_split(x_train, y_train, ...) and pass validation_data"
        )
        expect.equal(
            np.sort(c["x"] + c["val_x"]),
            np.arange(n),
            f"{where}: the numbers of the training and validation images together",
            hint="train on the training part of the split, validate on the held-out part",
        )
        expect.equal(len(c["val_x"]), n_val, f"{where}: the validation images ({fraction} of {n})")
        for part, ids in (("y", c["x"]), ("val_y", c["val_x"])):
            assert isinstance(c[part], list), f"{where}: the labels should be an array"
            expect.equal(np.array(c[part]), y_train[ids], f"{where}: the labels given with {part}")
        expect.equal(c["epochs"], epochs, f"{where}: epochs")
        val_sets.add(tuple(sorted(c["val_x"])))
        tests = [
            (i, e)
            for i, e in enumerate(got["calls"])
            if e["call"] == "evaluate" and e["model"] == model and set(e["x"] or []) & test_ids
        ]
        assert len(tests) == 1, (
            f"{who}: model {model + 1} was evaluated {len(tests)} times on test images: "
            "once, after training, on the whole test split"
        )
        i, e = tests[0]
        assert i > step, f"{who}: model {model + 1} was tested before it was trained"
        expect.equal(np.sort(e["x"]), np.arange(n, n + len(x_test)), f"{who}: the test images")
    assert len(val_sets) == 1, f"{who}: every model validates on the same split"
    return fits


def test_compare_models_validates_then_tests_once(lesson, rng):
    import keras

    sizes = [int(u) for u in rng.choice(np.arange(3, 20), 2, replace=False)]
    epochs, batch_size, seed = int(rng.integers(2, 4)), 16, int(rng.integers(0, 1000))
    train, test = numbered(rng, 80, 40, 8)
    kwargs = {"sizes": sizes, "epochs": epochs, "batch_size": batch_size, "seed": seed}
    got = recorded(lesson, "compare_models", train, test, kwargs)
    who = f"compare_models(two dense nets, epochs={epochs}, batch_size={batch_size})"
    rows = got["result"]
    expect.equal(
        [r["name"] for r in rows], [f"dense {u}" for u in sizes], f"{who}: the rows' names"
    )
    fits = check_protocol(got, train, test, 0.1, epochs, who)
    for row, model_id in zip(rows, got["built"], strict=True):
        where = f"{who}, row {row['name']!r}"
        want = {"name", "parameters", "accuracy", "seconds_per_epoch", "history", "model"}
        assert want <= set(row["keys"]), f"{where}: the keys {sorted(want)}, got {row['keys']}"
        expect.equal(row["model"], model_id, f"{where}: row['model'] is the model it trained")
        assert model_id in fits, f"{where}: its model was never trained (no fit)"
        step, fit = fits[model_id]
        expect.equal(fit["batch_size"], batch_size, f"{where}: the fit's batch_size")
        model = got["models"][model_id]
        expect.equal(row["parameters"], model.count_params(), f"{where}: parameters")
        (x_train, y_train), (x_test, y_test) = train, test
        expect.close(
            row["accuracy"],
            judged(model, x_test, y_test)[1],
            f"{where}: accuracy, against the trained model's accuracy on the test split",
            atol=1e-6,
            hint="evaluate the trained model on the test split, once, after fit",
        )
        history = row["history"]
        assert sorted(history) == sorted(fit["history"]), (
            f"{where}: history should be the History.history fit returned, with the keys "
            f"{sorted(fit['history'])}; got {sorted(history)}"
        )
        for key, values in fit["history"].items():
            expect.close(history[key], values, f"{where}: history[{key!r}]", rtol=1e-6)
        val_loss = judged(model, x_train[fit["val_x"]], y_train[fit["val_x"]])[0]
        expect.close(
            history["val_loss"][-1],
            val_loss,
            f"{where}: the last val_loss, against the trained model on the validation split",
            rtol=1e-4,
            atol=1e-5,
        )
        start = keras.models.clone_model(model)
        start.set_weights(fit["initial"])
        before = judged(start, x_train[fit["x"]], y_train[fit["x"]])[0]
        after = judged(model, x_train[fit["x"]], y_train[fit["x"]])[0]
        assert after < before, f"{where}: training loss {before:.4f} -> {after:.4f}: no training"
        per_epoch = fit["seconds"] / epochs
        expect.between(
            row["seconds_per_epoch"],
            0.7 * per_epoch,
            1.3 * per_epoch + 0.1,
            f"{where}: seconds_per_epoch (fit took {fit['seconds']:.2f} s for {epochs} epochs)",
            hint="time fit alone, and divide by the epochs",
        )


def test_regularisation_study_chooses_on_the_validation_split(lesson, rng):
    epochs, seed, fraction = 2, int(rng.integers(0, 1000)), 0.25
    train, test = numbered(rng, 40, 16, 28)
    kwargs = {"epochs": epochs, "batch_size": 16, "seed": seed, "width": 2, "fraction": fraction}
    got = recorded(lesson, "regularisation_study", train, test, kwargs)
    who = f"regularisation_study(epochs={epochs}, width=2, fraction={fraction})"
    names = ["baseline", "dropout", "l2", "early_stopping", "augmentation"]
    expect.equal(list(got["result"]), names, f"{who}: the runs")
    fits = check_protocol(got, train, test, fraction, epochs, who)
    expect.equal(len(fits), len(names), f"{who}: the models trained")
    watched = [
        c[1] for _, fit in fits.values() for c in fit["callbacks"] if c[0] == "EarlyStopping"
    ]
    expect.equal(watched, ["val_loss"], f"{who}: what EarlyStopping watches")
    (x_test, y_test) = test
    for name, (model_id, (_, fit)) in zip(names, sorted(fits.items()), strict=True):
        run = got["result"][name]
        accuracy = judged(got["models"][model_id], x_test, y_test)[1]
        expect.close(run["test_accuracy"], accuracy, f"{who}: {name}'s test_accuracy", atol=1e-6)
        for key, values in fit["history"].items():
            expect.close(run["history"][key], values, f"{who}: {name}'s history[{key!r}]")


# --------------------------------------------------------------------------- overfitting


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
        expect.equal(
            lesson.best_epoch({"loss": loss.tolist(), "val_loss": val.tolist()}),
            int(np.argmin(val)) + 1,
            f"best_epoch with val_loss {np.round(val, 3).tolist()}",
            hint="the lowest val_loss, counting epochs from 1",
        )
    loss, val = _history(rng, 8)
    val[int(np.argmin(val))] = np.nan  # the best epoch blew up
    expect.equal(
        lesson.best_epoch({"loss": loss.tolist(), "val_loss": val.tolist()}),
        int(np.nanargmin(val)) + 1,
        f"best_epoch with val_loss {np.round(val, 3).tolist()}",
        hint="a NaN epoch cannot be the best",
    )


def test_overfitting_gap(lesson, rng):
    epochs = int(rng.integers(5, 12))
    loss, val = _history(rng, epochs)
    got = lesson.overfitting_gap(
        {"loss": loss.tolist(), "val_loss": val.tolist(), "accuracy": [0.5] * epochs}
    )
    assert isinstance(got, list) and all(type(v) is float for v in got), (
        f"a list of plain floats, one per epoch; got {type_name(got)}"
    )
    expect.close(
        got, (val - loss).tolist(), "overfitting_gap", atol=1e-9, hint="val_loss − loss, per epoch"
    )


# --------------------------------------------------------------------------- the questions


def test_answers(lesson):
    import keras

    got = lesson.answers()
    assert isinstance(got, dict), f"answers() returns a dict, got {type_name(got)}"
    course = reference_cnn([(64, 3), (64, 3)], 128)
    five = reference_cnn([(64, 5), (64, 5)], 128)
    flatten = next(lay for lay in five.layers if isinstance(lay, keras.layers.Flatten))
    expect.equal(
        expect.integer(got.get("q1"), "q1"),
        int(np.prod(flatten.output.shape[1:])),
        "q1: the numbers Flatten hands on, with 5×5 kernels",
        hint="a 5×5 convolution loses 2 pixels on each side; follow 28 through both stages",
    )
    expect.equal(
        expect.integer(got.get("q2"), "q2"),
        reference_cnn([(64, 3)] * 3, 128).count_params(),
        "q2: the parameters with a third stage",
        hint="the maps shrink to 1×1: the Dense layer reads 64 numbers",
    )
    dense = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    sizes = {
        "a": dense.count_params(),
        "b": course.count_params(),
        "c": reference_cnn([(16, 5)], 100).count_params(),
        "d": reference_cnn([(16, 5), (8, 2)], 100).count_params(),
    }
    expect.equal(got.get("q3"), min(sizes, key=sizes.get), "q3: the fewest parameters (a letter)")
    watched = {"a": "loss", "b": "val_loss", "c": "test_loss"}
    expect.equal(
        got.get("q4"),
        next(k for k, v in watched.items() if v == keras.callbacks.EarlyStopping().monitor),
        "q4: what EarlyStopping watches (a letter)",
    )
