# %% [markdown]
# # ex02 · Linear regression: one neuron, gradient descent, Keras's hello world
# Fit a line t ≈ w·x + b by walking downhill on the quadratic cost, by hand
# in NumPy first, then with one Keras Dense unit.
#
# **Your job:** fill in the five `TODO`s and answer the questions at the end,
# then run `workshop check 2`.
#
# Replaces the workshop deck's `Single_Perceptron_Linear_Regression.ipynb` and
# `Course 1 - Part 2 - Lesson 2 - Notebook.ipynb` (Keras's "hello world"); the
# delta rule is the first deck's. Changes from the course, and why:
# - the hello-world notebook compiles with `optimizer='sgd'` (learning rate
#   0.01) and trains 500 epochs; here SGD(learning_rate=0.05) and 200 epochs
#   reach the same line (f(10) ≈ 19) in under half the time on a laptop;
# - descent by hand stops and says so when the cost grows past 1e6 × the
#   starting cost (the notebooks let it print `nan`);
# - the worked example of the deck, the cost of w = 3, b = 2 against
#   y = 2x + 4 (5.75 on the slide), is computed by your `quadratic_cost`.

# %%
"""ex02 · Linear regression: one neuron, gradient descent, Keras's hello world."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from workshop import lesson, plotting, validate
from workshop.repro import rng as make_rng


def _points(x, t):
    """x and t as two 1-D arrays of the same length (what every function here takes)."""
    x = validate.array(x, "x", ndim=(0, 1)).ravel()
    t = validate.array(t, "t", ndim=(0, 1)).ravel()
    validate.same_length(x, t, "x and t")
    return x, t


# %% [markdown]
# ## Model and cost
# The neuron's output for an input x is the line y = w·x + b. How far is it
# from the targets t? The quadratic cost over the n points:
#
#     C(w, b) = 1/(2n) · Σ (t − y)²
#
# Squares, so that errors of either sign count and large ones count more; the
# mean, so that the cost does not grow with n; the 1/2, so that the
# derivative below has no 2 in front.


# %%
def predict_line(w, b, x):
    """The neuron's output w·x + b for every x (a number or an array)."""
    w, b = validate.number(w, "w"), validate.number(b, "b")
    return w * validate.array(x, "x") + b


def quadratic_cost(w, b, x, t) -> float:
    """C(w, b) = 1/(2n) Σ (t − (w·x + b))²."""
    x, t = _points(x, t)
    w, b = validate.number(w, "w"), validate.number(b, "b")
    # TODO: the cost of the line (w, b) on these points: one number (a float),
    # never negative, 0 only when the line goes through every point.
    raise NotImplementedError("TODO: quadratic_cost()")


# %% [markdown]
# ## Gradients by hand
# Which way is downhill? The slope of a function f at x is the limit of
#
#     (f(x + h) − f(x)) / h     as h → 0
#
# (the step h in the numerator, and h again below it). With two parameters
# there are two slopes, the partial derivatives. The chain rule on C:
#
#     ∂C/∂w = 1/(2n) · Σ 2(t − y)·(−x) = −1/n · Σ (t − y)·x
#     ∂C/∂b = −1/n · Σ (t − y)
#
# The checks compare your two numbers with (C(w + h) − C(w − h)) / 2h for a
# tiny h: a finite difference, the definition above.


# %%
def gradients(w, b, x, t) -> tuple[float, float]:
    """(dC/dw, dC/db) of the quadratic cost, analytically."""
    x, t = _points(x, t)
    w, b = validate.number(w, "w"), validate.number(b, "b")
    # TODO: the two slopes of the cost at (w, b), as two floats. Both start from
    # the errors t − y: which one also needs x? Which sign do they get when the
    # line sits below the points?
    raise NotImplementedError("TODO: gradients()")


# %% [markdown]
# ## Gradient descent
# Step against the slopes, scaled by the learning rate η:
#
#     w ← w − η·∂C/∂w        b ← b − η·∂C/∂b
#
# and again, epoch after epoch. A small η creeps downhill; a large one jumps
# over the valley, higher each time: the cost explodes. Descent here watches
# for that and stops with a message rather than printing `nan`.


# %%
@dataclass
class DescentResult:
    w: float
    b: float
    history: list[float] = field(default_factory=list)  # cost after each epoch's update
    path: list[tuple[float, float]] = field(default_factory=list)  # (w, b) from the start on
    diverged: bool = False
    message: str = ""


def gradient_descent(x, t, lr=0.01, epochs=1000, w=0.0, b=0.0) -> DescentResult:
    """Batch gradient descent on the quadratic cost.

    history[i] is the cost after update i + 1; path starts at (w, b) and gets
    one point per update. When the cost becomes non-finite or grows past 1e6
    times the starting cost, descent stops: diverged=True and a message.
    """
    x, t = _points(x, t)
    lr = validate.positive(lr, "lr (the learning rate)")
    epochs = validate.count(epochs, "epochs")
    w, b = validate.number(w, "w"), validate.number(b, "b")
    # TODO: `epochs` steps downhill from (w, b). Keep the cost after each step
    # in `history` and every point, the start included, in `path`. What tells
    # you the steps are too large, and compared with what? Stop at the first
    # step where it shows (not finite, or past 1e6 × the cost at the start) and
    # say so: diverged=True and a message that names lr.
    raise NotImplementedError("TODO: gradient_descent()")


# %% [markdown]
# ## Batch, mini-batch, stochastic
# Gradient descent above is *batch* learning: one update per epoch, from all
# the points. Updating after every single example is *stochastic* (or online)
# learning, as the perceptron of ex01 does; in between, *mini-batch* learning
# updates after every few examples. Same cost, more and noisier steps.


# %%
def minibatch_descent(x, t, lr, epochs, batch_size, seed=0) -> list[float]:
    """Cost per epoch when updating after every `batch_size` examples (1 = stochastic)."""
    x, t = _points(x, t)
    lr = validate.positive(lr, "lr (the learning rate)")
    epochs, batch_size = validate.count(epochs, "epochs"), validate.count(batch_size, "batch_size")
    rng = make_rng(seed)
    w = b = 0.0
    history = []
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch_size):
            idx = order[start : start + batch_size]
            dw, db = gradients(w, b, x[idx], t[idx])
            w, b = w - lr * dw, b - lr * db
        history.append(quadratic_cost(w, b, x, t))
    return history


# %% [markdown]
# ## The delta rule (Widrow–Hoff), batch form
# The first deck writes the same descent for a linear unit with many inputs,
# o_d = w·x_d for example d, and the error E(w) = ½ Σ_d (t_d − o_d)². Its
# derivative, term by term:
#
#     ∂E/∂w_i = ½ Σ_d 2(t_d − o_d) · ∂(t_d − w·x_d)/∂w_i = Σ_d (t_d − o_d)·(−x_id)
#
# so the step against it is Δw_i = η · Σ_d (t_d − o_d)·x_id. (A bias is a
# column of ones in X, as in ex01.)


# %%
def delta_rule_epoch(W, X, t, lr):
    """One batch update of a linear unit's weights W (one weight per column of X)."""
    X = validate.array(X, "X (examples x inputs)", ndim=2)
    W = validate.vector(W, "W (one weight per column of X)", X.shape[1])
    t = validate.vector(t, "t (one target per example)", len(X))
    lr = validate.positive(lr, "lr (the learning rate)")
    # TODO: the new weights after one batch update: every W_i moves at once, by
    # the formula above. Which products of X, W and t give every output o_d,
    # every error, and every sum over the examples? (W keeps its shape.)
    raise NotImplementedError("TODO: delta_rule_epoch()")


# %% [markdown]
# ## Keras: the same neuron in three lines
# One Dense unit on one input is w·x + b. Keras trains it with stochastic
# gradient descent (`SGD`) on the mean squared error.


# %%
def build_single_neuron_model():
    """keras.Model: Input(1) -> Dense(1), compiled with SGD and mean squared error."""
    import keras  # here, so the NumPy parts of the lesson never load TensorFlow

    # TODO: the neuron above as a Keras model: what goes in (one number per
    # example), one unit that computes w·x + b, and how it learns (plain
    # gradient descent with a learning rate of 0.05, on the mean squared error).
    # Return it compiled.
    raise NotImplementedError("TODO: build_single_neuron_model()")


def fit_line(xs, ys, epochs=200):
    """Train the single neuron on (xs, ys), all points in each step; return the trained model."""
    xs, ys = _points(xs, ys)
    model = build_single_neuron_model()
    # model.fit(xs, ys, epochs=epochs, batch_size=len(xs)), several times faster:
    lesson.full_batch_steps(model, xs.reshape(-1, 1), ys, validate.count(epochs, "epochs"))
    return model


def decks_cost_of_a_line() -> float:
    """The workshop deck prices w = 3, b = 2 against y = 2x + 4 for x = 1..8: 5.75."""
    x = np.arange(1.0, 9.0)
    return quadratic_cost(3.0, 2.0, x, 2 * x + 4)


# %% [markdown]
# ## Run the lesson, and look at it


# %%
@dataclass
class Config:
    n_points: int = 50
    epochs: int = 200
    keras_epochs: int = 200
    seed: int = 0
    out_dir: str = "outputs/ex02_linear_regression"


QUICK = {"epochs": 60, "keras_epochs": 150}


def main(config: Config | None = None) -> dict:
    """Fit a noisy line by hand and with Keras; plot the fit, the cost surface and the rates."""
    config = config or Config()
    out = lesson.output_dir(config.out_dir)
    rng = make_rng(config.seed)
    x = rng.uniform(-1, 4, config.n_points)
    t = 2 * x - 1 + rng.normal(0, 0.5, config.n_points)

    deck_cost = decks_cost_of_a_line()
    print(f"the deck's line w = 3, b = 2 against y = 2x + 4: cost {deck_cost:.2f} (slide: 5.75)")
    result = gradient_descent(x, t, lr=0.1, epochs=config.epochs)
    print(
        f"gradient descent: w = {result.w:.3f}, b = {result.b:.3f}, cost {result.history[-1]:.4f}"
    )

    fig, axes = plotting.subplots(1, 1, size=(6, 4.5))
    ax = axes[0, 0]
    ax.scatter(x, t, s=15, color="gray", label="data")
    for epoch in sorted({1, 5, 20, config.epochs}):
        w, b = result.path[min(epoch, len(result.path) - 1)]
        ax.plot([-1, 4], predict_line(w, b, np.array([-1.0, 4.0])), label=f"after epoch {epoch}")
    ax.set(xlabel="x", ylabel="t", title="the fitted line as descent goes on")
    ax.legend()
    lesson.save_figure(fig, out, "fit_over_epochs")
    fig = plotting.cost_surface(
        lambda w, b: quadratic_cost(w, b, x, t), (-1, 4), (-3, 2), path=result.path
    )
    lesson.save_figure(fig, out, "cost_surface")

    fig, axes = plotting.subplots(1, 3, size=(13, 3.8))
    rates = [("too small", 0.005), ("right", 0.1), ("too large", 0.45)]
    for ax, (label, lr) in zip(axes[0], rates, strict=True):
        run = gradient_descent(x, t, lr=lr, epochs=config.epochs)
        title = f"{label}: lr={lr}" + (" (diverged)" if run.diverged else "")
        plotting.curves({f"lr={lr}": run.history}, ylabel="cost", logy=True, ax=ax, title=title)
        print(f"lr={lr}: " + (run.message if run.diverged else f"final cost {run.history[-1]:.4f}"))
    lesson.save_figure(fig, out, "learning_rates")
    n, epochs = len(x), config.epochs // 4
    sizes = {f"batch ({n})": n, "mini-batch (8)": 8, "stochastic (1)": 1}
    series = {k: minibatch_descent(x, t, 0.05, epochs, size) for k, size in sizes.items()}
    title = "updates per epoch: batch vs mini-batch vs stochastic"
    fig = plotting.curves(series, ylabel="cost", logy=True, title=title)
    lesson.save_figure(fig, out, "batch_vs_stochastic")

    xs_k = np.arange(-1.0, 5.0)
    model = fit_line(xs_k, 2 * xs_k - 1, epochs=config.keras_epochs)
    at_10 = float(model.predict(np.array([[10.0]]), verbose=0)[0, 0])
    print(f"Keras, trained on y = 2x - 1: prediction at x = 10 is {at_10:.3f} (exact: 19)")
    metrics = {
        "decks_cost_of_a_line": deck_cost,
        "w": result.w,
        "b": result.b,
        "final_cost": result.history[-1],
        "keras_prediction_at_10": at_10,
        "headline": f"GD w={result.w:.2f} b={result.b:.2f}; Keras f(10)={at_10:.2f}",
    }
    lesson.write_metrics(out, metrics)
    return metrics


# %% [markdown]
# ## Questions
# Try things with your functions, then fill in `answers()`.
#
# - **q1.** On the deck's points, x = 1, 2, ..., 8 and t = 2x + 4, from
#   (0, 0): what is the largest learning rate with which gradient descent
#   still converges? A number, to 2 %. (Bisect: `gradient_descent(...,
#   epochs=2000).diverged` for a few lr.)
# - **q2.** With 50 points, how many updates does one epoch make for a batch
#   size of 50, of 8 and of 1? A list of three numbers.
# - **q3.** Keras's `'mean_squared_error'` and this lesson's C measure the
#   same line on the same points. What is Keras's loss divided by C? A number.
#
# To think about (no check): just below q1's learning rate the cost still
# falls, but how does w move from one epoch to the next? Why does the
# stochastic curve fall fastest per epoch, and why is it bumpy? After q3,
# what learning rate by hand takes the same steps as Keras's 0.05?


# %%
def answers() -> dict:
    """Your answers to the questions above, keyed "q1", "q2", "q3"."""
    # TODO: answer each question with a number or a short list.
    raise NotImplementedError("TODO: answers()")


if __name__ == "__main__":
    lesson.run(main, Config, QUICK, __doc__)
