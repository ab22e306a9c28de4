# %% [markdown]
# # ex01 · Rosenblatt's perceptron
# One neuron with a hard-limit activation learns AND and OR with a rule you can
# apply by hand, and never learns XOR.
#
# **Your job:** fill in the four `TODO`s and answer the questions at the end,
# then run `workshop check 1`.
#
# Replaces the workshop deck's `Single_Perceptron_OR_Gate.ipynb` and follows
# its "learning rule test problem"; the learning rate η and the six-pattern
# example come from the first deck ("Temas Selectos", Sesión II). Changes
# from the course, and why:
# - the deck's rule has no learning rate; the first deck's has η. Here
#   `lr` is η, and its default 1 gives the deck's rule exactly;
# - the first deck's example maps outputs to classes the other way round and
#   updates with e = y − c: its update moves w the wrong way (see
#   docs/instructor-notes.md). This lesson uses e = t − a, as the workshop
#   deck does;
# - the first deck's six patterns are not linearly separable, so no η makes
#   the rule converge on them: `main` shows it instead of promising it.

# %%
"""ex01 · Rosenblatt's perceptron: one neuron, one learning rule."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from workshop import lesson, plotting, validate
from workshop.repro import rng as make_rng

# %% [markdown]
# ## Data: three logic gates, and the decks' examples
# Each pattern p is a row of `P`; its target t (0 or 1) is the matching entry of `T`.

# %%
_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
AND = (_INPUTS, np.array([0, 0, 0, 1]))
OR = (_INPUTS, np.array([0, 1, 1, 1]))
XOR = (_INPUTS, np.array([0, 1, 1, 0]))
GATES = {"AND": AND, "OR": OR, "XOR": XOR}

# The workshop deck's "learning rule test problem": no bias, start at w = [1.0, -0.8].
DECK_P = np.array([[1.0, 2.0], [-1.0, 2.0], [0.0, -1.0]])
DECK_T = np.array([1, 0, 0])
DECK_W0 = np.array([1.0, -0.8])
DECK_UPDATES = [[2.0, 1.2], [3.0, -0.8], [3.0, 0.2]]  # the weights after each update, as listed

# The first deck's six patterns (x1, x2, x3) and classes c, trained with η = 0.01.
SIX_P = np.array([[2, 7, 1], [3, 6, 5], [5, 4, 7], [6, 8, 5], [7, 9, 7], [8, 0, 8]], dtype=float)
SIX_T = np.array([0, 1, 0, 0, 1, 1])
# Its first step: W = [w0, w1, w2, w3] = [1, 0.5, 1, 0.5] (w0 the bias), the
# first pattern, η = 0.01. The slide's update gives [1.01, 0.52, 1.07, 0.51].
SIX_W0, SIX_B0 = np.array([0.5, 1.0, 0.5]), 1.0
SIX_SLIDE_UPDATE = [1.01, 0.52, 1.07, 0.51]


# %% [markdown]
# ## Model: the hard-limit neuron
# The neuron adds up its weighted inputs, n = w·p + b, and fires or not:
#
#     a = hardlim(n) = 1 if n >= 0, else 0
#
# Its decision boundary is the line w·p + b = 0: w is orthogonal to it, and
# b moves it away from the origin.


# %%
def hardlim(x):
    """1 where x >= 0, else 0. A scalar gives an int, an array an int array."""
    n = validate.array(x, "x", allow_empty=True)  # numbers only: no NaN, no text
    # TODO: the neuron's output `a` for every entry of n, with the shape of n:
    # 1 where it fires, 0 where it does not. Which side does exactly 0 fall on?
    raise NotImplementedError("TODO: hardlim()")
    return int(a) if a.ndim == 0 else a


def predict(w, b, P) -> np.ndarray:
    """The neuron's output (0 or 1) for every pattern (row) of P; b=None means no bias."""
    P = validate.array(P, "P (one pattern per row)", ndim=2)
    w = validate.vector(w, "w (one weight per input)", P.shape[1])
    return hardlim(P @ w + (0.0 if b is None else validate.number(b, "b")))


# %% [markdown]
# ## Train: one pattern at a time
# Present a pattern p with target t. The neuron answers a = hardlim(w·p + b)
# and is off by e = t − a, which is 1, 0 or −1. Rosenblatt's rule:
#
#     w ← w + η·e·p        b ← b + η·e
#
# Why it goes the right way: if e = 1 the neuron said 0 and should have said
# 1, and the new w·p + b is larger by η·e·(|p|² + 1). A bias is a weight on an
# input that is always 1, so it moves by η·e·1.
#
# Updating after every pattern is *online* (or stochastic, incremental)
# learning; updating once per pass over all the patterns is *batch* learning
# (ex02 compares the two). One pass over the patterns is an *epoch*.


# %%
def perceptron_step(w, b, p, t, lr=1.0):
    """Present one pattern: return the updated (w, b) and the error e = t - a.

    With b=None the neuron has no bias, and b stays None. lr is η.
    """
    p = validate.vector(p, "p")
    w = validate.vector(w, "w (one weight per input)", len(p))
    b = None if b is None else validate.number(b, "b")
    t, lr = int(validate.one_of(t, "t (the target)", (0, 1))), validate.positive(lr, "lr")
    # TODO: the learning rule for this one pattern. What does the neuron answer,
    # how wrong is it, and where do w (an array like p) and b (a number, or None
    # for a neuron without bias) go? Return (w, b, e) as new values: the caller's
    # w must stay as it was.
    raise NotImplementedError("TODO: perceptron_step()")


@dataclass
class PerceptronResult:
    w: np.ndarray
    b: float | None
    epochs: int  # epochs run
    converged: bool  # an epoch with no error happened
    errors: list[int] = field(default_factory=list)  # misclassified patterns per epoch
    history: list[tuple[np.ndarray, float | None]] = field(default_factory=list)  # (w, b) per epoch
    updates: list[tuple[np.ndarray, float | None]] = field(default_factory=list)  # after each p


def train_perceptron(P, T, w=None, b=0.0, epochs=100, seed=None, lr=1.0) -> PerceptronResult:
    """Present the patterns in order, one update per pattern, until an epoch has no error."""
    P = validate.array(P, "P (one pattern per row)", ndim=2)
    T = validate.labels(T, "T (the targets, 0 or 1)", n_classes=2)
    validate.same_length(P, T, "P's patterns and T's targets")
    epochs, lr = validate.count(epochs, "epochs"), validate.positive(lr, "lr")
    if w is None:  # small random weights, repeatable with `seed`
        w = make_rng(seed).normal(0.0, 0.1, size=P.shape[1])
    w = validate.vector(w, "w (one weight per input)", P.shape[1])
    b = None if b is None else validate.number(b, "b")
    # TODO: epochs of online learning. Each epoch presents every pattern once,
    # in the given order. Keep what the plots and the checks read: (w, b) after
    # every presentation in `updates`, the number of wrong answers of each epoch
    # in `errors`, (w, b) at the end of each epoch in `history`. When has the
    # neuron learned everything, and what if that never happens?
    raise NotImplementedError("TODO: train_perceptron()")


# %% [markdown]
# ## The bias is a weight on an input of 1
# w·p + b = [w, b]·[p, 1]: a neuron without bias, given one more input that is
# always 1, learns the same thing, and that input's weight is the bias.


# %%
def with_bias_input(P) -> np.ndarray:
    """P with one more input that is always 1: its weight then plays the bias."""
    P = validate.array(P, "P (one pattern per row)", ndim=2)
    # TODO: the same patterns, each with one more input, last, that is always 1.
    # What shape does that give, for n patterns of k inputs?
    raise NotImplementedError("TODO: with_bias_input()")


# %% [markdown]
# ## Evaluate: the decks' examples, and scikit-learn's Perceptron
# scikit-learn's `Perceptron` uses the same rule (with a learning rate of 1 it
# differs only in its starting point and when it stops).


# %%
def sklearn_perceptron(P, T, epochs=100, seed=0):
    """Fit scikit-learn's Perceptron on the same data; return (w, b, accuracy)."""
    from sklearn.linear_model import Perceptron

    clf = Perceptron(max_iter=epochs, tol=None, shuffle=False, random_state=seed, eta0=1.0)
    clf.fit(P, T)
    return clf.coef_.ravel(), float(clf.intercept_[0]), float(clf.score(P, T))


def or_gate_by_hand():
    """The workshop deck's OR gate: w orthogonal to the boundary, b from a point on it."""
    w = np.array([0.5, 0.5])
    on_boundary = np.array([0.0, 0.5])
    return w, -float(w @ on_boundary)  # w·p + b = 0 there: b = -0.25, as on the slide


def decks_examples() -> dict:
    """The slides' worked examples, with this lesson's functions."""
    w, b = or_gate_by_hand()
    or_out = predict(w, b, OR[0])
    deck = train_perceptron(DECK_P, DECK_T, w=DECK_W0, b=None, epochs=10)
    weights = [DECK_W0] + [w for w, _ in deck.updates]  # the start, then after each pattern
    changed = [  # the weights after each presentation that changed them
        np.round(now, 6).tolist()
        for before, now in itertools.pairwise(weights)
        if not np.array_equal(now, before)
    ]
    six = {lr: train_perceptron(SIX_P, SIX_T, w=np.zeros(3), epochs=200, lr=lr) for lr in (1, 0.01)}
    first_w, first_b, first_e = perceptron_step(SIX_W0, SIX_B0, SIX_P[0], SIX_T[0], lr=0.01)
    first = [round(float(first_b), 6), *np.round(first_w, 6).tolist()]
    before, after = float(SIX_W0 @ SIX_P[0] + SIX_B0), float(first_w @ SIX_P[0] + first_b)
    print(
        f"OR by hand: w = {w.tolist()}, b = {b}: outputs {or_out.tolist()} (targets {OR[1].tolist()})"
    )
    print(
        f"learning rule test problem: weights after each update {changed} "
        f"(the slide: {DECK_UPDATES}); converged after {deck.epochs} epochs"
    )
    print(
        f"first deck's first update (pattern {SIX_P[0].astype(int).tolist()}, class 0, "
        f"eta 0.01): w·x + b = {before:g} gives 1, e = {first_e}, W = {first} and w·x + b = "
        f"{after:g} (the slide adds instead: {SIX_SLIDE_UPDATE}, and w·x + b grows)"
    )
    for lr, r in six.items():
        print(
            f"first deck's six patterns, eta = {lr}: "
            f"{'converged' if r.converged else 'never converged'} in {r.epochs} epochs "
            f"(errors in the last epoch: {r.errors[-1]}): they are not linearly separable"
        )
    return {
        "or_by_hand": {"w": w.tolist(), "b": b, "outputs": or_out.tolist()},
        "deck_updates": changed,
        "deck_epochs": deck.epochs,
        "first_deck_first_update": first,
        "six_patterns_converged": {str(lr): r.converged for lr, r in six.items()},
    }


# %% [markdown]
# ## Run the lesson, and look at it


# %%
@dataclass
class Config:
    epochs: int = 20
    seed: int = 0
    out_dir: str = "outputs/ex01_perceptron"


QUICK = {"epochs": 10}


def main(config: Config | None = None) -> dict:
    """Train on AND, OR and XOR; plot the boundary after each epoch; compare with scikit-learn."""
    config = config or Config()
    out = lesson.output_dir(config.out_dir)
    metrics = {"decks": decks_examples()}
    fig, axes = plotting.subplots(2, 3, size=(13, 9.5))
    errors = {}
    for col, (name, (P, T)) in enumerate(GATES.items()):
        result = train_perceptron(P, T, w=np.zeros(2), b=0.0, epochs=config.epochs)
        accuracy = float(np.mean(predict(result.w, result.b, P) == T))
        sk_w, sk_b, sk_acc = sklearn_perceptron(P, T, config.epochs, config.seed)
        errors[name] = result.errors
        metrics[name] = {"converged": result.converged, "epochs": result.epochs}
        metrics[name] |= {"accuracy": accuracy, "w": result.w.tolist(), "b": result.b}
        verdict = f"converged in {result.epochs} epochs" if result.converged else "never converged"
        print(f"{name:>3}: {verdict}; accuracy {accuracy:.2f} (scikit-learn: {sk_acc:.2f})")
        lines = [(w, b, f"epoch {i + 1}") for i, (w, b) in enumerate(result.history[:6])]
        plotting.decision_boundary(
            P, T, lines=lines, ax=axes[0, col], title=f"{name}: the boundary after each epoch"
        )
        plotting.decision_boundary(
            P,
            T,
            predict=lambda X, w=sk_w, b=sk_b: (X @ w + b >= 0).astype(float),
            lines=[(result.w, result.b, "ours"), (sk_w, sk_b, "scikit-learn")],
            ax=axes[1, col],
            title=f"{name}: ours and scikit-learn's (shaded: its regions)",
        )
    fig.suptitle("Perceptron: AND and OR are linearly separable, XOR is not")
    lesson.save_figure(fig, out, "decision_boundaries")
    errors["first deck's 6 patterns (eta 0.01)"] = train_perceptron(
        SIX_P, SIX_T, w=np.zeros(3), epochs=config.epochs, lr=0.01
    ).errors
    fig = plotting.curves(errors, ylabel="misclassified patterns", title="errors per epoch")
    plotting.integer_counts(fig.axes[0])
    lesson.save_figure(fig, out, "errors_per_epoch")
    learned = [n for n in GATES if metrics[n]["converged"]]
    metrics["headline"] = f"{' and '.join(learned) or 'none'} converged; XOR did not"
    lesson.write_metrics(out, metrics)
    return metrics


# %% [markdown]
# ## Questions
# Answer with your functions (a loop in a cell, or at the end of `main`), then
# fill in `answers()`.
#
# - **q1.** There are 16 functions of two binary inputs (16 columns T of 0s
#   and 1s for the four patterns). With a bias and from w = 0, b = 0, how many
#   of them does `train_perceptron` learn (an epoch without error)? A number.
# - **q2.** Train AND from w = 0, b = 0 with η = 1, 0.5 and 0.25. How many
#   epochs does each take? A list of three numbers. Then: why?
# - **q3.** Without a bias (b=None), from w = 0, which of AND, OR, NAND
#   (targets 1, 1, 1, 0) and NOR (1, 0, 0, 0) does the neuron learn? A list of
#   names.
#
# To think about (no check): which functions did q1 leave out, and what do they
# have in common? What does the boundary of a neuron without bias always pass
# through, and what is hardlim there?


# %%
def answers() -> dict:
    """Your answers to the questions above, keyed "q1", "q2", "q3"."""
    # TODO: answer each question with a number or a short list.
    raise NotImplementedError("TODO: answers()")


if __name__ == "__main__":
    lesson.run(main, Config, QUICK, __doc__)
