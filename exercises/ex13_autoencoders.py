# %% [markdown]
# # ex13 · Autoencoders: compress, denoise, spot the odd one out
# An autoencoder is trained to give back its own input through a narrow
# middle: 784 pixels squeezed into a *code* of a few numbers (the encoder),
# then drawn again from the code alone (the decoder). No labels: the image
# is its own target. What it learns is what the training images have in
# common, so it redraws them well and anything unlike them badly: the
# reconstruction error becomes an anomaly score. Trained on noisy inputs
# against clean targets, the same network learns to remove noise.
#
# **Your job:** fill in the five `TODO`s and answer the questions at the
# end, then run `workshop check 13`.
#
# The deep-networks deck lists autoencoders under unsupervised learning
# ("used for recommendation systems and feature detection") and the
# activation deck's chart of networks draws the autoencoder (AE) and the
# denoising one (DAE); neither has a notebook, so this lesson is new. Its
# choices, and why:
# - dense layers, the size of ex04's network, so a CPU trains it in seconds
#   (a convolutional one reconstructs better and trains slower);
# - the loss is the mean squared error, the same measure as the
#   reconstruction error we score images with;
# - the code layer has no activation: a 2-D code spreads over the plane
#   instead of being cut at 0 by a ReLU;
# - one noisy copy of the training images (seeded), not fresh noise every
#   epoch: simpler, and enough to learn to denoise;
# - the odd images: with the real data, Fashion-MNIST clothes against
#   MNIST digits the network never saw. Offline there is no Fashion-MNIST
#   (the stand-in is scikit-learn's digits for both), so one digit (7) is
#   kept out of training and plays the odd one: a harder test, since a 7
#   is still a digit. The quick run (`--quick --offline`) finds the 7s
#   with a ROC AUC of about 0.97; the distance to the mean image, no
#   network at all, reaches about 0.77. On real MNIST a held-out digit is
#   harder (scripts/bench.py: from 0.2 for the 1s, easy to redraw, to 0.9
#   for the 0s and 2s), and the distance to the nearest training image does
#   better still: the autoencoder's gain is a summary of 32 numbers.

# %%
"""ex13 · Autoencoders: build, denoise, reconstruction error, anomaly score (ROC AUC)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workshop import data, gpu, lesson, plotting, validate
from workshop.repro import seed_everything

# %% [markdown]
# ## Data
# MNIST digits, pixels scaled to [0, 1]: the *normal* images. The odd ones
# are Fashion-MNIST's clothes, or offline a digit held out of training (all
# its images, training and test: none of them is trained on).


# %%
def normal_and_odd(limit: int | None, odd_digit: int = 7) -> dict:
    """{'x_train', 'x_normal', 'y_normal', 'x_odd', 'odd', 'info'}: images in [0, 1] (float32).

    x_normal are test digits the network never sees; x_odd the odd images, and `odd` says
    what they are."""
    odd_digit = validate.integer(odd_digit, "odd_digit", low=0, high=9)
    mnist = data.load_mnist(limit=limit)
    fashion = data.load_fashion_mnist(limit=limit)
    x_train, x_test = (x.astype("float32") / 255 for x in (mnist.x_train, mnist.x_test))
    if not fashion.standin:
        return {
            "x_train": x_train,
            "x_normal": x_test,
            "y_normal": mnist.y_test,
            "x_odd": fashion.x_test.astype("float32") / 255,
            "odd": "Fashion-MNIST",
            "info": mnist,
        }
    train, test = mnist.y_train != odd_digit, mnist.y_test != odd_digit
    return {
        "x_train": x_train[train],
        "x_normal": x_test[test],
        "y_normal": mnist.y_test[test],
        "x_odd": np.concatenate([x_train[~train], x_test[~test]]),
        "odd": f"the digit {odd_digit}, kept out of training",
        "info": mnist,
    }


# %% [markdown]
# ## Model: an encoder and a decoder, one network
# The encoder flattens the image and narrows it: `Dense(h, relu)` for each
# size in `hidden`, then `Dense(latent_dim)` with no activation (the code).
# The decoder mirrors it: `Dense(h, relu)` for the sizes in reverse order,
# then `Dense(784, sigmoid)` (pixels in [0, 1]) reshaped to 28×28. The
# autoencoder is the two in a row: *the same layers*, so training the
# autoencoder trains the encoder and the decoder, and afterwards each half
# can be used alone (the code of an image; the image of a code).


# %%
def build_autoencoder(latent_dim: int = 32, hidden=(128,)):
    """(autoencoder, encoder, decoder). encoder: (N, 28, 28) → (N, latent_dim); decoder:
    (N, latent_dim) → (N, 28, 28); autoencoder: decoder(encoder(x)), sharing their layers,
    compiled with Adam and the mean squared error."""
    latent_dim = validate.count(latent_dim, "latent_dim")
    if isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__iter__"):
        raise ValueError(f"hidden must be a tuple of layer sizes such as (128,), got {hidden!r}")
    hidden = tuple(validate.count(units, "each size in hidden") for units in hidden)
    import keras

    # TODO: two keras.Sequential models, the encoder and the decoder of the
    # description above (each starts with its keras.Input), and the
    # autoencoder made of those two models, so that it shares their layers
    # rather than copying them. Which half does `reversed(hidden)` belong to?
    # How does it learn: which optimiser, and which loss compares a picture
    # with the input? Return the three models.
    raise NotImplementedError("TODO: build_autoencoder()")


# %% [markdown]
# ## Noise
# Gaussian noise of standard deviation `std` on every pixel, each pixel its
# own draw: noisy = clip(x + std·z, 0, 1) with z drawn from N(0, 1). The
# clip keeps pixels in [0, 1]; the seed makes the same noise every time.


# %%
def add_noise(x, std: float, seed: int = 0) -> np.ndarray:
    """x plus Gaussian noise of standard deviation `std`, clipped to [0, 1] (float32, seeded)."""
    x = validate.images(x, "x")
    std = validate.number(std, "std", low=0.0)
    seed = validate.integer(seed, "seed", low=0)
    # TODO: a generator seeded with `seed` (np.random.default_rng); one
    # normal draw per pixel, of mean 0 and standard deviation std; added to
    # x, then kept inside [0, 1]. Which dtype does Keras want back?
    raise NotImplementedError("TODO: add_noise()")


# %% [markdown]
# ## Train
# The input is the image, and so is the target: `fit(x, x)`. A *denoising*
# autoencoder sees the noisy image and must give back the clean one. The
# validation images get the same treatment, so `val_loss` measures what is
# being learned.


# %%
@dataclass
class Trained:
    autoencoder: object  # keras.Model, and its two halves:
    encoder: object
    decoder: object
    history: object  # keras History


def train_autoencoder(x_train, x_val, latent_dim=32, epochs=10, noise_std=0.0) -> Trained:
    """A new autoencoder (hidden=(128,)) trained on x_train, validated on x_val; with
    noise_std > 0 a denoising one: noisy inputs (add_noise), clean targets."""
    x_train, x_val = validate.images(x_train, "x_train"), validate.images(x_val, "x_val")
    epochs = validate.count(epochs, "epochs")
    noise_std = validate.number(noise_std, "noise_std", low=0.0)
    with gpu.strategy().scope():
        autoencoder, encoder, decoder = build_autoencoder(latent_dim)
    # TODO: which images go in, and which should come out? Make the noisy
    # inputs with your add_noise (noise_std 0 leaves them clean), for the
    # training and the validation images, then train the autoencoder for
    # `epochs`, validating on x_val, without printing every batch; keep
    # what fit returns in `history`.
    raise NotImplementedError("TODO: train_autoencoder()")
    return Trained(autoencoder, encoder, decoder, history)


# %% [markdown]
# ## Evaluate: how badly is each image redrawn?
# The reconstruction error of image i is the mean squared error over its
# pixels: mean over (r, c) of (x̂[i, r, c] − x[i, r, c])², with x̂ the
# autoencoder's output. One number per image.
#
# To spot odd images, score each by its error, the higher the odder. The
# ROC AUC measures how well a score separates two groups: the probability
# that a random odd image scores higher than a random normal one (1:
# perfectly separated, 0.5: no better than a coin). It needs no threshold.
# `sklearn.metrics.roc_auc_score(is_odd, scores)` computes it, with is_odd 1
# for the odd images and 0 for the normal ones.


# %%
def reconstruction_errors(autoencoder, x) -> np.ndarray:
    """The mean squared error of each image's reconstruction: shape (N,)."""
    x = validate.images(x, "x")
    # TODO: the autoencoder's reconstructions of x (quietly), then one
    # number per image: over which axes do you average the squared
    # differences?
    raise NotImplementedError("TODO: reconstruction_errors()")


def anomaly_scores(autoencoder, normal, odd) -> float:
    """ROC AUC of the reconstruction error as a score for `odd` (1) against `normal` (0)."""
    normal, odd = validate.images(normal, "normal"), validate.images(odd, "odd")
    from sklearn.metrics import roc_auc_score

    # TODO: the errors of the normal images and of the odd ones (your
    # reconstruction_errors), one label per image (which group is 1?), and
    # the area under the ROC curve of those scores, as a float.
    raise NotImplementedError("TODO: anomaly_scores()")


def pixel_baseline(x_train, normal, odd) -> float:
    """The AUC of a network-free score: each image's squared distance to the mean training image."""
    from sklearn.metrics import roc_auc_score

    mean = np.mean(x_train, axis=0)
    scores = np.concatenate([np.mean((x - mean) ** 2, axis=(1, 2)) for x in (normal, odd)])
    return float(roc_auc_score(np.r_[np.zeros(len(normal)), np.ones(len(odd))], scores))


# %% [markdown]
# ## Look at it: run the lesson


# %%
@dataclass
class Config:
    limit: int = 0  # images of each split (0 = all)
    latent_dim: int = 32
    epochs: int = 20
    noise_std: float = 0.5
    odd_digit: int = 7  # offline (no Fashion-MNIST): the digit kept out of training
    seed: int = 0
    out_dir: str = "outputs/ex13_autoencoders"


QUICK = {"limit": 2000, "epochs": 5}


def pairs_figure(rows: dict, title: str):
    """Rows of images, one row per name (originals, reconstructions, ...), 8 images a row."""
    images = np.concatenate([r[:8] for r in rows.values()])
    names = list(rows)
    labels = np.repeat(np.arange(len(names)), 8)
    return plotting.image_grid(images, labels, class_names=names, ncols=8, title=title)


def main(config: Config | None = None) -> dict:
    config = config or Config()
    out = lesson.output_dir(config.out_dir)
    seed_everything(config.seed)
    print(gpu.setup())
    d = normal_and_odd(config.limit or None, config.odd_digit)
    info, x_train, x_normal, x_odd = d["info"], d["x_train"], d["x_normal"], d["x_odd"]
    print(
        f"{info.name}{' (STAND-IN: ' + info.source + ')' if info.standin else ''}: "
        f"{len(x_train)} training images, {len(x_normal)} normal test images, "
        f"{len(x_odd)} odd ones ({d['odd']})"
    )

    plain = train_autoencoder(x_train, x_normal, config.latent_dim, config.epochs)
    lesson.save_figure(
        plotting.history(plain.history, title=info.title("reconstruction loss")), out, "history"
    )
    normal_errors, odd_errors = (
        reconstruction_errors(plain.autoencoder, x) for x in (x_normal, x_odd)
    )
    auc = anomaly_scores(plain.autoencoder, x_normal, x_odd)
    baseline = pixel_baseline(x_train, x_normal, x_odd)
    print(
        f"reconstruction error: normal {normal_errors.mean():.4f}, odd {odd_errors.mean():.4f}; "
        f"ROC AUC {auc:.3f} (distance to the mean image: {baseline:.3f})"
    )
    lesson.save_figure(
        plotting.histograms(
            {"normal: test digits": normal_errors, f"odd: {d['odd']}": odd_errors},
            xlabel="reconstruction error (MSE per image)",
            title=info.title(f"reconstruction error separates them: ROC AUC {auc:.3f}"),
        ),
        out,
        "errors",
    )
    shown, odd = x_normal[:8], x_odd[:8]
    redrawn = plain.autoencoder.predict(np.concatenate([shown, odd]), verbose=0)
    rows = {"digit": shown, "redrawn": redrawn[:8], "odd": odd, "odd, redrawn": redrawn[8:]}
    title = f"{config.latent_dim} numbers per image, and back: digits, then odd images"
    lesson.save_figure(pairs_figure(rows, info.title(title)), out, "reconstructions")

    denoiser = train_autoencoder(
        x_train, x_normal, config.latent_dim, config.epochs, noise_std=config.noise_std
    )
    noisy = add_noise(x_normal, config.noise_std, seed=2)
    denoised = denoiser.autoencoder.predict(noisy, verbose=0)
    before = float(np.mean((noisy - x_normal) ** 2))
    after = float(np.mean((denoised - x_normal) ** 2))
    print(f"denoising (std {config.noise_std}): error {before:.4f} before, {after:.4f} after")
    lesson.save_figure(
        pairs_figure(
            {"noisy": noisy, "denoised": denoised, "clean": x_normal},
            info.title(f"denoising: MSE {before:.3f} → {after:.3f}"),
        ),
        out,
        "denoising",
    )

    flat = train_autoencoder(x_train, x_normal, latent_dim=2, epochs=config.epochs)
    codes = flat.encoder.predict(x_normal, verbose=0)
    lesson.save_figure(
        plotting.scatter_classes(
            codes,
            d["y_normal"],
            info.class_names,
            title=info.title("the test digits' 2-D codes, coloured by class (never told)"),
            axes=("code[0]", "code[1]"),
        ),
        out,
        "latent_map",
    )

    metrics = {
        "standin": info.standin,
        "odd": d["odd"],
        "auc": auc,
        "pixel_baseline_auc": baseline,
        "error_normal": float(normal_errors.mean()),
        "error_odd": float(odd_errors.mean()),
        "denoising_mse": [before, after],
        "headline": f"ROC AUC {auc:.3f} for {d['odd'].split(',')[0]} against unseen test digits "
        f"(mean-image distance {baseline:.3f}); denoising MSE {before:.3f} → {after:.3f}"
        + (" (stand-in digits)" if info.standin else ""),
    }
    lesson.write_metrics(out, metrics)
    return metrics


# %% [markdown]
# ## Questions
# 1. How many weights does `build_autoencoder()` (code of 32, hidden
#    (128,)) have in all?
# 2. On a black pixel (0), what is the average value after
#    `add_noise(..., std=0.5)`? (A denoiser trained on noisy *targets*
#    learns to paint that grey into every background.)
# 3. Normal images with errors 1, 2, 3, 4 and odd ones with errors 2.5
#    and 5: what is the ROC AUC? (Count the pairs.)
# 4. Score the same images by minus the error (the best-redrawn is the
#    oddest): the AUC becomes (a) the same, (b) 1 − the AUC, (c) 0.5?
#
# To think about: with a 2-D code, which digits overlap on the map, and
# why are they never told apart although the network never saw a label?
# Hold out 1 instead of 7 (`--odd-digit 1`): does the AUC go up or down?
# A 1 has few pixels lit: how hard is it to redraw?


# %%
def answers() -> dict:
    """Your answers to the questions above, keyed "q1", "q2", ..."""
    # TODO: answer each question with a number or a letter.
    raise NotImplementedError("TODO: answers()")


if __name__ == "__main__":
    lesson.run(main, Config, QUICK, __doc__)
