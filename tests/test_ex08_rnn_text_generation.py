"""Grading checks for ex08: vocabulary, windows (the first deck's among them), the model, sampling, generation.

Windows are compared with the slide's own rows and with NumPy's sliding
windows; sampling uses fixed random generators and compares frequencies
with the probabilities asked for. (Cleaning and tokenizing are given code,
tested with the lessons in tests/toolkit.)
"""

import numpy as np
import pytest

from workshop.grading import expect
from workshop.grading.judge import compiled, scenario, seed, type_name


def test_vocabulary(lesson):
    words = ["la", "mancha", "de", "la", "mancha", "en", "un", "lugar", "de"]
    vocab = lesson.build_vocabulary(words)
    distinct = sorted(set(words))
    assert isinstance(vocab, dict), f"build_vocabulary returns a dict, got {type_name(vocab)}"
    expect.equal(
        list(vocab),
        [*distinct, lesson.UNK],
        "the vocabulary's words, in index order",
        hint="the distinct words sorted alphabetically, then UNK",
    )
    expect.equal(
        [vocab[w] for w in [*distinct, lesson.UNK]],
        list(range(len(distinct) + 1)),
        "the indices of the sorted words, then UNK's",
        hint="0, 1, 2, ... without gaps, UNK last",
    )
    rare = lesson.build_vocabulary(words, min_count=2)
    expect.equal(
        sorted(rare, key=rare.get),
        ["de", "la", "mancha", lesson.UNK],
        "build_vocabulary(words, min_count=2)",
        hint="min_count=2 keeps the words seen at least twice",
    )
    # A text already encoded once holds UNK itself: UNK is still one entry, the last.
    again = lesson.build_vocabulary(["de", lesson.UNK, "la", lesson.UNK])
    expect.equal(
        sorted(again, key=again.get),
        ["de", "la", lesson.UNK],
        "build_vocabulary of tokens that hold UNK",
        hint="UNK is not a word of its own: it comes last, once, without a gap",
    )
    expect.equal(sorted(again.values()), [0, 1, 2], "its indices")


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
            f"at temperature {temperature!r} sample_next raised {got!r}: p^(1/T) is 0 for "
            "every token, and 0 / 0 is NaN; divide by the largest probability first (it "
            "becomes exactly 1), then raise to the power 1/T"
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
    p = np.append(rng.dirichlet(np.ones(3) * 3), 0.0)[rng.permutation(4)]  # one word never comes
    draw_seed = int(rng.integers(2**31))
    # 4000 draws: the standard error is at most 0.008; 0.04 is five of them.
    expect.close(
        frequencies(lesson, p, 1.0, 4000, draw_seed),
        p,
        "how often each token is drawn at T=1",
        atol=0.04,
        hint="temperature 1 samples the distribution as it is",
    )
    for temperature, hint in ((0.25, "T=0.25: p^(1/T), renormalised"), (4.0, "T=4: flatter")):
        got = frequencies(lesson, p, temperature, 4000, draw_seed + 1)
        want = p ** (1 / temperature) / np.sum(p ** (1 / temperature))
        expect.close(
            got, want, f"how often each token is drawn at T={temperature}", atol=0.04, hint=hint
        )
        expect.equal(
            got[p == 0],
            np.zeros(1),
            f"how often the token of probability 0 is drawn at T={temperature}",
            hint="0^(1/T) is 0: a token the model rules out stays out",
        )


def _reference(vocab_size, embedding_dim, units, cell, layers=1):
    """The model the lesson asks for, built here (the judge's own reference)."""
    import keras

    recurrent = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cell]
    stack = [keras.Input(shape=(None,), dtype="int32")]
    stack += [keras.layers.Embedding(vocab_size, embedding_dim)]
    stack += [recurrent(units, return_sequences=i < layers - 1) for i in range(layers)]
    return keras.Sequential([*stack, keras.layers.Dense(vocab_size, activation="softmax")])


def _eager() -> bool:
    """A few small steps run faster without a compiled graph under TensorFlow, with one
    under JAX (each of its eager operations is compiled on its own)."""
    import keras

    return keras.backend.backend() == "tensorflow"


def _run(model, X):
    """The model's output for X, the faster way on this backend."""
    import keras

    return keras.ops.convert_to_numpy(model(X)) if _eager() else model.predict(X, verbose=0)


def test_text_model_is_embedding_recurrent_softmax(lesson, rng):
    for cell, layers in (("gru", 1), ("lstm", 2)):
        sizes = int(rng.integers(20, 40)), int(rng.integers(4, 9)), int(rng.integers(6, 12))
        what = f"build_text_model{sizes}, cell={cell!r}, layers={layers}"
        model = lesson.build_text_model(*sizes, cell=cell, layers=layers)
        reference = _reference(*sizes, cell, layers)
        got = [tuple(w.shape) for w in model.get_weights()]
        want = [tuple(w.shape) for w in reference.get_weights()]
        assert got == want, (
            f"{what}: expected weights of shapes {want} (an Embedding, {layers} {cell.upper()} "
            f"layer(s) of {sizes[2]} units, a Dense layer of {sizes[0]}), got {got}"
        )
        assert len(model.trainable_weights) == len(want), f"{what}: every weight trains"
        reference.set_weights(model.get_weights())
        X = rng.integers(0, sizes[0], (5, int(rng.integers(3, 9)))).astype("int32")
        expect.close(
            _run(model, X),
            _run(reference, X),
            f"{what}: its output for 5 windows (with its own weights)",
            rtol=1e-4,
            atol=1e-6,
            hint="one softmax over the vocabulary per window: the last recurrent layer hands on "
            "its last state only, the ones before it their whole sequence",
        )


def test_text_model_loss_is_for_integer_labels(lesson, rng):
    vocab_size = int(rng.integers(20, 40))
    model = compiled(lesson.build_text_model(vocab_size, 6, 8, "gru"), "build_text_model")
    X = rng.integers(0, vocab_size, (16, 5)).astype("int32")
    y = rng.integers(0, vocab_size, 16).astype("int32")
    probs = expect.array(_run(model, X), "the model's output", shape=(16, vocab_size))
    got = model.compute_loss(x=X, y=y, y_pred=probs)  # the loss it was compiled with
    expect.close(
        float(got),
        float(-np.mean(np.log(probs[np.arange(16), y]))),
        "the model's loss on 16 windows whose labels are word indices",
        rtol=1e-4,
        hint="the label is the index of the next word: the loss is -mean log p(label), the "
        "sparse categorical cross-entropy",
    )


def test_text_model_trains_with_adam_at_the_learning_rate(lesson, rng):
    import keras

    vocab_size, rate = int(rng.integers(20, 40)), float(rng.choice([0.002, 0.02, 0.05]))
    model = lesson.build_text_model(vocab_size, 6, 8, "gru", learning_rate=rate)
    compiled(model, "build_text_model")
    reference = _reference(vocab_size, 6, 8, "gru")
    reference.set_weights(model.get_weights())
    reference.compile(
        optimizer=keras.optimizers.Adam(learning_rate=rate),
        loss=keras.losses.SparseCategoricalCrossentropy(),
    )
    X = rng.integers(0, vocab_size, (16, 5)).astype("int32")
    y = rng.integers(0, vocab_size, 16).astype("int32")
    model.run_eagerly = reference.run_eagerly = _eager()
    for _ in range(2):
        model.train_on_batch(X, y)
        reference.train_on_batch(X, y)
    for i, (got, want) in enumerate(zip(model.get_weights(), reference.get_weights(), strict=True)):
        expect.close(
            got,
            want,
            f"weight {i} after two training steps (learning_rate={rate})",
            rtol=1e-3,
            atol=1e-5,
            hint=f"compile with keras.optimizers.Adam(learning_rate=learning_rate) ({rate} here) "
            "and the sparse categorical cross-entropy",
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


def test_answers(lesson):
    import keras

    got = lesson.answers()
    assert isinstance(got, dict), f"answers() returns a dict, got {type_name(got)}"
    sentence = ["Un", "viejo", "hidalgo", "de", "los", "de", "lanza", "en", "astillero"]
    expect.equal(
        expect.integer(got.get("q1"), "q1"),
        len(sentence) - 3,
        "q1: the (window, next word) pairs of the deck's sentence",
        hint="each window needs a word after it",
    )
    counts = []
    for steps in (10, 20):
        lstm = keras.layers.LSTM(128)
        lstm.build((None, steps, 64))
        counts.append(lstm.count_params())
    expect.equal(
        got.get("q2"),
        [counts[0], counts[1] - counts[0]],
        "q2: the LSTM's weights, and how many more for windows of 20",
        hint="4 gates, each with input weights, recurrent weights and a bias; the same at "
        "every step",
    )
    p = np.array([0.5, 0.3, 0.2]) ** (1 / 0.5)
    expect.close(
        got.get("q3"), p[0] / p.sum(), "q3: the first word's chance at T = 0.5", atol=0.001
    )
    expect.close(got.get("q4"), float(np.exp(5.0)), "q4: the perplexity", rtol=0.005)
