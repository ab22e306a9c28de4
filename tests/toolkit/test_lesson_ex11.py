"""ex11's own toolkit tests: bad input refused, the decks' sentence unrolled, the gates."""

from __future__ import annotations

import numpy as np
import pytest

from workshop.grading.loader import load_lesson


@pytest.fixture(scope="module")
def ex11():
    return load_lesson("ex11_rnn_internals", "solutions")


def test_rejects_bad_input(ex11):
    U, W, b = np.zeros((3, 2)), np.zeros((2, 2)), np.zeros(2)
    k, r = np.zeros((3, 8)), np.zeros((2, 8))
    for bad, message in [
        (lambda: ex11.rnn_step(np.zeros(4), np.zeros(2), U, W, b), "features"),
        (lambda: ex11.rnn_step(np.zeros(3), np.zeros(3), U, W, b), "units"),
        (lambda: ex11.rnn_step(np.zeros(3), np.zeros(2), U, np.zeros((3, 3)), b), "shape"),
        (lambda: ex11.rnn_forward(np.zeros((2, 3)), U, W, b), "3-D"),
        (lambda: ex11.rnn_forward(np.full((1, 2, 3), np.nan), U, W, b), "NaN"),
        (lambda: ex11.lstm_step(np.zeros(3), np.zeros(2), np.zeros(2), k, r, np.zeros(6)), "bias"),
        (
            lambda: ex11.lstm_step(np.zeros(3), np.zeros(2), np.zeros(3), k, r, np.zeros(8)),
            "c_prev",
        ),
        (
            lambda: ex11.gru_step(np.zeros(3), np.zeros(2), k[:, :6], r[:, :6], np.zeros(6)),
            "(2, 6)",
        ),
        (lambda: ex11.state_gradient_norms(np.zeros((2, 3)), 4), "square"),
        (lambda: ex11.state_gradient_norms(W, 3, np.zeros((2, 2))), "shape"),
        (lambda: ex11.clip_by_norm(np.ones(3), 1.0), "list of arrays"),
        (lambda: ex11.clip_by_norm([], 1.0), "list of arrays"),
        (lambda: ex11.clip_by_norm([np.ones(3)], 0), "max_norm"),
        (lambda: ex11.recurrent_parameters("lstm", 0, 4), "input_dim"),
        (lambda: ex11.memory_task(0, 10), "T"),
        (lambda: ex11.build_memory_model("rnn", 5), "cell"),
    ]:
        with pytest.raises(ValueError, match=message):
            bad()


def test_the_decks_sentence_and_the_memory_task(ex11):
    deck = ex11.sentence_states()
    assert deck["words"][0] == "un" and len(deck["words"]) == 9
    assert len(deck["vocabulary"]) == 8  # "de" twice: eight distinct words
    assert deck["states"].shape == (9, 3) and np.all(np.abs(deck["states"]) < 1)
    # "de" at steps 4 and 6: same input, different states (the state carries the past)
    assert not np.allclose(deck["states"][3], deck["states"][5])
    X, y = ex11.memory_task(7, 50, seed=3)
    assert X.shape == (50, 12, 5) and y.shape == (50,)
    marked = X[..., 4].argmax(axis=1)
    assert np.all(X[..., 4].sum(axis=1) == 1) and np.all(marked < 5)
    assert np.array_equal(X[np.arange(50), marked, :4].argmax(axis=1), y)
    model = ex11.build_memory_model("gru", 12, 4, 8)
    assert model.layers[0].count_params() == ex11.recurrent_parameters("gru", 5, 8)


def test_the_gates_over_the_sentence(ex11):
    gates = ex11.gate_activity(epochs=3)
    assert gates["gap"] < 1e-5  # your steps are Keras's layers, on the trained weights
    assert gates["words"] == ["un", "viejo", "hidalgo", "de", "los", "de", "lanza", "en"]
    assert set(gates["lstm"]) == {"input", "forget", "cell", "output"}
    assert set(gates["gru"]) == {"update", "reset", "candidate"}
    for name in ("input", "forget", "output"):
        m = gates["lstm"][name]
        assert m.shape == (4, 8) and np.all((m > 0) & (m < 1))
