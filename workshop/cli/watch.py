"""`workshop watch`: check each exercise as soon as it is saved, by a checker started in advance."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from workshop import ROOT, notebooks, progress
from workshop.catalog import Module, find_module, load_catalog
from workshop.cli.common import check_exercise, console, module_state, print_result, save_progress
from workshop.grading import runner


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
        if path.suffix == ".ipynb" and not notebooks.edited(path, m):
            continue  # only created (`workshop notebooks`), or saved untouched: nothing to grade
        folder = "notebooks/exercises" if path.suffix == ".ipynb" else "exercises"
        found[m.id] = (m, f"{folder}/{path.name}")
    return list(found.values())


def _stamps(m: Module) -> list:
    """When and how big the lesson's script and notebook are (None where one is missing)."""
    stamps = []
    for path in (m.exercise_path(), notebooks.exercise_path(m)):
        try:
            info = path.stat()
            stamps.append((info.st_mtime_ns, info.st_size))
        except OSError:
            stamps.append(None)
    return stamps


def _current_module(modules: list[Module]) -> Module:
    state = progress.load()
    for m in modules:
        if module_state(m, state) != "done":
            return m
    return modules[-1]


def _add_watch(sub) -> None:
    s = sub.add_parser("watch", help="check each exercise you save, as soon as you save it")
    s.add_argument("module", nargs="?", help="only this module (default: whichever file is saved)")
    s.add_argument("--poll", action="store_true", help="poll (network drives; automatic on WSL)")
    s.add_argument(
        "--all-checks",
        action="store_true",
        help="run every check on every save (by default a check that passed is not run again "
        "while nothing it calls has changed)",
    )
    s.add_argument("-v", "--verbose", action="store_true")
    s.set_defaults(func=cmd_watch)


def cmd_watch(args) -> int:
    from watchfiles import watch

    modules = load_catalog()
    fixed = find_module(args.module, modules) if args.module else None
    poll = args.poll or _is_wsl()
    ready = _Ready()
    earlier: dict[str, runner.Earlier] = {}  # each lesson's last check, whose verdicts may stay

    def stop(_signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)  # a terminal closing: clean up like Ctrl-C

    def check(m: Module, why: str, display: str) -> None:
        for _ in range(5):
            before = _stamps(m)
            check_once(m, why, display)
            if _stamps(m) == before:
                return
            # Saved again while it was checked: polling compares whole seconds, so a
            # second save within the same second may never be reported. Check the file
            # as it is now.
            why = "changed while it was checked"

    def check_once(m: Module, why: str, display: str) -> None:
        console.clear()
        console.print(
            f"[bold]workshop watch[/]: checking {display} ({why} {time.strftime('%H:%M:%S')}); "
            "save any exercise to check it, Ctrl-C to stop",
            highlight=False,
        )
        pending = ready.take(m)
        result, graded = check_exercise(
            m, pending=pending, earlier=None if args.all_checks else earlier.get(m.id)
        )
        if result.ok and result.reused and module_state(m, progress.load()) != "done":
            # Every check passes, some by an earlier verdict: points rest on a run of all
            # (once earned, they stay: a module already done needs no confirming).
            print_result(result, m, args.verbose)
            console.print("confirming: every check once more, before the points are recorded")
            pending = ready.take(m)
            result, graded = check_exercise(m, pending=pending)
        if result.checks:  # graded (not refused for a syntax error, say): the next save compares
            earlier[m.id] = pending.earlier(result)
        print_result(result, m, args.verbose)
        save_progress(result, m, graded)
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


# Each command's name and the function that adds it, with its options, to `workshop`.
COMMANDS = {
    "watch": _add_watch,
}
