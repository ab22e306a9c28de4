"""Grading checks for ex14: classes split, frozen layers, the transfer model, three contenders.

Every number compared here is computed here. split_by_class is compared with
a selection made here on labels drawn here. freeze and transfer_model are
judged by behaviour: the returned models are trained here, a step or a few,
and the weights that must not move are compared before and after; the
transfer model's output is recomputed here from the judge's own copy of the
base and the head's weights. train_three_ways runs in the worker with a base
pretrained there by the judge's code, on digits chosen here; the returned
models are scored here (their validation loss against the lowest of their
own training, their weights against the pretrained ones, their accuracy on
held-out digits). accuracy_vs_labels is given models whose accuracy the
judge computes, and must report exactly that.
"""

import math
import warnings

import numpy as np

from workshop import data
from workshop.grading import expect
from workshop.grading.judge import compiled, leaves_arguments_alone, scenario, type_name

CONTENDERS = ("scratch", "frozen", "fine_tuned")


def test_split_by_class_keeps_those_rows_renumbered(lesson, rng):
    for shape in ((3, 2), (4, 4, 1)):
        n = int(rng.integers(40, 80))
        y = rng.integers(0, 10, n)
        x = rng.normal(size=(n, *shape))
        present = rng.permutation(np.unique(y))
        classes = [int(c) for c in present[: int(rng.integers(2, 5))]]
        if classes == sorted(classes):
            classes = classes[::-1]  # an order that is not sorted: classes[i] becomes i
        keep = np.array([label in classes for label in y])
        want_y = np.array([classes.index(label) for label in y[keep]])
        got = lesson.split_by_class(x, y, classes)
        assert isinstance(got, tuple) and len(got) == 2, (
            f"split_by_class returns (x, y), got {type_name(got)}"
        )
        expect.equal(
            got[0],
            x[keep],
            f"the rows of x kept for classes {classes}",
            hint="the rows whose label is one of the classes, in their order",
        )
        expect.array(got[1], "the new labels", ndim=1)
        expect.equal(
            got[1],
            want_y,
            f"the new labels for classes {classes}",
            hint=f"classes[i] becomes i: {classes[0]} -> 0, {classes[1]} -> 1, ...",
        )
    leaves_arguments_alone(lesson, "split_by_class")


@scenario
def frozen(lesson, weights, trainable, start):
    """A model with a model inside, some layers frozen to start with, through freeze()."""
    import keras

    inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="tanh")])
    model = keras.Sequential([keras.Input((4,)), inner, keras.layers.Dense(2)])
    model.set_weights(weights)
    inner.layers[0].trainable, model.layers[-1].trainable = start
    got = lesson.freeze(model) if trainable is None else lesson.freeze(model, trainable)
    return {"model": got, "same": got is model}


def _moved_by_one_step(model, x, y):
    """Which weight arrays one step of plain gradient descent changes, here in the judge."""
    import keras

    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.5), loss="mean_squared_error")
    before = model.get_weights()
    with warnings.catch_warnings():  # "The model does not have any trainable weights": the point
        warnings.simplefilter("ignore")
        model.fit(x, y, epochs=1, batch_size=len(x), shuffle=False, verbose=0)
    return np.array(
        [bool(np.any(a != b)) for a, b in zip(before, model.get_weights(), strict=True)]
    )


def test_freeze_stops_every_weight_or_none(lesson, rng):
    shapes = [(4, 3), (3,), (3, 2), (2,)]
    weights = [rng.normal(0, 0.5, s) for s in shapes]
    x, y = rng.normal(size=(16, 4)), rng.normal(size=(16, 2))
    for trainable, start, call in (
        (None, (True, False), "freeze(model)"),
        (False, (False, True), "freeze(model, trainable=False)"),
        (True, (False, False), "freeze(model, trainable=True)"),
    ):
        got = frozen(lesson, weights, trainable, start)
        assert got["same"], f"{call} returns the model it was given (changed), not a new one"
        moved = _moved_by_one_step(got["model"], x, y)
        want = np.full(len(shapes), trainable is True)
        expect.equal(
            moved,
            want,
            f"which weight arrays a training step moves after {call} (1 = moved; the inner "
            f"model's layer and the last layer started as {'trainable' if start[0] else 'frozen'}"
            f" and {'trainable' if start[1] else 'frozen'})",
            hint="frozen: nothing moves; trainable=True: everything, the layers inside an inner "
            "model too. One setting on the model reaches every layer",
        )


BASE_SHAPES = [(3, 3, 1, 3), (3,), (3,), (3,), (3,), (3,)]  # conv, bias, BN γ, β, mean, var


@scenario
def transfer(lesson, base_weights, n_classes, new_base_weights):
    """transfer_model on the judge's base (a convolution and a BatchNormalization); then the
    base's weights are changed, as a shared base must pass on."""
    import keras

    base = keras.Sequential(
        [
            keras.Input((6, 6, 1)),
            keras.layers.Conv2D(3, 3),
            keras.layers.BatchNormalization(),
            keras.layers.Activation("relu"),
            keras.layers.Flatten(),
        ]
    )
    base.set_weights(base_weights)
    model = lesson.transfer_model(base, n_classes)
    base.set_weights(new_base_weights)
    return model


def _base_weights(rng):
    w = [rng.normal(0, 0.5, s) for s in BASE_SHAPES]
    w[4] = rng.normal(0, 0.3, 3)  # moving mean
    w[5] = rng.uniform(0.5, 2.0, 3)  # moving variance
    return w


def _judges_features(weights, x):
    """The base's features in inference mode, computed here in NumPy."""
    kernel, bias, gamma, beta, mean, var = weights
    n = len(x)
    conv = np.zeros((n, 4, 4, 3))
    for i in range(4):
        for j in range(4):
            conv[:, i, j, :] = np.tensordot(x[:, i : i + 3, j : j + 3, :], kernel, axes=3) + bias
    normal = gamma * (conv - mean) / np.sqrt(var + 1e-3) + beta
    return np.maximum(normal, 0).reshape(n, -1)


def _softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)


def test_transfer_model_is_the_shared_frozen_base_and_a_new_head(lesson, rng):
    import keras

    n_classes = int(rng.integers(2, 7))
    first, changed = _base_weights(rng), _base_weights(rng)
    model = compiled(transfer(lesson, first, n_classes, changed), "transfer_model")
    assert (tuple(model.input_shape), tuple(model.output_shape)) == (
        (None, 6, 6, 1),
        (None, n_classes),
    ), (
        f"transfer_model(base, {n_classes}) should take the base's input (None, 6, 6, 1) and give "
        f"{n_classes} outputs, got {model.input_shape} -> {model.output_shape}"
    )
    head = [w.shape for w in model.trainable_weights]
    assert head == [(48, n_classes), (n_classes,)], (
        f"only the new head should learn: a kernel (48, {n_classes}) and a bias ({n_classes},) "
        f"on the base's 48 features; the trainable weights are {head}"
    )
    x = rng.normal(size=(24, 6, 6, 1))
    kernel, bias = (keras.ops.convert_to_numpy(w) for w in model.trainable_weights)
    want = _softmax(_judges_features(changed, x) @ kernel + bias)
    expect.close(
        model.predict(x, verbose=0),
        want,
        "the transfer model's output, after the base's weights were changed",
        rtol=1e-4,
        atol=1e-5,
        hint="the base itself (not a copy: a change to it is a change to the model), then "
        "Dense(n_classes, activation='softmax') on its features",
    )
    y = rng.integers(0, n_classes, len(x))
    loss = model.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    expect.close(
        loss,
        float(-np.mean(np.log(want[np.arange(len(y)), y]))),
        "the transfer model's loss on integer labels",
        rtol=1e-3,
        hint="compile_classifier(model): sparse categorical cross-entropy",
    )
    before = model.get_weights()
    model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    after = model.get_weights()
    moved = np.array([bool(np.any(a != b)) for a, b in zip(before, after, strict=True)])
    expect.equal(
        moved,
        np.array([False] * 6 + [True, True]),
        "which weight arrays training moves (the base's six, its BatchNormalization statistics "
        "among them, then the head's two)",
        hint="freeze the base: its weights stay (a frozen BatchNormalization runs in inference "
        "mode), the new head learns",
    )


# ----------------------------------------------------------------------------- three contenders


def _digits():
    """scikit-learn's digits as 28×28 in [0, 1]: (x_train, y_train), (x_test, y_test)."""
    x_train, y_train, x_test, y_test = data.digits_28()
    prepare = lambda x: (x.astype("float32") / 255)[..., np.newaxis]  # noqa: E731
    return (prepare(x_train), y_train.astype(int)), (prepare(x_test), y_test.astype(int))


def _per_class(y, n, rng):
    """n random rows of each class 0-4 of y: an array (5, n)."""
    return np.stack([rng.permutation(np.flatnonzero(y == c))[:n] for c in range(5)])


@scenario
def three_ways(lesson, first, few, val, settings, seed):
    """A base pretrained here (the judge's own network, on `first`), then train_three_ways;
    every fit recorded: which model, and its history."""
    import keras

    keras.utils.set_random_seed(seed)
    base = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(16, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
        ]
    )
    pretraining = keras.Sequential([base, keras.layers.Dense(5, activation="softmax")])
    pretraining.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    pretraining.fit(*first, epochs=6, batch_size=32, verbose=0)
    before = base.get_weights()
    calls, original = [], keras.Model.fit

    def recording(model, *args, **kwargs):
        history = original(model, *args, **kwargs)
        calls.append((model, {k: [float(v) for v in vs] for k, vs in history.history.items()}))
        return history

    keras.Model.fit = recording
    try:
        got = lesson.train_three_ways(base, few, val, seed=seed, **settings)
    finally:
        keras.Model.fit = original
    if not isinstance(got, dict):
        return {"got": got}
    return {
        "got": got,
        "fits": {name: [h for m, h in calls if m is model] for name, model in got.items()},
        "pretrained": base,
        "before": before,
    }


def _stops_where_early_stopping_does(val_loss, epochs, patience, who):
    best = int(np.argmin(val_loss))  # the first lowest: a tie is no improvement
    after = len(val_loss) - 1 - best
    if len(val_loss) < epochs:
        assert after == patience, (
            f"{who}: training stopped {after} epochs after the lowest val_loss (epoch {best + 1} "
            f"of {len(val_loss)}); early stopping with patience={patience} stops {patience} after"
        )
    else:
        assert len(val_loss) == epochs and after <= patience, (
            f"{who}: {len(val_loss)} epochs were run; at most {epochs} (the argument), and no "
            f"more than {patience} after the lowest val_loss"
        )


def test_train_three_ways(lesson, rng):
    import keras

    (x_train, y_train), (x_test, y_test) = _digits()
    first = x_train[y_train < 5], y_train[y_train < 5]
    # The new task: the same digits, other labels (a permutation): what the base learned is
    # what it needs.
    relabel = rng.permutation(5)
    rows = _per_class(y_train, 20, rng)
    few_rows, val_rows = rows[:, :5].ravel(), rows[:, 5:].ravel()  # 5 per class, and 15
    few = x_train[few_rows], relabel[y_train[few_rows]]
    val = x_train[val_rows], relabel[y_train[val_rows]]
    epochs, fine_tune_epochs, patience = 30, int(rng.integers(3, 6)), int(rng.integers(6, 10))
    rate = float(rng.uniform(1e-4, 3e-4))
    settings = {
        "epochs": epochs,
        "fine_tune_epochs": fine_tune_epochs,
        "fine_tune_rate": rate,
        "patience": patience,
    }
    got = three_ways(lesson, first, few, val, settings, int(rng.integers(0, 1000)))
    models = got["got"]
    assert isinstance(models, dict) and sorted(models) == sorted(CONTENDERS), (
        f"train_three_ways returns a dict with the keys {list(CONTENDERS)}, got "
        f"{sorted(models) if isinstance(models, dict) else type_name(models)}"
    )
    before, pretrained = got["before"], got["pretrained"]
    for a, b in zip(before, pretrained.get_weights(), strict=True):
        expect.equal(
            b,
            a,
            "the pretrained base's weights after train_three_ways",
            hint="train copies of it (copy_of): the next run starts from the same base",
        )
    assert len(pretrained.trainable_weights) == len(before), (
        "the pretrained base itself should still be trainable: freeze a copy of it"
    )
    features, here = int(pretrained.output_shape[-1]), {}  # here: each model's val loss
    for name in CONTENDERS:
        model = compiled(models[name], f"train_three_ways's {name!r} model")
        assert tuple(model.output_shape) == (None, 5), (
            f"the {name} model should give 5 outputs, got {model.output_shape}"
        )
        fits = got["fits"][name]
        assert fits, f"the {name} model was never trained (no model.fit on it)"
        val_loss = fits[-1].get("val_loss", [])
        assert val_loss, f"the {name} model's fit should validate on val (validation_data)"
        wanted = fine_tune_epochs if name == "fine_tuned" else epochs
        _stops_where_early_stopping_does(val_loss, wanted, patience, f"the {name} model")
        expect.close(
            here.setdefault(name, model.evaluate(*val, verbose=0, return_dict=True)["loss"]),
            min(val_loss),
            f"the returned {name} model's loss on val (here), against the lowest val_loss of "
            "its training",
            rtol=1e-3,
            hint="the settings' EarlyStopping puts back the best epoch's weights: pass them to fit",
        )
    count = lambda ws: sum(int(np.prod(w.shape)) for w in ws)  # noqa: E731
    frozen_, fine, scratch = models["frozen"], models["fine_tuned"], models["scratch"]
    expect.equal(
        count(frozen_.trainable_weights),
        (features + 1) * 5,
        "the weights the frozen model learns",
        hint="only the new head: transfer_model on a copy of the pretrained base",
    )
    for a, b in zip(before, frozen_.get_weights(), strict=False):
        expect.equal(b, a, "the frozen model's base weights", hint="the pretrained ones, unmoved")
    expect.equal(
        count(fine.trainable_weights),
        fine.count_params(),
        "the weights fine-tuning learns",
        hint="every layer unfrozen (freeze(..., trainable=True)), then compiled again",
    )
    expect.close(
        float(keras.ops.convert_to_numpy(fine.optimizer.learning_rate)),
        rate,
        "the fine-tuned model's learning rate",
        rtol=1e-5,
        hint="compile_classifier(model, fine_tune_rate)",
    )
    steps = len(got["fits"]["fine_tuned"][-1]["val_loss"]) * len(few[1])  # batches of 1 at most
    bound = 3.2 * rate * steps  # Adam moves a weight by at most ~3.2 learning rates a step
    distance = max(
        float(np.max(np.abs(a - b)))
        for a, b in zip(frozen_.get_weights(), fine.get_weights(), strict=True)
    )
    expect.between(
        distance,
        1e-9,
        bound,
        "the largest change of a weight from the frozen model to the fine-tuned one",
        hint="fine-tune a copy of the trained frozen model (head and base), at fine_tune_rate",
    )
    kernel = next(w for w in scratch.get_weights() if w.ndim == 4)  # its first convolution
    if kernel.shape == before[0].shape:  # the judge's architecture: not the pretrained weights?
        expect.between(
            float(np.mean(np.abs(kernel - before[0]))),
            0.05,
            None,
            "how far the scratch model's first kernel is from the pretrained one, on average",
            hint="from scratch: classifier(build_feature_extractor(), n), random weights",
        )
    assert count(scratch.trainable_weights) == scratch.count_params(), (
        "the scratch model trains every layer"
    )
    x_new, y_new = x_test[y_test < 5], relabel[y_test[y_test < 5]]
    accuracy = {
        name: float(np.mean(models[name].predict(x_new, verbose=0).argmax(1) == y_new))
        for name in CONTENDERS
    }
    for name in CONTENDERS:  # chance is 0.2
        expect.between(accuracy[name], 0.5, None, f"the {name} model's accuracy on held-out digits")
    expect.between(
        here["fine_tuned"],
        None,
        1.05 * here["frozen"] + 0.01,
        f"the fine-tuned model's loss on val (the frozen one's: {here['frozen']:.4f})",
        hint="fine-tuning starts from the trained frozen model and keeps its best epoch: it "
        "cannot end much worse on val than where it started",
    )


# ----------------------------------------------------------------------------- accuracy vs labels


@scenario
def with_judges_models(lesson, counts, pool, val, test, weights, seed, train):
    """accuracy_vs_labels with train_three_ways replaced by one that records what it is given
    and returns the judge's models (a Dense layer on the pixels, weights chosen by the judge)."""
    import keras

    received = []

    def judges_three_ways(*args, **kwargs):
        names = ("pretrained", "train", "val")
        given = dict(zip(names, args, strict=False)) | kwargs
        few = given.get("train")
        received.append({**{k: v for k, v in given.items() if k != "train"}, "few": few})
        models = {}
        for name, w in weights[min(len(received), len(weights)) - 1].items():
            model = keras.Sequential(
                [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(5)]
            )
            model.set_weights(w)
            model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            models[name] = model
        return models

    original = lesson.train_three_ways
    lesson.train_three_ways = judges_three_ways
    try:
        got = lesson.accuracy_vs_labels(counts, "the judge's base", pool, val, test, seed, **train)
    finally:
        lesson.train_three_ways = original
    return {"got": got, "received": received}


def _judges_few_shot(y, n, seed):
    """few_shot's documented draw: per class in order, a seeded permutation's first n rows."""
    rng = np.random.default_rng(seed)
    return np.sort(
        np.concatenate([rng.permutation(np.flatnonzero(y == c))[:n] for c in np.unique(y)])
    )


def test_accuracy_vs_labels_reports_each_models_test_accuracy(lesson, rng):
    n_pool = 60
    pool = rng.random((n_pool, 28, 28, 1)).astype("float32"), np.repeat(np.arange(5), n_pool // 5)
    pool[0][:, 0, 0, 0] = np.arange(n_pool) / n_pool  # each row's own mark
    val = rng.random((10, 28, 28, 1)).astype("float32"), np.arange(10) % 5
    test = rng.random((40, 28, 28, 1)).astype("float32"), rng.integers(0, 5, 40)
    counts = sorted(int(c) for c in rng.choice(np.arange(1, 9), 2, replace=False))
    seed, train = int(rng.integers(1, 1000)), {"epochs": int(rng.integers(2, 9)), "patience": 2}
    flat = test[0].reshape(len(test[1]), -1)
    weights, want = [], {name: [] for name in CONTENDERS}
    for _ in counts:  # models whose accuracies all differ (and are not a round number)
        while True:
            drawn = {n: [rng.normal(0, 0.05, (784, 5)), rng.normal(0, 0.5, 5)] for n in CONTENDERS}
            acc = {
                n: float(np.mean((flat @ w + b).argmax(1) == test[1]))
                for n, (w, b) in drawn.items()
            }
            if len(set(acc.values())) == 3 and all(0 < a < 0.9 for a in acc.values()):
                break
        weights.append(drawn)
        for n in CONTENDERS:
            want[n].append(acc[n])
    got = with_judges_models(lesson, counts, pool, val, test, weights, seed, train)
    results, received = got["got"], got["received"]
    assert isinstance(results, dict) and sorted(results) == sorted(CONTENDERS), (
        f"accuracy_vs_labels returns a dict with the keys {list(CONTENDERS)}, got "
        f"{sorted(results) if isinstance(results, dict) else type_name(results)}"
    )
    assert len(received) == len(counts), (
        f"{len(counts)} counts {counts}: train_three_ways should run once for each, ran "
        f"{len(received)} times"
    )
    for i, n in enumerate(counts):
        few = received[i]["few"]
        rows = _judges_few_shot(pool[1], n, seed)
        assert isinstance(few, tuple | list) and len(few) == 2, (
            f"train_three_ways's training data should be (x, y), got {type_name(few)}"
        )
        expect.equal(
            few[0],
            pool[0][rows],
            f"the {n} examples per class given to train_three_ways",
            hint=f"few_shot(*pool, {n}, seed=seed): the examples, and the rest (not used)",
        )
        expect.equal(few[1], pool[1][rows], f"their labels ({n} per class)")
        expect.equal(received[i].get("val", [None])[0], val[0], "the validation images passed on")
        expect.equal(
            received[i].get("pretrained"), "the judge's base", "the pretrained base passed on"
        )
        passed = {k: received[i].get(k) for k in (*train, "seed")}
        expect.equal(
            passed,
            {**train, "seed": seed},
            "the settings passed to train_three_ways",
            hint="seed=seed and **train",
        )
    for name in CONTENDERS:
        expect.close(
            results[name],
            want[name],
            f"the {name} models' test accuracy at {counts} examples per class",
            atol=1e-6,
            hint="each model's accuracy on the test set (x, y): evaluate(..., return_dict=True)",
        )


def test_answers(lesson):
    import keras

    got = lesson.answers()
    assert isinstance(got, dict), f"answers() returns a dict, got {type_name(got)}"
    base = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(16, 3),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(32, 3),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
        ]
    )
    head = (int(base.output_shape[-1]) + 1) * 5
    expect.equal(
        got.get("q1"),
        [head, base.count_params() + head],
        "q1: [weights trained frozen, weights trained fine-tuned]",
        hint="count_params() of the model, and of its trainable_weights",
    )
    expect.equal(got.get("q2"), (1280 + 1) * 5, "q2: the head on 1,280 features, for 5 classes")
    norm = keras.layers.BatchNormalization()
    norm.build((None, 2))
    norm.trainable = False
    x = np.array([[4.0, -2.0], [6.0, 0.0]], dtype="float32")
    out = keras.ops.convert_to_numpy(norm(x, training=True))
    moving = abs(float(out[0, 0]) - 4.0 / math.sqrt(1 + 1e-3)) < 1e-3  # (4 - mean 0) / sqrt(var 1)
    expect.equal(got.get("q3"), "b" if moving else "a", "q3: a frozen BatchNormalization")
