# %% [markdown]
# # ex07 · What a filter does: convolution and pooling by hand
# Slide a small kernel over an image, multiply and sum: that is all a
# convolution layer does. Apply classic hand-made filters to a real
# photograph, pool, then look inside a trained CNN.
#
# **Your job:** fill in the three `TODO`s and `answers()`, then run
# `workshop check 7`.
#
# Replaces the workshop deck's `Course 1 - Part 6 - Lesson 3 - Notebook.ipynb`
# (convolutions and pooling by hand); the worked examples are the decks'.
# Where the decks are wrong, and what this lesson does instead:
# - the deep networks deck writes the convolution as
#   Σ g(n, m)·f(x − n, y − m): the mathematicians' convolution, which flips
#   the kernel. Keras's Conv2D, like every CNN, computes the
#   cross-correlation Σ g(n, m)·f(x + n, y + m), without the flip, and so
#   does `convolve2d` (question 3: which kernels notice the difference?);
# - the same deck's blur kernel is nine ones: that adds up nine pixels and
#   makes the image nine times brighter. Divided by 9 it is their mean and
#   keeps the brightness: `KERNELS["blur"]` (question 2).
# Changes from the course, and why:
# - the notebook filters `scipy.misc.ascent()`, which SciPy has removed;
#   here the photograph that ships with matplotlib (Grace Hopper), so the
#   lesson works offline;
# - the notebook's pooling is a loop over 2×2 blocks; `max_pool2d` and
#   `average_pool2d` take any window and stride, with Keras's two paddings:
#   "valid" (the default: only the windows that fit, so an odd last row or
#   column is left out) and "same" (ceil(H / stride) windows, the edges
#   kept, as the deep networks deck's 5×5 → 3×3 example). The photograph
#   is pooled with "valid".

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
    "blur": np.full((3, 3), 1 / 9),  # box blur: the mean of nine pixels, sums to 1
    "sobel_x": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float),
    "sobel_y": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=float),
}


def grid(rows: str) -> np.ndarray:
    """A small picture written row by row: "010/111/010" -> a 3×3 array of floats."""
    return np.array([[int(c) for c in row] for row in rows.split("/")], dtype=float)


# The decks' worked examples (computed with your functions in `decks_examples`).
ONE = grid("0000000/0000000/0001000/0011000/0001000/0001000/0000000")  # deep networks deck
ONE_DETECTOR = grid("100/101/011")
ONE_MAP = [[0, 1, 1, 0, 0], [1, 3, 1, 1, 0], [1, 2, 2, 2, 0], [0, 2, 2, 2, 0], [0, 1, 0, 2, 0]]
POOL_INPUT = grid("10120/12021/10010/11230/00100")  # its max pooling example: 5×5 -> 3×3
POOLED = [[2, 2, 1], [1, 3, 0], [0, 1, 0]]
SMILEY = grid("0000000/0100010/0000000/0001000/0100010/0011100/0000000")  # the CNN deck
SMILEY_DETECTOR = grid("001/100/011")
X_IMAGE = grid("11100/01110/00111/00110/01100")  # the first deck: an X-shaped kernel
X_KERNEL = grid("101/010/101")
X_FEATURE = [[4, 3, 4], [2, 4, 3], [2, 3, 4]]


# %% [markdown]
# ## Convolution, the CNN way
# Pad the image with `padding` rings of zeros; output (i, j) is the sum of
# kernel[n, m] · padded[i·stride + n, j·stride + m] over the kernel's
# places (n, m): the kernel is not flipped. Along each axis it fits
# (H + 2·padding − k) // stride + 1 times.


# %%
def convolve2d(image, kernel, stride: int = 1, padding: int = 0):
    """Slide `kernel` over the zero-padded `image` with `stride`; multiply and sum (no flip)."""
    image = validate.array(image, "image", ndim=2)
    kernel = validate.array(kernel, "kernel", ndim=2)  # a 0×0 kernel is refused (empty)
    stride = validate.integer(stride, "stride", low=1)
    padding = validate.integer(padding, "padding", low=0)
    padded_shape = (image.shape[0] + 2 * padding, image.shape[1] + 2 * padding)
    if kernel.shape[0] > padded_shape[0] or kernel.shape[1] > padded_shape[1]:
        raise ValueError(f"kernel {kernel.shape} is larger than the padded image {padded_shape}")
    # TODO: the feature map. Which pixels lie under the kernel for output
    # (i, j), and what is their weighted sum? How many outputs fit along each
    # axis (the formula above)? Loops are fine.
    raise NotImplementedError("TODO: convolve2d()")


# %% [markdown]
# ## Pooling
# A size×size window every `stride` pixels, reduced to one number (its
# maximum, or its mean), per channel. "valid": the windows that fit,
# (H − size) // stride + 1 of them. "same": ceil(H / stride) windows; the
# padding they would need, (rows − 1)·stride + size − H, is split with the
# smaller half before the first row, and a window keeps only the pixels
# inside the image (Keras's rule).


# %%
def pool2d(x, size: int, stride: int, reduce, padding: str = "valid"):
    """Reduce every size×size window (windows `stride` apart) with `reduce` (np.max, np.mean)."""
    x = validate.array(x, "x", ndim=(2, 3))
    size = validate.integer(size, "size", low=1)
    stride = validate.integer(stride, "stride", low=1)
    validate.one_of(padding, "padding", ("valid", "same"))
    if padding == "valid" and (size > x.shape[0] or size > x.shape[1]):
        raise ValueError(f"pool size {size} is larger than the input {x.shape[:2]}")
    # TODO: how many windows are there along each axis, where does window
    # (i, j) start (mind the padding "same" puts before the first row and
    # column), and which pixels of x does it hold? Reduce each window over
    # its two spatial axes, so a third axis (channels) stays.
    raise NotImplementedError("TODO: pool2d()")


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
    image = validate.array(image, "image", ndim=2)
    if isinstance(name_or_kernel, str):
        kernel = KERNELS[validate.one_of(name_or_kernel, "kernel", sorted(KERNELS))]
    else:
        kernel = validate.array(name_or_kernel, "kernel", ndim=2)
    if kernel.shape[0] != kernel.shape[1] or kernel.shape[0] % 2 == 0:
        raise ValueError(f"expected a square kernel of odd size, got shape {kernel.shape}")
    out = convolve2d(image, kernel, stride=1, padding=kernel.shape[0] // 2)  # same size out
    if relu:
        out = np.maximum(out, 0)  # what a CNN does after each convolution
    return np.clip(out, image.min(), image.max())  # back into the image's range, to show it


# %% [markdown]
# ## Inside a trained CNN: feature maps, layer by layer
# A layer's feature maps are what it outputs for one image: (H, W, C), one
# map per filter. A Sequential model that was never built has no `.input`
# yet, but its layers can still be called one after the other.


# %%
def feature_maps(model, image, layers=None) -> dict:
    """{layer name: activations (H, W, C)} of the convolution and pooling layers for one image."""
    import keras

    image = validate.array(image, "image", ndim=(2, 3)).astype("float32")
    image = image[..., np.newaxis] if image.ndim == 2 else image
    expected = getattr(model, "input_shape", None) if getattr(model, "built", False) else None
    if expected is not None and tuple(expected[1:]) != image.shape and None not in expected[1:]:
        raise ValueError(
            f"the model takes images of shape {tuple(expected[1:])}, got {image.shape}"
        )
    kinds = (keras.layers.Conv2D, keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)
    wanted = layers or [layer.name for layer in model.layers if isinstance(layer, kinds)]
    for name in wanted:
        validate.one_of(name, "each of layers", [layer.name for layer in model.layers])
    batch = image[np.newaxis]
    # TODO: what does each wanted layer output for this one image? A
    # Sequential model: through its layers one by one, keeping what the
    # wanted ones give. Any other model: a new model from its inputs to the
    # wanted layers' outputs. Return {name: (H, W, C) array}, in the order of
    # `wanted`.
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
# ## The decks' examples, computed by your functions


# %%
def decks_examples() -> dict:
    one = convolve2d(ONE, ONE_DETECTOR)
    pooled = max_pool2d(POOL_INPUT, 2, 2, padding="same")
    smiley = convolve2d(SMILEY, SMILEY_DETECTOR)
    x = convolve2d(X_IMAGE, X_KERNEL)
    print(f"deep networks deck, the 1: {one.astype(int).tolist()} (the slide: {ONE_MAP})")
    print(f"its max pooling, 2x2 'same': {pooled.astype(int).tolist()} (the slide: {POOLED})")
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
    title = "3x3 kernels on a photograph (Grace Hopper)"
    figure = plotting.filter_grid(list(filtered.values()), list(filtered), ncols=3, title=title)
    lesson.save_figure(figure, out, "kernels_on_photo")
    edges = convolve2d(photo, KERNELS["edge"], padding=1)
    found = np.maximum(edges, 0)  # ReLU
    names = ["photo", "edge filter", "edge filter + ReLU"]
    figure = plotting.filter_grid([photo, edges, found], names, title="ReLU keeps what was found")
    lesson.save_figure(figure, out, "relu_after_edge")
    pooled = max_pool2d(found)
    names = [
        f"edges {edges.shape[0]}x{edges.shape[1]}",
        f"max pool {pooled.shape[0]}x{pooled.shape[1]}",
        "average",
    ]
    title = "pooling halves the size and keeps the strongest response"
    figure = plotting.filter_grid([found, pooled, average_pool2d(found)], names, title=title)
    lesson.save_figure(figure, out, "pooling")

    import keras

    from workshop import pipeline

    keras.utils.set_random_seed(config.seed)
    images = data.load_fashion_mnist(limit=config.limit)
    x = images.x_train[..., None].astype("float32") / 255
    model = small_cnn()
    first_maps = {  # TensorBoard's IMAGES tab: the first layer's maps of one image, per epoch
        "conv1 maps": lambda m: lesson.as_images(next(iter(feature_maps(m, x[0]).values())))
    }
    model.fit(
        pipeline.to_dataset(x, images.y_train, 128, shuffle=True),
        epochs=config.epochs,
        verbose=2,
        callbacks=lesson.tensorboard(out, images=first_maps),
    )
    maps = feature_maps(model, x[0])
    title = images.title(f"feature maps for one {images.class_names[images.y_train[0]]}")
    lesson.save_figure(plotting.feature_maps(maps, title=title), out, "feature_maps")
    kernels = model.get_layer("conv1").get_weights()[0][:, :, 0, :]
    figure = plotting.filter_grid(kernels, title="learned conv1 kernels")
    lesson.save_figure(figure, out, "learned_kernels")
    metrics = {
        "decks": decks,
        "photo_shape": list(photo.shape),
        "pooled_shape": list(pooled.shape),
        "feature_map_shapes": {k: list(v.shape) for k, v in maps.items()},
        "headline": f"{len(KERNELS)} kernels on a {photo.shape[0]}x{photo.shape[1]} photo; "
        f"feature maps of {len(maps)} layers",
    }
    lesson.write_metrics(out, metrics)
    return metrics


# %% [markdown]
# ## Questions
# 1. A 28×28 image, a 5×5 kernel, stride 2, padding 1: how many rows does
#    the feature map have?
# 2. The deck's blur kernel, nine ones (not divided by 9), on a grey image
#    whose pixels are all 0.5: what value does a pixel inside the border
#    get?
# 3. The deck's formula flips the kernel (Σ g(n, m)·f(x − n, y − m)); Keras
#    does not. For which names of `KERNELS` do both give the same feature
#    map? (A list of names.)
# 4. A 7×9 map, 2×2 max pooling with stride 2: what shape comes out with
#    padding "valid", and with "same"? (Two lists of two numbers.)
#
# To think about: the learned conv1 kernels: do any look like the edge or
# Sobel kernels? Why does a CNN put a ReLU after each convolution, and what
# would two convolutions in a row without it amount to?


# %%
def answers() -> dict:
    """Your answers to the questions above, keyed "q1", "q2", ..."""
    # TODO: answer each question with a number or a short list; your own
    # functions can compute most of them.
    raise NotImplementedError("TODO: answers()")


if __name__ == "__main__":
    lesson.run(main, Config, QUICK, __doc__)
