"""ex03's own toolkit tests: the activation table against references, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from workshop.grading.loader import load_lesson


def expect_value_errors(cases):
    """Each call raises a ValueError whose message contains the text given (literally)."""
    for call, message in cases:
        with pytest.raises(ValueError) as caught:
            call()
        assert message in str(caught.value), f"expected {message!r} in {str(caught.value)!r}"


def test_ex03_activation_table_is_right():
    """The given activations and derivatives (the deck's table): references and finite differences."""
    ex03 = load_lesson("ex03_xor_network", "solutions")
    x = np.r_[np.linspace(-6, 6, 97), [-40.0, 40.0]]
    references = {
        "identity": x,
        "sigmoid": special.expit(x),
        "tanh": np.tanh(x),
        "arctan": np.arctan(x),
        "relu": np.maximum(x, 0),
        "leaky_relu": np.where(x > 0, x, 0.01 * x),
        "prelu": np.where(x > 0, x, 0.25 * x),
        "elu": np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
        "softplus": np.logaddexp(0, x),
    }
    assert set(references) == set(ex03.ACTIVATIONS)
    away = np.abs(x) > 1e-3  # away from kinks
    for name, (f, df) in ex03.ACTIVATIONS.items():
        assert getattr(ex03, name) is f and getattr(ex03, f"{name}_prime") is df, name
        np.testing.assert_allclose(f(x), references[name], rtol=1e-7, atol=1e-12, err_msg=name)
        h = 1e-6
        fd = (f(x[away] + h) - f(x[away] - h)) / (2 * h)
        np.testing.assert_allclose(df(x[away]), fd, rtol=1e-5, atol=1e-7, err_msg=f"{name}'")
    # alpha by keyword and by position, as the syllabus names it
    np.testing.assert_allclose(ex03.leaky_relu(x, alpha=0.1), np.where(x > 0, x, 0.1 * x))
    np.testing.assert_allclose(
        ex03.elu_prime(x, 2.0), np.where(x > 0, 1, 2 * np.exp(np.minimum(x, 0)))
    )
    assert ex03.relu_prime(0.0) == 0.0  # as Keras


def test_ex03_rejects_bad_input():
    ex03 = load_lesson("ex03_xor_network", "solutions")
    net = ex03.TwoLayerNet(2, 3, 1)
    expect_value_errors(
        [
            (lambda: ex03.TwoLayerNet(0, 2, 1), "n_in must be at least 1"),
            (lambda: ex03.TwoLayerNet(2, 2.5, 1), "n_hidden must be a whole number"),
            (lambda: ex03.train_xor(epochs=np.int64(0)), "epochs must be at least 1"),
            (lambda: net.forward(np.zeros((4, 3))), "shape (n, 2)"),
            (lambda: net.backward(np.zeros((4, 2)), np.zeros((4, 2))), "1 column"),
            (lambda: net.train(ex03.XOR_X, ex03.XOR_Y, lr=-1), "lr must be greater than 0"),
            (lambda: ex03.mse(np.zeros(3), np.zeros(4)), "same shape"),
            (lambda: ex03.cross_entropy(np.zeros((2, 3)), np.zeros((3, 2))), "same shape"),
            (lambda: ex03.softmax(np.array([])), "empty"),
            (lambda: ex03.softmax(np.array([np.inf, 1.0])), "NaN or infinity"),
            (lambda: net.train(np.array([[np.nan, 0.0]]), np.array([[1.0]])), "NaN"),
            (lambda: net.train(ex03.XOR_X, ex03.XOR_Y, lr="0.5"), "lr must be a number"),
            (lambda: ex03.gradient_norms_through_depth("swish"), "activation must be one of"),
            (lambda: ex03.sigmoid("abc"), "numbers"),
            (lambda: ex03.tanh([1.0, np.nan]), "NaN"),
            (lambda: ex03.leaky_relu([1.0], alpha="big"), "alpha must be a number"),
            (lambda: ex03.build_xor_keras_model(hidden=0), "hidden must be at least 1"),
        ]
    )
