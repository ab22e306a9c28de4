# %% [markdown]
# # ex01 · Rosenblatt's perceptron
# One neuron with a hard-limit activation learns AND and OR with a rule you can
# apply by hand, and never learns XOR.
#
# **Your job:** fill in every `TODO`, then run `workshop check 1`.

# %%
"""ex01 · Rosenblatt's perceptron: one neuron, one learning rule."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from workshop import lesson, plotting
from workshop.repro import rng as make_rng

# %% [markdown]
# ## Data: three logic gates
# Each pattern p is a row of `P`; its target t (0 or 1) is the matching entry of `T`.

# %%
_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
AND = (_INPUTS, np.array([0, 0, 0, 1]))
OR = (_INPUTS, np.array([0, 1, 1, 1]))
XOR = (_INPUTS, np.array([0, 1, 1, 0]))
GATES = {"AND": AND, "OR": OR, "XOR": XOR}


# %% [markdown]
# ## Model: the hard-limit neuron
# a = hardlim(w·p + b), where hardlim(n) = 1 if n >= 0 else 0.


# %%
def hardlim(x):
    """1 where x >= 0, else 0. A scalar gives an int, an array an int array."""
    # TODO: compare x with 0; return 1 where x >= 0 and 0 elsewhere.
    # A scalar input gives a plain int; an array gives an array of ints.
    # BEGIN SOLUTION
    result = np.where(np.asarray(x) >= 0, 1, 0)
    return int(result) if result.ndim == 0 else result
    # END SOLUTION


def _as_pattern_array(P, name: str = "P") -> np.ndarray:
    P = np.asarray(P, dtype=float)
    if P.ndim != 2 or P.shape[0] == 0 or P.shape[1] == 0:
        raise ValueError(
            f"{name} must be a non-empty 2-D array (patterns x inputs), got shape {P.shape}"
        )
    return P


def perceptron_step(w, b, p, t):
    """Present one pattern: return the updated (w, b) and the error e = t - a.

    With b=None the neuron has no bias, and b stays None.
    """
    w, p = np.asarray(w, dtype=float), np.asarray(p, dtype=float)
    if w.ndim != 1 or w.shape != p.shape:
        raise ValueError(
            f"w and p must be 1-D with the same length, got shapes {w.shape} and {p.shape}"
        )
    if t not in (0, 1):
        raise ValueError(f"target t must be 0 or 1, got {t!r}")
    # TODO: the perceptron rule. a = hardlim(w·p + b) (no "+ b" when b is None),
    # e = t - a, w <- w + e·p, and b <- b + e (unless b is None).
    # BEGIN SOLUTION
    n = w @ p + (0.0 if b is None else b)
    e = int(t - hardlim(n))
    w = w + e * p
    if b is not None:
        b = b + e
    return w, b, e
    # END SOLUTION


@dataclass
class PerceptronResult:
    w: np.ndarray
    b: float | None
    epochs: int  # epochs run
    converged: bool  # an epoch with no error happened
    errors: list[int] = field(default_factory=list)  # misclassified patterns per epoch
    history: list[tuple[np.ndarray, float | None]] = field(default_factory=list)  # (w, b) per epoch


def train_perceptron(P, T, w=None, b=0.0, epochs=100, seed=None) -> PerceptronResult:
    """Present the patterns in order, one update per pattern, until an epoch has no error."""
    P = _as_pattern_array(P)
    T = np.asarray(T).ravel()
    if len(T) != len(P):
        raise ValueError(f"P has {len(P)} patterns but T has {len(T)} targets")
    if not np.isin(T, (0, 1)).all():
        raise ValueError(f"targets must be 0 or 1, got {sorted(set(T.tolist()))}")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    if w is None:
        w = make_rng(seed).normal(0.0, 0.1, size=P.shape[1])
    w = np.asarray(w, dtype=float)
    if w.shape != (P.shape[1],):
        raise ValueError(f"w must have one weight per input ({P.shape[1]}), got shape {w.shape}")
    # TODO: for each epoch, present every pattern in order with perceptron_step,
    # count the errors (e != 0), and append that count to `errors` and (w, b)
    # to `history`. Stop after the first epoch with no error (converged).
    # Return PerceptronResult(w, b, epochs_run, converged, errors, history).
    # BEGIN SOLUTION
    errors, history = [], []
    for epoch in range(1, epochs + 1):
        wrong = 0
        for p, t in zip(P, T, strict=True):
            w, b, e = perceptron_step(w, b, p, int(t))
            wrong += e != 0
        errors.append(int(wrong))
        history.append((w.copy(), b))
        if wrong == 0:
            return PerceptronResult(w, b, epoch, True, errors, history)
    return PerceptronResult(w, b, epochs, False, errors, history)
    # END SOLUTION


def predict(w, b, P) -> np.ndarray:
    """The neuron's output (0 or 1) for every pattern (row) of P."""
    P = _as_pattern_array(P)
    w = np.asarray(w, dtype=float)
    if w.shape != (P.shape[1],):
        raise ValueError(f"w must have one weight per input ({P.shape[1]}), got shape {w.shape}")
    # TODO: hardlim(P·w + b) for all patterns at once (no bias when b is None).
    # BEGIN SOLUTION
    return hardlim(P @ w + (0.0 if b is None else b))
    # END SOLUTION


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
    metrics = {}
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
    lesson.save_figure(
        plotting.curves(errors, ylabel="misclassified patterns", title="errors per epoch"),
        out,
        "errors_per_epoch",
    )
    conv = [n for n in GATES if metrics[n]["converged"]]
    metrics["headline"] = (
        f"{' and '.join(conv)} converged; XOR did not" if conv else "none converged"
    )
    lesson.write_metrics(out, metrics)
    return metrics


if __name__ == "__main__":
    lesson.run(main, Config, QUICK, __doc__)
