# %% [markdown]
# # ex10 · Training tricks: how a network learns faster, or not at all
# What `optimizer="adam"` and `fit` hide: one update of SGD with momentum,
# RMSProp and Adam in NumPy, each equal to `keras.optimizers`; their paths down
# a narrow valley; learning rates that diverge; the first weights' scale; and
# the training step `fit` repeats, equal to `train_on_batch`, on the deck's Iris.
#
# **Your job:** fill in the six `TODO`s and `answers()`, then `workshop check 10`.
#
# Where the deck is wrong or vague, and what this lesson says instead:
# - "α > 1: the training will be fast but it may miss the optimum": a learning
#   rate diverges above 2/λ on a bowl of curvature λ, not above 1: on a
#   curvature of 5, α = 0.5 diverges.
# - "σ²(w) = 1/n_in", called Xavier initialisation: that is LeCun's rule.
#   Glorot and Bengio's (Xavier's) is σ² = 2/(n_in + n_out); He's, for ReLU,
#   2/n_in. LeCun's and Glorot's agree only when n_in = n_out (here: 100, 25).
# - momentum "jumps out of local minima": every step it averages the
#   gradients' directions: faster along a shallow valley, less zig-zag across.

# %%
"""ex10 · Training tricks: optimisers, learning rates, initialisation, the training step, Iris."""

from dataclasses import dataclass

import numpy as np

from workshop import lesson, plotting, validate
from workshop.repro import seed_everything

# %% [markdown]
# ## Three optimisers, one step each
# - **Momentum.** Plain SGD: w ← w − α·g. Momentum keeps a velocity that forgets
#   a fraction (1 − μ) each step: v ← μ·v − α·g, then w ← w + v. Gradients that
#   keep their direction add up; those that flip sign cancel. Nesterov steps as
#   if it had moved by the velocity already: w ← w + μ·v − α·g (the new v).
# - **RMSProp**, a learning rate per weight: a ← ρ·a + (1 − ρ)·g², the moving
#   average of g², divides the step: w ← w − α·g/√(a + ε) (ε inside, as Keras).
# - **Adam**, both: m ← β₁·m + (1 − β₁)·g, v ← β₂·v + (1 − β₂)·g². Both start at
#   0, too small at first: Adam divides by (1 − βᵗ), t counting from 1. Keras
#   folds both corrections into the rate, α_t = α·√(1 − β₂ᵗ)/(1 − β₁ᵗ), and adds
#   ε to √v, not to the corrected √v̂ as the paper: w ← w − α_t·m/(√v + ε).


# %%
def momentum_step(w, velocity, grad, lr: float, momentum: float = 0.9, nesterov: bool = False):
    """One step of keras.optimizers.SGD(learning_rate=lr, momentum, nesterov): (w, velocity)."""
    w, velocity, grad = validate.same_shape(w=w, velocity=velocity, grad=grad)
    lr, momentum = validate.positive(lr, "lr"), validate.number(momentum, "momentum", low=0, high=1)
    # TODO: what is the new velocity, and how far do the weights move, with and
    # without Nesterov? New arrays: never change w or velocity in place.
    raise NotImplementedError("TODO: momentum_step()")


def rmsprop_step(w, accum, grad, lr: float, rho: float = 0.9, epsilon: float = 1e-7):
    """One step of keras.optimizers.RMSprop(learning_rate=lr, rho, epsilon): (w, accum)."""
    w, accum, grad = validate.same_shape(w=w, accum=accum, grad=grad)
    lr, rho = validate.positive(lr, "lr"), validate.number(rho, "rho", low=0, high=1)
    epsilon = validate.number(epsilon, "epsilon", low=0)
    # TODO: which average changes first, and where does epsilon go? Return
    # (new w, new accum).
    raise NotImplementedError("TODO: rmsprop_step()")


def adam_step(w, m, v, grad, t: int, lr: float, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """Step t (from 1) of keras.optimizers.Adam(learning_rate=lr, beta_1, ...): (w, m, v)."""
    w, m, v, grad = validate.same_shape(w=w, m=m, v=v, grad=grad)
    t = validate.integer(t, "t (the step number, counting from 1)", low=1)
    lr, epsilon = validate.positive(lr, "lr"), validate.number(epsilon, "epsilon", low=0)
    beta_1, beta_2 = (validate.number(b, "beta", low=0, high=1) for b in (beta_1, beta_2))
    # TODO: the two averages, the rate α_t of step t, then the move (Keras's
    # form). Return (new w, new m, new v).
    raise NotImplementedError("TODO: adam_step()")


# %% [markdown]
# ## A narrow valley, five optimisers, learning rates that diverge
# f(x, y) = ½·(0.1·x² + 2·y²): 20 times steeper across (y) than along (x).
# Plain gradient descent multiplies each coordinate by (1 − α·λ) per step: it
# converges only while |1 − α·λ| < 1, α < 2/λ for the steepest curvature λ.
# Here 2/2 = 1; on a curvature of 5 it is 0.4, and α = 0.5 diverges.

# %%
VALLEY, STEEP = (0.1, 2.0), (0.1, 5.0)  # curvatures along x and across y
START = (-4.5, 1.0)
OPTIMIZERS = ("SGD", "momentum", "Nesterov", "RMSProp", "Adam")


def valley(p, curvature=VALLEY) -> np.ndarray:
    """The loss ½·Σ λ·p² at points p (..., 2)."""
    return 0.5 * np.sum(np.asarray(curvature) * np.asarray(p, dtype=float) ** 2, axis=-1)


def optimizer_paths(start=START, steps: int = 80, lr: float = 0.1) -> dict:
    """{optimiser: the (steps + 1, 2) points it visits on the valley}, by your step functions."""
    start = validate.same_shape(start=start, point_xy=np.zeros(2))[0]
    steps, lr, paths = validate.count(steps, "steps"), validate.positive(lr, "lr"), {}
    for name in OPTIMIZERS:
        points, a, b = [start], np.zeros(2), np.zeros(2)
        for t in range(1, steps + 1):
            w, g = points[-1], np.asarray(VALLEY) * points[-1]
            if name == "RMSProp":
                w, a = rmsprop_step(w, a, g, lr)
            elif name == "Adam":
                w, a, b = adam_step(w, a, b, g, t, lr)
            else:
                w, a = momentum_step(w, a, g, lr, 0.0 if name == "SGD" else 0.9, name == "Nesterov")
            points.append(np.asarray(w, dtype=float))
        paths[name] = np.array(points)
    return paths


def learning_rate_sweep(lrs=(0.1, 0.5, 0.95, 1.05), steps=40, start=START, curvature=VALLEY):
    """{lr: losses per step} of gradient descent on the bowl ½·Σ λ·p² (diverges above 2/λ)."""
    w0, lam = validate.array(start, "start", ndim=1), validate.array(curvature, "curvature", ndim=1)
    k = np.arange(validate.count(steps, "steps") + 1)[:, None]  # w_k = (1 − α·λ)ᵏ·w_0
    factors = {lr: 1 - validate.positive(lr, "each learning rate") * lam for lr in lrs}
    return {lr: [float(f) for f in valley(w0 * factor**k, lam)] for lr, factor in factors.items()}


# %% [markdown]
# ## Initialisation: does the gradient reach the first layer?
# Ten tanh layers, alternately 100 → 25 and 25 → 100 units. Too small first
# weights shrink the signal at every layer and the error going back; too large
# ones saturate tanh at ±1. The right scale keeps the variance layer to layer:
# - LeCun: σ² = 1/n_in (what the deck writes, and calls Xavier);
# - Glorot/Xavier: σ² = 2/(n_in + n_out), between the forward and the backward
#   rule; Keras's default (`glorot_uniform`);
# - He: σ² = 2/n_in, for ReLU, which zeroes half its inputs (too much for tanh).


# %%
def init_std(scheme, n_in: int, n_out: int) -> float:
    """σ of an n_in → n_out layer's first weights: a number as it is, or 'lecun', 'glorot', 'he'."""
    n_in, n_out = validate.count(n_in, "n_in"), validate.count(n_out, "n_out")
    if not isinstance(scheme, str):
        return validate.positive(scheme, "scheme (a standard deviation)")
    validate.one_of(scheme, "scheme", ("lecun", "glorot", "he"))
    # TODO: which variance does each rule ask for, and does the function return
    # the variance or the standard deviation?
    raise NotImplementedError("TODO: init_std()")


DEFAULT_SCALES = {"too small (σ = 0.01)": 0.01, "LeCun (the deck's 1/n_in)": "lecun"}
DEFAULT_SCALES |= {"Glorot (Keras's default)": "glorot", "He": "he", "too large (σ = 1)": 1.0}


def init_study(scales=None, depth=10, widths=(100, 25), batch=256, seed=0) -> dict:
    """{name: (std of each layer's output, ‖∂L/∂W‖ of each layer)} for a depth-layer tanh net
    of widths[0] → widths[1] → widths[0]… units, started with each of `scales`."""
    scales = DEFAULT_SCALES if scales is None else scales
    if not isinstance(scales, dict) or not scales:
        raise ValueError(f"scales must be a dict of name -> σ or scheme, got {scales!r}")
    layers = range(validate.count(depth, "depth") + 1)
    sizes = [validate.count(widths[i % len(widths)], "width") for i in layers]
    rng, shapes = np.random.default_rng(seed), list(zip(sizes[:-1], sizes[1:], strict=True))
    x, study = rng.normal(size=(validate.count(batch, "batch"), sizes[0])), {}
    for name, scale in scales.items():
        weights = [rng.normal(0.0, init_std(scale, *shape), shape) for shape in shapes]
        activations = [x]  # forward, then ex03's backward pass: L = ½·mean ‖output‖²
        for W in weights:
            activations.append(np.tanh(activations[-1] @ W))
        delta, norms = activations[-1] / len(x), []
        for W, a_in, a_out in reversed([*zip(weights, activations, activations[1:], strict=False)]):
            delta = delta * (1 - a_out**2)  # through tanh
            norms.append(float(np.linalg.norm(a_in.T @ delta)))
            delta = delta @ W.T
        study[name] = [float(a.std()) for a in activations[1:]], norms[::-1]
    return study


def gradient_norms_by_init(scales=None, depth: int = 10, **kw) -> dict:
    """{name: [‖∂L/∂W‖ of layer 1, …, layer depth]}: init_study's gradients."""
    return {name: norms for name, (_, norms) in init_study(scales, depth, **kw).items()}


# %% [markdown]
# ## The training step by hand
# ex03's `backward()` was the chain rule from the loss back to every weight,
# then W ← W − lr·∂L/∂W. `fit` does the same per batch: forward (the loss, the
# model in training mode), backward (∂loss/∂w for each trainable weight), update
# (the optimiser's rule). The backend records the forward computation and runs
# the chain rule in reverse: TensorFlow inside `with tf.GradientTape() as tape:`;
# JAX on a pure function of the weights' values (`model.stateless_call` through
# `jax.value_and_grad(..., has_aux=True)`; new non-trainable values assigned
# back); PyTorch's `loss.backward()`, into each `.value.grad`. Then, on all
# three, `optimizer.apply_gradients`.


# %%
def train_step(model, optimizer, loss_fn, x, y) -> float:
    """One step of `optimizer` on the batch (x, y); the loss before it, as train_on_batch."""
    import keras

    validate.instance(model, "model", keras.Model)
    validate.instance(optimizer, "optimizer", keras.optimizers.Optimizer)
    validate.instance(loss_fn, "loss_fn (a keras.losses object)", keras.losses.Loss)
    x, y = validate.array(x, "x", dtype="float32"), validate.array(y, "y", dtype="float32")
    validate.same_length(x, y, "x and y")
    # TODO: on your backend: which number must it see computed, the model in which
    # mode? Which weights get gradients, who applies them, what comes back?
    raise NotImplementedError("TODO: train_step()")


# %% [markdown]
# ## The deck's design exercise: Iris (in scikit-learn: no download)
# 150 flowers, 4 measurements, 3 species: as many outputs as classes, targets
# one-hot ((1,0,0), (0,1,0), (0,0,1)), softmax and categorical cross-entropy.


# %%
def load_iris_onehot(test_fraction: float = 0.3, seed: int = 0):
    """((x_train, y_train), (x_test, y_test), species): standardised by the training split; one-hot."""
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split

    iris, test_fraction = (
        load_iris(),
        validate.number(test_fraction, "test_fraction", low=0.05, high=0.95),
    )
    x, x_test, y, y_test = train_test_split(
        iris.data, iris.target, test_size=test_fraction, random_state=seed, stratify=iris.target
    )
    mean, std, onehot = x.mean(axis=0), x.std(axis=0), np.eye(3, dtype="float32")
    scaled = [((a - mean) / std).astype("float32") for a in (x, x_test)]
    return (scaled[0], onehot[y]), (scaled[1], onehot[y_test]), tuple(map(str, iris.target_names))


def build_iris_mlp(hidden: int = 8, optimizer=None):
    """4 → Dense(hidden, relu) → Dense(3, softmax); `optimizer` default Adam(learning_rate=0.01)."""
    import keras

    hidden = validate.count(hidden, "hidden")
    optimizer = optimizer if optimizer is not None else keras.optimizers.Adam(learning_rate=0.01)
    # TODO: the deck's design: how many inputs, hidden units and outputs, which
    # activations? Which loss fits one-hot targets, and which metric do we read?
    raise NotImplementedError("TODO: build_iris_mlp()")


def train_iris_by_hand(data, epochs: int = 30, seed: int = 0) -> dict:
    """The Iris MLP twice from the same weights and batches of 16, Adam(0.01), by train_step and
    by train_on_batch: {"mine"/"keras": loss per epoch, "accuracy" (test), "gap" (weights)}."""
    import keras

    (x, y), (x_test, y_test) = data[:2]
    seed_everything(seed)
    model, twin = build_iris_mlp(), build_iris_mlp()
    twin.set_weights(model.get_weights())
    optimizer, loss_fn = keras.optimizers.Adam(0.01), keras.losses.CategoricalCrossentropy()
    rng, out = np.random.default_rng(seed), {"mine": [], "keras": []}
    for _ in range(validate.count(epochs, "epochs")):
        batches = np.split(rng.permutation(len(x)), range(16, len(x), 16))
        out["mine"].append(
            np.mean([train_step(model, optimizer, loss_fn, x[b], y[b]) for b in batches])
        )
        out["keras"].append(np.mean([twin.train_on_batch(x[b], y[b])[0] for b in batches]))
    out["accuracy"] = float(model.evaluate(x_test, y_test, verbose=0, return_dict=True)["accuracy"])
    pairs = zip(model.get_weights(), twin.get_weights(), strict=True)
    return out | {"gap": float(max(np.abs(a - b).max() for a, b in pairs))}


# %% [markdown]
# ## Questions
# 1. On the bowl f(w) = ½·8·w², what is the largest learning rate for which
#    plain gradient descent still converges?
# 2. After 80 steps of learning rate 0.1 from START on the valley, which of
#    OPTIMIZERS ends with the lowest loss?
# 3. `fit(x_train, y_train, batch_size=16, epochs=3)` on Iris's 105 training
#    flowers: how many training steps (calls of a train_step) does it run?
# 4. Adam's first step, default settings, a gradient of any size (10⁻³ or 10³):
#    how far does each weight move, in units of the learning rate? (Open: why
#    does Adam cross the valley faster than momentum? Why He's scale for ReLU?)


# %%
def answers() -> dict:
    """Your answers to the questions above, keyed "q1", "q2", ..."""
    # TODO: answer each question with a number or a name.
    raise NotImplementedError("TODO: answers()")


# %%
@dataclass
class Config:
    steps: int = 80  # optimiser steps on the valley
    lr: float = 0.1  # their learning rate there
    depth: int = 10  # layers of the initialisation study
    iris_epochs: int = 30  # epochs of train_step on Iris
    seed: int = 0
    out_dir: str = "outputs/ex10_training_tricks"


QUICK = {"iris_epochs": 5}


def main(config: Config | None = None) -> dict:
    config = config or Config()
    out = lesson.output_dir(config.out_dir)
    seed_everything(config.seed)

    paths = optimizer_paths(START, config.steps, config.lr)
    final = {name: float(valley(p[-1])) for name, p in paths.items()}
    named = {f"{name} (loss {final[name]:.0e})": p for name, p in paths.items()}
    fig = plotting.descent_paths(valley, named, (-5, 1.5), (-1.6, 1.6), "a narrow valley")
    lesson.save_figure(fig, out, "optimizer_paths")

    sweeps = {}
    for lam, lrs in ((VALLEY, (0.1, 0.5, 0.95, 1.05)), (STEEP, (0.1, 0.3, 0.39, 0.5))):
        title = f"curvature {lam[1]:g}: diverges above α = 2/{lam[1]:g} = {2 / lam[1]:g}"
        sweeps[title] = {f"α = {a}": s for a, s in learning_rate_sweep(lrs, curvature=lam).items()}
    fig = plotting.curve_panels(sweeps, "step", "loss (log scale)", logy=True)
    lesson.save_figure(fig, out, "learning_rates")

    study = init_study(depth=config.depth, seed=config.seed)
    panels = {"the signal: std of each layer's output": {}, "the gradient: ‖∂L/∂W‖": {}}
    for name, parts in study.items():
        for series, part in zip(panels.values(), parts, strict=True):
            series[name] = part
    title = f"{config.depth} tanh layers of 100 and 25 units in turn, five first scales"
    fig = plotting.curve_panels(panels, "layer", "(log scale)", logy=True, title=title)
    lesson.save_figure(fig, out, "initialisation")

    iris = train_iris_by_hand(load_iris_onehot(seed=config.seed), config.iris_epochs)
    curves = {"your train_step": iris["mine"], "keras train_on_batch": iris["keras"]}
    title = f"Iris MLP 4 → 8 → 3, Adam(0.01): weights {iris['gap']:.0e} apart at the end"
    lesson.save_figure(plotting.curves(curves, "epoch", "training loss", title), out, "iris")
    print(f"Iris: test accuracy {iris['accuracy']:.3f}; {title}")
    best = min(final, key=final.get)
    metrics = {
        "valley_final_loss": final,
        "train_step_weight_gap": iris["gap"],
        "iris_accuracy": iris["accuracy"],
        "headline": f"valley: SGD loss {final['SGD']:.1e}, {best} {final[best]:.1e}; train_step "
        f"= train_on_batch to {iris['gap']:.0e}; Iris test accuracy {iris['accuracy']:.2f}",
    }
    lesson.write_metrics(out, metrics)
    return metrics


if __name__ == "__main__":
    lesson.run(main, Config, QUICK, __doc__)
