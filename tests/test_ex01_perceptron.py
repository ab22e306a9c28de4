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


def reference_train(P, T, w, b, epochs):
    """The perceptron rule, written out, to compare against."""
    w = np.array(w, dtype=float)
    errors = []
    for _ in range(epochs):
        wrong = 0
        for p, t in zip(P, T, strict=True):
            n = w @ p + (0.0 if b is None else b)
            e = t - (1 if n >= 0 else 0)
            w = w + e * p
            b = None if b is None else b + e
            wrong += e != 0
        errors.append(wrong)
        if wrong == 0:
            break
    return w, b, errors


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
    w0 = rng.normal(size=3)
    want_w, want_b, want_errors = reference_train(P, T, w0, 0.0, epochs=200)
    result = lesson.train_perceptron(P, T, w=w0.copy(), b=0.0, epochs=200)
    assert list(result.errors) == want_errors, (
        f"errors per epoch should be {want_errors}, got {list(result.errors)}: present the "
        "patterns in the given order, one update per pattern, and stop after an error-free epoch"
    )
    assert result.epochs == len(want_errors), (
        f"epochs run: want {len(want_errors)}, got {result.epochs}"
    )
    expect.close(result.w, want_w, "the final weights", hint="they differ from the rule's")
    expect.close(result.b, want_b, "the final bias")


def test_xor_never_converges(lesson):
    result = lesson.train_perceptron(INPUTS, GATES["XOR"], w=np.zeros(2), b=0.0, epochs=40)
    assert not result.converged, "XOR is not linearly separable: converged must be False"
    assert result.epochs == 40, (
        f"without convergence every epoch runs: want 40, got {result.epochs}"
    )
    assert len(result.errors) == 40 and min(result.errors) > 0, (
        f"every XOR epoch misclassifies something; errors were {list(result.errors)}"
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
