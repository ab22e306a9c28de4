"""The `workshop` command as an attendee and an instructor use it, on a copy of the project."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

from workshop.catalog import load_catalog

from .conftest import project_env

TOTAL = sum(m.points for m in load_catalog())


def workshop(project: Path, *args, timeout=120) -> subprocess.CompletedProcess:
    env = project_env(project, COLUMNS="120")
    return subprocess.run(
        [sys.executable, "-m", "workshop.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_help_for_every_command(project):
    for command in (
        "list",
        "check",
        "hint",
        "run",
        "watch",
        "reset",
        "env",
        "data",
        "verify",
        "demo",
        "report",
        "grade",
    ):
        result = workshop(project, command, "--help")
        assert result.returncode == 0 and "usage" in result.stdout, command


def test_check_fill_in_and_progress(project):
    result = workshop(project, "check", "1")
    assert result.returncode == 1 and "NOT STARTED" in result.stdout
    assert "exercises/ex01_perceptron.py" in result.stdout and "workshop hint 1" in result.stdout
    listing = workshop(project, "list").stdout
    assert "not started" in listing and f"0/{TOTAL} points" in listing

    # The attendee fills the exercise in (here: with the solution).
    shutil.copy2(
        project / "solutions" / "ex01_perceptron.py", project / "exercises" / "ex01_perceptron.py"
    )
    result = workshop(project, "check", "perceptron")
    assert result.returncode == 0 and "PASSED" in result.stdout
    listing = workshop(project, "list").stdout
    assert "done" in listing and f"10/{TOTAL} points" in listing

    report = json.loads(workshop(project, "report").stdout)
    assert report["schema"] == "workshop-report/1"
    row = next(m for m in report["modules"] if m["module"] == "ex01_perceptron")
    assert row["status"] == "passed" and row["points"] == 10 and row["duration"] > 0


def test_hints_come_one_at_a_time(project):
    first = workshop(project, "hint", "1").stdout
    second = workshop(project, "hint", "1").stdout
    assert "hint 1 of" in first and "hint 2 of" in second


def test_reset_keeps_a_backup(project):
    exercise = project / "exercises" / "ex01_perceptron.py"
    pristine = exercise.read_text()
    exercise.write_text(pristine + "\n# my precious work\n")
    result = workshop(project, "reset", "1")
    assert result.returncode == 0
    assert exercise.read_text() == pristine
    backups = list((project / ".workshop" / "backups").glob("ex01_perceptron.*.py"))
    assert len(backups) == 1 and "my precious work" in backups[0].read_text()


def test_unknown_module_is_explained(project):
    result = workshop(project, "check", "42")
    assert result.returncode == 2 and "no module '42'" in result.stdout


def test_grade_a_folder_of_submissions(project, tmp_path):
    subs = tmp_path / "submissions"
    solution = (project / "solutions" / "ex01_perceptron.py").read_text()
    stub = (project / "exercises" / "ex01_perceptron.py").read_text()
    looping = solution.replace(
        '    """1 where x >= 0', '    while True:\n        pass\n    """1 where x >= 0', 1
    )
    for person, text in {
        "alice": solution,
        "bob": stub,
        "carol": looping,
        "dave": "def oops(:\n",
    }.items():
        (subs / person).mkdir(parents=True)
        (subs / person / "ex01_perceptron.py").write_text(text)
    result = workshop(project, "grade", str(subs), "--timeout", "6", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    with open(subs / "grades.csv", newline="") as fh:
        rows = {r["attendee"]: r for r in csv.DictReader(fh)}
    assert set(rows) == {"alice", "bob", "carol", "dave"}
    assert rows["alice"]["ex01_perceptron"] == "passed" and rows["alice"]["points"] == "10"
    assert rows["bob"]["ex01_perceptron"] == "not_started"
    assert rows["carol"]["ex01_perceptron"] == "timeout"
    assert rows["dave"]["ex01_perceptron"] == "syntax_error"
    assert rows["alice"]["ex00_gpu_setup"] == "missing"


def test_env_reports_ok_and_fail_lines(project):
    result = workshop(project, "env")
    assert result.returncode == 0, result.stdout
    for part in ("Python", "TensorFlow", "Keras 3", "GPU", "Plotting", "data: mnist"):
        assert part in result.stdout, f"{part} missing from `workshop env`:\n{result.stdout}"
    assert "[OK]" in result.stdout and "[FAIL]" not in result.stdout
