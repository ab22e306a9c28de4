"""ex02's own toolkit tests: bad input is one ValueError naming what was expected and what came."""

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


def test_ex02_rejects_bad_input():
    ex02 = load_lesson("ex02_linear_regression", "solutions")
    x = np.arange(5.0)
    nan_x = x.copy()
    nan_x[2] = np.nan
    expect_value_errors(
        [
            (lambda: ex02.quadratic_cost(1, 0, x, x[:3]), "same length, got 5 and 3"),
            (lambda: ex02.gradients(1, 0, [], []), "must not be empty"),
            (lambda: ex02.gradients("1", 0, x, x), "w must be a number"),
            (lambda: ex02.gradient_descent(x, x, lr=0), "greater than 0, got 0"),
            (lambda: ex02.gradient_descent(x, x, lr=-0.1), "greater than 0"),
            (
                lambda: ex02.gradient_descent(x, x, lr="0.1"),
                "lr (the learning rate) must be a number",
            ),
            (lambda: ex02.gradient_descent(x, x, epochs=0), "epochs must be at least 1"),
            (lambda: ex02.gradient_descent(nan_x, x), "x must not contain NaN"),
            (lambda: ex02.minibatch_descent(x, x, lr=-1, epochs=3, batch_size=2), "greater than 0"),
            (
                lambda: ex02.minibatch_descent(x, x, 0.1, 3, batch_size=0),
                "batch_size must be at least 1",
            ),
            (
                lambda: ex02.minibatch_descent(x, x, 0.1, epochs=-2, batch_size=2),
                "epochs must be at least 1",
            ),
            (
                lambda: ex02.delta_rule_epoch(np.zeros(2), np.zeros((4, 3)), np.zeros(4), 0.1),
                "W (one weight per column of X) must have 3 entries",
            ),
            (
                lambda: ex02.delta_rule_epoch(np.zeros(3), np.zeros((4, 3)), np.zeros(5), 0.1),
                "t (one target per example) must have 4 entries",
            ),
            (lambda: ex02.delta_rule_epoch(np.zeros(3), np.zeros(3), np.zeros(4), 0.1), "2-D"),
            (lambda: ex02.fit_line(x, x, epochs=0), "epochs must be at least 1"),
        ]
    )
