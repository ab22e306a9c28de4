"""Grading checks for ex03: a stable sigmoid and softmax, cross-entropy, forward, backprop, Keras.

References: SciPy's expit/softmax, the defining formulas, central finite
differences for every gradient, gradient descent written out here, and
Keras's own activations, losses and training steps (checks marked `keras`):
a Keras model is judged by what it computes and the steps it takes on the
judge's numbers, never by the names in its configuration. Inputs are drawn
afresh each run (`rng`); every value the attendee's code returns goes through
`expect`. Checks follow the lesson's order; the closing questions come last.
"""

import numpy as np
import pytest
from scipy import special

from workshop.grading import expect
from workshop.grading.checks import answer
from workshop.grading.judge import compiled, type_name

FAR = np.array([-1000.0, -50.0, 50.0, 1000.0])
XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
XOR_Y = np.array([[0], [1], [1], [0]], float)
NAMES = ("W1", "b1", "W2", "b2")


@pytest.fixture
def Z(rng):
    return np.r_[rng.normal(0, 3, 200), [-30.0, -5.0, -0.5, 0.5, 5.0, 30.0]]


def sigmoid_slope(x):
    return special.expit(x) * (1 - special.expit(x))


def test_sigmoid_values(lesson, Z):
    expect.close(lesson.sigmoid(Z), special.expit(Z), "sigmoid(x)", rtol=1e-7, atol=1e-12)
    # atol: clipping x to ±500 leaves 1e-218 where the exact value is 0; both are right.
    expect.close(
        lesson.sigmoid(FAR),
        special.expit(FAR),
        "sigmoid at large |x|",
        rtol=1e-7,
        atol=1e-12,
        hint="e^1000 overflows: for x < 0 use e^x / (1 + e^x)",
    )


def test_sigmoid_derivative(lesson, Z):
    h = 1e-6
    fd = (special.expit(Z + h) - special.expit(Z - h)) / (2 * h)
    expect.close(lesson.sigmoid_prime(Z), fd, "sigmoid_prime(x)", rtol=1e-5, atol=1e-8)


def test_the_sigmoid_neuron_circuit(lesson):
    # The workshop deck: z = σ(w0·x0 + w1·x1 + w2), w = [2, -3, -3], x = [-1, -2]:
    # w·x + w2 = 1 and dz/dw0 = σ'(1)·x0 (the slide rounds it to -0.20).
    w, x = np.array([2.0, -3.0, -3.0]), np.array([-1.0, -2.0, 1.0])
    got = expect.number(lesson.sigmoid_prime(w @ x), "sigmoid_prime(1)") * x[0]
    expect.close(got, sigmoid_slope(w @ x) * x[0], "dz/dw0 of the deck's neuron", rtol=1e-6)


def test_softmax_rows_and_stability(lesson, rng):
    z = rng.normal(0, 2, (5, 7))
    expect.close(
        lesson.softmax(z),
        special.softmax(z, axis=-1),
        "softmax(z)",
        rtol=1e-10,
        hint="along the last axis",
    )
    big = np.array([1000.0, 1001.0, 1002.0]) + rng.uniform(-10, 10)
    expect.close(
        lesson.softmax(big),
        special.softmax(big),
        f"softmax({big.round(1).tolist()})",
        hint="np.exp overflowed? Shift the scores so that the largest is 0 before np.exp",
    )
    rows = np.array([big, -big])  # rows far apart: each needs its own shift
    expect.close(
        lesson.softmax(rows),
        special.softmax(rows, axis=-1),
        "softmax of a row near 1000 and a row near -1000",
        hint="subtract each row's own largest score (axis=-1, keepdims=True)",
    )


def test_cross_entropy(lesson, rng):
    p = special.softmax(rng.normal(size=(8, 5)), axis=-1)
    q = special.softmax(rng.normal(size=(8, 5)), axis=-1)
    want = np.mean(-np.sum(p * np.log(q), axis=-1))
    got = expect.number(lesson.cross_entropy(p, q), "cross_entropy(p, q)")
    expect.close(got, want, "cross_entropy(p, q)", rtol=1e-9, hint="−Σ p·ln q per row, then mean")
    zero = lesson.cross_entropy(np.array([0.0, 1.0]), np.array([1.0, 0.0]))
    expect.between(zero, 20, None, "cross-entropy of a predicted 0", hint="clip q, large not inf")


def test_the_decks_cross_entropy_examples(lesson):
    p = np.array([0.0, 1.0, 0.0])
    for q in ([0.1, 0.5, 0.4], [0.228, 0.619, 0.153]):  # the first deck's, the workshop deck's
        got = expect.number(lesson.cross_entropy(p, np.array(q)), f"cross_entropy(p, {q})")
        expect.close(got, -np.log(q[1]), f"the decks' cross-entropy of {q}", rtol=1e-9)


def test_binary_cross_entropy(lesson, rng):
    y = rng.integers(0, 2, 50).astype(float)
    p = special.expit(rng.normal(size=50))
    want = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    expect.close(lesson.binary_cross_entropy(y, p), want, "binary_cross_entropy", rtol=1e-9)
    edge = lesson.binary_cross_entropy(np.array([1.0, 0.0]), np.array([0.0, 1.0]))
    expect.between(edge, 20, None, "binary cross-entropy of p = 0 and 1", hint="clip p")


def params_of(net) -> dict:
    """The network's parameters, copied into the judge (the net itself lives in the worker)."""
    return {name: expect.array(getattr(net, name), f"net.{name}") for name in NAMES}


def ref_forward(params, X):
    h = special.expit(X @ params["W1"] + params["b1"])
    return special.expit(h @ params["W2"] + params["b2"])


def ref_train(params, X, y, lr, epochs, losses=True):
    """Full-batch gradient descent on the mean squared error: (params, loss after each epoch)."""
    p = {k: np.array(v, dtype=float) for k, v in params.items()}
    history = []
    for _ in range(epochs):
        h = special.expit(X @ p["W1"] + p["b1"])
        out = special.expit(h @ p["W2"] + p["b2"])
        dz2 = 2 * (out - y) / y.size * out * (1 - out)
        dz1 = dz2 @ p["W2"].T * h * (1 - h)
        grads = {"W1": X.T @ dz1, "b1": dz1.sum(0), "W2": h.T @ dz2, "b2": dz2.sum(0)}
        for name in NAMES:
            p[name] -= lr * grads[name]
        if losses:
            history.append(np.mean((ref_forward(p, X) - y) ** 2))
    return p, history


def test_forward(lesson, rng):
    net = lesson.TwoLayerNet(3, 5, 2, seed=0)
    X = rng.normal(size=(7, 3))
    want = ref_forward(params_of(net), X)
    expect.close(net.forward(X), want, "forward(X)", rtol=1e-10, hint="σ(σ(X·W1 + b1)·W2 + b2)")


def test_backward_matches_finite_differences(lesson, rng):
    net = lesson.TwoLayerNet(3, 4, 2, seed=5)
    net.b1 += rng.normal(size=net.b1.shape)  # non-zero biases, set in the worker's net
    net.b2 += rng.normal(size=net.b2.shape)
    X, y = rng.normal(size=(6, 3)), rng.uniform(size=(6, 2))
    grads = net.backward(X, y)
    if not isinstance(grads, dict) or set(grads) != set(NAMES):
        keys = sorted(grads) if isinstance(grads, dict) else type_name(grads)
        raise AssertionError(f"backward should return a dict of W1, b1, W2, b2; got {keys}")
    params = params_of(net)
    h = 1e-6
    for name in NAMES:
        param = params[name]
        fd = np.zeros_like(param)
        for idx in np.ndindex(param.shape):
            old = param[idx]
            param[idx] = old + h
            up = np.mean((ref_forward(params, X) - y) ** 2)
            param[idx] = old - h
            down = np.mean((ref_forward(params, X) - y) ** 2)
            param[idx] = old
            fd[idx] = (up - down) / (2 * h)
        expect.close(
            grads[name], fd, f"d loss / d {name}", rtol=1e-4, atol=1e-9, hint="(finite differences)"
        )


def test_train_descends(lesson):
    net = lesson.TwoLayerNet(2, 3, 1, seed=2)
    want_params, want_losses = ref_train(params_of(net), XOR_X, XOR_Y, 0.5, 50)
    history = net.train(XOR_X, XOR_Y, lr=0.5, epochs=50)
    expect.close(history, want_losses, "the losses of 50 epochs of train", rtol=1e-8)
    for name in NAMES:
        expect.close(getattr(net, name), want_params[name], f"{name} after train", rtol=1e-8)


def test_train_xor(lesson):
    net = lesson.train_xor()
    out = expect.array(net.forward(XOR_X), "forward(XOR)", shape=(4, 1))
    expect.close(out, ref_forward(params_of(net), XOR_X), "forward(X) of the trained net")
    expect.equal(np.round(out), XOR_Y, "the rounded outputs on XOR", hint="0, 1, 1, 0")


@pytest.mark.keras
def test_against_keras(lesson, rng):
    import keras

    x = np.linspace(-8, 8, 41)
    want = keras.ops.convert_to_numpy(keras.activations.sigmoid(x))
    expect.close(lesson.sigmoid(x), want, "sigmoid against Keras's", rtol=1e-5, atol=1e-6)
    y = rng.integers(0, 2, 20).astype(float)
    p = special.expit(rng.normal(size=20))
    want = float(keras.ops.convert_to_numpy(keras.losses.binary_crossentropy(y, p)))
    expect.close(lesson.binary_cross_entropy(y, p), want, "BCE against Keras's", rtol=1e-4)


def _as_numpy(keras, value) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(value), dtype=float)


@pytest.mark.keras
def test_keras_model_is_the_same_network(lesson, rng):
    import keras

    for hidden, lr in ((2, 5.0), (3, float(rng.uniform(0.5, 4.0)))):
        args = {} if hidden == 2 else {"hidden": hidden, "learning_rate": lr}
        model = compiled(lesson.build_xor_keras_model(**args), "build_xor_keras_model")
        shapes = [str(tuple(w.shape)) for w in model.get_weights()]
        want = [str(s) for s in ((2, hidden), (hidden,), (hidden, 1), (1,))]
        expect.equal(shapes, want, f"the shapes of W1, b1, W2, b2 with hidden={hidden}")
        start = {"W1": rng.normal(size=(2, hidden)), "b1": rng.normal(size=hidden)}
        start |= {"W2": rng.normal(size=(hidden, 1)), "b2": rng.normal(size=1)}
        model.set_weights([start[n] for n in NAMES])
        X, y = rng.uniform(-1, 2, (6, 2)), rng.uniform(0, 1, (6, 1))
        y_pred = _as_numpy(keras, model(X))
        hint = "two Dense layers, each with the sigmoid"
        expect.close(y_pred, ref_forward(start, X), "the model's output", rtol=1e-4, hint=hint)
        loss = keras.losses.get(model.loss) if isinstance(model.loss, (str, dict)) else model.loss
        got = float(_as_numpy(keras, keras.ops.mean(loss(y, y_pred))))
        expect.close(got, np.mean((y - y_pred) ** 2), "the model's loss", rtol=1e-5, hint="MSE")
        for _ in range(3):  # the optimiser, by the steps it takes
            model.train_on_batch(X, y)
        want, _ = ref_train(start, X, y, lr, 3)
        for name, w in zip(NAMES, model.get_weights(), strict=True):
            expect.close(
                w,
                want[name],
                f"{name} after 3 steps at learning_rate={lr:.3g}",
                rtol=1e-3,
                atol=1e-5,
                hint="plain gradient descent (SGD) at the learning rate given",
            )


@pytest.mark.keras
def test_keras_takes_the_numpy_nets_steps(lesson):
    from workshop import lesson as lessons

    start = params_of(lesson.TwoLayerNet(2, 2, 1, seed=1))
    model = lesson.build_xor_keras_model()
    import keras

    model.set_weights([start[n] for n in NAMES])
    lessons.full_batch_steps(model, XOR_X, XOR_Y, 1500)  # its own optimiser and loss
    want, _ = ref_train(start, XOR_X, XOR_Y, 5.0, 1500)
    for name, w in zip(NAMES, model.get_weights(), strict=True):
        expect.close(
            w,
            want[name],
            f"Keras's {name} after 1500 steps",
            rtol=1e-3,
            atol=1e-4,
            hint="the same network, trained the same way, takes the same steps",
        )
    expect.equal(np.round(_as_numpy(keras, model(XOR_X))), XOR_Y, "Keras's rounded XOR outputs")


# --------------------------------------------------------------------------- the questions


def test_q2_the_largest_slope_of_the_sigmoid(lesson):
    want = sigmoid_slope(np.linspace(-10, 10, 200_001)).max()
    got = expect.number(answer(lesson, "q2"), "q2 (the largest σ'(x))")
    expect.close(got, want, "q2", rtol=1e-3, hint="where is σ(x)·(1 − σ(x)) largest?")


def test_q3_seeds_that_learn_xor(lesson):
    learned = 0
    for seed in range(10):  # TwoLayerNet's start (Glorot uniform, zero biases), then train_xor
        rng = np.random.default_rng(seed)
        start = {"W1": rng.uniform(-1, 1, (2, 2)) * np.sqrt(6 / 4), "b1": np.zeros(2)}
        start |= {"W2": rng.uniform(-1, 1, (2, 1)) * np.sqrt(6 / 3), "b2": np.zeros(1)}
        params, _ = ref_train(start, XOR_X, XOR_Y, 5.0, 4000, losses=False)
        learned += bool((np.round(ref_forward(params, XOR_X)) == XOR_Y).all())
    got = expect.integer(answer(lesson, "q3"), "q3 (how many of the ten seeds learn XOR)")
    expect.equal(got, learned, "q3", hint="train_xor(seed=s) for s in range(10), and count")


def test_q4_cross_entropy_against_the_squared_error(lesson):
    z, h = special.logit(0.01), 1e-6
    bce = lambda z: -np.log(special.expit(z))  # noqa: E731 (y = 1)
    squared = lambda z: (special.expit(z) - 1) ** 2  # noqa: E731
    slopes = [(f(z + h) - f(z - h)) / (2 * h) for f in (bce, squared)]
    got = expect.number(answer(lesson, "q4"), "q4 (how many times larger)")
    expect.close(got, slopes[0] / slopes[1], "q4", rtol=0.01, hint="a finite difference in z")


@pytest.mark.keras
def test_q1_parameters_of_the_network(lesson):  # last: the others need no Keras
    import keras

    layers = [keras.layers.Dense(2, activation="sigmoid"), keras.layers.Dense(1)]
    want = keras.Sequential([keras.Input(shape=(2,)), *layers]).count_params()
    expect.equal(expect.integer(answer(lesson, "q1"), "q1"), want, "q1 (weights and biases)")
