"""Grading checks for ex13: the autoencoder and its halves, noise, training, errors, the AUC.

Every number compared here is computed here. The model's layers are checked
by giving the encoder and the decoder weights drawn here and comparing the
autoencoder's output with a NumPy forward pass of those weights (shared
layers change together; copies do not). Noise is measured (its spread, its
shape, its clipping) on images drawn here. Training runs in the worker on
digits chosen here (scikit-learn's, offline); the returned models are scored
here, against an untrained copy and against what clean targets must give.
Errors and the ROC AUC are recomputed from the judge's own predictions.
"""

import math

import numpy as np

from workshop import data
from workshop.grading import expect
from workshop.grading.judge import compiled, leaves_arguments_alone, scenario, type_name


def _sizes(rng):
    """A small code and two different hidden sizes (so that mirroring them matters)."""
    return int(rng.integers(2, 6)), (int(rng.integers(24, 40)), int(rng.integers(8, 20)))


def _layer_sizes(latent, hidden):
    return [784, *hidden, latent, *reversed(hidden), 784]


def _shapes(sizes):
    """The (kernel, bias) shapes of Dense layers from sizes[0] to sizes[-1]."""
    return [s for a, b in zip(sizes, sizes[1:], strict=False) for s in ((a, b), (b,))]


def _forward(x, weights, activations):
    """Dense layers in NumPy: weights [W1, b1, W2, b2, ...], one activation per layer."""
    h = x.reshape(len(x), -1).astype(float)
    for (w, b), act in zip(zip(weights[::2], weights[1::2], strict=True), activations, strict=True):
        h = h @ w + b
        h = {"relu": np.maximum(h, 0), "linear": h, "sigmoid": 1 / (1 + np.exp(-h))}[act]
    return h


def _digits(rng, n_train, n_val):
    """Digits in [0, 1] (scikit-learn's, as 28×28), drawn here: (x_train, x_val)."""
    x_train, _, x_test, _ = data.digits_28()
    x = np.concatenate([x_train, x_test]).astype("float32") / 255
    order = rng.permutation(len(x))
    return x[order[:n_train]], x[order[n_train : n_train + n_val]]


def _mse(model, x_in, x_target):
    return float(np.mean((model.predict(x_in, verbose=0) - x_target) ** 2))


def _mse_each(model, x):
    """One mean squared error per image, from the model's predictions here."""
    return np.mean((model.predict(x, verbose=0).astype(float) - x) ** 2, axis=(1, 2))


def test_build_autoencoder_shapes_and_halves(lesson, rng):
    import keras

    latent, hidden = _sizes(rng)
    got = lesson.build_autoencoder(latent, hidden)
    assert isinstance(got, tuple) and len(got) == 3, (
        f"build_autoencoder returns (autoencoder, encoder, decoder), got {type_name(got)}"
    )
    autoencoder, encoder, decoder = got
    for model, name, shape_in, shape_out in (
        (autoencoder, "autoencoder", (None, 28, 28), (None, 28, 28)),
        (encoder, "encoder", (None, 28, 28), (None, latent)),
        (decoder, "decoder", (None, latent), (None, 28, 28)),
    ):
        assert isinstance(model, keras.Model), f"the {name} should be a keras.Model"
        assert (tuple(model.input_shape), tuple(model.output_shape)) == (shape_in, shape_out), (
            f"build_autoencoder({latent}, {hidden}): the {name} should take {shape_in} and give "
            f"{shape_out}, got {model.input_shape} -> {model.output_shape}"
        )
    sizes = _layer_sizes(latent, hidden)
    want = sum(int(np.prod(s)) for s in _shapes(sizes))
    assert autoencoder.count_params() == want, (
        f"Dense layers of {' -> '.join(map(str, sizes))} have {want} weights; the autoencoder "
        f"has {autoencoder.count_params()} (encoder {encoder.count_params()}, decoder "
        f"{decoder.count_params()})"
    )
    x = rng.random((12, 28, 28)).astype("float32")
    expect.close(
        autoencoder.predict(x, verbose=0),
        decoder.predict(encoder.predict(x, verbose=0), verbose=0),
        "autoencoder(x) against decoder(encoder(x))",
        rtol=1e-4,
        atol=1e-6,
        hint="the autoencoder is the encoder then the decoder, the same layers (not new ones)",
    )


@scenario
def halves_with_weights(lesson, latent, hidden, encoder_weights, decoder_weights):
    """Build, give the encoder and the decoder these weights, return what the autoencoder became."""
    autoencoder, encoder, decoder = lesson.build_autoencoder(latent, hidden)
    encoder.set_weights(encoder_weights)
    decoder.set_weights(decoder_weights)
    return {"autoencoder": autoencoder, "encoder": encoder}


def test_encoder_and_decoder_share_the_autoencoders_layers(lesson, rng):
    latent, hidden = _sizes(rng)
    sizes = _layer_sizes(latent, hidden)
    shapes = _shapes(sizes)
    half = len(shapes) // 2
    weights = [rng.normal(0, 0.3, s) for s in shapes]
    got = halves_with_weights(lesson, latent, hidden, weights[:half], weights[half:])
    x = rng.random((10, 28, 28)).astype("float32")
    n = len(hidden)
    code = _forward(x, weights[:half], ["relu"] * n + ["linear"])
    expect.close(
        got["encoder"].predict(x, verbose=0).astype(float),
        code,
        "the encoder's code, with weights set here",
        rtol=1e-3,
        atol=1e-4,
        hint="Flatten, then Dense(h, activation='relu') for h in hidden, then Dense(latent_dim) "
        "with no activation",
    )
    image = _forward(code, weights[half:], ["relu"] * n + ["sigmoid"]).reshape(-1, 28, 28)
    expect.close(
        got["autoencoder"].predict(x, verbose=0).astype(float),
        image,
        "the autoencoder's output after the encoder's and the decoder's weights were set",
        rtol=1e-3,
        atol=1e-4,
        hint="the autoencoder must be made of the encoder and decoder models themselves, so a "
        "change to their weights is a change to it; the decoder: Dense(h, 'relu') for h in "
        "reversed(hidden), Dense(784, 'sigmoid'), Reshape((28, 28))",
    )
    import keras

    training = keras.ops.convert_to_numpy(got["autoencoder"](x, training=True))
    expect.close(
        training.astype(float),
        image,
        "the autoencoder's output in training mode (as fit runs it)",
        rtol=1e-3,
        atol=1e-4,
        hint="the autoencoder is the encoder, then the decoder, nothing between: noise belongs "
        "to the inputs (add_noise), not to the model",
    )


def test_autoencoder_is_compiled_with_adam_and_the_mean_squared_error(lesson, rng):
    autoencoder, _, _ = lesson.build_autoencoder(*_sizes(rng))
    compiled(autoencoder, "build_autoencoder")
    assert type(autoencoder.optimizer).__name__ == "Adam", (
        f"compile with the Adam optimiser, got {type(autoencoder.optimizer).__name__}"
    )
    x = rng.random((40, 28, 28)).astype("float32")
    loss = autoencoder.evaluate(x, x, verbose=0, return_dict=True)["loss"]
    expect.close(
        loss,
        _mse(autoencoder, x, x),
        "the loss of the autoencoder on (x, x)",
        rtol=1e-3,
        hint="the mean squared error between the output and the image",
    )


def _clipped_mean(std):
    """E[clip(z, 0, 1)] for z ~ N(0, std²): a black pixel's average after the noise."""
    pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    above_one = 0.5 * math.erfc(1 / std / math.sqrt(2))
    return std * (pdf(0) - pdf(1 / std)) + above_one


def test_add_noise_is_seeded_gaussian_noise_of_that_std(lesson, rng):
    x = rng.uniform(0.4, 0.6, (40, 28, 28)).astype("float32")
    std, seed = float(rng.uniform(0.03, 0.07)), int(rng.integers(1, 1000))
    got = lesson.add_noise(x, std, seed)
    leaves_arguments_alone(lesson, "add_noise")
    expect.array(got, f"add_noise(x, {std:.3f}, {seed})", dtype="float32", shape=x.shape)
    noise = got.astype(float) - x
    expect.close(noise.std(), std, "the noise's standard deviation", rtol=0.03)
    expect.between(noise.mean(), -0.05 * std, 0.05 * std, "the noise's mean", hint="mean 0")
    expect.close(
        noise.reshape(len(x), -1).std(axis=1),
        np.full(len(x), std),
        "each image's noise's standard deviation",
        rtol=0.12,
        hint="one draw per pixel: the noise has x's shape",
    )
    expect.close(
        noise.std(axis=0).mean(),
        std,
        "the spread of one pixel's noise across images",
        rtol=0.05,
        hint="every image gets its own noise (one draw per pixel of every image)",
    )
    within = float(np.mean(np.abs(noise) < std))
    expect.close(
        within,
        math.erf(1 / math.sqrt(2)),
        "the share of pixels whose noise is within one standard deviation",
        atol=0.015,
        hint="Gaussian (normal) noise, not uniform",
    )
    expect.equal(lesson.add_noise(x, std, seed), got, "add_noise again with the same seed")
    other = lesson.add_noise(x, std, seed + 1)
    expect.between(
        float(np.abs(other - got).mean()), std / 2, None, "the change from seed to seed + 1"
    )
    expect.equal(lesson.add_noise(x, std), lesson.add_noise(x, std, 0), "the default seed is 0")
    small = x[:2]
    draws = {lesson.add_noise(small, std, s).tobytes() for s in range(seed, seed + 8)}
    expect.equal(
        len(draws),
        8,
        f"different noises from 8 different seeds ({seed} to {seed + 7})",
        hint="a generator made from the seed itself: np.random.default_rng(seed)",
    )


def test_add_noise_clips_to_the_unit_range(lesson, rng):
    x = np.zeros((30, 28, 28), dtype="float32")
    x[:, :, 14:] = 1.0  # half black, half white
    std = float(rng.uniform(0.3, 0.6))
    got = lesson.add_noise(x, std, int(rng.integers(0, 1000)))
    expect.array(got, f"add_noise(x, {std:.2f})", dtype="float32", shape=x.shape)
    expect.between(float(got.min()), 0.0, None, "the smallest pixel", hint="clip to [0, 1]")
    expect.between(float(got.max()), None, 1.0, "the largest pixel", hint="clip to [0, 1]")
    black, white = got[x == 0], got[x == 1]
    expect.close(np.mean(black == 0), 0.5, "the share of black pixels left at 0", atol=0.025)
    expect.close(np.mean(white == 1), 0.5, "the share of white pixels left at 1", atol=0.025)
    expect.close(
        float(black.mean()),
        _clipped_mean(std),
        "a black pixel's average after the noise",
        atol=0.01,
        hint="noise of that std added, then clipped",
    )
    y = rng.random((5, 28, 28)).astype("float32")
    expect.close(lesson.add_noise(y, 0.0), y, "add_noise with std 0", atol=1e-7)


@scenario
def train(lesson, x_train, x_val, latent, epochs, noise_std, seed):
    """train_autoencoder under a fixed seed; the trained models and the history."""
    import keras
    import numpy as np

    fits = []  # what each call to fit was given: the inputs, the targets, the validation pair
    real_fit = keras.Model.fit

    def fit(self, x=None, y=None, *args, validation_data=None, **kw):
        pair = tuple(validation_data) if isinstance(validation_data, (tuple, list)) else ()
        fits.append([np.asarray(v, dtype="float32") if v is not None else None for v in (x, y)])
        fits[-1] += [np.asarray(v, dtype="float32") for v in pair[:2]]
        return real_fit(self, x, y, *args, validation_data=validation_data, **kw)

    keras.utils.set_random_seed(seed)
    keras.Model.fit = fit
    try:
        got = lesson.train_autoencoder(
            x_train, x_val, latent_dim=latent, epochs=epochs, noise_std=noise_std
        )
    finally:
        keras.Model.fit = real_fit
    return {
        "autoencoder": got.autoencoder,
        "encoder": got.encoder,
        "decoder": got.decoder,
        "history": dict(got.history.history),
        "fits": fits,
    }


def test_train_autoencoder_learns(lesson, rng):
    import keras

    x_train, x_val = _digits(rng, 400, 120)
    latent, epochs = int(rng.integers(6, 12)), 3
    got = train(lesson, x_train, x_val, latent, epochs, 0.0, int(rng.integers(0, 1000)))
    for key in ("loss", "val_loss"):
        assert len(got["history"].get(key, [])) == epochs, (
            f"the history needs {epochs} values of {key!r} (one per epoch; validate on x_val), "
            f"got {len(got['history'].get(key, []))}"
        )
    model = got["autoencoder"]
    assert tuple(got["encoder"].output_shape) == (None, latent), (
        f"latent_dim={latent}: the encoder should give codes of {latent}"
    )
    untrained = keras.models.clone_model(model)  # the same layers, new random weights
    trained_mse, untrained_mse = _mse(model, x_val, x_val), _mse(untrained, x_val, x_val)
    expect.between(
        trained_mse,
        None,
        0.5 * untrained_mse,
        "the trained autoencoder's reconstruction error on held-out digits",
        hint=f"an untrained one has {untrained_mse:.4f}: fit the images to themselves",
    )
    expect.close(
        model.predict(x_val, verbose=0),
        got["decoder"].predict(got["encoder"].predict(x_val, verbose=0), verbose=0),
        "the trained autoencoder against its returned decoder(encoder(x))",
        rtol=1e-4,
        atol=1e-6,
        hint="return the trained encoder and decoder, the autoencoder's halves",
    )


def test_denoising_trains_noisy_inputs_against_clean_targets(lesson, rng):
    x_train, x_val = _digits(rng, 300, 100)
    seed, std = int(rng.integers(0, 1000)), 0.5
    trained = [train(lesson, x_train, x_val, 8, 3, s, seed) for s in (0.0, 0.0, std)]
    runs = [t["autoencoder"] for t in trained]
    weights = [m.get_weights() for m in runs]
    # What fit was given, measured here: clean targets, inputs carrying the noise asked for,
    # for the training images and for the validation ones.
    fits = trained[2]["fits"]
    assert len(fits) == 1 and len(fits[0]) == 4, (
        "train_autoencoder calls fit once, with the inputs, the targets and "
        f"validation_data=(inputs, targets); it made {len(fits)} call(s)"
    )
    grey = _clipped_mean(std)  # what the noise adds, on average, where the digit is black
    for (inputs, targets), clean, part in (
        (fits[0][:2], x_train, "training"),
        (fits[0][2:], x_val, "validation"),
    ):
        expect.close(
            targets,
            clean,
            f"the {part} targets fit was given (noise_std={std})",
            atol=0,
            hint="the targets are the clean images, as they came: the model learns to undo noise",
        )
        expect.array(inputs, f"the {part} inputs fit was given", shape=clean.shape)
        expect.close(
            float(np.mean(inputs[clean == 0])),
            grey,
            f"the {part} inputs' average where the clean digit is black (noise of std {std}, "
            "clipped, adds that much grey)",
            rtol=0.25,
            hint=f"the {part} inputs are add_noise(the {part} images, noise_std)",
        )

    def apart(a, b):
        return max(float(np.max(np.abs(p - q))) for p, q in zip(a, b, strict=True))

    same, noisy = apart(weights[0], weights[1]), apart(weights[0], weights[2])
    expect.between(
        noisy,
        max(1e-4, 100 * same),
        None,
        f"how far noise_std={std} moves the weights from noise_std=0 (same seed; two runs "
        f"without noise differ by {same:.2g})",
        hint="with noise_std > 0 the inputs are add_noise(x_train, noise_std)",
    )
    noisy_val = np.clip(x_val + rng.normal(0, std, x_val.shape), 0, 1).astype("float32")
    background = float(np.mean(runs[2].predict(noisy_val, verbose=0)[x_val == 0]))
    expect.between(
        background,
        None,
        _clipped_mean(std) / 2,
        "the denoiser's average output where the clean digit is black",
        hint=f"noisy targets teach it the noise's own grey ({_clipped_mean(std):.3f}): the "
        "targets are the clean images",
    )


def _judge_autoencoder(rng):
    """A small autoencoder built here, with random weights: the judge's own model."""
    import keras

    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(784, activation="sigmoid"),
            keras.layers.Reshape((28, 28)),
        ]
    )
    model.set_weights([rng.normal(0, 0.2, w.shape) for w in model.get_weights()])
    return model


def _images(rng, n, low, high):
    """n random images, each with its own brightness between low and high."""
    return (rng.random((n, 28, 28)) * rng.uniform(low, high, (n, 1, 1))).astype("float32")


def test_reconstruction_errors(lesson, rng):
    model = _judge_autoencoder(rng)
    x = _images(rng, int(rng.integers(20, 40)), 0.1, 1.0)
    want = _mse_each(model, x)
    got = lesson.reconstruction_errors(model, x)
    expect.close(
        got,
        want,
        "reconstruction_errors of a model built here",
        rtol=1e-4,
        atol=1e-7,
        hint="one mean squared error per image: average over the two pixel axes",
    )


def _auc(normal, odd):
    """The share of (odd, normal) pairs in which the odd one scores higher (ties: half)."""
    o, n = np.asarray(odd, float)[:, None], np.asarray(normal, float)[None, :]
    return float(np.mean((o > n) + 0.5 * (o == n)))


def test_anomaly_scores_is_the_roc_auc_of_the_errors(lesson, rng):
    model = _judge_autoencoder(rng)
    for _ in range(20):  # images whose errors overlap: an AUC well inside (0.5, 1)
        normal = _images(rng, int(rng.integers(30, 50)), 0.2, 0.6)
        odd = _images(rng, int(rng.integers(15, 30)), 0.05, 0.4)
        errors = [_mse_each(model, x) for x in (normal, odd)]
        want = _auc(*errors)
        if 0.6 <= want <= 0.85:
            break
    # ... and the other way round: the odd images rebuilt better (an AUC below 0.5 is an answer too)
    for usual, unusual, auc in ((normal, odd, want), (odd, normal, 1 - want)):
        got = lesson.anomaly_scores(model, usual, unusual)
        expect.close(
            got,
            auc,
            f"the ROC AUC for {len(unusual)} odd images against {len(usual)} normal ones",
            atol=1e-6,
            hint="the reconstruction errors as scores, label 1 for the odd images; roc_auc_score",
        )


def test_answers(lesson):
    import keras

    got = lesson.answers()
    assert isinstance(got, dict), f"answers() returns a dict, got {type_name(got)}"
    dense = [keras.layers.Dense(n) for n in (128, 32, 128, 784)]
    reference = keras.Sequential([keras.Input(shape=(784,)), *dense])
    expect.equal(
        expect.integer(got.get("q1"), "q1"),
        reference.count_params(),
        "q1: the weights of build_autoencoder()",
        hint="count_params() of the autoencoder, or each Dense layer's inputs·outputs + outputs",
    )
    expect.close(
        got.get("q2"),
        _clipped_mean(0.5),
        "q2: a black pixel's average after noise of std 0.5",
        atol=0.005,
        hint="add_noise on an all-black image, then its mean",
    )
    normal, odd = [1, 2, 3, 4], [2.5, 5]
    auc = _auc(normal, odd)
    expect.close(got.get("q3"), auc, "q3: the ROC AUC of the example", atol=1e-9)
    options = {"a": auc, "b": 1 - auc, "c": 0.5}
    flipped = _auc([-v for v in normal], [-v for v in odd])
    letter = next(k for k, v in options.items() if abs(v - flipped) < 1e-12)
    expect.equal(got.get("q4"), letter, "q4: the AUC of minus the error")
