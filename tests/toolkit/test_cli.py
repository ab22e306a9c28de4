"""The `workshop` command as an attendee and an instructor use it, on a copy of the project."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from functools import partial
from pathlib import Path

from workshop import backend
from workshop.catalog import find_module, load_catalog

from .conftest import edit, project_env
from .tools import needs_sandbox

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

    report = json.loads(workshop(project, "report", "--name", "Ada").stdout)
    assert report["schema"] == "workshop-report/2" and report["attendee"] == "Ada"
    row = next(m for m in report["modules"] if m["module"] == "ex01_perceptron")
    assert row["done"] and row["last_status"] == "passed" and row["points"] == 10
    assert row["duration"] > 0

    # An experiment that fails later does not take the points back.
    exercise = project / "exercises" / "ex01_perceptron.py"
    exercise.write_text(edit(exercise.read_text(), ">= 0, 1, 0)", "> 0, 1, 0)"))
    assert workshop(project, "check", "ex01").returncode == 1
    listing = workshop(project, "list").stdout
    assert "done" in listing and f"10/{TOTAL} points" in listing and "failing check" in listing
    row = next(
        m
        for m in json.loads(workshop(project, "report").stdout)["modules"]
        if m["module"] == "ex01_perceptron"
    )
    assert row["done"] and row["points"] == 10 and row["last_status"] == "failed"


def test_hints_follow_the_failing_check(project):
    first = workshop(project, "hint", "1").stdout
    second = workshop(project, "hint", "1").stdout
    assert "hint 1 of" in first and "hint 2 of" in second and "for hardlim" in first
    panel = first.split("hint 1 of")[1].split("run `workshop hint")[0]
    assert "`" not in panel, "the first hint nudges, it shows no code"
    third = workshop(project, "hint", "1").stdout
    assert "np.where" in third, "the last hint may show code"
    assert "No more hints for hardlim" in workshop(project, "hint", "1").stdout

    # hardlim done: the hints move on to the next unfinished part.
    exercise = project / "exercises" / "ex01_perceptron.py"
    exercise.write_text(
        edit(
            exercise.read_text(),
            '    raise NotImplementedError("TODO: hardlim()")',
            "    a = np.where(n >= 0, 1, 0)",
        )
    )
    moved = workshop(project, "hint", "1").stdout
    assert "hint 1 of" in moved and "for perceptron_step" in moved, moved


def test_reset_keeps_a_backup(project):
    exercise = project / "exercises" / "ex01_perceptron.py"
    pristine = exercise.read_text()
    exercise.write_text(pristine + "\n# my precious work\n")
    result = workshop(project, "reset", "1")
    assert result.returncode == 0
    assert exercise.read_text() == pristine
    backups = list((project / ".workshop" / "backups").glob("ex01_perceptron.*.py"))
    assert len(backups) == 1 and "my precious work" in backups[0].read_text()


def test_reset_keeps_the_points_already_earned(project):
    exercise = project / "exercises" / "ex01_perceptron.py"
    exercise.write_text((project / "solutions" / "ex01_perceptron.py").read_text())
    assert workshop(project, "check", "1").returncode == 0
    assert workshop(project, "reset", "1").returncode == 0
    state = json.loads((project / ".workshop" / "progress.json").read_text())
    entry = state["modules"]["ex01_perceptron"]
    assert entry["done"] is True and entry["points"] == 10, entry
    assert "status" not in entry, "the last check is forgotten: the file is a stub again"
    listed = workshop(project, "list").stdout
    assert "10/" in listed, listed
    # Checking the stub again does not take the points away.
    workshop(project, "check", "1")
    state = json.loads((project / ".workshop" / "progress.json").read_text())
    assert state["modules"]["ex01_perceptron"]["points"] == 10


def test_unknown_module_is_explained(project):
    result = workshop(project, "check", "42")
    assert result.returncode == 2 and "no module '42'" in result.stdout


def _submissions(project: Path, root: Path, people: dict[str, str]) -> Path:
    subs = root / "submissions"
    for person, text in people.items():
        (subs / person).mkdir(parents=True)
        (subs / person / "ex01_perceptron.py").write_text(text)
    return subs


def _rows(path: Path) -> dict[str, dict]:
    with open(path, newline="") as fh:
        return {r["attendee"]: r for r in csv.DictReader(fh)}


HOSTILE_GRADE = {
    # Reaches for the checks and a neighbour's file, then is the untouched stub. (It
    # knows where the project is: the judge's /proc entries, where it once read it
    # from, are closed to it now.)
    "frank": """
import os as _os
_root = "PROJECT"
for _p in (f"{_root}/tests/test_ex01_perceptron.py", "../alice/ex01_perceptron.py"):
    try:
        open(_p, "w").write("def test_nothing():\\n    pass\\n")
    except OSError:
        pass
""",
    # Kills everything it can see, the grader included if it could.
    "grace": """
import os as _os, signal as _signal
for _pid in [int(p) for p in _os.listdir("/proc") if p.isdigit()]:
    if _pid != _os.getpid():
        try:
            _os.kill(_pid, _signal.SIGKILL)
        except OSError:
            pass
""",
}


@needs_sandbox
def test_grade_a_folder_of_submissions(project, tmp_path):
    solution = (project / "solutions" / "ex01_perceptron.py").read_text()
    stub = (project / "exercises" / "ex01_perceptron.py").read_text()
    future = "from __future__ import annotations\n"
    looping = edit(
        solution, '    """1 where x >= 0', '    while True:\n        pass\n    """1 where x >= 0'
    )
    people = {
        "alice": solution,
        "bob": stub,
        "carol": looping,
        "dave": "def oops(:\n",
        "erin": edit(solution, ">= 0, 1, 0)", "> 0, 1, 0)"),
        "judy": stub.replace(future, future + "from solutions.ex01_perceptron import *\n", 1),
        **{
            k: stub.replace(future, future + v.replace("PROJECT", str(project)), 1)
            for k, v in HOSTILE_GRADE.items()
        },
    }
    subs = _submissions(project, tmp_path, people)
    os.mkfifo(subs / "bob" / "ex02_linear_regression.py")  # a FIFO must not block the grader
    (subs / "heidi").mkdir()
    os.symlink(project / "solutions" / "ex01_perceptron.py", subs / "heidi" / "ex01_perceptron.py")
    tests_before = (project / "tests" / "test_ex01_perceptron.py").read_bytes()
    result = workshop(project, "grade", str(subs), "--timeout", "6", "-j", "2", timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = _rows(subs / "grades.csv")
    assert set(rows) == {*people, "heidi"}
    want = {
        "alice": "passed",
        "bob": "not_started",
        "carol": "timeout",
        "dave": "syntax_error",
        "erin": "failed",
        "judy": "import_error",
        "frank": "not_started",
        "grace": "not_started",
        "heidi": "unreadable",
    }
    assert {k: r["ex01_perceptron"] for k, r in rows.items()} == want
    assert rows["alice"]["points"] == "10" and rows["alice"]["ex00_gpu_setup"] == "missing"
    assert rows["bob"]["ex02_linear_regression"] == "unreadable"
    assert "hardlim" in rows["bob"]["ex01_perceptron_reason"]
    assert "\n" not in rows["carol"]["ex01_perceptron_reason"]
    assert (project / "tests" / "test_ex01_perceptron.py").read_bytes() == tests_before
    assert (subs / "alice" / "ex01_perceptron.py").read_text() == solution

    # A second run grades only what changed.
    (subs / "bob" / "ex01_perceptron.py").write_text(solution)
    again = workshop(project, "grade", str(subs), "--timeout", "6", timeout=600)
    assert again.stdout.count("unchanged since the last run") == len(want) - 1, again.stdout
    assert _rows(subs / "grades.csv")["bob"]["ex01_perceptron"] == "passed"
    here = backend.name()  # the Keras backend the grader runs under (tensorflow by default)
    assert {r["backend"] for r in _rows(subs / "grades.csv").values()} == {here}

    # Grades computed on another Keras backend are not reused: they are computed again.
    (subs / "grades.csv").write_text(
        (subs / "grades.csv").read_text().replace(f",{here},", ",elsewhere,")
    )
    third = workshop(project, "grade", str(subs), "--timeout", "6", timeout=600)
    assert "unchanged since the last run" not in third.stdout, third.stdout
    assert _rows(subs / "grades.csv")["alice"]["backend"] == here


def test_grade_refuses_without_the_sandbox_unless_told(project, tmp_path):
    solution = (project / "solutions" / "ex01_perceptron.py").read_text()
    stub = (project / "exercises" / "ex01_perceptron.py").read_text()
    future = "from __future__ import annotations\n"
    subs = _submissions(
        project,
        tmp_path,
        {
            "alice": solution,
            "frank": stub.replace(
                future, future + HOSTILE_GRADE["frank"].replace("PROJECT", str(project)), 1
            ),
        },
    )
    no_bwrap = os.pathsep.join(
        p for p in os.environ["PATH"].split(os.pathsep) if not Path(p, "bwrap").exists()
    )
    env = project_env(project, COLUMNS="120", PATH=no_bwrap)
    run = partial(subprocess.run, env=env, capture_output=True, text=True, timeout=300)
    refused = run([sys.executable, "-m", "workshop.cli", "grade", str(subs)])
    assert refused.returncode == 2 and "bubblewrap" in refused.stdout, refused.stdout
    assert not (subs / "grades.csv").exists()

    tests_before = (project / "tests" / "test_ex01_perceptron.py").read_bytes()
    done = run(
        [sys.executable, "-m", "workshop.cli", "grade", str(subs), "--no-sandbox", "-j", "1"]
    )
    assert done.returncode == 0 and "WITHOUT the sandbox" in done.stdout, done.stdout
    rows = _rows(subs / "grades.csv")
    assert rows["alice"]["ex01_perceptron"] == "passed"
    assert rows["frank"]["ex01_perceptron"] == "tampered", rows["frank"]
    assert (project / "tests" / "test_ex01_perceptron.py").read_bytes() == tests_before


def test_env_reports_ok_and_fail_lines(project):
    result = workshop(project, "env")
    assert result.returncode == 0, result.stdout
    for part in ("Python", "TensorFlow", "Keras 3", "GPU", "Plotting", "data: mnist"):
        assert part in result.stdout, f"{part} missing from `workshop env`:\n{result.stdout}"
    assert "[OK]" in result.stdout and "[FAIL]" not in result.stdout
    noise = result.stdout + result.stderr
    assert "cuInit" not in noise and "absl::InitializeLog" not in noise, (
        "TensorFlow's chatter shows"
    )


def test_run_of_an_unfinished_exercise_names_the_todos_left(project):
    result = workshop(project, "run", "1", "--quick", "--offline")
    assert result.returncode == 1
    text = " ".join(result.stdout.split())
    todos = len(find_module("ex01").todos)  # every one left in the untouched stub
    assert f"{todos} TODOs still to write: " in text and "hardlim() (line " in text, text
    assert "`workshop check 1`" in text and "`workshop run 1 --solution`" in text


def test_messages_are_printed_as_text_not_rich_markup():
    # A message quoting the attendee's values, e.g. softmax gave [nan, nan],
    # lost "[nan, nan]": Rich read it as a style tag and swallowed it.
    from workshop.cli import common
    from workshop.grading.runner import CheckResult

    module = load_catalog()[1]
    result = CheckResult(
        module.id, "failed", "softmax gave [nan, nan] and [bold]x[/bold]: np.exp overflowed"
    )
    with common.console.capture() as captured:
        common.print_result(result, module, verbose=False)
    assert "[nan, nan]" in captured.get() and "[bold]x[/bold]" in captured.get()


def test_a_failed_check_says_how_to_draw_the_same_inputs_again():
    from workshop.cli import common
    from workshop.grading.runner import CheckResult

    module = load_catalog()[1]
    result = CheckResult(module.id, "failed", "wrong", seed=1234)
    with common.console.capture() as captured:
        common.print_result(result, module, verbose=False)
    assert f"workshop check {module.number} --seed 1234" in captured.get()


def test_serve_refuses_a_room_of_no_names(project):
    result = workshop(project, "serve", "--max-names", "0")
    assert result.returncode == 2 and "--max-names: expected 1 to 100000, got 0" in result.stdout


def test_list_fits_80_columns_one_line_per_module(project):
    env = project_env(project, COLUMNS="80")
    out = subprocess.run(
        [sys.executable, "-m", "workshop.cli", "list"], env=env, capture_output=True, text=True
    ).stdout
    lines = out.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80, out
    for m in load_catalog():
        rows = [line for line in lines if line.split()[:1] == [f"{m.number:02d}"]]
        assert len(rows) == 1 and m.id.split("_", 1)[1][:20] in rows[0], (m.id, out)


def test_setup_ends_with_the_next_command_to_type():
    done = subprocess.run(
        [sys.executable, "scripts/dev.py", "setup"],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    last = done.stdout.strip().splitlines()[-3:]
    assert "activate" in last[0] and last[1].split()[:2] == ["workshop", "env"], done.stdout
