"""Nothing an attendee did is lost: progress survives corruption, races and read-only folders; reset
never writes through a link."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from types import SimpleNamespace

import pytest

from workshop import progress

from .conftest import project_env


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def _result(module="ex01_perceptron", status="passed", passed=11):
    return SimpleNamespace(
        module=module,
        status=status,
        passed=passed,
        total=11,
        duration=1.0,
        message="m",
        ok=status == "passed",
    )


@pytest.mark.parametrize(
    "content",
    ['{"schema": 2, "modules": {"ex01_perceptron": {"status": "pas', "not json at all", "[1, 2]"],
    ids=["truncated", "not_json", "wrong_shape"],
)
def test_an_unreadable_file_is_moved_aside_not_dropped(state, content, capsys):
    state.mkdir()
    (state / "progress.json").write_text(content)
    progress.record_check(_result("ex02_linear_regression"), 10)
    aside = list(state.glob("progress.corrupt-*.json"))
    assert len(aside) == 1 and aside[0].read_text() == content, "the old file is kept as it was"
    assert "could not be read" in capsys.readouterr().err
    data = json.loads((state / "progress.json").read_text())
    assert data["modules"]["ex02_linear_regression"]["done"]


def test_wrong_types_are_moved_aside_not_a_traceback(state, capsys):
    state.mkdir()
    bad = {"schema": 2, "modules": {"ex01_perceptron": {"points": "ten", "done": "yes"}}}
    (state / "progress.json").write_text(json.dumps(bad))
    assert progress.load()["modules"] == {}
    assert list(state.glob("progress.corrupt-*.json")), "kept aside"
    assert "could not be read" in capsys.readouterr().err


def test_two_writers_lose_nothing(state):
    names = [f"ex{i:02d}_m{i}" for i in range(40)]

    def write(chunk):
        for name in chunk:
            progress.record_check(_result(name), 5)

    threads = [threading.Thread(target=write, args=(names[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(progress.load()["modules"]) == set(names)
    assert not list(state.glob("*.tmp")), "no temporary files left"


def test_a_pass_is_kept_when_a_later_check_fails(state):
    progress.record_check(_result(status="passed"), 10)
    progress.record_check(_result(status="failed", passed=3), 10)
    entry = progress.load()["modules"]["ex01_perceptron"]
    assert entry["done"] and entry["points"] == 10 and entry["status"] == "failed"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders anyway")
def test_read_only_state_folder_still_shows_the_result(project, tmp_path):
    state = tmp_path / "ro"
    state.mkdir()
    state.chmod(0o500)
    env = project_env(project, WORKSHOP_STATE_DIR=str(state), COLUMNS="120")
    done = subprocess.run(
        [sys.executable, "-m", "workshop.cli", "check", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "NOT STARTED" in done.stdout and "could not be saved" in done.stdout, done.stdout


def test_read_only_state_file_still_shows_the_result(project, tmp_path, monkeypatch):
    # As root a read-only folder is no obstacle; a state "folder" that is a file is.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    env = project_env(project, WORKSHOP_STATE_DIR=str(blocker / "state"), COLUMNS="120")
    done = subprocess.run(
        [sys.executable, "-m", "workshop.cli", "check", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "NOT STARTED" in done.stdout and "could not be saved" in done.stdout, done.stdout
    assert done.returncode == 1


def test_reset_replaces_a_link_never_its_target(project):
    solution = project / "solutions" / "ex01_perceptron.py"
    exercise = project / "exercises" / "ex01_perceptron.py"
    pristine = exercise.read_text()
    reference = solution.read_text()
    exercise.unlink()
    exercise.symlink_to(os.path.relpath(solution, exercise.parent))
    done = subprocess.run(
        [sys.executable, "-m", "workshop.cli", "reset", "1"],
        env=project_env(project),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert solution.read_text() == reference, "the reference solution must be untouched"
    assert not exercise.is_symlink() and exercise.read_text() == pristine
    backups = list((project / ".workshop" / "backups").glob("ex01_perceptron.*.py"))
    assert len(backups) == 1 and "was a link to" in backups[0].read_text()


def test_reset_moves_a_fifo_aside(project):
    exercise = project / "exercises" / "ex01_perceptron.py"
    pristine = exercise.read_text()
    exercise.unlink()
    os.mkfifo(exercise)
    done = subprocess.run(
        [sys.executable, "-m", "workshop.cli", "reset", "1"],
        env=project_env(project),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert exercise.read_text() == pristine
