"""Grading checks for ex05: standardisation without leakage, regression and classification models.

Every verdict rests on numbers the judge computes: NumPy statistics of the
training split; each model rebuilt here and compared with the judge's own
Keras network given the same weights (its outputs on the judge's inputs),
its loss with Keras's mean squared error or categorical cross-entropy on
the judge's targets, its optimiser by the weights two Adam steps give; the
test MSE of every repeat measured again here, on the judge's split, with
the model that repeat trained. Inputs are drawn afresh each run (`rng`).
"""

import numpy as np

from workshop.grading import expect
from workshop.grading.checks import answer, same_network, same_training
from workshop.grading.judge import compiled, leaves_arguments_alone, scenario, seed, type_name


def dense_reference(n_inputs, sizes, n_out, last=None):
    """The judge's own Input → Dense(relu) per size → Dense(n_out, last)."""
    import keras

    layers = [keras.Input(shape=(n_inputs,))]
    layers += [keras.layers.Dense(n, activation="relu") for n in sizes]
    return keras.Sequential([*layers, keras.layers.Dense(n_out, activation=last)])


def scaled(X_train, X_test):
    """The judge's standardisation: training mean and std; a constant column only centred."""
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return (X_train - mean) / std, (X_test - mean) / std


def test_standardize_uses_training_statistics(lesson, rng):
    scales = np.array([3.0, 0.2, 0.01, 50.0])  # columns of very different spreads
    X_train = rng.normal(5, 1, (40, 4)) * scales
    X_test = rng.normal(-2, 10, (15, 4)) * scales
    tr, te = lesson.standardize(X_train, X_test)
    want_tr, want_te = scaled(X_train, X_test)
    expect.close(
        tr,
        want_tr,
        "the standardised training split",
        hint="each training column minus its mean, divided by its standard deviation: mean 0, std 1",
    )
    expect.close(
        te,
        want_te,
        "the standardised test split",
        hint="scale the test split with the TRAINING mean and std",
    )


def test_standardize_leaves_its_inputs_alone(lesson, rng):
    X_train, X_test = rng.normal(3, 2, (20, 3)), rng.normal(3, 2, (8, 3))
    lesson.standardize(X_train, X_test)
    leaves_arguments_alone(lesson, "standardize")


def test_standardize_does_not_leak_the_test_split(lesson, rng):
    X_train, X_test = rng.normal(size=(30, 3)), rng.normal(size=(10, 3))
    tr1, _ = lesson.standardize(X_train, X_test)
    tr2, te2 = lesson.standardize(X_train, X_test * 100 + 1000)
    expect.close(
        tr1,
        tr2,
        "the standardised training split",
        hint="the training split's scaling must not depend on the test split",
    )
    expect.close(
        te2,
        scaled(X_train, X_test * 100 + 1000)[1],
        "the standardised test split",
        hint="the test split is scaled with the training statistics, not its own",
    )


def test_standardize_constant_column(lesson, rng):
    X_train = np.c_[np.full(10, 4.0), rng.normal(size=10)]
    X_test = rng.normal(3, 2, (3, 2))
    tr, te = lesson.standardize(X_train, X_test)
    want_tr, want_te = scaled(X_train, X_test)
    hint = "a column that never varies has std 0: divide it by 1 instead (only centre it)"
    expect.close(tr, want_tr, "the standardised training split", atol=1e-12, hint=hint)
    expect.close(te, want_te, "the standardised test split", atol=1e-12, hint=hint)


def test_regression_model_is_relu_layers_then_a_linear_unit(lesson, rng):
    n, sizes = int(rng.integers(3, 9)), tuple(int(v) for v in rng.integers(2, 9, 2))
    hint = "keras.Input(shape=(n_features,)), a Dense(h, relu) per size in hidden, Dense(1)"
    for args, want in (((8,), (8, (50, 50))), ((n, sizes), (n, sizes))):
        model = lesson.build_regression_model(*args)
        x = rng.normal(size=(12, want[0])).astype("float32")
        what = f"build_regression_model{args}"
        same_network(model, dense_reference(*want, 1), x, what, hint)


def test_regression_model_learns_with_adam_and_mse(lesson, rng):
    import keras

    model = compiled(lesson.build_regression_model(5, hidden=(6,)), "build_regression_model")
    x = rng.normal(size=(24, 5)).astype("float32")
    y = rng.normal(30, 10, (24, 1)).astype("float32")
    same_training(
        model,
        dense_reference(5, (6,), 1),
        x,
        y,
        keras.losses.MeanSquaredError(),
        keras.optimizers.Adam(learning_rate=0.01),
        "build_regression_model's model",
        "a strength is a number: loss='mean_squared_error'; Adam(learning_rate=0.01)",
        accuracy=False,
    )


def test_evaluate_regression_measures_each_fresh_model(lesson, rng):
    from sklearn.model_selection import train_test_split

    seed(lesson, 0)
    scale = np.array([1.0, 10.0, 100.0, 0.1])
    X = rng.normal(size=(400, 4)) * scale + np.array([0.0, 50.0, 300.0, 1.0])
    y = (X - X.mean(0)) / X.std(0) @ np.array([3.0, -2.0, 1.0, 0.5]) + rng.normal(0, 0.5, 400)
    first = int(rng.integers(0, 100))
    for normalize, repeats, epochs in ((True, 2, 8), (False, 1, 1)):
        result = lesson.evaluate_regression(
            X, y, repeats, epochs, test_size=0.25, normalize=normalize, hidden=(16,), seed=first
        )
        assert isinstance(result, dict) and set(result) >= {"mean", "std", "mses", "models"}, (
            f"return a dict with 'mean', 'std', 'mses' and 'models', got {type_name(result)}"
            + (f" with {sorted(result)}" if isinstance(result, dict) else "")
        )
        mses, models = result["mses"], result["models"]
        assert isinstance(models, list) and len(models) == repeats, (
            f"'models' should list the {repeats} trained models, got {type_name(models)}"
        )
        measured = []
        for i, model in enumerate(models):
            X_train, X_test, _, y_test = train_test_split(
                X, y, test_size=0.25, random_state=first + i
            )
            if normalize:
                X_test = scaled(X_train, X_test)[1]
            prediction = model.predict(X_test, verbose=0)[:, 0]
            measured.append(float(np.mean((y_test - prediction) ** 2)))
        expect.close(
            mses,
            measured,
            f"the test MSE of each repeat (normalize={normalize}), against models[i] measured "
            "here on split i",
            rtol=1e-3,
            hint="train a new model per repeat (scaled when normalize), then mean((y − ŷ)²) on "
            "that split's test rows",
        )
        expect.close(result["mean"], np.mean(measured), "result['mean']", rtol=1e-3)
        expect.close(result["std"], np.std(measured), "result['std']", rtol=1e-3, atol=1e-6)
        if normalize:  # guessing 0 scores var(y) ≈ 14; 8 epochs reach about 1, 1 epoch 7 to 12
            expect.between(
                float(np.mean(measured)),
                0,
                0.25 * float(np.var(y)),
                "the test MSE after 8 epochs on standardised inputs",
                hint="train for `epochs` epochs on the scaled training rows",
            )


def test_to_one_hot(lesson, rng):
    n_classes = int(rng.integers(3, 12))
    y = rng.integers(0, n_classes, 25)
    got = lesson.to_one_hot(y, n_classes)
    expect.array(got, f"to_one_hot(y, {n_classes})", dtype="float32", shape=(25, n_classes))
    expect.equal(
        got,
        np.eye(n_classes)[y],
        f"to_one_hot(y, {n_classes})",
        hint="row i has a single 1 in column y[i]",
    )


def test_classification_model_is_relu_128_64_softmax(lesson, rng):
    hint = "keras.Input(shape=(n_inputs,)), Dense(128, relu), Dense(64, relu), Dense(n_classes, softmax)"
    n_in, n_out = int(rng.integers(5, 30)), int(rng.integers(2, 7))
    for args in ((), (n_in, n_out)):
        model = lesson.build_classification_model(*args)
        n_inputs, n_classes = args or (784, 10)
        x = rng.random((12, n_inputs), dtype=np.float32)
        reference = dense_reference(n_inputs, (128, 64), n_classes, "softmax")
        same_network(model, reference, x, f"build_classification_model{args}", hint)


def test_classification_model_learns_with_categorical_cross_entropy(lesson, rng):
    import keras

    model = compiled(lesson.build_classification_model(20, 4), "build_classification_model")
    x = rng.random((32, 20), dtype=np.float32)
    y = np.eye(4, dtype="float32")[rng.integers(0, 4, 32)]
    same_training(
        model,
        dense_reference(20, (128, 64), 4, "softmax"),
        x,
        y,
        keras.losses.CategoricalCrossentropy(),
        keras.optimizers.Adam(),
        "build_classification_model's model",
        "one-hot labels (rows like [0, 0, 1, 0]): loss='categorical_crossentropy'; the sparse "
        "one is for integer labels. optimizer='adam'",
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


# --------------------------------------------------------------------------- the questions


def test_q1_regression_parameters(lesson):
    want = dense_reference(8, (50, 50), 1).count_params()
    got = expect.integer(answer(lesson, "q1"), "q1 (the regression model's parameters)")
    expect.equal(got, want, "q1", hint="(inputs + 1) · units for each Dense layer, summed")


def test_q2_updates_per_repeat(lesson):
    from sklearn.model_selection import train_test_split

    train_rows = len(train_test_split(np.arange(1030), test_size=0.3, random_state=0)[0])
    want = -(-train_rows // 32) * 50
    got = expect.integer(answer(lesson, "q2"), "q2 (weight updates in one repeat)")
    expect.equal(
        got, want, "q2", hint="the training rows, in batches of 32 (the last one smaller), 50 times"
    )


def test_q3_the_loss_for_integer_labels(lesson, rng):
    import keras

    labels = rng.integers(0, 4, 7)
    p = rng.dirichlet(np.ones(4), 7).astype("float32")
    want = keras.ops.convert_to_numpy(keras.losses.categorical_crossentropy(np.eye(4)[labels], p))
    options = {
        "a": keras.losses.binary_crossentropy,
        "b": keras.losses.sparse_categorical_crossentropy,
        "c": keras.losses.mean_squared_error,
    }
    same = []
    for letter, loss in options.items():
        try:
            values = keras.ops.convert_to_numpy(loss(labels, p))
        except Exception:  # a loss that cannot take integer labels is not the answer
            continue
        if values.shape == want.shape and np.all(np.abs(values - want) <= 1e-5 * np.abs(want)):
            same.append(letter)
    expect.equal(answer(lesson, "q3"), "".join(same), "q3 (a letter)", hint="try each on labels")


def test_q4_what_guessing_the_mean_scores(lesson, rng):
    y_train, y_test = rng.normal(35, 16, 700), rng.normal(35, 16, 300)
    mse = float(np.mean((y_test - y_train.mean()) ** 2))
    options = {"a": np.var(y_test), "b": np.std(y_test), "c": np.mean(y_test)}
    want = min(options, key=lambda letter: abs(options[letter] - mse))
    expect.equal(answer(lesson, "q4"), want, "q4 (a letter)", hint="compute the three and compare")
