"""Grading checks for ex01: the perceptron.

Each check compares with a reference computed here from the rule itself, or
with a property any correct perceptron has; none copies a number from the
solution. Random inputs come from the `rng` fixture: a fresh seed each run,
so no answer can be written down in advance. Checks follow the lesson's
order.
"""

import numpy as np
import pytest

from workshop.grading import expect
from workshop.grading.judge import leaves_arguments_alone

GATES = {
    "AND": np.array([0, 0, 0, 1]),
    "OR": np.array([0, 1, 1, 1]),
    "XOR": np.array([0, 1, 1, 0]),
}
INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)


def reference_train(P, T, w, b, epochs, lr=1.0):
    """The perceptron rule, written out, to compare against: (w, b, errors, updates)."""
    w = np.array(w, dtype=float)
    errors, updates = [], []
    for _ in range(epochs):
        wrong = 0
        for p, t in zip(P, T, strict=True):
            n = w @ p + (0.0 if b is None else b)
            e = t - (1 if n >= 0 else 0)
            w = w + lr * e * p
            b = None if b is None else b + lr * e
            updates.append(w.copy())
            wrong += e != 0
        errors.append(wrong)
        if wrong == 0:
            break
    return w, b, errors, updates


def test_hardlim_scalars(lesson):
    for x, want in [(0, 1), (0.0, 1), (-1e-9, 0), (3.5, 1), (-2, 0)]:
        got = lesson.hardlim(x)
        value = expect.integer(got, f"hardlim({x})")
        assert value == want, f"hardlim({x}) should be {want}, got {got!r}: 1 where x >= 0, else 0"


def test_hardlim_arrays(lesson, rng):
    x = rng.normal(size=(5, 7))
    x[0, 0] = 0.0
    got = expect.array(lesson.hardlim(x), "hardlim of an array", ndim=2)
    expect.equal(got, np.heaviside(x, 1.0), "hardlim(x)", hint="1 where x >= 0, else 0")


def test_or_gate_by_hand(lesson):
    # The workshop deck: w = [0.5, 0.5] is orthogonal to the boundary, and the
    # point (0, 0.5) on it gives b = -0.25. Your predict must then compute OR.
    got = expect.array(lesson.predict(np.array([0.5, 0.5]), -0.25, INPUTS), "predict", ndim=1)
    expect.equal(got, GATES["OR"], "the OR gate by hand (w = [.5, .5], b = -.25)")


def test_step_follows_the_rule(lesson, rng):
    for _ in range(50):
        w, p = rng.normal(size=3), rng.integers(-2, 3, size=3).astype(float)
        b, t = float(rng.normal()), int(rng.integers(0, 2))
        a = 1 if w @ p + b >= 0 else 0
        new_w, new_b, e = lesson.perceptron_step(w, b, p, t)
        assert e == t - a, f"error e must be t - a = {t} - {a} = {t - a}, got {e}"
        expect.close(new_w, w + (t - a) * p, "the new w", hint="w must become w + e·p")
        expect.close(new_b, b + (t - a), "the new b", hint="b must become b + e")
    leaves_arguments_alone(lesson, "perceptron_step")


def test_learning_rate_scales_the_update(lesson, rng):
    for _ in range(20):
        w, p, lr = rng.normal(size=2), rng.normal(size=2), float(rng.uniform(0.01, 2))
        b, t = float(rng.normal()), int(rng.integers(0, 2))
        e = t - (1 if w @ p + b >= 0 else 0)
        new_w, new_b, got_e = lesson.perceptron_step(w, b, p, t, lr=lr)
        expect.close(new_w, w + lr * e * p, f"the new w with lr={lr:.3f}", hint="w + η·e·p")
        expect.close(new_b, b + lr * e, f"the new b with lr={lr:.3f}", hint="b + η·e")


def test_step_without_bias(lesson):
    w, p = np.array([0.5, -1.0]), np.array([1.0, 1.0])
    new_w, new_b, e = lesson.perceptron_step(w, None, p, 1)
    assert new_b is None, f"with b=None the neuron has no bias: b must stay None, got {new_b!r}"
    assert e == 1, f"w·p = -0.5 < 0 so a = 0 and e = 1 - 0 = 1; got e = {e}"
    expect.close(new_w, w + p, "the new w")


@pytest.mark.parametrize("gate", ["AND", "OR"])
def test_learns_separable_gates(lesson, gate):
    T = GATES[gate]
    result = lesson.train_perceptron(INPUTS, T, w=np.zeros(2), b=0.0, epochs=50)
    assert result.converged, (
        f"{gate} is linearly separable: training must converge (errors: {result.errors})"
    )
    got = expect.array(lesson.predict(result.w, result.b, INPUTS), "predict(w, b, P)", ndim=1)
    expect.equal(got, T, f"predict after training on {gate}")


def test_matches_the_rule_epoch_by_epoch(lesson, rng):
    P = rng.normal(size=(30, 3))
    T = (P @ np.array([1.0, -2.0, 0.5]) + 0.3 >= 0).astype(int)
    w0, lr = rng.normal(size=3), float(rng.choice([1.0, 0.5, 0.1]))
    want_w, want_b, want_errors, want_updates = reference_train(P, T, w0, 0.0, 200, lr)
    result = lesson.train_perceptron(P, T, w=w0.copy(), b=0.0, epochs=200, lr=lr)
    assert list(result.errors) == want_errors, (
        f"errors per epoch should be {want_errors}, got {list(result.errors)}: present the "
        "patterns in the given order, one update per pattern, and stop after an error-free epoch"
    )
    assert result.epochs == len(want_errors), (
        f"epochs run: want {len(want_errors)}, got {result.epochs}"
    )
    expect.close(result.w, want_w, "the final weights", hint="they differ from the rule's")
    expect.close(result.b, want_b, "the final bias")
    assert len(result.updates) == len(want_updates), (
        f"updates holds the weights after every presentation: want {len(want_updates)}, "
        f"got {len(result.updates)}"
    )
    expect.close(
        [w for w, _ in result.updates], want_updates, "the weights after each presentation"
    )


def test_the_decks_learning_rule_problem(lesson):
    # The workshop deck, pattern by pattern, no bias, from w = [1.0, -0.8]: the
    # weights after each of the three updates are [2, 1.2], [3, -0.8], [3, 0.2].
    P = np.array([[1.0, 2.0], [-1.0, 2.0], [0.0, -1.0]])
    result = lesson.train_perceptron(
        P, np.array([1, 0, 0]), w=np.array([1.0, -0.8]), b=None, epochs=10
    )
    first_epoch = [w for w, _ in result.updates[:3]]
    expect.close(
        first_epoch,
        [[2.0, 1.2], [3.0, -0.8], [3.0, 0.2]],
        "the weights after each pattern of the first epoch",
        atol=1e-9,
        hint="(the slide's list)",
    )
    assert result.converged and result.epochs == 2, (
        f"after those updates every pattern is right: the second epoch has no error "
        f"(converged in 2 epochs), got converged={result.converged}, epochs={result.epochs}"
    )


def test_the_first_decks_first_update(lesson):
    # The first deck: W = [1, 0.5, 1, 0.5] (bias first), pattern (2, 7, 1) of class 0,
    # eta 0.01. w·x + b = 9.5, so the neuron says 1 where 0 is wanted: w·x + b
    # must go down. (The slide adds instead and gets [1.01, 0.52, 1.07, 0.51].)
    w, b, e = lesson.perceptron_step([0.5, 1.0, 0.5], 1.0, [2.0, 7.0, 1.0], 0, lr=0.01)
    assert e == -1, f"the output 1 for target 0 is an error e = t - a = -1, got {e!r}"
    expect.close(
        [b, *np.asarray(w).tolist()],
        [0.99, 0.48, 0.93, 0.49],
        "the first deck's weights after its first update, bias first",
        atol=1e-9,
        hint="w - 0.01·p and b - 0.01: the slide's [1.01, 0.52, 1.07, 0.51] has the sign flipped",
    )


def test_xor_never_converges(lesson):
    result = lesson.train_perceptron(INPUTS, GATES["XOR"], w=np.zeros(2), b=0.0, epochs=40)
    assert not result.converged, "XOR is not linearly separable: converged must be False"
    assert result.epochs == 40, (
        f"without convergence every epoch runs: want 40, got {result.epochs}"
    )
    assert len(result.errors) == 40 and min(result.errors) > 0, (
        f"every XOR epoch misclassifies something; errors were {list(result.errors)}"
    )


def test_the_first_decks_six_patterns_never_converge(lesson):
    # The first deck trains on these with η = 0.01; they are not linearly separable.
    P = np.array([[2, 7, 1], [3, 6, 5], [5, 4, 7], [6, 8, 5], [7, 9, 7], [8, 0, 8]], dtype=float)
    for lr in (1.0, 0.01):
        result = lesson.train_perceptron(
            P, np.array([0, 1, 0, 0, 1, 1]), w=np.zeros(3), epochs=100, lr=lr
        )
        assert not result.converged and min(result.errors) > 0, (
            f"with eta = {lr}, no epoch can be error-free on patterns that no line separates; "
            f"got converged={result.converged}, errors {list(result.errors)[-5:]}"
        )


def test_bias_is_a_weight_on_a_constant_input(lesson, rng):
    P = rng.normal(size=(12, 2))
    ones = expect.numbers(lesson.with_bias_input(P), "with_bias_input(P)")
    assert ones.shape == (12, 3), f"one more input per pattern: want (12, 3), got {ones.shape}"
    expect.close(ones[:, :2], P, "the original inputs", hint="keep them, in order")
    expect.close(ones[:, 2], np.ones(12), "the extra input", hint="always 1, as the last one")
    T = (P @ np.array([1.0, -1.0]) + 0.4 >= 0).astype(int)
    w0 = rng.normal(size=2)
    with_b = lesson.train_perceptron(P, T, w=w0, b=0.0, epochs=50)
    as_weight = lesson.train_perceptron(ones, T, w=np.r_[w0, 0.0], b=None, epochs=50)
    expect.close(
        as_weight.w,
        np.r_[with_b.w, with_b.b],
        "the weights trained on the extra input",
        hint="the last one must equal the bias trained the usual way",
    )


def test_no_bias_neuron(lesson):
    # Without a bias the boundary passes through the origin: OR's (0, 0) -> 0 is
    # impossible since hardlim(0) = 1, so it cannot converge.
    result = lesson.train_perceptron(INPUTS, GATES["OR"], w=np.zeros(2), b=None, epochs=20)
    assert result.b is None, "b=None trains a neuron without bias: result.b must stay None"
    assert not result.converged, "with no bias, OR cannot be learned (hardlim(w·0) = 1 for (0, 0))"


def test_random_start_is_seeded(lesson):
    a = lesson.train_perceptron(INPUTS, GATES["AND"], w=None, seed=7, epochs=50)
    b = lesson.train_perceptron(INPUTS, GATES["AND"], w=None, seed=7, epochs=50)
    assert a.converged, "AND must converge from a small random start too"
    expect.close(a.w, b.w, "the weights of two runs with the same seed")


def test_predict_matches_definition(lesson, rng):
    P, w, b = rng.normal(size=(20, 4)), rng.normal(size=4), float(rng.normal())
    got = expect.array(lesson.predict(w, b, P), "predict(w, b, P)", ndim=1)
    assert got.shape == (20,), f"one output per pattern: want shape (20,), got {got.shape}"
    expect.equal(got, (P @ w + b >= 0).astype(int), "predict(w, b, P)", hint="hardlim(P·w + b)")
