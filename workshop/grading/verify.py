"""The maintainer check: every solution passes, every stub fails, and the rest is in order."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from workshop import ROOT
from workshop.catalog import Module, load_catalog
from workshop.grading.runner import PASSED, run_checks
from workshop.stubs import MarkerError, sync_exercises, write_stub

MIN_HINTS = 2


@dataclass
class ModuleVerdict:
    module: str
    solution: str = "-"
    stub: str = "-"
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def stray_files(modules: list[Module], root: Path = ROOT) -> list[str]:
    """Lesson files with no catalog entry, and catalog entries with missing files."""
    ids = {m.id for m in modules}
    problems = []
    for folder, pattern, strip in (
        ("solutions", "ex*.py", ""),
        ("exercises", "ex*.py", ""),
        ("tests", "test_ex*.py", "test_"),
    ):
        for path in sorted((root / folder).glob(pattern)):
            if path.stem.removeprefix(strip) not in ids:
                problems.append(f"{folder}/{path.name} is not in the catalog")
    for m in modules:
        for path in (m.solution_path(root), m.exercise_path(root), m.test_path(root)):
            if not path.exists():
                problems.append(f"{path.relative_to(root)} is missing")
    return problems


def hint_problems(module: Module, root: Path = ROOT) -> list[str]:
    """Every TODO has its hints (a nudge first), every check belongs to a TODO."""
    import ast
    import re

    from workshop.stubs import make_stub

    problems = []
    if [t.name for t in module.todos] == ["all"]:  # one group for the whole lesson
        return [
            "its hints are one list for the whole lesson: give each TODO its own "
            "[[module.todo]] (name, checks, hints) in the catalog"
        ]
    try:
        stub = make_stub(module.solution_path(root).read_text(encoding="utf-8"), module.id)
    except (OSError, MarkerError) as exc:
        return [str(exc)]
    labels = {
        m.removesuffix("()") for m in re.findall(r'NotImplementedError\("TODO: (.+?)"\)', stub)
    }
    names = {t.name for t in module.todos}
    for label in sorted(labels - names):
        problems.append(f"the TODO {label!r} has no hints in the catalog")
    for name in sorted(names - labels):
        problems.append(f"the catalog's TODO {name!r} is not in the lesson")
    if not 3 <= len(labels) <= 6:
        problems.append(f"has {len(labels)} TODOs: a lesson for the room has 3 to 6")
    for t in module.todos:
        if len(t.hints) < MIN_HINTS:
            problems.append(f"TODO {t.name!r} has {len(t.hints)} hints, needs {MIN_HINTS}")
        elif "`" in t.hints[0]:
            problems.append(f"TODO {t.name!r}: the first hint should nudge, not show code")
    tree = ast.parse(module.test_path(root).read_text(encoding="utf-8"))
    checks = [
        n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")
    ]
    for check in checks:
        if module.todo_for(check) is None:
            problems.append(f"the check {check} belongs to no TODO in the catalog")
    return problems


def verify_module(module: Module, root: Path = ROOT, solutions: bool = True) -> ModuleVerdict:
    verdict = ModuleVerdict(module.id)
    verdict.problems += hint_problems(module, root)
    if not module.solution_path(root).exists() or not module.test_path(root).exists():
        verdict.problems.append("solution or tests missing")
        return verdict
    if solutions:
        result = run_checks(module, "solutions", root)
        verdict.solution = f"{result.status} ({result.passed}/{result.total})"
        if result.status != PASSED:
            verdict.problems.append(f"solution does not pass: {result.message}")
    with tempfile.TemporaryDirectory(prefix="workshop-stub-") as tmp:
        try:
            write_stub(module.solution_path(root), Path(tmp) / f"{module.id}.py")
            for used in module.uses:  # an attendee's first look: the earlier lessons untouched too
                write_stub(root / "solutions" / f"{used}.py", Path(tmp) / f"{used}.py")
        except MarkerError as exc:
            verdict.problems.append(str(exc))
            return verdict
        result = run_checks(module, tmp, root)
    verdict.stub = f"{result.status} ({result.passed}/{result.total})"
    if result.status == PASSED:
        verdict.problems.append("the untouched stub passes every check")
    biting = [name for name, outcome in result.tests.items() if outcome == "passed"]
    if biting:
        verdict.problems.append(f"checks that pass on the untouched stub: {', '.join(biting)}")
    if result.total == 0:
        verdict.problems.append(f"no checks ran on the stub: {result.message}")
    return verdict


def verify(root: Path = ROOT, only: list[str] | None = None, solutions: bool = True, progress=None):
    """Check every module (or those in `only`); return (verdicts, project-wide problems)."""
    modules = load_catalog()
    general = stray_files(modules, root)
    try:
        sync = sync_exercises(root, write=False)
        general += [f"exercises/{s}.py is out of step with its solution" for s in sync.stale]
        general += [f"exercises/{s}.py is missing" for s in sync.missing]
    except MarkerError as exc:
        general.append(str(exc))
    verdicts = []
    for m in modules:
        if only and m.id not in only:
            continue
        if progress:
            progress(m)
        verdicts.append(verify_module(m, root, solutions))
    return verdicts, general
