# %% [markdown]
# # ex12 · word2vec: words as vectors
# ex08 gave every word an index and let an `Embedding` learn a vector for it
# on the way to predicting the next word. word2vec makes the vectors the
# goal: a word is known by the company it keeps, so train a network to tell
# which words appear near which, and keep its first layer. Words used alike
# end up with vectors that point alike (cosine similarity), and the book's
# characters find each other among the nearest neighbours.
#
# **Your job:** fill in the six `TODO`s, then run `workshop check 12`. This
# lesson builds on ex08 (it imports your `tokenize_words` and
# `build_vocabulary`, it does not copy them): finish ex08 first, or run
# `workshop run 12 --solution` to see the whole lesson.
#
# Follows the deep-networks deck's word2vec section: the training samples of
# "Quantum physics is a fundamental theory in physics" with a window of 1,
# and the one-hot vector of "The sun is shining" (`decks_examples`). What
# is done differently, and why:
# - the deck's network ends in a softmax over the whole vocabulary ("the
#   probability for every word of being the nearby word"): for the book's
#   ~10,000 words that is 10,000 outputs for every training pair. Here the
#   model is skip-gram with negative sampling (Mikolov et al., 2013): it
#   looks at a (word, context) pair and says whether the pair was seen in
#   the text or made up by drawing a random context word: two embeddings, a
#   dot product and a sigmoid, (1 + k)·dim multiplications per pair instead
#   of vocabulary·dim. The word vectors are the first embedding, as the
#   deck's "hidden layer weight matrix = word vectors";
# - the one-hot input times a weight matrix only picks one row of it: an
#   `Embedding` picks that row directly (as in ex08);
# - the deck's vocabulary for "The sun is shining" (is, shining, sun, the)
#   is alphabetical, as ex08's `build_vocabulary` makes it; ex08's adds
#   `<unk>` at the end, so the one-hot vectors have one more place;
# - the deck says similar vectors "form the basis of sentiment analysis" and
#   that a cosine of 0 is "no similarity, a 90 degree angle": cosine
#   similarity measures how alike two words are *used*; antonyms (good,
#   bad) are used alike and come out close.

# %%
"""ex12 · word2vec: skip-gram pairs, negative sampling, nearest words, the projector."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workshop import data, gpu, lesson, plotting, validate
from workshop.repro import seed_everything

QUANTUM = "Quantum physics is a fundamental theory in physics"
SUN = "The sun is shining"


def ex08():
    """ex08, whose tokenize_words and build_vocabulary this lesson uses (your own file)."""
    return lesson.sibling("ex08_rnn_text_generation")


def _tokens(tokens) -> list[str]:
    if isinstance(tokens, str):
        raise ValueError("tokens must be a list of words, got a str (split or tokenize it first)")
    if tokens is None or not hasattr(tokens, "__iter__"):
        raise ValueError(f"tokens must be a list of words, got {type(tokens).__name__}")
    tokens = list(tokens)
    for t in tokens:
        if not isinstance(t, str):
            raise ValueError(f"tokens must be words (str), got {t!r} ({type(t).__name__})")
    return tokens


# %% [markdown]
# ## Training samples: skip-gram and CBOW
# Skip-gram predicts the context from the word: for each word of the text,
# in order, one (word, context word) pair per neighbour within `window`
# places, the nearest first, the left one before the right one at the same
# distance. The deck lists "quantum physics is a…" with window 1 as
# (quantum, physics), (physics, quantum), (physics, is), (is, physics),
# (is, a), … CBOW ("continuous bag of words") goes the other way: the
# context words together predict the word in the middle.


# %%
def skipgram_pairs(tokens, window: int) -> list[tuple[str, str]]:
    """[(center, context), …] for every position in order; contexts nearest first, left before
    right at the same distance; words near the ends have fewer contexts."""
    tokens = _tokens(tokens)
    window = validate.count(window, "window")
    # TODO: for each position i (in order), for each distance d from 1 to
    # window: the word d places to the left (if there is one), then the word
    # d places to the right (if there is one), each as a pair
    # (tokens[i], that word). Return the list of pairs.
    # BEGIN SOLUTION
    pairs = []
    for i, center in enumerate(tokens):
        for d in range(1, window + 1):
            if i - d >= 0:
                pairs.append((center, tokens[i - d]))
            if i + d < len(tokens):
                pairs.append((center, tokens[i + d]))
    return pairs
    # END SOLUTION


def cbow_examples(tokens, window: int) -> list[tuple[list[str], str]]:
    """[(context words in the text's order, the word they surround), …], one per position."""
    tokens = _tokens(tokens)
    window = validate.count(window, "window")
    # TODO: for each position i: the up to `window` words before it and the
    # up to `window` words after it, in the order they appear in the text, as
    # one list, paired with tokens[i]: (context, tokens[i]).
    # BEGIN SOLUTION
    return [
        (tokens[max(0, i - window) : i] + tokens[i + 1 : i + 1 + window], word)
        for i, word in enumerate(tokens)
    ]
    # END SOLUTION


def one_hot(word: str, vocab: dict) -> np.ndarray:
    """A float vector of len(vocab) with a 1 at the word's index; a word the vocabulary lacks
    gets `<unk>`'s place when there is one, and is refused otherwise."""
    word = validate.text(word, "word")
    if not isinstance(vocab, dict) or not vocab:
        raise ValueError(f"vocab must be a non-empty dict of word -> index, got {vocab!r}")
    if word not in vocab and "<unk>" not in vocab:
        raise ValueError(
            f"{word!r} is not in the vocabulary (it has {len(vocab)} words, no '<unk>')"
        )
    # TODO: a float vector of zeros, one place per word of the vocabulary,
    # with a 1 at the word's index (the index of '<unk>' for a word the
    # vocabulary does not have).
    # BEGIN SOLUTION
    vector = np.zeros(len(vocab))
    vector[vocab.get(word, vocab.get("<unk>"))] = 1.0
    return vector
    # END SOLUTION


def decks_examples() -> dict:
    """The deck's samples with your functions: skip-gram and CBOW with window 1, one-hot 'sun'."""
    words = ex08().tokenize_words(QUANTUM)
    vocab = ex08().build_vocabulary(ex08().tokenize_words(SUN))
    return {
        "skipgram": skipgram_pairs(words, 1),
        "cbow": cbow_examples(words, 1),
        "vocabulary": vocab,
        "sun": one_hot("sun", vocab),
    }


# %% [markdown]
# ## The model: skip-gram with negative sampling
# Two tables of vectors, one for words as the center (`target_embedding`:
# the word vectors we keep) and one for words as context
# (`context_embedding`). For a pair, the model's score is the dot product of
# the two vectors, squashed by a sigmoid: "how likely is this pair to come
# from the text". Training shows it each real pair (label 1) and k made-up
# pairs with the same center and a random context word (label 0), drawn in
# proportion to count^0.75 as Mikolov et al. do.


# %%
def build_skipgram_model(vocab_size: int, dim: int = 64):
    """Inputs: center and context indices (batch,); output: sigmoid(target_vector ·
    context_vector) (batch, 1). Layers named 'target_embedding' and 'context_embedding';
    compiled with Adam(learning_rate=0.01) (embeddings see few updates each: a bolder rate
    than Keras's 0.001 learns in fewer epochs) and binary cross-entropy."""
    import keras

    vocab_size = validate.count(vocab_size, "vocab_size")
    dim = validate.count(dim, "dim")
    center = keras.Input(shape=(), dtype="int32", name="center")
    context = keras.Input(shape=(), dtype="int32", name="context")
    # TODO: an Embedding(vocab_size, dim, name="target_embedding") applied
    # to `center`, another, name="context_embedding", applied to `context`;
    # keras.layers.Dot(axes=1) of the two vectors, then a sigmoid
    # (keras.layers.Activation("sigmoid")). Make keras.Model(inputs=[center,
    # context], outputs=...), compile it with
    # optimizer=keras.optimizers.Adam(learning_rate=0.01),
    # loss="binary_crossentropy" and metrics=["accuracy"]; return it.
    # BEGIN SOLUTION
    target_vector = keras.layers.Embedding(vocab_size, dim, name="target_embedding")(center)
    context_vector = keras.layers.Embedding(vocab_size, dim, name="context_embedding")(context)
    score = keras.layers.Dot(axes=1)([target_vector, context_vector])
    probability = keras.layers.Activation("sigmoid")(score)
    model = keras.Model(inputs=[center, context], outputs=probability, name="skipgram")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.01),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model
    # END SOLUTION


def pair_indices(indices, window: int) -> tuple[np.ndarray, np.ndarray]:
    """skipgram_pairs on a long array of word indices, fast: (centers, contexts)."""
    indices = np.asarray(indices)
    window = validate.count(window, "window")
    centers, contexts = [], []
    n = len(indices)
    for d in range(1, window + 1):
        if d >= n:
            break
        centers += [indices[d:], indices[: n - d]]  # the word d places to the left
        contexts += [indices[: n - d], indices[d:]]  # … and to the right
    if not centers:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32)
    return np.concatenate(centers).astype(np.int32), np.concatenate(contexts).astype(np.int32)


def training_pairs(indices, vocab_size: int, window: int = 2, negatives: int = 4, seed: int = 0):
    """(centers, contexts, labels), shuffled: each real pair (label 1) and `negatives` pairs
    with a random context (label 0), drawn with probability ∝ count^0.75."""
    rng = np.random.default_rng(seed)
    centers, contexts = pair_indices(indices, window)
    counts = np.bincount(np.asarray(indices), minlength=vocab_size).astype(float)
    p = counts**0.75
    p /= p.sum()
    fake = rng.choice(vocab_size, size=len(centers) * negatives, p=p).astype(np.int32)
    all_centers = np.concatenate([centers, np.repeat(centers, negatives)])
    all_contexts = np.concatenate([contexts, fake])
    labels = np.concatenate([np.ones(len(centers)), np.zeros(len(fake))]).astype("float32")
    order = rng.permutation(len(labels))
    return all_centers[order], all_contexts[order], labels[order]


def subsample(indices, threshold: float = 1e-4, seed: int = 0) -> np.ndarray:
    """Drop some occurrences of very frequent words ('de', 'que', ','), Mikolov's rule: a word
    of frequency f is kept with probability √(threshold/f) + threshold/f."""
    indices = np.asarray(indices)
    freq = np.bincount(indices) / len(indices)
    f = freq[indices]
    keep = np.sqrt(threshold / f) + threshold / f
    return indices[np.random.default_rng(seed).random(len(indices)) < keep]


# %% [markdown]
# ## Which words are alike?
# Cosine similarity is the cosine of the angle between two vectors: 1 for
# the same direction, 0 at right angles, −1 for opposite ones; their length
# (how frequent a word is, mostly) does not count.


# %%
def cosine_similarity(a, b) -> float:
    """a·b / (‖a‖·‖b‖) as a float; a zero vector has no direction and is refused."""
    a = validate.array(a, "a", ndim=1)
    b = validate.array(b, "b", ndim=1)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same length, got {len(a)} and {len(b)}")
    if not np.any(a) or not np.any(b):
        raise ValueError("cosine similarity of a zero vector is undefined (it has no direction)")
    # TODO: the dot product of a and b divided by the product of their
    # lengths (np.linalg.norm), as a Python float.
    # BEGIN SOLUTION
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    # END SOLUTION


def nearest(word: str, embeddings, vocab: dict, k: int = 5) -> list[tuple[str, float]]:
    """The k words whose vectors have the highest cosine similarity with `word`'s, most similar
    first, as (word, similarity); the word itself is left out. embeddings: (len(vocab), dim)."""
    word = validate.text(word, "word")
    embeddings = validate.array(embeddings, "embeddings", ndim=2)
    k = validate.count(k, "k")
    if word not in vocab:
        raise ValueError(f"{word!r} is not in the vocabulary ({len(vocab)} words)")
    if len(embeddings) != len(vocab):
        raise ValueError(
            f"embeddings must have one row per word of the vocabulary ({len(vocab)}), "
            f"got {len(embeddings)}"
        )
    # TODO: the cosine similarity of the word's vector (embeddings[vocab[word]])
    # with every row at once: divide every row by its length (rows of length
    # 0 stay 0), then one matrix-vector product. Sort from the most similar,
    # leave the word itself out, and return the first k as (word, float)
    # pairs (an index → word dict helps).
    # BEGIN SOLUTION
    lengths = np.linalg.norm(embeddings, axis=1, keepdims=True)
    unit = np.divide(embeddings, lengths, out=np.zeros_like(embeddings), where=lengths > 0)
    similarity = unit @ unit[vocab[word]]
    words = {i: w for w, i in vocab.items()}
    order = [i for i in np.argsort(-similarity, kind="stable") if i != vocab[word]]
    return [(words[int(i)], float(similarity[i])) for i in order[:k]]
    # END SOLUTION


# %% [markdown]
# ## Looking at 10,000 vectors
# Two pictures: the most frequent words projected on the two directions in
# which their vectors vary most (PCA, with NumPy's SVD), and the files the
# TensorFlow Embedding Projector reads (https://projector.tensorflow.org,
# "Load": vectors.tsv, then metadata.tsv), where you can search a word and
# see its neighbours in 3-D.


# %%
def export_projector(embeddings, vocab: dict, folder) -> tuple[Path, Path]:
    """Write folder/vectors.tsv (a row of tab-separated numbers per word, in index order) and
    folder/metadata.tsv (the words, one per line, same order)."""
    embeddings = validate.array(embeddings, "embeddings", ndim=2)
    if len(embeddings) != len(vocab):
        raise ValueError(f"{len(embeddings)} vectors for {len(vocab)} words")
    words = sorted(vocab, key=vocab.get)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vectors = folder / "vectors.tsv"
    metadata = folder / "metadata.tsv"
    vectors.write_text(
        "".join("\t".join(f"{v:.6g}" for v in row) + "\n" for row in embeddings), encoding="utf-8"
    )
    clean = [w.replace("\t", " ").replace("\n", " ") or " " for w in words]
    metadata.write_text("".join(w + "\n" for w in clean), encoding="utf-8")
    return vectors, metadata


def pca_2d(vectors) -> np.ndarray:
    """The vectors' coordinates on their two main directions (centred, by SVD)."""
    x = np.asarray(vectors, dtype=float)
    x = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    return x @ vt[:2].T


# %% [markdown]
# ## Run the lesson


# %%
@dataclass
class Config:
    limit: int = 0  # words of the book to train on (0 = all)
    min_count: int = 5  # rarer words become <unk>
    window: int = 2
    negatives: int = 4
    dim: int = 64
    epochs: int = 3
    batch_size: int = 1024
    words: str = "sancho,quijote,dulcinea,rocinante,caballero"
    seed: int = 0
    out_dir: str = "outputs/ex12_word2vec"


QUICK = {"limit": 15000, "min_count": 3, "dim": 16, "epochs": 1}
STANDIN_WORDS = "list,string,function,file,class"  # the offline stand-in is Python's docs


def book_words(text: str) -> list[str]:
    """A book's words as ex08 cuts them (your clean_text and tokenize_words)."""
    return ex08().tokenize_words(ex08().clean_text(text))


@dataclass
class Trained:
    embeddings: np.ndarray  # (vocabulary, dim): the target embedding, the word vectors
    vocab: dict
    history: object  # keras History
    pairs: int  # training pairs per epoch, real and made up
    counts: np.ndarray  # occurrences of each word of the vocabulary in the text


def train_word2vec(tokens, config: Config) -> Trained:
    """The book's words through your model: vocabulary, pairs, training, the word vectors."""
    tf = gpu._tf()
    vocab = ex08().build_vocabulary(tokens, min_count=config.min_count)
    indices = ex08().encode(tokens, vocab)
    kept = subsample(indices, seed=config.seed)
    centers, contexts, labels = training_pairs(
        kept, len(vocab), window=config.window, negatives=config.negatives, seed=config.seed
    )
    dataset = tf.data.Dataset.from_tensor_slices(((centers, contexts), labels))
    dataset = dataset.batch(config.batch_size).prefetch(tf.data.AUTOTUNE)
    seed_everything(config.seed)
    model = build_skipgram_model(len(vocab), config.dim)
    history = model.fit(dataset, epochs=config.epochs, verbose=0)
    return Trained(
        embeddings=np.asarray(model.get_layer("target_embedding").get_weights()[0]),
        vocab=vocab,
        history=history,
        pairs=len(labels),
        counts=np.bincount(indices, minlength=len(vocab)),
    )


def neighbour_table(words, embeddings, vocab: dict, k: int = 6) -> dict:
    """{word: nearest(word, …)} for those of `words` the vocabulary has, in their order."""
    return {w: nearest(w, embeddings, vocab, k=k) for w in words if w in vocab}


def main(config: Config | None = None) -> dict:
    config = config or Config()
    out = lesson.output_dir(config.out_dir)
    seed_everything(config.seed)

    deck = decks_examples()
    print("skip-gram, window 1:", ", ".join(f"[{c},{x}]" for c, x in deck["skipgram"][:7]), "…")
    print("CBOW, window 1:", "; ".join(f"{ctx} → {w}" for ctx, w in deck["cbow"][:3]), "…")
    print(f"one-hot 'sun' in {deck['vocabulary']}: {deck['sun'].astype(int).tolist()}")

    book = data.load_quijote()
    tokens = book_words(book.text)
    if config.limit:
        tokens = tokens[: config.limit]
    start = time.perf_counter()
    trained = train_word2vec(tokens, config)
    seconds = time.perf_counter() - start
    embeddings, vocab, history = trained.embeddings, trained.vocab, trained.history
    print(
        f"{book.title('Don Quijote')}: {len(tokens):,} words, vocabulary {len(vocab):,} "
        f"(min_count {config.min_count}); {trained.pairs:,} training pairs, {config.epochs} "
        f"epochs in {seconds:.0f} s, loss {history.history['loss'][-1]:.3f}"
    )

    wanted = [w.strip() for w in (STANDIN_WORDS if book.standin else config.words).split(",")]
    neighbours = neighbour_table(wanted, embeddings, vocab)
    queries = list(neighbours)
    if len(queries) < len(wanted):
        print(f"  (not in this vocabulary: {', '.join(w for w in wanted if w not in vocab)})")
    for q, near in neighbours.items():
        print(f"  nearest to {q!r}: " + ", ".join(f"{w} {s:.2f}" for w, s in near))

    words = {i: w for w, i in vocab.items()}
    frequent = [i for i in np.argsort(-trained.counts) if any(ch.isalpha() for ch in words[i])]
    frequent = frequent[:300]
    xy = pca_2d(embeddings[frequent])
    fig, ax = plotting.subplots(1, 1, size=(10, 8))
    ax = ax[0, 0]
    ax.scatter(xy[:, 0], xy[:, 1], s=6, color="lightgray")
    shown = set(frequent[:60]) | {vocab[q] for q in queries}
    for (x, y), i in zip(xy, frequent, strict=True):
        if i in shown:
            color = "tab:red" if words[i] in queries else "black"
            ax.annotate(words[i], (x, y), fontsize=8, color=color)
    ax.set(
        xlabel="first principal direction",
        ylabel="second principal direction",
        title=book.title(f"the {len(frequent)} most frequent words' vectors, projected to 2-D"),
    )
    lesson.save_figure(fig, out, "projection")
    vectors, metadata = export_projector(embeddings, vocab, out / "projector")
    print(f"  Embedding Projector files: {vectors} and {metadata}")

    first = queries[0] if queries else None
    metrics = {
        "standin": book.standin,
        "vocabulary": len(vocab),
        "tokens": len(tokens),
        "pairs": trained.pairs,
        "loss": history.history["loss"],
        "seconds": seconds,
        "neighbours": {q: [[w, s] for w, s in n] for q, n in neighbours.items()},
        "deck_skipgram": [list(p) for p in deck["skipgram"][:7]],
        "headline": f"{len(vocab):,} word vectors of {config.dim}; "
        + (
            f"nearest to {first!r}: {', '.join(w for w, _ in neighbours[first][:3])}"
            if first
            else "no query word in the vocabulary"
        )
        + (" (stand-in text)" if book.standin else ""),
    }
    lesson.write_metrics(out, metrics)
    return metrics


if __name__ == "__main__":
    lesson.run(main, Config, QUICK, __doc__)
