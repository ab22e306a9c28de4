"""Notebooks as a first-class way to do the workshop: built right, never overwritten, run by a
real Jupyter kernel with figures inline, and graded where the attendee works."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types

import nbformat
import pytest
from nbclient import NotebookClient

from workshop import ROOT, notebooks
from workshop.catalog import find_module

from .conftest import edit, project_env

EX01 = find_module("ex01_perceptron")


def _workshop(project, *args, timeout=180):
    return subprocess.run(
        [sys.executable, "-m", "workshop.cli", *args],
        env=project_env(project, COLUMNS="160"),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_every_lesson_converts(tmp_path):
    built = notebooks.build(tmp_path)
    assert len(built) == 2 * len(list((ROOT / "solutions").glob("ex*.py")))
    assert {b.action for b in built} == {"created"}
    exercise = nbformat.read(tmp_path / "exercises" / "ex01_perceptron.ipynb", as_version=4)
    assert {cell.cell_type for cell in exercise.cells} == {"markdown", "code"}
    code = "\n".join(c.source for c in exercise.cells if c.cell_type == "code")
    assert "NotImplementedError" in code, "exercise notebooks carry the stubs"
    assert 'find_spec("workshop")' in exercise.cells[1].source or any(
        'find_spec("workshop")' in c.source for c in exercise.cells[:3]
    ), "an early set-up cell installs the workshop where it is missing (Colab)"
    solution = nbformat.read(tmp_path / "solutions" / "ex01_perceptron.ipynb", as_version=4)
    text = "\n".join(c.source for c in solution.cells)
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    assert "# TODO" not in text, "solution notebooks drop the prompts"
    assert 'NotImplementedError("TODO' not in text


def test_exercise_notebooks_come_from_the_stubs_not_the_attendees_file(project, tmp_path):
    exercise = project / "exercises" / "ex01_perceptron.py"
    exercise.write_text(exercise.read_text() + "\n# half-done work of the attendee\n")
    notebooks.build(tmp_path, ["ex01"], root=project)
    nb = (tmp_path / "exercises" / "ex01_perceptron.ipynb").read_text()
    assert "half-done work" not in nb


def test_setup_cell_installs_only_where_workshop_is_missing(tmp_path, monkeypatch):
    calls = []
    fake_run = lambda cmd, check: calls.append(cmd)  # noqa: E731
    # The cell sets WORKSHOP_ROOT itself: recorded here, so that teardown puts back the
    # value from before the test (the tests after it must not see the cell's folder).
    monkeypatch.delenv("WORKSHOP_ROOT", raising=False)
    cell = notebooks.SETUP_CELL.replace("{source}", "https://example.org/w.git")

    def run_cell(found):
        calls.clear()
        import importlib.util
        import subprocess as sp

        monkeypatch.setattr(importlib.util, "find_spec", lambda name: found)
        monkeypatch.setattr(sp, "run", fake_run)
        monkeypatch.chdir(tmp_path)
        exec(compile(cell, "<setup cell>", "exec"), {"__name__": "__main__"})
        return list(calls)

    assert run_cell(types.SimpleNamespace()) == [], "nothing to do where workshop imports"
    calls_made = run_cell(None)
    assert calls_made[0][:2] == ["git", "clone"] and "https://example.org/w.git" in calls_made[0]
    assert any("requirements.txt" in " ".join(c) for c in calls_made)
    assert calls_made[-1][-2:] == ["-e", str(tmp_path / "dl-workshop")]
    assert os.environ.get("WORKSHOP_ROOT") == str(tmp_path / "dl-workshop")


def test_building_again_never_overwrites_a_notebook(project):
    assert _workshop(project, "notebooks", "ex01").returncode == 0
    path = project / "notebooks" / "exercises" / "ex01_perceptron.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("my notes"))
    nbformat.write(nb, path)
    again = _workshop(project, "notebooks", "ex01")
    assert again.returncode == 0 and "never overwritten" in again.stdout
    assert "my notes" in path.read_text()
    forced = _workshop(project, "notebooks", "ex01", "--force")
    assert forced.returncode == 0 and "rebuilt" in forced.stdout
    assert "my notes" not in path.read_text()
    backups = list(
        (project / ".workshop" / "backups" / "notebooks").glob("exercises.ex01_perceptron.*.ipynb")
    )
    assert len(backups) == 1 and "my notes" in backups[0].read_text()


def _execute(nb, cwd, env_root):
    env = {
        "WORKSHOP_QUICK": "1",
        "WORKSHOP_OFFLINE": "1",
        "WORKSHOP_ROOT": str(env_root),
        "MPLBACKEND": "Agg",  # what dev.py sets: figures must still show inline
    }
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        NotebookClient(
            nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
        ).execute()
    except Exception as exc:  # pragma: no cover - the message is what matters
        pytest.fail(f"the notebook failed in a Jupyter kernel: {exc}")
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _outputs(nb, kind):
    return [
        o
        for cell in nb.cells
        if cell.cell_type == "code"
        for o in cell.get("outputs", [])
        if (kind in o.get("data", {})) or (kind == "text" and "text" in o)
    ]


def test_an_exercise_notebook_filled_in_runs_shows_figures_and_is_graded(project):
    assert _workshop(project, "notebooks", "ex01").returncode == 0
    path = project / "notebooks" / "exercises" / "ex01_perceptron.ipynb"
    nb = nbformat.read(path, as_version=4)
    # The attendee fills in each TODO: here, the solution's code for each stub cell.
    solution = notebooks.notebook_for(
        notebooks.solution_text((project / "solutions" / "ex01_perceptron.py").read_text())
    )
    # The exercise ends with two more cells: "Check your work" and the call that checks it.
    assert len(nb.cells) == len(solution.cells) + 2 and "jupyter.check" in nb.cells[-1].source
    for mine, theirs in zip(nb.cells, solution.cells, strict=False):
        if "NotImplementedError" in mine.source:
            mine.source = theirs.source
    _execute(nb, path.parent, project)
    pngs = _outputs(nb, "image/png")
    assert len(pngs) >= 2, "every figure shows inline as a PNG"
    text = "".join(o.get("text", "") for o in _outputs(nb, "text"))
    assert "XOR: never converged" in text and "<Figure size" not in text
    assert (project / "outputs" / "ex01_perceptron" / "decision_boundaries.png").exists(), (
        "figures go to the project's outputs/, not next to the notebook"
    )
    assert not (path.parent / "outputs").exists()
    nbformat.write(nb, path)
    done = _workshop(project, "check", "1")
    assert (
        "PASSED" in done.stdout
        and "Checked notebooks/exercises/ex01_perceptron.ipynb" in done.stdout
    ), done.stdout

    # A slip in the notebook is reported by cell.
    slip = next(c for c in nb.cells if "np.where(n >= 0, 1, 0)" in c.source)
    slip.source = edit(slip.source, "np.where(n >= 0, 1, 0)", "np.where(n > 0, 1, 0)")
    nbformat.write(nb, path)
    wrong = _workshop(project, "check", "1")
    assert (
        "FAILING CHECK" in wrong.stdout
        and "notebooks/exercises/ex01_perceptron.ipynb" in wrong.stdout
    )

    # Saving the .py afterwards makes it the file graded, and the message says so.
    script = project / "exercises" / "ex01_perceptron.py"
    script.write_text((project / "solutions" / "ex01_perceptron.py").read_text())
    os.utime(script, (path.stat().st_mtime + 5, path.stat().st_mtime + 5))
    back = _workshop(project, "check", "1")
    assert "PASSED" in back.stdout and "saved after notebooks/exercises" in back.stdout, back.stdout
    report = json.loads(_workshop(project, "report").stdout)
    assert report["modules"][1]["done"]
