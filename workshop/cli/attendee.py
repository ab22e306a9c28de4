"""An attendee's commands on their exercises: list, check, hint, run, reset, notebooks, report."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

from rich import box
from rich.markup import escape
from rich.panel import Panel
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from workshop import ROOT, progress
from workshop.catalog import Module, find_module, load_catalog
from workshop.cli.common import (
    STYLE,
    attendee_name,
    check_exercise,
    console,
    module_state,
    print_result,
    save_progress,
)
from workshop.grading import procs, runner, sandbox
from workshop.stubs import make_stub, todos_left


def _resolve_modules(key: str | None) -> list[Module]:
    modules = load_catalog()
    return modules if key in (None, "all") else [find_module(key, modules)]


def _backup(path: Path) -> Path:
    """Keep the attendee's version: a copy of a file, or the thing itself moved aside.

    A link is backed up as a note of where it pointed (and a copy of what it
    pointed to, when that is a readable file); a FIFO, a folder or anything
    else is moved, never opened.
    """
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup_dir = progress.state_file().parent / "backups"  # beside the progress file
    backup_dir.mkdir(parents=True, exist_ok=True)
    dest = backup_dir / f"{path.stem}.{stamp}.py"
    n = 1
    while os.path.lexists(dest):
        dest = backup_dir / f"{path.stem}.{stamp}-{n}.py"
        n += 1
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        target = os.readlink(path)
        try:
            text = procs.read_submission(os.path.join(path.parent, target))
        except (OSError, ValueError):
            text = ""
        dest.write_text(f"# {path.name} was a link to {target}\n" + text, encoding="utf-8")
    elif stat.S_ISREG(info.st_mode):
        shutil.copyfile(path, dest, follow_symlinks=False)
    else:
        os.replace(path, dest)
    return dest


def _add_list(sub) -> None:
    s = sub.add_parser("list", help="every module with its state and points")
    s.set_defaults(func=cmd_list)


def cmd_list(args) -> int:
    modules = load_catalog()
    state = progress.load()
    # One line per module at any width (80 columns included): the title only where it fits.
    table = Table(
        title="Deep-learning workshop",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        pad_edge=False,
    )
    room = console.width - 75  # what #, module, state, points and last check leave
    with_title = room >= 24
    table.add_column("#", no_wrap=True)
    table.add_column("module", no_wrap=True, overflow="ellipsis", max_width=26)
    if with_title:
        table.add_column("title", no_wrap=True, overflow="ellipsis", max_width=room)
    for col in ("state", "points", "last check"):
        table.add_column(col, no_wrap=True)
    earned = total = 0
    colors = {"done": "green", "in progress": "yellow", "not started": "dim", "missing": "red"}
    for m in modules:
        s = module_state(m, state)
        entry = state["modules"].get(m.id, {})
        points = entry.get("points", 0) if s == "done" else 0
        total += m.points
        earned += points
        last = entry.get("status")
        last_text = "" if last is None else STYLE.get(last, ("", last))[1].lower()
        if last is not None:
            last_text += f" {entry.get('passed', 0)}/{entry.get('total', 0)}"
        table.add_row(
            f"{m.number:02d}",
            m.id.split("_", 1)[1],
            *([m.title] if with_title else []),
            f"[{colors[s]}]{s}[/]",
            f"{points}/{m.points}",
            last_text,
        )
    console.print(table)
    with Progress(
        TextColumn("progress"), BarColumn(), TextColumn("{task.completed}/{task.total} points")
    ) as bar:
        bar.add_task("", total=total, completed=earned)
    return 0


def _add_check(sub) -> None:
    s = sub.add_parser("check", help="grade a module (or all) in a safe subprocess")
    s.add_argument("module", nargs="?", help="number or name (default: all)")
    s.add_argument("-v", "--verbose", action="store_true", help="show the full test output")
    s.add_argument("--solution", action="store_true", help="grade the reference solution")
    s.add_argument("--target", default="exercises", help="exercises, solutions, or a folder")
    s.add_argument(
        "--sandbox", action="store_true", help="run your code in the bubblewrap sandbox (Linux)"
    )
    s.add_argument("--seed", type=int, help="repeat a run's drawn inputs (its seed is in -v)")
    s.set_defaults(func=cmd_check)


def cmd_check(args) -> int:
    modules = _resolve_modules(args.module)
    target = "solutions" if args.solution else args.target
    worst = 0
    if args.sandbox:
        ok, why = sandbox.available()
        if not ok:
            console.print(f"--sandbox: {why}. {sandbox.INSTALL_HINT}", markup=False)
            return 2
    for m in modules:
        with console.status(f"checking {m.id} ..."):
            if target == "exercises":
                result, graded = check_exercise(m, use_sandbox=args.sandbox, seed=args.seed)
            else:
                result = runner.run_checks(m, target, sandbox=args.sandbox, seed=args.seed)
        print_result(result, m, args.verbose)
        if target == "exercises":
            save_progress(result, m, graded)
        worst = worst or (0 if result.ok else 1)
    return worst


def _current_text_digest(m: Module) -> str | None:
    """The hash of the file `workshop check` would grade now (None when it cannot be read)."""
    import hashlib

    from workshop import notebooks

    choice = notebooks.choose(m)
    try:
        text = (
            notebooks.notebook_source(choice.path)
            if choice.notebook
            else procs.read_submission(choice.path)
        )
    except (OSError, ValueError):
        return None
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _add_hint(sub) -> None:
    s = sub.add_parser("hint", help="the next hint for a module")
    s.add_argument("module")
    s.set_defaults(func=cmd_hint)


def cmd_hint(args) -> int:
    """The next hint for the part that fails now: a nudge first, code at the end."""
    m = find_module(args.module)
    entry = progress.load()["modules"].get(m.id, {})
    if not entry or entry.get("source_sha256") != _current_text_digest(m):
        with console.status(f"checking {m.id} to see where you are ..."):
            result, graded = check_exercise(m)
        save_progress(result, m, graded)
        entry = progress.load()["modules"].get(m.id, {})
        if not entry:  # the state folder could not be written: use the result itself
            entry = {
                "status": result.status,
                "failing": next((n for n, o in result.tests.items() if o != "passed"), None),
            }
    if entry.get("status") == runner.UNREADABLE:  # no hint helps before the file can be read
        console.print(entry.get("message") or f"{m.id}: the file cannot be read", markup=False)
        return 1
    failing = entry.get("failing")
    if entry.get("status") == runner.PASSED or not failing:
        console.print(f"All checks of {m.id} pass: no more hints needed. Well done!")
        return 0
    todo = m.todo_for(failing, entry.get("todo")) if failing != "*" else m.todos[0]
    todo = todo or m.todos[0]
    index = progress.next_hint(m.id, todo.name, len(todo.hints))
    where = f"the check {failing} fails" if failing != "*" else "your file does not load yet"
    if index is None:
        console.print(
            Panel(
                f"No more hints for {todo.name}. Compare with the reference "
                f"(`workshop run {m.number} --solution`), or ask the instructor.",
                title=f"{m.id}: {todo.name} ({where})",
                title_align="left",
            )
        )
        return 0
    console.print(
        Panel(
            Text(todo.hints[index]),
            title=f"hint {index + 1} of {len(todo.hints)} for {todo.name} ({where})",
            title_align="left",
        )
    )
    if index + 1 < len(todo.hints):
        console.print(f"[dim]run `workshop hint {m.number}` again for the next one[/]")
    return 0


def _add_run(sub) -> None:
    s = sub.add_parser("run", help="run a lesson: prints what it learned, saves its figures")
    s.add_argument("module")
    s.add_argument("--solution", action="store_true", help="run the reference solution")
    s.add_argument("--quick", action="store_true", help="tiny settings: seconds")
    s.add_argument("--offline", action="store_true", help="never download: cache or stand-in")
    s.add_argument("--out-dir", help="default outputs/<module>")
    s.add_argument("-v", "--verbose", action="store_true", help="TensorFlow's start-up log too")
    s.set_defaults(func=cmd_run)


def cmd_run(args) -> int:
    from workshop.demo import run_lesson

    if args.verbose:
        os.environ["WORKSHOP_TF_LOGS"] = "1"  # TensorFlow's own start-up lines too
    m = find_module(args.module)
    out = Path(args.out_dir or f"outputs/{m.id}")
    if not args.solution:
        early = runner.syntax_check(m.exercise_path())
        if early:
            print_result(early, m, False)
            return 1
    console.print(f"running {'solutions' if args.solution else 'exercises'}/{m.id}.py -> {out}/")
    row = run_lesson(
        m, out, solution=args.solution, quick=args.quick, offline=args.offline, capture=False
    )
    if row.status == "ok":
        console.print(f"[green]done[/] in {row.seconds:.1f} s; figures: {', '.join(row.figures)}")
        return 0
    console.print(f"[red]{row.status}[/] after {row.seconds:.1f} s")
    if not args.solution:
        _say_todos_left(m)
    return 1


def _say_todos_left(m) -> None:
    """After a failed run of an exercise: which TODOs are still stubs, and what to do.

    A lesson that builds on earlier ones (ex09 on ex04 and ex07) also names
    theirs: an unfinished ex04 stops ex09 too.
    """
    number = str(m.number)
    for module in [m, *(find_module(u) for u in m.uses)]:
        try:
            left = todos_left(module.exercise_path().read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            continue
        if not left:
            continue
        where = ", ".join(f"{what} (line {line})" for what, line in left)
        todos = f"{len(left)} TODO{'s' if len(left) > 1 else ''}"
        if module is m:
            intro = f"{todos} still to write: {where}. "
        else:
            intro = f"{m.id} builds on {module.id}, which has {todos} still to write: {where}. "
        console.print(
            intro + f"`workshop check {module.number}` says which parts are right so far; "
            f"`workshop run {number} --solution` runs the finished lesson.",
            markup=False,
        )


def _add_reset(sub) -> None:
    s = sub.add_parser("reset", help="restore a module's stub (your file is backed up first)")
    s.add_argument("module")
    s.set_defaults(func=cmd_reset)


def cmd_reset(args) -> int:
    m = find_module(args.module)
    folder = ROOT / "exercises"
    if folder.is_symlink() or not folder.is_dir():
        console.print(f"{folder} is not a folder of the project: nothing was changed", markup=False)
        return 1
    path = m.exercise_path()
    stub = make_stub(m.solution_path().read_text(encoding="utf-8"))
    if os.path.lexists(path):
        backup = _backup(path)
        console.print(f"kept your version as {backup}", markup=False)
        if os.path.lexists(path):
            os.unlink(path)  # a link goes, never what it points to
    # O_EXCL | O_NOFOLLOW: a new file in exercises/, never written through a link.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    with os.fdopen(os.open(path, flags, 0o644), "w", encoding="utf-8") as fh:
        fh.write(stub)
    try:
        progress.reset(m.id)  # a module passed stays done, with its points
    except OSError as exc:
        console.print(f"[yellow]warning:[/] progress not updated: {escape(str(exc))}")
    console.print(f"restored {path} to its untouched stub", markup=False)
    return 0


def _add_notebooks(sub) -> None:
    s = sub.add_parser(
        "notebooks", help="create the Jupyter notebooks that are missing (never overwrites yours)"
    )
    s.add_argument("lessons", nargs="*", help="e.g. ex01 (default: all)")
    s.add_argument("--out-dir", help="default: notebooks/ in the project")
    s.add_argument(
        "--force", action="store_true", help="rebuild existing ones too, after backing them up"
    )
    s.add_argument("--open", action="store_true", help="then start JupyterLab on them")
    s.set_defaults(func=cmd_notebooks)


def jupyter_lab_command(folder: Path) -> list[str]:
    """How to start JupyterLab on `folder`: as root (a container, a lab machine) Jupyter
    refuses to start without --allow-root, so it gets it there."""
    command = [sys.executable, "-m", "jupyterlab", str(folder)]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    return command


def cmd_notebooks(args) -> int:
    from workshop import notebooks

    built = notebooks.build(
        Path(args.out_dir) if args.out_dir else None, args.lessons or None, force=args.force
    )
    for b in built:
        if b.action == "rebuilt":
            console.print(f"rebuilt {b.path} (your copy: {b.backup})", markup=False)
        elif b.action == "created":
            console.print(f"created {b.path}", markup=False)
    kept = [b for b in built if b.action == "kept"]
    if kept:
        console.print(
            f"kept {len(kept)} notebooks that exist already (yours are never overwritten; "
            "--force rebuilds them after a backup)"
        )
    if not notebooks.source_url():
        console.print(
            "note: the notebooks' Colab cell has no repository to clone (no $WORKSHOP_SOURCE, no "
            "git remote 'origin'): on Colab it will ask for one. Set WORKSHOP_SOURCE to your "
            "copy's Git URL and rebuild with --force to fill it in.",
            markup=False,
        )
    folder = Path(args.out_dir) if args.out_dir else ROOT / notebooks.FOLDER
    command = jupyter_lab_command(folder)
    if args.open:
        return subprocess.call(command)
    shown = "jupyter lab notebooks/" + (" --allow-root" if "--allow-root" in command else "")
    console.print(f"open them with: {shown}  (or `workshop notebooks --open`)", markup=False)
    return 0 if built else 1


def _add_report(sub) -> None:
    s = sub.add_parser("report", help="JSON of every module: done, points, last check")
    s.add_argument("-o", "--output")
    s.add_argument("--name", help="your name in the report (default $WORKSHOP_NAME or your login)")
    s.set_defaults(func=cmd_report)


def cmd_report(args) -> int:
    state = progress.load()
    modules = load_catalog()
    rows = []
    for m in modules:
        entry = state["modules"].get(m.id, {})
        rows.append(
            {
                "module": m.id,
                "done": bool(entry.get("done")),
                "points": entry.get("points", 0) if entry.get("done") else 0,
                "max_points": m.points,
                "last_status": entry.get("status", "not_checked"),
                "last_passed": entry.get("passed", 0),
                "last_total": entry.get("total", 0),
                "last_checked_at": entry.get("checked_at"),
                "last_backend": entry.get("backend"),  # the Keras backend it was graded on
                "done_at": entry.get("done_at"),
                "duration": entry.get("duration"),
                "message": entry.get("message", ""),
            }
        )
    report = {
        "schema": "workshop-report/2",
        "attendee": attendee_name(args.name),
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "points": sum(r["points"] for r in rows),
        "max_points": sum(m.points for m in modules),
        "modules": rows,
    }
    text = json.dumps(report, indent=2)
    if args.output:
        Path(args.output).write_text(text + "\n")
        console.print(f"wrote {args.output}")
    else:
        print(text)
    return 0


# Each command's name and the function that adds it, with its options, to `workshop`.
COMMANDS = {
    "list": _add_list,
    "check": _add_check,
    "hint": _add_hint,
    "run": _add_run,
    "reset": _add_reset,
    "notebooks": _add_notebooks,
    "report": _add_report,
}
