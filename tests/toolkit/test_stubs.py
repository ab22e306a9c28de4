"""Stubs are generated from solutions, and exercises/ stays in step."""

from __future__ import annotations

import subprocess
import sys

import pytest

from workshop import ROOT
from workshop.stubs import MarkerError, make_stub, sync_exercises

SOLUTION = '''def f(x):
    """Doc."""
    # TODO: double x.
    # BEGIN SOLUTION
    y = 2 * x
    return y
    # END SOLUTION


class A:
    def g(self):
        if True:
            # BEGIN SOLUTION: the inner part
            return 1
            # END SOLUTION
'''


def test_blocks_become_todo_stubs_with_indentation_kept():
    stub = make_stub(SOLUTION)
    assert '    # TODO: double x.\n    raise NotImplementedError("TODO: f()")\n' in stub
    assert '            raise NotImplementedError("TODO: the inner part")\n' in stub
    assert "2 * x" not in stub and "BEGIN SOLUTION" not in stub
    compile(stub, "stub", "exec")


@pytest.mark.parametrize(
    "text, problem",
    [
        ("def f():\n    # BEGIN SOLUTION\n    pass\n", "never closed"),
        ("def f():\n    pass\n    # END SOLUTION\n", "without"),
        ("# BEGIN SOLUTION\nx = 1\n# END SOLUTION\n", "inside a function"),
        ("def f():\n    pass\n", "no # BEGIN SOLUTION"),
    ],
)
def test_bad_markers_are_reported(text, problem):
    with pytest.raises(MarkerError, match=problem):
        make_stub(text)


def test_exercises_are_in_step_with_solutions():
    report = sync_exercises(write=False)
    assert report.in_sync, (
        f"stale: {report.stale}, missing: {report.missing}, stray: {report.stray}; "
        "run python scripts/make_exercises.py"
    )


def test_make_exercises_check_mode(tmp_path):
    result = subprocess.run(
        [sys.executable, "scripts/make_exercises.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
