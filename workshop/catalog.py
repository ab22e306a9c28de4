"""The ordered list of modules, read from catalog.toml."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from workshop import ROOT

CATALOG_FILE = Path(__file__).with_name("catalog.toml")
_ID = re.compile(r"^ex(\d\d)_[a-z0-9_]+$")


@dataclass(frozen=True)
class Todo:
    """One thing the attendee writes: its checks and its hints, from a nudge to the code."""

    name: str  # the stub's "TODO: <name>" (a function's name, or the block's own label)
    checks: tuple[str, ...]  # grading checks (test function names) that need it
    hints: tuple[str, ...]

    def covers(self, check: str) -> bool:
        """True when the check (e.g. 'test_values[sigmoid]') is one of this TODO's."""
        return check.split("[", 1)[0] in self.checks or "*" in self.checks


@dataclass(frozen=True)
class Module:
    """One lesson: where its files are and how to grade it."""

    id: str
    title: str
    points: int
    timeout: float
    memory: int
    tf: bool
    todos: tuple[Todo, ...] = field(default=())
    uses: tuple[str, ...] = ()  # earlier lessons this one imports (lesson.sibling)

    @property
    def hints(self) -> tuple[str, ...]:
        return tuple(h for t in self.todos for h in t.hints)

    def todo_for(self, check: str, unfinished: str | None = None) -> Todo | None:
        """The TODO to hint at: the unfinished one a check ran into, else the check's own."""
        if unfinished:
            named = next((t for t in self.todos if t.name == unfinished), None)
            if named is not None:
                return named
        return next((t for t in self.todos if t.covers(check)), None)

    @property
    def number(self) -> int:
        return int(_ID.match(self.id).group(1))

    def solution_path(self, root: Path = ROOT) -> Path:
        return root / "solutions" / f"{self.id}.py"

    def exercise_path(self, root: Path = ROOT) -> Path:
        return root / "exercises" / f"{self.id}.py"

    def test_path(self, root: Path = ROOT) -> Path:
        return root / "tests" / f"test_{self.id}.py"


def load_catalog(path: Path = CATALOG_FILE) -> list[Module]:
    """Read and validate the catalog; raise ValueError naming the bad entry."""
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    modules = []
    for i, entry in enumerate(raw.get("module", [])):
        missing = {"id", "title", "points", "timeout", "memory", "tf"} - set(entry)
        if missing or not ("todo" in entry or "hints" in entry):
            raise ValueError(
                f"{path.name}: module #{i} lacks {sorted(missing) or ['todo (with hints)']}"
            )
        if not _ID.match(entry["id"]):
            raise ValueError(f"{path.name}: id must look like 'ex01_topic', got {entry['id']!r}")
        todos = []
        for j, todo in enumerate(entry.get("todo", [])):
            lacking = {"name", "checks", "hints"} - set(todo)
            if lacking:
                raise ValueError(f"{path.name}: {entry['id']} todo #{j} lacks {sorted(lacking)}")
            todos.append(Todo(todo["name"], tuple(todo["checks"]), tuple(todo["hints"])))
        if "hints" in entry:  # a module not yet split into TODOs: one group for every check
            todos.append(Todo("all", ("*",), tuple(entry["hints"])))
        modules.append(
            Module(
                id=entry["id"],
                title=entry["title"],
                points=int(entry["points"]),
                timeout=float(entry["timeout"]),
                memory=int(entry["memory"]),
                tf=bool(entry["tf"]),
                todos=tuple(todos),
                uses=tuple(entry.get("uses", ())),
            )
        )
    ids = [m.id for m in modules]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path.name}: duplicate module ids in {ids}")
    for m in modules:
        unknown = [u for u in m.uses if u not in ids or u == m.id]
        if unknown:
            raise ValueError(f"{path.name}: {m.id} uses {unknown}, which are not other lessons")
    return modules


def find_module(key: str | int, modules: list[Module] | None = None) -> Module:
    """Find a module by number (1, '01'), 'ex01', full id, topic ('perceptron') or file name."""
    modules = load_catalog() if modules is None else modules
    text = str(key).strip().lower().replace("\\", "/").rsplit("/", 1)[-1]
    text = text.removesuffix(".py").removesuffix(".ipynb")
    for m in modules:
        if text.isdigit() and int(text) == m.number:
            return m
        if text in (m.id, m.id.split("_", 1)[1], m.id.split("_", 1)[0]):
            return m
    choices = ", ".join(f"{m.number} ({m.id})" for m in modules)
    raise ValueError(f"no module {key!r}; expected one of: {choices}")
