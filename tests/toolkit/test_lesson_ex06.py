"""ex06's own toolkit tests: bad input refused, the deck's numbers, the answers."""

from __future__ import annotations

import numpy as np
import pytest

from workshop.grading.loader import load_lesson


@pytest.fixture(scope="module")
def ex06():
    return load_lesson("ex06_lenet", "solutions")


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda m: m.pad_to_32(np.zeros((2, 32, 32))), r"\(n, 28, 28\)"),
        (lambda m: m.pad_to_32(np.array([[["a"] * 28] * 28])), r"images must be numbers"),
        (lambda m: m.pad_to_32("images"), "numbers"),
        (lambda m: m.conv_parameters(0, 1, 3), "kernel must be at least 1"),
        (lambda m: m.conv_parameters(5, 1.5, 3), "in_channels must be a whole number"),
        (lambda m: m.dense_parameters(10, -1), "n_out must be at least 1"),
        (lambda m: m.count_parameters("LeNet"), "keras.Model"),
    ],
)
def test_bad_input_is_a_value_error_naming_both(ex06, call, message):
    with pytest.raises(ValueError, match=message):
        call(ex06)


def test_the_decks_numbers(ex06):
    assert ex06.decks_comparison() == {"conv_20_maps": 520, "dense_30_units": 23_550}
    small = ex06.build_decks_cnn()
    assert small.count_params() == 26 * 3 + (3 * 12 * 12 + 1) * 10
    counts = ex06.count_parameters(ex06.build_lenet5())
    assert {k: v for k, v in counts.items() if v} == {
        "C1": 156,
        "C3": 2_416,
        "C5": 48_120,  # the deck's (400 × 120) + 120
        "F6": 10_164,  # the deck's (120 × 84) + 84
        "output": 850,
    }


def test_the_answers(ex06):
    got = ex06.answers()
    assert got["q1"] == 1_516  # the paper's C3
    assert got["q2"] == "C5"
    assert got["q3"] == [156, (9 * 9 * 120 + 1) * 84]
    assert got["q4"] == 28 * 28 * 6 * 25 == 117_600


def test_c1_maps_are_images_on_any_backend(ex06):
    model = ex06.build_lenet5()
    pictures = ex06.c1_maps(np.zeros((32, 32, 1), "float32"))(model)
    assert isinstance(pictures, np.ndarray) and pictures.shape == (6, 28, 28, 1)
