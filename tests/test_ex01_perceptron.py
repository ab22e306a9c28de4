"""Grading checks for ex01: the perceptron.

Each check compares with a reference computed here from the rule itself, or
with a property any correct perceptron has; none copies a number from the
solution. Random inputs come from the `rng` fixture: a fresh seed each run,
so no answer can be written down in advance. Every value the attendee's code
returns goes through `expect`, which checks its kind (an array where an array
is due, a whole number for a count) before its value. Checks follow the
lesson's order; the closing questions come last.
"""

import itertools

import numpy as np
import pytest

from workshop.grading import expect
from workshop.grading.checks import answer
from workshop.grading.judge import leaves_arguments_alone, type_name

GATES = {
    "AND": np.array([0, 0, 0, 1]),
    "OR": np.array([0, 1, 1, 1]),
    "XOR": np.array([0, 1, 1, 0]),
}
INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)


def reference_train(P, T, w, b, epochs, lr=1.0):
    """The perceptron rule, written out: (w, b, errors, updates, history), as the lesson keeps them."""
    w = np.array(w, dtype=float)
    errors, updates, history = [], [], []
    for _ in range(epochs):
        wrong = 0
        for p, t in zip(P, T, strict=True):
            n = w @ p + (0.0 if b is None else b)
            e = t - (1 if n >= 0 else 0)
            w = w + lr * e * p
            b = None if b is None else b + lr * e
            updates.append((w.copy(), b))
            wrong += e != 0
        errors.append(wrong)
        history.append((w.copy(), b))
        if wrong == 0:
            break
    return w, b, errors, updates, history


def flag(got, what: str) -> bool:
    """A real True or False (not 1, not "yes", not an array)."""
    if not isinstance(got, (bool, np.bool_)):
        raise AssertionError(f"{what} should be True or False, got a {type_name(got)}: {got!r:.80}")
    return bool(got)


def step(lesson, w, b, p, t, **kw):
    """perceptron_step's answer, each part checked for its kind: (w array, b number or None, e int)."""
    got = lesson.perceptron_step(w, b, p, t, **kw)
    if not isinstance(got, tuple) or len(got) != 3:
        raise AssertionError(f"perceptron_step should return (w, b, e), got {type_name(got)}")
    new_w, new_b, e = got
    new_w = expect.array(new_w, "the new w", shape=np.shape(w))
    if b is not None:
        new_b = expect.number(new_b, "the new b")
    return new_w, new_b, expect.integer(e, "the error e", hint="e = t - a: 1, 0 or -1")


def test_hardlim_scalars(lesson):
    for x, want in [(0, 1), (0.0, 1), (-1e-9, 0), (3.5, 1), (-2, 0)]:
        got = expect.integer(lesson.hardlim(x), f"hardlim({x})")
        expect.equal(got, want, f"hardlim({x})", hint="1 where x >= 0, else 0")


def test_hardlim_arrays(lesson, rng):
    x = rng.normal(size=(5, 7))
    x[0, 0] = 0.0
    got = expect.array(lesson.hardlim(x), "hardlim of an array", shape=x.shape)
    expect.equal(got, np.heaviside(x, 1.0), "hardlim(x)", hint="1 where x >= 0, else 0")


def test_or_gate_by_hand(lesson):
    # The workshop deck: w = [0.5, 0.5] is orthogonal to the boundary, and the
    # point (0, 0.5) on it gives b = -0.25. Your predict must then compute OR.
    got = lesson.predict(np.array([0.5, 0.5]), -0.25, INPUTS)
    expect.equal(got, GATES["OR"], "the OR gate by hand (w = [.5, .5], b = -.25)")


def test_predict_matches_definition(lesson, rng):
    P, w, b = rng.normal(size=(20, 4)), rng.normal(size=4), float(rng.normal())
    got = lesson.predict(w, b, P)
    expect.equal(got, (P @ w + b >= 0).astype(int), "predict(w, b, P)", hint="hardlim(P·w + b)")


def test_step_follows_the_rule(lesson, rng):
    for _ in range(50):
        w, p = rng.normal(size=3), rng.integers(-2, 3, size=3).astype(float)
        b, t = float(rng.normal()), int(rng.integers(0, 2))
        e = t - (1 if w @ p + b >= 0 else 0)
        new_w, new_b, got_e = step(lesson, w, b, p, t)
        expect.equal(got_e, e, f"e for target {t}", hint="e = t - a, with a = hardlim(w·p + b)")
        expect.close(new_w, w + e * p, "the new w", hint="w must become w + e·p")
        expect.close(new_b, b + e, "the new b", hint="b must become b + e")
    leaves_arguments_alone(lesson, "perceptron_step")


def test_learning_rate_scales_the_update(lesson, rng):
    for _ in range(20):
        w, p, lr = rng.normal(size=2), rng.normal(size=2), float(rng.uniform(0.01, 2))
        b, t = float(rng.normal()), int(rng.integers(0, 2))
        e = t - (1 if w @ p + b >= 0 else 0)
        new_w, new_b, got_e = step(lesson, w, b, p, t, lr=lr)
        expect.equal(got_e, e, f"e with lr={lr:.3f}", hint="η scales the step, not the error")
        expect.close(new_w, w + lr * e * p, f"the new w with lr={lr:.3f}", hint="w + η·e·p")
        expect.close(new_b, b + lr * e, f"the new b with lr={lr:.3f}", hint="b + η·e")


def test_step_without_bias(lesson, rng):
    for _ in range(10):
        w, p, t = rng.normal(size=2), rng.normal(size=2), int(rng.integers(0, 2))
        e = t - (1 if w @ p >= 0 else 0)
        new_w, new_b, got_e = step(lesson, w, None, p, t)
        assert new_b is None, f"with b=None the neuron has no bias: b must stay None, got {new_b!r}"
        expect.equal(got_e, e, "e without bias", hint="a = hardlim(w·p): no b to add")
        expect.close(new_w, w + e * p, "the new w without bias")


def test_the_first_decks_first_update(lesson):
    # The first deck: W = [1, 0.5, 1, 0.5] (bias first), pattern (2, 7, 1) of class 0,
    # eta 0.01. w·x + b = 9.5, so the neuron says 1 where 0 is wanted: w·x + b
    # must go down. (The slide adds instead.)
    w0, p = np.array([0.5, 1.0, 0.5]), np.array([2.0, 7.0, 1.0])
    w, b, e = step(lesson, w0, 1.0, p, 0, lr=0.01)
    expect.equal(e, -1, "the error for output 1, target 0", hint="e = t - a")
    hint = "w - 0.01·p and b - 0.01: the slide adds, with the sign flipped"
    expect.close(w, w0 - 0.01 * p, "the first deck's w after its first update", hint=hint)
    expect.close(b, 1.0 - 0.01, "the first deck's bias after its first update", hint=hint)


def trained(lesson, *args, **kw):
    """train_perceptron's result, with the kind of every field checked."""
    r = lesson.train_perceptron(*args, **kw)
    if type_name(r) != "PerceptronResult":
        raise AssertionError(
            f"train_perceptron should return a PerceptronResult, got {type_name(r)}"
        )
    flag(r.converged, "result.converged")
    expect.integer(r.epochs, "result.epochs (the epochs run)")
    counts = (int, np.integer)
    if not isinstance(r.errors, list) or not all(isinstance(n, counts) for n in r.errors):
        raise AssertionError(
            f"result.errors should be a list of counts (int), got {r.errors!r:.80}"
        )
    return r


@pytest.mark.parametrize("gate", ["AND", "OR"])
def test_learns_separable_gates(lesson, gate):
    T = GATES[gate]
    result = trained(lesson, INPUTS, T, w=np.zeros(2), b=0.0, epochs=50)
    assert result.converged, f"{gate} is linearly separable: it must converge ({result.errors})"
    expect.equal(lesson.predict(result.w, result.b, INPUTS), T, f"predict after training {gate}")


def test_matches_the_rule_epoch_by_epoch(lesson, rng):
    P = rng.normal(size=(30, 3))
    T = (P @ np.array([1.0, -2.0, 0.5]) + 0.3 >= 0).astype(int)
    w0, lr = rng.normal(size=3), float(rng.choice([1.0, 0.5, 0.1]))
    want_w, want_b, want_errors, want_updates, want_history = reference_train(
        P, T, w0, 0.0, 200, lr
    )
    result = trained(lesson, P, T, w=w0.copy(), b=0.0, epochs=200, lr=lr)
    expect.equal(
        result.errors,
        want_errors,
        "the errors per epoch",
        hint="present the patterns in order, one update each; stop after an error-free epoch",
    )
    expect.equal(result.epochs, len(want_errors), "the epochs run")
    expect.close(result.w, want_w, "the final weights", hint="they differ from the rule's")
    expect.close(result.b, want_b, "the final bias")
    for what, got, want in (
        ("updates", result.updates, want_updates),
        ("history", result.history, want_history),
    ):
        if not isinstance(got, list) or len(got) != len(want):
            raise AssertionError(
                f"result.{what} should be a list of {len(want)} (w, b) pairs, got "
                f"{type_name(got)} of {len(got) if isinstance(got, list) else '?'}"
            )
        ws = [expect.array(pair[0], f"a w in {what}", shape=want_w.shape) for pair in got]
        expect.close(ws, [w for w, _ in want], f"the w of each of {what}")
        expect.close([pair[1] for pair in got], [b for _, b in want], f"the b of each of {what}")


def test_the_decks_learning_rule_problem(lesson):
    # The workshop deck, pattern by pattern, no bias, from w = [1.0, -0.8]: the
    # weights after each of the three updates are [2, 1.2], [3, -0.8], [3, 0.2].
    P, T = np.array([[1.0, 2.0], [-1.0, 2.0], [0.0, -1.0]]), np.array([1, 0, 0])
    result = trained(lesson, P, T, w=np.array([1.0, -0.8]), b=None, epochs=10)
    _, _, errors, updates, _ = reference_train(P, T, [1.0, -0.8], None, 10)
    expect.close(
        [w for w, _ in result.updates[:3]],
        [w for w, _ in updates[:3]],
        "the weights after each pattern of the first epoch",
        hint="(the slide's list)",
    )
    assert result.converged, "after those updates every pattern is right: it must converge"
    expect.equal(result.epochs, len(errors), "the epochs run on the deck's problem")


def test_xor_never_converges(lesson):
    result = trained(lesson, INPUTS, GATES["XOR"], w=np.zeros(2), b=0.0, epochs=40)
    assert not result.converged, "XOR is not linearly separable: converged must be False"
    expect.equal(result.epochs, 40, "the epochs run without convergence", hint="every one runs")
    expect.equal(len(result.errors), 40, "the number of entries in errors")
    assert min(result.errors) > 0, f"every XOR epoch misclassifies something: {result.errors}"


def test_the_first_decks_six_patterns_never_converge(lesson):
    # The first deck trains on these with η = 0.01; they are not linearly separable.
    P = np.array([[2, 7, 1], [3, 6, 5], [5, 4, 7], [6, 8, 5], [7, 9, 7], [8, 0, 8]], dtype=float)
    T = np.array([0, 1, 0, 0, 1, 1])
    for lr in (1.0, 0.01):
        result = trained(lesson, P, T, w=np.zeros(3), epochs=100, lr=lr)
        want = reference_train(P, T, np.zeros(3), 0.0, 100, lr)[2]
        expect.equal(result.errors, want, f"the errors per epoch on the six patterns, eta {lr}")
        assert not result.converged, f"with eta = {lr} no epoch is error-free: converged is False"


def test_bias_is_a_weight_on_a_constant_input(lesson, rng):
    P = rng.normal(size=(12, 2))
    ones = expect.array(lesson.with_bias_input(P), "with_bias_input(P)", shape=(12, 3))
    expect.close(ones, np.c_[P, np.ones(12)], "with_bias_input(P)", hint="P, then a column of 1s")
    T = (P @ np.array([1.0, -1.0]) + 0.4 >= 0).astype(int)
    w0 = rng.normal(size=2)
    with_b = trained(lesson, P, T, w=w0, b=0.0, epochs=50)
    as_weight = trained(lesson, ones, T, w=np.r_[w0, 0.0], b=None, epochs=50)
    expect.close(
        as_weight.w,
        np.r_[with_b.w, with_b.b],
        "the weights trained on the extra input",
        hint="the last one must equal the bias trained the usual way",
    )


def test_no_bias_neuron(lesson):
    # Without a bias the boundary passes through the origin: OR's (0, 0) -> 0 is
    # impossible since hardlim(0) = 1, so it cannot converge.
    result = trained(lesson, INPUTS, GATES["OR"], w=np.zeros(2), b=None, epochs=20)
    assert result.b is None, "b=None trains a neuron without bias: result.b must stay None"
    assert not result.converged, "with no bias, OR cannot be learned (hardlim(w·0) = 1 for (0, 0))"


def test_random_start_is_seeded(lesson):
    a = trained(lesson, INPUTS, GATES["AND"], w=None, seed=7, epochs=50)
    b = trained(lesson, INPUTS, GATES["AND"], w=None, seed=7, epochs=50)
    assert a.converged, "AND must converge from a small random start too"
    expect.close(a.w, b.w, "the weights of two runs with the same seed")


# --------------------------------------------------------------------------- the questions


def learns(T, b=0.0, lr=1.0) -> bool:
    """Does the rule, from w = 0, reach an error-free epoch on the four inputs?"""
    return reference_train(INPUTS, np.array(T), np.zeros(2), b, 200, lr)[2][-1] == 0


def test_q1_how_many_functions_one_neuron_learns(lesson):
    want = sum(learns(T) for T in itertools.product((0, 1), repeat=4))
    got = expect.integer(answer(lesson, "q1"), "q1 (how many of the 16 functions)")
    expect.equal(got, want, "q1", hint="loop over the 16 columns T and count those that converge")


def test_q2_epochs_for_each_learning_rate(lesson):
    want = [
        len(reference_train(INPUTS, GATES["AND"], np.zeros(2), 0.0, 200, lr)[2])
        for lr in (1.0, 0.5, 0.25)
    ]
    got = answer(lesson, "q2")
    expect.equal(got, want, "q2 (epochs for AND with η = 1, 0.5, 0.25)", hint="train each")


def test_q3_gates_without_a_bias(lesson):
    gates = {"AND": (0, 0, 0, 1), "OR": (0, 1, 1, 1), "NAND": (1, 1, 1, 0), "NOR": (1, 0, 0, 0)}
    want = sorted(name for name, T in gates.items() if learns(T, b=None))
    got = answer(lesson, "q3")
    if not isinstance(got, (list, tuple)) or not all(isinstance(n, str) for n in got):
        raise AssertionError(f"q3 should be a list of gate names such as ['AND'], got {got!r:.80}")
    expect.equal(
        sorted(n.strip().upper() for n in got), want, "q3 (the gates learned without bias)"
    )
