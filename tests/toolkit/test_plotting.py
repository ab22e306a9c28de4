"""Every plotting helper returns a Figure, writes a non-empty PNG, and never uses pyplot."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from matplotlib.figure import Figure

from workshop import plotting

rng = np.random.default_rng(0)
FIGURES = {
    "history": lambda: plotting.history(
        {
            "loss": [1.0, 0.5],
            "val_loss": [1.1, 0.7],
            "accuracy": [0.5, 0.8],
            "val_accuracy": [0.4, 0.7],
        }
    ),
    "curves": lambda: plotting.curves({"lr=0.1": [3, 2, 1], "lr=1": [3, 5, 9]}, logy=True),
    "bars": lambda: plotting.bars({"CPU": 0.2, "GPU": 0.01}),
    "image_grid": lambda: plotting.image_grid(
        rng.random((10, 28, 28)), labels=np.arange(10), predictions=np.r_[np.arange(9), 0]
    ),
    "confusion_matrix": lambda: plotting.confusion_matrix(
        rng.integers(0, 3, 50), rng.integers(0, 3, 50), class_names=["a", "b", "c"]
    ),
    "decision_boundary": lambda: plotting.decision_boundary(
        np.array([[0, 0], [0, 1], [1, 0], [1, 1]]),
        np.array([0, 1, 1, 1]),
        predict=lambda X: X.sum(1),
        lines=[(np.array([1.0, 1.0]), -0.5, "w·p+b=0"), (np.array([1.0, 0.0]), None)],
    ),
    "cost_surface": lambda: plotting.cost_surface(
        lambda w, b: (w - 1) ** 2 + (b + 1) ** 2,
        (-3, 3),
        (-3, 3),
        path=[[0, 0], [0.5, -0.5], [1, -1]],
    ),
    "activations": lambda: plotting.activations(
        {"relu": (lambda x: np.maximum(x, 0), lambda x: x > 0)}
    ),
    "filter_grid": lambda: plotting.filter_grid(rng.random((5, 5, 6)), titles=list("abcdef")),
    "feature_maps": lambda: plotting.feature_maps({"conv": rng.random((1, 8, 8, 4))}),
}


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_figure_saved_as_png(name, tmp_path):
    fig = FIGURES[name]()
    assert isinstance(fig, Figure)
    path = plotting.save(fig, tmp_path / "sub" / f"{name}.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 2000


def test_confusion_counts_match_a_hand_count():
    counts = plotting.confusion_counts([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], 3)
    assert counts.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]


def test_bad_input_is_explained():
    with pytest.raises(ValueError, match="not in the history"):
        plotting.history({"loss": [1]}, metrics=["acc"])
    with pytest.raises(ValueError, match="same length"):
        plotting.confusion_counts([0, 1], [0])
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        plotting.decision_boundary(np.zeros((4, 3)), np.zeros(4))
    with pytest.raises(ValueError, match="labels has 2 entries for 3 images"):
        plotting.image_grid(np.zeros((3, 4, 4)), labels=[0, 1])
    with pytest.raises(ValueError, match=".png"):
        plotting.save(plotting.bars({"a": 1}), "figure.jpg")


def test_plotting_never_touches_pyplot():
    code = (
        "import sys; from workshop import plotting, lesson; "
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
