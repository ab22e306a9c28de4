"""`workshop check` from inside a notebook; on Colab the notebook is saved into the workshop first.

Colab keeps the notebook in the browser and Google Drive, not on the
machine where the code runs, so `workshop check` would grade the untouched
file. The exercise notebooks' last cell calls `check(...)`: on Colab it asks
the page for the notebook as it is now (Colab's own `get_ipynb` request)
and writes it where `workshop check` looks, `notebooks/exercises/` (a copy
it replaces goes to `.workshop/backups/notebooks/` first); in Jupyter the
saved file is graded, so save first.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from workshop.catalog import find_module


def _colab_notebook() -> dict | None:
    """The notebook open in Colab, as Colab's page has it now (None outside Colab)."""
    if "google.colab" not in sys.modules:
        return None
    from google.colab import _message  # noqa: PLC0415 - only there

    reply = _message.blocking_request("get_ipynb", timeout_sec=30)
    notebook = reply.get("ipynb") if isinstance(reply, dict) else None
    if not isinstance(notebook, dict):
        raise RuntimeError("Colab did not hand over the notebook: run this cell again")
    return notebook


def check(module: str, root: Path | None = None) -> int:
    """Grade this lesson's notebook as `workshop check` does; print its answer, return its status."""
    from workshop import ROOT, notebooks

    root = Path(root or os.environ.get("WORKSHOP_ROOT") or ROOT)
    m = find_module(module)
    notebook = _colab_notebook()
    if notebook is not None:
        path = notebooks.exercise_path(m, root)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            notebooks._backup(path)
        path.write_text(json.dumps(notebook, indent=1), encoding="utf-8")
        print(f"saved this notebook as {path.relative_to(root)}")
    else:
        print("checking the saved notebook: save it first (Ctrl-S) if you changed it since")
    done = subprocess.run(
        [sys.executable, "-m", "workshop.cli", "check", m.id],
        env={**os.environ, "WORKSHOP_ROOT": str(root), "COLUMNS": "100"},
        capture_output=True,
        text=True,
    )
    print(done.stdout + done.stderr, end="")
    return done.returncode
