"""Fixtures for the toolkit's own tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from workshop import ROOT
from workshop.stubs import write_stub


@pytest.fixture
def project(tmp_path) -> Path:
    """A copy of the lessons and grading checks to point the `workshop` command at.

    Its exercises are the pristine stubs, generated here: the tests pass in an
    attendee's working copy too, where exercises/ is being filled in.
    """
    copy = tmp_path / "project"
    shutil.copytree(ROOT / "solutions", copy / "solutions")
    (copy / "exercises").mkdir()
    for solution in (copy / "solutions").glob("ex*.py"):
        write_stub(solution, copy / "exercises" / solution.name)
    (copy / "tests").mkdir()
    for path in (ROOT / "tests").glob("*.py"):
        shutil.copy2(path, copy / "tests" / path.name)
    return copy


def project_env(project: Path, **extra) -> dict:
    """The environment that makes `python -m workshop.cli` work on `project`."""
    env = dict(
        os.environ, WORKSHOP_ROOT=str(project), WORKSHOP_STATE_DIR=str(project / ".workshop")
    )
    env.update(extra)
    return env


def edit(text: str, old: str, new: str) -> str:
    """`text` with `old` replaced once by `new`; fails loudly when `old` is gone.

    A slip written as a silent str.replace stops being a slip when the lesson
    changes, and the test goes on checking the unchanged solution.
    """
    assert old in text, f"the test's edit no longer applies: {old!r} is not in the text"
    return text.replace(old, new, 1)


class Watching:
    """`workshop watch ARGS --poll` running on `project`, its output read as it comes."""

    def __init__(self, project: Path, *args: str, **env):
        import subprocess
        import sys
        import threading

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "workshop.cli", "watch", *args, "--poll"],
            env=project_env(project, **env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        threading.Thread(
            target=lambda: self.lines.extend(iter(self.proc.stdout.readline, "")), daemon=True
        ).start()

    def text(self) -> str:
        return "".join(self.lines)

    def count(self, text: str) -> int:
        return self.text().count(text)

    def wait_for(self, text: str, count: int = 1, seconds: float = 60) -> bool:
        """Whether `text` has appeared `count` times within `seconds`."""
        import time

        deadline = time.time() + seconds
        while time.time() < deadline:
            if self.count(text) >= count:
                return True
            time.sleep(0.05)
        return False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=20)
