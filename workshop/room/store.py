"""Where the room's records live (one SQLite file) and what the page is drawn from.

Every accepted record is committed before the server answers, so a record
the client was told is stored survives a restart of the server; a record
sent twice (a retry after a lost answer) is stored once, by its id. `Room`
is the view the page shows, rebuilt from the file at start and kept up to
date record by record: per attendee and module the last outcome, whether it
was ever passed, and how long the same failure has lasted.
"""

from __future__ import annotations

import io
import secrets
import sqlite3
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from workshop.catalog import Module
from workshop.grading import grade, runner
from workshop.room.records import look_alike_keys, unusual_characters

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS attendees (
    name TEXT PRIMARY KEY,
    machine TEXT NOT NULL,  -- SHA-256 of the secret their machine made when they joined
    joined REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    attendee TEXT NOT NULL,
    module TEXT NOT NULL,
    outcome TEXT NOT NULL,
    passed INTEGER NOT NULL,
    total INTEGER NOT NULL,
    message TEXT NOT NULL,
    check_name TEXT,
    duration REAL NOT NULL,
    time TEXT NOT NULL,
    received REAL NOT NULL
);
"""
COLUMNS = ("id", "attendee", "module", "outcome", "passed", "total", "message", "check_name")
COLUMNS += ("duration", "time", "received")
TIMELINE_POINTS = 240  # the progress chart's resolution


def new_secret() -> str:
    """A random token (URL-safe, 24 characters) that never starts with "-".

    The token is pasted after `--token` on the attendee's command line, where
    one that starts with a dash is read as an option ("expected one argument").
    """
    while True:
        value = secrets.token_urlsafe(18)
        if not value.startswith("-"):
            return value


class Store:
    """The SQLite file: records, who holds which name, the room's secrets (kept across restarts)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # WAL: a commit survives a killed process
        self.db.executescript(SCHEMA)

    def secret(self, key: str, renew: bool = False) -> str:
        """A token kept in the file: the same after a restart, unless `renew`."""
        with self._lock:
            row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            if row is not None and not renew:
                return row[0]
            value = new_secret()
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
            return value

    def attendees(self) -> dict[str, str]:
        """name -> the hash of the machine secret that claimed it."""
        with self._lock:
            return dict(self.db.execute("SELECT name, machine FROM attendees").fetchall())

    def drop_silent(self) -> int:
        """Forget the names that never sent a record (joined, never checked); how many."""
        with self._lock:
            cur = self.db.execute(
                "DELETE FROM attendees WHERE name NOT IN (SELECT DISTINCT attendee FROM records)"
            )
            return cur.rowcount

    def claim(self, name: str, machine: str) -> str:
        """Give `name` to `machine` unless another has it; the machine that holds it."""
        with self._lock:
            self.db.execute(
                "INSERT OR IGNORE INTO attendees VALUES (?, ?, ?)", (name, machine, time.time())
            )
            row = self.db.execute("SELECT machine FROM attendees WHERE name = ?", (name,))
            return row.fetchone()[0]

    def add(self, records: list[dict], received: float) -> list[dict]:
        """Store records (already validated) in one transaction; return those that were new."""
        new = []
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for r in records:
                    cur = self.db.execute(
                        "INSERT OR IGNORE INTO records (id, attendee, module, outcome, passed, "
                        "total, message, check_name, duration, time, received) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            r["id"],
                            r["attendee"],
                            r["module"],
                            r["outcome"],
                            r["passed"],
                            r["total"],
                            r["message"],
                            r["check"],
                            r["duration"],
                            r["time"],
                            received,
                        ),
                    )
                    if cur.rowcount:
                        new.append({**r, "received": received})
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        return new

    def count(self) -> int:
        with self._lock:
            return self.db.execute("SELECT COUNT(*) FROM records").fetchone()[0]

    def all(self) -> list[dict]:
        """Every record in the order it arrived (by the server's clock)."""
        with self._lock:
            rows = self.db.execute(
                f"SELECT {', '.join(COLUMNS)} FROM records ORDER BY received, seq"
            ).fetchall()
        out = []
        for row in rows:
            r = dict(zip(COLUMNS, row, strict=True))
            r["check"] = r.pop("check_name")
            out.append(r)
        return out

    def close(self) -> None:
        with self._lock:
            self.db.close()


@dataclass
class Cell:
    """One attendee on one module: the last check, and the failure they may be stuck on."""

    outcome: str
    passed: int
    total: int
    message: str
    check: str | None
    last: float  # when the last check arrived (the server's clock, not the attendee's)
    checks: int = 1
    done_at: float | None = None  # the first time every check passed
    since: float = 0.0  # when the current failure (same check, same outcome) began
    repeats: int = 1  # checks in a row with that failure

    @property
    def failure(self) -> tuple | None:
        return None if self.outcome == runner.PASSED else (self.outcome, self.check)


class Room:
    """The page's view of the records: a grid attendee x module, per-module troubles, progress."""

    def __init__(self, modules: list[Module], stuck_minutes: float = 10.0):
        self.modules = modules
        self.ids = {m.id for m in modules}
        self.stuck_seconds = stuck_minutes * 60
        self.cells: dict[str, dict[str, Cell]] = {}
        self.current: dict[str, str] = {}  # attendee -> the module of their latest check
        self.seen: dict[str, float] = {}
        self.timeline: list[tuple[float, int, int]] = []  # (time, modules done, attendees)
        self.records = 0
        self.done = 0
        self._keys: dict[str, tuple[str, ...]] = {}  # attendee -> their look_alike_keys

    def add(self, r: dict) -> None:
        row = self.cells.setdefault(r["attendee"], {})
        at = r["received"]
        cell = row.get(r["module"])
        if cell is None:
            cell = row[r["module"]] = Cell(
                r["outcome"], r["passed"], r["total"], r["message"], r["check"], at, since=at
            )
        else:
            before = cell.failure
            cell.outcome, cell.passed, cell.total = r["outcome"], r["passed"], r["total"]
            cell.message, cell.check, cell.last = r["message"], r["check"], at
            cell.checks += 1
            if cell.failure is not None and cell.failure == before:
                cell.repeats += 1
            else:
                cell.since, cell.repeats = at, 1
        self.records += 1
        self.current[r["attendee"]] = r["module"]
        self.seen[r["attendee"]] = at
        if r["outcome"] == runner.PASSED and cell.done_at is None:
            cell.done_at = at
            self.done += 1
        point = (at, self.done, len(self.cells))
        if self.timeline and self.timeline[-1][1:] == point[1:]:
            return
        self.timeline.append(point)

    def stuck_for(self, attendee: str, module: str, cell: Cell, now: float) -> float:
        """Minutes stuck on the same failure: re-checked, still failing, still on this module."""
        if cell.failure is None or cell.done_at is not None or cell.repeats < 2:
            return 0.0
        if self.current.get(attendee) != module:
            return 0.0
        lasted = now - cell.since
        return lasted / 60 if lasted >= self.stuck_seconds else 0.0

    def troubles(self, module: str, top: int = 3) -> list[dict]:
        """The most common failures on a module among those who have not passed it.

        An untouched stub is not a failure to explain: not-started cells are left out.
        """
        groups: Counter = Counter()
        messages: dict[tuple, Counter] = {}
        for row in self.cells.values():
            cell = row.get(module)
            if cell is None or cell.done_at is not None or cell.failure is None:
                continue
            if cell.outcome == runner.NOT_STARTED:
                continue
            groups[cell.failure] += 1
            messages.setdefault(cell.failure, Counter())[cell.message] += 1
        out = []
        for (outcome, check), count in groups.most_common(top):
            message = messages[(outcome, check)].most_common(1)[0][0]
            out.append({"count": count, "outcome": outcome, "check": check, "message": message})
        return out

    def look_alikes(self) -> dict[str, list[str]]:
        """attendee -> the others on the page whose names look like theirs (case, script, width)."""
        groups: dict[str, list[str]] = {}
        for name in self.cells:
            keys = self._keys.get(name)
            if keys is None:
                keys = self._keys[name] = look_alike_keys(name)
            for key in keys:
                groups.setdefault(key, []).append(name)
        out: dict[str, set[str]] = {}
        for names in groups.values():
            for name in names if len(names) > 1 else ():
                out.setdefault(name, set()).update(n for n in names if n != name)
        return {
            name: sorted(others, key=lambda n: (n.casefold(), n)) for name, others in out.items()
        }

    def _timeline(self) -> list[list]:
        points = self.timeline
        if len(points) > TIMELINE_POINTS:
            step = len(points) / TIMELINE_POINTS
            points = [points[int(i * step)] for i in range(TIMELINE_POINTS)] + [points[-1]]
        return [[round(t, 1), done, people] for t, done, people in points]

    def snapshot(self, now: float | None = None) -> dict:
        """Everything the page draws, as plain JSON data."""
        now = time.time() if now is None else now
        alike = self.look_alikes()
        people = []

        def order(name: str) -> tuple:  # by name, look-alikes next to each other
            return (min(n.casefold() for n in [name, *alike.get(name, [])]), name.casefold(), name)

        for name in sorted(self.cells, key=order):
            cells = {}
            for module, c in self.cells[name].items():
                cells[module] = {
                    "outcome": c.outcome,
                    "passed": c.passed,
                    "total": c.total,
                    "message": c.message,
                    "check": c.check,
                    "last": round(c.last, 1),
                    "checks": c.checks,
                    "done": c.done_at is not None,
                    "stuck": round(self.stuck_for(name, module, c, now), 1),
                }
            people.append(
                {
                    "name": name,
                    "seen": round(self.seen[name], 1),
                    "current": self.current.get(name),
                    "done": sum(1 for c in self.cells[name].values() if c.done_at is not None),
                    "cells": cells,
                    # Someone passing for someone else, or one person joined twice: worth a look.
                    "looks_like": alike.get(name, []),
                    "unusual": unusual_characters(name) if name in alike else [],
                }
            )
        modules = []
        for m in self.modules:
            cells = [row[m.id] for row in self.cells.values() if m.id in row]
            modules.append(
                {
                    "id": m.id,
                    "number": m.number,
                    "title": m.title,
                    "done": sum(1 for c in cells if c.done_at is not None),
                    "trying": sum(1 for c in cells if c.done_at is None),
                    "troubles": self.troubles(m.id),
                }
            )
        return {
            "now": round(now, 1),
            "records": self.records,
            "stuck_minutes": self.stuck_seconds / 60,
            "modules": modules,
            "attendees": people,
            "timeline": self._timeline(),
        }

    def csv_rows(self) -> list[dict]:
        """Rows in `workshop grade`'s columns: done modules count, as in `workshop list`."""
        max_points = sum(m.points for m in self.modules)
        rows = []
        for name, cells in self.cells.items():
            row = {"attendee": name, "max_points": max_points, "files_sha256": ""}
            points = 0
            for m in self.modules:
                c = cells.get(m.id)
                if c is None:
                    row[m.id], row[f"{m.id}_reason"] = grade.MISSING, "no check reported"
                    continue
                if c.done_at is not None:
                    points += m.points
                    row[m.id] = runner.PASSED
                    when = time.strftime("%H:%M", time.localtime(c.done_at))
                    last = "" if c.outcome == runner.PASSED else f"; last check {c.outcome}"
                    row[f"{m.id}_reason"] = f"every check passed at {when}{last}"
                else:
                    row[m.id], row[f"{m.id}_reason"] = c.outcome, c.message
            row["points"] = points
            rows.append(row)
        return rows

    def csv_text(self) -> str:
        buffer = io.StringIO()
        grade.write_rows(buffer, self.modules, self.csv_rows())
        return buffer.getvalue()


def load(store: Store, modules: list[Module], stuck_minutes: float = 10.0) -> Room:
    """The room as the file has it (after a restart: everything stored before it)."""
    room = Room(modules, stuck_minutes)
    for r in store.all():
        if r["module"] in room.ids:  # a module taken out of the catalog since
            room.add(r)
    return room
