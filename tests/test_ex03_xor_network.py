"""Grading checks for ex03: a stable sigmoid and softmax, cross-entropy, forward, backprop, Keras.

References: SciPy's expit/softmax, the defining formulas, central finite
differences for every gradient, the slides' worked examples, and Keras's own
activations and losses (checks marked `keras`). Inputs are drawn afresh each
run (`rng`). Checks follow the lesson's order.
"""

import numpy as np
import pytest
from scipy import special

from workshop.grading import expect
from workshop.grading.judge import compiled

FAR = np.array([-1000.0, -50.0, 50.0, 1000.0])
XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
XOR_Y = np.array([[0], [1], [1], [0]], float)


@pytest.fixture
def Z(rng):
    return np.r_[rng.normal(0, 3, 200), [-30.0, -5.0, -0.5, 0.5, 5.0, 30.0]]


def test_sigmoid_values(lesson, Z):
    expect.close(lesson.sigmoid(Z), special.expit(Z), "sigmoid(x)", rtol=1e-7, atol=1e-12)
    far = expect.numbers(lesson.sigmoid(FAR), "sigmoid at large |x|")
    assert np.all(np.isfinite(far)), (
        f"sigmoid gives {far.tolist()} at {FAR.tolist()}: avoid overflow"
    )
    # atol: clipping x to ±500, as the prompt allows, leaves 1e-218 where the
    # exact value is 0; both are right.
    expect.close(far, special.expit(FAR), "sigmoid at large |x|", rtol=1e-7, atol=1e-12)


def test_sigmoid_derivative(lesson, Z):
    h = 1e-6
    fd = (special.expit(Z + h) - special.expit(Z - h)) / (2 * h)
    expect.close(lesson.sigmoid_prime(Z), fd, "sigmoid_prime(x)", rtol=1e-5, atol=1e-8)


def test_the_sigmoid_neuron_circuit(lesson):
    # The workshop deck: z = σ(w0·x0 + w1·x1 + w2), w = [2, -3, -3], x = [-1, -2]:
    # w·x + w2 = 1 and dz/dw0 = σ'(1)·x0 = -0.1966 (the slide rounds to -0.20).
    got = expect.number(lesson.sigmoid_prime(1.0), "sigmoid_prime(1)") * -1.0
    assert got == pytest.approx(-0.19661193, abs=1e-6), f"dz/dw0 should be -0.1966, got {got:.4f}"


def test_softmax_rows_and_stability(lesson, rng):
    z = rng.normal(0, 2, (5, 7))
    got = expect.numbers(lesson.softmax(z), "softmax(z)")
    expect.close(
        got, special.softmax(z, axis=-1), "softmax(z)", rtol=1e-10, hint="along the last axis"
    )
    big = np.array([1000.0, 1001.0, 1002.0]) + rng.uniform(-10, 10)
    out = expect.numbers(lesson.softmax(big), "softmax of large scores")
    assert np.all(np.isfinite(out)), (
        f"softmax({big.round(1).tolist()}) gave {out.tolist()}: np.exp overflowed; "
        "shift the scores so that the largest is 0 before np.exp"
    )
    expect.close(out, special.softmax(big), "softmax of large scores")


def test_cross_entropy(lesson, rng):
    p = special.softmax(rng.normal(size=(8, 5)), axis=-1)
    q = special.softmax(rng.normal(size=(8, 5)), axis=-1)
    want = np.mean(-np.sum(p * np.log(q), axis=-1))
    got = expect.number(lesson.cross_entropy(p, q), "cross_entropy(p, q)")
    assert got == pytest.approx(want, rel=1e-9), (
        f"−Σ p·ln q over the last axis, averaged over rows: want {want:.6g}, got {got:.6g}"
    )
    zero = lesson.cross_entropy(np.array([0.0, 1.0]), np.array([1.0, 0.0]))
    assert np.isfinite(zero) and zero > 20, (
        f"a predicted 0 must be clipped (large, finite), got {zero!r}"
    )


def test_the_decks_cross_entropy_examples(lesson):
    first = lesson.cross_entropy(np.array([0.0, 1.0, 0.0]), np.array([0.1, 0.5, 0.4]))
    assert first == pytest.approx(-np.log(0.5)), (
        f"the first deck: ŷ = [0.1, 0.5, 0.4], y = [0, 1, 0] gives −ln 0.5 = 0.693, got {first!r}"
    )
    second = lesson.cross_entropy(np.array([0.0, 1.0, 0.0]), np.array([0.228, 0.619, 0.153]))
    assert second == pytest.approx(0.4797, abs=1e-4), (
        f"the workshop deck: q = [0.228, 0.619, 0.153] gives −ln 0.619 = 0.4797 (the slide "
        f"says 0.479), got {second!r}"
    )


def test_binary_cross_entropy(lesson, rng):
    y = rng.integers(0, 2, 50).astype(float)
    p = special.expit(rng.normal(size=50))
    want = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert lesson.binary_cross_entropy(y, p) == pytest.approx(want, rel=1e-9)
    edge = lesson.binary_cross_entropy(np.array([1.0, 0.0]), np.array([0.0, 1.0]))
    assert np.isfinite(edge) and edge > 20, f"p of exactly 0 or 1 must be clipped, got {edge!r}"


NAMES = ("W1", "b1", "W2", "b2")


def params_of(net) -> dict:
    """The network's parameters, copied into the judge (the net itself lives in the worker)."""
    return {name: np.array(getattr(net, name), dtype=float) for name in NAMES}


def ref_forward(params, X):
    if not isinstance(params, dict):
        params = params_of(params)
    h = special.expit(X @ params["W1"] + params["b1"])
    return special.expit(h @ params["W2"] + params["b2"])


def test_forward(lesson, rng):
    net = lesson.TwoLayerNet(3, 5, 2, seed=0)
    X = rng.normal(size=(7, 3))
    got = expect.numbers(net.forward(X), "forward(X)")
    assert got.shape == (7, 2), f"forward should give (n, n_out) = (7, 2), got {got.shape}"
    expect.close(got, ref_forward(net, X), "forward(X)", rtol=1e-10, hint="σ(σ(X·W1 + b1)·W2 + b2)")


def test_backward_matches_finite_differences(lesson, rng):
    net = lesson.TwoLayerNet(3, 4, 2, seed=5)
    net.b1 += rng.normal(size=net.b1.shape)  # non-zero biases, set in the worker's net
    net.b2 += rng.normal(size=net.b2.shape)
    X, y = rng.normal(size=(6, 3)), rng.uniform(size=(6, 2))
    grads = net.backward(X, y)
    assert set(grads) == set(NAMES), f"expected gradients for W1, b1, W2, b2; got {sorted(grads)}"
    params = params_of(net)
    h = 1e-6
    for name in NAMES:
        param = params[name]
        assert np.shape(grads[name]) == param.shape, (
            f"grad {name}: shape {np.shape(grads[name])}, want {param.shape}"
        )
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
    W1 = net.W1.copy()
    history = net.train(XOR_X, XOR_Y, lr=0.5, epochs=50)
    assert len(history) == 50, f"one loss per epoch: want 50, got {len(history)}"
    assert not np.allclose(net.W1, W1), "train must update the parameters"
    assert history[-1] < history[0], f"the loss should fall: {history[0]:.4f} -> {history[-1]:.4f}"
    assert history[-1] == pytest.approx(np.mean((ref_forward(net, XOR_X) - XOR_Y) ** 2)), (
        "history holds the loss after each epoch's update"
    )


def test_train_xor(lesson):
    net = lesson.train_xor()
    out = expect.numbers(net.forward(XOR_X), "forward(XOR)").ravel()
    assert np.round(out).tolist() == [0, 1, 1, 0], (
        f"rounded outputs should be 0 1 1 0, got {out.round(3).tolist()}"
    )
    expect.close(
        out,
        ref_forward(net, XOR_X).ravel(),
        "forward(X)",
        hint="it must follow from the trained weights",
    )


@pytest.mark.keras
def test_against_keras(lesson, rng):
    x = np.linspace(-8, 8, 41)
    got = expect.numbers(lesson.sigmoid(x), "sigmoid")
    import keras

    want = keras.ops.convert_to_numpy(keras.activations.sigmoid(x))
    expect.close(got, want, "sigmoid against keras.activations.sigmoid", rtol=1e-5, atol=1e-6)
    y = rng.integers(0, 2, 20).astype(float)
    p = special.expit(rng.normal(size=20))
    want = float(keras.ops.convert_to_numpy(keras.losses.binary_crossentropy(y, p)))
    assert lesson.binary_cross_entropy(y, p) == pytest.approx(want, rel=1e-4)


@pytest.mark.keras
def test_keras_model_is_the_same_network(lesson):
    model = compiled(lesson.build_xor_keras_model(), "build_xor_keras_model")
    import keras

    assert isinstance(model, keras.Model)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [d.units for d in dense] == [2, 1], (
        f"2 hidden units, 1 output; got {[d.units for d in dense]}"
    )
    assert [d.activation.__name__ for d in dense] == ["sigmoid", "sigmoid"], (
        f"a sigmoid hidden layer and a sigmoid output, got {[d.activation.__name__ for d in dense]}"
    )
    assert isinstance(model.optimizer, keras.optimizers.SGD), (
        f"the NumPy net takes plain gradient-descent steps: SGD, got {type(model.optimizer).__name__}"
    )
    lr = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    assert lr == pytest.approx(5.0), f"the NumPy net's learning rate is 5.0, got {lr}"
    assert "mean_squared_error" in str(model.loss) or "mse" in str(model.loss), (
        f"the NumPy net's loss is the mean squared error, got {model.loss!r}"
    )


def _numpy_reference(params, epochs, lr):
    """Full-batch gradient descent on XOR's mean squared error, written out here."""
    p = {k: v.copy() for k, v in params.items()}
    for _ in range(epochs):
        z1 = XOR_X @ p["W1"] + p["b1"]
        h = special.expit(z1)
        z2 = h @ p["W2"] + p["b2"]
        out = special.expit(z2)
        dz2 = 2 * (out - XOR_Y) / XOR_Y.size * out * (1 - out)
        dz1 = dz2 @ p["W2"].T * h * (1 - h)
        for name, g in (
            ("W1", XOR_X.T @ dz1),
            ("b1", dz1.sum(0)),
            ("W2", h.T @ dz2),
            ("b2", dz2.sum(0)),
        ):
            p[name] -= lr * g
    return p


@pytest.mark.keras
def test_keras_takes_the_numpy_nets_steps(lesson):
    start = params_of(lesson.TwoLayerNet(2, 2, 1, seed=1))
    model = lesson.build_xor_keras_model()
    import keras

    model.set_weights([start[n] for n in NAMES])
    model.compile(  # the attendee's optimiser and loss, 200 steps per call (speed only)
        optimizer=type(model.optimizer)(learning_rate=5.0), loss=model.loss, steps_per_execution=200
    )
    model.fit(
        np.tile(XOR_X, (1500, 1)),
        np.tile(XOR_Y, (1500, 1)),
        batch_size=4,
        epochs=1,
        shuffle=False,
        verbose=0,
    )
    want = _numpy_reference(start, 1500, 5.0)
    got = model.get_weights()
    for name, w in zip(NAMES, got, strict=True):
        expect.close(
            w,
            want[name],
            f"Keras's {name} after 1500 steps",
            rtol=1e-3,
            atol=1e-4,
            hint="the same network, trained the same way, takes the same steps",
        )
    assert keras.ops.convert_to_numpy(model(XOR_X)).round().ravel().tolist() == [0, 1, 1, 0]
