"""Grading checks for ex07: convolution, pooling, filters, feature maps.

References: scipy.signal.correlate2d (the CNN operation has no kernel flip),
a NumPy reshape for pooling, and (checks marked `keras`) Keras's Conv2D and
pooling layers with the same weights, and a functional sub-model for the
feature maps. Inputs are drawn afresh each run (`rng`).
"""

import numpy as np
import pytest
from scipy.signal import correlate2d

from workshop.grading import expect
from workshop.grading.judge import leaves_arguments_alone, scenario, type_name


@pytest.mark.parametrize("shape, k", [((9, 9), 3), ((12, 7), 5), ((6, 10), 2), ((5, 5), 5)])
def test_convolve_matches_scipy(lesson, shape, k, rng):
    image, kernel = rng.normal(size=shape), rng.normal(size=(k, k))
    got = np.asarray(lesson.convolve2d(image, kernel))
    want = correlate2d(image, kernel, mode="valid")
    assert got.shape == want.shape, (
        f"output size should be (H - k + 1, W - k + 1) = {want.shape}, got {got.shape}"
    )
    expect.close(
        got,
        want,
        f"convolve2d of a {shape} image with a {k}x{k} kernel",
        atol=1e-10,
        hint="convolve2d must slide the kernel WITHOUT flipping it (what CNNs do): compare scipy.signal.correlate2d",
    )
    leaves_arguments_alone(lesson, "convolve2d")


@pytest.mark.parametrize("stride, padding", [(2, 0), (1, 1), (2, 1), (3, 2)])
def test_convolve_stride_and_padding(lesson, stride, padding, rng):
    image, kernel = rng.normal(size=(11, 13)), rng.normal(size=(3, 3))
    want = correlate2d(np.pad(image, padding), kernel, mode="valid")[::stride, ::stride]
    got = np.asarray(lesson.convolve2d(image, kernel, stride=stride, padding=padding))
    assert got.shape == want.shape, (
        f"stride={stride}, padding={padding}: size should be ((H + 2p - k) // s + 1, ...) = {want.shape}, got {got.shape}"
    )
    expect.close(got, want, f"convolve2d(stride={stride}, padding={padding})", atol=1e-10)


def test_the_decks_feature_maps(lesson):
    # Three worked examples of the decks, with the correct values (the CNN deck's
    # slide shows a 1 at row 3, column 3 where the convolution gives 0).
    one = np.array(
        [
            [0] * 7,
            [0] * 7,
            [0, 0, 0, 1, 0, 0, 0],
            [0, 0, 1, 1, 0, 0, 0],
            [0, 0, 0, 1, 0, 0, 0],
            [0, 0, 0, 1, 0, 0, 0],
            [0] * 7,
        ],
        float,
    )
    smiley = np.array(
        [
            [0] * 7,
            [0, 1, 0, 0, 0, 1, 0],
            [0] * 7,
            [0, 0, 0, 1, 0, 0, 0],
            [0, 1, 0, 0, 0, 1, 0],
            [0, 0, 1, 1, 1, 0, 0],
            [0] * 7,
        ],
        float,
    )
    x_image = np.array(
        [[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]], float
    )
    cases = [
        ("the deep networks deck's 1", one, [[1, 0, 0], [1, 0, 1], [0, 1, 1]]),
        ("the CNN deck's 7x7 image", smiley, [[0, 0, 1], [1, 0, 0], [0, 1, 1]]),
        ("the first deck's X-shaped kernel", x_image, [[1, 0, 1], [0, 1, 0], [1, 0, 1]]),
    ]
    for what, image, kernel in cases:
        kernel = np.array(kernel, float)
        expect.equal(
            lesson.convolve2d(image, kernel),
            correlate2d(image, kernel, mode="valid"),
            f"the feature map of {what}",
        )


def test_the_decks_max_pool_keeps_the_edges(lesson):
    # The deep networks deck pools a 5x5 map to 3x3 with 2x2 windows, stride 2:
    # the last row and column get windows of their own ("same" padding).
    fmap = np.array(
        [[1, 0, 1, 2, 0], [1, 2, 0, 2, 1], [1, 0, 0, 1, 0], [1, 1, 2, 3, 0], [0, 0, 1, 0, 0]], float
    )
    expect.equal(
        lesson.max_pool2d(fmap, 2, 2, padding="same"),
        [[2, 2, 1], [1, 3, 0], [0, 1, 0]],
        "max_pool2d(5x5 map, 2, 2, padding='same')",
    )
    expect.equal(
        lesson.max_pool2d(fmap, 2, 2), [[2, 2], [1, 3]], "max_pool2d(5x5 map, 2, 2) ('valid')"
    )


@pytest.mark.keras
@pytest.mark.parametrize("size, stride", [(2, 2), (3, 2), (2, 3)])
def test_same_padding_matches_keras(lesson, size, stride, rng):
    x = rng.normal(size=(7, 9, 2)).astype("float32")
    got_max = lesson.max_pool2d(x, size, stride, padding="same")
    got_avg = lesson.average_pool2d(x, size, stride, padding="same")
    import keras

    for got, layer, name in (
        (got_max, keras.layers.MaxPooling2D(size, stride, padding="same"), "max"),
        (got_avg, keras.layers.AveragePooling2D(size, stride, padding="same"), "average"),
    ):
        want = keras.ops.convert_to_numpy(layer(x[None]))[0]
        expect.close(got, want, f"{name} pooling with padding='same' against Keras", atol=1e-5)


def _ref_pool(x, size, stride, reduce):
    h = (x.shape[0] - size) // stride + 1
    w = (x.shape[1] - size) // stride + 1
    return np.array(
        [
            [
                reduce(
                    x[i * stride : i * stride + size, j * stride : j * stride + size], axis=(0, 1)
                )
                for j in range(w)
            ]
            for i in range(h)
        ]
    )


@pytest.mark.parametrize("size, stride", [(2, 2), (3, 3), (3, 2), (2, 1)])
def test_pooling(lesson, size, stride, rng):
    x = rng.normal(size=(10, 9))
    expect.close(
        lesson.max_pool2d(x, size, stride),
        _ref_pool(x, size, stride, np.max),
        f"max_pool2d(x, {size}, {stride})",
    )
    expect.close(
        lesson.average_pool2d(x, size, stride),
        _ref_pool(x, size, stride, np.mean),
        f"average_pool2d(x, {size}, {stride})",
    )
    x3 = rng.normal(size=(8, 8, 3))
    got = np.asarray(lesson.max_pool2d(x3, size, stride))
    assert got.shape[-1] == 3, f"with channels (H, W, C) pool each channel: got shape {got.shape}"
    expect.close(got, _ref_pool(x3, size, stride, np.max), "max_pool2d of an (H, W, C) array")


def test_apply_filter(lesson, rng):
    image = rng.uniform(-0.5, 0.5, (20, 16))
    sobel_x = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float)
    cases = [
        ("edge", np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], float), False),
        ("blur", np.full((3, 3), 1 / 9), False),  # the mean of nine pixels, not their sum
        ("sobel_x", sobel_x, True),
        (rng.normal(size=(5, 5)), None, False),
    ]
    for name, kernel, relu in cases:
        kernel = name if kernel is None else kernel
        want = correlate2d(image, kernel, mode="same")  # zero padding, the size kept
        want = np.clip(np.maximum(want, 0) if relu else want, image.min(), image.max())
        got = lesson.apply_filter(image, name, relu=relu)
        what = f"apply_filter(image, {name if isinstance(name, str) else 'a 5x5 kernel'}"
        expect.close(
            got,
            want,
            f"{what}, relu={relu})",
            atol=1e-10,
            hint="the image's size is kept (padding k // 2), ReLU when asked, then clipped to "
            "the image's own range",
        )


@pytest.mark.keras
@pytest.mark.parametrize("stride", [1, 2])
def test_convolve_matches_keras_conv2d(lesson, stride, rng):
    image, kernel = rng.normal(size=(12, 12)), rng.normal(size=(3, 3))
    got = np.asarray(lesson.convolve2d(image, kernel, stride=stride))
    import keras

    conv = keras.layers.Conv2D(1, 3, strides=stride, padding="valid", use_bias=False)
    conv.build((None, 12, 12, 1))
    conv.set_weights([kernel[:, :, None, None]])
    want = keras.ops.convert_to_numpy(conv(image[None, :, :, None]))[0, :, :, 0]
    expect.close(
        got, want, f"convolve2d against Keras Conv2D (same kernel, stride {stride})", atol=1e-05
    )


@pytest.mark.keras
def test_pooling_matches_keras(lesson, rng):
    x = rng.normal(size=(9, 9, 2)).astype("float32")
    got_max, got_avg = (
        np.asarray(lesson.max_pool2d(x, 3, 2)),
        np.asarray(lesson.average_pool2d(x, 3, 2)),
    )
    import keras

    expect.close(
        got_max,
        keras.ops.convert_to_numpy(keras.layers.MaxPooling2D(3, 2)(x[None]))[0],
        "max_pool2d against Keras MaxPooling2D",
        atol=1e-06,
    )
    expect.close(
        got_avg,
        keras.ops.convert_to_numpy(keras.layers.AveragePooling2D(3, 2)(x[None]))[0],
        "average_pool2d against Keras AveragePooling2D",
        atol=1e-06,
    )


def _layers():
    import keras

    return [
        keras.layers.Conv2D(4, 3, activation="relu", name="c1"),
        keras.layers.MaxPooling2D(2, name="p1"),
        keras.layers.Conv2D(3, 3, name="c2"),
        keras.layers.Flatten(name="f"),
        keras.layers.Dense(2, name="d"),
    ]


@scenario
def maps_of_an_unbuilt_model(lesson, image, kernels):
    """An unbuilt Sequential (no Input: no .input until built or called), its weights given."""
    import keras

    given = keras.initializers.Constant
    c1, c2, dense = kernels
    model = keras.Sequential(
        [
            keras.layers.Conv2D(4, 3, activation="relu", name="c1", kernel_initializer=given(c1)),
            keras.layers.MaxPooling2D(2, name="p1"),
            keras.layers.Conv2D(3, 3, name="c2", kernel_initializer=given(c2)),
            keras.layers.Flatten(name="f"),
            keras.layers.Dense(2, name="d", kernel_initializer=given(dense)),
        ]
    )
    maps = lesson.feature_maps(model, image)
    return {"maps": maps, "model": model}


@pytest.mark.keras
def test_feature_maps_of_an_unbuilt_sequential_model(lesson, rng):
    image = rng.uniform(size=(12, 12)).astype("float32")
    kernels = [
        rng.normal(0, 0.5, (3, 3, 1, 4)).astype("float32"),
        rng.normal(0, 0.5, (3, 3, 4, 3)).astype("float32"),
        rng.normal(0, 0.5, (27, 2)).astype("float32"),
    ]
    got = maps_of_an_unbuilt_model(lesson, image, kernels)
    maps, model = got["maps"], got["model"]
    import keras

    assert list(maps) == ["c1", "p1", "c2"], f"conv and pooling layers in order, got {list(maps)}"
    expect.equal(
        model.get_layer("c1").get_weights()[0],
        kernels[0],
        "the c1 kernel after feature_maps",
        hint="the model's weights changed",
    )
    x = image[None, :, :, None]
    for layer in model.layers[:3]:
        x = layer(x)
        expect.close(
            maps[layer.name],
            keras.ops.convert_to_numpy(x)[0],
            f"the feature map of {layer.name}",
            atol=1e-05,
            hint=layer.name,
        )
    assert (
        maps["c1"].shape == (10, 10, 4)
        and maps["p1"].shape == (5, 5, 4)
        and maps["c2"].shape == (3, 3, 3)
    )


@pytest.mark.keras
def test_feature_maps_of_a_functional_model(lesson, rng):
    image = rng.uniform(size=(12, 12, 1)).astype("float32")
    import keras

    inputs = keras.Input(shape=(12, 12, 1))
    x = inputs
    for layer in _layers():
        x = layer(x)
    model = keras.Model(inputs, x)
    for wanted in (["c2"], None):
        maps = lesson.feature_maps(model, image, layers=wanted)
        names = wanted or ["c1", "p1", "c2"]
        assert list(maps) == names, (
            f"layers={wanted}: the maps of {names}, in that order; got {list(maps)}"
        )
        for name in names:
            probe = keras.Model(inputs, model.get_layer(name).output)
            expect.close(
                maps[name],
                keras.ops.convert_to_numpy(probe(image[None]))[0],
                f"the feature map of {name} (layers={wanted})",
                atol=1e-05,
                hint="one image's (H, W, C) map per layer",
            )


@pytest.mark.keras
def test_answers(lesson, rng):
    import keras
    from scipy.signal import convolve2d

    got = lesson.answers()
    assert isinstance(got, dict), f"answers() returns a dict, got {type_name(got)}"
    padded = 28 + 2 * 1  # Keras's own arithmetic, on the image with its ring of zeros
    conv = keras.layers.Conv2D(1, 5, strides=2)
    expect.equal(
        expect.integer(got.get("q1"), "q1"),
        conv.compute_output_shape((None, padded, padded, 1))[1],
        "q1: the rows of the feature map",
        hint="(H + 2·padding − k) // stride + 1",
    )
    grey = np.full((5, 5), 0.5)
    expect.close(
        got.get("q2"),
        float(correlate2d(grey, np.ones((3, 3)), mode="valid")[1, 1]),
        "q2: a grey pixel under the deck's blur kernel",
        atol=1e-9,
        hint="nine pixels of 0.5, each times 1, added up",
    )
    kernels = {
        "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], float),
        "edge": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], float),
        "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], float),
        "blur": np.full((3, 3), 1 / 9),
        "sobel_x": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float),
        "sobel_y": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], float),
    }
    image = rng.normal(size=(6, 6))
    flipped = {  # the deck's formula (scipy's convolve2d flips) against Keras's (no flip)
        name: np.max(np.abs(convolve2d(image, k, "valid") - correlate2d(image, k, "valid")))
        for name, k in kernels.items()
    }
    q3 = got.get("q3")
    expect.equal(
        sorted(q3) if isinstance(q3, (list, tuple)) else q3,
        sorted(name for name, gap in flipped.items() if gap < 1e-9),
        "q3: the kernels for which flipping changes nothing",
        hint="a list of names; flipping turns the kernel by 180 degrees",
    )
    pool = keras.layers.MaxPooling2D
    expect.equal(
        got.get("q4"),
        [
            list(pool(2, 2, padding=p).compute_output_shape((None, 7, 9, 1))[1:3])
            for p in ("valid", "same")
        ],
        "q4: the shapes after pooling a 7×9 map, 'valid' then 'same'",
        hint="two lists of two numbers: (H − size) // stride + 1, then ceil(H / stride)",
    )
