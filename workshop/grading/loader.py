"""Where lessons live, and importing a *trusted* lesson in this process.

`load_lesson` is for the reference solutions (benchmarks, the lessons' own
tests). Grading never uses it: attendee code runs only in a worker process
(`workshop.grading.worker`).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from workshop import ROOT

TARGETS = ("exercises", "solutions")


class LessonImportError(Exception):
    """The attendee's file could not be imported; the message says why."""


def target_dir(target: str | None = None, root: Path = ROOT) -> Path:
    """The folder lessons are loaded from: 'exercises' (default), 'solutions' or a path."""
    target = target or os.environ.get("WORKSHOP_TARGET") or "exercises"
    if target in TARGETS:
        return root / target
    path = Path(target)
    if not path.is_dir():
        raise ValueError(f"target must be 'exercises', 'solutions' or a folder, got {target!r}")
    return path


def import_file(module_id: str, path: str | Path):
    """Run the file `path` as a fresh module named `module_id` and return it.

    It is registered in sys.modules under that name (dataclasses and Keras look
    modules up by name) and removed again if running it fails.
    """
    spec = importlib.util.spec_from_file_location(module_id, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_id] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_id, None)
        raise
    return module


def load_lesson(module_id: str, target: str | None = None, root: Path = ROOT):
    """Import `<target>/<module_id>.py` fresh, as module `module_id`."""
    path = target_dir(target, root) / f"{module_id}.py"
    if not path.exists():
        raise LessonImportError(
            f"{path} does not exist: restore it with `workshop reset {module_id}`"
        )
    try:
        return import_file(module_id, path)
    except (Exception, SystemExit) as exc:
        raise LessonImportError(
            f"{path.name} could not be imported: {type(exc).__name__}: {exc}"
        ) from exc
