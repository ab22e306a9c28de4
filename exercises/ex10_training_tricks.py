# %% [markdown]
# # ex10 · Training tricks: how a network learns faster, or not at all
# Every Keras lesson so far said `optimizer="adam"` and let Keras draw the
# first weights. Here you write what those two words hide: one update step of
# SGD with momentum (and Nesterov's variant), RMSProp and Adam, in NumPy,
# each proved equal to `keras.optimizers` on the same gradients; their paths
# down one narrow valley; what a too-large learning rate does; and why the
# scale of the first weights decides whether gradients reach the first
# layers at all. Last, the deep-networks deck's design exercise: a small MLP
# for the three Iris species with one-hot targets, trained by each optimiser.
#
# **Your job:** fill in the five `TODO`s, then run `workshop check 10`.
#
# Where the deck is wrong or vague, and what this lesson says instead:
# - "α > 1: the training will be fast but it may miss the optimum": a
#   learning rate that is too large does not train fast, it diverges, and
#   "too large" depends on the loss surface, not on 1: plain gradient descent
#   on a bowl of curvature λ diverges when α > 2/λ (`learning_rate_sweep`);
# - "σ²(w) = 1/n_in", called Xavier initialisation: that is LeCun's rule.
#   Glorot and Bengio's (Xavier's) is σ² = 2/(n_in + n_out); He's, for ReLU,
#   is 2/n_in. Keras's Dense and Conv layers start from `glorot_uniform`
#   (uniform on ±√(6/(n_in + n_out)), the same variance as Glorot's normal).
# - the deck's momentum "jumps out of local minima"; what it does every step
#   is average the gradients' directions, which speeds up a long shallow
#   valley and damps the zig-zag across a steep one (the figure).

# %%
"""ex10 · Training tricks: optimisers, learning rates, initialisation, Iris."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from workshop import gpu, lesson, plotting, validate
from workshop.repro import seed_everything


def _arrays(**named) -> list[np.ndarray]:
    """The named arrays (lists welcome), checked for NaN and for having the first one's shape."""
    (first, a), *rest = ((n, validate.array(v, n, ndim=(0, 1, 2))) for n, v in named.items())
    arrays = [a]
    for name, b in rest:
        if b.shape != a.shape:
            raise ValueError(
                f"{first} and {name} must have the same shape, got {a.shape} and {b.shape}"
            )
        arrays.append(b)
    return arrays


# %% [markdown]
# ## Momentum, and Nesterov's look-ahead
# Plain SGD steps against the gradient: w ← w − α·g. Momentum keeps a
# velocity, a running sum of past steps that forgets a fraction (1 − μ) each
# time: v ← μ·v − α·g, then w ← w + v. Gradients that keep pointing the same
# way add up (faster along a valley floor); those that flip sign cancel
# (less zig-zag across it). Nesterov's variant steps as if it had already
# moved by the velocity: w ← w + μ·v − α·g (with the new v), which is how
# Keras writes it.


# %%
def momentum_step(w, velocity, grad, lr: float, momentum: float = 0.9, nesterov: bool = False):
    """One step of keras.optimizers.SGD(learning_rate=lr, momentum=momentum, nesterov=nesterov):
    returns (new w, new velocity); the arguments are left alone."""
    w, velocity, grad = _arrays(w=w, velocity=velocity, grad=grad)
    lr = validate.positive(lr, "lr")
    momentum = validate.number(momentum, "momentum", low=0.0, high=1.0)
    # TODO: the new velocity is momentum·velocity − lr·grad. Without Nesterov
    # the weights move by the new velocity; with Nesterov they move by
    # momentum·(new velocity) − lr·grad. Return (new w, new velocity) as new
    # arrays: never change w or velocity in place (no +=).
    raise NotImplementedError("TODO: momentum_step()")


# %% [markdown]
# ## RMSProp: a learning rate per weight
# The deck's answer to exploding gradients: keep a moving average of each
# weight's squared gradient, a ← ρ·a + (1 − ρ)·g², and divide the step by its
# root: w ← w − α·g / √(a + ε). A weight whose gradients are large takes
# smaller steps, one whose gradients are tiny takes larger ones. (Keras adds
# ε inside the root.)


# %%
def rmsprop_step(w, accum, grad, lr: float, rho: float = 0.9, epsilon: float = 1e-7):
    """One step of keras.optimizers.RMSprop(learning_rate=lr, rho=rho, epsilon=epsilon):
    returns (new w, new accum), accum being the moving average of grad²."""
    w, accum, grad = _arrays(w=w, accum=accum, grad=grad)
    lr = validate.positive(lr, "lr")
    rho = validate.number(rho, "rho", low=0.0, high=1.0)
    epsilon = validate.number(epsilon, "epsilon", low=0.0)
    # TODO: the new accum is rho·accum + (1 − rho)·grad²; the weights move by
    # −lr·grad / √(new accum + epsilon) (epsilon inside the root, as Keras
    # does). Return (new w, new accum), new arrays.
    raise NotImplementedError("TODO: rmsprop_step()")


# %% [markdown]
# ## Adam: momentum and RMSProp together
# m is momentum's average of the gradients, v RMSProp's average of their
# squares: m ← β₁·m + (1 − β₁)·g, v ← β₂·v + (1 − β₂)·g². Both start at 0, so
# the first averages are too small; Adam corrects by 1/(1 − βᵗ) (t counts
# the steps from 1). Keras folds the two corrections into the learning rate,
# α_t = α·√(1 − β₂ᵗ)/(1 − β₁ᵗ), and adds ε to √v, not to the corrected √v̂
# as the paper does: w ← w − α_t·m / (√v + ε). The two agree unless the
# gradients are tiny, where ε then weighs more.


# %%
def adam_step(
    w,
    m,
    v,
    grad,
    t: int,
    lr: float,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-7,
):
    """One step of keras.optimizers.Adam(learning_rate=lr, beta_1, beta_2, epsilon), the
    t-th (t = 1 for the first): returns (new w, new m, new v)."""
    w, m, v, grad = _arrays(w=w, m=m, v=v, grad=grad)
    t = validate.integer(t, "t (the step number, counting from 1)", low=1)
    lr = validate.positive(lr, "lr")
    beta_1 = validate.number(beta_1, "beta_1", low=0.0, high=1.0)
    beta_2 = validate.number(beta_2, "beta_2", low=0.0, high=1.0)
    epsilon = validate.number(epsilon, "epsilon", low=0.0)
    # TODO: m ← beta_1·m + (1 − beta_1)·grad and v ← beta_2·v + (1 − beta_2)·grad²;
    # the step's learning rate lr·√(1 − beta_2ᵗ)/(1 − beta_1ᵗ); the weights
    # move by −(that rate)·m/(√v + epsilon). Return (new w, new m, new v).
    raise NotImplementedError("TODO: adam_step()")


# %% [markdown]
# ## One narrow valley, five optimisers
# The loss f(x, y) = ½·(0.1·x² + 2·y²) is a valley 20 times steeper across
# (y) than along (x): the shape a badly scaled problem has. Every optimiser
# starts at the same point with the same learning rate.


# %%
VALLEY = np.array([0.1, 2.0])  # the curvature along x and across y
START = (-4.5, 1.0)


def valley(p) -> np.ndarray:
    """The loss at points p (..., 2)."""
    p = np.asarray(p, dtype=float)
    return 0.5 * np.sum(VALLEY * p**2, axis=-1)


def valley_gradient(p) -> np.ndarray:
    return VALLEY * np.asarray(p, dtype=float)


OPTIMIZERS = ("SGD", "momentum", "Nesterov", "RMSProp", "Adam")


def optimizer_paths(start=START, steps: int = 80, lr: float = 0.1) -> dict:
    """{optimiser: array (steps + 1, 2)}: the points each visits on the valley, start first,
    using your step functions (SGD is momentum_step with momentum 0)."""
    start = validate.array(start, "start", ndim=1)
    if start.shape != (2,):
        raise ValueError(f"start must be a point (x, y), got shape {start.shape}")
    steps = validate.count(steps, "steps")
    lr = validate.positive(lr, "lr")
    paths = {}
    for name in OPTIMIZERS:
        w, a, b = start.copy(), np.zeros(2), np.zeros(2)
        points = [w]
        for t in range(1, steps + 1):
            g = valley_gradient(w)
            if name == "SGD":
                w, a = momentum_step(w, a, g, lr, momentum=0.0)
            elif name in ("momentum", "Nesterov"):
                w, a = momentum_step(w, a, g, lr, momentum=0.9, nesterov=name == "Nesterov")
            elif name == "RMSProp":
                w, a = rmsprop_step(w, a, g, lr)
            else:
                w, a, b = adam_step(w, a, b, g, t, lr)
            points.append(np.asarray(w, dtype=float))
        paths[name] = np.array(points)
    return paths


def learning_rate_sweep(lrs=(0.01, 0.1, 0.5, 0.95, 1.05), steps: int = 40, start=START) -> dict:
    """{lr: losses per step} for plain gradient descent on the valley: too small crawls,
    too large (above 2 / the steepest curvature, here 2/2 = 1) diverges."""
    steps = validate.count(steps, "steps")
    start = validate.array(start, "start", ndim=1)
    out = {}
    for lr in lrs:
        lr = validate.positive(lr, "each learning rate")
        w = start.copy()
        losses = [float(valley(w))]
        for _ in range(steps):
            w = w - lr * valley_gradient(w)
            losses.append(float(valley(w)))
        out[lr] = losses
    return out


# %% [markdown]
# ## Initialisation: does the gradient reach the first layer?
# A deep stack of tanh layers, each n → n. If the first weights are too
# small, the signal shrinks by σ·√n at every layer going forward, and the
# error by as much going back: every layer's gradient is tiny (σ = 0.01,
# n = 100: about 10⁻¹⁸ after 10 layers) and nothing learns. Too large, and
# the tanh units saturate at ±1 while the gradient grows on its way back
# to the first layers (exploding). The right scale keeps the variance of
# the signal the same from layer to layer:
# - LeCun: σ² = 1/n_in (what the deck writes, and calls Xavier);
# - Glorot/Xavier: σ² = 2/(n_in + n_out), the mean of the forward and the
#   backward rule; Keras's default (`glorot_uniform`);
# - He: σ² = 2/n_in, for ReLU, which zeroes half its inputs.


# %%
SCHEMES = ("lecun", "glorot", "he")


def init_std(scheme, n_in: int, n_out: int) -> float:
    """The standard deviation of the first weights of an n_in → n_out layer: a number is
    used as it is; 'lecun', 'glorot' or 'he' follow those rules."""
    n_in = validate.count(n_in, "n_in")
    n_out = validate.count(n_out, "n_out")
    if isinstance(scheme, str):
        validate.one_of(scheme, "scheme", SCHEMES)
    else:
        return validate.positive(scheme, "scheme (a standard deviation)")
    # TODO: the standard deviation (not the variance) for each scheme:
    # 'lecun' σ² = 1/n_in, 'glorot' σ² = 2/(n_in + n_out), 'he' σ² = 2/n_in.
    raise NotImplementedError("TODO: init_std()")


def forward_backward(weights, x):
    """A tanh network's pass: (std of each layer's output, ‖∂L/∂W‖ of each layer), first layer
    first, with L = ½·mean over the batch of ‖output‖²."""
    activations = [np.asarray(x, dtype=float)]
    for W in weights:
        activations.append(np.tanh(activations[-1] @ W))
    out = activations[-1]
    delta = out / len(out)  # dL/d(output)
    norms = []
    for W, a_in, a_out in zip(weights[::-1], activations[-2::-1], activations[:0:-1], strict=True):
        delta = delta * (1 - a_out**2)  # through tanh
        norms.append(float(np.linalg.norm(a_in.T @ delta)))
        delta = delta @ W.T
    return [float(a.std()) for a in activations[1:]], norms[::-1]


DEFAULT_SCALES = {
    "too small (σ = 0.01)": 0.01,
    "LeCun (the deck's 1/n_in)": "lecun",
    "Glorot (Keras's default)": "glorot",
    "too large (σ = 1)": 1.0,
}


def init_study(
    scales=None, depth: int = 10, width: int = 100, batch: int = 256, seed: int = 0
) -> dict:
    """{name: (std of each layer's output, ‖∂L/∂W‖ of each layer)} for a depth-layer tanh
    network started with each scale of `scales` ({name: σ or scheme}); the same inputs for all."""
    scales = DEFAULT_SCALES if scales is None else scales
    if not isinstance(scales, dict) or not scales:
        raise ValueError(f"scales must be a dict of name -> σ or scheme, got {scales!r}")
    depth = validate.count(depth, "depth")
    width = validate.count(width, "width")
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(validate.count(batch, "batch"), width))
    study = {}
    for name, scale in scales.items():
        std = init_std(scale, width, width)
        weights = [rng.normal(0.0, std, (width, width)) for _ in range(depth)]
        study[name] = forward_backward(weights, x)
    return study


def gradient_norms_by_init(scales=None, depth: int = 10, **kw) -> dict:
    """{name: [‖∂L/∂W‖ of layer 1, …, layer depth]}: init_study's gradients."""
    return {name: norms for name, (_, norms) in init_study(scales, depth, **kw).items()}


# %% [markdown]
# ## The deck's design exercise: Iris
# 150 flowers, 4 measurements each, 3 species. The deck's answer: as many
# outputs as classes, targets one-hot ((1,0,0), (0,1,0), (0,0,1)), softmax
# and categorical cross-entropy. (With integer labels you would use
# `sparse_categorical_crossentropy`, as ex04 does: the same loss.) The data
# ships with scikit-learn: no download.


# %%
def load_iris_onehot(test_fraction: float = 0.3, seed: int = 0):
    """((x_train, y_train), (x_test, y_test), species): measurements standardised with the
    training split's mean and std, targets one-hot (N, 3); the split keeps the classes' shares."""
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split

    test_fraction = validate.number(test_fraction, "test_fraction", low=0.05, high=0.95)
    iris = load_iris()
    x_train, x_test, y_train, y_test = train_test_split(
        iris.data, iris.target, test_size=test_fraction, random_state=seed, stratify=iris.target
    )
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    onehot = np.eye(3, dtype="float32")
    return (
        (((x_train - mean) / std).astype("float32"), onehot[y_train]),
        (((x_test - mean) / std).astype("float32"), onehot[y_test]),
        tuple(str(n) for n in iris.target_names),
    )


def make_optimizer(name: str, learning_rate: float):
    """keras.optimizers for the names of OPTIMIZERS, with this learning rate."""
    import keras

    validate.one_of(name, "name", OPTIMIZERS)
    lr = validate.positive(learning_rate, "learning_rate")
    return {
        "SGD": lambda: keras.optimizers.SGD(learning_rate=lr),
        "momentum": lambda: keras.optimizers.SGD(learning_rate=lr, momentum=0.9),
        "Nesterov": lambda: keras.optimizers.SGD(learning_rate=lr, momentum=0.9, nesterov=True),
        "RMSProp": lambda: keras.optimizers.RMSprop(learning_rate=lr),
        "Adam": lambda: keras.optimizers.Adam(learning_rate=lr),
    }[name]()


def build_iris_mlp(hidden: int = 8, optimizer=None):
    """4 measurements → Dense(hidden, relu) → Dense(3, softmax), compiled with categorical
    cross-entropy (one-hot targets) and accuracy; `optimizer` default Adam(0.01)."""
    import keras

    hidden = validate.count(hidden, "hidden")
    optimizer = optimizer if optimizer is not None else keras.optimizers.Adam(learning_rate=0.01)
    # TODO: a keras.Sequential: keras.Input(shape=(4,)), a Dense layer of
    # `hidden` ReLU units, 3 softmax outputs (one per species). Compile it
    # with `optimizer`, the loss for one-hot targets and the accuracy metric.
    raise NotImplementedError("TODO: build_iris_mlp()")


def train_iris(data, optimizers=OPTIMIZERS, lr: float = 0.05, epochs: int = 60, seed: int = 0):
    """{optimiser: (History, test accuracy, seconds)}: the same MLP, the same first weights,
    trained by each optimiser (batches of 16)."""
    tf = gpu._tf()
    (x_train, y_train), (x_test, y_test) = data[:2]
    epochs = validate.count(epochs, "epochs")
    train = tf.data.Dataset.from_tensor_slices((x_train, y_train)).batch(16)
    test = tf.data.Dataset.from_tensor_slices((x_test, y_test)).batch(64)
    results = {}
    for name in optimizers:
        seed_everything(seed)  # the same starting weights for each optimiser
        model = build_iris_mlp(optimizer=make_optimizer(name, lr))
        start = time.perf_counter()
        history = model.fit(
            train.shuffle(len(x_train), seed=seed), validation_data=test, epochs=epochs, verbose=0
        )
        seconds = time.perf_counter() - start
        accuracy = float(model.evaluate(test, verbose=0, return_dict=True)["accuracy"])
        results[name] = (history, accuracy, seconds)
    return results


# %% [markdown]
# ## Run the lesson


# %%
@dataclass
class Config:
    steps: int = 80  # optimiser steps on the valley
    lr: float = 0.1  # their learning rate there
    depth: int = 10  # layers of the initialisation study
    iris_epochs: int = 60
    iris_lr: float = 0.05
    iris_optimizers: str = "all"  # or some of OPTIMIZERS, comma-separated
    seed: int = 0
    out_dir: str = "outputs/ex10_training_tricks"


QUICK = {"iris_epochs": 15, "iris_optimizers": "SGD,momentum,Adam"}


def main(config: Config | None = None) -> dict:
    config = config or Config()
    out = lesson.output_dir(config.out_dir)
    seed_everything(config.seed)

    paths = optimizer_paths(START, config.steps, config.lr)
    fig, axes = plotting.subplots(1, 2, size=(13, 4.5))
    ax, ax_loss = axes[0]
    xs, ys = np.meshgrid(np.linspace(-5, 1.5, 200), np.linspace(-1.6, 1.6, 120))
    ax.contour(xs, ys, valley(np.stack([xs, ys], axis=-1)), levels=15, cmap="Greys", alpha=0.6)
    print(f"{config.steps} steps of lr {config.lr} from {START} on the valley 0.05·x² + y²:")
    for name, p in paths.items():
        ax.plot(p[:, 0], p[:, 1], marker=".", ms=3, lw=1, label=name)
        losses = valley(p)
        ax_loss.semilogy(range(len(losses)), losses + 1e-16, label=name)
        print(f"  {name:<9} loss {losses[-1]:.2e} at ({p[-1, 0]:+.3f}, {p[-1, 1]:+.3f})")
    ax.plot(0, 0, "k*", ms=12)
    ax.set(xlabel="x (shallow)", ylabel="y (steep)", title="paths down a narrow valley")
    ax.legend(fontsize=8)
    ax_loss.set(xlabel="step", ylabel="loss (log scale)", title="loss per step")
    ax_loss.legend(fontsize=8)
    lesson.save_figure(fig, out, "optimizer_paths")

    sweep = learning_rate_sweep(steps=40)
    fig, ax = plotting.subplots(1, 1, size=(6.5, 4))
    ax = ax[0, 0]
    for lr, losses in sweep.items():
        ax.semilogy(losses, label=f"α = {lr}")
    ax.set(
        xlabel="step",
        ylabel="loss (log scale)",
        title="gradient descent: above α = 2/λ = 1 it diverges",
    )
    ax.legend(fontsize=8)
    lesson.save_figure(fig, out, "learning_rates")
    print(
        "learning rates: "
        + ", ".join(f"α {lr} → loss {losses[-1]:.2e}" for lr, losses in sweep.items())
    )

    study = init_study(depth=config.depth, seed=config.seed)
    stds = {name: s for name, (s, _) in study.items()}
    norms = {name: n for name, (_, n) in study.items()}
    fig, axes = plotting.subplots(1, 2, size=(12, 4.2))
    layers = range(1, config.depth + 1)
    for name in norms:
        style = {"ls": "--", "marker": "x"} if "LeCun" in name else {"marker": "o"}
        axes[0, 0].semilogy(layers, stds[name], label=name, **style)
        axes[0, 1].semilogy(layers, np.array(norms[name]) + 1e-30, label=name, **style)
    axes[0, 0].set(xlabel="layer", ylabel="std of its output", title="the signal going forward")
    axes[0, 1].set(xlabel="layer", ylabel="‖∂L/∂W‖", title="the gradient reaching each layer")
    for a in axes[0]:
        a.legend(fontsize=8)
        plotting.integer_epochs(a)
    fig.suptitle(
        f"{config.depth} tanh layers of 100 units, four initial scales "
        "(LeCun's and Glorot's are the same when n_in = n_out)"
    )
    lesson.save_figure(fig, out, "initialisation")
    print("gradient norm at layer 1 / layer", config.depth, "for each initial scale:")
    for name, n in norms.items():
        print(f"  {name:<28} {n[0]:.2e} / {n[-1]:.2e}")

    iris = load_iris_onehot(seed=config.seed)
    print(
        f"Iris: {len(iris[0][0])} training and {len(iris[1][0])} test flowers, "
        f"species {', '.join(iris[2])}, targets one-hot {iris[0][1][0].tolist()}"
    )
    chosen = (
        OPTIMIZERS
        if config.iris_optimizers == "all"
        else [
            validate.one_of(n.strip(), "optimizer", OPTIMIZERS)
            for n in config.iris_optimizers.split(",")
        ]
    )
    trained = train_iris(
        iris, chosen, lr=config.iris_lr, epochs=config.iris_epochs, seed=config.seed
    )
    fig, ax = plotting.subplots(1, 1, size=(6.5, 4))
    ax = ax[0, 0]
    for name, (history, accuracy, _) in trained.items():
        ax.plot(
            range(1, config.iris_epochs + 1),
            history.history["loss"],
            label=f"{name} (test accuracy {accuracy:.2f})",
        )
    ax.set(
        xlabel="epoch",
        ylabel="training loss",
        title=f"Iris MLP 4 → 8 → 3, learning rate {config.iris_lr}",
    )
    plotting.integer_epochs(ax)
    ax.legend(fontsize=8)
    lesson.save_figure(fig, out, "iris_optimizers")
    for name, (history, accuracy, seconds) in trained.items():
        print(
            f"  {name:<9} training loss {history.history['loss'][-1]:.3f}, "
            f"test accuracy {accuracy:.3f} ({seconds:.1f} s)"
        )

    final = {name: float(valley(p[-1])) for name, p in paths.items()}
    best = min(final, key=final.get)
    metrics = {
        "valley_final_loss": final,
        "learning_rates": {str(lr): losses[-1] for lr, losses in sweep.items()},
        "first_layer_gradient": {name: n[0] for name, n in norms.items()},
        "iris_accuracy": {name: acc for name, (_, acc, _) in trained.items()},
        "headline": f"valley: SGD loss {final['SGD']:.1e}, {best} {final[best]:.1e}; "
        + ", ".join(f"Iris with {n} {trained[n][1]:.2f}" for n in list(trained)[-1:])
        + f" after {config.iris_epochs} epochs",
    }
    lesson.write_metrics(out, metrics)
    return metrics


if __name__ == "__main__":
    lesson.run(main, Config, QUICK, __doc__)
