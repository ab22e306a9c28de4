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
class Module:
    """One lesson: where its files are and how to grade it."""

    id: str
    title: str
    points: int
    timeout: float
    memory: int
    tf: bool
    hints: tuple[str, ...] = field(default=())

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
        missing = {"id", "title", "points", "timeout", "memory", "tf", "hints"} - set(entry)
        if missing:
            raise ValueError(f"{path.name}: module #{i} lacks {sorted(missing)}")
        if not _ID.match(entry["id"]):
            raise ValueError(f"{path.name}: id must look like 'ex01_topic', got {entry['id']!r}")
        modules.append(
            Module(
                id=entry["id"],
                title=entry["title"],
                points=int(entry["points"]),
                timeout=float(entry["timeout"]),
                memory=int(entry["memory"]),
                tf=bool(entry["tf"]),
                hints=tuple(entry["hints"]),
            )
        )
    ids = [m.id for m in modules]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path.name}: duplicate module ids in {ids}")
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
