# %% [markdown]
# # ex06 · LeNet-5, layer by layer
# LeCun's 1998 network for handwritten digits: two convolution/pooling stages,
# a third convolution that sees the whole 5×5 map, and two dense layers.
# Build it from the workshop deck's table, count its parameters by hand and
# with Keras, and train it on MNIST. First, the deck's own argument for
# convolutions: a feature map shares its weights, a dense layer does not.
#
# | layer | maps | output | kernel | stride | activation |
# |---|---|---|---|---|---|
# | input | 1 | 32×32 | | | |
# | C1 convolution | 6 | 28×28 | 5×5 | 1 | tanh |
# | S2 average pooling | 6 | 14×14 | 2×2 | 2 | |
# | C3 convolution | 16 | 10×10 | 5×5 | 1 | tanh |
# | S4 average pooling | 16 | 5×5 | 2×2 | 2 | |
# | C5 convolution | 120 | 1×1 | 5×5 | 1 | tanh |
# | F6 dense | | 84 | | | tanh |
# | output dense | | 10 | | | softmax |
#
# **Your job:** fill in the five `TODO`s and `answers()`, then run
# `workshop check 6`.
#
# Replaces the workshop deck's `LeNet.ipynb` (and its parameter counts). What
# this LeNet is, next to the deck's table and the 1998 paper:
# - the deck's table gives the pooling layers a tanh. In the paper each
#   subsampling unit adds its 4 inputs, multiplies by a trainable
#   coefficient, adds a trainable bias and squashes (2 parameters per map:
#   12 for S2, 32 for S4). Keras's AveragePooling2D has neither, and adding a
#   tanh after it changes nothing that matters here; the pooling layers are
#   plain averages (0 parameters);
# - the paper's C3 connects each of its 16 maps to only some of S2's 6 maps
#   (a fixed table: 1,516 parameters) to break symmetry and save
#   computation; here every C3 map sees all 6 (2,416 parameters), as every
#   modern convolution does;
# - the paper's output is 10 Euclidean RBF units; here a softmax layer
#   trained with cross-entropy, the standard today;
# - MNIST is padded from 28×28 to 32×32, as LeCun did;
# - it learns with Adam at Keras's default rate (0.001). The paper trained
#   with its own second-order variant of gradient descent (stochastic
#   diagonal Levenberg–Marquardt) and a hand-set schedule of learning rates;
#   Adam needs no schedule for the lesson's 10 epochs;
# - each training batch is shifted and turned a little (augmentation:
#   up to 8% of the image, ±15°; `--no-augment` turns it off, `--quick`
#   leaves it out). The paper's best LeNet-5 also trained on distorted
#   digits (0.8% test error against 0.95% without);
# - it runs on every Keras backend (TensorFlow, JAX, PyTorch). Only the
#   several-machine path (`TF_CONFIG`, `tf.distribute`) is TensorFlow's.

# %%
"""ex06 · LeNet-5, layer by layer."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workshop import backend, data, distributed, gpu, lesson, pipeline, plotting, validate
from workshop.repro import seed_everything

# isort: split
import keras  # after workshop, which keeps TensorFlow's start-up log quiet

# %% [markdown]
# ## Why convolutions: shared weights (the workshop deck)
# A feature map with a 5×5 local receptive field uses the SAME 5×5 weights and
# bias at every position: 26 parameters, whatever the image size. On an input
# of c channels (6 maps of S2, say) the window holds k·k·c weights, so
#
#     parameters of a convolution = (k·k·c + 1) · maps
#     parameters of a dense layer = (n_in + 1) · n_out
#
# The deck compares 20 such maps with a dense layer of 30 units on a 28×28
# image: 20 · 26 = 520 against 785 · 30 = 23,550.


# %%
def conv_parameters(kernel: int, in_channels: int, maps: int) -> int:
    """Parameters of a convolution layer: kernel×kernel weights per input channel, per map."""
    kernel, in_channels, maps = (
        validate.count(kernel, "kernel"),
        validate.count(in_channels, "in_channels"),
        validate.count(maps, "maps"),
    )
    # TODO: the formula above, as an int. Which of the arguments count the
    # weights of one map's window, and where does the bias go? Why does the
    # image size not appear?
    raise NotImplementedError("TODO: conv_parameters()")


def dense_parameters(n_in: int, n_out: int) -> int:
    """Parameters of a dense layer: a weight per input per unit, and a bias per unit."""
    return (validate.count(n_in, "n_in") + 1) * validate.count(n_out, "n_out")


def decks_comparison() -> dict:
    """The deck's numbers: 20 maps of 5×5 (520) against 30 dense units on 784 inputs (23,550)."""
    shared = conv_parameters(5, 1, 20)
    dense = dense_parameters(28 * 28, 30)
    print(
        f"20 shared-weight 5x5 maps: {shared} parameters (the slide: 20 x 26 = 520); "
        f"30 dense units on 28x28: {dense:,} (the slide: 23,550), {dense / shared:.0f} times more"
    )
    return {"conv_20_maps": shared, "dense_30_units": dense}


# %% [markdown]
# The deck puts it together: "28×28 input neurons, followed by a
# convolutional layer using a 5×5 local receptive field and 3 feature maps
# (3×24×24), max-pooling over 2×2 regions (3×12×12), and a fully-connected
# layer of 10 output neurons." Its maps squash with the sigmoid
# σ(b + Σ w·a) of the slide; the 10 outputs are probabilities (softmax).


# %%
def build_decks_cnn() -> keras.Model:
    """The deck's small network: 28×28 → 3 sigmoid maps of 5×5 → 2×2 max pooling → 10 outputs."""
    # TODO: the deck's network, compiled with Adam for integer labels 0..9.
    # Which input shape does a convolution want for a grey image (how many
    # channels)? What must happen between the pooled 3×12×12 maps and the
    # 10 dense outputs?
    raise NotImplementedError("TODO: build_decks_cnn()")


# %% [markdown]
# ## Data: LeNet wants 32×32 inputs
# MNIST digits are 28×28; LeNet-5 was designed for 32×32, so pad 2 pixels of
# zeros on every side (the strokes then reach C1's receptive-field centres):
#
#     padded[n, 2 + i, 2 + j, 0] = image[n, i, j]      zeros everywhere else


# %%
def pad_to_32(images):
    """(n, 28, 28) or (n, 28, 28, 1) -> (n, 32, 32, 1), zero-padded 2 pixels on each side."""
    images = validate.array(images, "images", ndim=(3, 4), dtype=None)
    if not np.issubdtype(images.dtype, np.number):
        raise ValueError(f"images must be numbers (pixels), got dtype {images.dtype}")
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.shape[1:] != (28, 28, 1):
        raise ValueError(
            f"expected images of shape (n, 28, 28) or (n, 28, 28, 1), got {images.shape}"
        )
    # TODO: the (n, 32, 32, 1) images of the formula above, same dtype. Of the
    # four axes (image, row, column, channel), which ones grow, and by how
    # much on each side?
    raise NotImplementedError("TODO: pad_to_32()")


# %% [markdown]
# ## Model: the classic table, one line per row
# A convolution or pooling of window k and stride s turns a side of n pixels
# into (n − k) // s + 1: 32 → 28 → 14 → 10 → 5 → 1. C5's 1×1×120 maps are
# 120 numbers, flattened for F6. Labels are integers (sparse cross-entropy);
# Adam learns; accuracy is reported.


# %%
def build_lenet5() -> keras.Model:
    """LeNet-5 with layers named C1, S2, C3, S4, C5, F6 and output; Adam, sparse cross-entropy, accuracy."""
    # TODO: the table at the top, one Keras layer per row, each named as the
    # table names it. Which rows are convolutions, which poolings (max or
    # average?), which dense? Where do the strides and activations of the
    # table go? What must come between C5 and F6? Then compile as above.
    raise NotImplementedError("TODO: build_lenet5()")


def count_parameters(model: keras.Model) -> dict[str, int]:
    """Trainable parameters per layer, by layer name (0 for pooling and flatten)."""
    if not isinstance(model, keras.Model):
        raise ValueError(f"expected a keras.Model, got {type(model).__name__}")
    # TODO: {layer name: the number of values it LEARNS}, for every layer in
    # order. Which of a layer's weight arrays count (a BatchNormalization's
    # moving averages do not learn; a frozen layer does not either)? How many
    # numbers does an array of shape (5, 5, 1, 6) hold?
    raise NotImplementedError("TODO: count_parameters()")


# %% [markdown]
# ## Questions
# By hand: C1 has (5·5·1 + 1)·6 = 156 parameters while F6, a dense layer, has
# (120 + 1)·84 = 10,164. Shared weights keep convolutions tiny.
# 1. The paper's C3 connects 6 of its maps to 3 of S2's maps each, 9 maps
#    to 4, and 1 map to all 6. How many parameters does that C3 have?
# 2. Which layer of `build_lenet5` holds the most parameters (its name)?
# 3. Feed LeNet-5 64×64 images instead (same layers): how many parameters
#    would C1 have, and how many F6? Answer [C1, F6].
# 4. How many multiplications does C1 make for one 32×32 image (each output
#    value is a sum over its 5×5 window)?
#
# To think about (no check): why does a bigger image leave C1 alone but
# blow up F6? What do the learned C1 filters look like after training?


# %%
def answers() -> dict:
    """Your answers to the questions above, keyed "q1", "q2", ..."""
    # TODO: numbers for q1 and q4, a name for q2, a list of two numbers for
    # q3. conv_parameters, dense_parameters and count_parameters help.
    raise NotImplementedError("TODO: answers()")


# %% [markdown]
# ## Run the lesson


# %%
@dataclass
class Config:
    limit: int = 0
    epochs: int = 10
    augment: bool = True  # small random shifts and turns of each batch: more data for free
    seed: int = 0
    out_dir: str = "outputs/ex06_lenet"


QUICK = {"limit": 2000, "epochs": 3, "augment": False}


def c1_maps(image):
    """For TensorBoard: C1's six feature maps of one image, as six grey pictures in [0, 1]."""

    def make(model):
        sub = keras.Model(model.inputs[0], model.get_layer("C1").output)
        maps = keras.ops.convert_to_numpy(sub(image[None], training=False))  # any backend
        return lesson.as_images(maps[0])  # six 28x28 maps

    return make


def main(config: Config | None = None) -> dict:
    config = config or Config()
    out = lesson.output_dir(config.out_dir)
    seed_everything(config.seed)
    comparison = decks_comparison()
    small = build_decks_cnn()
    print(
        f"the deck's small network: {small.count_params():,} parameters "
        f"({conv_parameters(5, 1, 3)} in its 3 maps, {dense_parameters(3 * 12 * 12, 10):,} "
        "in the output layer)"
    )
    images = data.load_mnist(limit=config.limit or None)
    x_train = pad_to_32(images.x_train).astype("float32") / 255.0
    x_test = pad_to_32(images.x_test).astype("float32") / 255.0
    with gpu.strategy().scope():  # several GPUs or machines: the same lesson (README, "Scaling")
        model = build_lenet5()
    model.summary()
    counts = count_parameters(model)
    for name, n in counts.items():
        print(f"  {name:>8}: {n:6,d} parameters")
    print(f"  total   : {sum(counts.values()):6,d} (Keras says {model.count_params():,d})")
    if distributed.multi_worker():  # Keras 3's fit does not run there: a custom training step
        history = distributed.fit(
            model,
            x_train,
            images.y_train,
            epochs=config.epochs,
            batch_size=128,
            validation_data=(x_test, images.y_test),
            loss=model.loss,
            optimizer=model.optimizer,
        )
    else:
        history = model.fit(
            pipeline.to_dataset(
                x_train, images.y_train, 128, shuffle=True, seed=config.seed, augment=config.augment
            ),
            validation_data=pipeline.to_dataset(x_test, images.y_test, 512),
            epochs=config.epochs,
            verbose=2,
            callbacks=lesson.tensorboard(
                out, histograms=True, images={"C1 feature maps of a test digit": c1_maps(x_test[0])}
            ),
        )
    lesson.save_figure(
        plotting.history(history, title=images.title("LeNet-5 on MNIST")), out, "history"
    )
    kernels = model.get_layer("C1").get_weights()[0][:, :, 0, :]
    lesson.save_figure(
        plotting.filter_grid(
            kernels, [f"C1 map {i + 1}" for i in range(6)], title="the six learned C1 filters"
        ),
        out,
        "c1_filters",
    )
    y_pred = model.predict(x_test, verbose=0).argmax(1)
    accuracy = float(np.mean(y_pred == images.y_test))
    lesson.save_figure(
        plotting.image_grid(
            images.x_test[:24],
            images.y_test[:24],
            y_pred[:24],
            images.class_names,
            title=images.title(f"test digits, accuracy {accuracy:.3f}"),
        ),
        out,
        "predictions",
    )
    metrics = {
        "decks_comparison": comparison,
        "decks_cnn_parameters": small.count_params(),
        "parameters": counts,
        "total_parameters": model.count_params(),
        "final_loss": float(history.history["loss"][-1]),
        "first_loss": float(history.history["loss"][0]),
        "weights_sha256": distributed.weights_digest(model),
        "test_accuracy": accuracy,
        "standin": images.standin,
        "backend": backend.name(),
        "headline": f"test accuracy {accuracy:.3f}, {model.count_params():,} parameters",
    }
    lesson.write_metrics(out, metrics)
    return metrics


if __name__ == "__main__":
    lesson.run(main, Config, QUICK, __doc__)
