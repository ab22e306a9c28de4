# %% [markdown]
# # ex11 · RNN internals: inside the recurrent layer
# ex08 used `keras.layers.LSTM` as a black box. Here you open it: one step of
# SimpleRNN, LSTM and GRU in Keras's own weight layout, equal to Keras's layers;
# the gates at work over the decks' sentence; backpropagation through time and
# clipping; a long memory, where SimpleRNN fails and the gated cells do not.
#
# **Your job:** fill in the six `TODO`s and `answers()`, then `workshop check 11`.
#
# Where the decks are wrong or vague, and what this lesson says instead:
# - the first deck's s_{t−1} = f(U·x_{t−1} + W) misses the previous state:
#   s_t = f(x_t·U + s_{t−1}·W + b);
# - it writes o = softmax(V): the output reads the state, o_t = softmax(s_t·V + c);
# - the deep-networks deck's y_t = g(W_v·h_t + b_h) reuses the hidden layer's
#   bias for the output (it has its own); its one-hot "Un viejo hidalgo" has
#   four places for three words;
# - its GRU slide says "all the gates are included in a single update gate":
#   a GRU has two gates, update and reset. The update gate z does the work of
#   the LSTM's input and forget gates together (keep z of the old state, write
#   1 − z of the new); the reset gate r decides how much of the old state the
#   candidate sees. There is no cell state and no output gate.
# Keras stores U as `kernel` (input_dim, units), W as `recurrent_kernel`
# (units, units), b as `bias` (units,): rows are inputs, a batch multiplies
# from the left. The deck's W₀·[x_t, h_{t−1}] is the same product, the two
# matrices stacked: [x_t, h_{t−1}]·[kernel; recurrent_kernel].

# %%
"""ex11 · RNN internals: the recurrent step, LSTM and GRU gates, BPTT, a long memory."""

import time
from dataclasses import dataclass

import numpy as np

from workshop import lesson, plotting, validate
from workshop.repro import seed_everything

CELLS = ("simple_rnn", "lstm", "gru")


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


# %% [markdown]
# ## One step of each cell
# **SimpleRNN:** s_t = tanh(x_t·U + s_{t−1}·W + b), the same U, W, b every step.
#
# **LSTM** (Keras's layout: the kernel's 4·units columns are four blocks, in
# the order input, forget, cell, output): z = x_t·kernel + h_{t−1}·recurrent +
# bias, cut into z_i, z_f, z_c, z_o; then
# i = σ(z_i), f = σ(z_f), g = tanh(z_c), o = σ(z_o);
# c_t = f⊙c_{t−1} + i⊙g (forget some of the memory, write some new);
# h_t = o⊙tanh(c_t) (the deck's σ(W₀[x_t, h_{t−1}] + b₀)⊙tanh(M_t), M being c).
#
# **GRU** (Keras 3's default `reset_after=True`: bias (2, 3·units), a row for
# the input side and one for the recurrent side; blocks update, reset,
# candidate): x_z, x_r, x_h = x_t·kernel + bias[0]; r_z, r_r, r_h =
# h_{t−1}·recurrent + bias[1]; z = σ(x_z + r_z), r = σ(x_r + r_r),
# ĥ = tanh(x_h + r⊙r_h), h_t = z⊙h_{t−1} + (1 − z)⊙ĥ. One state, two gates.


# %%
def rnn_step(x_t, s_prev, U, W, b):
    """s_t = tanh(x_t·U + s_prev·W + b): x_t (batch, input_dim) or (input_dim,), s_prev
    matching with units; U (input_dim, units), W (units, units), b (units,)."""
    x_t, s_prev, U, W, b = validate.recurrent_step(x_t, s_prev, U, W, b, blocks=1)
    # TODO: which two products feed the new state, and which function squashes
    # their sum (with the bias)? Every row of x_t is one sequence of the batch.
    # BEGIN SOLUTION
    return np.tanh(x_t @ U + s_prev @ W + b)
    # END SOLUTION


def lstm_step(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias, return_gates=False):
    """(h_t, c_t) of keras.layers.LSTM with these weights (gate order input, forget, cell,
    output); return_gates=True adds {"input", "forget", "cell", "output"}: i, f, g, o."""
    x_t, h_prev, kernel, recurrent_kernel, bias = validate.recurrent_step(
        x_t, h_prev, kernel, recurrent_kernel, bias, blocks=4
    )
    c_prev = validate.same_shape(c_prev=c_prev, h_prev=h_prev)[0]
    # TODO: the four blocks of z (np.split cuts an array into equal parts along
    # an axis), the three gates and the candidate, then the new memory and the
    # new output (the formulas above).
    # BEGIN SOLUTION
    z_i, z_f, z_c, z_o = np.split(x_t @ kernel + h_prev @ recurrent_kernel + bias, 4, axis=-1)
    i, f, g, o = _sigmoid(z_i), _sigmoid(z_f), np.tanh(z_c), _sigmoid(z_o)
    c = f * c_prev + i * g
    h = o * np.tanh(c)
    if return_gates:
        return h, c, {"input": i, "forget": f, "cell": g, "output": o}
    return h, c
    # END SOLUTION


def gru_step(x_t, h_prev, kernel, recurrent_kernel, bias, return_gates=False):
    """h_t of keras.layers.GRU (reset_after=True) with these weights (blocks update, reset,
    candidate; bias (2, 3·units)); return_gates=True adds {"update", "reset", "candidate"}."""
    x_t, h_prev, kernel, recurrent_kernel, bias = validate.recurrent_step(
        x_t, h_prev, kernel, recurrent_kernel, bias, blocks=3, bias_rows=2
    )
    # TODO: which bias row goes with the input and which with the state? Where
    # does the reset gate act (reset_after: on the state's product, bias
    # included)? How do z, the old state and the candidate make h_t?
    # BEGIN SOLUTION
    x_z, x_r, x_h = np.split(x_t @ kernel + bias[0], 3, axis=-1)
    r_z, r_r, r_h = np.split(h_prev @ recurrent_kernel + bias[1], 3, axis=-1)
    z, r = _sigmoid(x_z + r_z), _sigmoid(x_r + r_r)
    candidate = np.tanh(x_h + r * r_h)
    h = z * h_prev + (1 - z) * candidate
    if return_gates:
        return h, {"update": z, "reset": r, "candidate": candidate}
    return h
    # END SOLUTION


def rnn_forward(X, U, W, b, s0=None):
    """Every state of SimpleRNN(return_sequences=True): X (batch, time, input_dim) ->
    states (batch, time, units); s0 (batch, units) the state before the first step (zeros)."""
    X = validate.array(X, "X (batch, time, input_dim)", ndim=3)
    s = np.zeros((len(X), np.shape(U)[-1])) if s0 is None else s0
    states = []
    for t in range(X.shape[1]):  # the same step, each time with the state the last one made
        s = rnn_step(X[:, t], s, U, W, b)
        states.append(s)
    return np.stack(states, axis=1)


# %% [markdown]
# ## The decks' sentence, and the gates at work
# *Un viejo hidalgo de los de lanza en astillero*, one-hot over its own eight
# distinct words. A small LSTM and a small GRU learn to predict each next word;
# your steps run over it with their weights; the figure shows where each gate
# opens (1) or closes (0): forget near 1 keeps the memory, input near 1 writes,
# a GRU's update near 1 keeps the old state.


# %%
DECK_SENTENCE = "Un viejo hidalgo de los de lanza en astillero"


def sentence_states(sentence: str = DECK_SENTENCE, units: int = 3, seed: int = 0) -> dict:
    """{words, vocabulary, onehot (time, vocab), states (time, units)} of a SimpleRNN with
    random weights (the decks' unrolled picture)."""
    words = validate.text(sentence, "sentence").lower().split()
    if not words:
        raise ValueError("sentence must have at least one word")
    vocabulary = sorted(set(words))
    onehot = np.eye(len(vocabulary))[[vocabulary.index(w) for w in words]]
    rng = np.random.default_rng(seed)
    U, W = rng.normal(0, 1.0, (len(vocabulary), units)), rng.normal(0, 0.5, (units, units))
    states = rnn_forward(onehot[np.newaxis], U, W, np.zeros(units))[0]
    return {"words": words, "vocabulary": vocabulary, "onehot": onehot, "states": states}


def gate_activity(sentence: str = DECK_SENTENCE, units: int = 4, epochs: int = 200, seed=0):
    """{"words", "lstm": {gate: (units, words)}, "gru": {...}, "gap"}: the gates of your steps
    over the sentence with the weights of a small LSTM and GRU trained to predict the next word;
    "gap" is the largest difference between your states and the Keras layers'."""
    import keras

    deck = sentence_states(sentence)
    X, y = deck["onehot"][np.newaxis, :-1], np.argmax(deck["onehot"][1:], axis=1)[np.newaxis]
    out, gaps = {"words": deck["words"][:-1]}, []
    for cell, layer in (("lstm", keras.layers.LSTM), ("gru", keras.layers.GRU)):
        seed_everything(seed)
        model = keras.Sequential([keras.Input(X.shape[1:]), layer(units, return_sequences=True)])
        model.add(keras.layers.Dense(X.shape[2], activation="softmax"))
        model.compile(keras.optimizers.Adam(learning_rate=0.05), "sparse_categorical_crossentropy")
        model.fit(X, y, epochs=validate.count(epochs, "epochs"), verbose=0)
        weights, steps = model.layers[0].get_weights(), []
        h = c = np.zeros((1, units))
        for x_t in X[0]:
            if cell == "lstm":
                h, c, gates = lstm_step(x_t[np.newaxis], h, c, *weights, return_gates=True)
            else:
                h, gates = gru_step(x_t[np.newaxis], h, *weights, return_gates=True)
            steps.append((h[0], gates))
        keras_states = keras.ops.convert_to_numpy(model.layers[0](X.astype("float32")))[0]
        gaps.append(np.abs(np.array([s for s, _ in steps]) - keras_states).max())
        out[cell] = {name: np.array([g[name][0] for _, g in steps]).T for name in steps[0][1]}
    return out | {"gap": float(max(gaps))}


# %% [markdown]
# ## Backpropagation through time
# The gradient at step T with respect to an earlier state s_k goes through every
# step between: ∂s_T/∂s_k = J_T·J_{T−1}···J_{k+1}, J_t = ∂s_t/∂s_{t−1} =
# diag(1 − s_t²)·Wᵀ. With states near 0 (slope 1) it is (Wᵀ)^(T−k): if W's
# singular values are all 0.9, the gradient from 30 steps back is 0.9³⁰ ≈ 0.04
# of its size; with 1.2, 1.2³⁰ ≈ 240 times. tanh's slope (≤ 1) only shrinks it.
# The LSTM's way out: c_t = f⊙c_{t−1} + i⊙g, so ∂c_T/∂c_k is a product of forget
# gates, numbers the network learns to keep near 1. Clipping (Keras's
# `global_clipnorm=`) scales all the gradients by one factor when their global
# norm √(Σ‖g‖²) exceeds a limit: the direction stays. What the gates cost, n
# inputs and u units: SimpleRNN u·(n + u + 1) (U, W, b); LSTM four such blocks,
# 4·u·(n + u + 1); GRU three, two biases each (`reset_after`): 3·u·(n + u + 2).


# %%
def state_gradient_norms(W, T: int, states=None) -> list[float]:
    """[‖∂s_T/∂s_k‖₂ for k = T−1, T−2, …, 0] (spectral norms). `states` (T, units), the
    states s_1..s_T of one sequence, add tanh's slope diag(1 − s_t²); without, slope 1."""
    W = validate.array(W, "W (units, units)", ndim=2)
    if W.shape[0] != W.shape[1]:
        raise ValueError(f"W must be square (units, units), got {W.shape}")
    T = validate.count(T, "T")
    if states is not None:
        states = validate.same_shape(states=states, expected=np.zeros((T, len(W))))[0]
    # TODO: multiply the Jacobians one by one, the newest first (on which side
    # does each new one go?), and after each multiplication record the
    # product's spectral norm (np.linalg.norm(…, 2)). T floats, one step back first.
    # BEGIN SOLUTION
    product, norms = np.eye(len(W)), []
    for t in range(T, 0, -1):
        J = W.T if states is None else (1 - states[t - 1] ** 2)[:, np.newaxis] * W.T
        product = product @ J
        norms.append(float(np.linalg.norm(product, 2)))
    return norms
    # END SOLUTION


def clip_by_norm(grads, max_norm: float) -> list:
    """The gradients scaled together so that their global norm √(Σ‖g‖²) is at most max_norm;
    unchanged when it already is (Keras's `global_clipnorm=`)."""
    if isinstance(grads, np.ndarray) or not isinstance(grads, (list, tuple)) or not grads:
        raise ValueError(f"grads must be a non-empty list of arrays, got {type(grads).__name__}")
    grads = [validate.array(g, f"grads[{i}]", ndim=(0, 1, 2, 3, 4)) for i, g in enumerate(grads)]
    max_norm = validate.positive(max_norm, "max_norm")
    # TODO: what is the global norm of all the arrays together, and by which
    # one factor are they all multiplied when it is too large? Return a list.
    # BEGIN SOLUTION
    total = float(np.sqrt(sum(float(np.sum(g**2)) for g in grads)))
    if total <= max_norm:
        return [g.copy() for g in grads]
    return [g * (max_norm / total) for g in grads]
    # END SOLUTION


def recurrent_parameters(cell: str, input_dim: int, units: int) -> int:
    """How many weights a Keras 3 'simple_rnn', 'lstm' or 'gru' layer has (default settings)."""
    validate.one_of(cell, "cell", CELLS)
    n, u = validate.count(input_dim, "input_dim"), validate.count(units, "units")
    # TODO: the formulas above, as a Python int.
    # BEGIN SOLUTION
    per_block = u * (n + u + 1)
    return int({"simple_rnn": per_block, "lstm": 4 * per_block, "gru": 3 * u * (n + u + 2)}[cell])
    # END SOLUTION


# %% [markdown]
# ## A task that needs a long memory
# Each step brings a random symbol (one-hot) and a marker bit, on at one of the
# first `lead` steps; the label is the marked symbol, T steps before the end.
# (The marker's random place stops a SimpleRNN from saturating on the first
# symbol for good.) LSTM and GRU sit at chance for a few epochs, then learn it
# at once (T = 20, 20 epochs: both 1.00, SimpleRNN 0.28; chance 0.25).


# %%
def memory_task(T: int, n: int, seed: int = 0, n_symbols: int = 4, lead: int = 5):
    """(X (n, lead + T, n_symbols + 1) float32: one-hot symbols and the marker bit last;
    y (n,) int: the marked symbol, which is at least T steps from the end)."""
    T, n, lead = validate.count(T, "T"), validate.count(n, "n"), validate.count(lead, "lead")
    k = validate.integer(n_symbols, "n_symbols", low=2)
    rng = np.random.default_rng(seed)
    symbols = rng.integers(0, k, (n, lead + T))
    X = np.zeros((n, lead + T, k + 1), dtype="float32")
    X[..., :k] = np.eye(k, dtype="float32")[symbols]
    marked = rng.integers(0, lead, n)
    X[np.arange(n), marked, k] = 1.0
    return X, symbols[np.arange(n), marked].astype("int64")


def build_memory_model(cell: str, steps: int, n_symbols: int = 4, units: int = 32):
    """keras.Input((steps, n_symbols + 1)) → the recurrent layer (units; its last state) →
    Dense(n_symbols, softmax); Adam(learning_rate=0.01), sparse categorical cross-entropy."""
    import keras

    names = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
    layer = getattr(keras.layers, names[validate.one_of(cell, "cell", CELLS)])
    steps, k = validate.count(steps, "steps"), validate.integer(n_symbols, "n_symbols", low=2)
    model = keras.Sequential([keras.Input((steps, k + 1)), layer(validate.count(units, "units"))])
    model.add(keras.layers.Dense(k, activation="softmax"))
    loss = "sparse_categorical_crossentropy"
    model.compile(keras.optimizers.Adam(learning_rate=0.01), loss, metrics=["accuracy"])
    return model


def compare_cells(T_values=(5, 20, 40), n=4000, units=32, epochs=20, batch_size=64, **kw):
    """Each cell on memory_task(T) for each T: [{cell, T, accuracy (500 fresh sequences),
    parameters (of the recurrent layer), by_formula, seconds}]; kw: cells, seed, n_symbols."""
    cells, seed, k = kw.get("cells", CELLS), kw.get("seed", 0), kw.get("n_symbols", 4)
    rows = []
    for T in T_values:
        (X, y), test = memory_task(T, n, seed, k), memory_task(T, 500, seed + 1, k)
        for cell in cells:
            seed_everything(seed)  # each cell: the same draw of first weights and batch order
            model, start = build_memory_model(cell, X.shape[1], k, units), time.perf_counter()
            model.fit(X, y, batch_size=batch_size, epochs=epochs, verbose=0)
            row = {"cell": cell, "T": int(T), "seconds": time.perf_counter() - start}
            row["accuracy"] = float(model.evaluate(*test, verbose=0, return_dict=True)["accuracy"])
            row["parameters"] = int(model.layers[0].count_params())
            rows.append(row | {"by_formula": recurrent_parameters(cell, k + 1, units)})
    return rows


# %% [markdown]
# ## Questions
# 1. Which of the LSTM's four blocks decides how much of c_{t−1} is kept?
#    (a) input (b) forget (c) cell (d) output
# 2. How many gates (sigmoids, between 0 and 1) has Keras's GRU? (The deck: one.)
# 3. W = 0.9·Q with Q orthogonal, states near 0: by what factor is the gradient
#    ‖∂s_T/∂s_k‖ from 30 steps back multiplied?
# 4. An LSTM whose forget gate stays at 0.9 and input gate at 0: after how many
#    steps does its cell hold less than half of what it stored?
# Open: why do GRU and LSTM learn the memory task at T = 40 when SimpleRNN cannot?


# %%
def answers() -> dict:
    """Your answers to the questions above, keyed "q1", "q2", ..."""
    # TODO: answer each question with a letter or a number.
    # BEGIN SOLUTION
    # q2: update and reset. q4: 0.9⁶ = 0.53, 0.9⁷ = 0.48. Open: their memory moves on by f⊙c
    # (z⊙h), gates near 1, not by W and tanh's slope: the marked step's gradient arrives.
    return {"q1": "b", "q2": 2, "q3": state_gradient_norms(0.9 * np.eye(3), 30)[-1], "q4": 7}
    # END SOLUTION


# %%
@dataclass
class Config:
    T_values: str = "5,20"  # memory lengths to compare the cells on
    n: int = 4000  # training sequences per T
    units: int = 32
    epochs: int = 20  # LSTM and GRU sit at chance for a few epochs, then learn it at once
    gate_epochs: int = 200  # training of the sentence's small LSTM and GRU
    seed: int = 0
    out_dir: str = "outputs/ex11_rnn_internals"


QUICK = {"T_values": "4", "n": 256, "units": 8, "epochs": 2, "gate_epochs": 20}


def main(config: Config | None = None) -> dict:
    config = config or Config()
    out = lesson.output_dir(config.out_dir)
    seed_everything(config.seed)

    deck = sentence_states(seed=config.seed)
    maps = {"inputs x_t (one-hot)": deck["onehot"].T, "states s_t": deck["states"].T}
    fig = plotting.heatmaps(maps, deck["words"], vmin=-1, title="the same U, W, b each word")
    lesson.save_figure(fig, out, "unrolled")

    gates = gate_activity(epochs=config.gate_epochs, seed=config.seed)
    maps = {f"LSTM {g}": m for g, m in gates["lstm"].items() if g != "cell"}
    maps |= {f"GRU {g}": m for g, m in gates["gru"].items() if g != "candidate"}
    title = f"where each gate opens (1) or closes (0), {len(next(iter(maps.values())))} units"
    lesson.save_figure(plotting.heatmaps(maps, gates["words"], title=title), out, "gates")
    print(f"your lstm_step and gru_step against Keras's layers: {gates['gap']:.1e} apart")

    rng, near, real = np.random.default_rng(config.seed), "states near 0: (Wᵀ)^(T−k)", "real"
    Q = np.linalg.qr(rng.normal(size=(16, 16)))[0]  # orthogonal: every singular value 1
    X, U, panels = rng.normal(0, 0.5, (1, 40, 3)), rng.normal(0, 0.3, (3, 16)), {near: {}, real: {}}
    for scale in (0.8, 0.95, 1.0, 1.1, 1.3):
        states = rnn_forward(X, U, scale * Q, np.zeros(16))[0]
        panels[near][f"W = {scale}·Q"] = state_gradient_norms(scale * Q, 40)
        panels[real][f"W = {scale}·Q"] = state_gradient_norms(scale * Q, 40, states)
    fig = plotting.curve_panels(panels, "T − k (steps back)", "‖∂s_T/∂s_k‖", logy=True)
    lesson.save_figure(fig, out, "bptt")
    far = {name: f"{g[-1]:.1e}" for name, g in panels[near].items()}
    clipped = clip_by_norm([rng.normal(0, 30, (3, 16)), rng.normal(0, 30, (16,))], 5.0)
    total = np.sqrt(sum(np.sum(g**2) for g in clipped))
    print(f"‖∂s_T/∂s_k‖ 40 steps back: {far}; a gradient clipped to 5 has norm {total:.3g}")

    T_values = [validate.count(int(t), "each T") for t in config.T_values.split(",")]
    rows = compare_cells(T_values, config.n, config.units, config.epochs, seed=config.seed)
    for r in rows:
        print(f"{r['cell']:<11} T={r['T']:<3} {r['accuracy']:.3f}, {r['parameters']} weights")
    accuracy = {c: [r["accuracy"] for r in rows if r["cell"] == c] for c in CELLS}
    title = "recall the marked symbol after T steps (chance 0.25)"
    fig = plotting.curves(accuracy, "T (steps to remember)", "test accuracy", title, x=T_values)
    lesson.save_figure(fig, out, "memory")

    at = {r["cell"]: r["accuracy"] for r in rows if r["T"] == max(T_values)}
    metrics = {
        "deck_states": deck["states"].tolist(),
        "steps_against_keras": gates["gap"],
        "gradient_40_steps_back": far,
        "cells": rows,
        "headline": f"recall after T={max(T_values)}: {', '.join(f'{c} {a:.2f}' for c, a in at.items())}"
        f"; gated steps = Keras to {gates['gap']:.0e}",
    }
    lesson.write_metrics(out, metrics)
    return metrics


if __name__ == "__main__":
    lesson.run(main, Config, QUICK, __doc__)
