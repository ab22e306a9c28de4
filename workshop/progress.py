"""The attendee's progress: one small plain JSON file, never inside their exercise files."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from workshop import ROOT

SCHEMA = 1


def state_file() -> Path:
    base = os.environ.get("WORKSHOP_STATE_DIR")
    return (Path(base) if base else ROOT / ".workshop") / "progress.json"


def load() -> dict:
    path = state_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {"schema": SCHEMA, "modules": {}}
    data.setdefault("modules", {})
    return data


def save(data: dict) -> None:
    path = state_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def record_check(result, points: int) -> None:
    """Remember the last check of a module (what `workshop list` and `report` show)."""
    data = load()
    entry = data["modules"].setdefault(result.module, {})
    entry.update(
        status=result.status,
        points=points if result.ok else 0,
        passed=result.passed,
        total=result.total,
        duration=round(result.duration, 3),
        message=result.message,
        checked_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )
    if result.ok:
        entry["done"] = True
    save(data)


def next_hint(module_id: str, available: int) -> int:
    """Index of the hint to show now (advances each call, stays on the last)."""
    data = load()
    entry = data["modules"].setdefault(module_id, {})
    shown = int(entry.get("hints_shown", 0))
    index = min(shown, available - 1)
    entry["hints_shown"] = min(shown + 1, available)
    save(data)
    return index
