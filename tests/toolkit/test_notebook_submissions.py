"""Notebooks never crash the grader and never shadow the `.py`; `grade` reads them by the same rule."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from watchfiles import Change

from workshop import notebooks
from workshop.catalog import find_module

from .conftest import project_env

EX01 = find_module("ex01")
CELL = {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": []}
MALFORMED = {
    "cells_not_a_list": json.dumps({"cells": {"0": CELL}, "metadata": {}, "nbformat": 4}),
    "deeply_nested": "[" * 100_000 + "]" * 100_000,
    "invalid_utf8": b'{"cells": [], "metadata": {"x": "\xff\xfe"}}',
    "cell_without_source": json.dumps(
        {"cells": [CELL], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    ),
    "not_json": "this is not a notebook",
}


def _workshop(project: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "workshop.cli", *args],
        env=project_env(project, COLUMNS="200"),
        capture_output=True,
        text=True,
        timeout=300,
    )


def _write_later(path: Path, data) -> None:
    """Write `path` so that it is newer than anything written before (mtime resolution)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.write_bytes if isinstance(data, bytes) else path.write_text)(data)
    later = time.time() + 5
    os.utime(path, (later, later))


def _notebook(text: str) -> str:
    import nbformat

    return nbformat.writes(notebooks.notebook_for(text))


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_notebook_gets_one_message(project, case):
    _write_later(project / "notebooks" / "exercises" / "ex01_perceptron.ipynb", MALFORMED[case])
    for command in ("check", "hint"):
        done = _workshop(project, command, "1")
        out = " ".join((done.stdout + done.stderr).replace("│", " ").split())  # panels wrap
        assert "Traceback" not in out, f"{command}: {out}"
        assert "cannot be read as a notebook" in out, f"{command}: {out}"
        assert "workshop notebooks --force ex01" in out, "the message says how to mend it"
        if command == "check":
            assert done.returncode == 1, out


def test_work_in_the_script_stays_graded_after_the_notebooks_are_built(project):
    exercise = project / "exercises" / "ex01_perceptron.py"
    exercise.write_text((project / "solutions" / "ex01_perceptron.py").read_text())
    old = time.time() - 60
    os.utime(exercise, (old, old))
    assert _workshop(project, "notebooks").returncode == 0  # newer, untouched notebooks
    done = _workshop(project, "check", "1")
    assert done.returncode == 0 and "PASSED" in done.stdout, done.stdout


def test_an_untouched_notebook_is_not_edited(tmp_path):
    path = tmp_path / "ex01_perceptron.ipynb"
    path.write_text(_notebook(notebooks.exercise_text(EX01, EX01.solution_path().read_text())))
    assert not notebooks.edited(path, EX01)
    path.write_text(_notebook(EX01.solution_path().read_text()))
    assert notebooks.edited(path, EX01)


def test_watch_ignores_notebooks_that_were_only_created(tmp_path):
    from workshop.cli.watch import _saved_modules

    created = tmp_path / "ex01_perceptron.ipynb"
    created.write_text(_notebook(notebooks.exercise_text(EX01, EX01.solution_path().read_text())))
    worked = tmp_path / "ex02_linear_regression.ipynb"
    worked.write_text(_notebook(find_module("ex02").solution_path().read_text()))
    saved = _saved_modules({(Change.added, str(created)), (Change.modified, str(worked))}, None)
    assert [m.id for m, _ in saved] == ["ex02_linear_regression"]


def _rows(path: Path) -> dict[str, dict]:
    with open(path, newline="") as fh:
        return {row["attendee"]: row for row in csv.DictReader(fh)}


def test_grade_reads_notebooks_by_the_rule_of_check_and_accounts_for_every_entry(project, tmp_path):
    solution = (project / "solutions" / "ex01_perceptron.py").read_text()
    stub = (project / "exercises" / "ex01_perceptron.py").read_text()
    subs = tmp_path / "submissions"
    # alice works in Jupyter only; bob saved his notebook after his untouched script;
    # carol worked in the script and built the notebooks afterwards; dave's notebook is broken.
    _write_later(
        subs / "alice" / "notebooks" / "exercises" / "ex01_perceptron.ipynb", _notebook(solution)
    )
    (subs / "bob").mkdir(parents=True)
    (subs / "bob" / "ex01_perceptron.py").write_text(stub)
    _write_later(subs / "bob" / "ex01_perceptron.ipynb", _notebook(solution))
    (subs / "carol").mkdir()
    (subs / "carol" / "ex01_perceptron.py").write_text(solution)
    _write_later(
        subs / "carol" / "ex01_perceptron.ipynb", _notebook(notebooks.exercise_text(EX01, solution))
    )
    _write_later(subs / "dave" / "ex01_perceptron.ipynb", MALFORMED["deeply_nested"])
    (subs / "erin").mkdir()  # an empty folder: a row, every module missing
    (subs / ".git").mkdir()
    (subs / "notes.txt").write_text("collected on Friday")
    done = _workshop(project, "grade", str(subs), "--no-sandbox", "-j", "2", "--timeout", "60")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    rows = _rows(subs / "grades.csv")
    assert set(rows) == {"alice", "bob", "carol", "dave", "erin"}, rows.keys()
    got = {name: row["ex01_perceptron"] for name, row in rows.items()}
    assert got == {
        "alice": "passed",
        "bob": "passed",
        "carol": "passed",
        "dave": "unreadable",
        "erin": "missing",
    }, got
    assert "nested too deeply" in rows["dave"]["ex01_perceptron_reason"]
    assert "not graded: .git: a hidden entry" in done.stdout, done.stdout
    assert "not graded: notes.txt: a file, not a folder" in done.stdout, done.stdout
    assert "not graded: grades.csv" not in done.stdout, "its own file is not an entry to explain"


def test_the_check_cell_grades_the_notebook_colab_holds(project, monkeypatch, capsys):
    import types

    from workshop import jupyter

    held = json.loads(_notebook(EX01.solution_path().read_text()))  # the attendee's work
    message = types.SimpleNamespace(
        blocking_request=lambda request, timeout_sec: (
            {"ipynb": held} if request == "get_ipynb" else None
        )
    )
    colab = types.ModuleType("google.colab")
    colab._message = message
    monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setitem(sys.modules, "google.colab._message", message)
    monkeypatch.setenv("WORKSHOP_STATE_DIR", str(project / ".workshop"))
    assert jupyter.check("ex01", root=project) == 0
    out = capsys.readouterr().out
    saved = project / "notebooks" / "exercises" / "ex01_perceptron.ipynb"
    assert json.loads(saved.read_text()) == held
    assert "PASSED" in out and "notebooks/exercises/ex01_perceptron.ipynb" in out, out


def test_exercise_notebooks_clone_a_real_repository_or_say_so(tmp_path, monkeypatch):
    monkeypatch.delenv("WORKSHOP_SOURCE", raising=False)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    assert notebooks.source_url(tmp_path) == "", "no remote: no address, never a placeholder"
    subprocess.run(
        ["git", "-C", str(tmp_path), "remote", "add", "origin", "git@example.org:room/dl.git"],
        check=True,
    )
    assert notebooks.source_url(tmp_path) == "https://example.org/room/dl.git"
    monkeypatch.setenv("WORKSHOP_SOURCE", "https://example.org/other.git")
    assert notebooks.source_url(tmp_path) == "https://example.org/other.git"
    # A kernel without the workshop, and a notebook built without an address: one sentence.
    import importlib.util

    monkeypatch.delenv("WORKSHOP_SOURCE")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    cell = notebooks.SETUP_CELL.replace("{source}", "")
    with pytest.raises(RuntimeError, match="WORKSHOP_SOURCE"):
        exec(compile(cell, "<setup cell>", "exec"), {"__name__": "__main__"})


@pytest.mark.parametrize("uid, root_flag", [(0, True), (1000, False)])
def test_jupyterlab_started_as_root_gets_allow_root(monkeypatch, uid, root_flag):
    from workshop.cli.attendee import jupyter_lab_command

    monkeypatch.setattr(os, "geteuid", lambda: uid)
    command = jupyter_lab_command(Path("notebooks"))
    assert command[1:3] == ["-m", "jupyterlab"] and ("--allow-root" in command) == root_flag
