# %% [markdown]
# # ex09 · CNN classifiers: convolutions beat a dense net, until they overfit
# Convolution and pooling look for edges and shapes anywhere in the picture,
# where ex04's dense network sees 784 unrelated numbers. The catch: trained
# long on few images, a CNN learns them by heart. A *validation split* of the
# training images shows it, picks the best epoch and compares the cures; the
# test images are touched once, at the end. **Your job:** the six `TODO`s and
# the questions, then `workshop check 9` (finish ex04 and ex07 first: their
# `build_model` and `feature_maps` are imported here).
#
# Replaces the deck's `Course 1 - Part 6 - Lesson 2` notebook (Fashion-MNIST)
# and `DL0101EN-4-1-Convolutional-Neural-Networks-with-Keras` (MNIST). Changes:
# - the IBM notebook validates on its test set, so what it chooses flatters
#   its test score; here a validation split serves every choice;
# - integer labels, `sparse_categorical_crossentropy`; `keras.Input`, not
#   `input_shape=`; `x[..., None]`, not `reshape(60000, 28, 28, 1)`; ex07's
#   `feature_maps` (Keras 3 fails on the notebook's `model.input`).

# %%
"""ex09 · CNN classifiers: a validation split, dense against CNN, overfitting and its cures."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workshop import backend, data, gpu, lesson, pipeline, plotting, validate
from workshop.repro import seed_everything

# isort: split
import keras  # after workshop, which keeps TensorFlow's start-up log quiet


def ex04():
    """ex04, whose `build_model` is the dense network (your own file)."""
    return lesson.sibling("ex04_fashion_mnist_callbacks")


def ex07():
    """ex07, whose `feature_maps` draws the activations (your own file)."""
    return lesson.sibling("ex07_convolution_visualisation")


# %% [markdown]
# ## Data, and a validation split
# Images (28, 28, 1), pixels in [0, 1]. Every choice (network, epoch, cure)
# needs images the model did not train on, and not the test images: shuffle
# the row numbers 0…n−1 with the seed; the first round(fraction·n) validate.


# %%
def load_images(which: str = "fashion_mnist", limit: int | None = None):
    """`((x_train, y_train), (x_test, y_test), info)`: images (N, 28, 28, 1) in [0, 1]."""
    validate.one_of(which, "which", ("fashion_mnist", "mnist"))
    images = (data.load_fashion_mnist if which == "fashion_mnist" else data.load_mnist)(limit)
    x_train, x_test = ((x / np.float32(255))[..., None] for x in (images.x_train, images.x_test))
    return (x_train, images.y_train), (x_test, images.y_test), images


def validation_split(x, y, fraction: float = 0.1, seed: int = 0):
    """`((x_train, y_train), (x_val, y_val))`: a seeded, random `fraction` of (x, y) held out."""
    x, y = np.asarray(x), np.asarray(y)
    validate.same_length(x, y, "x and y")
    n_val = round(validate.fraction(fraction, "fraction", zero=False) * len(x))
    seed = validate.integer(seed, "seed", low=0)
    if not 0 < n_val < len(x):
        raise ValueError(f"fraction={fraction} of {len(x)} rows holds out {n_val}: too few rows")
    # TODO: which rows go to validation? Draw the order of the rows from a
    # generator seeded with `seed`. What must stay true of the two parts
    # (which rows, how many, which labels go with them)?
    # BEGIN SOLUTION
    order = np.random.default_rng(seed).permutation(len(x))
    val, train = order[:n_val], order[n_val:]
    return (x[train], y[train]), (x[val], y[val])
    # END SOLUTION


# %% [markdown]
# ## The networks
# ex04's dense network, not rewritten: its `build_model` (Flatten →
# Dense(128) → Dense(10)) behind a Reshape that drops the channel axis.
#
# The course's CNN: per entry of `filters`, Conv2D(n, k×k, relu) →
# MaxPooling2D(2); then Flatten → Dense(`dense`, relu) → Dropout (only when
# `dropout` > 0) → Dense(10, softmax). A 3×3 convolution without padding
# loses a pixel on each side, a 2×2 pooling halves what is left, rounding
# down: 28 → 26 → 13 → 11 → 5. `l2` > 0 puts an L2 penalty on every kernel.
#
# The IBM course's MNIST CNN, variant 1: Conv2D(16, 5×5, relu) →
# MaxPooling2D(2, strides 2) → Flatten → Dense(100, relu) → Dense(10,
# softmax); variant 2 adds Conv2D(8, 2×2, relu) → MaxPooling2D(2, strides 2)
# after the first pooling. All compile as ex04 does: Adam, sparse
# categorical cross-entropy, accuracy.


# %%
def build_dense_classifier() -> keras.Model:
    """ex04's Flatten → Dense(128, relu) → Dense(10, softmax) on (28, 28, 1) images, compiled."""
    layers = [keras.Input((28, 28, 1)), keras.layers.Reshape((28, 28))]  # ex04 takes (28, 28)
    model = keras.Sequential([*layers, ex04().build_model()], name="dense")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def build_cnn_classifier(
    filters=(64, 64), kernel_size: int = 3, dense: int = 128, dropout: float = 0.0, l2: float = 0.0
) -> keras.Model:
    """The course's CNN (see above) for (28, 28, 1) images, compiled."""
    filters = validate.conv_stages(filters, kernel_size)
    dense, dropout = validate.count(dense, "dense"), validate.fraction(dropout, "dropout")
    penalty = keras.regularizers.L2(l2) if validate.number(l2, "l2", low=0.0) > 0 else None
    # TODO: a keras.Sequential for (28, 28, 1) images: one convolution stage
    # per entry of `filters` (which activation? which pooling?), then the
    # classifier on top. Where does the Dropout go, and when is there one?
    # Every Conv2D and Dense layer gets kernel_regularizer=penalty. How does
    # ex04 compile a model for integer labels?
    # BEGIN SOLUTION
    layers = [keras.Input(shape=(28, 28, 1))]
    for n in filters:
        conv = keras.layers.Conv2D(n, kernel_size, activation="relu", kernel_regularizer=penalty)
        layers += [conv, keras.layers.MaxPooling2D(2)]
    layers.append(keras.layers.Flatten())
    layers.append(keras.layers.Dense(dense, "relu", kernel_regularizer=penalty))
    if dropout > 0:
        layers.append(keras.layers.Dropout(dropout))
    layers.append(keras.layers.Dense(10, "softmax", kernel_regularizer=penalty))
    model = keras.Sequential(layers, name="cnn")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
    # END SOLUTION


def build_mnist_cnn(variant: int = 1) -> keras.Model:
    """The IBM course's MNIST CNN, variant 1 or 2 (see above), compiled."""
    variant = validate.one_of(variant, "variant", (1, 2))
    # TODO: the IBM course's network as a keras.Sequential. Which layers
    # does variant 2 add, and where? Compile it like build_cnn_classifier.
    # BEGIN SOLUTION
    layers = [keras.Input(shape=(28, 28, 1)), keras.layers.Conv2D(16, (5, 5), activation="relu")]
    layers.append(keras.layers.MaxPooling2D(pool_size=(2, 2), strides=(2, 2)))
    if variant == 2:
        layers.append(keras.layers.Conv2D(8, (2, 2), activation="relu"))
        layers.append(keras.layers.MaxPooling2D(pool_size=(2, 2), strides=(2, 2)))
    layers += [keras.layers.Flatten(), keras.layers.Dense(100, activation="relu")]
    layers.append(keras.layers.Dense(10, activation="softmax"))
    model = keras.Sequential(layers, name=f"mnist_cnn_{variant}")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
    # END SOLUTION


# %% [markdown]
# ## Side by side
# How good is each network, how big, how slow? Each trains on the training
# split, is validated on the validation split every epoch, and tested once.


# %%
def compare_models(
    builders: dict, data, epochs: int = 5, batch_size: int = 128, fraction=0.1, seed: int = 0
) -> list[dict]:
    """[{name, parameters, accuracy (test split), seconds_per_epoch, history, model}], one per
    entry of `builders` (name -> function returning a compiled model), in its order."""
    if not isinstance(builders, dict) or not builders or not all(map(callable, builders.values())):
        raise ValueError(f"builders must map names to functions making a model, got {builders}")
    (x_train, y_train), (x_test, y_test) = validate.train_test(data)
    epochs, batch_size = validate.count(epochs, "epochs"), validate.count(batch_size, "batch_size")
    (x_fit, y_fit), (x_val, y_val) = validation_split(x_train, y_train, fraction, seed)
    rows = []
    for name, build in builders.items():
        # TODO: build the model inside gpu.strategy().scope() (every GPU), train it
        # for `epochs` and time the training. Which split does it learn from, which
        # one does it watch every epoch, which one measures it, once, at the end?
        # One row per model, with the docstring's keys (`history`: History.history).
        # BEGIN SOLUTION
        with gpu.strategy().scope():
            model = build()
        start = time.perf_counter()
        history = model.fit(
            x_fit,
            y_fit,
            validation_data=(x_val, y_val),
            epochs=epochs,
            batch_size=batch_size,
            verbose=0,
        )
        seconds = time.perf_counter() - start
        test = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
        row = {
            "name": name,
            "parameters": model.count_params(),
            "accuracy": float(test["accuracy"]),
        }
        row.update(seconds_per_epoch=seconds / epochs, history=history.history, model=model)
        rows.append(row)
        # END SOLUTION
    return rows


# %% [markdown]
# ## Overfitting, made visible
# While the validation loss falls, the network learns what generalises; when
# it turns up while the training loss keeps falling, it memorises. The best
# epoch has the lowest validation loss (epochs count from 1); the gap,
# validation loss − training loss per epoch, grows as it overfits.


# %%
def best_epoch(history) -> int:
    """The epoch (1 = the first) with the lowest validation loss; NaN epochs never win."""
    val_loss = validate.curve(history, "val_loss")
    if np.all(np.isnan(val_loss)):
        raise ValueError("every val_loss is NaN: training diverged, there is no best epoch")
    # TODO: which epoch had the lowest val_loss? Epochs count from 1, and an
    # epoch whose val_loss is NaN (training blew up) cannot be the best.
    # BEGIN SOLUTION
    return int(np.nanargmin(val_loss)) + 1
    # END SOLUTION


def overfitting_gap(history) -> list[float]:
    """val_loss − loss, epoch by epoch, as plain floats."""
    loss, val_loss = validate.curve(history, "loss"), validate.curve(history, "val_loss")
    if len(loss) != len(val_loss):
        raise ValueError(f"loss has {len(loss)} epochs and val_loss {len(val_loss)}")
    # TODO: for each epoch, how much worse is the model on images it did not
    # train on? A list of plain Python floats, one per epoch.
    # BEGIN SOLUTION
    return [float(v - t) for t, v in zip(loss, val_loss, strict=True)]
    # END SOLUTION


# %% [markdown]
# ## Four cures, one baseline
# **Dropout** silences half the dense units at random at each training step.
# **L2** adds λ·Σw² to the loss: large weights cost. **Early stopping** stops
# when the validation loss has not improved for 3 epochs and restores the
# best weights. **Augmentation** trains on randomly shifted, turned and
# zoomed copies. Same split, same starting weights, same epochs.


# %%
def regularisation_study(
    data, epochs=20, batch_size=128, seed=0, width=64, log_dir=None, fraction=0.1
) -> dict:
    """{"baseline", "dropout", "l2", "early_stopping", "augmentation"} -> History, each with
    `.test_accuracy`; build_cnn_classifier with `width` filters. TensorBoard: log_dir/<name>."""
    (x_train, y_train), (x_test, y_test) = validate.train_test(data)
    epochs, batch_size = validate.count(epochs, "epochs"), validate.count(batch_size, "batch_size")
    w = (validate.count(width, "width"),) * 2
    (x_fit, y_fit), (x_val, y_val) = validation_split(x_train, y_train, fraction, seed)

    def augmented():  # random shifts, turns and zooms in front of the CNN (training only)
        shifts = pipeline.augmentation_layers(shift=0.1, rotate=0.05, zoom=0.1, name="augmentation")
        cnn = build_cnn_classifier(w)
        model = keras.Sequential([keras.Input((28, 28, 1)), shifts, cnn])
        model.compile(optimizer="adam", loss=cnn.loss, metrics=["accuracy"])
        return model

    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    variants = {
        "baseline": (lambda: build_cnn_classifier(w), []),
        "dropout": (lambda: build_cnn_classifier(w, dropout=0.5), []),
        "l2": (lambda: build_cnn_classifier(w, l2=1e-3), []),
        "early_stopping": (lambda: build_cnn_classifier(w), [stop]),
        "augmentation": (augmented, []),
    }
    histories = {}
    for name, (build, callbacks) in variants.items():
        seed_everything(seed)  # the same starting weights and batches for every variant
        with gpu.strategy().scope():
            model = build()
        if log_dir is not None and backend.installed("tensorflow"):  # TensorBoard writes with TF
            callbacks = [*callbacks, keras.callbacks.TensorBoard(str(Path(log_dir) / name))]
        fit = {"validation_data": (x_val, y_val), "epochs": epochs, "batch_size": batch_size}
        histories[name] = model.fit(x_fit, y_fit, callbacks=callbacks, verbose=0, **fit)
        test = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
        histories[name].test_accuracy = float(test["accuracy"])
    return histories


# %% [markdown]
# ## Questions
# 1. With 5×5 kernels (`build_cnn_classifier(kernel_size=5)`), how many
#    numbers does Flatten hand to the Dense layer?
# 2. The course asks "what if one more convolution?": how many parameters
#    has `build_cnn_classifier((64, 64, 64))`?
# 3. Which network has the fewest parameters: (a) ex04's dense network,
#    (b) the course's CNN, (c) the IBM variant 1, (d) the IBM variant 2?
# 4. What does `keras.callbacks.EarlyStopping()` watch when not told: (a)
#    the training loss, (b) the validation loss, (c) the test loss?
#
# The notebooks' other "what if"s (try them, no check): Dense(512)? No
# Flatten? 5 outputs? No /255? 16 or 128 filters? And the best epoch by the
# test loss?


# %%
def answers() -> dict:
    """Your answers to the questions above, keyed "q1", "q2", ..."""
    # TODO: answer each question with a number or a letter.
    # BEGIN SOLUTION
    # Dense(512): 4× the Dense weights (819,712), a little better, slower. No Flatten:
    #   Dense acts on the last axis, the output is (batch, 5, 5, 10) and the loss refuses
    #   labels of shape (batch,). 5 outputs: labels reach 9; TensorFlow on a CPU stops
    #   ("Received a label value of 9 which is outside the valid range of [0, 5)"), a GPU
    #   does not check (a NaN or garbage loss). No /255: inputs 255× larger, the first steps
    #   overshoot. 16 filters: faster, a little worse; 128: slower, hardly better. The best
    #   epoch by the test loss: the test score then flatters, chosen on it.
    return {"q1": 4 * 4 * 64, "q2": 84_106, "q3": "d", "q4": "b"}
    # END SOLUTION


# %% [markdown]
# ## Run the lesson


# %%
@dataclass
class Config:
    limit: int = 20000  # training images of each data set (0 = all)
    epochs: int = 5  # dense against CNN, and the MNIST CNNs
    batch_size: int = 128
    overfit_limit: int = 2000  # few images: overfitting shows within a few epochs
    overfit_epochs: int = 20
    val_fraction: float = 0.1  # of the training images, held out for validation
    width: int = 64  # filters per convolution stage (the course: 64)
    seed: int = 0
    out_dir: str = "outputs/ex09_cnn_classifiers"


QUICK = {"limit": 600, "epochs": 3, "batch_size": 8, "overfit_limit": 80, "overfit_epochs": 60}
QUICK.update(val_fraction=0.5, width=16)  # 40 images to learn, 40 to validate: it overfits


def main(config: Config | None = None) -> dict:
    config = config or Config()
    out = lesson.output_dir(config.out_dir)
    seed_everything(config.seed)
    print(gpu.setup())
    split = {"batch_size": config.batch_size, "fraction": config.val_fraction, "seed": config.seed}
    fashion, width = load_images("fashion_mnist", config.limit or None), (config.width,) * 2
    info = fashion[2]
    nets = {"dense (ex04)": build_dense_classifier, "CNN": lambda: build_cnn_classifier(width)}
    rows = compare_models(nets, fashion, config.epochs, **split)
    nets = {f"MNIST CNN {v}": lambda v=v: build_mnist_cnn(v) for v in (1, 2)}
    rows += compare_models(nets, load_images("mnist", config.limit or None), config.epochs, **split)
    print(info.title("Fashion-MNIST, then MNIST: accuracy on the test split, measured once"))
    for r in rows:
        print(f"  {r['name']:<13}{r['parameters']:>8,} parameters {r['accuracy']:.3f}", end=" ")
        print(f"{r['seconds_per_epoch']:.2f} s/epoch")
    curves = {r["name"]: r["history"] for r in rows[:2]}  # Fashion-MNIST's
    panels = {k: {n: h[k] for n, h in curves.items()} for k in ("val_accuracy", "val_loss")}
    fig = plotting.curve_panels(panels, "epoch", "", title=info.title("dense network or CNN"))
    lesson.save_figure(fig, out, "dense_vs_cnn")

    (x_test, y_test), panels, titles = fashion[1], [], []  # what the CNN's layers see
    for i in [i for i in (0, 23, 28) if i < len(x_test)]:  # the course's three shoes
        maps = ex07().feature_maps(rows[1]["model"], x_test[i])
        panels += [x_test[i, ..., 0], *(m[..., 1] for m in maps.values())]
        titles += [info.class_names[y_test[i]], *(f"{name}, filter 1" for name in maps)]
    title = info.title("filter 1 of each layer, for three test images")
    fig = plotting.filter_grid(panels, titles, len(maps) + 1, title)
    lesson.save_figure(fig, out, "activations")

    small = load_images("fashion_mnist", config.overfit_limit or None)
    split.update(width=config.width, log_dir=out / "logs")  # `workshop tensorboard 9`
    study = regularisation_study(small, config.overfit_epochs, **split)
    base = study["baseline"].history
    best, gap = best_epoch(base), overfitting_gap(base)
    print(f"baseline: best epoch {best}; val_loss − loss {gap[best - 1]:+.3f}, then {gap[-1]:+.3f}")
    for name, h in study.items():
        print(f"  {name:<15} best epoch {best_epoch(h):>2}, test accuracy {h.test_accuracy:.3f}")
    losses = {"training loss": base["loss"], "validation loss": base["val_loss"]}
    cures = {f"{n} ({h.test_accuracy:.3f})": h.history["val_loss"] for n, h in study.items()}
    panels = {f"baseline: best epoch {best}": losses, "validation loss (test accuracy)": cures}
    title = info.title(f"overfitting on {len(small[0][0])} images, a validation split held out")
    fig = plotting.curve_panels(panels, "epoch", "loss", title=title)
    fig.axes[0].axvline(best, color="gray", ls=":")
    lesson.save_figure(fig, out, "overfitting")

    metrics = {
        "standin": info.standin,
        "comparison": [{k: v for k, v in r.items() if k not in ("history", "model")} for r in rows],
        "baseline": {"loss": base["loss"], "val_loss": base["val_loss"]},
        "best_epoch": best,
        "final_gap": gap[-1],
        "cures": {name: h.test_accuracy for name, h in study.items()},
        "headline": f"test accuracy: dense {rows[0]['accuracy']:.3f}, CNN {rows[1]['accuracy']:.3f}"
        f", MNIST CNN {rows[2]['accuracy']:.3f}; baseline best at epoch {best} of {len(gap)}",
    }
    lesson.write_metrics(out, metrics)
    return metrics


if __name__ == "__main__":
    lesson.run(main, Config, QUICK, __doc__)
