"""The attendee's progress: one small plain JSON file, never inside their exercise files.

Writes go to a unique temporary file renamed over the old one, under a
lock, so two writers never lose each other's entries and a crash never
leaves half a file. A file that cannot be read back (truncated, not JSON,
wrong types) is moved aside to `progress.corrupt-<time>.json` with a
one-line warning, never silently dropped. A module once passed stays done,
with its points, whatever later experiments give; the last result is kept
beside it.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from filelock import FileLock, Timeout

from workshop import ROOT

SCHEMA = 2
LOCK_SECONDS = 15
_ENTRY_TYPES = {
    "status": str,
    "points": int,
    "passed": int,
    "total": int,
    "duration": (int, float),
    "message": str,
    "checked_at": str,
    "done": bool,
    "done_at": str,
    "hints_shown": int,
    "file": str,
    "failing": str,
    "todo": str,
    "source_sha256": str,
    "hints": dict,
}


def warn(message: str) -> None:
    """Where warnings go (the command line replaces this to print them its way)."""
    print(f"warning: {message}", file=sys.stderr)


def state_file() -> Path:
    base = os.environ.get("WORKSHOP_STATE_DIR")
    return (Path(base) if base else ROOT / ".workshop") / "progress.json"


def _empty() -> dict:
    return {"schema": SCHEMA, "modules": {}}


def _valid(data) -> bool:
    if not isinstance(data, dict) or not isinstance(data.get("modules", {}), dict):
        return False
    for name, entry in data.get("modules", {}).items():
        if not isinstance(name, str) or not isinstance(entry, dict):
            return False
        for key, kind in _ENTRY_TYPES.items():
            value = entry.get(key)
            if value is not None and (
                not isinstance(value, kind) or isinstance(value, bool) != (kind is bool)
            ):
                return False
    return True


def _move_aside(path: Path, why: str) -> None:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"progress.corrupt-{stamp}.json")
    n = 1
    while aside.exists():
        aside = path.with_name(f"progress.corrupt-{stamp}-{n}.json")
        n += 1
    try:
        os.replace(path, aside)
        warn(f"{path} could not be read ({why}); kept it as {aside.name} and started afresh")
    except OSError as exc:
        warn(f"{path} could not be read ({why}) nor moved aside ({exc}); ignoring it")


def load() -> dict:
    """The progress, or an empty one (an unreadable file is moved aside, with a warning)."""
    path = state_file()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return _empty()
    except (OSError, UnicodeDecodeError) as exc:
        warn(f"{path} could not be read: {exc}")
        return _empty()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        _move_aside(path, f"not JSON: {exc.msg} at line {exc.lineno}")
        return _empty()
    if not _valid(data):
        _move_aside(path, "unexpected contents")
        return _empty()
    data.setdefault("modules", {})
    data["schema"] = SCHEMA
    return data


def save(data: dict) -> None:
    """Write atomically: a unique temporary file beside the real one, then a rename."""
    path = state_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".progress.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(data, indent=2) + "\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def editing():
    """Load, let the caller change, save: one writer at a time (a lock file beside it)."""
    path = state_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path.with_name("progress.lock")), timeout=LOCK_SECONDS)
    try:
        lock.acquire()
    except Timeout:
        raise OSError(f"{path} is locked by another `workshop` command") from None
    try:
        data = load()
        yield data
        save(data)
    finally:
        lock.release()


def record_check(result, points: int, file: str | None = None) -> None:
    """Remember a module's last check; a module once passed stays done with its points."""
    with editing() as data:
        entry = data["modules"].setdefault(result.module, {})
        entry.update(
            status=result.status,
            passed=result.passed,
            total=result.total,
            duration=round(result.duration, 3),
            message=result.message,
            checked_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        )
        if file:
            entry["file"] = file
        if getattr(result, "backend", None):
            entry["backend"] = result.backend  # the Keras backend the check ran under
        tests = getattr(result, "tests", None) or {}
        failing = next((name for name, outcome in tests.items() if outcome != "passed"), None)
        entry.pop("failing", None)
        entry.pop("todo", None)
        if getattr(result, "todo", None):
            entry["todo"] = result.todo
        if failing is not None:
            entry["failing"] = failing
        elif not result.ok:
            entry["failing"] = "*"  # nothing ran: a syntax error, an import that failed...
        if getattr(result, "source_sha256", None):
            entry["source_sha256"] = result.source_sha256
        if result.ok:
            entry["done"] = True
            entry["points"] = points
            entry.setdefault("done_at", entry["checked_at"])
        elif not entry.get("done"):
            entry["points"] = 0


KEPT_ON_RESET = ("done", "points", "done_at")


def reset(module_id: str) -> None:
    """A module back to its stub: its last check is forgotten, points already earned are not."""
    with editing() as data:
        entry = data["modules"].pop(module_id, None) or {}
        if entry.get("done"):
            data["modules"][module_id] = {k: entry[k] for k in KEPT_ON_RESET if k in entry}


def next_hint(module_id: str, todo: str, available: int) -> int | None:
    """Index of the next hint for one TODO of a module (None when all were shown)."""
    with editing() as data:
        entry = data["modules"].setdefault(module_id, {})
        shown = entry.setdefault("hints", {})
        if not isinstance(shown.get(todo), int):
            shown[todo] = 0
        if shown[todo] >= available:
            return None
        shown[todo] += 1
        return shown[todo] - 1
