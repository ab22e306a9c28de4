"""ex10's own toolkit tests: bad input refused, the deck's points shown, train_step on Iris."""

from __future__ import annotations

import numpy as np
import pytest

from workshop.grading.loader import load_lesson


@pytest.fixture(scope="module")
def ex10():
    return load_lesson("ex10_training_tricks", "solutions")


def test_rejects_bad_input(ex10):
    import keras

    w = np.zeros(3)
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1)])
    sgd, mse = keras.optimizers.SGD(), keras.losses.MeanSquaredError()
    for bad, message in [
        (lambda: ex10.momentum_step(w, np.zeros(2), w, 0.1), "same shape"),
        (lambda: ex10.momentum_step(w, w, [np.nan, 0, 0], 0.1), "NaN"),
        (lambda: ex10.momentum_step(w, w, w, -0.1), "lr"),
        (lambda: ex10.momentum_step(w, w, w, 0.1, momentum=1.5), "momentum"),
        (lambda: ex10.rmsprop_step([], [], [], 0.1), "empty"),
        (lambda: ex10.rmsprop_step(w, w, w, 0.1, rho="0.9"), "rho"),
        (lambda: ex10.adam_step(w, w, w, w, 0, 0.1), "counting from 1"),
        (lambda: ex10.adam_step(w, w, w, w, 1.5, 0.1), "whole number"),
        (lambda: ex10.init_std("xavier", 3, 4), "scheme"),
        (lambda: ex10.init_std(-1.0, 3, 4), "standard deviation"),
        (lambda: ex10.init_std("he", 0, 4), "n_in"),
        (lambda: ex10.optimizer_paths((1.0, 2.0, 3.0)), "point"),
        (lambda: ex10.gradient_norms_by_init({}), "dict"),
        (lambda: ex10.learning_rate_sweep((0.1, -1.0)), "learning rate"),
        (lambda: ex10.train_step("model", sgd, mse, w, w), "must be a Model"),
        (lambda: ex10.train_step(model, "sgd", mse, w, w), "Optimizer"),
        (lambda: ex10.train_step(model, sgd, keras.losses.mean_squared_error, w, w), "loss_fn"),
        (lambda: ex10.train_step(model, sgd, mse, np.zeros((4, 3)), np.zeros((5, 1))), "length"),
    ]:
        with pytest.raises(ValueError, match=message):
            bad()


def test_the_decks_points(ex10):
    # the deck's "α > 1 is fast": above 2/λ it diverges, and below 1 where λ > 2
    sweep = ex10.learning_rate_sweep((0.9, 1.1), steps=30)
    assert sweep[0.9][-1] < sweep[0.9][0] < sweep[1.1][-1]
    steep = ex10.learning_rate_sweep((0.35, 0.5), steps=30, curvature=ex10.STEEP)
    assert steep[0.35][-1] < steep[0.35][0] < steep[0.5][-1]  # 0.5 < 1 diverges on λ = 5
    # the deck's σ² = 1/n_in is LeCun's; Glorot's differs when n_in != n_out, as in the study
    assert ex10.init_std("lecun", 100, 100) == pytest.approx(ex10.init_std("glorot", 100, 100))
    assert ex10.init_std("lecun", 100, 25) != pytest.approx(ex10.init_std("glorot", 100, 25))
    norms = ex10.gradient_norms_by_init(depth=6)
    assert set(norms) >= {"He", "LeCun (the deck's 1/n_in)", "Glorot (Keras's default)"}
    small, glorot = norms["too small (σ = 0.01)"], norms["Glorot (Keras's default)"]
    assert max(small) < 1e-6 * min(glorot), (small, glorot)
    assert norms["LeCun (the deck's 1/n_in)"] != pytest.approx(glorot)  # 100 and 25 units
    (x, y), (xt, yt), names = ex10.load_iris_onehot()
    assert x.shape == (105, 4) and y.shape == (105, 3) and xt.shape == (45, 4)
    assert np.allclose(y.sum(axis=1), 1) and names == ("setosa", "versicolor", "virginica")
    assert np.allclose(x.mean(axis=0), 0, atol=1e-6)  # standardised with the training split


def test_train_step_trains_iris_as_train_on_batch_does(ex10):
    run = ex10.train_iris_by_hand(ex10.load_iris_onehot(), epochs=3)
    assert run["gap"] < 1e-5, run["gap"]
    assert run["mine"][-1] < run["mine"][0] and np.allclose(run["mine"], run["keras"], rtol=1e-4)
