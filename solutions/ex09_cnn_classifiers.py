# %% [markdown]
# # ex09 · CNN classifiers: convolutions beat a dense net, until they overfit
# ex04's dense network sees an image as 784 unrelated numbers. Two
# convolution/pooling stages first look for edges and shapes anywhere in the
# picture, and get more of Fashion-MNIST right with a network of similar
# size. Then the catch: trained long enough on few images, a CNN learns the
# training set by heart. See it happen, find the best epoch, and try the
# cures (dropout, L2, early stopping, augmentation) against one baseline.
#
# **Your job:** fill in the five `TODO`s, then run `workshop check 9`. This
# lesson builds on two earlier ones (it imports them, it does not copy
# them): ex04's `build_model` for the dense network, and ex07's
# `feature_maps` for the activations figure; finish those first, or run
# `workshop run 9 --solution` to see the whole lesson.
#
# Replaces the workshop deck's `Course 1 - Part 6 - Lesson 2 - Notebook.ipynb`
# (convolutions on Fashion-MNIST) and
# `DL0101EN-4-1-Convolutional-Neural-Networks-with-Keras-py-v1.0.ipynb` (a CNN
# on MNIST). Changes from the courses, and why:
# - the IBM notebook one-hot encodes the labels and uses
#   `categorical_crossentropy`; here the labels stay integers with
#   `sparse_categorical_crossentropy` (the same loss, no 10× bigger targets),
#   as in ex04;
# - the IBM notebook passes `input_shape=` to its first layer (a warning in
#   Keras 3); here `keras.Input(shape=(28, 28, 1))` comes first;
# - the Fashion-MNIST notebook reshapes with `reshape(60000, 28, 28, 1)`; here
#   `x[..., np.newaxis]`, which works for any number of images (quick mode
#   uses a few thousand);
# - the Fashion-MNIST notebook visualises activations with
#   `tf.keras.models.Model(inputs=model.input, ...)`, which fails in Keras 3
#   for a Sequential model never called; ex07's `feature_maps` works either way;
# - the "exploration" questions at the end of the course notebook are run
#   here (`explore`), each with what it changes or the error it raises.

# %%
"""ex09 · CNN classifiers: convolutions beat a dense net, until they overfit."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workshop import data, gpu, lesson, pipeline, plotting, validate
from workshop.repro import seed_everything

tf = gpu._tf()
import keras  # noqa: E402  (after TensorFlow's quiet import)

FASHION_SHOES = (0, 23, 28)  # the course's test images: three shoes, side by side


def ex04():
    """ex04, the lesson this one builds its dense network with (your own file)."""
    return lesson.sibling("ex04_fashion_mnist_callbacks")


def ex07():
    """ex07, whose `feature_maps` draws the activations (your own file)."""
    return lesson.sibling("ex07_convolution_visualisation")


# %% [markdown]
# ## Data
# Convolution layers want a channel axis: (28, 28) grey images become
# (28, 28, 1). Pixels scaled to [0, 1], labels integers 0–9.


# %%
def load_images(which: str = "fashion_mnist", limit: int | None = None):
    """`((x_train, y_train), (x_test, y_test), info)` with images (N, 28, 28, 1) in [0, 1]."""
    validate.one_of(which, "which", ("fashion_mnist", "mnist"))
    loader = data.load_fashion_mnist if which == "fashion_mnist" else data.load_mnist
    images = loader(limit=limit)

    def prepare(x):
        return (x.astype("float32") / 255.0)[..., np.newaxis]

    return (
        (prepare(images.x_train), images.y_train),
        (prepare(images.x_test), images.y_test),
        images,
    )


# %% [markdown]
# ## The dense network of ex04, for comparison
# Not rewritten: ex04's own `build_model` (Flatten → Dense(128) → Dense(10)),
# behind a Reshape that drops the channel axis it does not expect.


# %%
def build_dense_classifier() -> keras.Model:
    """ex04's Flatten → Dense(128, relu) → Dense(10, softmax) on (28, 28, 1) images, compiled."""
    dense = ex04().build_model()
    model = keras.Sequential(
        [keras.Input(shape=(28, 28, 1)), keras.layers.Reshape((28, 28)), dense], name="dense"
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


# %% [markdown]
# ## The course's CNN
# Conv2D(64, 3×3, relu) → MaxPooling2D(2) → Conv2D(64, 3×3, relu) →
# MaxPooling2D(2) → Flatten → Dense(128, relu) → Dense(10, softmax).
# A 3×3 convolution without padding loses a pixel on each side (28 → 26), a
# 2×2 pooling halves what is left, rounding down (26 → 13): 28 → 26 → 13 →
# 11 → 5, so Flatten gives 5·5·64 = 1,600 numbers.


# %%
def _check_sizes(filters, kernel_size) -> None:
    size = 28
    for i, _ in enumerate(filters):
        if size < kernel_size:
            raise ValueError(
                f"{len(filters)} convolution stages do not fit a 28×28 image with "
                f"{kernel_size}×{kernel_size} kernels: stage {i + 1} gets {size}×{size} pixels"
            )
        size = (size - kernel_size + 1) // 2
        if size < 1:
            raise ValueError(
                f"{len(filters)} convolution stages shrink a 28×28 image to nothing "
                f"(stage {i + 1} pools a {size * 2 + 1}-pixel map)"
            )


def build_cnn_classifier(
    filters=(64, 64), kernel_size: int = 3, dense: int = 128, dropout: float = 0.0, l2: float = 0.0
) -> keras.Model:
    """Conv2D(relu) → MaxPooling2D(2) per entry of `filters`, Flatten, Dense(dense, relu),
    Dropout(dropout) when > 0, Dense(10, softmax); (28, 28, 1) input. Adam, sparse
    categorical cross-entropy, accuracy. `l2` > 0 adds an L2 penalty to every kernel."""
    if isinstance(filters, (int, np.integer)):
        filters = (filters,)
    if not isinstance(filters, (tuple, list)) or not filters:
        raise ValueError(
            f"filters must be a non-empty tuple of counts such as (64, 64), got {filters!r}"
        )
    filters = [validate.count(f, "each entry of filters") for f in filters]
    kernel_size = validate.count(kernel_size, "kernel_size")
    dense = validate.count(dense, "dense")
    dropout = validate.number(dropout, "dropout", low=0.0)
    if dropout >= 1:
        raise ValueError(
            f"dropout is the fraction of units dropped, from 0 to below 1, got {dropout}"
        )
    l2 = validate.number(l2, "l2", low=0.0)
    _check_sizes(filters, kernel_size)
    penalty = keras.regularizers.L2(l2) if l2 > 0 else None
    # TODO: a keras.Sequential that starts with keras.Input(shape=(28, 28, 1)),
    # then for each entry of `filters` a Conv2D with that many filters of
    # kernel_size × kernel_size and a ReLU, followed by a 2×2 MaxPooling2D.
    # Then Flatten, a Dense layer of `dense` ReLU units, a Dropout(dropout)
    # only when dropout > 0, and 10 softmax outputs. Give every Conv2D and
    # Dense layer kernel_regularizer=penalty (None means none). Compile as
    # ex04 does (integer labels) and return the model.
    # BEGIN SOLUTION
    layers = [keras.Input(shape=(28, 28, 1))]
    for n in filters:
        layers.append(
            keras.layers.Conv2D(n, kernel_size, activation="relu", kernel_regularizer=penalty)
        )
        layers.append(keras.layers.MaxPooling2D(2))
    layers += [
        keras.layers.Flatten(),
        keras.layers.Dense(dense, "relu", kernel_regularizer=penalty),
    ]
    if dropout > 0:
        layers.append(keras.layers.Dropout(dropout))
    layers.append(keras.layers.Dense(10, "softmax", kernel_regularizer=penalty))
    model = keras.Sequential(layers, name="cnn")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
    # END SOLUTION


# %% [markdown]
# ## The IBM course's CNNs for MNIST
# Variant 1: Conv2D(16, 5×5, relu) → MaxPooling2D(2, strides 2) → Flatten →
# Dense(100, relu) → Dense(10, softmax): 231,926 parameters, almost all in
# the Dense(100) layer that reads 12·12·16 = 2,304 numbers. Variant 2 adds
# Conv2D(8, 2×2, relu) → MaxPooling2D(2) after the first pooling layer: the
# maps shrink to 5·5·8 = 200 numbers, and the network to 22,046 parameters.


# %%
def build_mnist_cnn(variant: int = 1) -> keras.Model:
    """The IBM course's MNIST CNN, variant 1 or 2 (see above); compiled like build_cnn_classifier."""
    variant = validate.one_of(variant, "variant", (1, 2))
    # TODO: keras.Input(shape=(28, 28, 1)), Conv2D(16, (5, 5), relu),
    # MaxPooling2D(pool_size=(2, 2), strides=(2, 2)); variant 2 only:
    # Conv2D(8, (2, 2), relu) and MaxPooling2D(pool_size=(2, 2), strides=(2, 2));
    # then Flatten, Dense(100, relu), Dense(10, softmax). Compile with Adam,
    # sparse categorical cross-entropy and accuracy; return it.
    # BEGIN SOLUTION
    layers = [
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(16, (5, 5), activation="relu"),
        keras.layers.MaxPooling2D(pool_size=(2, 2), strides=(2, 2)),
    ]
    if variant == 2:
        layers += [
            keras.layers.Conv2D(8, (2, 2), activation="relu"),
            keras.layers.MaxPooling2D(pool_size=(2, 2), strides=(2, 2)),
        ]
    layers += [
        keras.layers.Flatten(),
        keras.layers.Dense(100, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ]
    model = keras.Sequential(layers, name=f"mnist_cnn_{variant}")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
    # END SOLUTION


# %% [markdown]
# ## Side by side
# Same data, same epochs: what does each network reach, how big is it, how
# long does an epoch take?


# %%
def _check_data(data_):
    try:
        (x_train, y_train), (x_test, y_test) = data_[:2]
    except (TypeError, ValueError):
        raise ValueError(
            "data must be ((x_train, y_train), (x_test, y_test)), as load_images gives"
        ) from None
    x_train = validate.array(x_train, "x_train")
    x_test = validate.array(x_test, "x_test")
    y_train = validate.labels(y_train, "y_train")
    y_test = validate.labels(y_test, "y_test")
    validate.same_length(x_train, y_train, "x_train and y_train")
    validate.same_length(x_test, y_test, "x_test and y_test")
    return (x_train, y_train), (x_test, y_test)


def compare_models(builders: dict, data, epochs: int = 5, batch_size: int = 128) -> list[dict]:
    """Build, train and test each model: [{name, parameters, accuracy, seconds_per_epoch, history, model}].

    `builders` maps a name to a function that returns a compiled model; the
    list keeps their order. `accuracy` is on the test split after the last
    epoch; `history` is `History.history` (validated on the test split).
    """
    if not isinstance(builders, dict) or not builders:
        raise ValueError(f"builders must be a non-empty dict of name -> function, got {builders!r}")
    for name, build in builders.items():
        if not callable(build):
            raise ValueError(
                f"builders[{name!r}] must be a function returning a model, got {build!r}"
            )
    (x_train, y_train), (x_test, y_test) = _check_data(data)
    epochs = validate.count(epochs, "epochs")
    batch_size = validate.count(batch_size, "batch_size")
    train_ds = pipeline.to_dataset(x_train, y_train, batch_size, shuffle=True)
    test_ds = pipeline.to_dataset(x_test, y_test, batch_size)
    rows = []
    for name, build in builders.items():
        # TODO: build the model (inside gpu.strategy().scope(), so that it
        # uses every GPU there is); time model.fit on train_ds for `epochs`
        # epochs, validating on test_ds, verbose=0 (time.perf_counter before
        # and after); then measure its accuracy on test_ds with
        # model.evaluate (returned as a dict with return_dict=True). Append
        # {"name": name, "parameters": model.count_params(), "accuracy": ...,
        # "seconds_per_epoch": ..., "history": history.history, "model": model}
        # (the trained model: main draws its activations).
        # BEGIN SOLUTION
        with gpu.strategy().scope():
            model = build()
        start = time.perf_counter()
        history = model.fit(train_ds, validation_data=test_ds, epochs=epochs, verbose=0)
        seconds = time.perf_counter() - start
        scores = model.evaluate(test_ds, verbose=0, return_dict=True)
        rows.append(
            {
                "name": name,
                "parameters": model.count_params(),
                "accuracy": float(scores["accuracy"]),
                "seconds_per_epoch": seconds / epochs,
                "history": history.history,
                "model": model,
            }
        )
        # END SOLUTION
    return rows


# %% [markdown]
# ## Overfitting, made visible
# Validation loss is what the model does on images it never trained on.
# While it falls, the network is learning things that generalise; when it
# turns up while the training loss keeps falling, it is memorising. The best
# epoch is the one with the lowest validation loss; the gap (validation loss
# − training loss) grows as the network overfits.


# %%
def _curve(history, key: str) -> np.ndarray:
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict):
        raise ValueError(
            f"expected a keras History or its .history dict, got {type(history).__name__}"
        )
    if key not in logs:
        raise ValueError(
            f"the history has no {key!r} (it has {sorted(logs)}): train with validation_data"
            if key.startswith("val_")
            else f"the history has no {key!r} (it has {sorted(logs)})"
        )
    values = validate.array(logs[key], f"history[{key!r}]", ndim=1, finite=False)
    return values


def best_epoch(history) -> int:
    """The epoch (1 = the first) with the lowest validation loss; NaN epochs never win."""
    val_loss = _curve(history, "val_loss")
    if np.all(np.isnan(val_loss)):
        raise ValueError("every val_loss is NaN: training diverged, there is no best epoch")
    # TODO: which epoch had the lowest val_loss? Epochs count from 1, and an
    # epoch whose val_loss is NaN (training blew up) cannot be the best.
    # BEGIN SOLUTION
    return int(np.nanargmin(val_loss)) + 1
    # END SOLUTION


def overfitting_gap(history) -> list[float]:
    """val_loss − loss, epoch by epoch, as plain floats."""
    loss = _curve(history, "loss")
    val_loss = _curve(history, "val_loss")
    if len(loss) != len(val_loss):
        raise ValueError(f"loss has {len(loss)} epochs and val_loss {len(val_loss)}")
    # TODO: for each epoch, how much worse is the model on images it did not
    # train on? A list of plain Python floats, one per epoch.
    # BEGIN SOLUTION
    return [float(v - t) for t, v in zip(loss, val_loss, strict=True)]
    # END SOLUTION


# %% [markdown]
# ## Four cures, one baseline
# - **Dropout** silences a random half of the dense units at each step, so
#   none can rely on another (only while training).
# - **L2** adds λ·Σw² to the loss: large weights cost.
# - **Early stopping** stops when validation loss has not improved for a few
#   epochs and restores the best weights.
# - **Augmentation** shows slightly rotated, shifted and zoomed copies of each
#   image: more data for free (only while training: Keras's random layers do
#   nothing at inference).


# %%
def augmentation() -> keras.Sequential:
    """Small random shifts, turns and zooms, as a model's first layers (active only while
    training): the same layers `pipeline.to_dataset(augment=True)` applies, plus zoom."""
    return pipeline.augmentation_layers(shift=0.1, rotate=0.05, zoom=0.1, name="augmentation")


def regularisation_study(
    data,
    epochs: int = 20,
    batch_size: int = 128,
    seed: int = 0,
    width: int = 64,
    log_dir=None,
) -> dict:
    """{"baseline", "dropout", "l2", "early_stopping", "augmentation"} -> History, same data and
    epochs; each a build_cnn_classifier with `width` filters per stage (the course: 64).
    `log_dir`: TensorBoard logs of each in log_dir/<name>/ (the five runs side by side)."""
    (x_train, y_train), (x_test, y_test) = _check_data(data)
    epochs = validate.count(epochs, "epochs")
    batch_size = validate.count(batch_size, "batch_size")
    w = (validate.count(width, "width"),) * 2

    def with_augmentation():
        inner = build_cnn_classifier(w)
        model = keras.Sequential([keras.Input(shape=(28, 28, 1)), augmentation(), inner])
        model.compile(
            optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]
        )
        return model

    variants = {
        "baseline": (lambda: build_cnn_classifier(w), []),
        "dropout": (lambda: build_cnn_classifier(w, dropout=0.5), []),
        "l2": (lambda: build_cnn_classifier(w, l2=1e-3), []),
        "early_stopping": (
            lambda: build_cnn_classifier(w),
            [keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True)],
        ),
        "augmentation": (with_augmentation, []),
    }
    train_ds = pipeline.to_dataset(x_train, y_train, batch_size, shuffle=True)
    test_ds = pipeline.to_dataset(x_test, y_test, batch_size)
    histories = {}
    for name, (build, callbacks) in variants.items():
        seed_everything(seed)  # the same starting weights and batches for every variant
        with gpu.strategy().scope():
            model = build()
        if log_dir is not None:
            callbacks = [*callbacks, keras.callbacks.TensorBoard(str(Path(log_dir) / name))]
        histories[name] = model.fit(
            train_ds, validation_data=test_ds, epochs=epochs, callbacks=callbacks, verbose=0
        )
        histories[name].test_accuracy = float(
            model.evaluate(test_ds, verbose=0, return_dict=True)["accuracy"]
        )
    return histories


# %% [markdown]
# ## The course's exploration questions
# "Try editing the convolutions": what happens with more units, without the
# Flatten, with the wrong number of outputs, with one more layer, without
# /255, with fewer or more filters? Each runs for a moment here; two of them
# do not train at all, and the error says why:
# - **no Flatten**: Dense works on the last axis only, so the output is
#   (batch, 5, 5, 10), one prediction per position, and the loss refuses
#   labels of shape (batch,) against it;
# - **5 outputs**: labels go up to 9, and sparse cross-entropy needs an output
#   per class. On a CPU TensorFlow stops with "Received a label value of 9
#   which is outside the valid range of [0, 5)"; on a GPU there is no check,
#   and the loss silently becomes NaN or garbage — a reason to know your
#   output size.


# %%
def _without_flatten(width: int = 64) -> keras.Model:
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(width, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(width, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _five_outputs(width: int = 64) -> keras.Model:
    model = build_cnn_classifier((width, width))
    five = keras.Sequential(
        [keras.Input(shape=(28, 28, 1)), *model.layers[:-1], keras.layers.Dense(5, "softmax")]
    )
    five.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return five


def explorations(width: int = 64) -> dict:
    """The course's questions as {name: (builder, what changes)}; `width` filters per stage."""
    w = (width, width)
    return {
        "the course's CNN": (lambda: build_cnn_classifier(w), f"filters {w}, Dense(128)"),
        "dense 512": (
            lambda: build_cnn_classifier(w, dense=512),
            "Dense(512) instead of Dense(128)",
        ),
        "one more conv": (
            lambda: build_cnn_classifier((width,) * 3),
            "a third stage: maps 5×5 → 1×1, far fewer weights in the Dense layer",
        ),
        "fewer filters": (
            lambda: build_cnn_classifier((max(width // 4, 1),) * 2),
            f"{max(width // 4, 1)} filters per stage instead of {width}",
        ),
        "more filters": (
            lambda: build_cnn_classifier((2 * width,) * 2),
            f"{2 * width} filters per stage instead of {width}",
        ),
        "no /255": (lambda: build_cnn_classifier(w), "pixels 0–255 instead of 0–1"),
        "no Flatten": (lambda: _without_flatten(width), "Dense straight on the (5, 5, C) maps"),
        "5 outputs": (lambda: _five_outputs(width), "Dense(5) for 10 classes"),
    }


def _first_line(exc: Exception) -> str:
    """The line of an error that says what went wrong (TensorFlow's starts with 'Graph execution error')."""
    text = str(exc)
    for pattern in ("Received a label value", "must have rank", "Incompatible shapes"):
        for line in text.splitlines():
            if pattern in line:
                line = line.split("Label values:")[0]  # not the whole batch of labels
                return f"{type(exc).__name__}: {line.strip()}"[:300]
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"[:300]


def explore(
    data, epochs: int = 1, batch_size: int = 128, width: int = 64, names=None
) -> list[dict]:
    """Run explorations(width) (or those `names`) briefly: [{name, change, parameters, accuracy or error}]."""
    (x_train, y_train), (x_test, y_test) = _check_data(data)
    epochs = validate.count(epochs, "epochs")
    width = validate.count(width, "width")
    chosen = explorations(width)
    if names is not None:
        unknown = [n for n in names if n not in chosen]
        if unknown:
            raise ValueError(f"no exploration named {unknown}; expected some of {list(chosen)}")
        chosen = {n: chosen[n] for n in names}
    rows = []
    for name, (build, change) in chosen.items():
        scale = 255.0 if name == "no /255" else 1.0
        row = {"name": name, "change": change, "parameters": None, "accuracy": None, "error": None}
        try:
            model = build()
            row["parameters"] = model.count_params()
            model.fit(x_train * scale, y_train, epochs=epochs, batch_size=batch_size, verbose=0)
            row["accuracy"] = float(
                model.evaluate(x_test * scale, y_test, verbose=0, return_dict=True)["accuracy"]
            )
        except Exception as exc:  # the point of two of them: what error an attendee meets
            row["error"] = _first_line(exc)
        rows.append(row)
    return rows


# %% [markdown]
# ## Run the lesson


# %%
@dataclass
class Config:
    limit: int = 20000  # training images of each data set (0 = all)
    epochs: int = 5  # dense against CNN, and the MNIST CNNs
    batch_size: int = 128  # dense against CNN (quick mode: smaller, more steps per epoch)
    overfit_limit: int = 2000  # few images: overfitting shows within a few epochs
    overfit_epochs: int = 20
    explore_epochs: int = 1
    width: int = 64  # filters per convolution stage (the course: 64; quick mode: 16)
    explore: str = "all"  # or some of the questions' names, comma-separated
    seed: int = 0
    out_dir: str = "outputs/ex09_cnn_classifiers"


QUICK = {
    "limit": 600,
    "epochs": 3,
    "batch_size": 32,
    "overfit_limit": 300,
    "overfit_epochs": 4,
    "explore_epochs": 1,
    "width": 16,
    "explore": "no Flatten,5 outputs",  # the two that fail, and why (quick: no training)
}


def _table(rows) -> str:
    lines = [f"  {'model':<22} {'parameters':>10} {'accuracy':>9} {'s/epoch':>8}"]
    for r in rows:
        lines.append(
            f"  {r['name']:<22} {r['parameters']:>10,} {r['accuracy']:>9.3f} {r['seconds_per_epoch']:>8.2f}"
        )
    return "\n".join(lines)


def main(config: Config | None = None) -> dict:
    config = config or Config()
    out = lesson.output_dir(config.out_dir)
    seed_everything(config.seed)
    print(gpu.setup())

    fashion = load_images("fashion_mnist", limit=config.limit or None)
    info = fashion[2]
    print(
        f"{info.title('Fashion-MNIST')}: {len(fashion[0][0])} training, {len(fashion[1][0])} test images"
    )
    rows = compare_models(
        {
            "dense (ex04)": build_dense_classifier,
            f"CNN ({config.width} filters)": lambda: build_cnn_classifier((config.width,) * 2),
        },
        fashion,
        epochs=config.epochs,
        batch_size=config.batch_size,
    )
    print(_table(rows))
    if info.standin:
        print(
            "  (the stand-in is small digits blown up to 28×28: smooth blobs a dense net reads "
            "as well as a CNN; on Fashion-MNIST the course reports about 0.87 dense against "
            "0.91 CNN: `workshop data fetch` for the real thing)"
        )
    fig, axes = plotting.subplots(1, 2, size=(11, 4))
    axes = axes[0]
    for r in rows:
        axes[0].plot(
            range(1, len(r["history"]["val_accuracy"]) + 1),
            r["history"]["val_accuracy"],
            marker="o",
            label=r["name"],
        )
    axes[0].set(xlabel="epoch", ylabel="test accuracy", title="accuracy per epoch")
    plotting.integer_epochs(axes[0])
    axes[0].legend()
    names = [
        f"{r['name']}\n{r['parameters']:,} params\n{r['seconds_per_epoch']:.1f} s/epoch"
        for r in rows
    ]
    axes[1].bar(names, [r["accuracy"] for r in rows], color=["tab:blue", "tab:orange"])
    for i, r in enumerate(rows):
        axes[1].text(i, r["accuracy"], f"{r['accuracy']:.3f}", ha="center", va="bottom")
    axes[1].set(ylim=(0, 1), ylabel="test accuracy", title="after the last epoch")
    fig.suptitle(info.title("dense network against CNN"))
    lesson.save_figure(fig, out, "dense_vs_cnn")

    # What the CNN's layers see: three shoes, one filter, layer after layer.
    cnn = rows[1].get("model")  # trained by compare_models (yours may not keep it: one more)
    if cnn is None:
        cnn = build_cnn_classifier((config.width,) * 2)
        cnn.fit(fashion[0][0], fashion[0][1], epochs=config.epochs, batch_size=128, verbose=0)
    x_test, y_test = fashion[1]
    picks = [i for i in FASHION_SHOES if i < len(x_test)]
    maps = [ex07().feature_maps(cnn, x_test[i]) for i in picks]
    layers = list(maps[0])
    fig, axes = plotting.subplots(
        len(picks), len(layers) + 1, size=(2.2 * (len(layers) + 1), 2.2 * len(picks))
    )
    channel = 1
    for row, (i, m) in enumerate(zip(picks, maps, strict=True)):
        axes[row, 0].imshow(x_test[i, ..., 0], cmap="gray")
        axes[row, 0].set_title(f"test image {i}: {info.class_names[y_test[i]]}", fontsize=8)
        for col, name in enumerate(layers, start=1):
            axes[row, col].imshow(m[name][..., channel], cmap="inferno")
            axes[row, col].set_title(f"{name}, filter {channel}", fontsize=8)
    for ax in axes.ravel():
        ax.axis("off")
    fig.suptitle(info.title(f"filter {channel} of each layer, for three test images"))
    lesson.save_figure(fig, out, "activations")

    mnist = load_images("mnist", limit=config.limit or None)
    mnist_rows = compare_models(
        {
            "MNIST CNN variant 1": lambda: build_mnist_cnn(1),
            "MNIST CNN variant 2": lambda: build_mnist_cnn(2),
        },
        mnist,
        epochs=config.epochs,
        batch_size=200,
    )
    print(mnist[2].title("MNIST"))
    print(_table(mnist_rows))

    small = load_images("fashion_mnist", limit=config.overfit_limit or None)
    histories = regularisation_study(
        small,
        epochs=config.overfit_epochs,
        seed=config.seed,
        width=config.width,
        log_dir=out / "logs",  # `workshop tensorboard 9`: the five runs side by side
    )
    base = histories["baseline"]
    best = best_epoch(base)
    gap = overfitting_gap(base)
    print(
        f"baseline on {len(small[0][0])} images: best epoch {best} of {len(gap)} "
        f"(val_loss {base.history['val_loss'][best - 1]:.3f}); gap at the end {gap[-1]:+.3f}"
    )
    fig, axes = plotting.subplots(1, 2, size=(12, 4.2))
    axes = axes[0]
    epochs_ = range(1, len(gap) + 1)
    axes[0].plot(epochs_, base.history["accuracy"], marker="o", label="training accuracy")
    axes[0].plot(epochs_, base.history["val_accuracy"], marker="o", label="test accuracy")
    twin = axes[0].twinx()
    twin.plot(epochs_, base.history["val_loss"], color="tab:red", ls="--", label="test loss")
    twin.set_ylabel("test loss", color="tab:red")
    axes[0].axvline(best, color="gray", ls=":", label=f"best epoch ({best})")
    axes[0].set(
        xlabel="epoch", ylabel="accuracy", title=f"baseline: best epoch {best} of {len(gap)}"
    )
    axes[0].legend(loc="center right", fontsize=8)
    for name, h in histories.items():
        axes[1].plot(
            range(1, len(h.history["val_loss"]) + 1),
            h.history["val_loss"],
            marker=".",
            label=f"{name} ({h.test_accuracy:.3f})",
        )
    axes[1].set(
        xlabel="epoch", ylabel="test loss", title="four cures against the baseline (test accuracy)"
    )
    axes[1].legend(fontsize=8)
    for ax in axes:
        plotting.integer_epochs(ax)
    fig.suptitle(info.title(f"overfitting on {len(small[0][0])} training images"))
    lesson.save_figure(fig, out, "overfitting")
    for name, h in histories.items():
        print(
            f"  {name:<15} test accuracy {h.test_accuracy:.3f}, lowest test loss {min(h.history['val_loss']):.3f} at epoch {best_epoch(h)}"
        )

    explored = explore(
        small,
        epochs=config.explore_epochs,
        width=config.width,
        names=None if config.explore == "all" else [n.strip() for n in config.explore.split(",")],
    )
    print("the course's exploration questions:")
    for r in explored:
        result = f"accuracy {r['accuracy']:.3f}" if r["error"] is None else r["error"]
        params = f"{r['parameters']:,}" if r["parameters"] is not None else "-"
        print(f"  {r['name']:<16} {params:>10} params  {result}  ({r['change']})")

    dense_acc, cnn_acc = rows[0]["accuracy"], rows[1]["accuracy"]
    metrics = {
        "data": info.source if info.standin else info.name,
        "standin": info.standin,
        "dense_accuracy": dense_acc,
        "cnn_accuracy": cnn_acc,
        "comparison": [
            {k: v for k, v in r.items() if k not in ("history", "model")} for r in rows + mnist_rows
        ],
        "best_epoch": best,
        "final_gap": gap[-1],
        "cures": {name: h.test_accuracy for name, h in histories.items()},
        "explore": explored,
        "headline": f"Fashion-MNIST dense {dense_acc:.3f} vs CNN {cnn_acc:.3f}; "
        f"MNIST CNN {mnist_rows[0]['accuracy']:.3f}; baseline best at epoch {best}"
        + (" (stand-in digits, where a dense net does as well)" if info.standin else ""),
    }
    lesson.write_metrics(out, metrics)
    return metrics


if __name__ == "__main__":
    lesson.run(main, Config, QUICK, __doc__)
