"""Grading checks for ex10: optimiser steps, their paths, initial scales, the Iris MLP.

Each optimiser step is compared with `keras.optimizers` itself, driven here
(in the judge) on the same weights and the same gradients, in float64;
weights, gradients, learning rates and hyper-parameters are drawn at
grading time.
"""

import numpy as np
import pytest

from workshop.grading import expect
from workshop.grading.judge import compiled, leaves_arguments_alone, seed

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
            got = expect.number(lesson.init_std(scheme, n_in, n_out), f"init_std({scheme!r})")
            hint = ""
            if np.isclose(got, std**2):
                hint = " (that is the variance σ²: return its square root)"
            assert got == pytest.approx(std, rel=1e-9), (
                f"init_std({scheme!r}, n_in={n_in}, n_out={n_out}) should be {std:.6g}, got "
                f"{got:.6g}{hint}"
            )
    # Keras's own default, drawn many times, has Glorot's spread.
    import keras

    n_in, n_out = int(rng.integers(50, 200)), int(rng.integers(50, 200))
    draws = keras.ops.convert_to_numpy(keras.initializers.GlorotUniform(seed=1)((n_in, n_out)))
    glorot = expect.number(lesson.init_std("glorot", n_in, n_out), "init_std('glorot')")
    assert float(np.std(draws)) == pytest.approx(glorot, rel=0.05)


def test_the_iris_mlp(lesson, rng):
    import keras

    hidden = int(rng.integers(6, 17))
    seed(lesson, 0)  # the same first weights for a given size
    model = compiled(lesson.build_iris_mlp(hidden), f"build_iris_mlp({hidden})")
    assert tuple(model.input_shape) == (None, 4), (
        f"4 measurements per flower: keras.Input(shape=(4,)), got {model.input_shape}"
    )
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [d.units for d in dense] == [hidden, 3], (
        f"Dense({hidden}) then Dense(3), got Dense layers of {[d.units for d in dense]} units"
    )
    assert dense[0].activation.__name__ == "relu", "the hidden layer uses ReLU"
    assert dense[-1].activation.__name__ == "softmax", "3 softmax outputs, one per species"
    assert model.count_params() == 5 * hidden + (hidden + 1) * 3
    loss = str(getattr(model.loss, "name", model.loss))
    assert "categorical_crossentropy" in loss and "sparse" not in loss, (
        f"the targets are one-hot (N, 3): loss='categorical_crossentropy', got {model.loss!r}"
    )
    data = lesson.load_iris_onehot()
    (x, y), (x_test, y_test) = data[0], data[1]
    keras.utils.set_random_seed(0)
    before = model.evaluate(x, y, verbose=0, return_dict=True)
    model.fit(x, y, epochs=60, batch_size=16, verbose=0)
    after = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
    assert "accuracy" in after, "compile with metrics=['accuracy']"
    assert after["accuracy"] >= 0.8, (
        f"after 60 epochs the MLP should tell the species apart (test accuracy "
        f"{after['accuracy']:.2f}, loss {before['loss']:.2f} -> {after['loss']:.2f})"
    )
