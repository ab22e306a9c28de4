"""Figures for the lessons.

Every function builds its own `Figure` (no pyplot state, so it works headless
and never touches global rcParams), returns it, and never calls pyplot's show().
Lessons save figures with `save(fig, path)`; in a notebook a returned Figure
displays itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # matplotlib is imported when the first figure is made (grading stays fast)
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

WRONG = "#d62728"
RIGHT = "#2ca02c"
#: One colour per class, the same in every figure (markers and shaded regions).
CLASS_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b")


def _title(text: str | None, width: int = 60) -> str:
    """A title wrapped onto several lines rather than clipped at the figure's edge."""
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) if text else ""


def integer_epochs(ax) -> None:
    """Whole epochs on the x axis (1, 2, 3, not 1.5)."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def integer_counts(ax) -> None:
    """Whole numbers on the y axis (a count: 0, 1, 2, not 0.5)."""
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def subplots(nrows: int = 1, ncols: int = 1, size: tuple[float, float] | None = None, **kw):
    """A new Figure and a 2-D array of its axes (no pyplot state involved)."""
    from matplotlib.figure import Figure

    size = size or (4.2 * ncols, 3.6 * nrows)
    fig = Figure(figsize=size, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


def _target(ax: Axes | None, size=None) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    fig, axes = subplots(size=size)
    return fig, axes[0, 0]


def save(fig: Figure, path: str | Path, dpi: int = 110) -> Path:
    """Write `fig` as PNG (folders created) and return the path."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"figures are saved as .png; got {path.name!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path


def history(history, metrics: Sequence[str] | None = None, title: str | None = None) -> Figure:
    """Training curves: one panel per metric, training and validation together.

    `history` is a `keras.callbacks.History` or its `.history` dict.
    """
    logs = getattr(history, "history", history)
    if not isinstance(logs, Mapping) or not logs:
        raise ValueError(f"expected a History or a non-empty dict of lists, got {type(logs)}")
    if metrics is None:
        metrics = [k for k in logs if not k.startswith("val_") and k != "learning_rate"]
    unknown = [m for m in metrics if m not in logs]
    if unknown:
        raise ValueError(f"metrics {unknown} not in the history; it has {sorted(logs)}")
    fig, axes = subplots(1, len(metrics))
    for ax, name in zip(axes[0], metrics, strict=True):
        epochs = np.arange(1, len(logs[name]) + 1)
        ax.plot(epochs, logs[name], "o-", label="training")
        if f"val_{name}" in logs:
            ax.plot(epochs, logs[f"val_{name}"], "s--", label="validation")
        ax.set(xlabel="epoch", ylabel=name, title=name)
        integer_epochs(ax)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(_title(title, 40 * len(metrics)))
    return fig


def curves(
    series: Mapping[str, Sequence[float]],
    xlabel: str = "epoch",
    ylabel: str = "",
    title: str | None = None,
    logy: bool = False,
    ax: Axes | None = None,
    x: Sequence[float] | None = None,
) -> Figure:
    """Several named curves on one axis (e.g. cost per epoch for three learning rates);
    x defaults to 1, 2, 3…"""
    if not series:
        raise ValueError("expected at least one named series, got none")
    fig, ax = _target(ax)
    for name, ys in series.items():
        ys = np.asarray(ys, dtype=float)
        ax.plot(np.arange(1, len(ys) + 1) if x is None else x, ys, "o-" if x else "-", label=name)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=_title(title))
    if xlabel == "epoch":
        integer_epochs(ax)
    if logy:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def bars(values: Mapping[str, float], ylabel: str = "", title: str | None = None) -> Figure:
    """A labelled bar chart (e.g. seconds per matrix product on CPU and GPU)."""
    if not values:
        raise ValueError("expected at least one named value, got none")
    fig, ax = _target(None)
    names, heights = list(values), [float(v) for v in values.values()]
    ax.bar(names, heights, color=["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd"][: len(names)])
    for i, h in enumerate(heights):
        ax.annotate(f"{h:.3g}", (i, h), ha="center", va="bottom")
    ax.set(ylabel=ylabel, title=title or "")
    return fig


def image_grid(
    images,
    labels=None,
    predictions=None,
    class_names: Sequence[str] | None = None,
    ncols: int = 8,
    title: str | None = None,
    cmap: str = "gray",
) -> Figure:
    """Images with their labels; with `predictions`, wrong ones get a red title and frame."""
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim not in (3, 4) or len(images) == 0:
        raise ValueError(f"expected a non-empty stack of images (N, H, W[, C]), got {images.shape}")
    n = len(images)
    for name, arr in (("labels", labels), ("predictions", predictions)):
        if arr is not None and len(arr) != n:
            raise ValueError(f"{name} has {len(arr)} entries for {n} images")
    if ncols < 1:
        raise ValueError(f"ncols must be at least 1, got {ncols}")
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = subplots(nrows, ncols, size=(1.5 * ncols, 1.7 * nrows + 0.4))

    def name(k):
        k = int(k)
        return class_names[k] if class_names is not None else str(k)

    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= n:
            ax.axis("off")
            continue
        ax.imshow(images[i], cmap=cmap)
        text, color = "", "black"
        if labels is not None and predictions is not None:
            ok = int(labels[i]) == int(predictions[i])
            color = RIGHT if ok else WRONG
            text = (
                name(predictions[i]) if ok else f"{name(predictions[i])}\n(true: {name(labels[i])})"
            )
            for spine in ax.spines.values():
                spine.set_color(color)
                spine.set_linewidth(1 if ok else 3)
        elif labels is not None:
            text = name(labels[i])
        ax.set_title(text, fontsize=8, color=color)
    if title:
        fig.suptitle(title)
    return fig


def confusion_counts(y_true, y_pred, n_classes: int | None = None) -> np.ndarray:
    """Counts[i, j] = how many examples of true class i were predicted as j."""
    y_true, y_pred = np.asarray(y_true, int).ravel(), np.asarray(y_pred, int).ravel()
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise ValueError(
            f"y_true and y_pred must be non-empty and the same length, got {y_true.size} "
            f"and {y_pred.size}"
        )
    n = n_classes or int(max(y_true.max(), y_pred.max())) + 1
    counts = np.zeros((n, n), dtype=int)
    np.add.at(counts, (y_true, y_pred), 1)
    return counts


def confusion_matrix(
    y_true, y_pred, class_names: Sequence[str] | None = None, title: str | None = None
) -> Figure:
    """Confusion matrix with counts written in each cell."""
    n = len(class_names) if class_names is not None else None
    counts = confusion_counts(y_true, y_pred, n)
    n = counts.shape[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(n)]
    fig, ax = _target(None, size=(0.55 * n + 2.5, 0.5 * n + 2))
    im = ax.imshow(counts, cmap="Blues")
    fig.colorbar(im, ax=ax, shrink=0.8)
    ax.set(xticks=range(n), yticks=range(n), xlabel="predicted", ylabel="true")
    ax.set_xticklabels(names, rotation=45, ha="right")
    ax.set_yticklabels(names)
    threshold = counts.max() / 2 if counts.max() else 1
    for i in range(n):
        for j in range(n):
            if counts[i, j]:
                color = "white" if counts[i, j] > threshold else "black"
                ax.text(j, i, counts[i, j], ha="center", va="center", fontsize=7, color=color)
    accuracy = np.trace(counts) / counts.sum()
    ax.set_title(title or f"accuracy {accuracy:.3f}")
    return fig


def decision_boundary(
    X,
    y,
    predict: Callable[[np.ndarray], np.ndarray] | None = None,
    lines: Sequence[tuple] = (),
    ax: Axes | None = None,
    title: str | None = None,
    resolution: int = 200,
    margin: float = 0.5,
) -> Figure:
    """A 2-D classifier: points coloured by class, the predicted regions, and lines.

    `predict` maps an (N, 2) array to class scores or labels (0..1 for two
    classes); regions are shaded from it in the classes' own colours (the same
    as the points). Each of `lines` is `(w, b)` or `(w, b, label)` and draws
    w[0]·x + w[1]·y + b = 0 (the perceptron's boundary); three or more lines
    (one per epoch, say) go from light to dark in order. A line that cannot be
    drawn (w = 0: no boundary at all) still has its legend entry.
    """
    X, y = np.asarray(X, float), np.asarray(y).ravel()
    if X.ndim != 2 or X.shape[1] != 2 or len(X) != len(y) or len(X) == 0:
        raise ValueError(f"expected X of shape (N, 2) and N labels, got {X.shape} and {y.shape}")
    fig, ax = _target(ax, size=(6, 5))
    (x0, y0), (x1, y1) = X.min(0) - margin, X.max(0) + margin
    classes = np.unique(y)
    if predict is not None:
        from matplotlib.colors import LinearSegmentedColormap

        gx, gy = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
        z = np.asarray(predict(np.c_[gx.ravel(), gy.ravel()]), float).reshape(gx.shape)
        regions = LinearSegmentedColormap.from_list(
            "classes", [CLASS_COLORS[0], "#ffffff", CLASS_COLORS[1]]
        )
        ax.contourf(gx, gy, z, levels=20, cmap=regions, vmin=0, vmax=1, alpha=0.35)
    for i, (cls, marker) in enumerate(zip(classes, "os^Dv", strict=False)):
        pts = X[y == cls]
        ax.scatter(
            pts[:, 0],
            pts[:, 1],
            marker=marker,
            s=70,
            color=CLASS_COLORS[i % len(CLASS_COLORS)],
            edgecolor="k",
            label=f"class {cls:g}",
            zorder=3,
        )
    xs = np.linspace(x0, x1, 2)
    shades = None
    if len(lines) >= 3:
        from matplotlib import colormaps

        shades = colormaps["viridis"](np.linspace(0.85, 0.05, len(lines)))
    for i, line in enumerate(lines):
        w, b = np.asarray(line[0], float).ravel(), float(line[1] or 0.0)
        label = line[2] if len(line) > 2 else None
        style = {"color": shades[i]} if shades is not None else {}
        if abs(w[1]) > 1e-12:
            ax.plot(xs, -(w[0] * xs + b) / w[1], label=label, **style)
        elif abs(w[0]) > 1e-12:
            ax.axvline(-b / w[0], label=label, **style)
        elif label:  # w = 0: no boundary to draw, but the legend says so
            ax.plot([], [], linestyle="none", marker="x", label=f"{label}: w = 0, no boundary")
    ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="$p_1$", ylabel="$p_2$", title=_title(title, 45))
    from matplotlib.ticker import MaxNLocator

    for axis in (ax.xaxis, ax.yaxis):  # a few round ticks that never run into each other
        axis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 5, 10]))
    # Below the panel, so it never hides a point.
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, frameon=False)
    return fig


def cost_surface(
    cost: Callable[[float, float], float],
    w_range: tuple[float, float],
    b_range: tuple[float, float],
    path=None,
    ax: Axes | None = None,
    title: str | None = None,
    resolution: int = 80,
) -> Figure:
    """Contours of cost(w, b) with the (w, b) path gradient descent took."""
    if w_range[0] >= w_range[1] or b_range[0] >= b_range[1]:
        raise ValueError(f"ranges must be (low, high), got {w_range} and {b_range}")
    fig, ax = _target(ax)
    ws, bs = np.linspace(*w_range, resolution), np.linspace(*b_range, resolution)
    W, B = np.meshgrid(ws, bs)
    C = np.vectorize(cost)(W, B)
    cs = ax.contour(W, B, C, levels=np.geomspace(max(C.min(), 1e-6), C.max(), 20), cmap="viridis")
    fig.colorbar(cs, ax=ax, label="cost")
    if path is not None:
        path = np.asarray(path, float)
        ax.plot(path[:, 0], path[:, 1], ".-", color=WRONG, label="descent path")
        ax.plot(*path[0], "o", color="k", label="start")
        ax.plot(*path[-1], "*", color="gold", markersize=14, markeredgecolor="k", label="end")
        ax.legend()
    ax.set(xlabel="w", ylabel="b", title=title or "cost surface C(w, b)")
    return fig


def activations(
    functions: Mapping[str, tuple[Callable, Callable]],
    x=None,
    title: str | None = "activation functions (solid) and their derivatives (dashed)",
) -> Figure:
    """One panel per activation: f(x) and f'(x)."""
    if not functions:
        raise ValueError("expected at least one activation, got none")
    x = np.linspace(-5, 5, 401) if x is None else np.asarray(x, float)
    ncols = min(3, len(functions))
    nrows = int(np.ceil(len(functions) / ncols))
    fig, axes = subplots(nrows, ncols, size=(3.6 * ncols, 2.8 * nrows))
    for ax, (name, (f, df)) in zip(axes.flat, functions.items(), strict=False):
        ax.plot(x, f(x), label=name)
        ax.plot(x, df(x), "--", label=f"{name}'")
        ax.axhline(0, color="gray", lw=0.5)
        ax.axvline(0, color="gray", lw=0.5)
        ax.set_title(name)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(functions) :]:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    return fig


def filter_grid(
    filters,
    titles: Sequence[str] | None = None,
    ncols: int = 6,
    title: str | None = None,
    cmap: str = "gray",
) -> Figure:
    """A grid of 2-D arrays: convolution kernels, filtered images or feature maps.

    `filters` is a sequence of 2-D arrays or an array (kh, kw, n) as Keras
    stores one input channel of a Conv2D kernel.
    """
    if isinstance(filters, np.ndarray) and filters.ndim == 3:
        filters = [filters[:, :, i] for i in range(filters.shape[-1])]
    filters = [np.asarray(f, float) for f in filters]
    if not filters or any(f.ndim != 2 for f in filters):
        raise ValueError("expected a non-empty sequence of 2-D arrays")
    if titles is not None and len(titles) != len(filters):
        raise ValueError(f"{len(titles)} titles for {len(filters)} filters")
    n = len(filters)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = subplots(nrows, ncols, size=(2.0 * ncols, 2.1 * nrows + 0.3))
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= n:
            ax.axis("off")
            continue
        ax.imshow(filters[i], cmap=cmap)
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def feature_maps(maps: Mapping[str, np.ndarray], per_layer: int = 8, title=None) -> Figure:
    """Feature maps layer by layer: one row per layer, `per_layer` channels each."""
    if not maps:
        raise ValueError("expected a non-empty dict of layer name -> activations")
    fig, axes = subplots(len(maps), per_layer, size=(1.6 * per_layer, 1.7 * len(maps) + 0.3))
    for row, (name, act) in zip(axes, maps.items(), strict=True):
        act = np.asarray(act)
        act = act[0] if act.ndim == 4 else act
        if act.ndim != 3:
            raise ValueError(f"layer {name!r}: expected (H, W, C) activations, got {act.shape}")
        for c, ax in enumerate(row):
            ax.set_xticks([])
            ax.set_yticks([])
            if c < act.shape[-1]:
                ax.imshow(act[:, :, c], cmap="viridis")
            else:
                ax.axis("off")
        row[0].set_ylabel(f"{name}\n{act.shape[0]}×{act.shape[1]}", fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def word_map(points, words: Sequence[str], highlight=(), named: int = 60, title=None) -> Figure:
    """Words at 2-D points (word vectors projected): every point grey, the first `named`
    words written beside theirs, those in `highlight` in red."""
    points = np.asarray(points, float)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) != len(words) or not len(words):
        raise ValueError(f"expected points (N, 2) and N words, got {points.shape}, {len(words)}")
    fig, ax = _target(None, size=(10, 8))
    ax.scatter(points[:, 0], points[:, 1], s=6, color="lightgray")
    for i, ((x, y), word) in enumerate(zip(points, words, strict=True)):
        if i < named or word in highlight:
            ax.annotate(word, (x, y), fontsize=8, color=WRONG if word in highlight else "black")
    ax.set(xlabel="first principal direction", ylabel="second principal direction")
    ax.set_title(_title(title, 80))
    return fig


def scatter_classes(
    points, labels, class_names: Sequence[str] | None = None, title=None, axes=("", ""), ax=None
) -> Figure:
    """2-D points (a latent space, a projection) coloured by class; `axes` names the two axes."""
    points, labels = np.asarray(points, float), np.asarray(labels).ravel()
    if points.ndim != 2 or points.shape[1] != 2 or len(points) != len(labels) or not len(points):
        raise ValueError(
            f"expected points of shape (N, 2) and N labels, got {points.shape} and {labels.shape}"
        )
    fig, ax = _target(ax, size=(6.5, 5.5))
    from matplotlib import colormaps

    colors = colormaps["tab10"]
    for i, cls in enumerate(np.unique(labels)):
        mine = points[labels == cls]
        name = class_names[int(cls)] if class_names is not None else str(cls)
        ax.scatter(mine[:, 0], mine[:, 1], s=8, alpha=0.7, color=colors(i % 10), label=name)
    ax.legend(fontsize=7, markerscale=2, loc="best")
    ax.set(xlabel=axes[0], ylabel=axes[1], title=_title(title))
    return fig


def histograms(series: Mapping[str, Sequence[float]], xlabel="", title=None, bins=40) -> Figure:
    """Several named samples' histograms on one axis, as densities (sizes may differ)."""
    if not series:
        raise ValueError("expected at least one named series, got none")
    fig, ax = _target(None, size=(7, 4.5))
    values = {name: np.asarray(v, float).ravel() for name, v in series.items()}
    edges = np.histogram_bin_edges(np.concatenate(list(values.values())), bins=bins)
    for name, v in values.items():
        ax.hist(v, bins=edges, density=True, alpha=0.5, label=f"{name} ({len(v)})")
    ax.set(xlabel=xlabel, ylabel="density", title=_title(title))
    ax.legend()
    return fig


def descent_paths(
    loss: Callable,
    paths: Mapping[str, np.ndarray],
    x_range,
    y_range,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Contours of loss(points (..., 2)) with several named paths (steps, 2) over them."""
    fig, ax = _target(ax, size=(8, 4.8))
    xs, ys = np.meshgrid(np.linspace(*x_range, 200), np.linspace(*y_range, 120))
    ax.contour(xs, ys, loss(np.stack([xs, ys], axis=-1)), levels=15, cmap="Greys", alpha=0.6)
    for name, p in paths.items():
        p = np.asarray(p, dtype=float)
        ax.plot(p[:, 0], p[:, 1], marker=".", ms=3, lw=1, label=name)
    ax.plot(0, 0, "k*", ms=12)
    ax.set(xlabel="x", ylabel="y", title=_title(title, 80))
    ax.legend(fontsize=8)
    return fig


def heatmaps(
    maps: Mapping[str, np.ndarray],
    xticks: Sequence[str] | None = None,
    vmin: float = 0.0,
    vmax: float = 1.0,
    cmap: str = "viridis",
    title: str | None = None,
) -> Figure:
    """One panel per named map (rows, columns), one above the other, on one colour scale."""
    if not maps:
        raise ValueError("expected at least one named map, got none")
    fig, axes = subplots(len(maps), 1, size=(9, 1.2 + 1.1 * len(maps)), sharex=True)
    for ax, (name, m) in zip(axes[:, 0], maps.items(), strict=True):
        im = ax.imshow(np.asarray(m, dtype=float), cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
        ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
        ax.set_yticks([])
    if xticks is not None:
        axes[-1, 0].set_xticks(range(len(xticks)), xticks)
    fig.colorbar(im, ax=list(axes[:, 0]))
    if title:
        fig.suptitle(_title(title, 90))
    return fig


def curve_panels(
    panels: Mapping[str, Mapping[str, Sequence[float]]],
    xlabel: str,
    ylabel: str,
    logy: bool = False,
    title: str | None = None,
) -> Figure:
    """Side by side, one panel of named curves per title (`curves` on each)."""
    fig, axes = subplots(1, len(panels), size=(6.2 * len(panels), 4.2))
    for ax, (name, series) in zip(axes[0], panels.items(), strict=True):
        curves(series, xlabel, ylabel, name, logy=logy, ax=ax)
    if title:
        fig.suptitle(_title(title, 100))
    return fig


def against_labels(
    counts: Sequence[int],
    series: Mapping[str, Sequence[float]],
    title: str | None = None,
    chance: float | None = None,
) -> Figure:
    """Accuracy against labelled examples per class (log scale), one curve per named method;
    `chance` draws the level of guessing."""
    if not series:
        raise ValueError("expected at least one named series of accuracies, got none")
    for name, values in series.items():
        if len(values) != len(counts):
            raise ValueError(
                f"{name!r} has {len(values)} accuracies for {len(counts)} counts {list(counts)}"
            )
    fig, ax = _target(None, size=(7, 4.5))
    for name, values in series.items():
        ax.plot(counts, values, "o-", label=name)
    if chance is not None:
        ax.axhline(chance, color="gray", ls=":", label=f"chance ({chance:.2f})")
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks(list(counts), [str(n) for n in counts])
    ax.set(xlabel="labelled examples per class", ylabel="test accuracy", ylim=(0, 1.02))
    ax.set_title(_title(title))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig
