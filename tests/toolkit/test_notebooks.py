"""A generated notebook runs in a real Jupyter kernel, quick and offline."""

from __future__ import annotations

import os
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from workshop import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import build_notebooks  # noqa: E402


def test_every_lesson_converts(tmp_path):
    paths = build_notebooks.build(tmp_path)
    assert len(paths) == 2 * len(list((ROOT / "solutions").glob("ex*.py")))
    nb = nbformat.read(tmp_path / "exercises" / "ex01_perceptron.ipynb", as_version=4)
    kinds = {cell.cell_type for cell in nb.cells}
    assert kinds == {"markdown", "code"}, "percent cells become markdown and code cells"
    assert any("NotImplementedError" in cell.source for cell in nb.cells), (
        "exercise notebooks carry the stubs"
    )


def test_solution_notebook_executes(tmp_path, monkeypatch):
    build_notebooks.build(tmp_path, ["ex01"])
    path = tmp_path / "solutions" / "ex01_perceptron.ipynb"
    nb = nbformat.read(path, as_version=4)
    monkeypatch.setenv("WORKSHOP_QUICK", "1")
    monkeypatch.setenv("WORKSHOP_OFFLINE", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    )
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    try:
        client.execute()
    except Exception as exc:  # pragma: no cover - the message is what matters
        pytest.fail(f"the ex01 solution notebook failed in a Jupyter kernel: {exc}")
    text = "".join(
        o.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for o in cell.get("outputs", [])
    )
    assert "XOR: never converged" in text
    assert (tmp_path / "outputs" / "ex01_perceptron" / "decision_boundaries.png").exists()
