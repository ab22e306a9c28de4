# %% [markdown]
# # ex14 · Transfer learning: reuse what another network learned
# A network trained on one task has learned, in its convolution layers,
# strokes and shapes that other tasks need too. Keep those layers, put a new
# last layer (a *head*) on them, and the new task needs fewer labelled
# examples. Keras's classic example: learn the digits 0–4, reuse the
# convolutional part for 5–9, against the same network from scratch, at 1
# to 100 labelled examples per class: the figure every transfer-learning
# course shows. With the network, a base pretrained on ImageNet joins in.
# **Your job:** the five `TODO`s and the questions, then `workshop check 14`.
#
# The decks stop before transfer learning; DeepLearning.AI's second course
# and fast.ai's first lesson start with it. What changed, and why:
# - Keras's `mnist_transfer_cnn.py` made smaller (16 and 32 filters, no
#   dropout), and its new head one softmax layer (fewer weights to learn
#   from a few examples), so that a CPU trains it in seconds;
# - three contenders on the same examples: from scratch, *frozen* (only
#   the new head trains) and *fine-tuned* (then everything trains a little,
#   at a 10× smaller learning rate);
# - each run stops at its best epoch on a validation set (20 examples per
#   class, apart from the training ones: with one label per class a real
#   project would not have them), and the test set is used once per model;
# - the ImageNet base (MobileNetV2) only frozen (fine-tuning it on a CPU
#   takes minutes), and only when `workshop data fetch` has cached its
#   weights: offline, one line says so.

# %%
"""ex14 · Transfer learning: digits 0–4 reused for 5–9; frozen, fine-tuned, from scratch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workshop import data, gpu, lesson, plotting, validate
from workshop.repro import seed_everything

# isort: split
import keras  # after workshop, which keeps TensorFlow's start-up log quiet

# %% [markdown]
# ## Data: two tasks from one data set
# MNIST's digits 0–4 are the *first* task, with plenty of labels; 5–9 the
# *new* one. A classifier wants labels 0, 1, …: the rows of `classes` keep
# their order, and classes[i] becomes label i ((5, …, 9) become 0…4).


# %%
def split_by_class(x, y, classes) -> tuple[np.ndarray, np.ndarray]:
    """The rows of x and y whose label is in `classes`; labels renumbered: classes[i] -> i."""
    y, x = validate.labels(y, "y"), np.asarray(x)
    validate.same_length(x, y, "x and y")
    classes = validate.indices(classes, "classes")
    if len(set(classes.tolist())) != len(classes) or not np.isin(classes, y).all():
        labels = np.unique(y).tolist()
        raise ValueError(f"classes must be different labels of y {labels}, got {classes.tolist()}")
    # TODO: which rows have one of those labels (in any order), and what is
    # each kept label's position in `classes`? Return the kept x and the new
    # labels, as NumPy arrays.
    raise NotImplementedError("TODO: split_by_class()")


def few_shot(x, y, per_class: int, seed: int = 0):
    """`per_class` random examples of each class, and the rest: ((x, y), (x_rest, y_rest));
    seeded, and nested: with the same seed, a class's 10 examples are among its 50."""
    x, y = np.asarray(x), validate.labels(y, "y")
    validate.same_length(x, y, "x and y")
    per_class = validate.count(per_class, "per_class")
    rng = np.random.default_rng(validate.integer(seed, "seed", low=0))
    picked = []
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        if len(rows) < per_class:
            raise ValueError(f"class {c} has {len(rows)} examples, fewer than {per_class}")
        picked.append(rng.permutation(rows)[:per_class])
    chosen = np.sort(np.concatenate(picked))
    rest = np.setdiff1d(np.arange(len(y)), chosen)
    return (x[chosen], y[chosen]), (x[rest], y[rest])


# %% [markdown]
# ## Model: a feature extractor, and a head
# The convolutional part turns a 28×28 digit into 800 *features*: Conv2D(16,
# 3×3, relu) → MaxPooling2D(2) → Conv2D(32, 3×3, relu) → MaxPooling2D(2) →
# Flatten (28 → 26 → 13 → 11 → 5: 5·5·32 = 800). A classifier is that base
# and a head, Dense(n_classes, softmax).
#
# **Freezing.** A layer with `trainable = False` keeps its weights during
# `fit`; set on a model, it is set on every layer inside, from the next
# compile on. A trap: under TensorFlow, Keras 3.15 skips `model.trainable =
# True` when the model's own flag is True already, and frozen layers inside
# stay frozen (the fine-tuning case). Flipped first, it reaches them all.
#
# **The transfer model** calls the base given (shared, not copied; frozen)
# and puts a new head on its features. A frozen BatchNormalization layer
# runs in inference mode; to fine-tune a base that has some (ImageNet ones
# do), freeze them again after unfreezing it: Keras 3's `fit` overrides the
# `training=False` older guides wrote in the model (keras-team/keras#20285).


# %%
def build_feature_extractor() -> keras.Model:
    """The convolutional part: (28, 28, 1) images -> 800 features (see above)."""
    layers = [keras.Input(shape=(28, 28, 1))]
    for filters in (16, 32):
        layers += [keras.layers.Conv2D(filters, 3, activation="relu"), keras.layers.MaxPooling2D(2)]
    return keras.Sequential([*layers, keras.layers.Flatten()], name="features")


def compile_classifier(model: keras.Model, learning_rate: float = 1e-3) -> keras.Model:
    """Adam at `learning_rate`, integer labels, accuracy."""
    adam = keras.optimizers.Adam(learning_rate=learning_rate)
    model.compile(optimizer=adam, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def classifier(base: keras.Model, n_classes: int) -> keras.Model:
    """base -> Dense(n_classes, softmax), everything trainable, compiled."""
    head = keras.layers.Dense(validate.count(n_classes, "n_classes"), activation="softmax")
    return compile_classifier(keras.Sequential([keras.Input(base.input_shape[1:]), base, head]))


def freeze(model: keras.Model, trainable: bool = False) -> keras.Model:
    """The same model, with every layer's weights frozen (or, trainable=True, unfrozen)."""
    validate.instance(model, "model", keras.Model)
    if not isinstance(trainable, bool):
        raise ValueError(f"trainable must be True or False, got {trainable!r}")
    # TODO: one setting, on the model, reaches every layer inside it. Which,
    # and how does it reach them when the model's own flag has that value?
    raise NotImplementedError("TODO: freeze()")
    return model


def transfer_model(base: keras.Model, n_classes: int) -> keras.Model:
    """The base, frozen, then a new Dense(n_classes, softmax); compiled (Adam, integer
    labels, accuracy)."""
    validate.instance(base, "base", keras.Model)
    n_classes = validate.integer(n_classes, "n_classes", low=2)
    if len(base.output_shape) != 2:
        raise ValueError(f"the base must give (None, features), got {base.output_shape}: Flatten?")
    # TODO: freeze the base; then, with the functional API, from an input of
    # the base's input shape: the base's features, a new softmax layer with
    # one output per class, the model from input to output. Compile it
    # (compile_classifier) and return it.
    raise NotImplementedError("TODO: transfer_model()")


def copy_of(model: keras.Model) -> keras.Model:
    """A new model with the same layers and weights: training it leaves `model` alone."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


# %% [markdown]
# ## Train: three contenders, the same few examples
# Each run stops at its best epoch on the validation set: `EarlyStopping`
# watches `val_loss`, stops `patience` epochs after its lowest, and puts
# that epoch's weights back.
# - **from scratch**: `classifier(build_feature_extractor(), n)`, random
#   weights, everything trains;
# - **frozen**: `transfer_model` on a *copy* of the pretrained base (the
#   next run must start from the same weights): only the head trains;
# - **fine-tuned**: a copy of the trained frozen model, every layer
#   unfrozen, compiled again at the small `fine_tune_rate` (large steps
#   would wreck the features), trained on.


# %%
def fit_settings(val, patience: int, batch_size: int = 16) -> dict:
    """fit's keywords: validate on `val`; stop `patience` epochs after val_loss's lowest and
    keep that epoch's weights; quietly."""
    patience = validate.count(patience, "patience")
    stop = keras.callbacks.EarlyStopping("val_loss", patience=patience, restore_best_weights=True)
    return {"validation_data": val, "batch_size": batch_size, "callbacks": [stop], "verbose": 0}


def pretrain(train, val, epochs: int = 10, seed: int = 0) -> tuple[keras.Model, keras.Model]:
    """A feature extractor and its 5-way head trained on the first task: (extractor, model)."""
    keras.utils.set_random_seed(seed)
    with gpu.strategy().scope():
        extractor = build_feature_extractor()
        model = classifier(extractor, int(np.max(train[1])) + 1)
    model.fit(*train, epochs=epochs, **fit_settings(val, patience=3, batch_size=64))
    return extractor, model


def train_three_ways(
    pretrained,
    train,
    val,
    epochs=150,
    fine_tune_epochs=30,
    fine_tune_rate=1e-4,
    patience=20,
    seed=0,
) -> dict[str, keras.Model]:
    """{'scratch', 'frozen', 'fine_tuned'}: three models trained on `train` (x, y), each
    stopped at its best epoch on `val`. `pretrained` itself is left as it is."""
    validate.instance(pretrained, "pretrained", keras.Model)
    (x, y), (x_val, y_val) = train, val
    y, y_val = validate.labels(y, "y"), validate.labels(y_val, "y_val")
    validate.same_length(x, y, "x and y")
    epochs = validate.count(epochs, "epochs")
    fine_tune_epochs = validate.count(fine_tune_epochs, "fine_tune_epochs")
    fine_tune_rate = validate.positive(fine_tune_rate, "fine_tune_rate")
    n_classes = int(max(y.max(), y_val.max())) + 1
    settings = fit_settings((x_val, y_val), patience)
    keras.utils.set_random_seed(seed)
    # TODO: the three contenders above, built inside gpu.strategy().scope():
    # which one starts from random weights, which from copies? Train each on
    # (x, y) with **settings, for `epochs` (fine-tuning: `fine_tune_epochs`);
    # what must happen between freezing a model differently and training it?
    raise NotImplementedError("TODO: train_three_ways()")
    return {"scratch": scratch, "frozen": frozen, "fine_tuned": fine_tuned}


# %% [markdown]
# ## Evaluate: accuracy against the number of labels
# For each number n of labelled examples per class: n examples of each new
# class (`few_shot`, the same seed for every n, so the 10 are among the
# 50), the three contenders trained on them, and each one's accuracy on the
# test set, measured once.


# %%
def accuracy_vs_labels(counts, pretrained, pool, val, test, seed=0, **train) -> dict:
    """{'scratch', 'frozen', 'fine_tuned'}: test accuracy at each count of `counts` (labelled
    examples per class drawn from `pool`); `train` goes to train_three_ways."""
    counts = [validate.count(n, "each of counts") for n in counts]
    if not counts:
        raise ValueError("counts must name at least one number of examples per class, got none")
    results = {"scratch": [], "frozen": [], "fine_tuned": []}
    for n in counts:
        # TODO: n examples of each class from the pool (few_shot, with `seed`),
        # the three models trained on them (**train passes the settings on),
        # and each one's accuracy on the test set (x, y), appended to its list.
        raise NotImplementedError("TODO: accuracy_vs_labels()")
    return results


# %% [markdown]
# ## With network: a base pretrained on ImageNet
# MobileNetV2 (the 0.35-wide version for 96×96 images, 410,208 weights)
# learned on 1.2 million photographs. It wants colour images in [-1, 1]: a
# resizing, the grey channel three times, and a rescaling, in front of it;
# those layers have no weights, so the whole is a base like ours, with 1,280
# features per image.


# %%
def imagenet_base(mobilenet: keras.Model) -> keras.Model:
    """(28, 28, 1) digits in [0, 1] -> 96×96 RGB in [-1, 1] -> MobileNetV2's features."""
    inputs = keras.Input(shape=(28, 28, 1))
    x = keras.layers.Resizing(96, 96)(inputs)
    x = keras.layers.Concatenate()([x, x, x])
    x = keras.layers.Rescaling(2.0, offset=-1.0)(x)
    return keras.Model(inputs, mobilenet(x), name="imagenet_features")


def imagenet_frozen(counts, pool, val, test, seed=0, epochs=150) -> list[float] | None:
    """The ImageNet base, frozen, with a new head at each count; None when it is not cached."""
    mobilenet = data.load_pretrained_base()
    if mobilenet is None:
        fix = f"`{data.FETCH_HINT} --name {data.PRETRAINED}` adds them; the rest runs"
        print(f"ImageNet base skipped: weights not cached (none download offline); {fix}.")
        return None
    base, scores = imagenet_base(mobilenet), []
    for n in counts:
        keras.utils.set_random_seed(seed)
        model = transfer_model(base, 5)
        model.fit(*few_shot(*pool, n, seed=seed)[0], epochs=epochs, **fit_settings(val, 20))
        scores.append(float(model.evaluate(*test, verbose=0, return_dict=True)["accuracy"]))
    return scores


# %% [markdown]
# ## Run the lesson


# %%
@dataclass
class Config:
    limit: int = 0  # images of each split (0 = all)
    counts: str = "1,5,10,50,100"  # labelled examples per class of the new task
    val_per_class: int = 20
    pretrain_epochs: int = 10
    epochs: int = 150  # at most: each run stops 20 epochs after its best on the validation set
    fine_tune_epochs: int = 30
    seed: int = 0
    out_dir: str = "outputs/ex14_transfer_learning"


QUICK = {"counts": "2,10", "pretrain_epochs": 5, "epochs": 40, "fine_tune_epochs": 5}
FIRST, NEW = (0, 1, 2, 3, 4), (5, 6, 7, 8, 9)


def main(config: Config | None = None) -> dict:
    config = config or Config()
    out = lesson.output_dir(config.out_dir)
    seed_everything(config.seed)
    print(gpu.setup())
    images = data.load_mnist(limit=config.limit or None)
    (x_train, y_train), (x_test, y_test) = (
        ((x.astype("float32") / 255)[..., np.newaxis], y) for x, y in images.as_tuples()
    )
    counts = [int(n) for n in config.counts.split(",")]
    first = split_by_class(x_train, y_train, FIRST)
    val_first, train_first = few_shot(*first, len(first[1]) // 50, seed=config.seed)  # 10 %
    extractor, model = pretrain(train_first, val_first, config.pretrain_epochs, config.seed)
    first_test = split_by_class(x_test, y_test, FIRST)
    first_accuracy = float(model.evaluate(*first_test, verbose=0, return_dict=True)["accuracy"])
    print(f"first task (0-4): {len(train_first[1])} images, test accuracy {first_accuracy:.3f}")
    new, test = split_by_class(x_train, y_train, NEW), split_by_class(x_test, y_test, NEW)
    val, pool = few_shot(*new, config.val_per_class, seed=config.seed)
    train = {"epochs": config.epochs, "fine_tune_epochs": config.fine_tune_epochs}
    results = accuracy_vs_labels(counts, extractor, pool, val, test, config.seed, **train)
    names = ("from scratch", "0-4 base, frozen", "0-4 base, fine-tuned")
    series = dict(zip(names, results.values(), strict=True))
    imagenet = imagenet_frozen(counts, pool, val, test, config.seed, config.epochs)
    if imagenet is not None:
        series["ImageNet MobileNetV2, frozen"] = results["imagenet"] = imagenet
    for label, values in series.items():
        print(f"  {label:<28}", *(f"{n:>3}/class {values[i]:.3f}" for i, n in enumerate(counts)))
    title = images.title(f"new task (5-9): test accuracy, {len(test[1])} images")
    fig = plotting.against_labels(counts, series, title=title, chance=1 / len(NEW))
    lesson.save_figure(fig, out, "accuracy_vs_labels")
    at = counts.index(10) if 10 in counts else 0
    headline = f"{counts[at]}/class: " + ", ".join(f"{k} {v[at]:.3f}" for k, v in results.items())
    metrics = {
        "standin": images.standin,
        "counts": counts,
        "first_task_accuracy": first_accuracy,
        "accuracy": results,
        "imagenet": "skipped: weights not cached" if imagenet is None else "frozen MobileNetV2",
        "headline": headline + (" (stand-in digits)" if images.standin else ""),
    }
    lesson.write_metrics(out, metrics)
    return metrics


# %% [markdown]
# ## Questions
# 1. How many weights does `transfer_model(build_feature_extractor(), 5)`
#    train with its base frozen, and how many once all is unfrozen? (A list.)
# 2. The ImageNet base gives 1,280 features per image. Frozen, how many
#    weights does `transfer_model` train on it for the 5 new classes?
# 3. A BatchNormalization layer with `trainable = False`, called with
#    `training=True`, normalises with (a) the batch's own mean and
#    variance, (b) the moving averages it learned before?
#
# To think about: why does the gap between frozen and from scratch close
# as labels grow? Why can fine-tuning lose accuracy at 1 example per class?
# Which base reads digits better, the 0–4 one or ImageNet's, and why?


# %%
def answers() -> dict:
    """Your answers to the questions above, keyed "q1", "q2", ..."""
    # TODO: answer each question with a list, a number or a letter.
    raise NotImplementedError("TODO: answers()")


if __name__ == "__main__":
    lesson.run(main, Config, QUICK, __doc__)
