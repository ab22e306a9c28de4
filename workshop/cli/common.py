"""What several commands share: the console, grading an exercise, showing and saving a check."""

from __future__ import annotations

import os

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.text import Text

from workshop import ROOT, progress
from workshop.catalog import Module
from workshop.grading import procs, runner
from workshop.stubs import make_stub

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


def module_state(m: Module, state: dict) -> str:
    """The state `workshop list` shows: done, not started, in progress or missing."""
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


def save_progress(result: runner.CheckResult, module: Module, file: str | None = None) -> None:
    """Record a check; a state folder that cannot be written costs a warning, not the result."""
    try:
        progress.record_check(result, module.points, file)
    except OSError as exc:
        console.print(f"[yellow]warning:[/] your progress could not be saved: {escape(str(exc))}")
    from workshop.room import client

    client.report(result)  # the room's page, when joined: queued, sent by another process


def print_result(result: runner.CheckResult, module: Module, verbose: bool) -> None:
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


def check_exercise(m: Module, use_sandbox: bool = False, seed=None, pending=None, earlier=None):
    """Grade the attendee's exercise: the `.py`, or the notebook if they work there.

    Returns (result, the file graded). `pending` is a judge and worker started
    in advance (`workshop watch`); `earlier`, its last check of this lesson
    (verdicts that still hold are kept).
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
                    f"{choice.display} cannot be read as a notebook: {exc}. "
                    + notebooks.FIX.format(key=m.id.split("_")[0]),
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
        result = pending.go(text, display=choice.display, siblings=siblings, earlier=earlier)
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
