# %% [markdown]
# # ex08 · Teaching a network to continue a text
# "En un lugar de la Mancha, de cuyo nombre no quiero acordarme…" A recurrent
# network reads a window of words, one after the other, sharing its weights
# across time, and predicts the next word. Sample from it at different
# temperatures to generate new text.
#
# **Your job:** fill in the five `TODO`s and `answers()`, then run
# `workshop check 8`.
#
# Follows the first deck's example ("Un viejo hidalgo de los de lanza en
# astillero …": words → indices → windows of 3 words and the word after
# them; `decks_example` computes it with your code). Where the deck is
# wrong, and what this lesson does instead:
# - s_{t−1} = f(U_{t−1}·x_{t−1} + W_{t−1}) misses the previous state, and U
#   and W are shared across time: s_t = f(U·x_t + W·s_{t−1});
# - o_{t−1} = softmax(V_{t−1}), a softmax of weights alone, would say the
#   same whatever the text: o_t = softmax(V·s_t), the last `Dense` layer;
# - "hidalgo" and "los" share the index 321: here every word has its own.
# What is done differently, and why: its one-hot codes (1000, 0100, 0001:
# four places for three words, as a vocabulary may hold more words than it
# shows) become an `Embedding` (a one-hot row times a matrix picks one row
# of it; the Embedding picks it directly); the labels are indices (sparse
# cross-entropy); the recurrent layer is an LSTM or a GRU (the plain one
# forgets within a few steps: vanishing gradients); the vocabulary is the
# book's, alphabetical, `<unk>` for words seen fewer than `min_count`
# times; windows of 10 words, as the deck trains.

# %%
"""ex08 · Teaching a network to continue a text (Don Quijote, word by word)."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

import numpy as np

from workshop import data, lesson, pipeline, plotting, validate

UNK = "<unk>"  # the out-of-vocabulary token, always the last index
_TOKEN = re.compile(r"\w+|[^\w\s]")  # a word (accents and ñ included), or one punctuation mark


# %% [markdown]
# ## Text → tokens → indices
# Clean away the book's byte-order mark and Windows line endings (CRLF),
# keep every accent and ñ. A vocabulary numbers the distinct tokens in
# alphabetical order from 0; the rare ones all become `<unk>`, the last.


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
    return _TOKEN.findall(validate.text(text, "text").lower())


def tokenize_chars(text: str) -> list[str]:
    """Character level: every character is a token."""
    return list(validate.text(text, "text"))


def build_vocabulary(tokens, min_count: int = 1) -> dict[str, int]:
    """Distinct tokens (seen at least min_count times) sorted alphabetically -> 0, 1, ...; then UNK."""
    tokens = validate.tokens(tokens, "tokens", allow_empty=False)
    min_count = validate.count(min_count, "min_count")
    # TODO: which tokens are kept (how often must each occur?), and which
    # index does each get? UNK must come last, one past the last word, even
    # when the tokens already hold UNK.
    # BEGIN SOLUTION
    counts = Counter(tokens)
    kept = sorted(t for t, c in counts.items() if c >= min_count and t != UNK)
    vocab = {t: i for i, t in enumerate(kept)}
    vocab[UNK] = len(vocab)
    return vocab
    # END SOLUTION


def encode(tokens, vocab: dict[str, int]) -> np.ndarray:
    """Token -> index (UNK's index for tokens the vocabulary lacks)."""
    vocab = validate.vocabulary(vocab, "vocab", needs=UNK)
    return np.fromiter((vocab.get(t, vocab[UNK]) for t in tokens), dtype=np.int32)


def decode(indices, vocab: dict[str, int]) -> list[str]:
    """Index -> token."""
    inverse = {i: t for t, i in vocab.items()}
    values = [int(i) for i in validate.array(indices, "indices", ndim=1, allow_empty=True)]
    if not set(values) <= set(inverse):
        raise ValueError(f"indices must be in the vocabulary (0..{len(vocab) - 1}), got {values}")
    return [inverse[i] for i in values]


def detokenize(tokens, level: str = "word") -> str:
    """Tokens back to readable text: no space before ',' or after '¿'."""
    if level == "char":
        return "".join(tokens)
    return re.sub(r" (?=[,.;:!?)\]»])|(?<=[¿¡(\[«]) ", "", " ".join(tokens))


# %% [markdown]
# ## Windows: every run of `window` tokens, and the token right after it
# From N indices, row i of X is indices[i : i + window] and its label
# y[i] = indices[i + window]: N − window pairs, the last window ending one
# token before the text does.


# %%
def make_windows(indices, window: int):
    """X: every run of `window` consecutive indices (sliding by one); y: the index after each run."""
    indices = validate.indices(indices, "indices")
    window = validate.count(window, "window")
    if window >= len(indices):
        raise ValueError(
            f"window {window} needs a text of more than {window} tokens, got {len(indices)}"
        )
    # TODO: the inputs X (one row per window) and the labels y. How many
    # windows have a token after them?
    # BEGIN SOLUTION
    X = np.lib.stride_tricks.sliding_window_view(indices, window)[:-1]
    return X.copy(), indices[window:].copy()
    # END SOLUTION


def windows_dataset(indices, window: int, batch_size: int = 128, shuffle=True, seed: int = 0):
    """The (window, next token) pairs in batches for `fit`, on every backend."""
    X, y = make_windows(indices, window)
    return pipeline.to_dataset(X.astype("int32"), y.astype("int32"), batch_size, shuffle, seed)


# %% [markdown]
# ## Model: Embedding → LSTM or GRU → softmax over the vocabulary
# Each index becomes a vector (x_t); the recurrent layer reads them in
# order, s_t = f(U·x_t + W·s_{t−1}) with one U and one W for every step
# (an LSTM or GRU adds gates to that); the last state gives
# o = softmax(V·s_T), one probability per word. Stacked recurrent layers
# hand the whole sequence of states to the next (`return_sequences=True`).
# Keras 3: no `input_length=` on Embedding; sparse labels (the index of
# the next word), so no one-hot matrix the size of the book.


# %%
def build_text_model(
    vocab_size, embedding_dim=64, units=128, cell="lstm", layers=1, learning_rate=0.001
):
    """Embedding → `layers` recurrent layers (LSTM or GRU) → Dense(vocab_size, softmax), Adam."""
    import keras

    validate.one_of(cell, "cell", ("lstm", "gru"))
    vocab_size = validate.count(vocab_size, "vocab_size")
    embedding_dim = validate.count(embedding_dim, "embedding_dim")
    units, layers = validate.count(units, "units"), validate.count(layers, "layers")
    learning_rate = validate.positive(learning_rate, "learning_rate")
    # TODO: the model above, for windows of word indices of any length.
    # Which layers, in which order, and what must every recurrent layer but
    # the last hand to the next? Compile it for labels that are indices, with
    # Adam at `learning_rate`.
    # BEGIN SOLUTION
    Recurrent = keras.layers.LSTM if cell == "lstm" else keras.layers.GRU
    windows = keras.Input(shape=(None,), dtype="int32")
    stack = [windows, keras.layers.Embedding(vocab_size, embedding_dim)]
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
# The temperature T reshapes the model's probabilities p before drawing:
# q_i = p_i^(1/T) / Σ_j p_j^(1/T): T = 1 samples p as it is, below 1 the
# likely tokens get likelier, above 1 all even out, T = 0 takes the most
# likely. Divide by the largest first, q_i ∝ (p_i / max_j p_j)^(1/T): the
# largest term stays exactly 1 even for T = 1e-320 (p^(1/T) alone: all 0).


# %%
def sample_next(probabilities, temperature: float, rng: np.random.Generator) -> int:
    """Draw the next token's index: temperature 0 = the most likely; p^(1/T), renormalised, otherwise."""
    p = validate.array(probabilities, "probabilities").ravel()
    if np.any(p < 0) or p.sum() <= 0:
        raise ValueError("probabilities must be non-negative and not all zero")
    temperature = validate.number(temperature, "temperature", low=0)
    rng = validate.generator(rng, "rng")
    # TODO: the index drawn with rng from q (the formula above); at
    # temperature 0, the most likely index. A probability of 0 must stay 0.
    # BEGIN SOLUTION
    if temperature == 0:
        return int(np.argmax(p))
    q = (p / p.max()) ** (1 / temperature)  # the largest is exactly 1: never 0 / 0
    return int(rng.choice(len(p), p=q / q.sum()))
    # END SOLUTION


def next_token_probabilities(model, x, vocab: dict[str, int]) -> np.ndarray:
    """The model's distribution over the next token for one window `x`, with UNK ruled out."""
    import keras

    probs = model.predict_on_batch(np.asarray(x, dtype=np.int32)[None, :])  # compiled: fast
    probs = keras.ops.convert_to_numpy(probs)[0].astype(np.float64)
    probs[vocab[UNK]] = 0.0  # "<unk>" is not a word worth generating
    return probs / probs.sum()


def generate(model, seed_text, n, temperature, vocab, window, level="word", seed=0) -> str:
    """Continue `seed_text` by `n` tokens, feeding the model its last `window` tokens each time."""
    n, window = validate.integer(n, "n", low=0), validate.count(window, "window")
    validate.one_of(level, "level", ("word", "char"))
    vocab = validate.vocabulary(vocab, "vocab", needs=UNK)
    tokens = tokenize_words(seed_text) if level == "word" else tokenize_chars(seed_text)
    if not tokens:
        raise ValueError("seed_text must contain at least one token")
    rng = np.random.default_rng(seed)
    inverse = {i: t for t, i in vocab.items()}
    # TODO: n times: what does the model read (which tokens, as what), which
    # token comes next (next_token_probabilities never proposes UNK, and
    # sample_next draws), and how does it change what the model reads next?
    # Return the tokens as readable text.
    # BEGIN SOLUTION
    for _ in range(n):
        x = encode(tokens[-window:], vocab)
        probs = next_token_probabilities(model, x, vocab)
        tokens.append(inverse[sample_next(probs, temperature, rng)])
    return detokenize(tokens, level)
    # END SOLUTION


# %% [markdown]
# ## The first deck's example, computed by your functions
# The slide numbers the words, then cuts the numbers into windows of 3
# (its "n-gram") with the word after each window as the label.


# %%
DECK_SENTENCE = "Un viejo hidalgo de los de lanza en astillero"
DECK_INDICES = [5, 451, 321, 8, 321, 8, 212, 10, 85]  # the slide's; "hidalgo" and "los" share 321
DECK_NGRAM = 3
BOOK_OPENING = "En un lugar de la Mancha, de cuyo nombre no quiero acordarme"


def decks_example(vocab: dict[str, int] | None = None) -> dict:
    """The deck's words → indices → windows of 3 → the next word, with your functions."""
    words = tokenize_words(DECK_SENTENCE)
    indices = encode(words, build_vocabulary(words))
    X, y = make_windows(indices, DECK_NGRAM)
    slide_X, slide_y = make_windows(np.array(DECK_INDICES), DECK_NGRAM)
    print(f'the first deck: "{DECK_SENTENCE} …" numbered by the slide {DECK_INDICES}, its')
    print(f"  windows of 3 → the next word: {slide_X[:3].tolist()} → {slide_y[:3].tolist()}; by")
    print(f"  a vocabulary of its own: {indices.tolist()}, windows {X.tolist()} → {y.tolist()}")
    result = {"slide_windows": slide_X.tolist(), "slide_labels": slide_y.tolist()}
    result.update(indices=indices.tolist(), windows=X.tolist(), labels=y.tolist())
    if vocab is not None:  # the book's opening, numbered by the vocabulary the model learns
        opening = tokenize_words(BOOK_OPENING)
        result["opening"] = {"words": opening, "indices": encode(opening, vocab).tolist()}
    return result


# %% [markdown]
# ## Run the lesson: train, measure, sample
# The loss is the mean cross-entropy, −mean log p(next token). Its
# exponential, the perplexity, is the number of equally likely tokens the
# model hesitates between. The baseline: every token from its frequency.


# %%
def perplexity(loss: float) -> float:
    """exp(cross-entropy): the effective number of equally likely next tokens."""
    return float(np.exp(loss))


def unigram_perplexity(train_indices, valid_indices, vocab_size: int) -> float:
    """The baseline: predict every token from its training frequency (add-one smoothed)."""
    counts = np.bincount(train_indices, minlength=vocab_size) + 1.0
    p = counts / counts.sum()
    return float(np.exp(-np.mean(np.log(p[np.asarray(valid_indices)]))))


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
    seed: int = 0
    out_dir: str = "outputs/ex08_rnn_text_generation"


# Quick: a smaller vocabulary and a bolder learning rate, so that two short
# epochs already beat the unigram baseline (the lesson's point).
QUICK = {"words": 12000, "min_count": 3, "window": 5, "embedding_dim": 32, "units": 64}
QUICK.update(epochs=2, learning_rate=0.01, batch_size=32)


def main(config: Config | None = None) -> dict:
    import keras

    config = config or Config()
    out = lesson.output_dir(config.out_dir)
    keras.utils.set_random_seed(config.seed)
    book = data.load_quijote()
    words = tokenize_words(clean_text(book.text))
    words = words[: config.words] if config.words else words
    vocab = build_vocabulary(words, config.min_count)
    indices = encode(words, vocab)
    print(book.title(f"{book.name}: {len(words):,} words, vocabulary {len(vocab):,}"))
    decks = decks_example(vocab)
    window = config.window
    seed_text = " ".join(words[:window])
    sizes = (len(vocab), config.embedding_dim, config.units, config.cell)
    model = build_text_model(*sizes, learning_rate=config.learning_rate)

    def show(model, epoch, logs):  # after each epoch: the perplexity, text at two temperatures
        print(f"\nepoch {epoch}: perplexity {perplexity(logs['loss']):.1f}")
        for t in (0.5, 1.0):
            print(f"  T={t}: {generate(model, seed_text, 15, t, vocab, window, seed=epoch)}")

    split = int(0.9 * len(indices))  # train on 90 % of the text, validate on the rest
    train = windows_dataset(indices[:split], window, config.batch_size, seed=config.seed)
    valid = windows_dataset(indices[split:], window, 512, shuffle=False)
    callbacks = [lesson.each_epoch(show), *lesson.tensorboard(out)]
    fit = {"epochs": config.epochs, "callbacks": callbacks, "verbose": 2}
    history = model.fit(train, validation_data=valid, **fit)
    logs = dict(history.history)
    logs["perplexity"] = [perplexity(v) for v in logs["loss"]]
    logs["val_perplexity"] = [perplexity(v) for v in logs["val_loss"]]
    baseline = unigram_perplexity(indices[:split], indices[split:], len(vocab))
    title = f"word level ({config.cell.upper()}); unigram baseline perplexity {baseline:.0f}"
    figure = plotting.history(logs, metrics=["loss", "perplexity"], title=book.title(title))
    lesson.save_figure(figure, out, "word_history")

    samples = {f"T={t}": generate(model, seed_text, 25, t, vocab, window) for t in (0, 0.7, 1.2)}
    lesson.write_texts(out, "samples.txt", samples)
    metrics = {"standin": book.standin, "words": len(words), "vocabulary": len(vocab)}
    metrics.update(val_perplexity=logs["val_perplexity"][-1], unigram_perplexity=baseline)
    metrics.update(samples=samples, decks=decks)
    metrics["headline"] = (
        f"val perplexity {metrics['val_perplexity']:.0f} vs unigram {baseline:.0f}"
    )
    lesson.write_metrics(out, metrics)
    return metrics


# %% [markdown]
# ## Questions
# 1. The deck's sentence, "Un viejo hidalgo de los de lanza en astillero",
#    cut into windows of 3 words with the next word as the label: how many
#    (window, next word) pairs does it give?
# 2. How many weights does the LSTM layer of `build_text_model(1000, 64,
#    128)` have? How many more would it need to read windows of 20 words
#    instead of 10? (A list of two numbers.)
# 3. The model gives three words the probabilities 0.5, 0.3 and 0.2. At
#    temperature 0.5, how likely is the first one to be drawn?
# 4. After training, the validation loss is 5.0. Among how many equally
#    likely words does the model hesitate (its perplexity)?
#
# To think about: the deck's o = softmax(V): what would it predict after "En
# un lugar de la"? Why does T = 0 repeat itself, and what goes wrong at 1.2?


# %%
def answers() -> dict:
    """Your answers to the questions above, keyed "q1", "q2", ..."""
    # TODO: answer each question with a number or a short list; your own
    # functions can compute them.
    # BEGIN SOLUTION
    # q2: U (64·4·128), W (128·4·128), biases (4·128), shared by every step: no new weight.
    # Open: softmax(V) ignores the text: after any words, the same most frequent word. T = 0
    # takes the likeliest word, and a loop, once entered, never ends; T = 1.2: nonsense.
    lstm = build_text_model(1000, 64, 128).layers[1]  # Embedding, LSTM, Dense
    sharp = np.array([0.5, 0.3, 0.2]) ** (1 / 0.5)
    q1 = len(DECK_INDICES) - DECK_NGRAM  # every window needs a word after it
    q3 = float(sharp[0] / sharp.sum())
    return {"q1": q1, "q2": [lstm.count_params(), 0], "q3": q3, "q4": perplexity(5.0)}
    # END SOLUTION


if __name__ == "__main__":
    lesson.run(main, Config, QUICK, __doc__)
