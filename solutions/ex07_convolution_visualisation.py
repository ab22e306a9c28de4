# %% [markdown]
# # ex07 · What a filter does: convolution and pooling by hand
# Slide a small kernel over an image, multiply and sum: that is all a
# convolution layer does (CNNs do not flip the kernel, so strictly it is a
# cross-correlation). Apply classic hand-made filters to a real photograph,
# pool, then look inside a trained CNN.
#
# **Your job:** fill in the three `TODO`s, then run `workshop check 7`.
#
# Replaces the workshop deck's `Course 1 - Part 6 - Lesson 3 - Notebook.ipynb`
# (convolutions and pooling by hand); the worked examples are the decks'.
# Changes from the course, and why:
# - the notebook filters `scipy.misc.ascent()`, which SciPy has removed
#   (`scipy.datasets.ascent` now downloads it); here the photograph that
#   ships with matplotlib (Grace Hopper), so the lesson works offline;
# - the notebook's pooling drops the image's last row and column when the
#   size is odd; `max_pool2d(..., padding="same")` keeps them, as the deep
#   networks deck's 5×5 → 3×3 example does (and Keras's padding="same").

# %%
"""ex07 · What a filter does: convolution and pooling by hand."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workshop import data, lesson, plotting, validate

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
    try:
        return validate.integer(value, name, low=minimum)
    except ValueError:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}") from None


# The decks' worked examples (each a few pixels, computed in `decks_examples`).
ONE = np.array(  # the deep networks deck: a handwritten 1 on 7×7 pixels
    [
        [0] * 7,
        [0] * 7,
        [0, 0, 0, 1, 0, 0, 0],
        [0, 0, 1, 1, 0, 0, 0],
        [0, 0, 0, 1, 0, 0, 0],
        [0, 0, 0, 1, 0, 0, 0],
        [0] * 7,
    ],
    dtype=float,
)
ONE_DETECTOR = np.array([[1, 0, 0], [1, 0, 1], [0, 1, 1]], dtype=float)
ONE_MAP = [[0, 1, 1, 0, 0], [1, 3, 1, 1, 0], [1, 2, 2, 2, 0], [0, 2, 2, 2, 0], [0, 1, 0, 2, 0]]
POOL_INPUT = np.array(  # the same deck's max pooling example: 5×5 -> 3×3
    [[1, 0, 1, 2, 0], [1, 2, 0, 2, 1], [1, 0, 0, 1, 0], [1, 1, 2, 3, 0], [0, 0, 1, 0, 0]],
    dtype=float,
)
POOLED = [[2, 2, 1], [1, 3, 0], [0, 1, 0]]
SMILEY = np.array(  # the CNN deck's 7×7 image and feature detector
    [
        [0] * 7,
        [0, 1, 0, 0, 0, 1, 0],
        [0] * 7,
        [0, 0, 0, 1, 0, 0, 0],
        [0, 1, 0, 0, 0, 1, 0],
        [0, 0, 1, 1, 1, 0, 0],
        [0] * 7,
    ],
    dtype=float,
)
SMILEY_DETECTOR = np.array([[0, 0, 1], [1, 0, 0], [0, 1, 1]], dtype=float)
X_IMAGE = np.array(  # the first deck ("Temas Selectos"): a 5×5 image and an X-shaped kernel
    [[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]],
    dtype=float,
)
X_KERNEL = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=float)
X_FEATURE = [[4, 3, 4], [2, 4, 3], [2, 3, 4]]


# %% [markdown]
# ## Convolution, the CNN way
# Output size along each axis: (H + 2·padding − k) // stride + 1.


# %%
def convolve2d(image, kernel, stride: int = 1, padding: int = 0):
    """Slide `kernel` over the zero-padded `image` with `stride`; multiply and sum (no flip)."""
    image = validate.array(image, "image")
    kernel = validate.array(kernel, "kernel")  # a 0×0 kernel is refused here (empty)
    if image.ndim != 2 or kernel.ndim != 2:
        raise ValueError(
            f"expected a 2-D image and a 2-D kernel, got {image.shape} and {kernel.shape}"
        )
    stride, padding = _positive_int(stride, "stride"), _positive_int(padding, "padding", 0)
    padded_shape = (image.shape[0] + 2 * padding, image.shape[1] + 2 * padding)
    if kernel.shape[0] > padded_shape[0] or kernel.shape[1] > padded_shape[1]:
        raise ValueError(f"kernel {kernel.shape} is larger than the padded image {padded_shape}")
    # TODO: the convolution of a CNN. Surround the image with `padding` rings of
    # zeros; then put the kernel on the top-left corner, multiply it with the
    # pixels under it and add everything up: that is one output value. Move the
    # kernel `stride` pixels right (then down) for the next ones, as long as it
    # fits. The kernel is not flipped. Loops are fine.
    # BEGIN SOLUTION
    padded = np.pad(image, padding)
    windows = np.lib.stride_tricks.sliding_window_view(padded, kernel.shape)[::stride, ::stride]
    return np.einsum("ijkl,kl->ij", windows, kernel)
    # END SOLUTION


def pool2d(x, size: int, stride: int, reduce, padding: str = "valid"):
    """Reduce every size×size window (windows `stride` apart) with `reduce` (np.max, np.mean).

    padding="valid" uses only windows that fit; "same" gives ceil(H / stride)
    rows (and columns), as Keras does: the missing pixels are split between the
    two edges (one more after than before when odd), and windows that reach
    past an edge hold only the pixels inside it.
    """
    x = validate.array(x, "x")
    if x.ndim not in (2, 3):
        raise ValueError(f"expected an (H, W) or (H, W, channels) array, got shape {x.shape}")
    size, stride = _positive_int(size, "size"), _positive_int(stride, "stride")
    validate.one_of(padding, "padding", ("valid", "same"))
    if padding == "valid" and (size > x.shape[0] or size > x.shape[1]):
        raise ValueError(f"pool size {size} is larger than the input {x.shape[:2]}")
    # TODO: slide a size×size window over the first two axes, `stride` apart,
    # and reduce what each window holds to one number (per channel when x has a
    # third axis). Which windows are there? "valid": those that fit entirely.
    # "same": ceil(H / stride) of them; the padding they would need,
    # (rows - 1) * stride + size - H, is split with the smaller half before
    # the first row, and a window keeps only the pixels inside the image.
    # BEGIN SOLUTION
    height, width = x.shape[:2]
    if padding == "valid":
        rows, cols = (height - size) // stride + 1, (width - size) // stride + 1
        top = left = 0
    else:
        rows, cols = -(-height // stride), -(-width // stride)
        top = max((rows - 1) * stride + size - height, 0) // 2
        left = max((cols - 1) * stride + size - width, 0) // 2
    out = np.empty((rows, cols, *x.shape[2:]))
    for i in range(rows):
        r0 = i * stride - top
        for j in range(cols):
            c0 = j * stride - left
            window = x[max(r0, 0) : r0 + size, max(c0, 0) : c0 + size]
            out[i, j] = reduce(window, axis=(0, 1))
    return out
    # END SOLUTION


def max_pool2d(x, size: int = 2, stride: int = 2, padding: str = "valid"):
    """The largest value of each size x size window, windows `stride` apart."""
    return pool2d(x, size, stride, np.max, padding)


def average_pool2d(x, size: int = 2, stride: int = 2, padding: str = "valid"):
    """The mean of each size x size window, windows `stride` apart."""
    return pool2d(x, size, stride, np.mean, padding)


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
    out = convolve2d(image, kernel, stride=1, padding=kernel.shape[0] // 2)  # same size out
    if relu:
        out = np.maximum(out, 0)  # what a CNN does after each convolution
    return np.clip(out, image.min(), image.max())  # back into the image's range, to show it


# %% [markdown]
# ## Inside a trained CNN: feature maps, layer by layer


# %%
def feature_maps(model, image, layers=None) -> dict:
    """{layer name: activations (H, W, C)} of the convolution and pooling layers for one image.

    Works for functional and Sequential models, built or not: a Sequential
    model has no `.input` until it has been built or called.
    """
    import keras

    image = validate.array(image, "image", ndim=(2, 3)).astype("float32")
    if image.ndim == 2:
        image = image[..., np.newaxis]
    expected = getattr(model, "input_shape", None) if getattr(model, "built", False) else None
    if expected is not None and tuple(expected[1:]) != image.shape and None not in expected[1:]:
        raise ValueError(
            f"the model takes images of shape {tuple(expected[1:])}, got {image.shape}"
        )
    kinds = (keras.layers.Conv2D, keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)
    wanted = layers or [layer.name for layer in model.layers if isinstance(layer, kinds)]
    unknown = set(wanted) - {layer.name for layer in model.layers}
    if unknown:
        raise ValueError(
            f"no layers named {sorted(unknown)}; the model has {[layer.name for layer in model.layers]}"
        )
    batch = image[np.newaxis]
    # TODO: what does each wanted layer output for this one image? A Sequential
    # model may not be built yet (no .input until it is called): pass the batch
    # through its layers one by one and keep what the wanted ones give. Any
    # other model: a new keras.Model from its inputs to the wanted layers'
    # outputs. Return {name: that layer's (H, W, C) array for the image}.
    # BEGIN SOLUTION
    if isinstance(model, keras.Sequential):
        outputs, x = {}, batch
        for layer in model.layers:
            x = layer(x)
            if layer.name in wanted:
                outputs[layer.name] = keras.ops.convert_to_numpy(x)[0]
        return {name: outputs[name] for name in wanted}
    probe = keras.Model(model.inputs, [model.get_layer(name).output for name in wanted])
    results = probe.predict(batch, verbose=0)
    results = results if isinstance(results, list) else [results]
    return {name: r[0] for name, r in zip(wanted, results, strict=True)}
    # END SOLUTION


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
# ## The decks' examples, computed by your functions


# %%
def decks_examples() -> dict:
    one = convolve2d(ONE, ONE_DETECTOR)
    pooled = max_pool2d(POOL_INPUT, 2, 2, padding="same")
    smiley = convolve2d(SMILEY, SMILEY_DETECTOR)
    x = convolve2d(X_IMAGE, X_KERNEL)
    print(
        f"deep networks deck, the 1 and its feature detector: {one.astype(int).tolist()} "
        f"(the slide: {ONE_MAP})"
    )
    print(
        f"its max pooling, 5x5 -> 3x3 (2x2, stride 2, 'same'): {pooled.astype(int).tolist()} "
        f"(the slide: {POOLED})"
    )
    print(
        f"CNN deck, the 7x7 image: {smiley.astype(int).tolist()} (the slide has a 1 at row 3, "
        "column 3 where the convolution gives 0)"
    )
    print(f"first deck, the X-shaped kernel: {x.astype(int).tolist()} (the slide: {X_FEATURE})")
    return {
        "one": one.tolist(),
        "pooled": pooled.tolist(),
        "smiley": smiley.tolist(),
        "x": x.tolist(),
    }


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
    decks = decks_examples()
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
        "decks": decks,
        "photo_shape": list(photo.shape),
        "pooled_shape": list(pooled.shape),
        "feature_map_shapes": {k: list(v.shape) for k, v in maps.items()},
        "headline": f"{len(KERNELS)} kernels on a {photo.shape[0]}x{photo.shape[1]} photo; feature maps of {len(maps)} layers",
    }
    lesson.write_metrics(out, metrics)
    return metrics


if __name__ == "__main__":
    lesson.run(main, Config, QUICK, __doc__)
