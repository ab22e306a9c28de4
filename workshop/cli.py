"""The `workshop` command: list, check, hint, run, watch, reset, env, data, verify, demo, report,
grade, serve, join, leave."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from workshop import ROOT, progress
from workshop.catalog import Module, find_module, load_catalog
from workshop.grading import procs, runner, sandbox
from workshop.grading.grade import STATUSES as STATUS_HELP
from workshop.stubs import make_stub, todos_left

console = Console(highlight=False)
STYLE = {
    runner.PASSED: ("green", "PASSED"),
    runner.NOT_STARTED: ("yellow", "NOT STARTED"),
    runner.FAILED: ("red", "FAILING CHECK"),
    runner.ERROR: ("red", "ERROR IN YOUR CODE"),
    runner.IMPORT_ERROR: ("red", "CANNOT LOAD"),
    runner.SYNTAX_ERROR: ("red", "SYNTAX ERROR"),
    runner.UNREADABLE: ("red", "NOT A LESSON FILE"),
    runner.TIMEOUT: ("magenta", "TIMEOUT"),
    runner.CRASHED: ("magenta", "CRASHED"),
    runner.OUT_OF_MEMORY: ("magenta", "OUT OF MEMORY"),
    runner.TAMPERED: ("magenta", "CHECKS TAMPERED WITH"),
}


# --------------------------------------------------------------------------- helpers


def _module_state(m: Module, state: dict) -> str:
    entry = state["modules"].get(m.id, {})
    if entry.get("done"):
        return "done"
    path = m.exercise_path()
    if not os.path.lexists(path):
        return "missing"
    try:
        pristine = make_stub(m.solution_path().read_text(encoding="utf-8"))
        current = procs.read_submission(path)
    except (OSError, ValueError):
        return "in progress"
    return "not started" if current == pristine else "in progress"


def _save_progress(result: runner.CheckResult, module: Module, file: str | None = None) -> None:
    """Record a check; a state folder that cannot be written costs a warning, not the result."""
    try:
        progress.record_check(result, module.points, file)
    except OSError as exc:
        console.print(f"[yellow]warning:[/] your progress could not be saved: {escape(str(exc))}")
    from workshop.room import client

    client.report(result)  # the room's page, when joined: queued, sent by another process


def _print_result(result: runner.CheckResult, module: Module, verbose: bool) -> None:
    color, label = STYLE.get(result.status, ("red", result.status))
    title = (
        f"[bold]{module.number:02d} {module.id}[/]  [{color}]{label}[/]  ({result.duration:.1f} s)"
    )
    # Text, not markup: a message quotes attendee values such as [nan, nan].
    console.print(Panel(Text(result.message), title=title, title_align="left", border_style=color))
    if verbose and result.details:
        console.print(result.details, markup=False)
    if result.seed is not None and (verbose or result.status == runner.FAILED):
        console.print(
            f"[dim]inputs drawn with seed {result.seed}: "
            f"`workshop check {module.number} --seed {result.seed}` draws the same ones[/]"
        )


def _resolve_modules(key: str | None) -> list[Module]:
    modules = load_catalog()
    return modules if key in (None, "all") else [find_module(key, modules)]


def _current_module(modules: list[Module]) -> Module:
    state = progress.load()
    for m in modules:
        if _module_state(m, state) != "done":
            return m
    return modules[-1]


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


# --------------------------------------------------------------------------- commands


def cmd_list(args) -> int:
    modules = load_catalog()
    state = progress.load()
    table = Table(title="Deep-learning workshop", title_justify="left")
    for col in ("#", "module", "title", "state", "points", "last check"):
        table.add_column(col)
    earned = total = 0
    colors = {"done": "green", "in progress": "yellow", "not started": "dim", "missing": "red"}
    for m in modules:
        s = _module_state(m, state)
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
            m.id,
            m.title,
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
        _print_result(result, m, args.verbose)
        if target == "exercises":
            _save_progress(result, m, graded)
        worst = worst or (0 if result.ok else 1)
    return worst


def check_exercise(m: Module, use_sandbox: bool = False, seed=None, pending=None):
    """Grade the attendee's exercise: the `.py`, or the notebook if they work there.

    Returns (result, the file graded). `pending` is a judge and worker started
    in advance (`workshop watch`).
    """
    from workshop import notebooks

    choice = notebooks.choose(m)
    problem = None
    if choice.notebook:
        try:
            text = notebooks.notebook_source(choice.path)
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
    if problem is None:
        problem = runner.syntax_check(text, ROOT, choice.display)
    if problem is not None:
        result = problem
        if pending is not None:
            pending.discard()
    elif pending is not None:
        siblings = runner.read_siblings(m, m.exercise_path().parent)
        result = pending.go(text, display=choice.display, siblings=siblings)
    else:
        result = runner.run_checks(
            m, text=text, display=choice.display, sandbox=use_sandbox, seed=seed
        )
    result.module = m.id
    if choice.notebook and text is not None:
        result.message = notebooks.relabel(result.message, choice.display, text)
    if choice.notebook or choice.why:
        why = f" ({choice.why})" if choice.why else ""
        result.message = f"Checked {choice.display}{why}.\n{result.message}"
    return result, choice.display


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


def cmd_hint(args) -> int:
    """The next hint for the part that fails now: a nudge first, code at the end."""
    m = find_module(args.module)
    entry = progress.load()["modules"].get(m.id, {})
    if not entry or entry.get("source_sha256") != _current_text_digest(m):
        with console.status(f"checking {m.id} to see where you are ..."):
            result, graded = check_exercise(m)
        _save_progress(result, m, graded)
        entry = progress.load()["modules"].get(m.id, {})
        if not entry:  # the state folder could not be written: use the result itself
            entry = {
                "status": result.status,
                "failing": next((n for n, o in result.tests.items() if o != "passed"), None),
            }
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


def cmd_run(args) -> int:
    from workshop.demo import run_lesson

    if args.verbose:
        os.environ["WORKSHOP_TF_LOGS"] = "1"  # TensorFlow's own start-up lines too
    m = find_module(args.module)
    out = Path(args.out_dir or f"outputs/{m.id}")
    if not args.solution:
        early = runner.syntax_check(m.exercise_path())
        if early:
            _print_result(early, m, False)
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
        progress.forget(m.id)
    except OSError as exc:
        console.print(f"[yellow]warning:[/] progress not updated: {escape(str(exc))}")
    console.print(f"restored {path} to its untouched stub", markup=False)
    return 0


def _is_wsl() -> bool:
    try:
        return "microsoft" in Path("/proc/version").read_text().lower()
    except OSError:
        return False


class _Ready:
    """One judge and worker kept started for the module checked last: a save skips their start-up."""

    def __init__(self):
        self.pending: runner.PendingCheck | None = None

    def take(self, m: Module) -> runner.PendingCheck:
        pending, self.pending = self.pending, None
        if pending is not None and pending.module.id == m.id and pending.judge.poll() is None:
            return pending
        if pending is not None:
            pending.discard()
        return runner.PendingCheck(m, f"exercises/{m.id}.py", wait=True)

    def prepare(self, m: Module) -> None:
        if self.pending is None:
            self.pending = runner.PendingCheck(m, f"exercises/{m.id}.py", wait=True)

    def discard(self) -> None:
        if self.pending is not None:
            self.pending.discard()
            self.pending = None


def _saved_modules(changes, modules: list[Module]) -> list[tuple[Module, str]]:
    """The lessons whose file (script or notebook) was saved, with that file, in order."""
    found: dict[str, tuple[Module, str]] = {}
    for _change, path in changes:
        path = Path(path)
        if path.suffix not in (".py", ".ipynb"):
            continue  # an editor's backup or swap file
        try:
            m = find_module(path.name, modules)
        except ValueError:
            continue
        folder = "notebooks/exercises" if path.suffix == ".ipynb" else "exercises"
        found[m.id] = (m, f"{folder}/{path.name}")
    return list(found.values())


def cmd_watch(args) -> int:
    from watchfiles import watch

    modules = load_catalog()
    fixed = find_module(args.module, modules) if args.module else None
    poll = args.poll or _is_wsl()
    ready = _Ready()

    def stop(_signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)  # a terminal closing: clean up like Ctrl-C

    def check(m: Module, why: str, display: str) -> None:
        console.clear()
        console.print(
            f"[bold]workshop watch[/]: checking {display} ({why} {time.strftime('%H:%M:%S')}); "
            "save any exercise to check it, Ctrl-C to stop",
            highlight=False,
        )
        result, graded = check_exercise(m, pending=ready.take(m))
        _print_result(result, m, args.verbose)
        _save_progress(result, m, graded)
        if result.ok and not fixed:
            nxt = _current_module(modules)
            if nxt.id != m.id:
                console.print(f"[green]next up:[/] exercises/{nxt.id}.py")
        ready.prepare(m)  # the next save of this file starts at once

    try:
        if fixed:
            check(fixed, "started", f"exercises/{fixed.id}.py")
        else:
            current = _current_module(modules)
            console.print(
                f"[bold]workshop watch[/]: watching exercises/ — save a lesson file to check it "
                f"(next up: exercises/{current.id}.py); Ctrl-C to stop"
            )
            ready.prepare(current)
        folders = [ROOT / "exercises", ROOT / "notebooks" / "exercises"]
        folders[1].mkdir(parents=True, exist_ok=True)
        for changes in watch(
            *folders, debounce=400, force_polling=poll, poll_delay_ms=500, recursive=False
        ):
            for m, path in _saved_modules(changes, modules):
                if fixed is None or m.id == fixed.id:
                    check(m, "saved", path)
    except KeyboardInterrupt:
        pass
    finally:
        ready.discard()
    return 0


def cmd_env(args) -> int:
    if args.verbose:
        os.environ["WORKSHOP_TF_LOGS"] = "1"  # TensorFlow's own start-up lines too
    rows = []

    def add(name, ok, detail, required=True):
        rows.append((name, "OK" if ok else ("FAIL" if required else "INFO"), detail))

    v = sys.version_info
    add("Python", v >= (3, 11), f"{v.major}.{v.minor}.{v.micro} (need 3.11+)")
    try:
        from workshop import gpu

        tf = gpu._tf()
        add("TensorFlow", True, tf.__version__)
        import keras

        add("Keras 3", keras.__version__.startswith("3."), keras.__version__)
        gpus = gpu.physical_devices("GPU")
        add("GPU", bool(gpus), f"{len(gpus)} found" if gpus else "none: the CPU will do", False)
    except Exception as exc:  # report, never crash the check
        add("TensorFlow", False, f"{type(exc).__name__}: {exc}")
    from workshop import data

    for source, cached, where in data.status():
        add(
            f"data: {source.key}",
            cached,
            f"cached in {where}" if cached else "not cached: `workshop data fetch`",
            False,
        )
    try:
        import matplotlib

        from workshop import plotting

        fig = plotting.curves({"x": [1, 2]})
        import io

        fig.savefig(io.BytesIO(), format="png")
        add("Plotting", True, f"matplotlib {matplotlib.__version__}, PNG output works")
    except Exception as exc:
        add("Plotting", False, f"{type(exc).__name__}: {exc}")
    from workshop.room import client

    room = client.joined()
    if room is not None:
        waiting = len(client.read_queue())
        add(
            "room",
            waiting == 0,
            f"joined {room['url']} as {room['name']}; {waiting} check(s) waiting to be sent",
            False,
        )
    table = Table(title="workshop env")
    for col in ("part", "state", "detail"):
        table.add_column(col)
    color = {"OK": "green", "FAIL": "red", "INFO": "yellow"}
    for name, state, detail in rows:
        table.add_row(name, f"[{color[state]}][{state}][/]", Text(detail))
    console.print(table)
    return 1 if any(s == "FAIL" for _, s, _ in rows) else 0


def cmd_data(args) -> int:
    from workshop import data

    try:
        if args.action == "fetch":
            failed = 0
            for key in [args.name] if args.name else list(data.SOURCES):
                try:
                    paths = data.fetch(key)
                    console.print(f"[green]OK[/] {key}: {paths[0].parent}")
                except data.DataUnavailableError as exc:
                    failed += 1
                    console.print(f"FAIL {key}:\n{exc}", markup=False, soft_wrap=True)
            return 1 if failed else 0
        if args.action == "status":
            for source, cached, where in data.status():
                console.print(
                    f"{'[green]cached[/]' if cached else '[yellow]missing[/]'}  {source.key:<14} {where}"
                )
            return 0
        if args.action == "pack":
            path = data.pack(args.file or "workshop-data.tar.gz")
            console.print(f"wrote {path}: copy it, then `workshop data unpack {path.name}`")
            return 0
        if args.action == "unpack":
            if not args.file:
                raise ValueError(
                    "workshop data unpack needs the archive: workshop data unpack FILE"
                )
            found = data.unpack(args.file)
            console.print(f"unpacked into {data.cache_dir()}: {', '.join(found)}")
            return 0
    except (data.DataUnavailableError, ValueError) as exc:
        console.print(str(exc), markup=False, soft_wrap=True)
        return 1
    return 2


def cmd_verify(args) -> int:
    from workshop.grading.verify import verify

    verdicts, general = verify(
        only=[find_module(k).id for k in args.modules] or None,
        progress=lambda m: console.print(f"[dim]verifying {m.id} ...[/]"),
    )
    table = Table(title="workshop verify")
    for col in ("module", "solution", "untouched stub", "problems"):
        table.add_column(col)
    for v in verdicts:
        table.add_row(
            v.module,
            v.solution,
            v.stub,
            "[green]none[/]" if v.ok else Text("; ".join(v.problems), style="red"),
        )
    console.print(table)
    for p in general:
        console.print(f"[red]problem:[/] {escape(p)}")
    bad = general or [v for v in verdicts if not v.ok]
    console.print("[red]verify failed[/]" if bad else "[green]verify passed[/]")
    return 1 if bad else 0


def cmd_demo(args) -> int:
    from workshop.demo import run_demo

    out = Path(args.out_dir)
    os.environ["WORKSHOP_OFFLINE"] = (
        "1" if not args.online else os.environ.get("WORKSHOP_OFFLINE", "")
    )
    console.print(
        f"workshop demo: every lesson's solution, {'quick' if not args.full else 'full'} mode -> {out}/"
    )
    started = time.perf_counter()
    rows = run_demo(
        out,
        quick=not args.full,
        on_start=lambda m: console.print(f"[dim]running {m.id} ...[/]"),
        on_done=lambda r: console.print(f"  {r.module}: {r.status} in {r.seconds:.1f} s"),
        jobs=args.jobs,
    )
    table = Table(title="workshop demo")
    for col in ("lesson", "status", "key result", "time", "figures"):
        table.add_column(col)
    for r in rows:
        color = "green" if r.status == "ok" else "red"
        table.add_row(
            r.module,
            f"[{color}]{r.status}[/]",
            Text(r.headline),
            f"{r.seconds:.1f} s",
            str(len(r.figures)),
        )
    console.print(table)
    console.print(
        f"{len(rows)} lessons in {time.perf_counter() - started:.0f} s; "
        f"figures and metrics in {out}/ (summary.md, summary.json)"
    )
    return 0 if all(r.status == "ok" for r in rows) else 1


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
    console.print("open them with: jupyter lab notebooks/")
    return 0 if built else 1


def cmd_tensorboard(args) -> int:
    from workshop import distributed

    if args.logdir:
        logdir = Path(args.logdir)
    elif args.module:
        m = find_module(args.module)
        logdir = ROOT / "outputs" / m.id / "logs"
    else:
        logdir = ROOT / "outputs"
    if not logdir.exists():
        console.print(
            f"no logs in {logdir} yet: run a lesson first (`workshop run 6 --solution --quick`)",
            markup=False,
        )
        return 1
    port = args.port or distributed.free_ports(1)[0]
    console.print(
        f"TensorBoard on http://127.0.0.1:{port}/ for {logdir} (only this machine can open it; "
        "Ctrl-C stops)",
        markup=False,
    )
    command = [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--reload_interval", "5"]
    from workshop.grading import procs

    # TensorBoard dies with this command, however it ends (Ctrl-C, SIGTERM, a
    # killed terminal): an orphan would keep the port and a core busy.
    server = subprocess.Popen(
        command, preexec_fn=procs.die_with_parent if os.name == "posix" else None
    )
    previous = signal.signal(signal.SIGTERM, lambda *_: server.terminate())
    try:
        return server.wait()
    except KeyboardInterrupt:
        server.terminate()
        server.wait(timeout=20)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


def cmd_cluster(args) -> int:
    from workshop import distributed

    m = find_module(args.module)
    script = m.solution_path() if args.solution else m.exercise_path()
    out = Path(args.out_dir or f"outputs/cluster/{m.id}")
    if not out.is_absolute():
        out = ROOT / out
    out.mkdir(parents=True, exist_ok=True)
    extra = (["--quick"] if args.quick else []) + (["--offline"] if args.offline else [])
    console.print(
        f"{args.workers} local workers on loopback ports train {script.relative_to(ROOT)} "
        f"together (TF_CONFIG set for each); logs in {out}/worker-N.log",
        markup=False,
    )
    results = distributed.launch(script, args.workers, extra, out, timeout=args.timeout)
    digests = set()
    for i, (code, output) in enumerate(results):
        tail = [ln for ln in output.splitlines() if ln.startswith(f"[worker {i}]")][-3:]
        metrics = out / f"worker-{i}" / "metrics.json"
        digest = None
        if metrics.exists():
            digest = json.loads(metrics.read_text()).get("weights_sha256")
        digests.add(digest)
        state = "ok" if code == 0 else f"failed (exit {code})"
        console.print(f"worker {i}: {state}; final weights {digest}", markup=False)
        for line in tail:
            console.print(f"    {line}", markup=False)
        if code != 0:
            console.print(output[-1500:], markup=False)
    same = len(digests) == 1 and None not in digests
    ok = all(code == 0 for code, _ in results) and same
    console.print(
        "[green]all workers ended with the same weights[/]"
        if same
        else "[red]the workers' weights differ (or a worker failed)[/]"
    )
    return 0 if ok else 1


def attendee_name(given: str | None = None) -> str:
    """Who this is: --name, else $WORKSHOP_NAME, else the login name."""
    if given:
        return given
    if os.environ.get("WORKSHOP_NAME"):
        return os.environ["WORKSHOP_NAME"]
    try:
        import getpass

        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        return "unknown"


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


def cmd_grade(args) -> int:
    from workshop.grading import grade

    folder = Path(args.folder)
    if not folder.is_dir():
        console.print(
            f"expected a folder with one sub-folder per attendee, got {folder}", markup=False
        )
        return 1
    use_sandbox = not args.no_sandbox
    if use_sandbox:
        ok, why = sandbox.available()
        if not ok:
            console.print(
                f"[red]workshop grade refuses to run without its sandbox[/]: {why}.\n"
                f"{sandbox.INSTALL_HINT}\nTo grade anyway, trusting every submission, add "
                "--no-sandbox."
            )
            return 2
    else:
        console.print(
            "[bold red]WARNING: grading WITHOUT the sandbox.[/] Submissions run as you, can read "
            "the solutions, the checks and each other, and reach the network. Every process they "
            "start is still killed after each check, and changed grading files are restored, but "
            "only the sandbox makes the grades trustworthy."
        )
    out = Path(args.output) if args.output else folder / "grades.csv"
    jobs = args.jobs or os.cpu_count() or 1

    def report(name, row, reused):
        tag = " (unchanged since the last run)" if reused else ""
        console.print(f"{name}: {row['points']}/{row['max_points']} points{tag}", markup=False)

    console.print(
        f"grading {folder} with {jobs} worker(s){'' if use_sandbox else ', no sandbox'} -> {out}",
        markup=False,
    )
    rows = grade.grade_folder(
        folder,
        out,
        jobs=jobs,
        sandbox=use_sandbox,
        force=args.force,
        timeout=args.timeout,
        on_attendee=report,
    )
    console.print(f"wrote {out} ({len(rows)} attendees)", markup=False)
    return 0


def cmd_serve(args) -> int:
    import sqlite3

    from workshop.room import server

    if not 1 <= args.port <= 65535:
        raise ValueError(f"--port: expected 1 to 65535, got {args.port}")
    if not 0 < args.stuck_minutes <= 600:
        raise ValueError(
            f"--stuck-minutes: expected more than 0 and at most 600, got {args.stuck_minutes}"
        )
    busy = server.port_free(args.host, args.port)
    if busy:
        console.print(
            f"cannot listen on {args.host}:{args.port} ({busy}): is a server running already? "
            "--port picks another",
            markup=False,
        )
        return 2
    db = Path(args.db) if args.db else progress.state_file().parent / "room.sqlite3"

    def log(r: dict) -> None:
        # Plain print: a rich line costs ~0.4 ms, a third of what storing a record does.
        # Names and messages were checked to hold no control characters.
        when = time.strftime("%H:%M:%S", time.localtime(r["received"]))
        print(f"{when} {r['attendee']}: {r['module']} {r['outcome']} {r['passed']}/{r['total']}")

    try:
        room = server.RoomServer(
            db, stuck_minutes=args.stuck_minutes, renew=args.new_token, log=log
        )
    except (OSError, sqlite3.Error) as exc:
        console.print(
            f"cannot keep the room's records in {db}: {exc}. --db picks another file "
            "(a new file starts an empty room with a new token).",
            markup=False,
        )
        return 2
    local = args.host in ("127.0.0.1", "localhost", "::1")
    # Listening on every interface: the join line shows this machine's address in the room.
    shown = server.lan_address() if args.host in ("0.0.0.0", "::") else args.host
    url = f"http://[{shown}]:{args.port}" if ":" in shown else f"http://{shown}:{args.port}"
    console.print(
        f"[bold]Room server[/] on {url} (records kept in {escape(str(db))}; {room.stored} so far)",
        soft_wrap=True,
    )
    # Whole lines, never wrapped: they are copied and pasted.
    console.print(
        f"Instructor page (keep this link to yourself): {url}/?key={room.key}",
        markup=False,
        soft_wrap=True,
    )
    console.print("Attendees run:", markup=False)
    console.print(
        f'  workshop join {url} --token {room.token} --name "Your Name"',
        markup=False,
        soft_wrap=True,
    )
    if local:
        console.print(
            "[dim]Only this machine can reach it; `--host 0.0.0.0` opens it to the room's "
            "network (see README, 'The room at a glance').[/]"
        )
    console.print("[dim]Ctrl-C stops it; started again, it keeps its records, token and key.[/]")
    server.run(room, args.host, args.port)
    return 0


def cmd_join(args) -> int:
    from workshop.room import client

    console.print(client.join(args.url, args.token, attendee_name(args.name)), markup=False)
    return 0


def cmd_leave(args) -> int:
    from workshop.room import client

    console.print(client.leave(), markup=False)
    return 0


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    from workshop import __version__

    p = argparse.ArgumentParser(prog="workshop", description="Hands-on deep-learning workshop.")
    p.add_argument("--version", action="version", version=f"workshop {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("list", help="every module with its state and points")
    s.set_defaults(func=cmd_list)

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

    s = sub.add_parser("hint", help="the next hint for a module")
    s.add_argument("module")
    s.set_defaults(func=cmd_hint)

    s = sub.add_parser("run", help="run a lesson: prints what it learned, saves its figures")
    s.add_argument("module")
    s.add_argument("--solution", action="store_true", help="run the reference solution")
    s.add_argument("--quick", action="store_true", help="tiny settings: seconds")
    s.add_argument("--offline", action="store_true", help="never download: cache or stand-in")
    s.add_argument("--out-dir", help="default outputs/<module>")
    s.add_argument("-v", "--verbose", action="store_true", help="TensorFlow's start-up log too")
    s.set_defaults(func=cmd_run)

    s = sub.add_parser("watch", help="check each exercise you save, as soon as you save it")
    s.add_argument("module", nargs="?", help="only this module (default: whichever file is saved)")
    s.add_argument("--poll", action="store_true", help="poll (network drives; automatic on WSL)")
    s.add_argument("-v", "--verbose", action="store_true")
    s.set_defaults(func=cmd_watch)

    s = sub.add_parser("reset", help="restore a module's stub (your file is backed up first)")
    s.add_argument("module")
    s.set_defaults(func=cmd_reset)

    s = sub.add_parser("env", help="[OK]/[FAIL] for everything the workshop needs")
    s.add_argument("-v", "--verbose", action="store_true", help="TensorFlow's start-up log too")
    s.set_defaults(func=cmd_env)

    s = sub.add_parser("data", help="fetch, inspect, pack or unpack the data cache")
    s.add_argument("action", choices=["fetch", "status", "pack", "unpack"])
    s.add_argument("file", nargs="?", help="pack: archive to write; unpack: archive to read")
    s.add_argument("--name", help="fetch only this data set")
    s.set_defaults(func=cmd_data)

    s = sub.add_parser("verify", help="maintainers: solutions pass, stubs fail, hints, sync")
    s.add_argument("modules", nargs="*")
    s.set_defaults(func=cmd_verify)

    s = sub.add_parser("demo", help="run every lesson's solution quickly, offline; summary table")
    s.add_argument("--out-dir", default="outputs/demo")
    s.add_argument("--full", action="store_true", help="full settings instead of quick")
    s.add_argument("--online", action="store_true", help="allow downloads")
    s.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="lessons run at once (default: one per core, at most 4, ~3 GB of memory each)",
    )
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser(
        "notebooks", help="create the Jupyter notebooks that are missing (never overwrites yours)"
    )
    s.add_argument("lessons", nargs="*", help="e.g. ex01 (default: all)")
    s.add_argument("--out-dir", help="default: notebooks/ in the project")
    s.add_argument(
        "--force", action="store_true", help="rebuild existing ones too, after backing them up"
    )
    s.set_defaults(func=cmd_notebooks)

    s = sub.add_parser("tensorboard", help="TensorBoard on the logs lessons write (localhost only)")
    s.add_argument("module", nargs="?", help="one lesson's logs (default: every lesson's)")
    s.add_argument("--logdir", help="another folder of logs")
    s.add_argument("--port", type=int, help="default: a free port")
    s.set_defaults(func=cmd_tensorboard)

    s = sub.add_parser(
        "cluster", help="train a lesson on N local workers (MultiWorkerMirroredStrategy)"
    )
    s.add_argument("module", help="a lesson that trains with the cluster path, e.g. 6 (LeNet)")
    s.add_argument("--workers", type=int, default=2)
    s.add_argument("--solution", action="store_true", help="the reference solution")
    s.add_argument("--quick", action="store_true", help="tiny settings: seconds")
    s.add_argument("--offline", action="store_true", help="never download: cache or stand-in")
    s.add_argument("--out-dir", help="default outputs/cluster/<module>")
    s.add_argument("--timeout", type=float, default=900, help="seconds before workers are stopped")
    s.set_defaults(func=cmd_cluster)

    s = sub.add_parser("report", help="JSON of every module: done, points, last check")
    s.add_argument("-o", "--output")
    s.add_argument("--name", help="your name in the report (default $WORKSHOP_NAME or your login)")
    s.set_defaults(func=cmd_report)

    s = sub.add_parser(
        "grade",
        help="instructors: grade a folder of submissions into a CSV",
        description="Grade each attendee's files in a sandbox (bubblewrap), several at a time. "
        "The CSV has, per module, a status and a one-line reason; it is rewritten after each "
        "attendee, and a re-run skips attendees whose files did not change. Statuses: "
        + "; ".join(f"{k}: {v}" for k, v in STATUS_HELP.items()),
    )
    s.add_argument("folder", help="one sub-folder per attendee holding exNN_*.py files")
    s.add_argument("-o", "--output", help="CSV to write (default FOLDER/grades.csv)")
    s.add_argument("--timeout", type=float, help="seconds per module (default: the catalog's)")
    s.add_argument(
        "-j", "--jobs", type=int, help="checks run at the same time (default: number of cores)"
    )
    s.add_argument("--force", action="store_true", help="grade everyone again, changed or not")
    s.add_argument(
        "--no-sandbox",
        action="store_true",
        help="grade without bubblewrap (trusting every submission; a loud warning)",
    )
    s.set_defaults(func=cmd_grade)

    s = sub.add_parser(
        "serve",
        help="instructors: the room's live page (who is stuck where); prints the join line",
    )
    s.add_argument("--host", default="127.0.0.1", help="0.0.0.0 opens it to the room's network")
    s.add_argument("--port", type=int, default=8765, help="default 8765")
    s.add_argument("--db", help="the SQLite file (default .workshop/room.sqlite3)")
    s.add_argument(
        "--stuck-minutes",
        type=float,
        default=10.0,
        help="highlight whoever is on the same failure this long (default 10)",
    )
    s.add_argument(
        "--new-token",
        action="store_true",
        help="new room token and instructor key (attendees must join again)",
    )
    s.set_defaults(func=cmd_serve)

    s = sub.add_parser("join", help="send each check's outcome (never your code) to the room")
    s.add_argument("url", help="the server's address from the join line, e.g. http://10.0.0.5:8765")
    s.add_argument("--token", required=True, help="the room token from the join line")
    s.add_argument("--name", help="your name on the page (default $WORKSHOP_NAME or your login)")
    s.set_defaults(func=cmd_join)

    s = sub.add_parser("leave", help="stop sending checks to the room")
    s.set_defaults(func=cmd_leave)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
