"""ex05's own toolkit tests: the concrete table, bad input refused, the answers."""

from __future__ import annotations

import numpy as np
import pytest

from workshop.grading.loader import load_lesson


@pytest.fixture(scope="module")
def ex05():
    return load_lesson("ex05_keras_regression_classification", "solutions")


def test_loads_the_concrete_table(ex05, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setenv("WORKSHOP_OFFLINE", "1")
    from workshop import data

    X, y = ex05.load_concrete()
    table = data.load_concrete()
    np.testing.assert_allclose(X, table.X)
    np.testing.assert_allclose(y, table.y)


X = np.zeros((10, 3))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda m, _: m.standardize(X, np.zeros((4, 2))), "same number of columns"),
        (lambda m, _: m.standardize(np.full((4, 3), np.nan), np.zeros((2, 3))), "NaN"),
        (lambda m, _: m.build_regression_model(3, hidden=5), "hidden must list the layer sizes"),
        (lambda m, _: m.build_regression_model(3, hidden=()), "at least one layer size"),
        (lambda m, _: m.build_regression_model(0), "n_features must be at least 1"),
        (lambda m, _: m.build_regression_model(3, hidden=(5, 0)), "each size in hidden must be"),
        (lambda m, _: m.evaluate_regression(X, np.zeros(9)), "same number"),
        (lambda m, _: m.evaluate_regression(X, np.zeros(10), test_size=1.5), "test_size"),
        (lambda m, _: m.evaluate_regression(X, np.zeros(10), repeats=0), "repeats must be"),
        (lambda m, _: m.to_one_hot(np.array([0, 1]), n_classes="3"), "n_classes must be a whole"),
        (lambda m, _: m.to_one_hot(np.array([0, 3]), 3), "class labels from 0 below 3"),
        (lambda m, _: m.to_one_hot(np.array([0.5, 1]), 3), "whole numbers"),
        (lambda m, _: m.to_one_hot(np.zeros((2, 2), int), 3), "y must be 1-D"),
        (lambda m, _: m.flatten_images(3.0), "3-D"),
        (lambda m, tmp: m.save_and_reload(None, tmp / "model.h5"), ".keras"),
    ],
)
def test_bad_input_is_a_value_error_naming_both(ex05, tmp_path, call, message):
    with pytest.raises(ValueError, match=message):
        call(ex05, tmp_path)


def test_evaluate_regression_returns_each_repeats_model(ex05):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    result = ex05.evaluate_regression(X, X @ [1.0, 2.0, 3.0], repeats=2, epochs=1, hidden=(4,))
    assert len(result["mses"]) == len(result["models"]) == 2
    assert result["models"][0] is not result["models"][1], "a fresh model per repeat"


def test_the_answers(ex05):
    got = ex05.answers()
    assert got["q1"] == (8 + 1) * 50 + (50 + 1) * 50 + (50 + 1) == 3051
    assert got["q2"] == 23 * 50  # 721 training rows: 22 batches of 32 and one of 17
    assert (got["q3"], got["q4"]) == ("b", "a")
