"""Grading checks for ex02: cost, gradients, descent, the delta rule, and Keras's one neuron.

References: the cost formula evaluated here, finite differences of it, gradient
descent written out here, the least-squares line from np.linalg.lstsq, and
Keras's own loss and a gradient step computed here (checks marked `keras`).
The data are drawn afresh each run (`rng`), so no answer can be written down
in advance, and every value the attendee's code returns goes through
`expect`, which checks its kind (a number, an array, a list of the right
length) before its value. The NumPy checks never import TensorFlow.
"""

import math

import numpy as np
import pytest

from workshop.grading import expect
from workshop.grading.checks import answer
from workshop.grading.judge import compiled, leaves_arguments_alone, scenario, seed, type_name


@pytest.fixture
def data(rng):
    """40 noisy points around a line with a random slope and intercept."""
    x = rng.uniform(-1, 4, 40)
    slope, intercept = rng.uniform(0.5, 3), rng.uniform(-2, 2)
    return x, slope * x + intercept + rng.normal(0, 0.3, 40)


def ref_cost(w, b, x, t):
    return np.mean((t - (w * x + b)) ** 2) / 2


def ref_gradients(w, b, x, t):
    error = t - (w * x + b)
    return -np.mean(error * x), -np.mean(error)


def ref_descent(x, t, lr, epochs, w=0.0, b=0.0):
    """Gradient descent written out: (history, path, diverged), stopping as the lesson says."""
    start = ref_cost(w, b, x, t)
    history, path = [], [(w, b)]
    for _ in range(epochs):
        dw, db = ref_gradients(w, b, x, t)
        w, b = w - lr * dw, b - lr * db
        history.append(ref_cost(w, b, x, t))
        path.append((w, b))
        if not np.isfinite(history[-1]) or history[-1] > 1e6 * max(start, 1e-12):
            return history, path, True
    return history, path, False


def least_squares(x, t):
    A = np.c_[x, np.ones_like(x)]
    return np.linalg.lstsq(A, t, rcond=None)[0]


def flag(got, what: str) -> bool:
    """A real True or False (not 1, not "yes")."""
    if not isinstance(got, (bool, np.bool_)):
        raise AssertionError(f"{what} should be True or False, got a {type_name(got)}: {got!r:.80}")
    return bool(got)


def descent(lesson, *args, **kw):
    """gradient_descent's result, with the kind of its fields checked."""
    r = lesson.gradient_descent(*args, **kw)
    if type_name(r) != "DescentResult":
        raise AssertionError(f"gradient_descent should return a DescentResult, got {type_name(r)}")
    flag(r.diverged, "result.diverged")
    expect.number(r.w, "result.w", finite=False)
    expect.number(r.b, "result.b", finite=False)
    return r


def test_the_decks_cost_of_a_line(lesson):
    # The workshop deck: w = 3, b = 2 against y = 2x + 4 for x = 1..8.
    x = np.arange(1.0, 9.0)
    got = expect.number(lesson.quadratic_cost(3.0, 2.0, x, 2 * x + 4), "quadratic_cost")
    want = ref_cost(3.0, 2.0, x, 2 * x + 4)
    expect.close(
        got, want, "the deck's example", hint="(1² + 0² + 1² + … + 6²) / 16: halve the mean"
    )


def test_quadratic_cost_matches_formula(lesson, data, rng):
    X, T = data
    for n in (1, 7, 40):
        for w, b in [(0.0, 0.0), *rng.normal(0, 2, (3, 2)).tolist()]:
            got = expect.number(lesson.quadratic_cost(w, b, X[:n], T[:n]), f"C({w:.3g}, {b:.3g})")
            expect.close(
                got,
                ref_cost(w, b, X[:n], T[:n]),
                f"C({w:.3g}, {b:.3g}) on {n} points",
                rtol=1e-9,
                hint="1/(2n) Σ (t − (w·x + b))²: did you forget the 1/2, or sum instead of mean?",
            )


def test_gradients_match_finite_differences(lesson, data, rng):
    X, T = data
    eps = 1e-6
    for w, b in [(0.0, 0.0), *rng.normal(0, 2, (3, 2)).tolist()]:
        got = lesson.gradients(w, b, X, T)
        if not isinstance(got, tuple) or len(got) != 2:
            raise AssertionError(f"gradients should return (dC/dw, dC/db), got {type_name(got)}")
        at = f"at (w, b) = ({w:.3g}, {b:.3g})"
        dw, db = expect.number(got[0], f"dC/dw {at}"), expect.number(got[1], f"dC/db {at}")
        fd_w = (ref_cost(w + eps, b, X, T) - ref_cost(w - eps, b, X, T)) / (2 * eps)
        fd_b = (ref_cost(w, b + eps, X, T) - ref_cost(w, b - eps, X, T)) / (2 * eps)
        expect.close(dw, fd_w, f"dC/dw {at}", rtol=1e-5, atol=1e-7, hint="(finite differences)")
        expect.close(db, fd_b, f"dC/db {at}", rtol=1e-5, atol=1e-7, hint="(finite differences)")
        want_w, want_b = ref_gradients(w, b, X, T)
        expect.close(dw, want_w, f"dC/dw {at}", rtol=1e-9, atol=1e-12, hint="−mean((t − y)·x)")
        expect.close(db, want_b, f"dC/db {at}", rtol=1e-9, atol=1e-12, hint="−mean(t − y)")


def test_descent_history_and_path(lesson, data, rng):
    X, T = data
    w0, b0 = rng.normal(size=2).tolist()
    result = descent(lesson, X, T, lr=0.05, epochs=30, w=w0, b=b0)
    history, path, _ = ref_descent(X, T, 0.05, 30, w0, b0)
    expect.close(result.history, history, "history", rtol=1e-9, hint="the cost after each update")
    expect.close(
        result.path, path, "path", rtol=1e-9, hint="the start, then (w, b) after each update"
    )
    expect.close([result.w, result.b], list(path[-1]), "the final (w, b)", rtol=1e-9)
    assert not result.diverged, "with lr=0.05 the cost falls: diverged must be False"
    assert all(np.diff(result.history) <= 1e-12), "with a small lr the cost never increases"


def test_descent_finds_the_least_squares_line(lesson, data):
    X, T = data
    result = descent(lesson, X, T, lr=0.1, epochs=3000)
    assert not result.diverged, f"lr=0.1 converges here; diverged is True ({result.message!r})"
    expect.close(
        [result.w, result.b],
        least_squares(X, T).tolist(),
        "(w, b) after 3000 epochs",
        atol=1e-3,
        hint="descent must reach the least-squares line",
    )


def test_divergence_is_detected(lesson, data, rng):
    X, T = data
    for lr in (1.0, float(rng.uniform(0.6, 3.0))):
        history, path, diverged = ref_descent(X, T, lr, 1000)
        result = descent(lesson, X, T, lr=lr, epochs=1000)
        assert result.diverged, f"lr={lr:.3g} makes this cost explode: diverged must be True"
        expect.close(
            result.history,
            history,
            f"history until the stop, lr={lr:.3g}",
            rtol=1e-9,
            hint=f"stop at the first cost past 1e6 × the starting cost: epoch {len(history)}",
        )
        expect.close(result.path[-1], path[-1], "the last point of path", rtol=1e-9)
        if not isinstance(result.message, str) or not (
            "lr" in result.message or "learning rate" in result.message
        ):
            raise AssertionError(
                f"the message should name the learning rate, got {result.message!r}"
            )


def test_divergence_is_judged_against_the_starting_cost(lesson, data):
    X, T = data
    # Targets in the ten thousands: the cost starts near 1e8 and falls. A fixed
    # threshold (cost > 1e6) would call that divergence; it is relative to the start.
    result = descent(lesson, X, T * 1e4, lr=0.05, epochs=50)
    assert not result.diverged, (
        "with lr=0.05 the cost falls: that is not divergence. Compare the cost with the "
        "STARTING cost (e.g. > 1e6 × it), not with a fixed number"
    )
    history, _, _ = ref_descent(X, T * 1e-4, 1.0, 1000)
    tiny = descent(lesson, X, T * 1e-4, lr=1.0, epochs=1000)
    assert tiny.diverged, "lr=1.0 diverges on small targets too, even while the cost is still tiny"
    expect.close(
        tiny.history,
        history,
        "history on small targets until the stop",
        rtol=1e-9,
        hint="past 1e6 × a tiny starting cost is still divergence",
    )


def test_divergence_stops_at_the_first_cost_past_the_limit(lesson):
    # One point (x = 1, t = 0) from (0.5, 0.5): each step multiplies the error by 1 − 2·lr,
    # so lr = 500.5 makes the first cost exactly 1e6 × the start (not past it: go on), and
    # lr = 500.5001 makes it a hair more (past it: stop there).
    for lr in (500.5, 500.5001):
        history, _, _ = ref_descent(np.array([1.0]), np.array([0.0]), lr, 5, 0.5, 0.5)
        result = descent(lesson, [1.0], [0.0], lr=lr, epochs=5, w=0.5, b=0.5)
        assert result.diverged, f"lr={lr} on one point diverges: diverged must be True"
        expect.close(
            result.history,
            history,
            f"history on one point with lr={lr}",
            rtol=1e-9,
            hint="stop at the first cost MORE than 1e6 × the starting cost (equal is not past)",
        )


def test_delta_rule_epoch(lesson, rng):
    Xd = np.c_[rng.normal(size=(25, 2)), np.ones(25)]
    t = Xd @ rng.normal(0, 2, 3) + rng.normal(0, 0.1, 25)
    W = rng.normal(size=3)
    got = lesson.delta_rule_epoch(W, Xd, t, 0.01)
    want = W + 0.01 * sum((t[d] - Xd[d] @ W) * Xd[d] for d in range(25))
    expect.close(
        got, want, "W after one epoch", hint="ΔW_i = lr · Σ_d (t_d − o_d)·x_id with o = X·W"
    )
    leaves_arguments_alone(lesson, "delta_rule_epoch")
    W = repeated_epochs(lesson, W, Xd, t, 0.01, 2000)
    expect.close(
        W,
        np.linalg.lstsq(Xd, t, rcond=None)[0],
        "W after 2000 epochs",
        atol=1e-4,
        hint="repeated epochs reach the least-squares weights",
    )


@scenario
def repeated_epochs(lesson, W, X, t, lr, epochs):
    """Feed delta_rule_epoch its own output, as training does (in the worker: one request)."""
    for _ in range(epochs):
        W = lesson.delta_rule_epoch(W, X, t, lr)
    return W


@pytest.mark.keras
def test_single_neuron_model(lesson, rng):
    import keras  # first: the worker loads it too meanwhile, on the other core

    model = compiled(lesson.build_single_neuron_model(), "build_single_neuron_model")
    assert isinstance(model, keras.Model), f"expected a keras.Model, got {type(model)}"
    expect.equal(model.count_params(), 2, "the model's parameters", hint="one weight, one bias")
    x, t = rng.uniform(-3, 3, (16, 1)), rng.normal(size=(16, 1))
    w, b = rng.normal(size=2)
    try:
        model.set_weights([np.array([[w]]), np.array([b])])
    except ValueError as exc:
        raise AssertionError(f"one input, one Dense unit: weights (1, 1) and (1,): {exc}") from None
    y = keras.ops.convert_to_numpy(model(x))
    expect.close(y, w * x + b, "the model's output", rtol=1e-5, atol=1e-5, hint="w·x + b")
    # The loss, by its values against Keras's mean squared error.
    loss = keras.losses.get(model.loss) if isinstance(model.loss, (str, dict)) else model.loss
    got = float(keras.ops.convert_to_numpy(keras.ops.mean(loss(t, y))))
    want = float(keras.ops.convert_to_numpy(keras.losses.MeanSquaredError()(t, y)))
    expect.close(got, want, "the model's loss on the judge's points", rtol=1e-5, hint="MSE")
    # The optimiser, by the step it takes: plain gradient descent at 0.05 on that loss.
    model.train_on_batch(x, t)
    grad = 2 * (y.astype(float) - t) / len(t)
    step = [w - 0.05 * float(np.sum(grad * x)), b - 0.05 * float(np.sum(grad))]
    got = [float(np.ravel(v)[0]) for v in model.get_weights()]
    hint = "SGD(learning_rate=0.05): w − 0.05·dMSE/dw, no momentum"
    expect.close(got, step, "(w, b) after one training step", rtol=1e-4, atol=1e-5, hint=hint)


@pytest.mark.keras
def test_fit_line_learns_2x_minus_1(lesson):
    lesson.build_single_neuron_model()  # an unfinished stub stops here
    seed(lesson, 0)  # the attendee's initial weights
    xs = np.arange(-1.0, 5.0)
    model = lesson.fit_line(xs, 2 * xs - 1, epochs=150)
    got = float(model.predict(np.array([[10.0]]), verbose=0)[0, 0])
    w, b = least_squares(xs, 2 * xs - 1)
    expect.close(got, w * 10 + b, "f(10) after training on y = 2x − 1", atol=0.1)


# --------------------------------------------------------------------------- the questions


def test_q1_the_largest_stable_learning_rate(lesson):
    x = np.arange(1.0, 9.0)
    hessian = np.array([[np.mean(x**2), np.mean(x)], [np.mean(x), 1.0]])  # of C(w, b)
    want = 2 / np.linalg.eigvalsh(hessian).max()
    got = expect.number(answer(lesson, "q1"), "q1 (the largest learning rate that converges)")
    expect.close(got, want, "q1", rtol=0.02, hint="bisect: try lr values, watch .diverged")


def test_q2_updates_per_epoch(lesson):
    want = [math.ceil(50 / size) for size in (50, 8, 1)]
    expect.equal(answer(lesson, "q2"), want, "q2 (updates per epoch for 50, 8, 1)")


@pytest.mark.keras
def test_q3_keras_loss_against_this_cost(lesson, rng):
    import keras

    x, t, (w, b) = rng.normal(size=20), rng.normal(size=20), rng.normal(size=2)
    keras_loss = keras.losses.MeanSquaredError()(t, w * x + b)
    want = float(keras.ops.convert_to_numpy(keras_loss)) / ref_cost(w, b, x, t)
    got = expect.number(answer(lesson, "q3"), "q3 (Keras's loss divided by C)")
    expect.close(got, want, "q3", rtol=1e-3, hint="compute both on the same line and points")
