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
    teaching = labels - {"answers"}  # the closing questions come on top
    if not 3 <= len(teaching) <= 6:
        problems.append(f"has {len(teaching)} TODOs: a lesson for the room has 3 to 6")
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


#: Comparisons a grading check must not make itself: they accept what `expect`
#: refuses (an empty array, a list, a shape broadcast over another).
BARE_COMPARISONS = {
    "approx",
    "allclose",
    "isclose",
    "assert_allclose",
    "assert_almost_equal",
    "assert_array_almost_equal",
    "assert_array_equal",
    "assert_equal",
    "array_equal",
}


def comparison_problems(test_path: Path) -> list[str]:
    """Bare approx/allclose calls in a grading check: checks compare through `expect` only."""
    import ast

    tree = ast.parse(test_path.read_text(encoding="utf-8"))
    problems = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name in BARE_COMPARISONS:
            problems.append(
                f"{test_path.name}, line {node.lineno}: a bare `{name}(...)`: compare through "
                "workshop.grading.expect (it checks the answer's kind and shape first)"
            )
    return problems


def _code(line: str) -> str:
    """A line of code without its comment and its spaces (how a hint may quote it)."""
    return "".join(line.split("#", 1)[0].split()).replace('"', "'")


def hint_leaks(module: Module, root: Path = ROOT) -> list[str]:
    """TODOs whose hints hand over the solution's lines: most of a block, or a one-line block.

    Hints go from the idea, to the formula, to a partial line; never the whole block.
    Lines shorter than 8 characters (`else:`, `return w`) do not count either way.
    """
    from workshop.stubs import solution_blocks

    try:
        blocks = solution_blocks(module.solution_path(root).read_text(encoding="utf-8"))
    except (OSError, MarkerError):
        return []
    problems = []
    for block in blocks:
        todo = next((t for t in module.todos if t.name == block.todo), None)
        if todo is None:
            continue
        hints = _code(" ".join(todo.hints))
        lines = [c for c in map(_code, block.code) if len(c) >= 8]
        given = [c for c in lines if c in hints]
        if lines and (len(given) > len(lines) / 2 or (len(lines) == 1 and given)):
            problems.append(
                f"TODO {todo.name!r}: its hints hand over {len(given)} of the solution's "
                f"{len(lines)} lines (e.g. `{given[0][:60]}`): end at a partial line"
            )
    return problems


def verify_module(module: Module, root: Path = ROOT, solutions: bool = True) -> ModuleVerdict:
    verdict = ModuleVerdict(module.id)
    verdict.problems += hint_problems(module, root)
    verdict.problems += hint_leaks(module, root)
    if module.test_path(root).exists():
        verdict.problems += comparison_problems(module.test_path(root))
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
