"""Grading fixtures: `lesson` (the module under test, living in a worker process) and `rng`.

The lesson is loaded from --target (default exercises/) by a worker process;
checks talk to it through `workshop.grading.judge` and never import it here.
"""

from __future__ import annotations

import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workshop.grading import plugin  # noqa: E402


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
    yield from plugin.lesson_for(request.config, module_id, request.config.getoption("--target"))


@pytest.fixture
def rng(request):
    """Inputs drawn at grading time from a fresh seed (reported; `--grading-seed` repeats it)."""
    seed = plugin.grading_seed(request.config)
    return np.random.default_rng([seed, zlib.crc32(request.node.name.encode())])
