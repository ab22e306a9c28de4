# %% [markdown]
# # ex03 · Two layers of sigmoids learn XOR: backpropagation by hand
# A single neuron draws one line and cannot separate XOR (ex01). Two hidden
# neurons draw two lines, and the output neuron combines them. Here you write
# the activations, the losses, the forward pass and backpropagation in NumPy,
# then let Keras do the same in a few lines.
#
# **Your job:** fill in every `TODO`, then run `workshop check 3`.

# %%
"""ex03 · Two layers of sigmoids learn XOR: backpropagation by hand."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workshop import lesson, plotting
from workshop.repro import check_seed

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_Y = np.array([[0], [1], [1], [0]], dtype=float)
EPS = 1e-12  # keeps log() away from 0


# %% [markdown]
# ## The activation zoo (each with its derivative right next to it)


# %%
def sigmoid(x):
    """1 / (1 + e^-x), without overflow for large |x|."""
    x = np.asarray(x, dtype=float)
    # TODO: 1 / (1 + exp(-x)). For very negative x, exp(-x) overflows: use
    # exp(x) / (1 + exp(x)) there (np.where), or clip x to [-500, 500].
    raise NotImplementedError("TODO: sigmoid()")


def sigmoid_prime(x):
    """σ'(x) = σ(x)·(1 − σ(x))."""
    # TODO: use sigmoid(x).
    raise NotImplementedError("TODO: sigmoid_prime()")


def tanh(x):
    """Hyperbolic tangent."""
    # TODO: np.tanh.
    raise NotImplementedError("TODO: tanh()")


def tanh_prime(x):
    """1 − tanh²(x)."""
    # TODO: 1 - tanh(x) ** 2.
    raise NotImplementedError("TODO: tanh_prime()")


def relu(x):
    """max(0, x)."""
    # TODO: np.maximum.
    raise NotImplementedError("TODO: relu()")


def relu_prime(x):
    """1 where x > 0, else 0 (0 at x = 0, as Keras does)."""
    # TODO: a float array of 1s and 0s.
    raise NotImplementedError("TODO: relu_prime()")


def leaky_relu(x, alpha=0.01):
    """x where x > 0, else alpha·x."""
    # TODO: np.where(x > 0, x, alpha * x).
    raise NotImplementedError("TODO: leaky_relu()")


def leaky_relu_prime(x, alpha=0.01):
    """1 where x > 0, else alpha."""
    # TODO: np.where(x > 0, 1.0, alpha).
    raise NotImplementedError("TODO: leaky_relu_prime()")


def elu(x, alpha=1.0):
    """x where x > 0, else alpha·(e^x − 1)."""
    # TODO: use np.expm1 for e^x − 1 (accurate near 0); avoid overflow for large x.
    raise NotImplementedError("TODO: elu()")


def elu_prime(x, alpha=1.0):
    """1 where x > 0, else alpha·e^x."""
    # TODO: np.where again; np.exp(np.minimum(x, 0)) cannot overflow.
    raise NotImplementedError("TODO: elu_prime()")


def softplus(x):
    """ln(1 + e^x), without overflow for large x."""
    # TODO: np.logaddexp(0, x) computes ln(e^0 + e^x) stably.
    raise NotImplementedError("TODO: softplus()")


def softplus_prime(x):
    """The derivative of softplus is the sigmoid."""
    # TODO: one call.
    raise NotImplementedError("TODO: softplus_prime()")


ACTIVATIONS = {
    "sigmoid": (sigmoid, sigmoid_prime),
    "tanh": (tanh, tanh_prime),
    "relu": (relu, relu_prime),
    "leaky_relu": (leaky_relu, leaky_relu_prime),
    "elu": (elu, elu_prime),
    "softplus": (softplus, softplus_prime),
}


def softmax(z):
    """e^z / Σ e^z along the last axis; stable for large z (e.g. 1000)."""
    z = np.asarray(z, dtype=float)
    if z.size == 0:
        raise ValueError("softmax needs at least one value, got an empty array")
    # TODO: subtract the maximum along the last axis (keepdims=True) before
    # exponentiating: the result is the same and exp can no longer overflow.
    raise NotImplementedError("TODO: softmax()")


# %% [markdown]
# ## Losses


# %%
def _same_shape(a, b, names):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.size == 0:
        raise ValueError(
            f"{names[0]} and {names[1]} must be non-empty with the same shape, got {a.shape} and {b.shape}"
        )
    return a, b


def mse(y, y_hat) -> float:
    """Mean of the squared errors over every element."""
    y, y_hat = _same_shape(y, y_hat, ("y", "y_hat"))
    # TODO: np.mean of the squared differences.
    raise NotImplementedError("TODO: mse()")


def cross_entropy(p, q) -> float:
    """−Σ p·ln q over the last axis (p wanted, q predicted), averaged over examples.

    q is clipped to [1e-12, 1] so a predicted 0 gives a large number, not inf.
    """
    p, q = _same_shape(p, q, ("p", "q"))
    # TODO: clip q, then -sum(p * log(q)) along the last axis, then the mean
    # over the remaining axes (a single distribution gives its sum).
    raise NotImplementedError("TODO: cross_entropy()")


def binary_cross_entropy(y, p) -> float:
    """−mean(y·ln p + (1 − y)·ln(1 − p)), with p clipped away from 0 and 1."""
    y, p = _same_shape(y, p, ("y", "p"))
    # TODO: clip p to [1e-12, 1 - 1e-12] first.
    raise NotImplementedError("TODO: binary_cross_entropy()")


# %% [markdown]
# ## The network: forward and backward, side by side
# h = σ(X·W1 + b1), ŷ = σ(h·W2 + b2), loss = mean((ŷ − y)²).
# Backward is the chain rule, read from the loss back to each parameter.


# %%
class TwoLayerNet:
    """A 2-layer sigmoid network in NumPy: n_in -> n_hidden -> n_out."""

    def __init__(self, n_in: int, n_hidden: int, n_out: int, seed: int = 0):
        for name, n in (("n_in", n_in), ("n_hidden", n_hidden), ("n_out", n_out)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"{name} must be a positive integer, got {n!r}")
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
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.W1.shape[0] or len(X) == 0:
            raise ValueError(f"X must have shape (n, {self.W1.shape[0]}), got {X.shape}")
        if y is None:
            return X
        y = np.asarray(y, dtype=float).reshape(len(X), -1)
        if y.shape[1] != self.W2.shape[1]:
            raise ValueError(f"y must have {self.W2.shape[1]} column(s), got shape {y.shape}")
        return X, y

    def forward(self, X):
        """The outputs ŷ for every row of X (n, n_out)."""
        X = self._check(X)
        # TODO: h = sigmoid(X @ W1 + b1), then return sigmoid(h @ W2 + b2).
        raise NotImplementedError("TODO: forward()")

    def loss(self, X, y) -> float:
        X, y = self._check(X, y)
        return mse(y, self.forward(X))

    def backward(self, X, y) -> dict[str, np.ndarray]:
        """Gradients of loss(X, y) for every weight and bias: {"W1", "b1", "W2", "b2"}."""
        X, y = self._check(X, y)
        # TODO: forward again keeping z1, h, z2, y_hat; then, from the loss back:
        #   dL/dy_hat = 2 (y_hat − y) / y.size         (mean over every element)
        #   dz2 = dL/dy_hat · σ'(z2);  dW2 = hᵀ·dz2;  db2 = Σ_rows dz2
        #   dh  = dz2·W2ᵀ;  dz1 = dh · σ'(z1);  dW1 = Xᵀ·dz1;  db1 = Σ_rows dz1
        # Return a dict with the four gradients, each shaped like its parameter.
        raise NotImplementedError("TODO: backward()")

    def train(self, X, y, lr: float = 1.0, epochs: int = 1000) -> list[float]:
        """Full-batch gradient descent; return the loss after each epoch."""
        X, y = self._check(X, y)
        if not np.isfinite(lr) or lr <= 0:
            raise ValueError(f"lr must be a positive number, got {lr!r}")
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
            raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
        # TODO: each epoch, get the gradients from backward, subtract lr × each
        # from its parameter (in place: self.W1 -= ...), and record self.loss(X, y).
        raise NotImplementedError("TODO: train()")


def train_xor(hidden: int = 2, lr: float = 5.0, epochs: int = 4000, seed: int = 1) -> TwoLayerNet:
    """A TwoLayerNet trained on XOR; with the defaults its rounded outputs are 0, 1, 1, 0."""
    # TODO: build TwoLayerNet(2, hidden, 1, seed), train it on XOR_X, XOR_Y
    # with lr and epochs, and return it.
    raise NotImplementedError("TODO: train_xor()")


# %% [markdown]
# ## Keras: the same network


# %%
def build_xor_keras_model(hidden: int = 4, learning_rate: float = 0.1):
    """keras.Model: 2 inputs -> Dense(hidden, sigmoid) -> Dense(1, sigmoid); Adam, binary cross-entropy."""
    # TODO: import keras; keras.Sequential with keras.Input(shape=(2,)),
    # Dense(hidden, activation="sigmoid") and Dense(1, activation="sigmoid");
    # compile with keras.optimizers.Adam(learning_rate=learning_rate),
    # loss="binary_crossentropy", metrics=["accuracy"].
    raise NotImplementedError("TODO: build_xor_keras_model()")


# %% [markdown]
# ## Vanishing gradients: sigmoid vs ReLU through a deep stack


# %%
def gradient_norms_through_depth(activation: str, depth: int = 12, width: int = 64, seed: int = 0):
    """Norm of the gradient reaching each layer when a unit gradient leaves the top."""
    f, df = ACTIVATIONS[activation]
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(32, width))
    weights, pre = [], []
    scale = np.sqrt(2 / width) if activation == "relu" else np.sqrt(1 / width)
    for _ in range(depth):
        W = rng.normal(0, scale, (width, width))
        z = x @ W
        weights.append(W)
        pre.append(z)
        x = f(z)
    grad = np.ones_like(x) / x.size
    norms = []
    for W, z in zip(reversed(weights), reversed(pre), strict=True):
        grad = grad * df(z)
        norms.append(float(np.linalg.norm(grad)))
        grad = grad @ W.T
    return norms[::-1]  # layer 1 first


# %% [markdown]
# ## Run the lesson


# %%
@dataclass
class Config:
    epochs: int = 4000
    lr: float = 5.0
    seed: int = 1
    keras_steps: int = 2000
    out_dir: str = "outputs/ex03_xor_network"


QUICK = {"keras_steps": 1000}


def main(config: Config | None = None) -> dict:
    """Train XOR by hand and with Keras; plot the activation zoo, the two lines, the losses."""
    config = config or Config()
    out = lesson.output_dir(config.out_dir)
    lesson.save_figure(plotting.activations(ACTIVATIONS), out, "activations")

    # The chain rule on one sigmoid neuron: y = σ(w·x + b), L = (y − t)².
    w, b, x, t = 0.5, -0.2, 1.5, 1.0
    z = w * x + b
    dL_dw = 2 * (sigmoid(z) - t) * sigmoid_prime(z) * x
    print(
        f"one neuron: z = {z:.2f}, y = {float(sigmoid(z)):.4f}, dL/dw = 2(y − t)·σ'(z)·x = {float(dL_dw):.4f}"
    )

    net = TwoLayerNet(2, 2, 1, seed=config.seed)
    history = net.train(XOR_X, XOR_Y, lr=config.lr, epochs=config.epochs)
    outputs = net.forward(XOR_X).ravel()
    print(
        "XOR by hand:",
        " ".join(f"{o:.3f}" for o in outputs),
        "-> rounded",
        np.round(outputs).astype(int).tolist(),
    )
    lines = [(net.W1[:, j], net.b1[j], f"hidden neuron {j + 1}") for j in range(net.W1.shape[1])]
    lesson.save_figure(
        plotting.decision_boundary(
            XOR_X,
            XOR_Y.ravel(),
            predict=net.forward,
            lines=lines,
            title="XOR: two hidden lines and the output's regions",
        ),
        out,
        "xor_regions",
    )
    lesson.save_figure(
        plotting.curves(
            {"NumPy net": history}, ylabel="MSE", logy=True, title="XOR loss per epoch"
        ),
        out,
        "loss",
    )

    depth_norms = {name: gradient_norms_through_depth(name) for name in ("sigmoid", "relu")}
    fig = plotting.curves(
        depth_norms,
        xlabel="layer (1 = nearest the input)",
        ylabel="gradient norm",
        logy=True,
        title="vanishing gradients: sigmoid vs ReLU",
    )
    lesson.save_figure(fig, out, "vanishing_gradients")

    import keras

    keras.utils.set_random_seed(config.seed)
    model = build_xor_keras_model()
    repeats = max(config.keras_steps // 1, 1)
    model.fit(
        np.tile(XOR_X, (repeats, 1)),
        np.tile(XOR_Y, (repeats, 1)),
        batch_size=4,
        epochs=1,
        verbose=0,
        callbacks=lesson.tensorboard(out, histograms=True),
    )
    keras_out = model.predict(XOR_X, verbose=0).ravel()
    print("XOR in Keras:", " ".join(f"{o:.3f}" for o in keras_out))
    ok = np.array_equal(np.round(outputs), XOR_Y.ravel())
    keras_ok = np.array_equal(np.round(keras_out), XOR_Y.ravel())
    metrics = {
        "numpy_outputs": outputs.tolist(),
        "numpy_final_loss": history[-1],
        "keras_outputs": keras_out.tolist(),
        "sigmoid_grad_ratio_first_to_last": depth_norms["sigmoid"][0] / depth_norms["sigmoid"][-1],
        "relu_grad_ratio_first_to_last": depth_norms["relu"][0] / depth_norms["relu"][-1],
        "headline": f"XOR learned: NumPy {'yes' if ok else 'NO'}, Keras {'yes' if keras_ok else 'NO'}; loss {history[-1]:.4f}",
    }
    lesson.write_metrics(out, metrics)
    return metrics


if __name__ == "__main__":
    lesson.run(main, Config, QUICK, __doc__)
