# %% [markdown]
# # ex08 · Teaching a network to continue a text
# "En un lugar de la Mancha, de cuyo nombre no quiero acordarme…" A recurrent
# network reads a window of words, one after the other, sharing its weights
# across time, and predicts the next word. Sample from it at different
# temperatures to generate new text.
#
# **Your job:** fill in the five `TODO`s, then run `workshop check 8`.
#
# Follows the first deck's example ("Un viejo hidalgo de los de lanza en
# astillero …": words → indices → windows of 3 words and the word after
# them; `decks_example` computes it with your code). The workshop deck has
# no notebook for it. What is done differently from the deck, and why:
# - words enter through an `Embedding` layer, not as the deck's one-hot
#   vectors (1000, 0100, 0001): a one-hot row times a weight matrix only
#   picks one row of it, and the Embedding picks that row directly, without
#   vectors as long as the vocabulary;
# - the labels are indices too (sparse categorical cross-entropy), not
#   one-hot rows;
# - the recurrent layer is an LSTM (or a GRU): the plain recurrence
#   s_t = f(U·x_t + W·s_{t−1}) forgets within a few steps (vanishing
#   gradients). The deck writes it as s_{t−1} = f(U_{t−1}·x_{t−1} + W_{t−1}):
#   the previous state is missing, and U and W are the same at every step
#   (shared across time), not one per step;
# - the deck's table gives "hidalgo" and "los" the same index, 321; every
#   word has its own index here;
# - the vocabulary is the book's, sorted alphabetically, with `<unk>` for
#   words seen fewer than `min_count` times; training windows are 10 words,
#   as the deck's training slide says.

# %%
"""ex08 · Teaching a network to continue a text (Don Quijote, word and character level)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np

from workshop import data, lesson, plotting, validate

UNK = "<unk>"  # the out-of-vocabulary token, always the last index
_TOKEN = re.compile(r"\w+|[^\w\s]")
_NO_SPACE_BEFORE = set(",.;:!?)]»")
_NO_SPACE_AFTER = set("¿¡([«")


# %% [markdown]
# ## Text → tokens
# The book comes with a byte-order mark and Windows line endings (CRLF):
# clean them away, keep every accent and ñ.


# %%
def clean_text(text: str) -> str:
    """Drop the byte-order mark, make line endings LF, collapse spaces; keep accents and ñ."""
    text = validate.text(text, "text")
    text = text.replace("\ufeff", "").replace("\r\n", "\n").replace("\r", "\n")
    text = unicodedata.normalize("NFC", text)  # "n" + combining tilde becomes one "ñ"
    text = re.sub(r"[ \t\f\v\u00a0]+", " ", text)  # runs of spaces and tabs: one space
    text = "\n".join(line.strip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()  # at most one empty line


def tokenize_words(text: str) -> list[str]:
    """Lower-case words, with every punctuation mark its own token ("niño," -> "niño", ",")."""
    # A word (\w matches accented letters and ñ), or one character that is
    # neither a word character nor a space.
    return _TOKEN.findall(validate.text(text, "text").lower())


def tokenize_chars(text: str) -> list[str]:
    """Character level: every character is a token."""
    return list(validate.text(text, "text"))


def build_vocabulary(tokens, min_count: int = 1) -> dict[str, int]:
    """Distinct tokens (seen at least min_count times) sorted alphabetically -> 0, 1, ...; then UNK."""
    if isinstance(tokens, str):
        raise ValueError("tokens must be a list of tokens, got a str (tokenize it first)")
    tokens = list(tokens)
    if not tokens:
        raise ValueError("cannot build a vocabulary from no tokens")
    min_count = validate.count(min_count, "min_count")
    # TODO: count how often each token occurs, keep those seen at least
    # min_count times, and number them in alphabetical order from 0. The
    # vocabulary ends with UNK, one index past the last word.
    # BEGIN SOLUTION
    from collections import Counter

    counts = Counter(tokens)
    kept = sorted(t for t, c in counts.items() if c >= min_count and t != UNK)
    vocab = {t: i for i, t in enumerate(kept)}
    vocab[UNK] = len(vocab)
    return vocab
    # END SOLUTION


def encode(tokens, vocab: dict[str, int]) -> np.ndarray:
    """Token -> index (UNK's index for tokens the vocabulary lacks)."""
    if UNK not in vocab:
        raise ValueError(f"the vocabulary needs the {UNK!r} token for unknown words")
    unk = vocab[UNK]
    return np.fromiter((vocab.get(t, unk) for t in tokens), dtype=np.int32)


def decode(indices, vocab: dict[str, int]) -> list[str]:
    """Index -> token."""
    inverse = {i: t for t, i in vocab.items()}
    indices = validate.array(indices, "indices", ndim=1, allow_empty=True)
    unknown = [int(i) for i in indices if i not in inverse]
    if unknown:
        raise ValueError(
            f"indices must be in the vocabulary (0..{len(vocab) - 1}), got {unknown[:5]}"
        )
    return [inverse[int(i)] for i in indices]


def detokenize(tokens, level: str = "word") -> str:
    """Tokens back to readable text: no space before ',' or after '¿'."""
    if level == "char":
        return "".join(tokens)
    out = ""
    for token in tokens:
        if (
            out
            and token not in _NO_SPACE_BEFORE
            and out[-1] not in _NO_SPACE_AFTER
            and out[-1] != "\n"
        ):
            out += " "
        out += token
    return out


def _indices(indices) -> np.ndarray:
    """A 1-D array of whole, non-negative token indices."""
    values = validate.array(indices, "indices", ndim=1)
    if np.any(values < 0) or np.any(values != np.round(values)):
        raise ValueError("indices must be whole numbers >= 0 (token indices)")
    return values.astype(np.int64)


# %% [markdown]
# ## Windows: every run of `window` tokens, and the token right after it


# %%
def make_windows(indices, window: int):
    """X: every run of `window` consecutive indices (sliding by one); y: the index after each run."""
    indices = _indices(indices)
    window = validate.count(window, "window")
    if window >= len(indices):
        raise ValueError(
            f"window {window} needs a text of more than {window} tokens, got {len(indices)}"
        )
    # TODO: every run of `window` consecutive indices is one input, and the
    # index right after the run is its label; the runs slide by one. How many
    # runs have a label after them?
    # BEGIN SOLUTION
    X = np.lib.stride_tricks.sliding_window_view(indices, window)[:-1]
    return X.copy(), indices[window:].copy()
    # END SOLUTION


def windows_dataset(
    indices, window: int, batch_size: int = 128, shuffle: bool = True, seed: int = 0
):
    """The same (window, next token) pairs as a tf.data pipeline, built lazily (the whole book fits)."""
    import tensorflow as tf

    indices = _indices(indices).astype(np.int32)
    window = validate.count(window, "window")
    batch_size = validate.count(batch_size, "batch_size")
    if window >= len(indices):
        raise ValueError(
            f"window {window} needs a text of more than {window} tokens, got {len(indices)}"
        )
    n = len(indices) - window
    ds = tf.data.Dataset.range(n)
    if shuffle:
        ds = ds.shuffle(min(n, 100_000), seed=seed, reshuffle_each_iteration=True)
    source = tf.constant(indices)
    ds = ds.batch(batch_size).map(
        lambda starts: (
            tf.gather(source, starts[:, None] + tf.range(window, dtype=tf.int64)[None, :]),
            tf.gather(source, starts + window),
        ),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return ds.prefetch(tf.data.AUTOTUNE)


# %% [markdown]
# ## Model: Embedding → LSTM or GRU → softmax over the vocabulary
# Keras 3: no `input_length=` on Embedding; sparse labels (the index of the
# next word), so no one-hot matrix the size of the book.


# %%
def build_text_model(
    vocab_size: int,
    embedding_dim: int = 64,
    units: int = 128,
    cell: str = "lstm",
    layers: int = 1,
    learning_rate: float = 0.001,
):
    """Embedding → `layers` recurrent layers (LSTM or GRU) → Dense(vocab_size, softmax), Adam."""
    import keras

    validate.one_of(cell, "cell", ("lstm", "gru"))
    vocab_size = validate.count(vocab_size, "vocab_size")
    embedding_dim = validate.count(embedding_dim, "embedding_dim")
    units, layers = validate.count(units, "units"), validate.count(layers, "layers")
    learning_rate = validate.positive(learning_rate, "learning_rate")
    # TODO: a window of word indices (any length, integers) goes in; an
    # Embedding turns each index into a vector of embedding_dim numbers;
    # `layers` recurrent layers of `units` (LSTM or GRU, as `cell` says) read
    # the vectors in order, every layer but the last handing its whole
    # sequence to the next; a softmax over the vocabulary comes out. Compile
    # it for integer labels (the index of the next word), with Adam at
    # `learning_rate`.
    # BEGIN SOLUTION
    Recurrent = keras.layers.LSTM if cell == "lstm" else keras.layers.GRU
    stack = [
        keras.Input(shape=(None,), dtype="int32"),
        keras.layers.Embedding(vocab_size, embedding_dim),
    ]
    stack += [Recurrent(units, return_sequences=i < layers - 1) for i in range(layers)]
    stack += [keras.layers.Dense(vocab_size, activation="softmax")]
    model = keras.Sequential(stack)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
    )
    return model
    # END SOLUTION


# %% [markdown]
# ## Sampling with a temperature
# Temperature 0 always takes the most likely token; 1 samples the model's
# distribution as it is; higher flattens it (more surprising, more errors).


# %%
def sample_next(probabilities, temperature: float, rng: np.random.Generator) -> int:
    """Draw the next token's index: temperature 0 = the most likely; p^(1/T), renormalised, otherwise."""
    p = validate.array(probabilities, "probabilities").ravel()
    if np.any(p < 0) or p.sum() <= 0:
        raise ValueError("probabilities must be non-negative and not all zero")
    temperature = validate.number(temperature, "temperature", low=0)
    if not isinstance(rng, np.random.Generator):
        raise ValueError(
            f"rng must be a numpy Generator (np.random.default_rng(seed)), got {type(rng).__name__}"
        )
    # TODO: temperature 0 takes the most likely token. Otherwise raise every
    # probability to the power 1/T and renormalise, then draw one index with
    # rng. Work in logs, and mind a temperature as small as 1e-320: p^(1/T)
    # must not become 0/0.
    # BEGIN SOLUTION
    if temperature == 0:
        return int(np.argmax(p))
    logs = np.log(p + 1e-12)
    with np.errstate(over="ignore"):  # a tiny T sends all but the largest to -inf
        scaled = (logs - logs.max()) / temperature  # the largest is exactly 0: never NaN
    q = np.exp(scaled)
    return int(rng.choice(len(p), p=q / q.sum()))
    # END SOLUTION


def next_token_probabilities(model, x, vocab: dict[str, int]) -> np.ndarray:
    """The model's distribution over the next token for one window `x`, with UNK ruled out."""
    # predict_on_batch runs the compiled graph: ~20x faster than model(x) token by token.
    probs = np.asarray(model.predict_on_batch(np.asarray(x, dtype=np.int32)[None, :]))[0]
    probs = probs.astype(np.float64)
    probs[vocab[UNK]] = 0.0  # "<unk>" is not a word worth generating
    return probs / probs.sum()


def generate(
    model,
    seed_text: str,
    n: int,
    temperature: float,
    vocab: dict[str, int],
    window: int,
    level: str = "word",
    seed: int = 0,
) -> str:
    """Continue `seed_text` by `n` tokens, feeding the model its last `window` tokens each time."""
    n = validate.integer(n, "n", low=0)
    window = validate.count(window, "window")
    validate.one_of(level, "level", ("word", "char"))
    if UNK not in vocab:
        raise ValueError(f"the vocabulary needs the {UNK!r} token for unknown words")
    tokens = tokenize_words(seed_text) if level == "word" else tokenize_chars(seed_text)
    if not tokens:
        raise ValueError("seed_text must contain at least one token")
    rng = np.random.default_rng(seed)
    inverse = {i: t for t, i in vocab.items()}
    # TODO: n times: the model reads the last `window` tokens (as indices) and
    # gives the probabilities of the next one (next_token_probabilities never
    # proposes UNK); sample_next picks one at this temperature, and it joins
    # the text, so the next step reads it. Return the tokens as readable text.
    # BEGIN SOLUTION
    for _ in range(n):
        x = encode(tokens[-window:], vocab)
        probs = next_token_probabilities(model, x, vocab)
        tokens.append(inverse[sample_next(probs, temperature, rng)])
    return detokenize(tokens, level)
    # END SOLUTION


def perplexity(loss: float) -> float:
    """exp(cross-entropy): the effective number of equally likely next tokens."""
    return float(np.exp(loss))


def unigram_perplexity(train_indices, valid_indices, vocab_size: int) -> float:
    """The baseline: predict every token from its training frequency (add-one smoothed)."""
    counts = np.bincount(train_indices, minlength=vocab_size) + 1.0
    p = counts / counts.sum()
    return float(np.exp(-np.mean(np.log(p[np.asarray(valid_indices)]))))


def sample_callback(vocab, window, seed_text, temperatures=(0.5, 1.0), n=20, level="word"):
    """A Keras callback printing generated text at two temperatures after each epoch."""
    import keras

    class SampleText(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.samples = []

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            print(
                f"\nepoch {epoch + 1}: loss {logs.get('loss', float('nan')):.3f}, "
                f"perplexity {perplexity(logs.get('loss', float('nan'))):.1f}"
            )
            for t in temperatures:
                text = generate(self.model, seed_text, n, t, vocab, window, level, seed=epoch)
                self.samples.append((epoch + 1, t, text))
                print(f"  T={t}: {text}")

    return SampleText()


# %% [markdown]
# ## The first deck's example, computed by your functions
# "Un viejo hidalgo de los de lanza en astillero …": the slide numbers the
# words, then cuts the numbers into windows of 3 (its "n-gram") with the word
# after each window as the label. The same with your `make_windows`, on the
# slide's own numbers and on a vocabulary of the sentence; then the book's
# real opening with the vocabulary the model learns.


# %%
DECK_SENTENCE = "Un viejo hidalgo de los de lanza en astillero"
DECK_INDICES = [5, 451, 321, 8, 321, 8, 212, 10, 85]  # the slide's; "hidalgo" and "los" share 321
DECK_NGRAM = 3
BOOK_OPENING = "En un lugar de la Mancha, de cuyo nombre no quiero acordarme"


def _pairs(words, indices) -> str:
    return " · ".join(f"{w} {int(i)}" for w, i in zip(words, indices, strict=True))


def _windows_text(X, y, limit: int = 3) -> str:
    return ", ".join(
        f"{row.tolist()} → {int(t)}" for row, t in zip(X[:limit], y[:limit], strict=True)
    )


def decks_example(vocab: dict[str, int] | None = None) -> dict:
    """The deck's words → indices → windows of 3 → the next word, with your functions."""
    words = tokenize_words(DECK_SENTENCE)
    own = build_vocabulary(words)
    indices = encode(words, own)
    X, y = make_windows(indices, DECK_NGRAM)
    slide_X, slide_y = make_windows(np.array(DECK_INDICES), DECK_NGRAM)
    print(f'the first deck: "{DECK_SENTENCE} …"')
    print(f"  the slide's indices: {_pairs(words, DECK_INDICES)}")
    print("    ('hidalgo' and 'los' are both 321 there: one index per word, a slide error)")
    print(f"  its windows of {DECK_NGRAM} → the next word: {_windows_text(slide_X, slide_y)}")
    print(f"  a vocabulary of the sentence (alphabetical): {_pairs(words, indices)}")
    print(f"    windows: {_windows_text(X, y, len(y))}")
    result = {
        "slide_windows": slide_X.tolist(),
        "slide_labels": slide_y.tolist(),
        "indices": indices.tolist(),
        "windows": X.tolist(),
        "labels": y.tolist(),
    }
    if vocab is not None:
        opening = tokenize_words(BOOK_OPENING)
        ids = encode(opening, vocab)
        bX, by = make_windows(ids, DECK_NGRAM)
        print(f"  the book's opening, the book's vocabulary: {_pairs(opening, ids)}")
        unknown = float(np.mean(ids == vocab[UNK]))
        if unknown > 0.5:
            print(f"    (mostly {UNK}: this vocabulary is not from the book; the stand-in text?)")
        elif unknown:
            print(f"    ({UNK} {vocab[UNK]}: a word seen too rarely to get its own index)")
        print(f"    first windows: {_windows_text(bX, by)}")
        result["opening"] = {"words": opening, "indices": ids.tolist(), "windows": bX.tolist()}
    return result


# %% [markdown]
# ## Run the lesson


# %%
@dataclass
class Config:
    words: int = 0  # 0 = the whole book
    window: int = 10
    min_count: int = 2
    embedding_dim: int = 64
    units: int = 256
    cell: str = "lstm"
    epochs: int = 10
    learning_rate: float = 0.001
    batch_size: int = 128
    char_chars: int = 200_000
    char_epochs: int = 3
    sample_chars: int = 200
    seed: int = 0
    out_dir: str = "outputs/ex08_rnn_text_generation"


# Quick: a smaller vocabulary and a bolder learning rate, so that two short
# epochs already beat the unigram baseline (the lesson's point).
QUICK = {
    "words": 12000,
    "min_count": 3,
    "window": 5,
    "embedding_dim": 32,
    "units": 64,
    "epochs": 2,
    "learning_rate": 0.01,
    "batch_size": 32,
    "char_chars": 3000,
    "char_epochs": 1,
    "sample_chars": 60,
}


def main(config: Config | None = None) -> dict:
    import keras

    config = config or Config()
    out = lesson.output_dir(config.out_dir)
    keras.utils.set_random_seed(config.seed)
    book = data.load_quijote()
    text = clean_text(book.text)
    words = tokenize_words(text)
    words = words[: config.words] if config.words else words
    vocab = build_vocabulary(words, config.min_count)
    indices = encode(words, vocab)
    split = int(0.9 * len(indices))
    print(
        f"{book.name}{' (STAND-IN: ' + book.source + ')' if book.standin else ''}: "
        f"{len(words):,} words, vocabulary {len(vocab):,}"
    )
    decks = decks_example(vocab)
    seed_text = " ".join(words[: config.window])
    model = build_text_model(
        len(vocab),
        config.embedding_dim,
        config.units,
        config.cell,
        learning_rate=config.learning_rate,
    )
    sampler = sample_callback(vocab, config.window, seed_text, n=15)
    history = model.fit(
        windows_dataset(indices[:split], config.window, config.batch_size, seed=config.seed),
        validation_data=windows_dataset(indices[split:], config.window, shuffle=False),
        epochs=config.epochs,
        callbacks=[sampler, *lesson.tensorboard(out)],
        verbose=2,
    )
    logs = dict(history.history)
    logs["perplexity"] = [perplexity(v) for v in logs["loss"]]
    logs["val_perplexity"] = [perplexity(v) for v in logs["val_loss"]]
    baseline = unigram_perplexity(indices[:split], indices[split:], len(vocab))
    lesson.save_figure(
        plotting.history(
            logs,
            metrics=["loss", "perplexity"],
            title=book.title(
                f"word level ({config.cell.upper()}); unigram baseline perplexity {baseline:.0f}"
            ),
        ),
        out,
        "word_history",
    )

    chars = tokenize_chars(text[: config.char_chars])
    char_vocab = build_vocabulary(chars)
    char_indices = encode(chars, char_vocab)
    char_model = build_text_model(len(char_vocab), 32, config.units, "gru")
    char_split = int(0.9 * len(char_indices))
    char_history = char_model.fit(
        windows_dataset(char_indices[:char_split], 40, seed=config.seed),
        validation_data=windows_dataset(char_indices[char_split:], 40, shuffle=False),
        epochs=config.char_epochs,
        verbose=2,
    )
    char_seed = text[:40]
    samples = {
        t: generate(model, seed_text, 25, t, vocab, config.window, seed=config.seed)
        for t in (0.0, 0.7, 1.2)
    }
    char_sample = generate(
        char_model, char_seed, 120, 0.7, char_vocab, 40, level="char", seed=config.seed
    )
    (out / "samples.txt").write_text(
        "\n\n".join(
            [f"word level, T={t}:\n{s}" for t, s in samples.items()]
            + [f"character level, T=0.7:\n{char_sample}"]
        )
        + "\n",
        encoding="utf-8",
    )
    for t, s in samples.items():
        print(f"T={t}: {s}")
    print(f"characters, T=0.7: {char_sample}")
    metrics = {
        "standin": book.standin,
        "words": len(words),
        "vocabulary": len(vocab),
        "val_perplexity": logs["val_perplexity"][-1],
        "unigram_perplexity": baseline,
        "char_val_loss": char_history.history["val_loss"][-1],
        "samples": samples,
        "decks": decks,
        "headline": f"val perplexity {logs['val_perplexity'][-1]:.0f} vs unigram {baseline:.0f}",
    }
    lesson.write_metrics(out, metrics)
    return metrics


if __name__ == "__main__":
    lesson.run(main, Config, QUICK, __doc__)
