# %% [markdown]
# # ex08 · Teaching a network to continue a text
# "En un lugar de la Mancha, de cuyo nombre no quiero acordarme…" A recurrent
# network reads a window of words, one after the other, sharing its weights
# across time, and predicts the next word. Sample from it at different
# temperatures to generate new text.
#
# **Your job:** fill in every `TODO`, then run `workshop check 8`.

# %%
"""ex08 · Teaching a network to continue a text (Don Quijote, word and character level)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np

from workshop import data, lesson, plotting

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
    if not isinstance(text, str):
        raise ValueError(f"expected a str, got {type(text).__name__}")
    # TODO: remove "\ufeff"; replace "\r\n" and then "\r" by "\n"; normalise
    # to NFC (unicodedata.normalize: "n" + combining tilde becomes "ñ");
    # collapse runs of spaces and tabs into one space (re.sub); strip spaces at
    # the ends of each line; collapse 3+ newlines into 2; strip the ends.
    # BEGIN SOLUTION
    text = text.replace("\ufeff", "").replace("\r\n", "\n").replace("\r", "\n")
    text = unicodedata.normalize("NFC", text)
    text = re.sub(r"[ \t\f\v\u00a0]+", " ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()
    # END SOLUTION


def tokenize_words(text: str) -> list[str]:
    """Lower-case words, with every punctuation mark its own token ("niño," -> "niño", ",")."""
    # TODO: lower-case the text, then re.findall with the pattern r"\w+|[^\w\s]"
    # (a word, or a single character that is neither a word character nor space).
    # BEGIN SOLUTION
    return _TOKEN.findall(text.lower())
    # END SOLUTION


def tokenize_chars(text: str) -> list[str]:
    """Character level: every character is a token."""
    return list(text)


def build_vocabulary(tokens, min_count: int = 1) -> dict[str, int]:
    """Distinct tokens (seen at least min_count times) sorted alphabetically -> 0, 1, ...; then UNK."""
    tokens = list(tokens)
    if not tokens:
        raise ValueError("cannot build a vocabulary from no tokens")
    # TODO: count the tokens (collections.Counter), keep those seen >= min_count
    # times, sort them, number them from 0, and add UNK as the last index.
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
    # TODO: an int32 array of vocab.get(token, vocab[UNK]).
    # BEGIN SOLUTION
    unk = vocab[UNK]
    return np.fromiter((vocab.get(t, unk) for t in tokens), dtype=np.int32)
    # END SOLUTION


def decode(indices, vocab: dict[str, int]) -> list[str]:
    """Index -> token."""
    # TODO: invert the vocabulary (index -> token) and look every index up.
    # BEGIN SOLUTION
    inverse = {i: t for t, i in vocab.items()}
    return [inverse[int(i)] for i in indices]
    # END SOLUTION


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


# %% [markdown]
# ## Windows: every run of `window` tokens, and the token right after it


# %%
def make_windows(indices, window: int):
    """X: every run of `window` consecutive indices (sliding by one); y: the index after each run."""
    indices = np.asarray(indices)
    if indices.ndim != 1:
        raise ValueError(f"expected a 1-D sequence of indices, got shape {indices.shape}")
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
        raise ValueError(f"window must be a positive integer, got {window!r}")
    if window >= len(indices):
        raise ValueError(
            f"window {window} needs a text of more than {window} tokens, got {len(indices)}"
        )
    # TODO: X has len(indices) - window rows; row i is indices[i : i + window]
    # and y[i] is indices[i + window]. (np.lib.stride_tricks.sliding_window_view
    # gives all runs at once.)
    # BEGIN SOLUTION
    X = np.lib.stride_tricks.sliding_window_view(indices, window)[:-1]
    return X.copy(), indices[window:].copy()
    # END SOLUTION


def windows_dataset(
    indices, window: int, batch_size: int = 128, shuffle: bool = True, seed: int = 0
):
    """The same (window, next token) pairs as a tf.data pipeline, built lazily (the whole book fits)."""
    import tensorflow as tf

    indices = np.asarray(indices, dtype=np.int32)
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
    vocab_size: int, embedding_dim: int = 64, units: int = 128, cell: str = "lstm", layers: int = 1
):
    """Embedding → `layers` recurrent layers (LSTM or GRU) → Dense(vocab_size, softmax)."""
    import keras

    if cell not in ("lstm", "gru"):
        raise ValueError(f"cell must be 'lstm' or 'gru', got {cell!r}")
    for name, value in (
        ("vocab_size", vocab_size),
        ("embedding_dim", embedding_dim),
        ("units", units),
        ("layers", layers),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    # TODO: keras.Sequential with keras.Input(shape=(None,), dtype="int32"),
    # keras.layers.Embedding(vocab_size, embedding_dim), then `layers`
    # keras.layers.LSTM(units) (or GRU) — all but the last with
    # return_sequences=True — and keras.layers.Dense(vocab_size, activation="softmax").
    # Compile with optimizer="adam" and loss="sparse_categorical_crossentropy".
    # BEGIN SOLUTION
    Recurrent = keras.layers.LSTM if cell == "lstm" else keras.layers.GRU
    stack = [
        keras.Input(shape=(None,), dtype="int32"),
        keras.layers.Embedding(vocab_size, embedding_dim),
    ]
    stack += [Recurrent(units, return_sequences=i < layers - 1) for i in range(layers)]
    stack += [keras.layers.Dense(vocab_size, activation="softmax")]
    model = keras.Sequential(stack)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model
    # END SOLUTION


# %% [markdown]
# ## Sampling with a temperature
# Temperature 0 always takes the most likely token; 1 samples the model's
# distribution as it is; higher flattens it (more surprising, more errors).


# %%
def sample_next(probabilities, temperature: float, rng: np.random.Generator) -> int:
    """Draw the next token's index: temperature 0 = the most likely; p^(1/T), renormalised, otherwise."""
    p = np.asarray(probabilities, dtype=float).ravel()
    if p.size == 0 or np.any(p < 0) or not np.isfinite(p).all() or p.sum() <= 0:
        raise ValueError("probabilities must be non-negative, finite and not all zero")
    if not np.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature!r}")
    # TODO: temperature 0 -> int(np.argmax(p)). Otherwise work in logs:
    # logits = log(p + 1e-12) / temperature; subtract the max; exponentiate;
    # divide by the sum; return int(rng.choice(len(p), p=...)).
    # BEGIN SOLUTION
    if temperature == 0:
        return int(np.argmax(p))
    logits = np.log(p + 1e-12) / temperature
    q = np.exp(logits - logits.max())
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
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    if level not in ("word", "char"):
        raise ValueError(f"level must be 'word' or 'char', got {level!r}")
    tokens = tokenize_words(seed_text) if level == "word" else tokenize_chars(seed_text)
    if not tokens:
        raise ValueError("seed_text must contain at least one token")
    rng = np.random.default_rng(seed)
    inverse = {i: t for t, i in vocab.items()}
    # TODO: n times: encode the last `window` tokens as x, get the next-token
    # probabilities with next_token_probabilities(model, x, vocab) (it never
    # proposes UNK), pick one with sample_next(probs, temperature, rng), and
    # append inverse[index] to tokens. Return detokenize(tokens, level).
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
    char_chars: int = 200_000
    char_epochs: int = 3
    sample_chars: int = 200
    seed: int = 0
    out_dir: str = "outputs/ex08_rnn_text_generation"


QUICK = {
    "words": 3000,
    "window": 5,
    "units": 32,
    "epochs": 2,
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
    seed_text = " ".join(words[: config.window])
    model = build_text_model(len(vocab), config.embedding_dim, config.units, config.cell)
    sampler = sample_callback(vocab, config.window, seed_text, n=15)
    history = model.fit(
        windows_dataset(indices[:split], config.window, seed=config.seed),
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
        "headline": f"val perplexity {logs['val_perplexity'][-1]:.0f} vs unigram {baseline:.0f}",
    }
    lesson.write_metrics(out, metrics)
    return metrics


if __name__ == "__main__":
    lesson.run(main, Config, QUICK, __doc__)
