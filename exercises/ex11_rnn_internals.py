# %% [markdown]
# # ex11 · RNN internals: inside the recurrent layer
# ex08 used `keras.layers.LSTM` as a black box. Here you open the simplest
# recurrent layer: one step is s_t = tanh(x_t·U + s_{t−1}·W + b), the same U,
# W and b at every step (the unrolled picture of the decks), and you prove
# your NumPy version gives exactly what `keras.layers.SimpleRNN` gives with
# the same weights. Then backpropagation through time: the gradient that
# reaches a state k steps back is a product of k Jacobians, so it shrinks or
# grows geometrically (vanishing and exploding gradients), and clipping by
# norm tames the growing kind. Last, a task that needs a long memory (recall
# a marked symbol after T more steps): SimpleRNN fails as T grows,
# LSTM and GRU, whose gates give the gradient a path without repeated
# multiplication by W, keep succeeding.
#
# **Your job:** fill in the six `TODO`s, then run `workshop check 11`.
#
# Where the decks are wrong or vague, and what this lesson says instead:
# - the first deck writes s_{t−1} = f(U·x_{t−1} + W) — the previous state is
#   missing: it is s_t = f(x_t·U + s_{t−1}·W + b), and W multiplies s_{t−1};
# - it writes o = softmax(V) — the output reads the state: o_t =
#   softmax(s_t·V + c);
# - the deep-networks deck's y_t = g(W_v·h_t + b_h) reuses the hidden
#   layer's bias b_h for the output: the output has its own bias;
# - its one-hot codes for "Un viejo hidalgo" (1000, 0100, 0001) have four
#   places for three words; with a vocabulary of the sentence's own words
#   each word gets one of as many places as there are distinct words.
# Keras stores U as the layer's `kernel` (input_dim, units), W as its
# `recurrent_kernel` (units, units) and b as `bias` (units,): rows are
# inputs, columns units, and a batch of inputs multiplies from the left.

# %%
"""ex11 · RNN internals: the recurrent step, BPTT, vanishing gradients, LSTM/GRU."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from workshop import gpu, lesson, plotting, validate
from workshop.repro import seed_everything

CELLS = ("simple_rnn", "lstm", "gru")


def _matrix(value, name: str, shape=None) -> np.ndarray:
    a = validate.array(value, name, ndim=len(shape) if shape else None)
    if shape is not None:
        for got, want, axis in zip(a.shape, shape, range(len(shape)), strict=True):
            if want is not None and got != want:
                raise ValueError(
                    f"{name} must have shape {tuple('?' if w is None else w for w in shape)}, "
                    f"got {a.shape} (axis {axis} is {got}, expected {want})"
                )
    return a


# %% [markdown]
# ## One step, then the whole sequence
# For a batch: x_t (batch, input_dim), s_prev (batch, units). The same
# weights at every step is what makes a recurrent layer small: its size does
# not depend on the length of the sequence.


# %%
def rnn_step(x_t, s_prev, U, W, b):
    """s_t = tanh(x_t·U + s_prev·W + b): x_t (batch, input_dim) or (input_dim,), s_prev
    matching with units; U (input_dim, units), W (units, units), b (units,)."""
    U = _matrix(U, "U (input_dim, units)", (None, None))
    units = U.shape[1]
    W = _matrix(W, "W (units, units)", (units, units))
    b = _matrix(b, "b (units,)", (units,))
    x_t = validate.array(x_t, "x_t", ndim=(1, 2))
    s_prev = validate.array(s_prev, "s_prev", ndim=(1, 2))
    if x_t.shape[-1] != U.shape[0]:
        raise ValueError(f"x_t has {x_t.shape[-1]} features, U expects {U.shape[0]}")
    if s_prev.shape[-1] != units:
        raise ValueError(f"s_prev has {s_prev.shape[-1]} units, W has {units}")
    # TODO: one step of the recurrent layer, for a whole batch at once:
    # tanh of (x_t times U) plus (s_prev times W) plus b. `@` multiplies
    # matrices; a row of x_t multiplies U from the left.
    raise NotImplementedError("TODO: rnn_step()")


def rnn_forward(X, U, W, b, s0=None):
    """Every state of SimpleRNN(return_sequences=True): X (batch, time, input_dim) ->
    states (batch, time, units); s0 (batch, units) the state before the first step (zeros)."""
    X = validate.array(X, "X (batch, time, input_dim)", ndim=3)
    U = _matrix(U, "U (input_dim, units)", (X.shape[2], None))
    units = U.shape[1]
    s = np.zeros((X.shape[0], units)) if s0 is None else _matrix(s0, "s0", (X.shape[0], units))
    # TODO: start from s, apply rnn_step at each time step t to X[:, t, :]
    # and the previous state, keep every state, and return them stacked on
    # axis 1: shape (batch, time, units).
    raise NotImplementedError("TODO: rnn_forward()")


def rnn_outputs(states, V, c):
    """o_t = softmax(s_t·V + c) for every state: what the next word probably is."""
    z = np.asarray(states, dtype=float) @ np.asarray(V, dtype=float) + c
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


# %% [markdown]
# ## The decks' unrolled picture: *Un viejo hidalgo…*
# Nine words, one-hot over the sentence's own eight distinct words, through
# one small recurrent layer (3 units, random weights): the same U, W and b
# at every word, a new state after each. The state after "astillero" has
# been touched by every word before it.


# %%
DECK_SENTENCE = "Un viejo hidalgo de los de lanza en astillero"


def sentence_states(sentence: str = DECK_SENTENCE, units: int = 3, seed: int = 0) -> dict:
    """{words, vocabulary, onehot (time, vocab), states (time, units), next_word (time, vocab)}."""
    words = validate.text(sentence, "sentence").lower().split()
    if not words:
        raise ValueError("sentence must have at least one word")
    vocabulary = sorted(set(words))
    onehot = np.eye(len(vocabulary))[[vocabulary.index(w) for w in words]]
    rng = np.random.default_rng(seed)
    U = rng.normal(0, 1.0, (len(vocabulary), units))
    W = rng.normal(0, 0.5, (units, units))
    b = np.zeros(units)
    V = rng.normal(0, 1.0, (units, len(vocabulary)))
    states = rnn_forward(onehot[np.newaxis], U, W, b)[0]
    return {
        "words": words,
        "vocabulary": vocabulary,
        "onehot": onehot,
        "states": states,
        "next_word": rnn_outputs(states, V, np.zeros(len(vocabulary))),
    }


# %% [markdown]
# ## Backpropagation through time
# The gradient of a loss at step T with respect to an earlier state s_k goes
# through every step in between: ∂s_T/∂s_k = J_T·J_{T−1}···J_{k+1}, with
# J_t = ∂s_t/∂s_{t−1} = diag(1 − s_t²)·Wᵀ. Leave out tanh's slope (states
# near 0) and it is (Wᵀ)^(T−k): if W's largest singular value is 0.9, the
# gradient from 30 steps back is 0.9³⁰ ≈ 0.04 of its size; if it is 1.2,
# 1.2³⁰ ≈ 240 times it. tanh's slope (≤ 1) only shrinks it further.


# %%
def state_gradient_norms(W, T: int, states=None) -> list[float]:
    """[‖∂s_T/∂s_k‖₂ for k = T−1, T−2, …, 0] (spectral norms), T−k = 1, 2, …, T. `states`
    (T, units), the states s_1..s_T of one sequence, adds tanh's slope diag(1 − s_t²); without
    them the states are taken as 0 (slope 1)."""
    W = validate.array(W, "W (units, units)", ndim=2)
    if W.shape[0] != W.shape[1]:
        raise ValueError(f"W must be square (units, units), got {W.shape}")
    T = validate.count(T, "T")
    if states is not None:
        states = _matrix(states, "states (T, units)", (T, W.shape[0]))
    # TODO: start with the identity (np.eye); for t = T, T−1, …, 1 multiply
    # the running product on the right by J_t = diag(1 − s_t²)·Wᵀ (just Wᵀ
    # without states; s_t is states[t − 1]), and after each multiplication
    # append the product's spectral norm, np.linalg.norm(product, 2), as a
    # float. The list has T entries, the one step back first.
    raise NotImplementedError("TODO: state_gradient_norms()")


def clip_by_norm(grads, max_norm: float) -> list:
    """The gradients scaled together so that their global norm √(Σ‖g‖²) is at most max_norm;
    unchanged when it already is (tf.clip_by_global_norm, Keras's `global_clipnorm=`)."""
    if isinstance(grads, np.ndarray) or not isinstance(grads, (list, tuple)) or not grads:
        raise ValueError(
            f"grads must be a non-empty list of arrays (one per weight), got {type(grads).__name__}"
        )
    grads = [validate.array(g, f"grads[{i}]", ndim=(0, 1, 2, 3, 4)) for i, g in enumerate(grads)]
    max_norm = validate.positive(max_norm, "max_norm")
    # TODO: the global norm is the square root of the sum of every entry's
    # square, over all the arrays. When it exceeds max_norm, multiply every
    # array by max_norm / global norm (the same factor for all: the direction
    # stays); otherwise return them unchanged. Return a list of arrays.
    raise NotImplementedError("TODO: clip_by_norm()")


# %% [markdown]
# ## What an LSTM or a GRU costs
# Per layer, with n inputs and u units (Keras 3's defaults):
# - SimpleRNN: U (n·u), W (u·u), b (u): u·(n + u + 1);
# - LSTM: four of those (input, forget and output gates, and the candidate):
#   4·u·(n + u + 1);
# - GRU: three (update and reset gates, candidate), and with
#   `reset_after=True` (the default, what cuDNN runs) two biases each:
#   3·u·(n + u + 2).
# The LSTM's answer to the vanishing gradient: its cell state moves on by
# c_t = f_t⊙c_{t−1} + i_t⊙g_t, so ∂c_T/∂c_k is the product of the forget
# gates — numbers the network learns to keep near 1 — instead of repeated
# products with W and tanh's slope. The GRU does the same with one update
# gate: s_t = z_t⊙s_{t−1} + (1 − z_t)⊙candidate.


# %%
def recurrent_parameters(cell: str, input_dim: int, units: int) -> int:
    """How many weights a Keras 3 'simple_rnn', 'lstm' or 'gru' layer has (default settings)."""
    validate.one_of(cell, "cell", CELLS)
    n = validate.count(input_dim, "input_dim")
    u = validate.count(units, "units")
    # TODO: the formulas above: simple_rnn u·(n + u + 1), lstm four times
    # that, gru 3·u·(n + u + 2). Return a Python int.
    raise NotImplementedError("TODO: recurrent_parameters()")


# %% [markdown]
# ## A task that needs a long memory
# Every step brings a random symbol (one-hot, `n_symbols` of them) and a
# marker bit; the marker is on at one of the first `lead` steps, and the
# label is the symbol that came with it. T more steps of random symbols
# follow, which must not overwrite it. Chance is 1/n_symbols. (Asked for
# the *first* symbol instead, a SimpleRNN cheats: starting from a zero
# state, the first input can push it into a saturated state that later
# inputs cannot move, with no gradient through time needed. The marker at
# a random step takes that shortcut away.) Watch the training accuracy:
# LSTM and GRU sit at chance for a few epochs, then learn the task at once
# (on the bench, T = 20: both 1.00, SimpleRNN 0.28 after 20 epochs).


# %%
def memory_task(T: int, n: int, seed: int = 0, n_symbols: int = 4, lead: int = 5):
    """(X (n, lead + T, n_symbols + 1) float32: one-hot symbols and the marker bit last;
    y (n,) int: the marked symbol, which is at least T steps from the end)."""
    T = validate.count(T, "T")
    n = validate.count(n, "n")
    k = validate.integer(n_symbols, "n_symbols", low=2)
    lead = validate.count(lead, "lead")
    rng = np.random.default_rng(seed)
    symbols = rng.integers(0, k, (n, lead + T))
    X = np.zeros((n, lead + T, k + 1), dtype="float32")
    X[..., :k] = np.eye(k, dtype="float32")[symbols]
    marked = rng.integers(0, lead, n)
    X[np.arange(n), marked, k] = 1.0
    return X, symbols[np.arange(n), marked].astype("int64")


def build_memory_model(cell: str, steps: int, n_symbols: int = 4, units: int = 32):
    """keras.Input((steps, n_symbols + 1)) → the recurrent layer (units; only its last state) →
    Dense(n_symbols, softmax); Adam(learning_rate=0.01), sparse categorical cross-entropy."""
    import keras

    validate.one_of(cell, "cell", CELLS)
    steps = validate.count(steps, "steps")
    n_symbols = validate.integer(n_symbols, "n_symbols", low=2)
    units = validate.count(units, "units")
    layer = {
        "simple_rnn": keras.layers.SimpleRNN,
        "lstm": keras.layers.LSTM,
        "gru": keras.layers.GRU,
    }[cell]
    # TODO: a keras.Sequential of keras.Input(shape=(steps, n_symbols + 1))
    # (a symbol and the marker per step), layer(units) (the class chosen
    # above; it returns the last state only) and a Dense layer of n_symbols
    # softmax outputs. Compile with keras.optimizers.Adam(learning_rate=0.01),
    # the loss for integer labels and the accuracy metric; return the model.
    raise NotImplementedError("TODO: build_memory_model()")


def compare_cells(
    T_values=(5, 20, 40),
    n: int = 4000,
    units: int = 32,
    epochs: int = 20,
    batch_size: int = 64,
    cells=CELLS,
    seed: int = 0,
    n_symbols: int = 4,
) -> list[dict]:
    """Train each cell on memory_task(T) for each T: [{cell, T, accuracy, parameters,
    by_formula, seconds}], accuracy on 500 fresh sequences, parameters of the recurrent layer."""
    tf = gpu._tf()
    rows = []
    for T in T_values:
        X, y = memory_task(T, n, seed=seed, n_symbols=n_symbols)
        X_test, y_test = memory_task(T, 500, seed=seed + 1, n_symbols=n_symbols)
        test = tf.data.Dataset.from_tensor_slices((X_test, y_test)).batch(500)
        for cell in cells:
            seed_everything(seed)  # each cell: the same first weights' draw and batch order
            train = tf.data.Dataset.from_tensor_slices((X, y)).shuffle(n, seed=seed)
            train = train.batch(batch_size)
            model = build_memory_model(cell, X.shape[1], n_symbols, units)
            start = time.perf_counter()
            model.fit(train, epochs=epochs, verbose=0)
            seconds = time.perf_counter() - start
            accuracy = float(model.evaluate(test, verbose=0, return_dict=True)["accuracy"])
            rows.append(
                {
                    "cell": cell,
                    "T": int(T),
                    "accuracy": accuracy,
                    "parameters": int(model.layers[0].count_params()),
                    "by_formula": recurrent_parameters(cell, n_symbols + 1, units),
                    "seconds": seconds,
                }
            )
    return rows


# %% [markdown]
# ## Run the lesson


# %%
@dataclass
class Config:
    T_values: str = "5,20"  # memory lengths to compare the cells on
    n: int = 4000  # training sequences per T
    units: int = 32
    epochs: int = 20  # LSTM and GRU sit at chance for a few epochs, then learn it at once
    seed: int = 0
    out_dir: str = "outputs/ex11_rnn_internals"


QUICK = {"T_values": "4", "n": 256, "units": 8, "epochs": 2}


def main(config: Config | None = None) -> dict:
    config = config or Config()
    out = lesson.output_dir(config.out_dir)
    seed_everything(config.seed)

    deck = sentence_states(seed=config.seed)
    print(f"{DECK_SENTENCE!r}: vocabulary {deck['vocabulary']}")
    for word, s in zip(deck["words"], deck["states"], strict=True):
        print(f"  {word:<10} state [{', '.join(f'{v:+.3f}' for v in s)}]")
    fig, axes = plotting.subplots(2, 1, size=(9, 5.5))
    axes[0, 0].imshow(deck["onehot"].T, cmap="Greys", aspect="auto")
    axes[0, 0].set_yticks(range(len(deck["vocabulary"])), deck["vocabulary"], fontsize=8)
    axes[0, 0].set_title("inputs x_t: one word, one-hot, per step")
    im = axes[1, 0].imshow(deck["states"].T, cmap="coolwarm", vmin=-1, vmax=1, aspect="auto")
    axes[1, 0].set_yticks(range(deck["states"].shape[1]), [f"unit {i}" for i in range(3)])
    axes[1, 0].set_title("states s_t = tanh(x_t·U + s_{t−1}·W + b): the same U, W, b each step")
    for ax in axes[:, 0]:
        ax.set_xticks(range(len(deck["words"])), deck["words"])
    fig.colorbar(im, ax=axes[1, 0])
    lesson.save_figure(fig, out, "unrolled")

    rng = np.random.default_rng(config.seed)
    units, T = 16, 40
    Q = np.linalg.qr(rng.normal(size=(units, units)))[0]  # orthogonal: every singular value 1
    X = rng.normal(0, 0.5, (1, T, 3))
    U = rng.normal(0, 0.3, (3, units))
    fig, axes = plotting.subplots(1, 2, size=(12, 4.2))
    curves = {}
    for scale in (0.8, 0.95, 1.0, 1.1, 1.3):
        W = scale * Q
        linear = state_gradient_norms(W, T)
        states = rnn_forward(X, U, W, np.zeros(units))[0]
        with_tanh = state_gradient_norms(W, T, states)
        curves[scale] = (linear, with_tanh)
        distance = range(1, T + 1)
        axes[0, 0].semilogy(distance, linear, label=f"W = {scale}·Q")
        axes[0, 1].semilogy(distance, with_tanh, label=f"W = {scale}·Q")
    axes[0, 0].set(
        xlabel="T − k (steps back)", ylabel="‖∂s_T/∂s_k‖", title="states near 0: (Wᵀ)^(T−k)"
    )
    axes[0, 1].set(
        xlabel="T − k (steps back)", ylabel="‖∂s_T/∂s_k‖", title="with tanh's slope, real states"
    )
    for ax in axes[0]:
        ax.legend(fontsize=8)
    fig.suptitle("vanishing and exploding gradients through time (Q orthogonal, 16 units)")
    lesson.save_figure(fig, out, "bptt")
    print(f"‖∂s_T/∂s_k‖ {T} steps back, states near 0 / real states:")
    for scale, (linear, with_tanh) in curves.items():
        print(f"  W = {scale}·Q: {linear[-1]:.2e} / {with_tanh[-1]:.2e}")
    big = [rng.normal(0, 30, (3, units)), rng.normal(0, 30, (units,))]
    clipped = clip_by_norm(big, 5.0)

    def norm(gs):
        return float(np.sqrt(sum(float(np.sum(g**2)) for g in gs)))

    print(f"clipping: a gradient of norm {norm(big):.1f} becomes {norm(clipped):.1f}")

    T_values = [validate.count(int(t), "each T") for t in config.T_values.split(",")]
    rows = compare_cells(
        T_values, n=config.n, units=config.units, epochs=config.epochs, seed=config.seed
    )
    print(f"  {'cell':<11} {'T':>3} {'accuracy':>9} {'params':>7} {'formula':>7} {'s':>6}")
    for r in rows:
        print(
            f"  {r['cell']:<11} {r['T']:>3} {r['accuracy']:>9.3f} {r['parameters']:>7} "
            f"{r['by_formula']:>7} {r['seconds']:>6.1f}"
        )
    fig, ax = plotting.subplots(1, 1, size=(6.5, 4))
    ax = ax[0, 0]
    for cell in CELLS:
        mine = [r for r in rows if r["cell"] == cell]
        ax.plot(
            [r["T"] for r in mine],
            [r["accuracy"] for r in mine],
            marker="o",
            label=f"{cell} ({mine[0]['parameters']:,} weights)",
        )
    ax.axhline(0.25, color="gray", ls=":", label="chance (4 symbols)")
    ax.set(
        xlabel="T (steps to remember the marked symbol)",
        ylabel="test accuracy",
        ylim=(0, 1.05),
        title=f"recall the marked symbol after T steps ({config.units} units, {config.epochs} epochs)",
    )
    ax.legend(fontsize=8)
    lesson.save_figure(fig, out, "memory")

    longest = max(T_values)
    at = {r["cell"]: r["accuracy"] for r in rows if r["T"] == longest}
    metrics = {
        "deck_states": deck["states"].tolist(),
        "gradient_40_steps_back": {str(s): c[0][-1] for s, c in curves.items()},
        "cells": rows,
        "headline": f"recall after T={longest}: "
        + ", ".join(f"{c} {a:.2f}" for c, a in at.items()),
    }
    lesson.write_metrics(out, metrics)
    return metrics


if __name__ == "__main__":
    lesson.run(main, Config, QUICK, __doc__)
