"""Lessons as Jupyter notebooks: built from the lessons, graded where the attendee works.

- Exercise notebooks are built from the pristine stubs (never from an
  attendee's half-done `.py`), solution notebooks from the solutions without
  their grading markers. Both start with a set-up cell that installs the
  workshop when the kernel cannot import it (Colab).
- Building never overwrites a notebook that exists: only missing ones are
  created; `force=True` rebuilds after copying the old one to
  `.workshop/backups/notebooks/`.
- `workshop check N` grades the notebook when the attendee works there:
  whichever of `exercises/exNN_*.py` and `notebooks/exercises/exNN_*.ipynb`
  was saved last, as long as the notebook was edited at all. The message
  names the file, and lines in a notebook as "cell C, line L".
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from workshop import ROOT
from workshop.catalog import Module, load_catalog
from workshop.stubs import BEGIN, END, make_stub

FOLDER = "notebooks"
MAX_NOTEBOOK = 8 * 2**20  # bytes: a lesson notebook with its figures

#: What an exercise notebook's first cell does on Colab (or any kernel without
#: the workshop): clone the project and install it, then work from there. Its
#: logic is tested offline (tests/toolkit/test_notebooks.py).
SETUP_CELL = """# Set-up: nothing to do on your own machine. On Colab (or any kernel that
# cannot import `workshop`) this fetches the workshop and installs it.
import importlib.util
import os
import subprocess
import sys

WORKSHOP_SOURCE = os.environ.get("WORKSHOP_SOURCE", "{source}")
if importlib.util.find_spec("workshop") is None:
    if not WORKSHOP_SOURCE:
        raise RuntimeError(
            "This notebook was built without the address of the workshop's repository. "
            "Set it and run this cell again: os.environ['WORKSHOP_SOURCE'] = 'https://...git'"
        )
    target = os.path.abspath("dl-workshop")
    if not os.path.isdir(target):
        subprocess.run(["git", "clone", "--depth", "1", WORKSHOP_SOURCE, target], check=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "-r", os.path.join(target, "requirements.txt")],
        check=True,
    )
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", target], check=True)
    sys.path.insert(0, target)
    os.environ["WORKSHOP_ROOT"] = target
"""

#: The last cells of an exercise notebook: grade it from inside (on Colab too).
CHECK_CELLS = """
# %% [markdown]
# ## Check your work
# Runs `workshop check` on this notebook. In Jupyter, save it first (Ctrl-S);
# on Colab this cell saves it into the workshop's folder itself.

# %%
if __name__ == "__main__":  # not when the grader imports this notebook's code
    from workshop import jupyter

    jupyter.check("{module}")
"""


def source_url(root: Path = ROOT) -> str:
    """The repository the Colab set-up cell clones: $WORKSHOP_SOURCE, else this copy's
    `origin` remote (an SSH address as HTTPS); "" when neither says (never a placeholder)."""
    import subprocess

    given = os.environ.get("WORKSHOP_SOURCE", "").strip()
    if given:
        return given
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "remote", "get-url", "origin"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    url = done.stdout.strip() if done.returncode == 0 else ""
    ssh = re.match(r"^git@([^:]+):(.+)$", url)
    return f"https://{ssh.group(1)}/{ssh.group(2)}" if ssh else url


def solution_text(source: str) -> str:
    """A solution without its grading markers or the TODO prompts above them."""
    lines = source.splitlines(keepends=True)
    out: list[str] = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith(BEGIN):
            # Drop the prompt: the comment lines just above the block.
            while (
                out and out[-1].strip().startswith("#") and not out[-1].strip().startswith("# %%")
            ):
                out.pop()
            continue
        if stripped.startswith(END):
            continue
        out.append(line)
    return "".join(out)


def _with_setup_cell(text: str, source: str) -> str:
    cell = "# %%\n" + SETUP_CELL.replace("{source}", source) + "\n"
    first = text.find("# %%")
    return text[:first] + cell + text[first:] if first >= 0 else cell + text


def notebook_for(script_text: str, source: str = ""):
    """A notebook (nbformat) from a percent-format lesson's text."""
    import jupytext

    notebook = jupytext.reads(_with_setup_cell(script_text, source), fmt="py:percent")
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.metadata.pop("jupytext", None)
    return notebook


def exercise_path(module: Module, root: Path = ROOT) -> Path:
    return root / FOLDER / "exercises" / f"{module.id}.ipynb"


def _backup(path: Path) -> Path:
    from workshop import progress

    folder = progress.state_file().parent / "backups" / "notebooks"
    folder.mkdir(parents=True, exist_ok=True)
    base = f"{path.parent.name}.{path.stem}.{time.strftime('%Y%m%d-%H%M%S')}"  # exercises.ex01_...
    dest = folder / f"{base}{path.suffix}"
    n = 1
    while dest.exists():
        dest = folder / f"{base}-{n}{path.suffix}"
        n += 1
    shutil.copy2(path, dest, follow_symlinks=False)
    return dest


@dataclass
class Built:
    path: Path
    action: str  # "created", "kept" (it existed), "rebuilt" (force; old one backed up)
    backup: Path | None = None


def build(
    out: Path | None = None,
    only: list[str] | None = None,
    force: bool = False,
    root: Path = ROOT,
    source: str | None = None,
) -> list[Built]:
    """Exercise and solution notebooks for every lesson (or those matching `only`)."""
    import jupytext

    out = Path(out) if out is not None else root / FOLDER
    source = source or source_url(root)
    results = []
    for module in load_catalog():
        if only and not any(key in module.id for key in only):
            continue
        solution = module.solution_path(root).read_text(encoding="utf-8")
        for kind, text in (
            ("exercises", exercise_text(module, solution)),
            ("solutions", solution_text(solution)),
        ):
            target = out / kind / f"{module.id}.ipynb"
            backup = None
            if os.path.lexists(target):
                if not force:
                    results.append(Built(target, "kept"))
                    continue
                backup = _backup(target)
                target.unlink()
            target.parent.mkdir(parents=True, exist_ok=True)
            jupytext.write(notebook_for(text, source), target, fmt="ipynb")
            results.append(Built(target, "rebuilt" if backup else "created", backup))
    return results


# --------------------------------------------------------------------------- grading


class NotebookError(ValueError):
    """A file that is not a notebook Jupyter could open; the message says what is wrong."""


FIX = (
    "Open it in Jupyter and save it again, or rebuild it with `workshop notebooks --force {key}` "
    "(your copy is kept in .workshop/backups/notebooks/)."
)


def _check_structure(text: str) -> None:
    """Raise NotebookError unless `text` is JSON shaped like a notebook (cells of source text)."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise NotebookError("its JSON is nested too deeply to be a notebook") from None
    except ValueError as exc:
        raise NotebookError(f"it is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise NotebookError(f"a notebook is a JSON object, this is a {type(data).__name__}")
    cells = data.get("cells")
    if not isinstance(cells, list):
        raise NotebookError(f'its "cells" should be a list, got {type(cells).__name__}')
    for number, cell in enumerate(cells, 1):
        if not isinstance(cell, dict):
            raise NotebookError(f"cell {number} is a {type(cell).__name__}, not a cell")
        source = cell.get("source")
        lines = source if isinstance(source, list) else [source]
        if source is None or not all(isinstance(line, str) for line in lines):
            raise NotebookError(f"cell {number} has no source text")
        if cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise NotebookError(f"cell {number} has no cell_type code, markdown or raw")


def _as_script(notebook) -> str:
    """A notebook's code as one percent-format script, the same way for any notebook.

    A cell may start with `from __future__ import ...` (the lesson's first code
    cell does, after the set-up cell); in one file it must come first. Moved to
    the top, where it changes no line's cell.
    """
    import jupytext

    script = jupytext.writes(notebook, fmt="py:percent")
    lines = script.splitlines(keepends=True)
    future = [ln for ln in lines if ln.startswith("from __future__ import")]
    rest = [ln for ln in lines if not ln.startswith("from __future__ import")]
    return "".join(future + rest)


def notebook_source(path: Path) -> str:
    """The code of a notebook as a percent-format script (magics commented).

    Read defensively: a file that is not a regular UTF-8 file raises
    UnreadableSubmission, one that is not a notebook NotebookError (both
    ValueErrors, with a message that says why).
    """
    import jupytext

    from workshop.grading.procs import read_submission

    text = read_submission(path, limit=MAX_NOTEBOOK)
    _check_structure(text)
    try:
        return _as_script(jupytext.reads(text, fmt="ipynb"))
    except Exception as exc:  # jupytext's own complaint, whatever its type
        raise NotebookError(f"Jupyter's reader refused it: {type(exc).__name__}: {exc}") from None


def exercise_text(module: Module, solution: str) -> str:
    """An exercise notebook's script: the stub, then the cells that check it."""
    return make_stub(solution, module.id).rstrip("\n") + "\n" + CHECK_CELLS.format(module=module.id)


def pristine(module: Module, root: Path = ROOT) -> str:
    """What the exercise notebook's code is before the attendee touches it (as notebook_source
    gives it)."""
    solution = module.solution_path(root).read_text(encoding="utf-8")
    return _as_script(notebook_for(exercise_text(module, solution)))


def _code(text: str) -> str:
    """Only the code, to compare two percent scripts (metadata, spacing and the address the
    set-up cell clones from aside)."""
    lines = [ln.rstrip() for ln in text.splitlines()]
    return "\n".join(
        ln
        for ln in lines
        if ln and not ln.startswith("# %%") and not ln.startswith("WORKSHOP_SOURCE =")
    )


def edited(path: Path, module: Module, root: Path = ROOT) -> bool:
    """Does the notebook differ from its pristine stub? (One that cannot be read: yes.)"""
    try:
        return _code(notebook_source(path)) != _code(pristine(module, root))
    except (OSError, ValueError):
        return True


@dataclass
class Choice:
    """The file `workshop check` grades for a module, and why."""

    path: Path
    display: str
    notebook: bool
    why: str = ""


def choose_between(
    module: Module,
    script: Path | None,
    notebook: Path | None,
    script_display: str,
    notebook_display: str,
    root: Path = ROOT,
) -> Choice | None:
    """The script, or the notebook when it was edited at all and saved last (None: neither).

    The rule of `workshop check`, and of `workshop grade` for a submitted notebook.
    """
    py = Choice(script, script_display, False) if script is not None else None
    if notebook is None or not os.path.isfile(notebook) or os.path.islink(notebook):
        return py
    if not edited(notebook, module, root):
        return py
    nb = Choice(notebook, notebook_display, True)
    try:
        py_time = os.lstat(script).st_mtime if script is not None else None
    except OSError:
        py_time = None
    if py is None or py_time is None:
        return nb
    if os.lstat(notebook).st_mtime >= py_time:
        nb.why = f"saved after {script_display}"
        return nb
    py.why = f"saved after {notebook_display}"
    return py


def choose(module: Module, root: Path = ROOT) -> Choice:
    """The `.py` exercise, or the notebook when the attendee edited it and saved it last."""
    return choose_between(
        module,
        module.exercise_path(root),
        exercise_path(module, root),
        f"exercises/{module.id}.py",
        f"{FOLDER}/exercises/{module.id}.ipynb",
        root,
    )


_CELL = re.compile(r"^# %%")


def cell_of(script: str, line: int) -> tuple[int, int, str] | None:
    """(cell, line in that cell, the cell's first line of code) for a line of a notebook's script.

    Cells are counted from 1, markdown cells included, as they appear in Jupyter.
    """
    lines = script.splitlines()
    if not 1 <= line <= len(lines):
        return None
    cell, start = 0, 0
    for i, text in enumerate(lines[:line], 1):
        if _CELL.match(text):
            cell, start = cell + 1, i
    if cell == 0:
        return None
    first = next(
        (t.strip() for t in lines[start:] if t.strip() and not t.lstrip().startswith("#")), ""
    )
    return cell, line - start, first[:40]


def relabel(message: str, display: str, script: str) -> str:
    """'notebook, line 42' -> 'notebook, cell 7 (`def hardlim(x):`), line 3' in a message."""

    def swap(m):
        found = cell_of(script, int(m.group(1)))
        if not found:
            return m.group(0)
        cell, line, first = found
        return f"{display}, cell {cell} (`{first}`), line {line}"

    return re.sub(re.escape(display) + r", line (\d+)", swap, message)
