"""Grading checks for ex10: optimiser steps, their paths, initial scales, the Iris MLP.

Each optimiser step is compared with `keras.optimizers` itself, driven here
(in the judge) on the same weights and the same gradients, in float64;
weights, gradients, learning rates and hyper-parameters are drawn at
grading time.
"""

import numpy as np
import pytest

from workshop.grading import expect
from workshop.grading.judge import compiled, leaves_arguments_alone, scenario

# Keras keeps the learning rate in a float32 variable and computes some factors
# in float32 (β₂ among them: 1 − 0.999 is off by 1e-5 there): steps agree to about
# 1e-5 of their size, no better. Every slip these checks are
# for (Nesterov or not, ε's place, a missing bias correction) moves w by far
# more than RTOL/ATOL.
LEARNING_RATES = (0.03125, 0.0625, 0.125, 0.25)
RTOL, ATOL = 1e-5, 3e-5


def keras_path(optimizer, w0, grads):
    """The weights after each of `grads`, as keras's optimizer moves them (float64)."""
    import keras

    var = keras.Variable(np.array(w0, dtype="float64"), dtype="float64")
    out = []
    for g in grads:
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(np.array(g, "float64")), var)])
        out.append(np.array(keras.ops.convert_to_numpy(var), dtype=float))
    return out


def _setting(rng, shape=(3, 4), steps=4, scale=1.0):
    w0 = rng.normal(0, 1, shape)
    grads = [rng.normal(0, scale, shape) for _ in range(steps)]
    lr = float(rng.choice(LEARNING_RATES))
    return w0, grads, lr


def _pair(result, names, function):
    """The values a step returns, with a sentence when it is not the tuple asked for."""
    if isinstance(result, (tuple, list)) and len(result) == len(names):
        return [expect.numbers(r, f"{function}'s {n}") for r, n in zip(result, names, strict=True)]
    if result is None:
        got = "None: it probably misses a `return`"
    elif isinstance(result, (tuple, list)):
        got = f"{len(result)} values"
    elif hasattr(result, "shape"):
        got = f"one array of shape {tuple(result.shape)}"
    else:
        got = type(result).__name__
    raise AssertionError(
        f"{function} returns {len(names)} values, `return {', '.join('new ' + n for n in names)}`"
        f"; it returned {got}"
    )


def test_momentum_step_matches_keras(lesson, rng):
    import keras

    for nesterov in (False, True):
        w0, grads, lr = _setting(rng)
        momentum = float(rng.choice([0.5, 0.8, 0.9, 0.95]))
        want = keras_path(
            keras.optimizers.SGD(learning_rate=lr, momentum=momentum, nesterov=nesterov),
            w0,
            grads,
        )
        w, velocity = w0, np.zeros_like(w0)
        for step, (g, target) in enumerate(zip(grads, want, strict=True), start=1):
            w, velocity = _pair(
                lesson.momentum_step(w, velocity, g, lr, momentum=momentum, nesterov=nesterov),
                ("w", "velocity"),
                "momentum_step",
            )
            expect.close(
                w,
                target,
                f"w after step {step} (lr={lr}, momentum={momentum}, nesterov={nesterov})",
                rtol=RTOL,
                atol=ATOL,
                hint="keras.optimizers.SGD moves w by the new velocity (Nesterov: by "
                "momentum·new velocity − lr·grad)",
            )
    leaves_arguments_alone(lesson, "momentum_step")
    w0, grads, lr = _setting(rng)
    want = keras_path(keras.optimizers.SGD(learning_rate=lr), w0, grads[:1])
    w, _ = _pair(
        lesson.momentum_step(w0, np.zeros_like(w0), grads[0], lr, momentum=0.0),
        ("w", "velocity"),
        "momentum_step",
    )
    expect.close(w, want[0], "momentum 0 (plain SGD): w − lr·grad", rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("size", ["ordinary", "tiny"])
def test_rmsprop_step_matches_keras(lesson, rng, size):
    import keras

    scale = float(rng.uniform(0.5, 3)) if size == "ordinary" else 1e-4  # tiny: ε's place
    w0, grads, lr = _setting(rng, shape=(5,), steps=5, scale=scale)
    rho = float(rng.choice([0.8, 0.9, 0.95]))
    want = keras_path(keras.optimizers.RMSprop(learning_rate=lr, rho=rho), w0, grads)
    w, accum = w0, np.zeros_like(w0)
    for step, (g, target) in enumerate(zip(grads, want, strict=True), start=1):
        w, accum = _pair(
            lesson.rmsprop_step(w, accum, g, lr, rho=rho), ("w", "accum"), "rmsprop_step"
        )
        expect.close(
            w,
            target,
            f"w after step {step} (lr={lr}, rho={rho}, gradients of size ~{scale:.2g})",
            rtol=RTOL,
            atol=ATOL,
            hint="accum ← rho·accum + (1 − rho)·grad²; w ← w − lr·grad/√(accum + epsilon)",
        )
    leaves_arguments_alone(lesson, "rmsprop_step")


@pytest.mark.parametrize("size", ["ordinary", "tiny"])
def test_adam_step_matches_keras(lesson, rng, size):
    import keras

    scale = 1.0 if size == "ordinary" else 1e-6  # tiny: where ε's place matters
    w0, grads, lr = _setting(rng, shape=(2, 3), steps=5, scale=scale)
    beta_1 = float(rng.choice([0.8, 0.9]))
    beta_2 = float(rng.choice([0.99, 0.999]))
    want = keras_path(
        keras.optimizers.Adam(learning_rate=lr, beta_1=beta_1, beta_2=beta_2), w0, grads
    )
    w, m, v = w0, np.zeros_like(w0), np.zeros_like(w0)
    for t, (g, target) in enumerate(zip(grads, want, strict=True), start=1):
        w, m, v = _pair(
            lesson.adam_step(w, m, v, g, t, lr, beta_1=beta_1, beta_2=beta_2),
            ("w", "m", "v"),
            "adam_step",
        )
        expect.close(
            w,
            target,
            f"w after step t={t} (lr={lr}, beta_1={beta_1}, beta_2={beta_2}, gradients of "
            f"size ~{scale:g})",
            rtol=RTOL,
            # tiny gradients: Keras's float32 factors leave ~1e-6; ε in the wrong place, ~0.05
            atol=ATOL if size == "ordinary" else 1e-3,
            hint="Keras: rate = lr·√(1 − beta_2ᵗ)/(1 − beta_1ᵗ), w ← w − rate·m/(√v + epsilon)"
            + (" — epsilon is added to √v, not to the bias-corrected √v̂" if size == "tiny" else ""),
        )
    leaves_arguments_alone(lesson, "adam_step")


def test_paths_on_the_valley(lesson, rng):
    """optimizer_paths uses the step functions: each path is Keras's, step by step."""
    import keras

    start = np.array([rng.uniform(-5, -3), rng.uniform(0.5, 1.5)])
    steps = int(rng.integers(5, 9))
    lr = float(rng.choice(LEARNING_RATES[1:]))
    paths = lesson.optimizer_paths(start, steps, lr)
    curvature = np.array([0.1, 2.0])
    makers = {
        "SGD": lambda: keras.optimizers.SGD(learning_rate=lr),
        "momentum": lambda: keras.optimizers.SGD(learning_rate=lr, momentum=0.9),
        "Nesterov": lambda: keras.optimizers.SGD(learning_rate=lr, momentum=0.9, nesterov=True),
        "RMSProp": lambda: keras.optimizers.RMSprop(learning_rate=lr),
        "Adam": lambda: keras.optimizers.Adam(learning_rate=lr),
    }
    assert sorted(paths) == sorted(makers), f"paths for {sorted(makers)}, got {sorted(paths)}"
    k = keras
    for name, make in makers.items():
        opt = make()
        var = k.Variable(start.copy(), dtype="float64")
        want = [start.copy()]
        for _ in range(steps):
            g = curvature * np.array(k.ops.convert_to_numpy(var))
            opt.apply_gradients([(k.ops.convert_to_tensor(g), var)])
            want.append(np.array(k.ops.convert_to_numpy(var), dtype=float))
        expect.close(
            paths[name],
            np.array(want),
            f"the {name} path ({steps} steps of lr {lr} from {start.round(3).tolist()})",
            rtol=RTOL,
            atol=ATOL,
        )


def test_init_std_schemes(lesson, rng):
    for _ in range(3):
        n_in, n_out = (int(n) for n in rng.integers(2, 500, 2))
        want = {
            "lecun": np.sqrt(1 / n_in),
            "glorot": np.sqrt(2 / (n_in + n_out)),
            "he": np.sqrt(2 / n_in),
        }
        for scheme, std in want.items():
            expect.close(
                expect.number(lesson.init_std(scheme, n_in, n_out), f"init_std({scheme!r})"),
                std,
                f"init_std({scheme!r}, n_in={n_in}, n_out={n_out})",
                rtol=1e-9,
                hint=f"return the standard deviation σ, the square root of the variance "
                f"(σ² = {std**2:.6g} here)",
            )
    # Keras's own default, drawn many times, has Glorot's spread.
    import keras

    n_in, n_out = int(rng.integers(50, 200)), int(rng.integers(50, 200))
    draws = keras.ops.convert_to_numpy(keras.initializers.GlorotUniform(seed=1)((n_in, n_out)))
    expect.close(
        lesson.init_std("glorot", n_in, n_out),
        float(np.std(draws)),
        f"init_std('glorot', {n_in}, {n_out}) against the spread of Keras's glorot_uniform",
        rtol=0.05,
    )


def _predict(model, x):
    import keras

    return np.asarray(keras.ops.convert_to_numpy(model(x, training=False)), dtype=float)


def _iris():
    """Iris, standardised, one-hot, loaded here (not by the lesson)."""
    from sklearn.datasets import load_iris

    iris = load_iris()
    x = (iris.data - iris.data.mean(axis=0)) / iris.data.std(axis=0)
    return x.astype("float32"), np.eye(3, dtype="float32")[iris.target]


def test_the_iris_mlp(lesson, rng):
    """Judged by behaviour: its outputs, loss, metric and optimiser against Keras's own."""
    import keras

    hidden = int(rng.integers(6, 17))
    model = compiled(lesson.build_iris_mlp(hidden), f"build_iris_mlp({hidden})")
    shapes = [tuple(w.shape) for w in model.get_weights()]
    want_shapes = [(4, hidden), (hidden,), (hidden, 3), (3,)]
    assert shapes == want_shapes, (
        f"keras.Input(shape=(4,)), Dense({hidden}), Dense(3): weights of shapes {want_shapes}, "
        f"got {shapes}"
    )

    def reference():
        ref = keras.Sequential(
            [
                keras.Input(shape=(4,)),
                keras.layers.Dense(hidden, activation="relu"),
                keras.layers.Dense(3, activation="softmax"),
            ]
        )
        ref.set_weights(model.get_weights())
        ref.compile(
            optimizer=keras.optimizers.Adam(learning_rate=0.01),
            loss=keras.losses.CategoricalCrossentropy(),
            run_eagerly=True,  # a few steps: faster than tracing a graph
        )
        return ref

    ref = reference()
    model.run_eagerly = True
    x = rng.normal(0, 2, (64, 4)).astype("float32")
    expect.close(
        _predict(model, x),
        _predict(ref, x),
        f"the MLP's outputs on {len(x)} random flowers (against Dense({hidden}, relu) then "
        "Dense(3, softmax) with the same weights)",
        rtol=1e-5,
        atol=1e-6,
        hint="ReLU in the hidden layer, softmax at the output (probabilities summing to 1)",
    )
    x, y = _iris()
    rows = rng.choice(len(x), 60, replace=False)
    x, y = x[rows], y[rows]
    scores = model.evaluate(x, y, verbose=0, return_dict=True)
    y_pred = _predict(model, x)
    want = float(keras.ops.convert_to_numpy(keras.losses.CategoricalCrossentropy()(y, y_pred)))
    expect.close(
        expect.number(scores.get("loss"), "evaluate's loss"),
        want,
        "the compiled loss on 60 Iris flowers (against categorical cross-entropy of the same "
        "predictions)",
        rtol=1e-4,
        hint="one-hot targets (N, 3): loss='categorical_crossentropy'",
    )
    assert "accuracy" in scores, (
        f"compile with metrics=['accuracy']: evaluate reports {sorted(scores)}"
    )
    expect.close(
        scores["accuracy"],
        float(np.mean(y_pred.argmax(axis=1) == y.argmax(axis=1))),
        "the compiled 'accuracy' (against the share of flowers whose largest output is right)",
        rtol=1e-5,
        hint="metrics=['accuracy']",
    )
    for step in range(2):
        model.train_on_batch(x, y)
        ref.train_on_batch(x, y)
        for i, (got, w) in enumerate(zip(model.get_weights(), ref.get_weights(), strict=True)):
            expect.close(
                got,
                w,
                f"weights[{i}] after {step + 1} training step(s) on 60 flowers (against "
                "Adam(learning_rate=0.01))",
                rtol=1e-4,
                atol=1e-6,
                hint="compile with the optimizer you were given (default "
                "keras.optimizers.Adam(learning_rate=0.01)), not a new one",
            )


@scenario
def train_by_hand(lesson, model, optimizer, settings, loss, x, y, steps):
    """The attendee's train_step, `steps` times, on a model and optimiser the judge chose."""
    import keras

    opt = getattr(keras.optimizers, optimizer)(**settings)
    loss_fn = {"cce": keras.losses.CategoricalCrossentropy, "mse": keras.losses.MeanSquaredError}
    fn = loss_fn[loss]()
    losses = [lesson.train_step(model, opt, fn, x, y) for _ in range(steps)]
    return {"losses": losses, "weights": model.get_weights(), "compiled": bool(model.compiled)}


def _net(rng, n_in, hidden, n_out, softmax):
    import keras

    model = keras.Sequential(
        [
            keras.Input(shape=(n_in,)),
            keras.layers.Dense(hidden, activation="tanh"),
            keras.layers.BatchNormalization(),
            keras.layers.Dense(n_out, activation="softmax" if softmax else None),
        ]
    )
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            layer.set_weights([rng.normal(0, 0.5, w.shape) for w in layer.get_weights()])
    return model


def test_train_step_equals_train_on_batch(lesson, rng):
    """Several steps of train_step leave the weights where model.train_on_batch leaves them."""
    import keras

    cases = [
        ("Adam", {"learning_rate": float(rng.choice([0.01, 0.03])), "beta_1": 0.8}, "cce"),
        ("SGD", {"learning_rate": float(rng.choice([0.05, 0.1])), "momentum": 0.9}, "mse"),
    ]
    for optimizer, settings, loss in cases:
        n_in, hidden, n_out = (int(v) for v in rng.integers(2, 7, 3))
        batch, steps = int(rng.integers(8, 33)), int(rng.integers(3, 6))
        model = _net(rng, n_in, hidden, n_out, softmax=loss == "cce")
        x = rng.normal(0, 1, (batch, n_in)).astype("float32")
        if loss == "cce":
            y = np.eye(n_out, dtype="float32")[rng.integers(0, n_out, batch)]
        else:
            y = rng.normal(0, 1, (batch, n_out)).astype("float32")
        twin = keras.models.clone_model(model)
        twin.set_weights(model.get_weights())
        losses = {"cce": keras.losses.CategoricalCrossentropy, "mse": keras.losses.MeanSquaredError}
        twin.compile(
            optimizer=getattr(keras.optimizers, optimizer)(**settings),
            loss=losses[loss](),
            run_eagerly=True,
        )
        want = [float(np.ravel(twin.train_on_batch(x, y))[0]) for _ in range(steps)]
        got = train_by_hand(lesson, model, optimizer, settings, loss, x, y, steps)
        where = f"{steps} steps of {optimizer}({settings}) with {loss} on a batch of {batch}"
        assert got["compiled"] is False, (
            "train_step compiled the model: write the step itself (the loss, the backend's "
            "gradients, optimizer.apply_gradients), not compile + train_on_batch or fit"
        )
        expect.close(
            [expect.number(v, "train_step's return value") for v in got["losses"]],
            want,
            f"the losses train_step returned ({where})",
            rtol=1e-4,
            atol=1e-6,
            hint="return the batch's loss computed before the update, as a float",
        )
        names = [w.path for w in twin.weights]
        for name, mine, theirs in zip(names, got["weights"], twin.get_weights(), strict=True):
            expect.close(
                mine,
                theirs,
                f"{name} after {where}",
                rtol=1e-4,
                atol=1e-5,
                hint="the loss computed with the model in training mode (training=True), the "
                "gradients of every trainable variable, then optimizer.apply_gradients once "
                "per step",
            )


#: Keras's update rules (the forms keras.optimizers uses; test_*_matches_keras hold the lesson
#: to them), as a reference for question 2: (w, state, g, t, lr) -> (w, state).
VALLEY_RULES = {
    "SGD": lambda w, s, g, t, lr: (w - lr * g, s),
    "momentum": lambda w, s, g, t, lr: (w + (0.9 * s[0] - lr * g), (0.9 * s[0] - lr * g, 0)),
    "Nesterov": lambda w, s, g, t, lr: (
        w + 0.9 * (0.9 * s[0] - lr * g) - lr * g,
        (0.9 * s[0] - lr * g, 0),
    ),
    "RMSProp": lambda w, s, g, t, lr: (
        w - lr * g / np.sqrt(0.9 * s[0] + 0.1 * g**2 + 1e-7),
        (0.9 * s[0] + 0.1 * g**2, 0),
    ),
    "Adam": lambda w, s, g, t, lr: (
        w
        - lr
        * np.sqrt(1 - 0.999**t)
        / (1 - 0.9**t)
        * (0.9 * s[0] + 0.1 * g)
        / (np.sqrt(0.999 * s[1] + 0.001 * g**2) + 1e-7),
        (0.9 * s[0] + 0.1 * g, 0.999 * s[1] + 0.001 * g**2),
    ),
}


def _valley_loss_after(name, steps, lr):
    curvature, w, state = np.array([0.1, 2.0]), np.array([-4.5, 1.0]), (np.zeros(2), np.zeros(2))
    for t in range(1, steps + 1):
        w, state = VALLEY_RULES[name](w, state, curvature * w, t, lr)
    return float(0.5 * np.sum(curvature * w**2))


def _converges(lr, curvature, steps=400):
    w = 1.0
    for _ in range(steps):
        w -= lr * curvature * w
    return abs(w) < 1


def test_answers(lesson):
    """Each expected answer is computed here: by gradient descent, Keras's rules, fit, Adam."""
    import keras

    got = lesson.answers()
    assert isinstance(got, dict), f"answers() returns a dict, got {type(got).__name__}"
    low, high = 0.0, 1.0  # q1: bisect the largest converging learning rate on curvature 8
    for _ in range(40):
        low, high = (
            ((low + high) / 2, high)
            if _converges((low + high) / 2, 8.0)
            else (low, (low + high) / 2)
        )
    expect.close(
        got.get("q1"),
        low,
        "q1, the largest learning rate that converges",
        rtol=1e-3,
        hint="each step multiplies w by (1 − α·λ)",
    )
    final = {name: _valley_loss_after(name, 80, 0.1) for name in VALLEY_RULES}
    expect.equal(got.get("q2"), min(final, key=final.get), "q2, the optimiser lowest on the valley")
    x, y = _iris()
    from sklearn.model_selection import train_test_split

    x_train, _, y_train, _ = train_test_split(x, y, test_size=0.3, random_state=0)
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy", run_eagerly=True)
    model.fit(x_train, y_train, batch_size=16, epochs=3, verbose=0)
    steps = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
    expect.close(
        got.get("q3"),
        steps,
        "q3, the training steps of fit",
        hint="one per batch; the last batch of an epoch may be short",
    )
    grad = np.geomspace(1e-3, 1e3, 7) * np.where(np.arange(7) % 2, 1, -1)
    var, adam = (
        keras.Variable(np.zeros(7), dtype="float32"),
        keras.optimizers.Adam(learning_rate=0.01),
    )
    adam.apply_gradients([(keras.ops.convert_to_tensor(grad.astype("float32")), var)])
    moved = np.abs(np.array(keras.ops.convert_to_numpy(var), dtype=float)) / 0.01
    expect.close(
        got.get("q4"), float(moved.mean()), "q4, Adam's first step in learning rates", rtol=1e-3
    )
