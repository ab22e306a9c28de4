"""`workshop watch` checks the file the attendee saves (polling, as on network drives and WSL)."""

from __future__ import annotations

import time

from .conftest import Watching


def test_watch_rechecks_on_save(project):
    solution = (project / "solutions" / "ex01_perceptron.py").read_text()
    exercise = project / "exercises" / "ex01_perceptron.py"
    wrong = solution.replace('return {"q1": 14,', 'return {"q1": 13,')
    assert wrong != solution
    with Watching(project, "1") as watch:
        assert watch.wait_for("NOT STARTED"), watch.text()
        # The attendee saves (again, if the watcher was still starting up): one answer wrong.
        for attempt in range(5):
            exercise.write_text(wrong + f"\n# saved {attempt}\n")
            if watch.wait_for("FAILING CHECK", seconds=12):
                break
        assert "FAILING CHECK" in watch.text(), watch.text()
        assert watch.proc.poll() is None, "watch keeps running after a check"
        # Fixed: only the checks that reach answers() run again; the others keep their
        # verdicts, and the pass is confirmed by a run of every check before points count.
        for attempt in range(5):  # again if the save fell between two polls
            exercise.write_text(solution + f"\n# fixed ({attempt})\n")
            if watch.wait_for("confirming: every check once more", seconds=12):
                break
        assert "were not run again" in watch.text(), watch.text()
        assert watch.wait_for("PASSED", 2), watch.text()
        # Saved once more: the module is done, its points stay; nothing to confirm.
        passes = watch.count("PASSED")
        for attempt in range(5):
            exercise.write_text(solution + f"\n# once more ({attempt})\n")
            if watch.wait_for("PASSED", passes + 1, seconds=12):
                break
        assert watch.count("PASSED") == passes + 1, watch.text()
        assert watch.count("confirming: every check once more") == 1, watch.text()


def test_watch_checks_the_file_that_was_saved(project):
    with Watching(project, COLUMNS="200") as watch:
        assert watch.wait_for("watching exercises/"), watch.text()
        # ex00 comes first in the course; the attendee saves ex01: ex01 is checked.
        solution = (project / "solutions" / "ex01_perceptron.py").read_text()
        exercise = project / "exercises" / "ex01_perceptron.py"
        for attempt in range(5):
            exercise.write_text(solution + f"\n# saved {attempt}\n")
            if watch.wait_for("PASSED", seconds=15):
                break
        out = watch.text()
        assert "checking exercises/ex01_perceptron.py (saved" in out, out
        assert "checking exercises/ex00" not in out and "00 ex00_gpu_setup" not in out, out
        assert "01 ex01_perceptron  PASSED" in out, out


def test_a_save_made_while_a_check_runs_is_checked_too(project):
    # Polling compares modification times in whole seconds: a second save in the same
    # second as the first can go unreported. watch looks at the file after each check.
    solution = (project / "solutions" / "ex01_perceptron.py").read_text()
    exercise = project / "exercises" / "ex01_perceptron.py"
    with Watching(project, "1") as watch:
        assert watch.wait_for("NOT STARTED"), watch.text()
        for round_ in range(4):  # each round: a wrong save, then the fix as soon as it is checked
            started, passes = watch.count("checking exercises/"), watch.count("PASSED")
            exercise.write_text(solution.replace("n >= 0, 1, 0", "n > 0, 1, 0") + f"#{round_}\n")
            assert watch.wait_for("checking exercises/", started + 1, 30), watch.text()
            exercise.write_text(solution + f"# fixed {round_}\n")
            # whatever the watcher reports, the last verdict is the fixed file's
            assert watch.wait_for("PASSED", passes + 1, 30), watch.text()
            time.sleep(1.5)
            out = watch.text()
            assert out.rstrip().rfind("PASSED") > out.rfind("FAILING CHECK"), out
