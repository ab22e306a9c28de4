"""Grading checks for ex12: skip-gram and CBOW samples, one-hot, the model, cosine, neighbours.

The deck's own samples are checked as the slide lists them; the rest is
compared with references written here, on words, windows, vocabularies
and vectors drawn at grading time. The model is checked by giving it
weights and comparing its output with sigmoid(target · context) computed
here.
"""

import numpy as np
import pytest

from workshop.grading import expect
from workshop.grading.judge import compiled, type_name

QUANTUM = ["quantum", "physics", "is", "a", "fundamental", "theory", "in", "physics"]
WORDS = ["sancho", "quijote", "rocinante", "dulcinea", "caballero", "lanza", "venta", "molino"]


def ref_skipgram(tokens, window):
    pairs = []
    for i, center in enumerate(tokens):
        for d in range(1, window + 1):
            if i - d >= 0:
                pairs.append((center, tokens[i - d]))
            if i + d < len(tokens):
                pairs.append((center, tokens[i + d]))
    return pairs


def ref_cbow(tokens, window):
    return [
        (tokens[max(0, i - window) : i] + tokens[i + 1 : i + 1 + window], w)
        for i, w in enumerate(tokens)
    ]


def _as_pairs(got, function):
    assert isinstance(got, (list, tuple)), f"{function} returns a list, got {type(got).__name__}"
    return [tuple(p) if isinstance(p, (list, tuple)) else p for p in got]


def test_skipgram_pairs_as_the_deck_lists_them(lesson):
    got = _as_pairs(lesson.skipgram_pairs(QUANTUM, 1), "skipgram_pairs")
    deck = [
        ("quantum", "physics"),
        ("physics", "quantum"),
        ("physics", "is"),
        ("is", "physics"),
        ("is", "a"),
        ("a", "is"),
        ("a", "fundamental"),
    ]
    assert got[:7] == deck, (
        f"the deck's training samples for {' '.join(QUANTUM)!r}, window 1, start {deck}; got "
        f"{got[:7]}"
    )
    assert got == ref_skipgram(QUANTUM, 1), (
        f"every position gives its pairs; expected {len(ref_skipgram(QUANTUM, 1))} pairs ending "
        f"{ref_skipgram(QUANTUM, 1)[-3:]}, got {len(got)} ending {got[-3:]}"
    )


def test_skipgram_pairs_any_window(lesson, rng):
    for _ in range(3):
        tokens = [str(w) for w in rng.choice(WORDS, int(rng.integers(3, 12)))]
        window = int(rng.integers(1, 4))
        want = ref_skipgram(tokens, window)
        got = _as_pairs(lesson.skipgram_pairs(tokens, window), "skipgram_pairs")
        if got != want:
            first = next(
                (i for i, (g, w) in enumerate(zip(got, want, strict=False)) if g != w),
                min(len(got), len(want)),
            )
            raise AssertionError(
                f"skipgram_pairs({tokens}, window={window}): pair {first} should be "
                f"{want[first] if first < len(want) else 'none (too many pairs)'}, got "
                f"{got[first] if first < len(got) else 'none (too few pairs)'} "
                f"({len(want)} pairs expected, {len(got)} given). Contexts nearest first, left "
                "before right at the same distance."
            )
    with pytest.raises(ValueError):
        lesson.skipgram_pairs("quantum physics", 1)


def test_cbow_examples(lesson, rng):
    deck = lesson.cbow_examples(QUANTUM, 1)
    first = [(list(c), w) for c, w in deck[:2]]
    assert first == [(["physics"], "quantum"), (["quantum", "is"], "physics")], (
        f"CBOW for the deck's sentence, window 1, starts (['physics'], 'quantum'), "
        f"(['quantum', 'is'], 'physics'); got {first}"
    )
    for _ in range(2):
        tokens = [str(w) for w in rng.choice(WORDS, int(rng.integers(3, 10)))]
        window = int(rng.integers(1, 4))
        got = [(list(c), w) for c, w in lesson.cbow_examples(tokens, window)]
        want = ref_cbow(tokens, window)
        assert got == want, f"cbow_examples({tokens}, window={window}): expected {want}, got {got}"


def test_one_hot(lesson, rng):
    deck = {"is": 0, "shining": 1, "sun": 2, "the": 3}
    expect.close(
        lesson.one_hot("sun", deck),
        [0, 0, 1, 0],
        "one_hot('sun') with the deck's vocabulary (is, shining, sun, the)",
        atol=0,
    )
    words = [str(w) for w in rng.permutation(WORDS)[: int(rng.integers(4, 8))]]
    vocab = {w: i for i, w in enumerate(words)}
    vocab["<unk>"] = len(vocab)
    word = str(rng.choice(words))
    want = np.zeros(len(vocab))
    want[vocab[word]] = 1
    expect.close(lesson.one_hot(word, vocab), want, f"one_hot({word!r})", atol=0)
    unknown = np.zeros(len(vocab))
    unknown[vocab["<unk>"]] = 1
    expect.close(
        lesson.one_hot("barcelona", vocab),
        unknown,
        "one_hot of a word the vocabulary lacks",
        atol=0,
        hint="it takes the place of '<unk>'",
    )


def _skipgram(lesson, rng):
    """The attendee's model for a vocabulary and dimension drawn here, and its two tables."""
    import keras

    vocab_size, dim = int(rng.integers(5, 40)), int(rng.integers(2, 12))
    what = f"build_skipgram_model({vocab_size}, {dim})"
    model = compiled(lesson.build_skipgram_model(vocab_size, dim), what)
    names = {layer.name: layer for layer in model.layers}
    for name in ("target_embedding", "context_embedding"):
        layer = names.get(name)
        assert isinstance(layer, keras.layers.Embedding), (
            f"{what}: an Embedding layer named {name!r} (its layers: {sorted(names)})"
        )
        assert (layer.input_dim, layer.output_dim) == (vocab_size, dim), (
            f"{what}: {name} should be Embedding({vocab_size}, {dim}), got "
            f"Embedding({layer.input_dim}, {layer.output_dim})"
        )
    expect.equal(
        model.count_params(),
        2 * vocab_size * dim,
        f"the weights of {what}",
        hint=f"two tables of {vocab_size}×{dim} and nothing else",
    )
    return model, names["target_embedding"], names["context_embedding"]


def _pairs_of(rng, vocab_size, n=16):
    return [rng.integers(0, vocab_size, n).astype("int32") for _ in range(2)]


def _eager() -> bool:
    """A few small steps run faster without a compiled graph under TensorFlow, with one
    under JAX (each of its eager operations is compiled on its own)."""
    import keras

    return keras.backend.backend() == "tensorflow"


def _run(model, pairs):
    """The model's output for the pairs, the faster way on this backend."""
    import keras

    out = keras.ops.convert_to_numpy(model(pairs)) if _eager() else model.predict(pairs, verbose=0)
    return out.astype(float).reshape(-1)


def test_the_skipgram_model(lesson, rng):
    model, target_layer, context_layer = _skipgram(lesson, rng)
    vocab_size, dim = target_layer.input_dim, target_layer.output_dim
    target = rng.normal(0, 0.5, (vocab_size, dim))
    context = rng.normal(0, 0.5, (vocab_size, dim))
    target_layer.set_weights([target])
    context_layer.set_weights([context])
    centers, contexts = _pairs_of(rng, vocab_size)
    score = np.sum(target[centers] * context[contexts], axis=1)
    expect.close(
        _run(model, [centers, contexts]),
        1 / (1 + np.exp(-score)),
        "the model's output for 16 (center, context) pairs",
        rtol=1e-5,
        atol=1e-6,
        hint="sigmoid(target_embedding(center) · context_embedding(context)): the first input "
        "goes through target_embedding",
    )


def test_the_skipgram_loss_is_the_binary_cross_entropy(lesson, rng):
    model, target_layer, _ = _skipgram(lesson, rng)
    pairs = _pairs_of(rng, target_layer.input_dim)
    labels = rng.integers(0, 2, 16).astype("float32")  # real (1) or made up (0)
    q = expect.array(_run(model, pairs), "the model's output", shape=(16,))
    got = model.compute_loss(x=pairs, y=labels, y_pred=q.reshape(16, 1).astype("float32"))
    expect.close(
        float(got),
        float(-np.mean(labels * np.log(q) + (1 - labels) * np.log(1 - q))),
        "the model's loss on 16 pairs labelled 1 (real) or 0 (made up)",
        rtol=1e-4,
        hint="each pair is real (1) or made up (0): the binary cross-entropy",
    )


def test_the_skipgram_model_trains_with_adam_at_0_01(lesson, rng):
    import keras

    model, target_layer, _ = _skipgram(lesson, rng)
    vocab_size, dim = target_layer.input_dim, target_layer.output_dim
    center = keras.Input(shape=(), dtype="int32")
    context = keras.Input(shape=(), dtype="int32")
    target_vector = keras.layers.Embedding(vocab_size, dim, name="target_embedding")(center)
    context_vector = keras.layers.Embedding(vocab_size, dim, name="context_embedding")(context)
    score = keras.layers.Dot(axes=1)([target_vector, context_vector])
    reference = keras.Model([center, context], keras.layers.Activation("sigmoid")(score))
    names = ("target_embedding", "context_embedding")
    for name in names:
        reference.get_layer(name).set_weights(model.get_layer(name).get_weights())
    reference.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.01),
        loss=keras.losses.BinaryCrossentropy(),
    )
    pairs = _pairs_of(rng, vocab_size)
    labels = rng.integers(0, 2, 16).astype("float32")
    model.run_eagerly = reference.run_eagerly = _eager()
    for _ in range(2):
        model.train_on_batch(pairs, labels)
        reference.train_on_batch(pairs, labels)
    for name in names:
        expect.close(
            model.get_layer(name).get_weights()[0],
            reference.get_layer(name).get_weights()[0],
            f"{name} after two training steps",
            rtol=1e-3,
            atol=1e-5,
            hint="compile with keras.optimizers.Adam(learning_rate=0.01) and the binary "
            "cross-entropy",
        )


def test_cosine_similarity(lesson, rng):
    for _ in range(3):
        n = int(rng.integers(2, 20))
        a, b = rng.normal(0, 1, n), rng.normal(0, 1, n)
        expect.close(
            lesson.cosine_similarity(a, b),
            float(a @ b / np.linalg.norm(a) / np.linalg.norm(b)),
            f"cosine_similarity of two vectors of {n}",
            rtol=1e-9,
            atol=1e-12,
            hint="a·b/(‖a‖‖b‖), a plain float",
        )
    scale = float(rng.uniform(2, 50))
    expect.close(
        lesson.cosine_similarity(a, scale * a),
        1.0,
        f"cosine_similarity(a, {scale:.1f}·a)",
        atol=1e-9,
        hint="a vector and a multiple of it point the same way: their lengths do not count",
    )
    expect.close(lesson.cosine_similarity(a, -a), -1.0, "cosine_similarity(a, -a)", atol=1e-9)


def test_nearest(lesson, rng):
    words = [str(w) for w in rng.permutation(WORDS)]
    vocab = {w: i for i, w in enumerate(words)}
    emb = rng.normal(0, 1, (len(words), 6)) * rng.uniform(0.05, 3.0, (len(words), 1))
    emb[3] = 0.0  # a row of zeros (a word never trained) must not break anything
    emb[4] *= 0.3 / np.linalg.norm(emb[4])  # a short vector has a direction too
    query = words[int(rng.integers(4, len(words)))]
    k = int(rng.integers(2, 5))
    unit = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-300)
    sims = unit @ unit[vocab[query]]
    order = [i for i in np.argsort(-sims, kind="stable") if words[i] != query][:k]
    want = [(words[i], float(sims[i])) for i in order]
    got = lesson.nearest(query, emb, vocab, k=k)
    assert isinstance(got, (list, tuple)) and len(got) == k, (
        f"nearest(..., k={k}) returns {k} (word, similarity) pairs, got {got!r}"
    )
    got_words = [g[0] for g in got]
    assert query not in got_words, f"{query!r} is its own nearest word: leave it out ({got})"
    assert got_words == [w for w, _ in want], (
        f"nearest({query!r}, k={k}): expected {[w for w, _ in want]} (most similar first), got "
        f"{got_words}"
    )
    expect.close(
        [g[1] for g in got],
        [s for _, s in want],
        "the similarities nearest returns",
        rtol=1e-9,
        atol=1e-12,
        hint="cosine similarity: divide by the lengths",
    )


def test_answers(lesson):
    got = lesson.answers()
    assert isinstance(got, dict), f"answers() returns a dict, got {type_name(got)}"
    expect.equal(
        expect.integer(got.get("q1"), "q1"),
        len(ref_skipgram(QUANTUM, 2)),
        "q1: the skip-gram pairs of the deck's sentence with a window of 2",
        hint="count each word's neighbours within 2 places (fewer near the ends)",
    )
    sun, shining = np.eye(5)[2], np.eye(5)[1]
    expect.close(
        got.get("q2"),
        float(sun @ shining / np.linalg.norm(sun) / np.linalg.norm(shining)),
        "q2: the cosine similarity of two different one-hot vectors",
        atol=1e-12,
    )
    threshold, share = 1e-4, 0.01
    expect.close(
        got.get("q3"),
        np.sqrt(threshold / share) + threshold / share,
        "q3: the share of its occurrences a word of 1 % keeps",
        atol=0.001,
        hint="subsample's rule: √(threshold/f) + threshold/f",
    )
    expect.close(
        got.get("q4"),
        100**0.75 / 1**0.75,
        "q4: how much more often a word of 100 is drawn than a word of 1",
        rtol=0.002,
    )
