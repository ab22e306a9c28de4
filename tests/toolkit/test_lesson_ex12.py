"""ex12's own toolkit tests: bad input, the deck's samples, the fast pairs, the projector, the
answers."""

from __future__ import annotations

import numpy as np
import pytest

from workshop.grading.loader import load_lesson


@pytest.fixture(scope="module")
def ex12():
    return load_lesson("ex12_word2vec", "solutions")


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda m, _: m.skipgram_pairs("quantum physics", 1), "got a str"),
        (lambda m, _: m.skipgram_pairs(["a", 3], 1), "tokens must hold tokens"),
        (lambda m, _: m.skipgram_pairs(["a", "b"], 0), "window must be at least 1"),
        (lambda m, _: m.cbow_examples(None, 1), "list of tokens"),
        (lambda m, _: m.one_hot("sun", {}), "non-empty"),
        (lambda m, _: m.one_hot("moon", {"sun": 0}), "not in the vocabulary"),
        (lambda m, _: m.cosine_similarity([1, 2], [1, 2, 3]), "same length"),
        (lambda m, _: m.cosine_similarity([0, 0], [1, 2]), "zero vector"),
        (lambda m, _: m.cosine_similarity([np.nan, 1], [1, 2]), "NaN"),
        (lambda m, _: m.nearest("moon", np.ones((1, 2)), {"sun": 0}), "not in the vocabulary"),
        (lambda m, _: m.nearest("sun", np.ones((2, 2)), {"sun": 0}), "a row per word"),
        (lambda m, _: m.nearest("sun", np.ones((1, 2)), {"sun": 0}, k=0), "k must be at least"),
        (lambda m, tmp: m.export_projector(np.ones((2, 2)), {"a": 0}, tmp), "2 vectors"),
        (lambda m, _: m.build_skipgram_model(0, 4), "vocab_size must be at least 1"),
    ],
)
def test_bad_input_is_a_value_error_naming_both(ex12, tmp_path, call, message):
    with pytest.raises(ValueError, match=message):
        call(ex12, tmp_path)


def test_the_decks_samples(ex12):
    assert ex12.skipgram_pairs([], 2) == [] and ex12.skipgram_pairs(["solo"], 2) == []
    deck = ex12.decks_examples()
    assert deck["skipgram"][:7] == [
        ("quantum", "physics"),
        ("physics", "quantum"),
        ("physics", "is"),
        ("is", "physics"),
        ("is", "a"),
        ("a", "is"),
        ("a", "fundamental"),
    ]
    assert deck["cbow"][:2] == [(["physics"], "quantum"), (["quantum", "is"], "physics")]
    assert list(deck["vocabulary"])[:4] == ["is", "shining", "sun", "the"]  # the deck's order
    assert deck["sun"].tolist() == [0, 0, 1, 0, 0]  # one more place: <unk>


def test_the_fast_pairs_are_skipgram_pairs(ex12):
    idx = [3, 1, 4, 1, 5, 9, 2]
    fast = sorted(zip(*(a.tolist() for a in ex12.pair_indices(idx, 2)), strict=True))
    slow = sorted((int(c), int(x)) for c, x in ex12.skipgram_pairs([str(i) for i in idx], 2))
    assert fast == slow
    assert [len(a) for a in ex12.pair_indices([7], 3)] == [0, 0]
    centers, contexts, labels = ex12.training_pairs(np.array(idx), 10, window=1, negatives=3)
    assert len(labels) == 4 * 12 and labels.sum() == 12  # 12 real pairs, 3 made up for each
    assert len(centers) == len(contexts) == len(labels)


def test_export_projector(ex12, tmp_path):
    vocab = {"uno": 0, "dos\tdos": 1, "<unk>": 2}
    vectors, metadata = ex12.export_projector(np.arange(6.0).reshape(3, 2), vocab, tmp_path / "p")
    assert metadata.read_text(encoding="utf-8").splitlines() == ["uno", "dos dos", "<unk>"]
    rows = [list(map(float, line.split("\t"))) for line in vectors.read_text().splitlines()]
    assert rows == [[0, 1], [2, 3], [4, 5]]


def test_answers(ex12):
    got = ex12.answers()
    assert got == {"q1": 26, "q2": 0.0, "q3": pytest.approx(0.11), "q4": pytest.approx(31.6228)}
