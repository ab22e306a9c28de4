# %% [markdown]
# # ex03 · Two layers of sigmoids learn XOR: backpropagation by hand
# A single neuron draws one line and cannot separate XOR (ex01). Two hidden
# neurons draw two lines, and the output neuron combines them. Here you write
# the activations, the losses, the forward pass and backpropagation in NumPy,
# then let Keras do the same in a few lines.
#
# **Your job:** fill in the six `TODO`s, then run `workshop check 3`.
#
# Replaces the workshop deck's `2-Layer_Sigmoid_XOR.ipynb`; the activation
# table is the activation deck's, the cross-entropy and chain-rule examples
# are the first deck's and the workshop deck's. Changes from the course, and
# why:
# - the Keras network here is the same network as the NumPy one (2-2-1
#   sigmoids, mean squared error, plain gradient descent with the same
#   learning rate, started from the same weights): it ends with the same
#   weights, which shows what `fit` does. (An earlier version used 4 hidden
#   units, Adam and binary cross-entropy: quicker, but a different network.)
# - the activation deck's cross-entropy feeds softmax outputs into the binary
#   formula; here `cross_entropy` is −Σ p·ln q and `binary_cross_entropy` is
#   the two-class case of it (see docs/instructor-notes.md).

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
# ## The activation zoo (each with its derivative right next to it)


# %%
def _values(x) -> np.ndarray:
    return validate.array(x, "x", allow_empty=True)  # numbers only: no NaN, no text


def sigmoid(x):
    """1 / (1 + e^-x), without overflow for large |x|."""
    x = _values(x)
    # TODO: the logistic function, numerically safe. For x = -1000, e^-x
    # overflows: rewrite the formula for negative x so that only e^(negative)
    # is ever computed (or clip x to [-500, 500] first, where the result is
    # already 0 or 1 to double precision).
    # BEGIN SOLUTION
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    # END SOLUTION


def sigmoid_prime(x):
    """σ'(x) = σ(x)·(1 − σ(x))."""
    s = sigmoid(x)
    return s * (1 - s)


def identity(x):
    return _values(x)


def identity_prime(x):
    return np.ones_like(_values(x))


def tanh(x):
    """Hyperbolic tangent."""
    return np.tanh(_values(x))


def tanh_prime(x):
    """1 − tanh²(x)."""
    return 1 - np.tanh(_values(x)) ** 2


def arctan(x):
    return np.arctan(_values(x))


def arctan_prime(x):
    """1 / (x² + 1)."""
    return 1 / (_values(x) ** 2 + 1)


def relu(x):
    """max(0, x)."""
    return np.maximum(0.0, _values(x))


def relu_prime(x):
    """1 where x > 0, else 0 (0 at x = 0, as Keras does)."""
    return (_values(x) > 0).astype(float)


def leaky_relu(x, alpha=0.01):
    """x where x > 0, else alpha·x."""
    x = _values(x)
    return np.where(x > 0, x, validate.number(alpha, "alpha") * x)


def leaky_relu_prime(x, alpha=0.01):
    """1 where x > 0, else alpha."""
    return np.where(_values(x) > 0, 1.0, validate.number(alpha, "alpha"))


def prelu(x, alpha=0.25):
    """Parametric ReLU: leaky ReLU whose slope alpha is learned (here: given)."""
    return leaky_relu(x, alpha)


def prelu_prime(x, alpha=0.25):
    return leaky_relu_prime(x, alpha)


def elu(x, alpha=1.0):
    """x where x > 0, else alpha·(e^x − 1) (np.expm1: accurate near 0, no overflow)."""
    x = _values(x)
    return np.where(x > 0, x, validate.number(alpha, "alpha") * np.expm1(np.minimum(x, 0)))


def elu_prime(x, alpha=1.0):
    """1 where x > 0, else alpha·e^x."""
    x = _values(x)
    return np.where(x > 0, 1.0, validate.number(alpha, "alpha") * np.exp(np.minimum(x, 0)))


def softplus(x):
    """ln(1 + e^x), without overflow (np.logaddexp(0, x) = ln(e^0 + e^x))."""
    return np.logaddexp(0.0, _values(x))


def softplus_prime(x):
    """The derivative of softplus is the sigmoid."""
    return sigmoid(x)


def _pieces(w, b):
    w, b = validate.array(w, "w", ndim=1), validate.array(b, "b", ndim=1)
    validate.same_length(w, b, "w and b")
    return w, b


def maxout(x, w=(1.0, -0.5), b=(0.0, 0.0)):
    """max over k of (w_k·x + b_k): a unit that learns its own piecewise-linear activation."""
    w, b = _pieces(w, b)
    return np.max(_values(x)[..., None] * w + b, axis=-1)


def maxout_prime(x, w=(1.0, -0.5), b=(0.0, 0.0)):
    """The slope of the piece that wins."""
    w, b = _pieces(w, b)
    return w[np.argmax(_values(x)[..., None] * w + b, axis=-1)]


#: The activation deck's table (the binary step is ex01's hardlim), each with
#: its derivative.
ACTIVATIONS = {
    "identity": (identity, identity_prime),
    "sigmoid": (sigmoid, sigmoid_prime),
    "tanh": (tanh, tanh_prime),
    "arctan": (arctan, arctan_prime),
    "relu": (relu, relu_prime),
    "leaky_relu": (leaky_relu, leaky_relu_prime),
    "prelu": (prelu, prelu_prime),
    "elu": (elu, elu_prime),
    "softplus": (softplus, softplus_prime),
    "maxout": (maxout, maxout_prime),
}


def softmax(z):
    """e^z / Σ e^z along the last axis; stable for large z (e.g. 1000)."""
    z = validate.array(z, "z")  # not empty, no NaN, no infinity
    # TODO: turn each row of scores into probabilities that sum to 1. e^1000
    # overflows, yet softmax(z) = softmax(z − c) for any c: which c keeps every
    # exponent at or below 0?
    # BEGIN SOLUTION
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
    # END SOLUTION


# %% [markdown]
# ## Losses


# %%
def _same_shape(a, b, names):
    a, b = validate.array(a, names[0]), validate.array(b, names[1])
    if a.shape != b.shape:
        raise ValueError(
            f"{names[0]} and {names[1]} must be non-empty with the same shape, got {a.shape} and {b.shape}"
        )
    return a, b


def mse(y, y_hat) -> float:
    """Mean of the squared errors over every element."""
    y, y_hat = _same_shape(y, y_hat, ("y", "y_hat"))
    return float(np.mean((y - y_hat) ** 2))


def cross_entropy(p, q) -> float:
    """−Σ p·ln q over the last axis (p wanted, q predicted), averaged over examples.

    q is clipped to [1e-12, 1] so a predicted 0 gives a large number, not inf.
    """
    p, q = _same_shape(p, q, ("p", "q"))
    # TODO: how surprised is the prediction q by the truth p? −Σ p·ln q for
    # each distribution (the last axis), then the mean over the examples. A
    # predicted 0 must give a large number, not infinity: keep q away from 0.
    # BEGIN SOLUTION
    q = np.clip(q, EPS, 1.0)
    return float(np.mean(-np.sum(p * np.log(q), axis=-1)))
    # END SOLUTION


def binary_cross_entropy(y, p) -> float:
    """−mean(y·ln p + (1 − y)·ln(1 − p)), with p clipped away from 0 and 1."""
    y, p = _same_shape(y, p, ("y", "p"))
    # Two classes: the wanted distribution is (y, 1 − y), the predicted one (p, 1 − p).
    p = np.clip(p, EPS, 1 - EPS)
    return cross_entropy(np.stack([y, 1 - y], axis=-1), np.stack([p, 1 - p], axis=-1))


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
        X = validate.array(X, "X", ndim=2)
        if X.shape[1] != self.W1.shape[0]:
            raise ValueError(f"X must have shape (n, {self.W1.shape[0]}), got {X.shape}")
        if y is None:
            return X
        y = validate.array(y, "y").reshape(len(X), -1)
        if y.shape[1] != self.W2.shape[1]:
            raise ValueError(f"y must have {self.W2.shape[1]} column(s), got shape {y.shape}")
        return X, y

    def forward(self, X):
        """The outputs ŷ for every row of X (n, n_out)."""
        X = self._check(X)
        # TODO: the forward pass: the hidden layer's activations h from X, then
        # the output ŷ from h (each layer: weights, bias, sigmoid). One row per example.
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
        # TODO: backpropagation. Run forward again keeping what each layer
        # computed (before and after its sigmoid), then walk the chain rule from
        # the loss back to each parameter: how the loss changes with ŷ, then with
        # the output layer's pre-activation, its weights and bias, then through
        # W2 back to the hidden layer. Return {"W1", "b1", "W2", "b2"}, each
        # shaped like its parameter.
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
        lr = validate.positive(lr, "lr")
        epochs = validate.count(epochs, "epochs")
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
# 2 inputs → 2 sigmoids → 1 sigmoid, mean squared error, plain gradient descent
# with the NumPy net's learning rate. Started from the NumPy net's weights and
# fed the four rows as one batch per step, it takes the very same steps.


# %%
def build_xor_keras_model(hidden: int = 2, learning_rate: float = 5.0):
    """keras.Model: 2 -> Dense(hidden, sigmoid) -> Dense(1, sigmoid); SGD, mean squared error."""
    hidden = validate.count(hidden, "hidden")
    learning_rate = validate.positive(learning_rate, "learning_rate")
    import keras

    # TODO: the TwoLayerNet above, in Keras: two inputs, a sigmoid hidden layer
    # of `hidden` units, one sigmoid output; trained as the NumPy net is (plain
    # gradient descent at `learning_rate`, the mean squared error).
    # BEGIN SOLUTION
    model = keras.Sequential(
        [
            keras.Input(shape=(2,)),
            keras.layers.Dense(hidden, activation="sigmoid", name="hidden"),
            keras.layers.Dense(1, activation="sigmoid", name="output"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=learning_rate),
        loss="mean_squared_error",
        metrics=["accuracy"],
    )
    return model
    # END SOLUTION


def keras_like_numpy(net: TwoLayerNet, epochs: int, lr: float):
    """The Keras model from the NumPy net's starting weights, trained the same way."""
    model = build_xor_keras_model(net.W1.shape[1], lr)
    model.set_weights([net.W1, net.b1, net.W2, net.b2])
    model.compile(  # the same settings, run 200 steps per call: much faster on a CPU
        optimizer=type(model.optimizer)(learning_rate=lr),
        loss=model.loss,
        steps_per_execution=200,
    )
    model.fit(  # one step = the four rows, in order: full-batch gradient descent
        np.tile(XOR_X, (epochs, 1)),
        np.tile(XOR_Y, (epochs, 1)),
        batch_size=4,
        epochs=1,
        shuffle=False,
        verbose=0,
    )
    return model


# %% [markdown]
# ## The decks' examples, computed by your functions
# - cross-entropy, first deck: ŷ = [0.1, 0.5, 0.4] against y = [0, 1, 0]
#   gives −ln 0.5 = 0.693; workshop deck: q = [0.228, 0.619, 0.153] against
#   p = [0, 1, 0] gives 0.479;
# - the chain rule, workshop deck: f = (x + y)·z at x = −2, y = 5, z = −4:
#   ∂f/∂x = z = −4, ∂f/∂y = −4, ∂f/∂z = x + y = 3;
# - a sigmoid neuron as a circuit: z = σ(w0·x0 + w1·x1 + w2) with
#   w = [2, −3, −3], x = [−1, −2]: ∂z/∂w0 = σ'(1)·x0 = −0.1966 (≈ −0.20).


# %%
def decks_examples() -> dict:
    first = cross_entropy(np.array([0.0, 1.0, 0.0]), np.array([0.1, 0.5, 0.4]))
    workshop = cross_entropy(np.array([0.0, 1.0, 0.0]), np.array([0.228, 0.619, 0.153]))
    x, y, z = -2.0, 5.0, -4.0
    q = x + y  # forward: q = x + y, f = q·z
    chain = {"f": q * z, "df/dx": z * 1.0, "df/dy": z * 1.0, "df/dz": q}
    w, xs = np.array([2.0, -3.0, -3.0]), np.array([-1.0, -2.0, 1.0])  # x2 = 1 carries w2
    n = float(w @ xs)
    circuit = {"z": float(sigmoid(n)), "dz/dw0": float(sigmoid_prime(n)) * xs[0]}
    print(
        f"cross-entropy, first deck: {first:.3f} (slide: 0.693); workshop deck: "
        f"{workshop:.3f} (slide: 0.479)"
    )
    print(
        f"chain rule: f = {chain['f']:g}, df/dx = {chain['df/dx']:g}, df/dz = {chain['df/dz']:g} "
        "(slide: -4 and 3)"
    )
    print(
        f"sigmoid neuron: z = {circuit['z']:.3f}, dz/dw0 = {circuit['dz/dw0']:.4f} "
        "(slide: -0.1961, about -0.20)"
    )
    return {
        "cross_entropy_first_deck": first,
        "cross_entropy_workshop_deck": workshop,
        "chain_rule": chain,
        "sigmoid_neuron": circuit,
    }


# %% [markdown]
# ## Vanishing gradients: sigmoid vs ReLU through a deep stack


# %%
def gradient_norms_through_depth(activation: str, depth: int = 12, width: int = 64, seed: int = 0):
    """Norm of the gradient reaching each layer when a unit gradient leaves the top."""
    f, df = ACTIVATIONS[validate.one_of(activation, "activation", ACTIVATIONS)]
    depth, width = validate.count(depth, "depth"), validate.count(width, "width")
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
    out_dir: str = "outputs/ex03_xor_network"


QUICK = {"epochs": 4000}


def main(config: Config | None = None) -> dict:
    """Train XOR by hand and with Keras; plot the activation zoo, the two lines, the losses."""
    config = config or Config()
    out = lesson.output_dir(config.out_dir)
    lesson.save_figure(plotting.activations(ACTIVATIONS), out, "activations")
    decks = decks_examples()

    net = TwoLayerNet(2, 2, 1, seed=config.seed)
    start = TwoLayerNet(2, 2, 1, seed=config.seed)  # the same starting weights, for Keras
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

    model = keras_like_numpy(start, config.epochs, config.lr)
    keras_out = model.predict(XOR_X, verbose=0).ravel()
    gap = float(np.max(np.abs(model.get_weights()[0] - net.W1)))
    print(
        "XOR in Keras, the same network:",
        " ".join(f"{o:.3f}" for o in keras_out),
        f"(largest difference from the NumPy weights: {gap:.1e})",
    )
    ok = np.array_equal(np.round(outputs), XOR_Y.ravel())
    keras_ok = np.array_equal(np.round(keras_out), XOR_Y.ravel())
    metrics = {
        "decks": decks,
        "keras_minus_numpy_weights": gap,
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
