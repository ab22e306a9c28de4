"""`workshop watch` checks the file the attendee saves (polling, as on network drives and WSL)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from .conftest import project_env


def test_watch_rechecks_on_save(project):
    env = project_env(project)
    proc = subprocess.Popen(
        [sys.executable, "-m", "workshop.cli", "watch", "1", "--poll"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(
        target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True
    )
    reader.start()

    def wait_for(text, seconds=60):
        return wait_for_count(text, 1, seconds)

    def wait_for_count(text, count, seconds=60):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if "".join(lines).count(text) >= count:
                return True
            time.sleep(0.2)
        return False

    try:
        assert wait_for("NOT STARTED"), "".join(lines)
        solution = (project / "solutions" / "ex01_perceptron.py").read_text()
        exercise = project / "exercises" / "ex01_perceptron.py"
        wrong = solution.replace('return {"q1": 14,', 'return {"q1": 13,')
        assert wrong != solution
        # The attendee saves (again, if the watcher was still starting up): one answer wrong.
        for attempt in range(5):
            exercise.write_text(wrong + f"\n# saved {attempt}\n")
            if wait_for("FAILING CHECK", seconds=12):
                break
        assert "FAILING CHECK" in "".join(lines), "".join(lines)
        assert proc.poll() is None, "watch keeps running after a check"
        # Fixed: only the checks that reach answers() run again; the others keep their
        # verdicts, and the pass is confirmed by a run of every check before points count.
        for attempt in range(5):  # again if the save fell between two polls
            exercise.write_text(solution + f"\n# fixed ({attempt})\n")
            if wait_for("confirming: every check once more", seconds=12):
                break
        out = "".join(lines)
        assert "confirming: every check once more" in out, out
        assert "were not run again" in out, out
        deadline = time.time() + 60
        while "".join(lines).count("PASSED") < 2 and time.time() < deadline:
            time.sleep(0.2)
        assert "".join(lines).count("PASSED") >= 2, "".join(lines)
        # Saved once more: the module is done, its points stay; nothing to confirm.
        passes = "".join(lines).count("PASSED")
        for attempt in range(5):
            exercise.write_text(solution + f"\n# once more ({attempt})\n")
            if wait_for_count("PASSED", passes + 1, seconds=12):
                break
        out = "".join(lines)
        assert out.count("PASSED") == passes + 1, out
        assert out.count("confirming: every check once more") == 1, out
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_watch_checks_the_file_that_was_saved(project):
    env = project_env(project, COLUMNS="200")
    proc = subprocess.Popen(
        [sys.executable, "-m", "workshop.cli", "watch", "--poll"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    threading.Thread(
        target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True
    ).start()

    def wait_for(text, seconds=60):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if text in "".join(lines):
                return True
            time.sleep(0.2)
        return False

    try:
        assert wait_for("watching exercises/"), "".join(lines)
        # ex00 comes first in the course; the attendee saves ex01: ex01 is checked.
        solution = (project / "solutions" / "ex01_perceptron.py").read_text()
        exercise = project / "exercises" / "ex01_perceptron.py"
        for attempt in range(5):
            exercise.write_text(solution + f"\n# saved {attempt}\n")
            if wait_for("PASSED", seconds=15):
                break
        out = "".join(lines)
        assert "checking exercises/ex01_perceptron.py (saved" in out, out
        assert "checking exercises/ex00" not in out and "00 ex00_gpu_setup" not in out, out
        assert "01 ex01_perceptron  PASSED" in out, out
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_a_save_made_while_a_check_runs_is_checked_too(project):
    # Polling compares modification times in whole seconds: a second save in the same
    # second as the first can go unreported. watch looks at the file after each check.
    env = project_env(project)
    proc = subprocess.Popen(
        [sys.executable, "-m", "workshop.cli", "watch", "1", "--poll"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    threading.Thread(
        target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True
    ).start()

    def wait_for(text, count=1, seconds=30):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if "".join(lines).count(text) >= count:
                return True
            time.sleep(0.02)
        return False

    try:
        assert wait_for("NOT STARTED", seconds=60), "".join(lines)
        solution = (project / "solutions" / "ex01_perceptron.py").read_text()
        exercise = project / "exercises" / "ex01_perceptron.py"
        for round_ in range(4):  # each round: a wrong save, then the fix as soon as it is checked
            started = "".join(lines).count("checking exercises/")
            passes = "".join(lines).count("PASSED")
            exercise.write_text(solution.replace("n >= 0, 1, 0", "n > 0, 1, 0") + f"#{round_}\n")
            assert wait_for("checking exercises/", started + 1), "".join(lines)
            exercise.write_text(solution + f"# fixed {round_}\n")
            # whatever the watcher reports, the last verdict is the fixed file's
            assert wait_for("PASSED", passes + 1), "".join(lines)
            time.sleep(1.5)
            out = "".join(lines)
            assert out.rstrip().rfind("PASSED") > out.rfind("FAILING CHECK"), out
    finally:
        proc.terminate()
        proc.wait(timeout=20)
