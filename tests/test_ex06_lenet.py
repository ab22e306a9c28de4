"""Grading checks for ex06: LeNet-5 as the classic table says, and the deck's small CNN.

Every verdict rests on numbers the judge computes. Shapes and parameter
counts come from the table's rows (maps, kernel, stride) by the formulas,
not from a model summary. Each model is rebuilt here and compared with the
judge's own Keras network given the same weights: layer by layer on the
judge's images (so an activation or a pooling is judged by what it
computes, not by its name), its loss with Keras's sparse categorical
cross-entropy on the judge's labels, its optimiser by the weights two Adam
steps give. count_parameters is run on a model the judge builds.
"""

import numpy as np

from workshop.grading import expect
from workshop.grading.checks import answer, same_training
from workshop.grading.judge import compiled, leaves_arguments_alone, type_name

# (name, kind, maps or units, kernel, stride) straight from the table.
TABLE = [
    ("C1", "conv", 6, 5, 1),
    ("S2", "pool", None, 2, 2),
    ("C3", "conv", 16, 5, 1),
    ("S4", "pool", None, 2, 2),
    ("C5", "conv", 120, 5, 1),
    ("F6", "dense", 84, None, None),
    ("output", "dense", 10, None, None),
]


def expected_shapes_and_params(size=32):
    channels, features = 1, None
    shapes, params = {}, {}
    for name, kind, n, k, s in TABLE:
        if kind == "conv":
            size = (size - k) // s + 1
            params[name] = (k * k * channels + 1) * n
            channels = n
            shapes[name] = (size, size, n)
        elif kind == "pool":
            size = (size - k) // s + 1
            params[name] = 0
            shapes[name] = (size, size, channels)
        else:
            inputs = features if features is not None else size * size * channels
            params[name] = (inputs + 1) * n
            features = n
            shapes[name] = (n,)
    return shapes, params


def reference_lenet():
    """The judge's own LeNet-5, built from TABLE."""
    import keras

    layers = [keras.Input(shape=(32, 32, 1))]
    for name, kind, n, k, s in TABLE:
        if kind == "conv":
            layers.append(keras.layers.Conv2D(n, k, strides=s, activation="tanh", name=name))
        elif kind == "pool":
            layers.append(keras.layers.AveragePooling2D(k, strides=s, name=name))
        else:
            if name == "F6":
                layers.append(keras.layers.Flatten())
            last = "softmax" if name == "output" else "tanh"
            layers.append(keras.layers.Dense(n, activation=last, name=name))
    return keras.Sequential(layers)


def reference_decks_cnn():
    """The judge's own version of the deck's network."""
    import keras

    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(3, 5, activation="sigmoid"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def same_weight_shapes(model, reference, what: str, hint: str) -> None:
    got = [tuple(w.shape) for w in model.get_weights()]
    want = [tuple(w.shape) for w in reference.get_weights()]
    assert got == want, (
        f"{what}: its weight arrays have the shapes {got}; the network asked for has {want}. {hint}"
    )
    reference.set_weights(model.get_weights())


def outputs(model, x):
    import keras

    return keras.ops.convert_to_numpy(model(x))


def test_conv_parameters_share_weights(lesson, rng):
    got = expect.integer(lesson.conv_parameters(5, 1, 20), "conv_parameters(5, 1, 20)")
    expect.equal(got, 20 * (5 * 5 + 1), "conv_parameters(5, 1, 20)", hint="the deck: 20 × 26")
    for _ in range(5):
        k, c, m = (int(v) for v in rng.integers(1, 8, 3))
        got = expect.integer(lesson.conv_parameters(k, c, m), f"conv_parameters({k}, {c}, {m})")
        expect.equal(
            got,
            (k * k * c + 1) * m,
            f"{m} maps of {k}×{k} kernels on {c} input channels",
            hint="(k·k·c + 1)·maps: each map's window of weights and its one bias",
        )


def test_the_decks_small_network(lesson, rng):
    import keras

    model = lesson.build_decks_cnn()
    reference = reference_decks_cnn()
    hint = (
        "keras.Input(shape=(28, 28, 1)); Conv2D(3, 5, sigmoid) → 3×24×24; MaxPooling2D(2) → "
        "3×12×12; Flatten; Dense(10, softmax)"
    )
    same_weight_shapes(model, reference, "build_decks_cnn's network", hint)
    x = rng.random((8, 28, 28, 1), dtype=np.float32)
    expect.close(
        outputs(model, x),
        outputs(reference, x),
        "build_decks_cnn's output on 8 images of the judge (against the same weights in Keras)",
        rtol=1e-4,
        atol=1e-6,
        hint="sigmoid maps, MAX pooling over 2×2, softmax outputs: " + hint,
    )
    y = rng.integers(0, 10, 8)
    model = compiled(model, "build_decks_cnn")
    same_training(
        model,
        reference,
        x,
        y,
        keras.losses.SparseCategoricalCrossentropy(),
        keras.optimizers.Adam(),
        "build_decks_cnn's model",
        "integer labels: the sparse categorical cross-entropy; optimizer='adam'",
    )


def test_pad_to_32(lesson, rng):
    n = int(rng.integers(2, 6))
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    want = np.zeros((n, 32, 32, 1), dtype=np.uint8)
    want[:, 2:30, 2:30, 0] = images
    for given in (images, images[..., None]):
        padded = lesson.pad_to_32(given)
        expect.array(padded, f"pad_to_32 of {given.shape}", shape=(n, 32, 32, 1))
        expect.equal(
            padded,
            want,
            f"pad_to_32 of {given.shape}",
            hint="2 pixels of zeros above, below, left and right; the digit in the middle",
        )
    leaves_arguments_alone(lesson, "pad_to_32")


def test_layers_follow_the_table(lesson, rng):
    import keras

    model = lesson.build_lenet5()
    names = [layer.name for layer in model.layers]
    for name, *_ in TABLE:
        assert name in names, f"no layer named {name!r}; the layers are {names}"
    reference = reference_lenet()
    hint = "one layer per row of the table: Conv2D(maps, 5, tanh), AveragePooling2D(2), ..."
    same_weight_shapes(model, reference, "build_lenet5's network", hint)
    shapes, _ = expected_shapes_and_params()
    x = rng.random((4, 32, 32, 1), dtype=np.float32)
    for name, kind, *_ in TABLE:
        got_layer = keras.Model(model.inputs[0], model.get_layer(name).output)
        want_layer = keras.Model(reference.inputs[0], reference.get_layer(name).output)
        got = outputs(got_layer, x)
        expect.array(got, f"{name}'s output", shape=(4, *shapes[name]))
        what = {"conv": "a tanh convolution", "pool": "an AVERAGE pooling", "dense": "dense"}[kind]
        expect.close(
            got,
            outputs(want_layer, x),
            f"{name}'s output on 4 images of the judge (against the table's layers, same weights)",
            rtol=1e-4,
            atol=1e-5,
            hint=f"{name} is {what} layer in the table"
            + (" (softmax)" if name == "output" else ""),
        )


def test_lenet_learns_with_adam_and_sparse_cross_entropy(lesson, rng):
    import keras

    model = compiled(lesson.build_lenet5(), "build_lenet5")
    reference = reference_lenet()
    same_weight_shapes(model, reference, "build_lenet5's network", "the table's layers")
    x = rng.random((16, 32, 32, 1), dtype=np.float32)
    y = rng.integers(0, 10, 16)
    same_training(
        model,
        reference,
        x,
        y,
        keras.losses.SparseCategoricalCrossentropy(),
        keras.optimizers.Adam(),
        "build_lenet5's model",
        "integer labels: loss='sparse_categorical_crossentropy'; optimizer='adam'",
    )


def test_parameter_counts(lesson, rng):
    import keras

    model = lesson.build_lenet5()
    _, params = expected_shapes_and_params()
    counts = lesson.count_parameters(model)
    assert isinstance(counts, dict), (
        f"count_parameters should return a dict, got {type_name(counts)}"
    )
    for name, n in params.items():
        got = expect.integer(counts.get(name), f"count_parameters(build_lenet5())[{name!r}]")
        expect.equal(got, n, f"{name}'s parameters", hint="(k·k·c + 1)·maps or (n_in + 1)·units")
    # A model of the judge's, with weights that do not learn: a frozen layer, moving averages.
    units = int(rng.integers(3, 9))
    frozen = keras.layers.Dense(units, name="frozen")
    frozen.trainable = False
    other = keras.Sequential(
        [
            keras.Input(shape=(6,)),
            keras.layers.Dense(units, name="hidden"),
            keras.layers.BatchNormalization(name="norm"),
            frozen,
            keras.layers.Dense(2, name="out"),
        ]
    )
    want = {
        layer.name: int(sum(np.prod(w.shape) for w in layer.trainable_weights))
        for layer in other.layers
    }
    got = lesson.count_parameters(other)
    assert isinstance(got, dict) and list(got) == list(want), (
        f"count_parameters should give every layer by name, in order: {list(want)}; got {got!r}"
    )
    for name, n in want.items():
        expect.equal(
            expect.integer(got[name], f"count_parameters(...)[{name!r}]"),
            n,
            f"the learned parameters of layer {name!r}",
            hint="only a layer's trainable weights count (not a frozen layer's, not moving averages)",
        )


# --------------------------------------------------------------------------- the questions


def test_q1_the_papers_c3(lesson):
    seen = [3] * 6 + [4] * 9 + [6]  # S2 maps each of the paper's 16 C3 maps sees
    want = sum(5 * 5 * s + 1 for s in seen)
    got = expect.integer(answer(lesson, "q1"), "q1 (the paper's C3 parameters)")
    expect.equal(got, want, "q1", hint="each map: 5·5 weights per S2 map it sees, and one bias")


def test_q2_the_largest_layer(lesson):
    _, params = expected_shapes_and_params()
    want = max(params, key=params.get)
    expect.equal(answer(lesson, "q2"), want, "q2 (a layer's name)", hint="count_parameters")


def test_q3_a_bigger_image(lesson):
    _, params = expected_shapes_and_params(64)
    got = answer(lesson, "q3")
    expect.equal(
        got, [params["C1"], params["F6"]], "q3 ([C1, F6] at 64×64)", hint="(n − k) // s + 1"
    )


def test_q4_multiplications_of_c1(lesson):
    shapes, _ = expected_shapes_and_params()
    height, width, maps = shapes["C1"]
    kernel = TABLE[0][3]
    want = height * width * maps * kernel * kernel
    got = expect.integer(answer(lesson, "q4"), "q4 (C1's multiplications)")
    expect.equal(got, want, "q4", hint="output values × products in each one")
