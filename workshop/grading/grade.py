"""Grade a folder of collected submissions into a CSV an instructor can put on a transcript.

Each attendee is a sub-folder holding `exNN_topic.py` files (or an
`exercises/` folder of them). Every file is read once, defensively, at the
start; each check grades a private copy in a sandboxed worker, several at a
time (`jobs`). The CSV is rewritten atomically after each attendee, so a
crash or a kill at any moment leaves the last complete version, and a
re-run skips attendees whose files have not changed since.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import os
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from workshop import ROOT
from workshop import backend as keras_backend
from workshop.catalog import Module, load_catalog
from workshop.grading import procs, runner

MISSING = "missing"
STATUSES = {
    runner.PASSED: "every check passes",
    runner.NOT_STARTED: "the untouched stub: no check passes, a TODO is still there",
    runner.FAILED: "a check fails (the reason column says which and why)",
    runner.ERROR: "the code raises an exception while a check runs",
    runner.IMPORT_ERROR: "the file cannot be loaded (a bad import, code failing at top level)",
    runner.SYNTAX_ERROR: "Python cannot read the file",
    runner.UNREADABLE: "not a regular UTF-8 file (a link, a FIFO, a folder, too large, binary)",
    runner.TIMEOUT: "the checks did not finish within the module's time limit",
    runner.CRASHED: "the process running the code ended early (exit, signal, crash)",
    runner.OUT_OF_MEMORY: "the code used more memory than the module allows",
    runner.TAMPERED: "the code interfered with grading (its report, or the grading files)",
    MISSING: "no file for this module",
}


@dataclass
class Submission:
    """One attendee's files, read once: module id -> text, or the reason it cannot be graded."""

    attendee: str
    texts: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # module id -> the file graded
    problems: dict[str, runner.CheckResult] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        h = hashlib.sha256()
        for key in sorted(self.texts):
            h.update(f"{key}\0{self.texts[key]}\0".encode())
        for key in sorted(self.problems):
            h.update(f"{key}\0!{self.problems[key].status}\0".encode())
        return h.hexdigest()


def attendee_folders(folder: Path, out: Path | None = None) -> tuple[list[Path], dict[str, str]]:
    """(the attendees' sub-folders in name order, {every other entry: why it is not graded}).

    An attendee is a real folder; a link, a hidden entry or a stray file is
    never graded, and says why. `out` (the grades file, with its temporary
    copy) is this command's own.
    """
    found, skipped = [], {}
    ours = {out.name, f"{out.name}.tmp"} if out is not None else set()
    for entry in os.scandir(folder):
        if entry.name in ours or (out is not None and entry.name.startswith(f".{out.name}")):
            continue
        if entry.name.startswith("."):
            skipped[entry.name] = "a hidden entry (.git, .DS_Store, ...): not an attendee's folder"
        elif entry.is_symlink():
            skipped[entry.name] = "a link: each attendee's work must be a real folder"
        elif entry.is_dir(follow_symlinks=False):
            found.append(Path(entry.path))
        elif entry.is_file(follow_symlinks=False):
            skipped[entry.name] = (
                "a file, not a folder: put each attendee's files in a folder named after them"
            )
        else:
            skipped[entry.name] = "not a folder (a FIFO, a device, a socket)"
    return sorted(found, key=lambda p: p.name), dict(sorted(skipped.items()))


def _candidates(person: Path, module: Module) -> tuple[Path | None, Path | None]:
    """(the script, the notebook) an attendee's folder holds for a module, where they exist."""
    script = next(
        (
            path
            for path in (person / f"{module.id}.py", person / "exercises" / f"{module.id}.py")
            if os.path.lexists(path)
        ),
        None,
    )
    notebook = next(
        (
            path
            for path in (
                person / f"{module.id}.ipynb",
                person / "notebooks" / "exercises" / f"{module.id}.ipynb",
                person / "exercises" / f"{module.id}.ipynb",
            )
            if os.path.lexists(path)
        ),
        None,
    )
    return script, notebook


def read_submission(person: Path, modules: list[Module]) -> Submission:
    """Each module's text, read once: the script, or the notebook when it was edited and saved
    last (the rule of `workshop check`)."""
    from workshop import notebooks

    sub = Submission(person.name)
    if any(
        (person / name).is_symlink() for name in ("exercises", "notebooks")
    ):  # a link to another folder is not this attendee's work
        return sub
    for m in modules:
        script, notebook = _candidates(person, m)
        if script is None and notebook is None:
            continue
        label = {p: f"{person.name}/{p.relative_to(person)}" for p in (script, notebook) if p}
        choice = notebooks.choose_between(
            m, script, notebook, label.get(script, ""), label.get(notebook, "")
        )
        if choice.notebook:
            try:
                text, problem = notebooks.notebook_source(choice.path), None
            except (OSError, ValueError) as exc:
                text, problem = (
                    None,
                    runner.CheckResult(
                        m.id,
                        runner.UNREADABLE,
                        f"{choice.display} cannot be read as a notebook: {exc}",
                        file=choice.display,
                    ),
                )
        else:
            text, problem = runner.lesson_source(choice.path, choice.display)
        if problem is not None:
            problem.module = m.id
            sub.problems[m.id] = problem
        else:
            sub.texts[m.id] = text
            sub.files[m.id] = choice.display
    return sub


def columns(modules: list[Module]) -> list[str]:
    cols = ["attendee"]
    for m in modules:
        cols += [m.id, f"{m.id}_reason"]
    return [*cols, "points", "max_points", "backend", "files_sha256"]


def _read_previous(out: Path, modules: list[Module]) -> dict[str, dict]:
    """Rows of an earlier run, when its CSV is ours and readable; {} otherwise."""
    try:
        text = procs.read_submission(out, limit=64 * 2**20)
    except (OSError, procs.UnreadableSubmission):
        return {}
    rows = {}
    reader = csv.DictReader(text.splitlines())
    if reader.fieldnames != columns(modules):
        return {}
    for row in reader:
        if all(row.get(m.id) for m in modules) and row.get("files_sha256"):
            row["attendee"] = _uncell(row["attendee"])
            rows[row["attendee"]] = row
    return rows


def _cell(value):
    """A text cell a spreadsheet would run as a formula (=, +, -, @) gets a leading quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _uncell(value: str) -> str:
    return (
        value[1:] if value[:1] == "'" and value[1:2] in ("=", "+", "-", "@", "\t", "\r") else value
    )


def write_rows(fh, modules: list[Module], rows: list[dict]) -> None:
    """The CSV (header, then rows by attendee) to an open text file.

    Attendee names and reasons come from attendees: a name such as
    `=HYPERLINK(...)` is written as text, never as a spreadsheet formula.
    """
    writer = csv.DictWriter(fh, fieldnames=columns(modules))
    writer.writeheader()
    for row in sorted(rows, key=lambda r: r["attendee"]):
        writer.writerow({k: _cell(v) for k, v in row.items()})


def write_csv(out: Path, modules: list[Module], rows: list[dict]) -> None:
    """Write all rows to a temporary file beside `out`, then rename it over `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            write_rows(fh, modules, rows)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class GuardedTree:
    """Without the sandbox: notice (and undo) a change to the checks, solutions or toolkit."""

    def __init__(self, root: Path = ROOT):
        self.files = {}
        for pattern in ("tests/**/*.py", "solutions/*.py", "workshop/**/*.py", "workshop/*.toml"):
            for path in root.glob(pattern):
                if path.is_file() and not path.is_symlink():
                    self.files[path] = path.read_bytes()

    def restore_changed(self) -> list[str]:
        changed = []
        for path, data in self.files.items():
            try:
                same = not path.is_symlink() and path.read_bytes() == data
            except OSError:
                same = False
            if not same:
                changed.append(str(path))
                with contextlib.suppress(OSError):
                    if path.is_symlink():
                        path.unlink()
                    path.write_bytes(data)
        return changed


def grade_folder(
    folder: Path,
    out: Path | None = None,
    jobs: int | None = None,
    sandbox: bool = True,
    force: bool = False,
    timeout: float | None = None,
    on_attendee=None,
    root: Path = ROOT,
    on_skipped=None,
) -> list[dict]:
    """Grade every attendee in `folder`; return the CSV's rows (also written to `out`)."""
    modules = load_catalog()
    out = out or folder / "grades.csv"
    jobs = max(1, jobs or os.cpu_count() or 1)
    procs.become_subreaper()
    ours = out if out.resolve().parent == Path(folder).resolve() else None
    folders, skipped = attendee_folders(folder, ours)
    if on_skipped:
        for name, why in skipped.items():
            on_skipped(name, why)
    people = [read_submission(p, modules) for p in folders]
    previous = {} if force else _read_previous(out, modules)
    max_points = sum(m.points for m in modules)
    rows: dict[str, dict] = {}
    pending: dict[str, dict[str, runner.CheckResult]] = {}
    for sub in people:
        old = previous.get(sub.attendee)
        same = old is not None and old.get("backend") == keras_backend.name()
        if same and old.get("files_sha256") == sub.digest:
            rows[sub.attendee] = old
            if on_attendee:
                on_attendee(sub.attendee, old, True)
            continue
        pending[sub.attendee] = {}
    guard = None if sandbox else GuardedTree(root)
    lock = threading.Lock()
    by_name = {s.attendee: s for s in people}

    def finish(name: str) -> None:
        sub, results = by_name[name], pending[name]
        row = {"attendee": name, "files_sha256": sub.digest, "max_points": max_points}
        row["backend"] = keras_backend.name()  # the Keras backend these grades were computed on
        points = 0
        for m in modules:
            r = results.get(m.id)
            row[m.id] = r.status if r else MISSING
            row[f"{m.id}_reason"] = r.reason if r else "no file for this module"
            points += m.points if r is not None and r.ok else 0
        row["points"] = points
        rows[name] = row
        write_csv(out, modules, list(rows.values()))
        if on_attendee:
            on_attendee(name, row, False)

    def check(name: str, module: Module) -> runner.CheckResult:
        sub = by_name[name]
        if module.id in sub.problems:
            return sub.problems[module.id]
        return runner.run_checks(
            module,
            root=root,
            timeout=timeout,
            text=sub.texts[module.id],
            display=sub.files.get(module.id, f"{name}/{module.id}.py"),
            sandbox=sandbox,
            # The earlier lessons it imports: this attendee's own, never another's.
            siblings={u: sub.texts[u] for u in module.uses if u in sub.texts},
        )

    tasks = [
        (name, m)
        for name in pending
        for m in modules
        if m.id in by_name[name].texts or m.id in by_name[name].problems
    ]
    remaining = {name: sum(1 for n, _ in tasks if n == name) for name in pending}
    for name, count in remaining.items():
        if count == 0:
            finish(name)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(check, name, m): (name, m) for name, m in tasks}
        for future in as_completed(futures):
            name, m = futures[future]
            try:
                result = future.result()
            except Exception as exc:  # a fault of the grader itself: say so, keep going
                result = runner.CheckResult(
                    m.id, runner.ERROR, f"The grader failed on this module: {exc}"
                )
            with lock:
                if guard is not None:
                    changed = guard.restore_changed()
                    if changed:
                        result = runner.CheckResult(
                            m.id,
                            runner.TAMPERED,
                            f"The grading files changed while {name}/{m.id}.py was checked "
                            f"({', '.join(changed[:3])}); they were restored. Grade without "
                            "--no-sandbox to keep submissions away from them.",
                        )
                pending[name][m.id] = result
                remaining[name] -= 1
                if remaining[name] == 0:
                    finish(name)
    if not rows:
        write_csv(out, modules, [])
    return [rows[k] for k in sorted(rows)]
