"""ex01's own toolkit tests: bad input is one ValueError naming what was expected and what came."""

from __future__ import annotations

import numpy as np
import pytest

from workshop.grading.loader import load_lesson


def expect_value_errors(cases):
    """Each call raises a ValueError whose message contains the text given (literally)."""
    for call, message in cases:
        with pytest.raises(ValueError) as caught:
            call()
        assert message in str(caught.value), f"expected {message!r} in {str(caught.value)!r}"


def test_ex01_rejects_bad_input():
    ex01 = load_lesson("ex01_perceptron", "solutions")
    P, T = ex01.AND
    nan_P = P.copy()
    nan_P[1, 0] = np.nan
    expect_value_errors(
        [
            (lambda: ex01.train_perceptron(P, T[:3]), "same length, got 4 and 3"),
            (lambda: ex01.train_perceptron(P, T, epochs=0), "epochs must be at least 1"),
            (lambda: ex01.train_perceptron(P, T, epochs=-2), "epochs must be at least 1"),
            (lambda: ex01.train_perceptron(P, [0, 1, 2, 1]), "class labels from 0 below 2"),
            (lambda: ex01.train_perceptron(P, [0, 1, 0.5, 1]), "must be whole numbers"),
            (lambda: ex01.train_perceptron(P, T, w=np.zeros(3)), "must have 2 entries"),
            (lambda: ex01.train_perceptron(np.zeros((0, 2)), []), "must not be empty"),
            (lambda: ex01.train_perceptron(nan_P, T), "NaN or infinity"),
            (lambda: ex01.train_perceptron(P, T, lr="0.1"), "lr must be a number"),
            (lambda: ex01.train_perceptron(P, T, lr=-1), "lr must be greater than 0"),
            (lambda: ex01.perceptron_step(np.zeros(2), 0.0, np.zeros(3), 1), "must have 3 entries"),
            (lambda: ex01.perceptron_step(np.zeros(2), 0.0, np.zeros(2), 5), "one of [0, 1]"),
            (lambda: ex01.perceptron_step(np.zeros(2), "b", np.zeros(2), 1), "b must be a number"),
            (lambda: ex01.predict(np.zeros(3), 0.0, P), "w (one weight per input) must have 2"),
            (lambda: ex01.hardlim(np.nan), "NaN"),
            (lambda: ex01.hardlim("abc"), "numbers"),
            (lambda: ex01.with_bias_input([1.0, 2.0]), "2-D"),
        ]
    )
    # Any NumPy number is a number.
    result = ex01.train_perceptron(P, T, w=np.zeros(2), epochs=np.int64(20), lr=np.float32(0.5))
    assert result.converged
