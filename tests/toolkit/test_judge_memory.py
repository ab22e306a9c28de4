"""The judge's key stays out of reach without the sandbox too: `check`, `watch`, `grade --no-sandbox`.

Outside bubblewrap the worker runs as the attendee's own user, so it could
read the memory of the processes above it (`/proc/<pid>/mem`): the runner
and the judge hold the one-time key that signs verdicts, and with it a
forged pass. They are not dumpable (and a worker started by root loses
CAP_SYS_PTRACE), so the attack below finds nothing. It runs when the
lesson is imported, walks up its parents and searches every readable
region of their memory for the key, and writes what it could read into a
file the test inspects.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import Watching, project_env

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="/proc and prctl are Linux's"
)

STEAL = r"""
import json as _json, os as _os, re as _re


def _steal(report):
    found = {"read": [], "denied": [], "key": None}
    pid = _os.getpid()
    for _ in range(5):  # the judge, the runner, and whatever started it
        try:
            with open(f"/proc/{pid}/stat") as _f:
                pid = int(_f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{pid}/cmdline", "rb") as _f:
                command = _f.read().replace(b"\0", b" ").decode(errors="replace")[:300]
        except (OSError, ValueError):
            break
        if pid <= 1:
            break
        try:
            with open(f"/proc/{pid}/maps") as _f:
                regions = _f.read().splitlines()
            memory = open(f"/proc/{pid}/mem", "rb", 0)
        except OSError as exc:
            found["denied"].append([pid, command, exc.strerror])
            continue
        found["read"].append([pid, command])
        with memory:
            for region in regions:
                parts = region.split()
                lo, hi = (int(x, 16) for x in parts[0].split("-"))
                if "r" not in parts[1] or hi - lo > 2**28 or region.endswith(("[vvar]", "[vsyscall]")):
                    continue
                try:
                    memory.seek(lo)
                    chunk = memory.read(hi - lo)
                except (OSError, ValueError, OverflowError):
                    continue
                hit = _re.search(rb'"key": "([0-9a-f]{64})"', chunk)
                if hit:
                    found["key"] = [pid, hit.group(1).decode()]
                    break
        if found["key"]:
            break
    with open(report, "w") as _f:
        _json.dump(found, _f)


_steal(REPORT)
"""


def _hostile(stub: str, report: Path) -> str:
    future = "from __future__ import annotations\n"
    code = STEAL.replace("REPORT", repr(str(report)))
    return stub.replace(future, future + code, 1)


def _assert_nothing_read(report: Path) -> None:
    assert report.exists(), "the attack did not run"
    found = json.loads(report.read_text())
    assert found["key"] is None, f"the attack read the signing key from process {found['key'][0]}"
    denied = " ".join(command for _pid, command, _why in found["denied"])
    assert "workshop.grading.judge_main" in denied, f"the judge's memory was readable: {found}"
    runner = [c for _p, c in found["read"] if "workshop.cli" in c]
    assert not runner, f"the runner's memory was readable: {runner}"
    assert "workshop.cli" in denied, found


def _workshop(project: Path, *args, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "workshop.cli", *args],
        env=project_env(project, COLUMNS="150"),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_check_keeps_the_key(project, tmp_path):
    report = tmp_path / "stolen.json"
    exercise = project / "exercises" / "ex01_perceptron.py"
    exercise.write_text(_hostile(exercise.read_text(), report))
    result = _workshop(project, "check", "1")
    assert "NOT STARTED" in result.stdout, result.stdout + result.stderr
    _assert_nothing_read(report)


def test_watch_keeps_the_key(project, tmp_path):
    report = tmp_path / "stolen.json"
    exercise = project / "exercises" / "ex01_perceptron.py"
    stub = exercise.read_text()
    with Watching(project, "1", COLUMNS="150") as watch:
        watch.wait_for("NOT STARTED")
        for attempt in range(5):  # the attendee saves (again, if watch was still starting)
            exercise.write_text(_hostile(stub, report) + f"\n# saved {attempt}\n")
            deadline = time.time() + 15
            while not report.exists() and time.time() < deadline:
                time.sleep(0.2)
            if report.exists():
                break
        time.sleep(2)  # the re-check's verdict
        assert "PASSED" not in watch.text(), watch.text()
    _assert_nothing_read(report)


def test_grade_without_the_sandbox_keeps_the_key(project, tmp_path):
    report = tmp_path / "stolen.json"
    stub = (project / "exercises" / "ex01_perceptron.py").read_text()
    folder = tmp_path / "submissions" / "mallory"
    folder.mkdir(parents=True)
    (folder / "ex01_perceptron.py").write_text(_hostile(stub, report))
    result = _workshop(project, "grade", str(folder.parent), "--no-sandbox", "-j", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    with open(folder.parent / "grades.csv", newline="") as fh:
        row = next(csv.DictReader(fh))
    assert row["ex01_perceptron"] == "not_started", row
    _assert_nothing_read(report)
