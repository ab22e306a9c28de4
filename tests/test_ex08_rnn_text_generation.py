"""Grading checks for ex08: vocabulary, windows (the first deck's among them), the model, sampling, generation.

Windows are compared with the slide's own rows and with NumPy's sliding
windows; sampling uses fixed random generators and compares frequencies
with the probabilities asked for. (Cleaning and tokenizing are given code,
tested with the lessons in tests/toolkit.)
"""

import numpy as np
import pytest

from workshop.grading import expect
from workshop.grading.judge import compiled, scenario, seed


def test_vocabulary(lesson):
    words = ["la", "mancha", "de", "la", "mancha", "en", "un", "lugar", "de"]
    vocab = lesson.build_vocabulary(words)
    distinct = sorted(set(words))
    assert [w for w in vocab if w != lesson.UNK] == distinct, (
        f"sorted distinct words, got {list(vocab)}"
    )
    assert sorted(vocab.values()) == list(range(len(vocab))), "indices 0, 1, 2, ... without gaps"
    assert [vocab[w] for w in distinct] == list(range(len(distinct))), "alphabetical order from 0"
    assert vocab[lesson.UNK] == len(distinct), "UNK comes last"
    rare = lesson.build_vocabulary(words, min_count=2)
    assert set(rare) - {lesson.UNK} == {"la", "mancha", "de"}, (
        f"min_count=2 keeps words seen twice, got {sorted(rare)}"
    )


def test_encode_decode(lesson):
    vocab = lesson.build_vocabulary(["a", "b", "c", "d"])
    words = ["d", "a", "c", "b", "a"]
    ids = lesson.encode(words, vocab)
    assert np.asarray(ids).tolist() == [vocab[w] for w in words]
    assert lesson.decode(ids, vocab) == words, "decode(encode(words)) gives the words back"
    assert np.asarray(lesson.encode(["zebra"], vocab)).tolist() == [vocab[lesson.UNK]], (
        "unknown -> UNK's index"
    )


def test_the_decks_sentence_gets_one_index_per_word(lesson):
    # The first deck numbers "Un viejo hidalgo de los de lanza en astillero";
    # its table gives "hidalgo" and "los" the same index, 321.
    words = ["un", "viejo", "hidalgo", "de", "los", "de", "lanza", "en", "astillero"]
    vocab = lesson.build_vocabulary(words)
    ids = np.asarray(lesson.encode(words, vocab)).tolist()
    want = [sorted(set(words)).index(w) for w in words]
    assert ids == want, (
        f"the deck's sentence with an alphabetical vocabulary of its words: expected the "
        f"indices {want}, got {ids}"
    )
    assert ids[3] == ids[5] and ids[2] != ids[4], (
        "'de' twice is one index; 'hidalgo' and 'los' are two words with two indices"
    )


def test_the_decks_windows(lesson):
    # The slide's indices, cut into windows of 3 with the next word as the label:
    # it lists 5 451 321 | 8, then 451 321 8 | 321, then 321 8 321 | 8.
    deck = np.array([5, 451, 321, 8, 321, 8, 212, 10, 85])
    X, y = lesson.make_windows(deck, 3)
    assert np.shape(X) == (6, 3), (
        f"9 indices give 6 windows of 3 that have a next word; got shape {np.shape(X)}"
    )
    expect.equal(
        np.asarray(X)[:3],
        [[5, 451, 321], [451, 321, 8], [321, 8, 321]],
        "the slide's first three windows",
        hint="row i is indices[i : i + 3], sliding by one",
    )
    expect.equal(np.asarray(y)[:3], [8, 321, 8], "the slide's labels", hint="the index after each")


@pytest.mark.parametrize("window", [1, 3, 7])
def test_make_windows(lesson, window, rng):
    indices = rng.integers(0, 50, 20)
    X, y = lesson.make_windows(indices, window)
    want = np.lib.stride_tricks.sliding_window_view(indices, window)[:-1]
    assert np.shape(X) == (20 - window, window), (
        f"expected {20 - window} windows of {window}, got {np.shape(X)}"
    )
    expect.equal(X, want, "the windows X", hint="row i is indices[i : i + window]")
    expect.equal(
        y, indices[window:], "the next tokens y", hint="y[i] is the index right after row i"
    )


def test_sample_next_temperature_zero_is_argmax(lesson, rng):
    for _ in range(20):
        p = rng.dirichlet(np.ones(9))
        assert lesson.sample_next(p, 0, rng) == int(np.argmax(p)), (
            "temperature 0 means the most likely token"
        )


def test_sample_next_with_a_tiny_temperature_is_still_the_most_likely(lesson, rng):
    p = rng.dirichlet(np.ones(6))
    for temperature in (1e-3, 1e-320):
        try:
            got = lesson.sample_next(p, temperature, np.random.default_rng(0))
        except ValueError as exc:
            got = exc  # reported below, outside the except: a failed check, not a crash
        assert not isinstance(got, ValueError), (
            f"at temperature {temperature!r} sample_next raised {got!r}: log(p) / T overflows "
            "to -inf for every token, and -inf - (-inf) is NaN; subtract the largest log "
            "first (it becomes exactly 0), then divide by T"
        )
        assert got == int(np.argmax(p)), (
            f"at temperature {temperature!r}, p^(1/T) puts everything on the most likely token "
            f"({int(np.argmax(p))}), got {got!r}"
        )


@scenario
def frequencies(lesson, p, temperature, draws, seed):
    """How often sample_next picks each token in `draws` draws (in the worker: one request)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    picks = [lesson.sample_next(p, temperature, rng) for _ in range(draws)]
    return np.bincount(picks, minlength=len(p)) / draws


def test_sample_next_follows_the_distribution(lesson, rng):
    p = rng.dirichlet(np.ones(3) * 3)
    draw_seed = int(rng.integers(2**31))
    # 4000 draws: the standard error is at most 0.008; 0.04 is five of them.
    expect.close(
        frequencies(lesson, p, 1.0, 4000, draw_seed),
        p,
        "how often each token is drawn at T=1",
        atol=0.04,
        hint="temperature 1 samples the distribution as it is",
    )
    want_sharp = p**4 / np.sum(p**4)
    want_flat = p**0.25 / np.sum(p**0.25)
    expect.close(
        frequencies(lesson, p, 0.25, 4000, draw_seed + 1),
        want_sharp,
        "how often each token is drawn",
        atol=0.04,
        hint="T=0.25: p^(1/T), renormalised",
    )
    expect.close(
        frequencies(lesson, p, 4.0, 4000, draw_seed + 2),
        want_flat,
        "how often each token is drawn",
        atol=0.04,
        hint="T=4: flatter",
    )


def test_text_model_shapes_and_training(lesson):
    model = lesson.build_text_model(30, embedding_dim=8, units=16, cell="gru")
    import keras
    import tensorflow as tf

    kinds = [type(layer).__name__ for layer in model.layers]
    assert "GRU" in kinds and "Embedding" in kinds, (
        f"Embedding then a GRU layer expected, got {kinds}"
    )
    lstm = lesson.build_text_model(30, embedding_dim=8, units=16, cell="lstm", layers=2)
    assert [type(layer).__name__ for layer in lstm.layers].count("LSTM") == 2, (
        "layers=2 stacks two LSTMs"
    )
    compiled(model, "build_text_model")
    quick = lesson.build_text_model(30, embedding_dim=8, units=16, learning_rate=0.02)
    rate = float(np.asarray(quick.optimizer.learning_rate))
    assert type(quick.optimizer).__name__ == "Adam" and rate == pytest.approx(0.02), (
        f"compile with Adam at the learning_rate given (0.02); got "
        f"{type(quick.optimizer).__name__} at {rate:g}"
    )
    assert "sparse_categorical_crossentropy" in str(model.loss), (
        "the target is the index of the next token (an integer): "
        f"loss='sparse_categorical_crossentropy', got {model.loss!r}"
    )
    out = model.predict(np.zeros((4, 6), dtype="int32"), verbose=0)
    assert out.shape == (4, 30), (
        f"one distribution over the vocabulary per window: want (4, 30), got {out.shape}"
    )
    expect.close(
        out.sum(1),
        np.ones(4),
        "the sum of each output row",
        atol=1e-05,
        hint="softmax output rows sum to 1",
    )
    keras.utils.set_random_seed(0)  # the judge's own shuffling
    seed(lesson, 0)  # the attendee's initial weights
    model = lesson.build_text_model(30, embedding_dim=8, units=16, cell="gru")
    X = np.random.default_rng(0).integers(0, 30, (64, 6))
    y = X[:, -1]  # learnable: repeat the last token
    before = model.evaluate(X, y, verbose=0)
    # A tf.data pipeline: Keras 3 re-wraps NumPy arrays every epoch (~70 ms each).
    batches = tf.data.Dataset.from_tensor_slices((X, y)).shuffle(64, seed=0).batch(8)
    model.fit(batches, epochs=25, verbose=0)
    after = model.evaluate(X, y, verbose=0)
    # Seeded: 200 steps take the loss from ~3.4 to ~2.6; a 5% drop leaves a wide margin.
    assert after < 0.95 * before, (
        f"a few training steps should reduce the loss: {before:.3f} -> {after:.3f}"
    )


def test_generate_is_greedy_at_temperature_zero(lesson):
    seed(lesson, 0)
    vocab = lesson.build_vocabulary(
        ["en", "un", "lugar", "de", "la", "mancha", ",", "de", "cuyo", "nombre"]
    )
    model = lesson.build_text_model(len(vocab), 8, 8, "gru")
    text = lesson.generate(model, "en un lugar", 5, 0.0, vocab, window=3, seed=0)
    tokens = ["en", "un", "lugar"]
    inverse = {i: w for w, i in vocab.items()}
    for _ in range(5):
        x = np.array([[vocab[w] for w in tokens[-3:]]], dtype="int32")
        probs = model.predict(x, verbose=0)[0]
        probs[vocab[lesson.UNK]] = 0
        tokens.append(inverse[int(np.argmax(probs))])
    assert lesson.tokenize_words(text) == tokens, (
        f"expected the greedy continuation {tokens}, got {text!r}"
    )
    assert text.startswith("en un lugar"), "the generated text starts with the seed"
