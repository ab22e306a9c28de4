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
from workshop.grading.judge import compiled

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


def test_the_skipgram_model(lesson, rng):
    import keras

    vocab_size, dim = int(rng.integers(5, 40)), int(rng.integers(2, 12))
    model = compiled(
        lesson.build_skipgram_model(vocab_size, dim), f"build_skipgram_model({vocab_size}, {dim})"
    )
    names = {layer.name: layer for layer in model.layers}
    for name in ("target_embedding", "context_embedding"):
        assert name in names and isinstance(names[name], keras.layers.Embedding), (
            f"an Embedding layer named {name!r} (its names: {sorted(names)})"
        )
        layer = names[name]
        assert (layer.input_dim, layer.output_dim) == (vocab_size, dim), (
            f"{name}: Embedding({vocab_size}, {dim}), got Embedding({layer.input_dim}, "
            f"{layer.output_dim})"
        )
    assert model.count_params() == 2 * vocab_size * dim, (
        f"two tables of {vocab_size}×{dim} and nothing else: {2 * vocab_size * dim} weights, "
        f"the model has {model.count_params()}"
    )
    assert "binary_crossentropy" in str(model.loss), (
        f"each pair is real (1) or made up (0): loss='binary_crossentropy', got {model.loss!r}"
    )
    lr = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    assert type(model.optimizer).__name__ == "Adam" and lr == pytest.approx(0.01), (
        f"keras.optimizers.Adam(learning_rate=0.01), got {type(model.optimizer).__name__} "
        f"with learning rate {lr:g}"
    )
    target = rng.normal(0, 0.5, (vocab_size, dim))
    context = rng.normal(0, 0.5, (vocab_size, dim))
    names["target_embedding"].set_weights([target])
    names["context_embedding"].set_weights([context])
    centers = rng.integers(0, vocab_size, 16).astype("int32")
    contexts = rng.integers(0, vocab_size, 16).astype("int32")
    got = np.asarray(model.predict([centers, contexts], verbose=0), dtype=float).reshape(-1)
    score = np.sum(target[centers] * context[contexts], axis=1)
    expect.close(
        got,
        1 / (1 + np.exp(-score)),
        "the model's output for (center, context) pairs",
        rtol=1e-5,
        atol=1e-6,
        hint="sigmoid(target_embedding(center) · context_embedding(context)): the first input "
        "goes through target_embedding",
    )


def test_cosine_similarity(lesson, rng):
    for _ in range(3):
        n = int(rng.integers(2, 20))
        a, b = rng.normal(0, 1, n), rng.normal(0, 1, n)
        want = a @ b / np.linalg.norm(a) / np.linalg.norm(b)
        got = expect.number(lesson.cosine_similarity(a, b), "cosine_similarity(a, b)")
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12), (
            f"cosine_similarity should be a·b/(‖a‖‖b‖) = {want:.6f}, got {got:.6f}"
        )
    scale = float(rng.uniform(2, 50))
    got = expect.number(lesson.cosine_similarity(a, scale * a), "cosine_similarity(a, k·a)")
    assert got == pytest.approx(1.0, abs=1e-9), (
        f"a vector and {scale:.1f} times it point the same way: 1.0, got {got}"
    )
    assert expect.number(lesson.cosine_similarity(a, -a), "") == pytest.approx(-1.0, abs=1e-9)


def test_nearest(lesson, rng):
    words = [str(w) for w in rng.permutation(WORDS)]
    vocab = {w: i for i, w in enumerate(words)}
    emb = rng.normal(0, 1, (len(words), 6))
    emb[3] = 0.0  # a row of zeros (a word never trained) must not break anything
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
