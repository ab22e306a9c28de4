"""Grading fixture: `lesson` is the module under test, from --target (default exercises/)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workshop.grading.loader import load_lesson  # noqa: E402


def pytest_addoption(parser):
    parser.addoption(
        "--target",
        default=None,
        help="where lessons are loaded from: exercises (default), solutions, or a folder; "
        "$WORKSHOP_TARGET works too",
    )


@pytest.fixture(scope="module")
def lesson(request):
    """The lesson a grading file checks: tests/test_ex01_perceptron.py -> ex01_perceptron."""
    module_id = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    return load_lesson(module_id, request.config.getoption("--target"))
