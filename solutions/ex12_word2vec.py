# %% [markdown]
# # ex12 · word2vec: words as vectors
# ex08 gave every word an index and let an `Embedding` learn a vector for it
# on the way to predicting the next word. word2vec makes the vectors the
# goal: a word is known by the company it keeps, so train a network to tell
# which words appear near which, and keep its first layer. Words used alike
# end up with vectors that point alike (cosine similarity), and the book's
# characters find each other among the nearest neighbours.
#
# **Your job:** fill in the six `TODO`s and `answers()`, then run
# `workshop check 12`. This lesson builds on ex08 (it imports your
# `tokenize_words` and `build_vocabulary`): finish ex08 first, or run
# `workshop run 12 --solution` to see the whole lesson.
#
# Follows the deep-networks deck's word2vec section: the samples of
# "Quantum physics is a fundamental theory in physics" with a window of 1,
# and the one-hot vector of "The sun is shining" (`decks_examples`). What is
# done differently, and why:
# - the deck's network ends in a softmax over the whole vocabulary: 10,000
#   outputs per training pair for the book. Here: skip-gram with negative
#   sampling (Mikolov et al., 2013), a (word, context) pair seen in the text
#   or made up? Two embeddings, a dot product, a sigmoid: (1 + k)·dim
#   multiplications per pair instead of vocabulary·dim. The word vectors
#   are the first embedding (the deck's "hidden layer weight matrix");
# - a one-hot input times a weight matrix picks one row of it: an
#   `Embedding` picks that row directly (as in ex08);
# - the deck's alphabetical vocabulary (is, shining, sun, the) is ex08's,
#   which adds `<unk>` at the end: the one-hot vectors have one more place;
# - similar vectors, "the basis of sentiment analysis" says the deck: they
#   are words *used* alike, and antonyms (good, bad) are used alike.

# %%
"""ex12 · word2vec: skip-gram pairs, negative sampling, nearest words, the projector."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workshop import data, lesson, plotting, validate
from workshop.repro import seed_everything

QUANTUM = "Quantum physics is a fundamental theory in physics"
SUN = "The sun is shining"


def ex08():
    """ex08, whose tokenize_words and build_vocabulary this lesson uses (your own file)."""
    return lesson.sibling("ex08_rnn_text_generation")


# %% [markdown]
# ## Training samples: skip-gram and CBOW
# Skip-gram predicts the context from the word: for each word, in order, one
# (word, context word) pair per neighbour within `window` places, nearest
# first, left before right at the same distance: the deck's (quantum,
# physics), (physics, quantum), (physics, is), (is, physics), … CBOW goes the
# other way: the context words together, in the text's order, predict the
# word in the middle. Words near the ends have fewer neighbours.


# %%
def skipgram_pairs(tokens, window: int) -> list[tuple[str, str]]:
    """[(center, context), …] for every position in order, contexts nearest first, left first."""
    tokens = validate.tokens(tokens, "tokens")
    window = validate.count(window, "window")
    # TODO: the pairs of every position, in the order the deck lists them.
    # Which neighbours does position i have, and in which order?
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
    tokens = validate.tokens(tokens, "tokens")
    window = validate.count(window, "window")
    # TODO: one example per position: which words surround it (at most
    # `window` on each side, in the text's order), and which word do they
    # predict?
    # BEGIN SOLUTION
    return [
        (tokens[max(0, i - window) : i] + tokens[i + 1 : i + 1 + window], word)
        for i, word in enumerate(tokens)
    ]
    # END SOLUTION


def one_hot(word: str, vocab: dict) -> np.ndarray:
    """len(vocab) floats, a 1 at the word's index (at `<unk>`'s for a word the vocab lacks)."""
    word, vocab = validate.text(word, "word"), validate.vocabulary(vocab, "vocab")
    if word not in vocab and "<unk>" not in vocab:
        raise ValueError(f"{word!r} is not in the vocabulary ({len(vocab)} words, no '<unk>')")
    # TODO: the one-hot vector of the word: how long is it, and where is its 1?
    # BEGIN SOLUTION
    vector = np.zeros(len(vocab))
    vector[vocab.get(word, vocab.get("<unk>"))] = 1.0
    return vector
    # END SOLUTION


def decks_examples() -> dict:
    """The deck's samples with your functions: skip-gram and CBOW with window 1, one-hot 'sun'."""
    words = ex08().tokenize_words(QUANTUM)
    vocab = ex08().build_vocabulary(ex08().tokenize_words(SUN))
    samples = {"skipgram": skipgram_pairs(words, 1), "cbow": cbow_examples(words, 1)}
    return {**samples, "vocabulary": vocab, "sun": one_hot("sun", vocab)}


# %% [markdown]
# ## The model: skip-gram with negative sampling
# Two tables of vectors, one for words as the center (`target_embedding`:
# the word vectors we keep), one as context (`context_embedding`). For a
# pair (c, o) the model gives
# σ(t_c · u_o) = 1 / (1 + exp(−t_c · u_o)), "how likely is this pair to come
# from the text". Training shows it each real pair (label 1) and k made-up
# pairs with the same center and a random context word (label 0), drawn in
# proportion to count^0.75 as Mikolov et al. do. The loss is the binary
# cross-entropy; Adam with a learning rate of 0.01 (embeddings see few
# updates each: a bolder rate than Keras's 0.001 learns in fewer epochs).


# %%
def build_skipgram_model(vocab_size: int, dim: int = 64):
    """[center, context] indices (batch,) -> sigmoid(target vector · context vector) (batch, 1)."""
    import keras

    vocab_size = validate.count(vocab_size, "vocab_size")
    dim = validate.count(dim, "dim")
    center = keras.Input(shape=(), dtype="int32", name="center")
    context = keras.Input(shape=(), dtype="int32", name="context")
    # TODO: the model above, from [center, context] to one probability per
    # pair: which layers (with those names), how are the two vectors
    # combined, and how is it compiled?
    # BEGIN SOLUTION
    target_vector = keras.layers.Embedding(vocab_size, dim, name="target_embedding")(center)
    context_vector = keras.layers.Embedding(vocab_size, dim, name="context_embedding")(context)
    score = keras.layers.Dot(axes=1)([target_vector, context_vector])
    probability = keras.layers.Activation("sigmoid")(score)
    model = keras.Model(inputs=[center, context], outputs=probability, name="skipgram")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="binary_crossentropy")
    return model
    # END SOLUTION


def pair_indices(indices, window: int) -> tuple[np.ndarray, np.ndarray]:
    """skipgram_pairs on a long array of word indices, fast: (centers, contexts)."""
    indices, window = np.asarray(indices), validate.count(window, "window")
    n, centers, contexts = len(indices), [np.zeros(0, int)], [np.zeros(0, int)]
    for d in range(1, min(window, n - 1) + 1):
        centers += [indices[d:], indices[: n - d]]  # the word d places to the left
        contexts += [indices[: n - d], indices[d:]]  # … and to the right
    return np.concatenate(centers).astype(np.int32), np.concatenate(contexts).astype(np.int32)


def training_pairs(indices, vocab_size: int, window: int = 2, negatives: int = 4, seed: int = 0):
    """(centers, contexts, labels), shuffled: each real pair (1), `negatives` made-up ones (0)."""
    rng = np.random.default_rng(seed)
    centers, contexts = pair_indices(indices, window)
    p = np.bincount(np.asarray(indices), minlength=vocab_size).astype(float) ** 0.75
    fake = rng.choice(vocab_size, size=len(centers) * negatives, p=p / p.sum()).astype(np.int32)
    all_centers = np.concatenate([centers, np.repeat(centers, negatives)])
    all_contexts = np.concatenate([contexts, fake])
    labels = np.concatenate([np.ones(len(centers)), np.zeros(len(fake))]).astype("float32")
    order = rng.permutation(len(labels))
    return all_centers[order], all_contexts[order], labels[order]


def subsample(indices, threshold: float = 1e-4, seed: int = 0) -> np.ndarray:
    """Thin out frequent words ('de', ','): frequency f is kept with √(threshold/f) + threshold/f."""
    indices = np.asarray(indices)
    f = (np.bincount(indices) / len(indices))[indices]
    keep = np.sqrt(threshold / f) + threshold / f
    return indices[np.random.default_rng(seed).random(len(indices)) < keep]


# %% [markdown]
# ## Which words are alike?
# Cosine similarity is the cosine of the angle between two vectors,
# cos(a, b) = a·b / (‖a‖·‖b‖): 1 for the same direction, 0 at right
# angles, −1 for opposite ones; their length (how frequent a word is,
# mostly) does not count.


# %%
def cosine_similarity(a, b) -> float:
    """a·b / (‖a‖·‖b‖) as a float; a zero vector has no direction and is refused."""
    a, b = validate.array(a, "a", ndim=1), validate.array(b, "b", ndim=1)
    validate.same_length(a, b, "a and b")
    if not np.any(a) or not np.any(b):
        raise ValueError("cosine similarity of a zero vector is undefined (it has no direction)")
    # TODO: the cosine of the angle between a and b (the formula above), as
    # a Python float.
    # BEGIN SOLUTION
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    # END SOLUTION


def nearest(word: str, embeddings, vocab: dict, k: int = 5) -> list[tuple[str, float]]:
    """The k other words of highest cosine similarity with `word`, as [(word, similarity), …]."""
    word, k = validate.text(word, "word"), validate.count(k, "k")
    embeddings = validate.array(embeddings, "embeddings", ndim=2)
    if word not in validate.vocabulary(vocab, "vocab"):
        raise ValueError(f"{word!r} is not in the vocabulary ({len(vocab)} words)")
    if len(embeddings) != len(vocab):
        raise ValueError(f"embeddings need a row per word ({len(vocab)}), got {len(embeddings)}")
    # TODO: the cosine similarity of the word's vector with every row at once
    # (a row of length 0 has similarity 0), then the k most similar words
    # other than the word itself, most similar first, as (word, float) pairs.
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
# The most frequent words projected on the two directions in which their
# vectors vary most (PCA, with NumPy's SVD), and the files the TensorFlow
# Embedding Projector reads (https://projector.tensorflow.org, "Load":
# vectors.tsv, then metadata.tsv), where you can search a word and see its
# neighbours in 3-D.


# %%
def export_projector(embeddings, vocab: dict, folder) -> tuple[Path, Path]:
    """folder/vectors.tsv (a row per word, in index order) and folder/metadata.tsv (the words)."""
    embeddings = validate.array(embeddings, "embeddings", ndim=2)
    if len(embeddings) != len(vocab):
        raise ValueError(f"{len(embeddings)} vectors for {len(vocab)} words")
    return lesson.write_projector(folder, embeddings, sorted(vocab, key=vocab.get))


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
    vocab = ex08().build_vocabulary(tokens, min_count=config.min_count)
    indices = ex08().encode(tokens, vocab)
    kept = subsample(indices, seed=config.seed)
    sizes = (len(vocab), config.window, config.negatives)
    centers, contexts, labels = training_pairs(kept, *sizes, seed=config.seed)
    seed_everything(config.seed)
    model = build_skipgram_model(len(vocab), config.dim)
    pairs = [centers, contexts]  # arrays, already shuffled: the same on every backend
    fit = {"batch_size": config.batch_size, "epochs": config.epochs, "shuffle": False}
    history = model.fit(pairs, labels, verbose=0, **fit)
    embeddings = model.get_layer("target_embedding").get_weights()[0]
    counts = np.bincount(indices, minlength=len(vocab))
    return Trained(np.asarray(embeddings), vocab, history, len(labels), counts)


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
    tokens = book_words(book.text)[: config.limit or None]
    start = time.perf_counter()
    trained = train_word2vec(tokens, config)
    seconds = time.perf_counter() - start
    embeddings, vocab, loss = trained.embeddings, trained.vocab, trained.history.history["loss"]
    print(book.title(f"{book.name}: {len(tokens):,} words, vocabulary {len(vocab):,}"))
    print(
        f"  {trained.pairs:,} pairs, {config.epochs} epochs: {seconds:.0f} s, loss {loss[-1]:.3f}"
    )
    wanted = [w.strip() for w in (STANDIN_WORDS if book.standin else config.words).split(",")]
    neighbours = neighbour_table(wanted, embeddings, vocab)
    for q, near in neighbours.items():
        print(f"  nearest to {q!r}: " + ", ".join(f"{w} {s:.2f}" for w, s in near))
    print(f"  (not in this vocabulary: {[w for w in wanted if w not in vocab]})")

    words = {i: w for w, i in vocab.items()}
    frequent = [i for i in np.argsort(-trained.counts) if any(c.isalpha() for c in words[i])]
    frequent = [words[i] for i in frequent[:300]]
    title = book.title(f"the {len(frequent)} most frequent words' vectors, projected to 2-D")
    xy = pca_2d(embeddings[[vocab[w] for w in frequent]])
    figure = plotting.word_map(xy, frequent, highlight=list(neighbours), title=title)
    lesson.save_figure(figure, out, "projection")
    vectors, metadata = export_projector(embeddings, vocab, out / "projector")
    print(f"  Embedding Projector files: {vectors} and {metadata}")

    first = next(iter(neighbours), None)
    near = f"nearest to {first!r}: {[w for w, _ in neighbours[first][:3]]}" if first else ""
    metrics = {"standin": book.standin, "vocabulary": len(vocab), "tokens": len(tokens)}
    metrics.update(pairs=trained.pairs, loss=loss, seconds=seconds)
    metrics["neighbours"] = {q: [[w, s] for w, s in n] for q, n in neighbours.items()}
    metrics["deck_skipgram"] = [list(p) for p in deck["skipgram"][:7]]
    metrics["headline"] = book.title(f"{len(vocab):,} word vectors of {config.dim}; {near}")
    lesson.write_metrics(out, metrics)
    return metrics


# %% [markdown]
# ## Questions
# 1. How many skip-gram pairs does the deck's sentence, "Quantum physics is
#    a fundamental theory in physics", give with a window of 2?
# 2. What is the cosine similarity of the one-hot vectors of "sun" and
#    "shining" (or of any two different words)?
# 3. `subsample` with threshold 1e-4: what share of its occurrences does a
#    word keep that makes 1 % of the text ("de", say)?
# 4. Negative samples are drawn in proportion to count^0.75. A word seen 100
#    times against a word seen once: how many times more often is the first
#    drawn?
#
# To think about: what do trained vectors tell that one-hot vectors cannot?
# Look for a word's antonym among its nearest words: is it there, and why?


# %%
def answers() -> dict:
    """Your answers to the questions above, keyed "q1", "q2", ..."""
    # TODO: answer each question with a number; your own functions can
    # compute them.
    # BEGIN SOLUTION
    # q2: every two different one-hot vectors are at right angles: they say nothing about
    # which words are alike. Open: trained vectors point alike for words used alike; an
    # antonym shares its contexts ("un buen/mal caballero"): it is often among the nearest.
    vocab = ex08().build_vocabulary(ex08().tokenize_words(SUN))
    q1 = len(skipgram_pairs(ex08().tokenize_words(QUANTUM), 2))
    q2 = cosine_similarity(one_hot("sun", vocab), one_hot("shining", vocab))
    q3 = float(np.sqrt(1e-4 / 0.01) + 1e-4 / 0.01)
    return {"q1": q1, "q2": q2, "q3": q3, "q4": float(100**0.75)}
    # END SOLUTION


if __name__ == "__main__":
    lesson.run(main, Config, QUICK, __doc__)
