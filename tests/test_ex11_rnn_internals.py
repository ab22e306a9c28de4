"""Grading checks for ex11: the recurrent step, BPTT's gradient norms, clipping, cell sizes.

References are Keras itself, run here in the judge: a SimpleRNN layer given
the same weights, tf.clip_by_global_norm, and the parameter counts of
SimpleRNN, LSTM and GRU layers built with the drawn sizes. Weights, inputs
and sizes are drawn at grading time.
"""

import numpy as np
import pytest

from workshop.grading import expect
from workshop.grading.judge import compiled, leaves_arguments_alone


def _weights(rng, input_dim, units, scale=0.5):
    U = rng.normal(0, scale, (input_dim, units))
    W = rng.normal(0, scale, (units, units))
    b = rng.normal(0, 0.2, units)
    return U, W, b


def keras_states(X, U, W, b, s0=None):
    """SimpleRNN(return_sequences=True) with these weights, in float64."""
    import keras

    layer = keras.layers.SimpleRNN(U.shape[1], return_sequences=True, dtype="float64")
    layer.build((None, X.shape[1], X.shape[2]))
    layer.set_weights([U, W, b])
    out = layer(X) if s0 is None else layer(X, initial_state=[keras.ops.convert_to_tensor(s0)])
    return np.asarray(keras.ops.convert_to_numpy(out), dtype=float)


def test_rnn_step(lesson, rng):
    input_dim, units, batch = (int(v) for v in rng.integers(2, 7, 3))
    U, W, b = _weights(rng, input_dim, units)
    x = rng.normal(0, 1, (batch, input_dim))
    s = rng.uniform(-1, 1, (batch, units))
    expect.close(
        lesson.rnn_step(x, s, U, W, b),
        np.tanh(x @ U + s @ W + b),
        "rnn_step(x_t, s_prev, U, W, b)",
        rtol=1e-10,
        atol=1e-12,
        hint="tanh(x_t @ U + s_prev @ W + b): W multiplies the previous state, U the input",
    )
    X = rng.normal(0, 1, (batch, 1, input_dim))
    expect.close(
        lesson.rnn_step(X[:, 0], np.zeros((batch, units)), U, W, b),
        keras_states(X, U, W, b)[:, 0],
        "rnn_step from a zero state against keras.layers.SimpleRNN",
        rtol=1e-9,
        atol=1e-12,
    )
    leaves_arguments_alone(lesson, "rnn_step")


def test_rnn_forward_is_simple_rnn(lesson, rng):
    input_dim, units = (int(v) for v in rng.integers(2, 7, 2))
    batch, T = int(rng.integers(1, 5)), int(rng.integers(3, 12))
    U, W, b = _weights(rng, input_dim, units)
    X = rng.normal(0, 1, (batch, T, input_dim))
    got = expect.numbers(lesson.rnn_forward(X, U, W, b), "rnn_forward(X, U, W, b)")
    assert got.shape == (batch, T, units), (
        f"rnn_forward returns every state: shape (batch, time, units) = {(batch, T, units)}, got "
        f"{got.shape}"
    )
    expect.close(
        got,
        keras_states(X, U, W, b),
        f"rnn_forward on {batch} sequences of {T} steps against keras.layers.SimpleRNN",
        rtol=1e-9,
        atol=1e-12,
        hint="each step uses the state the previous step returned",
    )
    s0 = rng.uniform(-1, 1, (batch, units))
    expect.close(
        lesson.rnn_forward(X, U, W, b, s0=s0),
        keras_states(X, U, W, b, s0),
        "rnn_forward(..., s0=s0) against SimpleRNN(initial_state=[s0])",
        rtol=1e-9,
        atol=1e-12,
        hint="start from s0 when it is given",
    )


def _orthogonal(rng, n):
    return np.linalg.qr(rng.normal(size=(n, n)))[0]


def test_state_gradient_norms(lesson, rng):
    units, T = int(rng.integers(3, 9)), int(rng.integers(5, 15))
    scale = float(rng.choice([0.7, 0.9, 1.2, 1.5]))
    W = scale * _orthogonal(rng, units)  # every singular value is `scale`
    got = expect.numbers(lesson.state_gradient_norms(W, T), "state_gradient_norms(W, T)")
    expect.close(
        got,
        scale ** np.arange(1, T + 1),
        f"‖∂s_T/∂s_k‖ for W = {scale}·(orthogonal), k = T−1 … 0",
        rtol=1e-8,
        hint="without states each step back multiplies by Wᵀ, whose singular values are all "
        f"{scale}: the norms are {scale}, {scale}², …; the one step back comes first",
    )
    W = rng.normal(0, 1.2 / np.sqrt(units), (units, units))
    states = rng.uniform(-0.95, 0.95, (T, units))
    product, want = np.eye(units), []
    for t in range(T, 0, -1):
        product = product @ (np.diag(1 - states[t - 1] ** 2) @ W.T)
        want.append(np.linalg.norm(product, 2))
    expect.close(
        lesson.state_gradient_norms(W, T, states),
        want,
        "state_gradient_norms(W, T, states)",
        rtol=1e-8,
        hint="J_t = diag(1 − s_t²)·Wᵀ with s_t = states[t − 1], multiplied on the right, "
        "newest first; the spectral norm is np.linalg.norm(product, 2)",
    )


def test_clip_by_norm_is_clip_by_global_norm(lesson, rng):
    import tensorflow as tf

    grads = [rng.normal(0, 5, (3, 4)), rng.normal(0, 5, (4,)), rng.normal(0, 5, (2, 2))]
    total = float(np.sqrt(sum(np.sum(g**2) for g in grads)))
    for max_norm in (total / float(rng.uniform(2, 10)), total * 2):
        want, _ = tf.clip_by_global_norm([tf.constant(g) for g in grads], max_norm)
        got = lesson.clip_by_norm(grads, max_norm)
        assert isinstance(got, (list, tuple)) and len(got) == len(grads), (
            f"clip_by_norm returns one array per gradient ({len(grads)}), got {type(got).__name__}"
        )
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            expect.close(
                g,
                w.numpy(),
                f"clipped grads[{i}] (global norm {total:.2f}, max_norm {max_norm:.2f})",
                rtol=1e-9,
                hint="one factor for every array: max_norm / the global norm of all of them"
                if max_norm < total
                else "the global norm is already below max_norm: leave them as they are",
            )
    leaves_arguments_alone(lesson, "clip_by_norm")


def test_recurrent_parameters_match_keras(lesson, rng):
    import keras

    layers = {
        "simple_rnn": keras.layers.SimpleRNN,
        "lstm": keras.layers.LSTM,
        "gru": keras.layers.GRU,
    }
    for _ in range(2):
        n, u = int(rng.integers(1, 40)), int(rng.integers(1, 64))
        for cell, layer in layers.items():
            want = keras.Sequential([keras.Input(shape=(5, n)), layer(u)]).count_params()
            got = expect.integer(
                lesson.recurrent_parameters(cell, n, u), f"recurrent_parameters({cell!r})"
            )
            assert got == want, (
                f"a Keras {layer.__name__}({u}) on {n} inputs has {want:,} weights, "
                f"recurrent_parameters({cell!r}, {n}, {u}) says {got:,}"
            )
    with pytest.raises(ValueError, match="cell"):
        lesson.recurrent_parameters("transformer", 3, 4)


@pytest.mark.parametrize("cell", ["simple_rnn", "lstm", "gru"])
def test_build_memory_model(lesson, rng, cell):
    import keras

    T, k, units = int(rng.integers(3, 30)), int(rng.integers(2, 8)), int(rng.integers(2, 40))
    model = compiled(
        lesson.build_memory_model(cell, T, k, units),
        f"build_memory_model({cell!r}, {T}, {k}, {units})",
    )
    kinds = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
    got = [type(layer).__name__ for layer in model.layers]
    assert got == [kinds[cell], "Dense"], (
        f"build_memory_model({cell!r}): a {kinds[cell]} layer then Dense, got {got}"
    )
    assert tuple(model.input_shape) == (None, T, k + 1), (
        f"keras.Input(shape=(steps, n_symbols + 1)) = (None, {T}, {k + 1}): a symbol and the "
        f"marker per step; got {model.input_shape}"
    )
    assert model.layers[0].units == units and not model.layers[0].return_sequences, (
        f"{kinds[cell]}({units}) returning only its last state"
    )
    assert model.layers[1].units == k and model.layers[1].activation.__name__ == "softmax", (
        f"Dense({k}, activation='softmax'): one output per symbol"
    )
    assert "sparse_categorical_crossentropy" in str(model.loss), (
        f"the labels are integers: loss='sparse_categorical_crossentropy', got {model.loss!r}"
    )
    lr = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    assert type(model.optimizer).__name__ == "Adam" and lr == pytest.approx(0.01), (
        f"keras.optimizers.Adam(learning_rate=0.01), got {type(model.optimizer).__name__} "
        f"with learning rate {lr:g}"
    )
