"""Exercises are generated from solutions: each marked block becomes a TODO stub.

In a solution, what attendees write sits between `# BEGIN SOLUTION` and
`# END SOLUTION`; the comments just above it are the prompt and stay. The
stub keeps the prompt and replaces the block with
`raise NotImplementedError("TODO: …")` at the block's indentation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from workshop import ROOT

BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
_DEF = re.compile(r"^(\s*)(?:async\s+)?def\s+(\w+)|^(\s*)class\s+(\w+)")


class MarkerError(ValueError):
    """A solution's markers are unbalanced or misplaced."""


def _enclosing(lines: list[str], index: int, indent: int) -> str | None:
    for line in reversed(lines[:index]):
        m = _DEF.match(line)
        if m:
            own = len(m.group(1) if m.group(1) is not None else m.group(3))
            if own < indent:
                return m.group(2) or m.group(4)
    return None


@dataclass(frozen=True)
class Block:
    """One marked block of a solution: what the attendee writes for one TODO."""

    label: str  # the stub's "TODO: <label>" (the enclosing function's name + "()" by default)
    first: int  # line number of its first code line (1-based, after BEGIN)
    last: int  # line number of its last code line (before END)
    indent: int
    code: tuple[str, ...]  # its lines, as written

    @property
    def todo(self) -> str:
        """The catalog's name for this TODO: the label without "()"."""
        return self.label.removesuffix("()")


def _scan(source: str, name: str) -> tuple[list[str], list[Block]]:
    """(the stub's lines, the blocks) of a solution's text; MarkerError when the markers are off."""
    lines = source.splitlines(keepends=True)
    out: list[str] = []
    blocks: list[Block] = []
    start = None
    for i, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped.startswith(BEGIN):
            if start is not None:
                raise MarkerError(f"{name}:{i}: {BEGIN} inside another block")
            indent = len(line) - len(line.lstrip())
            if indent == 0:
                raise MarkerError(f"{name}:{i}: solution blocks must be inside a function")
            func = _enclosing(lines, i - 1, indent)
            what = stripped[len(BEGIN) :].strip(" :-") or (f"{func}()" if func else "this part")
            out.append(f'{" " * indent}raise NotImplementedError("TODO: {what}")\n')
            start = (i, indent, what)
        elif stripped.startswith(END):
            if start is None:
                raise MarkerError(f"{name}:{i}: {END} without {BEGIN}")
            begin, indent, what = start
            code = tuple(ln.rstrip("\n") for ln in lines[begin : i - 1])
            blocks.append(Block(what, begin + 1, i - 1, indent, code))
            start = None
        elif start is None:
            out.append(line)
    if start is not None:
        raise MarkerError(f"{name}: {BEGIN} never closed")
    if not blocks:
        raise MarkerError(f"{name}: no {BEGIN} blocks: nothing for attendees to write")
    return out, blocks


def make_stub(source: str, name: str = "<solution>") -> str:
    """The exercise text for a solution's text."""
    return "".join(_scan(source, name)[0])


def solution_blocks(source: str, name: str = "<solution>") -> list[Block]:
    """The marked blocks of a solution's text, in order."""
    return _scan(source, name)[1]


_STUB = re.compile(r'^\s*raise NotImplementedError\("TODO: (.*)"\)\s*$')


def todos_left(source: str) -> list[tuple[str, int]]:
    """The TODO stubs still in an exercise's text: (what, line number)."""
    return [
        (m.group(1), number)
        for number, line in enumerate(source.splitlines(), 1)
        if (m := _STUB.match(line))
    ]


@dataclass
class SyncReport:
    written: list[str]
    stale: list[str]  # exercise differs from what the solution generates
    missing: list[str]  # solution without exercise
    stray: list[str]  # exercise without solution

    @property
    def in_sync(self) -> bool:
        return not (self.stale or self.missing or self.stray)


def committed(root: Path, relative: str) -> str | None:
    """A file as the last commit has it (None: not in git, or no git here)."""
    import subprocess

    try:
        done = subprocess.run(
            ["git", "-C", str(root), "show", f"HEAD:{relative}"],
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.decode("utf-8") if done.returncode == 0 else None


def sync_exercises(
    root: Path = ROOT, write: bool = True, only: list[str] | None = None, committed_only=False
) -> SyncReport:
    """Regenerate exercises/ from solutions/ (or, with write=False, report differences).

    With `committed_only`, the exercises compared are the committed ones: an
    attendee's working copy, where exercises are being filled in, is in step
    as long as what the repository holds is. Writing keeps a backup of every
    exercise it replaces (`.workshop/backups/`): nobody's work is lost.
    """
    solutions = {p.stem: p for p in sorted((root / "solutions").glob("ex*.py"))}
    exercises = {p.stem: p for p in sorted((root / "exercises").glob("ex*.py"))}
    report = SyncReport([], [], [], sorted(set(exercises) - set(solutions)))
    for stem, sol in solutions.items():
        if only is not None and stem not in only:
            continue
        stub = make_stub(sol.read_text(encoding="utf-8"), str(sol.relative_to(root)))
        target = root / "exercises" / f"{stem}.py"
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if committed_only:
            current = committed(root, f"exercises/{stem}.py")
        if current == stub:
            continue
        if write:
            target.parent.mkdir(exist_ok=True)
            if current is not None:
                _keep(target, root)
            target.write_text(stub, encoding="utf-8")
            report.written.append(stem)
        elif current is None:
            report.missing.append(stem)
        else:
            report.stale.append(stem)
    return report


def _keep(path: Path, root: Path) -> None:
    import shutil
    import time

    backups = root / ".workshop" / "backups"
    backups.mkdir(parents=True, exist_ok=True)
    shutil.copy2(path, backups / f"{path.stem}.{time.strftime('%Y%m%d-%H%M%S')}.py")


def write_stub(solution: Path, target: Path) -> Path:
    """Write the pristine stub of one solution to `target` (used by verify and reset)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        make_stub(solution.read_text(encoding="utf-8"), solution.name), encoding="utf-8"
    )
    return target
