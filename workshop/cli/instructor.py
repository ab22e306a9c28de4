"""Instructors' and maintainers' commands: verify the lessons, demo each solution, grade a class."""

from __future__ import annotations

import os
import time
from pathlib import Path

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from workshop.catalog import find_module
from workshop.cli.common import console
from workshop.grading import sandbox
from workshop.grading.grade import STATUSES as STATUS_HELP


def _add_verify(sub) -> None:
    s = sub.add_parser("verify", help="maintainers: solutions pass, stubs fail, hints, sync")
    s.add_argument("modules", nargs="*")
    s.add_argument(
        "--mutants",
        nargs="?",
        type=int,
        const=0,
        default=None,
        metavar="N",
        help="then grade mutants of each solution (wrong and lazy versions): all of them, or a "
        "fixed sample of N per lesson; goal: every lazy one killed, 95%% of the others",
    )
    s.add_argument(
        "--sample", type=int, default=0, metavar="K", help="which fixed sample (default 0)"
    )
    s.add_argument(
        "--every-lazy",
        action="store_true",
        help="with --mutants N: every lazy mutant, and the sample of N of the others",
    )
    s.add_argument("-j", "--jobs", type=int, default=2, help="mutants graded at once (default 2)")
    s.add_argument("--json", metavar="FILE", help="write the mutation scores as JSON")
    s.set_defaults(func=cmd_verify)


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
    if args.mutants is not None:
        bad = _verify_mutants(args, [find_module(v.module) for v in verdicts]) or bad
    console.print("[red]verify failed[/]" if bad else "[green]verify passed[/]")
    return 1 if bad else 0


def _verify_mutants(args, modules) -> bool:
    """Grade each lesson's mutants; print the scores and every survivor. True when a goal fails."""
    import json

    from workshop.grading import mutants

    def show(o) -> None:
        word = (
            "[green]killed[/]"
            if o.killed
            else ("equivalent" if o.equivalent else "[red]SURVIVED[/]")
        )
        lazy = "lazy " if o.mutant.lazy else ""
        console.print(
            f"  {word} {o.seconds:5.1f} s {lazy}{escape(o.mutant.id[:110])}", highlight=False
        )

    scores = []
    for module in modules:
        console.print(f"[dim]mutants of {module.id} ...[/]")
        scores += mutants.run(
            [module],
            limit=args.mutants or None,
            seed=args.sample,
            jobs=args.jobs,
            progress=show,
            every_lazy=args.every_lazy,
        )
    console.print(mutants.table(scores), markup=False, highlight=False, soft_wrap=True)
    survivors = mutants.report(scores)
    if survivors:
        console.print(survivors, markup=False, highlight=False, soft_wrap=True)
    if args.json:
        Path(args.json).write_text(
            json.dumps({s.module: s.to_dict() for s in scores}, indent=2) + "\n"
        )
    missed = [s.module for s in scores if not s.meets_goal]
    if missed:
        console.print(
            f"[red]mutation goal missed[/] (every lazy mutant killed, {mutants.OTHER_GOAL:.0%} of "
            f"the others) in: {', '.join(missed)}"
        )
    return bool(missed)


def _add_demo(sub) -> None:
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


def _add_grade(sub) -> None:
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
        on_skipped=lambda name, why: console.print(f"not graded: {name}: {why}", markup=False),
    )
    console.print(f"wrote {out} ({len(rows)} attendees)", markup=False)
    return 0


# Each command's name and the function that adds it, with its options, to `workshop`.
COMMANDS = {
    "verify": _add_verify,
    "demo": _add_demo,
    "grade": _add_grade,
}
