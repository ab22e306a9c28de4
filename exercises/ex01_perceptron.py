# %% [markdown]
# # ex01 · Rosenblatt's perceptron
# One neuron with a hard-limit activation learns AND and OR with a rule you can
# apply by hand, and never learns XOR.
#
# **Your job:** fill in the four `TODO`s, then run `workshop check 1`.
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
# a = hardlim(w·p + b), where hardlim(n) = 1 if n >= 0 else 0.


# %%
def hardlim(x):
    """1 where x >= 0, else 0. A scalar gives an int, an array an int array."""
    n = validate.array(x, "x", allow_empty=True)  # numbers only: no NaN, no text
    # TODO: the step itself, as `a`: 1 where the neuron fires, 0 where it does not.
    # Which side of the step does exactly 0 fall on?
    raise NotImplementedError("TODO: hardlim()")
    return int(a) if a.ndim == 0 else a


def predict(w, b, P) -> np.ndarray:
    """The neuron's output (0 or 1) for every pattern (row) of P; b=None means no bias."""
    P = _patterns(P)
    w = _weights(w, P.shape[1])
    return hardlim(P @ w + (0.0 if b is None else _bias(b)))


# Checking arguments: shapes, numbers, targets (given; the ideas are above and below).
def _patterns(P) -> np.ndarray:
    return validate.array(P, "P (one pattern per row)", ndim=2)


def _weights(w, n_inputs: int) -> np.ndarray:
    w = validate.array(w, "w", ndim=1)
    if w.shape != (n_inputs,):
        raise ValueError(f"w must have one weight per input ({n_inputs}), got shape {w.shape}")
    return w


def _bias(b) -> float:
    return validate.number(b, "b")


def _target(t) -> int:
    if validate.number(t, "t") not in (0, 1):
        raise ValueError(f"target t must be 0 or 1, got {t!r}")
    return int(t)


# %% [markdown]
# ## Train: one pattern at a time
# Present p: a = hardlim(w·p + b), e = t − a. If e = 1 the neuron said 0 and
# should have said 1: w·p must grow, so w ← w + η·e·p (and b ← b + η·e).


# %%
def perceptron_step(w, b, p, t, lr=1.0):
    """Present one pattern: return the updated (w, b) and the error e = t - a.

    With b=None the neuron has no bias, and b stays None. lr is η.
    """
    p = validate.array(p, "p", ndim=1)
    w = _weights(w, len(p))
    b = None if b is None else _bias(b)
    t, lr = _target(t), validate.positive(lr, "lr")
    # TODO: the learning rule. What is the neuron's output a, its error e, and
    # how must w and b move so that w·p + b goes the right way? (η scales the
    # step; with no bias, b stays None.) Return the new (w, b, e) and leave the
    # w you were given as it is.
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
    P = _patterns(P)
    T = validate.array(T, "T", ndim=1)
    validate.same_length(P, T, "P's patterns and T's targets")
    if not np.isin(T, (0, 1)).all():
        raise ValueError(f"targets must be 0 or 1, got {sorted(set(T.tolist()))}")
    T = T.astype(int)
    epochs = validate.count(epochs, "epochs")
    lr = validate.positive(lr, "lr")
    if w is None:
        w = make_rng(seed).normal(0.0, 0.1, size=P.shape[1])
    w = _weights(w, P.shape[1])
    b = None if b is None else _bias(b)
    # TODO: the training loop. Epoch after epoch, present every pattern in the
    # given order (perceptron_step does one), keep the weights after every
    # presentation in `updates`, the number of wrong answers per epoch in
    # `errors` and (w, b) at each epoch's end in `history`. When is training
    # over? Return a PerceptronResult.
    raise NotImplementedError("TODO: train_perceptron()")


# %% [markdown]
# ## The bias is a weight on an input of 1
# w·p + b = [w, b]·[p, 1]: a neuron without bias, given one more input that is
# always 1, learns the same thing; that input's weight is the bias.


# %%
def with_bias_input(P) -> np.ndarray:
    """P with one more input that is always 1: its weight then plays the bias."""
    P = _patterns(P)
    # TODO: "a bias is a weight with an input of 1" (the deck). Give every
    # pattern that extra input, as its last one.
    raise NotImplementedError("TODO: with_bias_input()")


# %% [markdown]
# ## Compare: scikit-learn's Perceptron
# The same learning rule (with a learning rate of 1 it is identical up to the
# order of updates and the starting point).


# %%
def sklearn_perceptron(P, T, epochs=100, seed=0):
    """Fit scikit-learn's Perceptron on the same data; return (w, b, accuracy)."""
    from sklearn.linear_model import Perceptron

    clf = Perceptron(max_iter=epochs, tol=None, shuffle=False, random_state=seed, eta0=1.0)
    clf.fit(P, T)
    return clf.coef_.ravel(), float(clf.intercept_[0]), float(clf.score(P, T))


# %% [markdown]
# ## The decks' examples, computed by your functions


# %%
def or_gate_by_hand():
    """The workshop deck's OR gate: w orthogonal to the boundary, b from a point on it."""
    w = np.array([0.5, 0.5])
    on_boundary = np.array([0.0, 0.5])
    b = -float(w @ on_boundary)  # w·p + b = 0 there: b = -0.25, as on the slide
    return w, b


def decks_examples() -> dict:
    """The slides' worked examples, with this lesson's functions."""
    w, b = or_gate_by_hand()
    or_out = predict(w, b, OR[0])
    deck = train_perceptron(DECK_P, DECK_T, w=DECK_W0, b=None, epochs=10)
    changed, previous = [], DECK_W0
    for w_now, _ in deck.updates:  # the weights after each presentation that changed them
        if not np.array_equal(w_now, previous):
            changed.append(np.round(w_now, 6).tolist())
        previous = w_now
    six = {lr: train_perceptron(SIX_P, SIX_T, w=np.zeros(3), epochs=200, lr=lr) for lr in (1, 0.01)}
    first_w, first_b, first_e = perceptron_step(SIX_W0, SIX_B0, SIX_P[0], SIX_T[0], lr=0.01)
    first = [round(float(first_b), 6), *np.round(first_w, 6).tolist()]
    before = float(SIX_W0 @ SIX_P[0] + SIX_B0)
    after = float(first_w @ SIX_P[0] + first_b)
    print(
        f"OR by hand: w = {w.tolist()}, b = {b}: outputs {or_out.tolist()} (targets "
        f"{OR[1].tolist()})"
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
# ## Run the lesson


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
    fig, axes = plotting.subplots(2, 3, size=(13, 8))
    for col, (name, (P, T)) in enumerate(GATES.items()):
        result = train_perceptron(P, T, w=np.zeros(2), b=0.0, epochs=config.epochs)
        accuracy = float(np.mean(predict(result.w, result.b, P) == T))
        sk_w, sk_b, sk_acc = sklearn_perceptron(P, T, config.epochs, config.seed)
        metrics[name] = {
            "converged": result.converged,
            "epochs": result.epochs,
            "accuracy": accuracy,
            "w": result.w.tolist(),
            "b": result.b,
            "sklearn_accuracy": sk_acc,
        }
        verdict = f"converged in {result.epochs} epochs" if result.converged else "never converged"
        print(f"{name:>3}: {verdict}; accuracy {accuracy:.2f} (scikit-learn: {sk_acc:.2f})")
        lines = [(w, b, f"epoch {i + 1}") for i, (w, b) in enumerate(result.history[:6])]
        plotting.decision_boundary(
            P, T, lines=lines, ax=axes[0, col], title=f"{name}: boundary after each epoch"
        )
        plotting.decision_boundary(
            P,
            T,
            predict=lambda X, w=sk_w, b=sk_b: (X @ w + b >= 0).astype(float),
            lines=[(result.w, result.b, "ours"), (sk_w, sk_b, "scikit-learn")],
            ax=axes[1, col],
            title=f"{name}: final, ours vs scikit-learn",
        )
    fig.suptitle("Perceptron: AND and OR are linearly separable, XOR is not")
    lesson.save_figure(fig, out, "decision_boundaries")
    errors = {
        name: train_perceptron(P, T, w=np.zeros(2), epochs=config.epochs).errors
        for name, (P, T) in GATES.items()
    }
    errors["first deck's 6 patterns (eta 0.01)"] = train_perceptron(
        SIX_P, SIX_T, w=np.zeros(3), epochs=config.epochs, lr=0.01
    ).errors
    lesson.save_figure(
        plotting.curves(errors, ylabel="misclassified patterns", title="errors per epoch"),
        out,
        "errors_per_epoch",
    )
    conv = [n for n in GATES if metrics[n]["converged"]]
    metrics["headline"] = (
        f"{' and '.join(conv)} converged; XOR did not; the deck's updates "
        f"{metrics['decks']['deck_updates']}"
        if conv
        else "none converged"
    )
    lesson.write_metrics(out, metrics)
    return metrics


if __name__ == "__main__":
    lesson.run(main, Config, QUICK, __doc__)
