"""NumPy's shape errors reach the attendee as sentences that name their shapes."""

from __future__ import annotations

import numpy as np
import pytest

from workshop.catalog import find_module
from workshop.grading import runner
from workshop.grading.explain import numpy_message

from .conftest import edit


def _numpy_error(make) -> str:
    with pytest.raises(ValueError) as caught:
        make()
    return str(caught.value)


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: np.ones(3) + np.ones(4), ["shapes (3,) and (4,)", "equal or 1"]),
        (lambda: np.ones((2, 3)) * np.ones((4, 1, 2)), ["(2,3) and (4,1,2)"]),
        (lambda: np.ones((2, 3)) @ np.ones(4), ["last axis has 3", "has 4", "transpose"]),
        (lambda: np.dot(np.ones((3, 4)), np.ones(5)), ["(3,4) and (5,)", "4 against 5"]),
        (lambda: np.ones(12).reshape(5, 3), ["12 numbers", "(5,3)"]),
        (lambda: np.array([[1, 2], [3]], dtype=float), ["different lengths"]),
    ],
)
def test_numpy_shape_errors_become_sentences(make, words):
    said = numpy_message("ValueError", _numpy_error(make))
    assert said is not None and all(w in said for w in words), said


def test_other_errors_are_left_as_they_are():
    assert numpy_message("ValueError", "w must be 1-D, got shape (2, 2)") is None
    assert numpy_message("TypeError", "operands could not be broadcast together") is None


def test_the_check_says_it_with_the_file_and_line(tmp_path):
    module = find_module("ex01")
    solution = module.solution_path().read_text()
    slip = edit(solution, "    w = w + lr * e * p\n", "    w = w + lr * e * p[:-1]\n")
    path = tmp_path / "ex01_perceptron.py"
    path.write_text(slip)
    result = runner.run_checks(module, source=path)
    assert result.status == runner.ERROR, result.message
    assert "cannot be combined entry by entry" in result.message, result.message
    assert "NumPy said: operands could not be broadcast" in result.message
