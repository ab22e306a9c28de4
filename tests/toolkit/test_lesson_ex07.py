"""ex07's own toolkit tests: bad input, the kernels, the decks' examples, the answers."""

from __future__ import annotations

import numpy as np
import pytest

from workshop.grading.loader import load_lesson


@pytest.fixture(scope="module")
def ex07():
    return load_lesson("ex07_convolution_visualisation", "solutions")


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda m: m.convolve2d(np.zeros((4, 4)), np.ones((7, 7)), padding=1), "larger than the"),
        (lambda m: m.convolve2d(np.zeros((4, 4)), np.ones((3, 3)), stride=0), "stride must be at"),
        (lambda m: m.convolve2d(np.zeros((4, 4)), np.ones((3, 3)), padding=-1), "padding must"),
        (lambda m: m.convolve2d(np.zeros((4, 4)), np.ones((3, 3)), stride=1.5), "whole number"),
        (lambda m: m.convolve2d(np.zeros((2, 2, 2, 2)), np.ones((3, 3))), "image must be 2-D"),
        (lambda m: m.convolve2d(np.zeros((8, 8)), np.zeros((0, 0))), "kernel must not be empty"),
        (lambda m: m.convolve2d(np.full((3, 3), np.nan), np.ones((2, 2))), "NaN"),
        (lambda m: m.apply_filter(np.zeros((4, 4)), "emboss"), "kernel must be one of"),
        (lambda m: m.apply_filter(np.zeros((4, 4)), np.ones((2, 2))), "odd size"),
        (lambda m: m.apply_filter(np.zeros((4, 4, 3)), "blur"), "image must be 2-D"),
        (lambda m: m.max_pool2d(np.zeros((4, 4)), size=5), "larger than the input"),
        (lambda m: m.max_pool2d(np.zeros((4, 4)), padding="full"), "padding must be one of"),
        (lambda m: m.max_pool2d(np.zeros(4)), "x must be 2-D or 3-D"),
    ],
)
def test_bad_input_is_a_value_error_naming_both(ex07, call, message):
    with pytest.raises(ValueError, match=message):
        call(ex07)


def test_the_kernels(ex07):
    assert {"identity", "edge", "sharpen", "blur", "sobel_x", "sobel_y"} <= set(ex07.KERNELS)
    # the deck's blur kernel is nine ones: it would brighten the image ninefold
    assert ex07.KERNELS["blur"].sum() == pytest.approx(1.0)
    grey = np.full((6, 6), 0.5)
    assert np.allclose(ex07.apply_filter(grey, "blur")[1:-1, 1:-1], 0.5)


def test_the_decks_examples(ex07):
    decks = ex07.decks_examples()
    assert decks["one"] == ex07.ONE_MAP
    assert decks["pooled"] == ex07.POOLED
    assert decks["x"] == ex07.X_FEATURE
    assert decks["smiley"][2][2] == 0  # the CNN deck's slide shows a 1 there


def test_feature_maps_refuses_unknown_layers(ex07):
    import keras

    model = ex07.small_cnn()
    with pytest.raises(ValueError, match="each of layers must be one of"):
        ex07.feature_maps(model, np.zeros((28, 28)), layers=["conv9"])
    with pytest.raises(ValueError, match=r"takes images of shape \(28, 28, 1\)"):
        ex07.feature_maps(model, np.zeros((14, 14)))
    maps = ex07.feature_maps(model, np.zeros((28, 28)))
    assert list(maps) == ["conv1", "pool1", "conv2", "pool2"]
    assert isinstance(model, keras.Model)


def test_answers(ex07):
    assert ex07.answers() == {
        "q1": 13,
        "q2": 4.5,
        "q3": ["blur", "edge", "identity", "sharpen"],
        "q4": [[3, 4], [4, 5]],
    }
