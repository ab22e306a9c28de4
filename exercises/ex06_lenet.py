# %% [markdown]
# # ex06 · LeNet-5, layer by layer
# LeCun's 1998 network for handwritten digits: two convolution/pooling stages,
# a third convolution that sees the whole 5×5 map, and two dense layers.
# Build it exactly as the classic table, count its parameters by hand and
# with Keras, and train it on MNIST.
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
# **Your job:** fill in every `TODO`, then run `workshop check 6`.

# %%
"""ex06 · LeNet-5, layer by layer."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workshop import data, distributed, gpu, lesson, pipeline, plotting
from workshop.repro import seed_everything

tf = gpu._tf()
import keras  # noqa: E402

# %% [markdown]
# ## Data: LeNet wants 32×32 inputs
# MNIST digits are 28×28; LeNet-5 was designed for 32×32, so pad 2 pixels of
# zeros on every side (the strokes then reach C1's receptive-field centres).


# %%
def pad_to_32(images):
    """(n, 28, 28) or (n, 28, 28, 1) -> (n, 32, 32, 1), zero-padded 2 pixels on each side."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4 or images.shape[1:] != (28, 28, 1):
        raise ValueError(
            f"expected images of shape (n, 28, 28) or (n, 28, 28, 1), got {images.shape}"
        )
    # TODO: np.pad with ((0, 0), (2, 2), (2, 2), (0, 0)): nothing on the
    # batch and channel axes, 2 pixels before and after on height and width.
    raise NotImplementedError("TODO: pad_to_32()")


# %% [markdown]
# ## Model: the classic table, one line per row


# %%
def build_lenet5() -> keras.Model:
    """LeNet-5 with layers named C1, S2, C3, S4, C5, F6 and output; Adam, sparse cross-entropy, accuracy."""
    # TODO: keras.Sequential starting with keras.Input(shape=(32, 32, 1)), then
    #   Conv2D(6, 5, activation="tanh", name="C1"), AveragePooling2D(2, name="S2"),
    #   Conv2D(16, 5, activation="tanh", name="C3"), AveragePooling2D(2, name="S4"),
    #   Conv2D(120, 5, activation="tanh", name="C5"), Flatten(),
    #   Dense(84, activation="tanh", name="F6"), Dense(10, activation="softmax", name="output").
    # Compile with optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"].
    raise NotImplementedError("TODO: build_lenet5()")


def count_parameters(model: keras.Model) -> dict[str, int]:
    """Trainable parameters per layer, by layer name (0 for pooling and flatten)."""
    # TODO: for each layer in model.layers, add up the sizes (np.prod of the
    # shape) of layer.trainable_weights.
    raise NotImplementedError("TODO: count_parameters()")


# %% [markdown]
# ## Run the lesson
# By hand: a convolution layer has (k·k·channels_in + 1)·maps parameters, so C1
# has (5·5·1 + 1)·6 = 156 while F6, a dense layer, has (120 + 1)·84 = 10,164.
# Shared weights keep convolutions tiny.


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
        return lesson.as_images(sub(image[None], training=False)[0].numpy())  # six 28x28 maps

    return make


def main(config: Config | None = None) -> dict:
    config = config or Config()
    out = lesson.output_dir(config.out_dir)
    seed_everything(config.seed)
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
        "parameters": counts,
        "total_parameters": model.count_params(),
        "final_loss": float(history.history["loss"][-1]),
        "first_loss": float(history.history["loss"][0]),
        "weights_sha256": distributed.weights_digest(model),
        "test_accuracy": accuracy,
        "standin": images.standin,
        "headline": f"test accuracy {accuracy:.3f}, {model.count_params():,} parameters",
    }
    lesson.write_metrics(out, metrics)
    return metrics


if __name__ == "__main__":
    lesson.run(main, Config, QUICK, __doc__)
