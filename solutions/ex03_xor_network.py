# %% [markdown]
# # ex03 · Two layers of sigmoids learn XOR: backpropagation by hand
# A single neuron draws one line and cannot separate XOR (ex01). Two hidden
# neurons draw two lines, and the output neuron combines them. Here you write
# the activations, the losses, the forward pass and backpropagation in NumPy,
# then let Keras do the same in a few lines.
#
# **Your job:** fill in the six `TODO`s and answer the questions at the end,
# then run `workshop check 3`.
#
# Replaces the workshop deck's `2-Layer_Sigmoid_XOR.ipynb`; the activation
# table is the activation deck's, the worked examples the first deck's and the
# workshop deck's. Changes from the course, and why:
# - the Keras network is the NumPy one (2-2-1 sigmoids, mean squared error,
#   plain gradient descent, the same start): it ends with the same weights,
#   which shows what `fit` does;
# - the activation deck feeds softmax outputs into the binary cross-entropy;
#   here `cross_entropy` is −Σ p·ln q and `binary_cross_entropy` its
#   two-class case (see docs/instructor-notes.md).

# %%
"""ex03 · Two layers of sigmoids learn XOR: backpropagation by hand."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workshop import lesson, plotting, validate
from workshop.repro import check_seed

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_Y = np.array([[0], [1], [1], [0]], dtype=float)
EPS = 1e-12  # keeps log() away from 0


# %% [markdown]
# ## The activation zoo, each derivative right next to its function
# σ(x) = 1 / (1 + e^−x) squashes any number into (0, 1); its slope is
# σ'(x) = σ(x)·(1 − σ(x)). In floating point e^−x overflows for x = −1000, but
# for x < 0 the same number is e^x / (1 + e^x) (multiply above and below by
# e^x), where only e^(negative) is ever computed.


# %%
def sigmoid(x):
    """1 / (1 + e^-x), without overflow for large |x|."""
    x = validate.array(x, "x", allow_empty=True)  # numbers only: no NaN, no text
    # TODO: σ(x) for every entry, same shape as x, finite everywhere: x = -1000
    # must give 0 and x = 1000 must give 1, with no overflow warning. Which form
    # of the formula is safe for x >= 0, and which one for x < 0?
    # BEGIN SOLUTION
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    # END SOLUTION


def sigmoid_prime(x):
    """σ'(x) = σ(x)·(1 − σ(x))."""
    s = sigmoid(x)
    return s * (1 - s)


def _leaky(slope):
    """(f, f') of a leaky ReLU: x where x > 0, else alpha·x."""
    return (
        lambda x, alpha=slope: np.where(x > 0, x, alpha * x),
        lambda x, alpha=slope: np.where(x > 0, 1.0, alpha),
    )


#: The activation deck's table, (f, f') by name (its binary step is ex01's hardlim).
ACTIVATIONS = {
    "identity": (lambda x: x, np.ones_like),
    "sigmoid": (sigmoid, sigmoid_prime),
    "tanh": (np.tanh, lambda x: 1 - np.tanh(x) ** 2),
    "arctan": (np.arctan, lambda x: 1 / (x**2 + 1)),
    "relu": (lambda x: np.maximum(0.0, x), lambda x: (x > 0).astype(float)),  # relu'(0) = 0
    "leaky_relu": _leaky(0.01),
    "prelu": _leaky(0.25),  # parametric ReLU: a leaky ReLU whose slope is learned (here: given)
    "elu": (
        lambda x, alpha=1.0: np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))),
        lambda x, alpha=1.0: np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0))),
    ),
    "softplus": (lambda x: np.logaddexp(0.0, x), sigmoid),  # ln(1 + e^x); its slope is σ
}
ACTIVATIONS |= {
    name: (validate.elementwise(f, name), validate.elementwise(df, f"{name}_prime"))
    for name, (f, df) in ACTIVATIONS.items()
    if name != "sigmoid"  # it checks its own argument
}
for _name, (_f, _df) in ACTIVATIONS.items():  # each is a function here too: tanh, tanh_prime...
    globals()[_name], globals()[f"{_name}_prime"] = _f, _df


# %% [markdown]
# ## Softmax and the losses
# Softmax turns a row of scores z into probabilities, e^z_i / Σ_j e^z_j, and
# subtracting the same c from every score changes nothing: e^−c cancels.
#
# Cross-entropy measures how surprised the predicted distribution q is by the
# wanted one p: H(p, q) = −Σ_i p_i·ln q_i, 0 when q puts everything on the
# right answer, large when it bets on a wrong one.


# %%
def softmax(z):
    """e^z / Σ e^z along the last axis; stable for large z (e.g. 1000)."""
    z = validate.array(z, "z")  # not empty, no NaN, no infinity
    # TODO: each row of scores (the last axis) as probabilities: z's shape,
    # every entry in [0, 1], each row summing to 1, finite for z = 1000. Which
    # c, subtracted from a row, keeps every exponent at or below 0?
    # BEGIN SOLUTION
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
    # END SOLUTION


def mse(y, y_hat) -> float:
    """Mean of the squared errors over every element."""
    y, y_hat = validate.same_shape(y=y, y_hat=y_hat)
    return float(np.mean((y - y_hat) ** 2))


def cross_entropy(p, q) -> float:
    """−Σ p·ln q over the last axis (p wanted, q predicted), averaged; q kept >= 1e-12."""
    p, q = validate.same_shape(p=p, q=q)
    # TODO: H(p, q) for each distribution (the last axis), then the mean over
    # the examples: one float. A predicted 0 where p wants something must give
    # a large finite number, not infinity: what keeps ln q finite?
    # BEGIN SOLUTION
    q = np.maximum(q, EPS)
    return float(np.mean(-np.sum(p * np.log(q), axis=-1)))
    # END SOLUTION


def binary_cross_entropy(y, p) -> float:
    """−mean(y·ln p + (1 − y)·ln(1 − p)): the two-class case, p clipped away from 0 and 1."""
    y, p = validate.same_shape(y=y, p=p)
    p = np.clip(p, EPS, 1 - EPS)  # the wanted distribution is (y, 1 − y), the predicted (p, 1 − p)
    return cross_entropy(np.stack([y, 1 - y], axis=-1), np.stack([p, 1 - p], axis=-1))


# %% [markdown]
# ## The network: forward and backward
# One row of X per example. Forward, keeping every intermediate:
#
#     z1 = X·W1 + b1,  h = σ(z1),  z2 = h·W2 + b2,  ŷ = σ(z2),  L = mean((ŷ − y)²)
#
# Backward is the chain rule, read from L back to each parameter; each step
# multiplies by the local derivative of one line above:
#
#     ∂L/∂ŷ = 2(ŷ − y) / (number of entries of y)
#     ∂L/∂z2 = ∂L/∂ŷ · σ'(z2)                  (elementwise)
#     ∂L/∂W2 = hᵀ · ∂L/∂z2,   ∂L/∂b2 = the sum of ∂L/∂z2 over the examples
#     ∂L/∂h = ∂L/∂z2 · W2ᵀ,   ∂L/∂z1 = ∂L/∂h · σ'(z1)
#     ∂L/∂W1 = Xᵀ · ∂L/∂z1,   ∂L/∂b1 = the sum of ∂L/∂z1 over the examples
#
# Each gradient has the shape of its parameter. The checks compare every
# entry with a finite difference, (L(θ + h) − L(θ − h)) / 2h for a tiny h.


# %%
class TwoLayerNet:
    """A 2-layer sigmoid network in NumPy: n_in -> n_hidden -> n_out."""

    def __init__(self, n_in: int, n_hidden: int, n_out: int, seed: int = 0):
        for name, n in (("n_in", n_in), ("n_hidden", n_hidden), ("n_out", n_out)):
            validate.count(n, name)
        rng = np.random.default_rng(check_seed(seed))
        # Glorot-uniform weights, zero biases (what Keras's Dense does).
        self.W1 = rng.uniform(-1, 1, (n_in, n_hidden)) * np.sqrt(6 / (n_in + n_hidden))
        self.b1 = np.zeros(n_hidden)
        self.W2 = rng.uniform(-1, 1, (n_hidden, n_out)) * np.sqrt(6 / (n_hidden + n_out))
        self.b2 = np.zeros(n_out)

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {"W1": self.W1, "b1": self.b1, "W2": self.W2, "b2": self.b2}

    def _check(self, X, y=None):
        X = validate.array(X, "X", ndim=2)
        if X.shape[1] != self.W1.shape[0]:
            raise ValueError(f"X must have shape (n, {self.W1.shape[0]}), got {X.shape}")
        y = None if y is None else validate.array(y, "y").reshape(len(X), -1)
        if y is not None and y.shape[1] != self.W2.shape[1]:
            raise ValueError(f"y must have {self.W2.shape[1]} column(s), got shape {y.shape}")
        return X if y is None else (X, y)

    def forward(self, X):
        """The outputs ŷ for every row of X (n, n_out)."""
        X = self._check(X)
        # TODO: ŷ for every row of X, shape (n, n_out): the hidden layer's h
        # from X, then the output from h, each a layer as in the formulas above.
        # BEGIN SOLUTION
        h = sigmoid(X @ self.W1 + self.b1)
        return sigmoid(h @ self.W2 + self.b2)
        # END SOLUTION

    def loss(self, X, y) -> float:
        X, y = self._check(X, y)
        return mse(y, self.forward(X))

    def backward(self, X, y) -> dict[str, np.ndarray]:
        """Gradients of loss(X, y) for every weight and bias: {"W1", "b1", "W2", "b2"}."""
        X, y = self._check(X, y)
        # TODO: the gradient of the loss for every parameter, each shaped like
        # its parameter, in a dict keyed "W1", "b1", "W2", "b2". Which
        # intermediates of the forward pass does the chain rule need, and in
        # which order do you meet the parameters going back from the loss?
        # BEGIN SOLUTION
        z1 = X @ self.W1 + self.b1
        h = sigmoid(z1)
        z2 = h @ self.W2 + self.b2
        y_hat = sigmoid(z2)
        dz2 = 2 * (y_hat - y) / y.size * sigmoid_prime(z2)
        dz1 = dz2 @ self.W2.T * sigmoid_prime(z1)
        return {"W1": X.T @ dz1, "b1": dz1.sum(0), "W2": h.T @ dz2, "b2": dz2.sum(0)}
        # END SOLUTION

    def train(self, X, y, lr: float = 1.0, epochs: int = 1000) -> list[float]:
        """Full-batch gradient descent; return the loss after each epoch."""
        X, y = self._check(X, y)
        lr, epochs = validate.positive(lr, "lr"), validate.count(epochs, "epochs")
        history = []
        for _ in range(epochs):  # gradient descent: every parameter steps against its gradient
            grads = self.backward(X, y)
            for name, param in self.params.items():
                param -= lr * grads[name]  # in place: the network's own arrays change
            history.append(self.loss(X, y))
        return history


def train_xor(hidden: int = 2, lr: float = 5.0, epochs: int = 4000, seed: int = 1) -> TwoLayerNet:
    """A TwoLayerNet trained on XOR; with the defaults its rounded outputs are 0, 1, 1, 0."""
    net = TwoLayerNet(2, hidden, 1, seed=seed)
    net.train(XOR_X, XOR_Y, lr=lr, epochs=epochs)
    return net


# %% [markdown]
# ## Keras: the same network
# Started from the NumPy net's weights and fed the four rows as one batch per
# step, it takes the very same steps.


# %%
def build_xor_keras_model(hidden: int = 2, learning_rate: float = 5.0):
    """keras.Model: 2 -> Dense(hidden, sigmoid) -> Dense(1, sigmoid); SGD, mean squared error."""
    hidden = validate.count(hidden, "hidden")
    learning_rate = validate.positive(learning_rate, "learning_rate")
    import keras

    # TODO: TwoLayerNet(2, hidden, 1) as a Keras model, compiled to learn as
    # the NumPy net does: which layers, with which activation, and which
    # optimiser and loss take the same steps as `train`?
    # BEGIN SOLUTION
    model = keras.Sequential([keras.Input(shape=(2,))])
    model.add(keras.layers.Dense(hidden, activation="sigmoid"))
    model.add(keras.layers.Dense(1, activation="sigmoid"))
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate), loss="mse")
    return model
    # END SOLUTION


# %% [markdown]
# ## The decks' examples, and vanishing gradients
# The decks' cross-entropies (0.693 and 0.479), chain rule on f = (x + y)·z and
# sigmoid neuron (∂z/∂w0 ≈ −0.20), with your functions. Then: backward through
# a deep stack multiplies by σ'(z) once per layer, and σ' is small.


# %%
def decks_examples() -> dict:
    p = np.array([0.0, 1.0, 0.0])  # against ŷ = [0.1, 0.5, 0.4], then [0.228, 0.619, 0.153]
    first, workshop = cross_entropy(p, [0.1, 0.5, 0.4]), cross_entropy(p, [0.228, 0.619, 0.153])
    w, xs = np.array([2.0, -3.0, -3.0]), np.array([-1.0, -2.0, 1.0])  # z = σ(w·x), x2 = 1
    dz_dw0 = float(sigmoid_prime(w @ xs)) * xs[0]
    x, y, z = -2.0, 5.0, -4.0  # f = q·z with q = x + y: df/dx = df/dy = z, df/dz = q
    chain = {"f": (x + y) * z, "df/dx": z, "df/dy": z, "df/dz": x + y}
    print(f"cross-entropy: {first:.3f} (first deck: 0.693), {workshop:.3f} (workshop deck: 0.479)")
    print(f"chain rule: {chain} (slide: -4, -4 and 3); sigmoid neuron: dz/dw0 = {dz_dw0:.4f}")
    return {"cross_entropy": [first, workshop], "chain_rule": chain, "dz_dw0": dz_dw0}


def gradient_norms_through_depth(activation: str, depth: int = 12, width: int = 64, seed: int = 0):
    """Norm of the gradient reaching each layer when a unit gradient leaves the top."""
    f, df = ACTIVATIONS[validate.one_of(activation, "activation", ACTIVATIONS)]
    depth, width = validate.count(depth, "depth"), validate.count(width, "width")
    rng = np.random.default_rng(seed)
    x, weights, pre = rng.normal(size=(32, width)), [], []
    scale = np.sqrt(2 / width) if activation == "relu" else np.sqrt(1 / width)
    for _ in range(depth):  # forward, keeping each layer's weights and pre-activation
        weights.append(rng.normal(0, scale, (width, width)))
        pre.append(x @ weights[-1])
        x = f(pre[-1])
    grad, norms = np.ones_like(x) / x.size, []
    for W, z in zip(reversed(weights), reversed(pre), strict=True):  # backward
        grad = grad * df(z)
        norms.append(float(np.linalg.norm(grad)))
        grad = grad @ W.T
    return norms[::-1]  # layer 1 first


# %% [markdown]
# ## Run the lesson, and look at it


# %%
@dataclass
class Config:
    epochs: int = 4000
    lr: float = 5.0
    seed: int = 1
    out_dir: str = "outputs/ex03_xor_network"


QUICK = {"epochs": 4000}


def main(config: Config | None = None) -> dict:
    """Train XOR by hand and with Keras; plot the activation zoo, the two lines, the losses."""
    config = config or Config()
    out = lesson.output_dir(config.out_dir)
    lesson.save_figure(plotting.activations(ACTIVATIONS), out, "activations")

    net = TwoLayerNet(2, 2, 1, seed=config.seed)
    model = build_xor_keras_model(2, config.lr)  # the same network, from the same start
    model.set_weights([net.W1, net.b1, net.W2, net.b2])
    history = net.train(XOR_X, XOR_Y, lr=config.lr, epochs=config.epochs)
    outputs = net.forward(XOR_X).ravel()
    print("XOR by hand:", np.round(outputs, 3).tolist(), "-> rounded", np.round(outputs).tolist())
    lines = [(net.W1[:, j], net.b1[j], f"hidden neuron {j + 1}") for j in range(net.W1.shape[1])]
    title = "XOR: two hidden lines and the output's regions"
    fig = plotting.decision_boundary(XOR_X, XOR_Y.ravel(), net.forward, lines, title=title)
    lesson.save_figure(fig, out, "xor_regions")
    fig = plotting.curves({"NumPy net": history}, ylabel="MSE", logy=True, title="XOR loss")
    lesson.save_figure(fig, out, "loss")
    depth_norms = {name: gradient_norms_through_depth(name) for name in ("sigmoid", "relu")}
    fig = plotting.curves(depth_norms, "layer (1: the input's)", "gradient norm", logy=True)
    lesson.save_figure(fig, out, "vanishing_gradients")

    lesson.full_batch_steps(model, XOR_X, XOR_Y, config.epochs)  # each step: the four rows
    keras_out = model.predict(XOR_X, verbose=0).ravel()
    gap = float(np.max(np.abs(model.get_weights()[0] - net.W1)))
    print(f"XOR in Keras: {np.round(keras_out, 3).tolist()} (weights off NumPy's by {gap:.1e})")
    ok = ["yes" if np.round(o).tolist() == [0, 1, 1, 0] else "NO" for o in (outputs, keras_out)]
    metrics = {"decks": decks_examples(), "keras_minus_numpy_weights": gap}
    metrics |= {"numpy_outputs": outputs.tolist(), "keras_outputs": keras_out.tolist()}
    metrics |= {f"{k}_grad_ratio_first_to_last": v[0] / v[-1] for k, v in depth_norms.items()}
    metrics["numpy_final_loss"] = history[-1]
    metrics["headline"] = f"XOR learned: NumPy {ok[0]}, Keras {ok[1]}; loss {history[-1]:.4f}"
    lesson.write_metrics(out, metrics)
    return metrics


# %% [markdown]
# ## Questions
# Try things with your functions, then fill in `answers()`.
#
# - **q1.** How many numbers does training adjust in the 2-2-1 network
#   (every weight and bias)? A number.
# - **q2.** What is the largest value σ'(x) takes? A number. So, going back
#   through one sigmoid layer, at most what fraction of the gradient survives
#   the σ' factor?
# - **q3.** `train_xor()` learns XOR from seed 1. Of the ten seeds 0, 1, ...,
#   9 (hidden=2 and the other defaults), how many learn it (rounded outputs
#   0, 1, 1, 0)? A number.
# - **q4.** The output sigmoid says ŷ = σ(z) = 0.01 for an example whose y is
#   1. How many times larger is ∂L/∂z with L the binary cross-entropy than
#   with L = (ŷ − y)²? A number (a finite difference in z will do).
#
# To think about (no check): what happened to the seeds of q3 that failed,
# and what do 3 or 4 hidden units change? What does q4 say about training a
# sigmoid output with the squared error when it starts confidently wrong?


# %%
def answers() -> dict:
    """Your answers to the questions above, keyed "q1" to "q4"."""
    # TODO: a number for each question.
    # BEGIN SOLUTION
    # q1: W1 (2×2) + b1 (2) + W2 (2×1) + b2 (1) = 9, what model.count_params() says.
    # q2: σ'(x) = σ(1 − σ) is largest where σ = 1/2, at x = 0: 1/4. Each sigmoid layer keeps
    #     at most a quarter of the gradient (times its weights): after 10 layers 1e-6 of it,
    #     the vanishing gradients of the figure.
    # q3: 9. Seed 9 stalls with the loss at 1/8: (0, 0) and (0, 1) are right, (1, 0) and
    #     (1, 1) both get 0.5, a local minimum that 10 times more epochs do not leave. With 3
    #     or 4 hidden units all ten learn it: more units, more ways down.
    # q4: with the squared error ∂L/∂z = 2(ŷ − y)·σ'(z) = 2·(−0.99)·0.01·0.99; with the
    #     cross-entropy the σ' cancels and ∂L/∂z = ŷ − y = −0.99: 1 / (2·0.0099) ≈ 50.5
    #     times larger. A confidently wrong sigmoid learns ~50 times slower with the squared
    #     error: the reason classifiers use cross-entropy.
    return {"q1": 9, "q2": 0.25, "q3": 9, "q4": 50.5}
    # END SOLUTION


if __name__ == "__main__":
    lesson.run(main, Config, QUICK, __doc__)
