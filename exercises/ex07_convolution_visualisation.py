# %% [markdown]
# # ex07 · What a filter does: convolution and pooling by hand
# Slide a small kernel over an image, multiply and sum: that is all a
# convolution layer does (CNNs do not flip the kernel, so strictly it is a
# cross-correlation). Apply classic hand-made filters to a real photograph,
# pool, then look inside a trained CNN.
#
# **Your job:** fill in every `TODO`, then run `workshop check 7`.

# %%
"""ex07 · What a filter does: convolution and pooling by hand."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workshop import data, lesson, plotting

# %% [markdown]
# ## Named 3×3 kernels

# %%
KERNELS = {
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=float),
    "edge": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=float),  # Laplacian
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=float),
    "blur": np.full((3, 3), 1 / 9),  # box blur: sums to 1
    "sobel_x": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float),
    "sobel_y": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=float),
}


def _positive_int(value, name, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


# %% [markdown]
# ## Convolution, the CNN way
# Output size along each axis: (H + 2·padding − k) // stride + 1.


# %%
def convolve2d(image, kernel, stride: int = 1, padding: int = 0):
    """Slide `kernel` over the zero-padded `image` with `stride`; multiply and sum (no flip)."""
    image, kernel = np.asarray(image, dtype=float), np.asarray(kernel, dtype=float)
    if image.ndim != 2 or kernel.ndim != 2:
        raise ValueError(
            f"expected a 2-D image and a 2-D kernel, got {image.shape} and {kernel.shape}"
        )
    stride, padding = _positive_int(stride, "stride"), _positive_int(padding, "padding", 0)
    padded_shape = (image.shape[0] + 2 * padding, image.shape[1] + 2 * padding)
    if kernel.shape[0] > padded_shape[0] or kernel.shape[1] > padded_shape[1]:
        raise ValueError(f"kernel {kernel.shape} is larger than the padded image {padded_shape}")
    # TODO: pad with np.pad(image, padding); compute the output size
    # ((H + 2p - kh) // stride + 1, and the same for the width); then for each
    # output position (i, j), out[i, j] = sum(window * kernel) where window is
    # the kh x kw patch starting at (i*stride, j*stride). Loops are fine;
    # np.lib.stride_tricks.sliding_window_view makes it fast.
    raise NotImplementedError("TODO: convolve2d()")


def _pool(x, size, stride, reduce):
    x = np.asarray(x, dtype=float)
    if x.ndim not in (2, 3):
        raise ValueError(f"expected an (H, W) or (H, W, channels) array, got shape {x.shape}")
    size, stride = _positive_int(size, "size"), _positive_int(stride, "stride")
    if size > x.shape[0] or size > x.shape[1]:
        raise ValueError(f"pool size {size} is larger than the input {x.shape[:2]}")
    window = (size, size) if x.ndim == 2 else (size, size, 1)
    windows = np.lib.stride_tricks.sliding_window_view(x, window)[::stride, ::stride]
    return reduce(windows.reshape(*windows.shape[: x.ndim], -1), axis=-1)


def max_pool2d(x, size: int = 2, stride: int = 2):
    """The largest value of each size x size window, windows `stride` apart ('valid')."""
    # TODO: out[i, j] = max of x[i*stride : i*stride+size, j*stride : j*stride+size]
    # (per channel when x has a third axis). The helper _pool(x, size, stride, np.max)
    # does the sliding; or write your own loop.
    raise NotImplementedError("TODO: max_pool2d()")


def average_pool2d(x, size: int = 2, stride: int = 2):
    """The mean of each size x size window, windows `stride` apart ('valid')."""
    # TODO: like max_pool2d with the mean.
    raise NotImplementedError("TODO: average_pool2d()")


# %% [markdown]
# ## Filters on a real photograph


# %%
def apply_filter(image, name_or_kernel, relu: bool = False):
    """Filter a grayscale image, same size out (zero padding), optional ReLU, clipped to the image's range."""
    image = np.asarray(image, dtype=float)
    if image.ndim != 2:
        raise ValueError(f"expected a 2-D grayscale image, got shape {image.shape}")
    if isinstance(name_or_kernel, str):
        if name_or_kernel not in KERNELS:
            raise ValueError(
                f"unknown kernel {name_or_kernel!r}; expected one of {sorted(KERNELS)}"
            )
        kernel = KERNELS[name_or_kernel]
    else:
        kernel = np.asarray(name_or_kernel, dtype=float)
    if kernel.ndim != 2 or kernel.shape[0] != kernel.shape[1] or kernel.shape[0] % 2 == 0:
        raise ValueError(f"expected a square kernel of odd size, got shape {kernel.shape}")
    # TODO: convolve2d with padding = k // 2 (so the output keeps the image's
    # size), then np.maximum(out, 0) if relu, then np.clip to [image.min(), image.max()].
    raise NotImplementedError("TODO: apply_filter()")


# %% [markdown]
# ## Inside a trained CNN: feature maps, layer by layer


# %%
def feature_maps(model, image, layers=None) -> dict:
    """{layer name: activations (H, W, C)} of the convolution and pooling layers for one image.

    Works for functional and Sequential models, built or not: a Sequential
    model has no `.input` until it has been built or called.
    """
    import keras

    image = np.asarray(image, dtype="float32")
    if image.ndim == 2:
        image = image[..., np.newaxis]
    if image.ndim != 3:
        raise ValueError(f"expected one image (H, W) or (H, W, C), got shape {image.shape}")
    kinds = (keras.layers.Conv2D, keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)
    wanted = layers or [layer.name for layer in model.layers if isinstance(layer, kinds)]
    unknown = set(wanted) - {layer.name for layer in model.layers}
    if unknown:
        raise ValueError(
            f"no layers named {sorted(unknown)}; the model has {[layer.name for layer in model.layers]}"
        )
    batch = image[np.newaxis]
    # TODO: for a keras.Sequential, run the batch through model.layers one at
    # a time (x = layer(x)) and keep the outputs of the wanted layers. For any
    # other model, build keras.Model(model.inputs, [model.get_layer(n).output
    # for n in wanted]) and predict the batch. Return {name: array[0]}.
    raise NotImplementedError("TODO: feature_maps()")


def small_cnn(n_classes: int = 10):
    """conv1 → pool1 → conv2 → pool2 → dense: small enough to train in seconds."""
    import keras

    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(8, 3, activation="relu", name="conv1"),
            keras.layers.MaxPooling2D(2, name="pool1"),
            keras.layers.Conv2D(16, 3, activation="relu", name="conv2"),
            keras.layers.MaxPooling2D(2, name="pool2"),
            keras.layers.Flatten(),
            keras.layers.Dense(n_classes, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


# %% [markdown]
# ## Run the lesson


# %%
@dataclass
class Config:
    limit: int = 10000
    epochs: int = 3
    seed: int = 0
    out_dir: str = "outputs/ex07_convolution_visualisation"


QUICK = {"limit": 1500, "epochs": 2}


def main(config: Config | None = None) -> dict:
    config = config or Config()
    out = lesson.output_dir(config.out_dir)
    photo = data.load_photo()
    filtered = {name: apply_filter(photo, name) for name in KERNELS}
    lesson.save_figure(
        plotting.filter_grid(
            list(filtered.values()),
            list(filtered),
            ncols=3,
            title="3x3 kernels on a photograph (Grace Hopper)",
        ),
        out,
        "kernels_on_photo",
    )
    edges = convolve2d(photo, KERNELS["edge"], padding=1)
    lesson.save_figure(
        plotting.filter_grid(
            [photo, edges, np.maximum(edges, 0)],
            ["photo", "edge filter", "edge filter + ReLU"],
            ncols=3,
            title="ReLU keeps what the filter found",
        ),
        out,
        "relu_after_edge",
    )
    pooled = max_pool2d(np.maximum(edges, 0))
    lesson.save_figure(
        plotting.filter_grid(
            [np.maximum(edges, 0), pooled, average_pool2d(np.maximum(edges, 0))],
            [
                f"edges {edges.shape[0]}x{edges.shape[1]}",
                f"max pool {pooled.shape[0]}x{pooled.shape[1]}",
                "average pool",
            ],
            ncols=3,
            title="pooling halves the size and keeps the strongest response",
        ),
        out,
        "pooling",
    )
    import keras

    from workshop import pipeline

    keras.utils.set_random_seed(config.seed)
    images = data.load_fashion_mnist(limit=config.limit)
    x = images.x_train[..., None].astype("float32") / 255
    model = small_cnn()
    model.fit(
        pipeline.to_dataset(x, images.y_train, 128, shuffle=True),
        epochs=config.epochs,
        verbose=2,
        callbacks=lesson.tensorboard(
            out,
            images={
                "first conv layer's maps of one image": lambda m: lesson.as_images(
                    next(iter(feature_maps(m, x[0]).values()))
                )
            },
        ),
    )
    maps = feature_maps(model, x[0])
    lesson.save_figure(
        plotting.feature_maps(
            maps,
            title=images.title(f"feature maps for one {images.class_names[images.y_train[0]]}"),
        ),
        out,
        "feature_maps",
    )
    lesson.save_figure(
        plotting.filter_grid(
            model.get_layer("conv1").get_weights()[0][:, :, 0, :], title="learned conv1 kernels"
        ),
        out,
        "learned_kernels",
    )
    metrics = {
        "photo_shape": list(photo.shape),
        "pooled_shape": list(pooled.shape),
        "feature_map_shapes": {k: list(v.shape) for k, v in maps.items()},
        "headline": f"{len(KERNELS)} kernels on a {photo.shape[0]}x{photo.shape[1]} photo; feature maps of {len(maps)} layers",
    }
    lesson.write_metrics(out, metrics)
    return metrics


if __name__ == "__main__":
    lesson.run(main, Config, QUICK, __doc__)
