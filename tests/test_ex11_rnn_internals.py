"""Grading checks for ex11: the recurrent steps, BPTT's gradient norms, clipping, cell sizes.

References are Keras itself, run here in the judge: SimpleRNN, LSTM and GRU
layers given the same weights, an optimiser's global_clipnorm, and the
parameter counts of layers built with the drawn sizes. Weights, inputs and
sizes are drawn at grading time.
"""

import numpy as np
import pytest

from workshop.grading import expect
from workshop.grading.judge import leaves_arguments_alone


def _pair(result, names, function):
    """The values a step returns, with a sentence when it is not the tuple asked for."""
    if isinstance(result, (tuple, list)) and len(result) == len(names):
        return [expect.numbers(r, f"{function}'s {n}") for r, n in zip(result, names, strict=True)]
    raise AssertionError(
        f"{function} returns {len(names)} values, ({', '.join(names)}); got "
        f"{type(result).__name__ if result is not None else 'None (a missing return?)'}"
    )


def _weights(rng, input_dim, units, scale=0.5):
    U = rng.normal(0, scale, (input_dim, units))
    W = rng.normal(0, scale, (units, units))
    b = rng.normal(0, 0.2, units)
    return U, W, b


def keras_states(X, U, W, b, s0=None):
    """SimpleRNN(return_sequences=True) with these weights, in float64 where the backend has it
    (JAX computes in float32: the checks allow 1e-5)."""
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
        rtol=1e-5,
        atol=1e-6,
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
        rtol=1e-5,
        atol=1e-6,
        hint="each step uses the state the previous step returned",
    )
    s0 = rng.uniform(-1, 1, (batch, units))
    expect.close(
        lesson.rnn_forward(X, U, W, b, s0=s0),
        keras_states(X, U, W, b, s0),
        "rnn_forward(..., s0=s0) against SimpleRNN(initial_state=[s0])",
        rtol=1e-5,
        atol=1e-6,
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


def test_clip_by_norm_is_keras_global_clipnorm(lesson, rng):
    """Against Keras's own clipping: SGD(learning_rate=1, global_clipnorm=…) from zero weights
    moves them by minus the clipped gradients."""
    import keras

    grads = [rng.normal(0, 5, (3, 4)), rng.normal(0, 5, (4,)), rng.normal(0, 5, (2, 2))]
    total = float(np.sqrt(sum(np.sum(g**2) for g in grads)))
    for max_norm in (total / float(rng.uniform(2, 10)), total * 2):
        variables = [keras.Variable(np.zeros(g.shape), dtype="float32") for g in grads]
        sgd = keras.optimizers.SGD(learning_rate=1.0, global_clipnorm=max_norm)
        sgd.apply_gradients(
            [
                (keras.ops.convert_to_tensor(g.astype("float32")), v)
                for g, v in zip(grads, variables, strict=True)
            ]
        )
        got = lesson.clip_by_norm(grads, max_norm)
        assert isinstance(got, (list, tuple)) and len(got) == len(grads), (
            f"clip_by_norm returns one array per gradient ({len(grads)}), got {type(got).__name__}"
        )
        for i, (g, v) in enumerate(zip(got, variables, strict=True)):
            expect.close(
                g,
                -np.asarray(keras.ops.convert_to_numpy(v), dtype=float),
                f"clipped grads[{i}] (global norm {total:.2f}, max_norm {max_norm:.2f})",
                rtol=1e-5,
                atol=1e-5,
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


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def keras_cell(kind, X, weights, initial_state):
    """Keras's LSTM or GRU layer (return_sequences=True) with these weights, from this state:
    (every output h_t, the last state(s))."""
    import keras

    layer = getattr(keras.layers, kind)(
        weights[1].shape[0], return_sequences=True, return_state=True
    )
    layer.build((None, X.shape[1], X.shape[2]))
    layer.set_weights([w.astype("float32") for w in weights])
    state = [keras.ops.convert_to_tensor(s.astype("float32")) for s in initial_state]
    out = [
        np.asarray(keras.ops.convert_to_numpy(o), dtype=float)
        for o in layer(X.astype("float32"), initial_state=state)
    ]
    return out[0], out[1:]


def _sizes(rng):
    input_dim, units = int(rng.integers(2, 7)), int(rng.integers(2, 7))
    return input_dim, units, int(rng.integers(1, 5)), int(rng.integers(3, 9))


def test_lstm_step_is_keras_lstm(lesson, rng):
    """Your lstm_step, step after step, equals keras.layers.LSTM with weights drawn here."""
    n, u, batch, T = _sizes(rng)
    kernel, recurrent = rng.normal(0, 0.6, (n, 4 * u)), rng.normal(0, 0.6, (u, 4 * u))
    bias = rng.normal(0, 0.6, 4 * u)
    X = rng.normal(0, 1, (batch, T, n))
    h0, c0 = rng.uniform(-1, 1, (batch, u)), rng.uniform(-1, 1, (batch, u))
    want, (_, c_last) = keras_cell("LSTM", X, [kernel, recurrent, bias], [h0, c0])
    h, c = h0, c0
    for t in range(T):
        h, c = _pair(
            lesson.lstm_step(X[:, t], h, c, kernel, recurrent, bias), ("h_t", "c_t"), "lstm_step"
        )
        expect.close(
            h,
            want[:, t],
            f"h_t at step {t + 1} of {T} ({batch} sequences, {n} inputs, {u} units) against "
            "keras.layers.LSTM with the same weights",
            rtol=1e-4,
            atol=1e-4,
            hint="the kernel's 4·units columns are the blocks input, forget, cell, output, in that "
            "order; i, f, o through the sigmoid, the cell block through tanh",
        )
    expect.close(
        c,
        c_last,
        f"c_t after {T} steps against Keras's last cell state",
        rtol=1e-4,
        atol=1e-4,
        hint="c_t = f⊙c_{t−1} + i⊙g",
    )
    h_one, c_one = _pair(
        lesson.lstm_step(X[0, 0], h0[0], c0[0], kernel, recurrent, bias),
        ("h_t", "c_t"),
        "lstm_step",
    )
    expect.close(
        h_one,
        want[0, 0],
        "h_t of one sequence (x_t of shape (input_dim,), h_prev of shape (units,))",
        rtol=1e-4,
        atol=1e-4,
        hint="1-D x_t and h_prev are one sequence: split along the last axis (axis=-1)",
    )
    z = X[:, 0] @ kernel + h0 @ recurrent + bias
    i, f, g, o = np.split(z, 4, axis=-1)
    answer = lesson.lstm_step(X[:, 0], h0, c0, kernel, recurrent, bias, return_gates=True)
    assert isinstance(answer, (tuple, list)) and len(answer) == 3 and isinstance(answer[2], dict), (
        "lstm_step(..., return_gates=True) returns (h_t, c_t, {'input': i, 'forget': f, "
        f"'cell': g, 'output': o}}), got {type(answer).__name__}"
    )
    want_gates = {
        "input": _sigmoid(i),
        "forget": _sigmoid(f),
        "cell": np.tanh(g),
        "output": _sigmoid(o),
    }
    for name, value in want_gates.items():
        expect.close(
            answer[2].get(name), value, f"the {name!r} gate of lstm_step", rtol=1e-7, atol=1e-9
        )
    leaves_arguments_alone(lesson, "lstm_step")


def test_gru_step_is_keras_gru(lesson, rng):
    """Your gru_step, step after step, equals keras.layers.GRU (reset_after=True, Keras 3's
    default) with weights drawn here."""
    n, u, batch, T = _sizes(rng)
    kernel, recurrent = rng.normal(0, 0.6, (n, 3 * u)), rng.normal(0, 0.6, (u, 3 * u))
    bias = rng.normal(0, 0.6, (2, 3 * u))
    X = rng.normal(0, 1, (batch, T, n))
    h0 = rng.uniform(-1, 1, (batch, u))
    want, _ = keras_cell("GRU", X, [kernel, recurrent, bias], [h0])
    h = h0
    for t in range(T):
        h = expect.numbers(lesson.gru_step(X[:, t], h, kernel, recurrent, bias), "gru_step's h_t")
        expect.close(
            h,
            want[:, t],
            f"h_t at step {t + 1} of {T} ({batch} sequences, {n} inputs, {u} units) against "
            "keras.layers.GRU with the same weights",
            rtol=1e-4,
            atol=1e-4,
            hint="blocks update, reset, candidate; bias[0] goes with x_t·kernel, bias[1] with "
            "h·recurrent_kernel; reset_after: r multiplies the whole recurrent candidate part",
        )
    expect.close(
        expect.numbers(lesson.gru_step(X[0, 0], h0[0], kernel, recurrent, bias), "gru_step's h_t"),
        want[0, 0],
        "h_t of one sequence (x_t of shape (input_dim,), h_prev of shape (units,))",
        rtol=1e-4,
        atol=1e-4,
        hint="1-D x_t and h_prev are one sequence: split along the last axis (axis=-1)",
    )
    x_z, x_r, x_h = np.split(X[:, 0] @ kernel + bias[0], 3, axis=-1)
    r_z, r_r, r_h = np.split(h0 @ recurrent + bias[1], 3, axis=-1)
    z, r = _sigmoid(x_z + r_z), _sigmoid(x_r + r_r)
    answer = lesson.gru_step(X[:, 0], h0, kernel, recurrent, bias, return_gates=True)
    assert isinstance(answer, (tuple, list)) and len(answer) == 2 and isinstance(answer[1], dict), (
        "gru_step(..., return_gates=True) returns (h_t, {'update': z, 'reset': r, "
        f"'candidate': ĥ}}), got {type(answer).__name__}"
    )
    want_gates = {"update": z, "reset": r, "candidate": np.tanh(x_h + r * r_h)}
    for name, value in want_gates.items():
        expect.close(
            answer[1].get(name), value, f"the {name!r} gate of gru_step", rtol=1e-7, atol=1e-9
        )
    leaves_arguments_alone(lesson, "gru_step")


def test_answers(lesson, rng):
    """Each expected answer is computed here, from Keras's layers or NumPy."""
    import keras

    got = lesson.answers()
    assert isinstance(got, dict), f"answers() returns a dict, got {type(got).__name__}"
    # q1: the block whose closing (bias −30) makes the new cell state forget c_{t−1}
    n, u = 3, 4
    kernel, recurrent = rng.normal(0, 0.5, (n, 4 * u)), rng.normal(0, 0.5, (u, 4 * u))
    x, h0 = rng.normal(0, 1, (2, 1, n)), rng.normal(0, 0.5, (2, u))
    forgets = []
    for block in range(4):
        bias = np.zeros(4 * u)
        bias[block * u : (block + 1) * u] = -30.0
        ends = [
            keras_cell("LSTM", x, [kernel, recurrent, bias], [h0, c0])[1][1]
            for c0 in (np.zeros((2, u)), np.ones((2, u)))
        ]
        forgets.append(float(np.abs(ends[0] - ends[1]).max()) < 1e-6)
    expect.equal(got.get("q1"), "abcd"[forgets.index(True)], "q1, the block that keeps c_{t−1}")
    # q2: the blocks of Keras's GRU that are gates: all but the candidate (tanh) block
    gru = keras.layers.GRU(u)
    gru.build((None, 1, n))
    blocks = gru.get_weights()[0].shape[1] // u
    expect.close(got.get("q2"), blocks - 1, "q2, the gates of a GRU", hint="update and reset")
    # q3: ‖(Wᵀ)³⁰‖ for W = 0.9·Q, Q orthogonal
    Q = np.linalg.qr(rng.normal(size=(5, 5)))[0]
    expect.close(
        got.get("q3"),
        float(np.linalg.norm(np.linalg.matrix_power((0.9 * Q).T, 30), 2)),
        "q3, the factor 30 steps back",
        rtol=1e-6,
    )
    c, steps = 1.0, 0  # q4: a forget gate of 0.9 and nothing written
    while c >= 0.5:
        c, steps = 0.9 * c, steps + 1
    expect.close(got.get("q4"), steps, "q4, the steps until less than half is kept")
