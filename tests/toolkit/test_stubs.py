"""Stubs are generated from solutions, and exercises/ stays in step."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from workshop import ROOT
from workshop.stubs import MarkerError, committed, make_stub, sync_exercises

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


def test_committed_exercises_are_in_step_with_solutions():
    # The committed stubs, not the working copy: an attendee filling in
    # exercises/ runs these tests too.
    if committed(ROOT, "solutions/ex01_perceptron.py") is None:
        pytest.skip("not a git checkout: `python scripts/make_exercises.py --check` does this")
    report = sync_exercises(write=False, committed_only=True)
    assert report.in_sync, (
        f"stale: {report.stale}, missing: {report.missing}; "
        "run python scripts/make_exercises.py and commit exercises/"
    )


def test_make_exercises_check_mode_and_backups(project):
    def run(*args):
        return subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "make_exercises.py"), *args],
            env={**os.environ, "WORKSHOP_ROOT": str(project)},
            capture_output=True,
            text=True,
        )

    assert run("--check").returncode == 0
    exercise = project / "exercises" / "ex01_perceptron.py"
    exercise.write_text(exercise.read_text() + "\n# my work\n")
    check = run("--check")
    assert check.returncode == 1 and "ex01_perceptron" in check.stderr
    assert run().returncode == 0
    backups = list((project / ".workshop" / "backups").glob("ex01_perceptron.*.py"))
    assert backups and "# my work" in backups[0].read_text(), "an overwritten exercise is kept"
