"""ex08's own toolkit tests: bad input, cleaning and tokens, the deck's example, the answers."""

from __future__ import annotations

import numpy as np
import pytest

from workshop import ROOT
from workshop.grading.loader import load_lesson


@pytest.fixture(scope="module")
def ex08():
    return load_lesson("ex08_rnn_text_generation", "solutions")


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda m: m.build_vocabulary([]), "tokens must not be empty"),
        (lambda m: m.build_vocabulary("la mancha"), "got a str (tokenize it first)"),
        (lambda m: m.build_vocabulary(["a", 3]), "tokens must hold tokens (str), got 3"),
        (lambda m: m.build_vocabulary(["a"], min_count=0), "min_count must be at least 1"),
        (lambda m: m.make_windows(np.arange(5), 5), "more than 5 tokens"),
        (lambda m: m.make_windows(np.arange(5), 0), "window must be at least 1"),
        (lambda m: m.make_windows([0, -1, 2], 1), "indices must be whole numbers >= 0"),
        (lambda m: m.make_windows([0, 1.5, 2], 1), "indices must be whole numbers >= 0"),
        (lambda m: m.make_windows([0, np.nan, 2], 1), "NaN"),
        (lambda m: m.windows_dataset(np.arange(50), 0), "window must be at least 1"),
        (lambda m: m.windows_dataset(np.arange(50), 3, batch_size=0), "batch_size must be"),
        (lambda m: m.build_text_model(10, cell="rnn"), "cell must be one of"),
        (lambda m: m.build_text_model(0), "vocab_size must be at least 1"),
        (lambda m: m.build_text_model(10, learning_rate=0), "learning_rate must be greater"),
        (lambda m: m.sample_next([0.5, 0.5], -1.0, np.random.default_rng()), "at least 0"),
        (lambda m: m.sample_next([0.5, 0.5], "hot", np.random.default_rng()), "a number"),
        (lambda m: m.sample_next([0.5, 0.5], 1.0, 42), "rng must be a numpy Generator"),
        (lambda m: m.sample_next([], 1.0, np.random.default_rng()), "must not be empty"),
        (lambda m: m.sample_next([0.0, 0.0], 1.0, np.random.default_rng()), "not all zero"),
        (lambda m: m.sample_next([np.nan, 1.0], 1.0, np.random.default_rng()), "NaN"),
        (lambda m: m.encode(["a"], {"a": 0}), "needs the '<unk>' token"),
        (lambda m: m.encode(["a"], {}), "vocab must be a non-empty dict"),
        (lambda m: m.decode([0, 7], m.build_vocabulary(["a", "b"])), "in the vocabulary (0..2)"),
        (lambda m: m.clean_text(b"bytes"), "text must be a str, got bytes"),
        (lambda m: m.tokenize_words(None), "text must be a str, got NoneType"),
        (lambda m: m.generate(None, "", 3, 1.0, {"<unk>": 0}, 3), "at least one token"),
        (lambda m: m.generate(None, "a", -1, 1.0, {"<unk>": 0}, 3), "n must be at least 0"),
        (lambda m: m.generate(None, "a", 3, 1.0, {"a": 0}, 3), "needs the '<unk>' token"),
        (lambda m: m.generate(None, "a", 3, 1.0, {"<unk>": 0}, 3, "byte"), "level must be"),
    ],
)
def test_bad_input_is_a_value_error_naming_both(ex08, call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call(ex08)


def test_sample_next_at_the_extremes(ex08):
    rng = np.random.default_rng(0)
    p = np.array([0.1, 0.6, 0.3, 0.0])
    assert ex08.sample_next(p, 1e-320, rng) == 1  # the most likely, not NaN
    assert ex08.sample_next(p, np.float32(0.5), rng) in (0, 1, 2)  # NumPy numbers welcome
    assert 3 not in {ex08.sample_next(p, 50.0, rng) for _ in range(300)}  # 0 stays 0


SPANISH = (
    "\ufeffEn un lugar de la Mancha,\r\nde cuyo  nombre\tno quiero acordarme,\r\n\r\n\r\n\r\n"
    "¿Qué niño?   ¡Señor!\r\n"
)


def test_clean_text_and_tokens(ex08):
    got = ex08.clean_text(SPANISH)
    assert "\ufeff" not in got and "\r" not in got
    assert "niño" in got and "Señor" in got and "Qué" in got
    assert "  " not in got and "\t" not in got and "\n\n\n" not in got
    assert got.startswith("En un lugar") and got.endswith("¡Señor!")
    assert ex08.clean_text("nin\u0303o") == "niño"  # NFC: n + combining tilde is one ñ
    text = "¿Qué es esto? ¡Un niño, señor! (dijo) «sí»."
    tokens = ex08.tokenize_words(text)
    assert tokens[:11] == ["¿", "qué", "es", "esto", "?", "¡", "un", "niño", ",", "señor", "!"]
    assert "".join(tokens) == "".join(text.lower().split())  # nothing lost or added
    assert ex08.detokenize(tokens) == text.lower()
    assert ex08.detokenize(list("abc"), "char") == "abc"


def test_the_decks_example(ex08):
    decks = ex08.decks_example()
    assert decks["slide_windows"][:3] == [[5, 451, 321], [451, 321, 8], [321, 8, 321]]
    assert decks["slide_labels"][:3] == [8, 321, 8]
    assert decks["indices"] == [6, 7, 3, 1, 5, 1, 4, 2, 0]
    assert decks["windows"][0] == [6, 7, 3] and decks["labels"] == [1, 5, 1, 4, 2, 0]
    vocab = ex08.build_vocabulary(ex08.tokenize_words(ex08.BOOK_OPENING))
    opening = ex08.decks_example(vocab)["opening"]
    assert opening["words"][:6] == ["en", "un", "lugar", "de", "la", "mancha"]
    assert opening["indices"][3] == opening["indices"][7] == vocab["de"]


def test_windows_dataset_gives_every_window_once(ex08):
    batches = list(ex08.windows_dataset(np.arange(20), 4, batch_size=8, shuffle=False))
    X = np.concatenate([np.asarray(x) for x, _ in batches])
    y = np.concatenate([np.asarray(t) for _, t in batches])
    assert X.shape == (16, 4) and X[0].tolist() == [0, 1, 2, 3] and y.tolist() == list(range(4, 20))


def test_cleans_the_real_book(ex08):
    book = ROOT.parent / "shared" / "data" / "quijote.txt"
    if not book.exists():
        pytest.skip("../shared/data/quijote.txt is not beside the project here")
    raw = book.read_bytes().decode("utf-8")
    assert raw.startswith("\ufeff") and "\r\n" in raw, "the shared copy has a BOM and CRLF"
    text = ex08.clean_text(raw)
    assert "\ufeff" not in text and "\r" not in text and "En un lugar de la Mancha" in text
    words = ex08.tokenize_words(text[:5000])
    assert all("," not in w or w == "," for w in words)


def test_answers(ex08):
    got = ex08.answers()
    assert got["q1"] == 6 and got["q2"] == [98816, 0]
    assert got["q3"] == pytest.approx(0.25 / 0.38) and got["q4"] == pytest.approx(148.413, abs=1e-3)
