"""A pytest plugin the grader loads: one JSON line per check, written as it happens.

Loaded with `-p workshop.grading.plugin --grading-report=FILE`. Lines are
flushed one by one, so a run that dies half-way (os._exit, a kill) still
leaves what it got through. It also notes whether attendee code tampered
with the checks' expectations or the assertion helpers while it ran.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import sys
import traceback
from pathlib import Path

import pytest

MAX_TEXT = 20_000
_GUARDED_BUILTINS = (
    "len",
    "abs",
    "all",
    "any",
    "min",
    "max",
    "sum",
    "isinstance",
    "round",
    "float",
)


def pytest_addoption(parser):
    parser.addoption("--grading-report", default=None, help="JSON-lines file for the grader")
    parser.addoption(
        "--grading-stack-dump",
        default=None,
        help="SECONDS:FILE: write every thread's stack to FILE after SECONDS (shows where a loop hangs)",
    )


def _fingerprint(value) -> str:
    try:
        import numpy as np

        if isinstance(value, np.ndarray):
            return hashlib.sha256(value.tobytes() + str(value.shape).encode()).hexdigest()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, (int, float, str, bytes, bool, type(None))):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_fingerprint(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{"
            + ",".join(f"{k!r}:{_fingerprint(v)}" for k, v in sorted(value.items(), key=repr))
            + "}"
        )
    if callable(value):
        return f"callable:{id(value)}:{id(getattr(value, '__code__', None))}"
    return f"id:{id(value)}"


def _guarded(session) -> dict[str, str]:
    """What attendee code must not change: test-module globals and assertion helpers."""
    marks = {f"builtins.{n}": _fingerprint(getattr(builtins, n)) for n in _GUARDED_BUILTINS}
    marks["builtins.AssertionError"] = f"id:{id(builtins.AssertionError)}"
    marks["pytest.approx"] = _fingerprint(pytest.approx)
    marks["pytest.raises"] = _fingerprint(pytest.raises)
    np = sys.modules.get("numpy")
    if np is not None:
        for name in ("assert_allclose", "assert_array_equal", "assert_array_almost_equal"):
            marks[f"numpy.testing.{name}"] = _fingerprint(getattr(np.testing, name))
        for name in ("allclose", "isclose", "array_equal"):
            marks[f"numpy.{name}"] = _fingerprint(getattr(np, name))
    for item in session.items:
        module = item.module
        for name, value in vars(module).items():
            if not name.startswith("__") and not isinstance(value, type(sys)):
                marks[f"{module.__name__}.{name}"] = _fingerprint(value)
    return marks


class _Reporter:
    def __init__(self, path: str):
        self.path = Path(path)
        self.fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed at session end
        self.before: dict[str, str] = {}

    def write(self, record: dict) -> None:
        self.fh.write(json.dumps(record) + "\n")
        self.fh.flush()

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session):
        self.before = _guarded(session)
        self.write({"event": "collected", "count": len(session.items)})

    def pytest_collectreport(self, report):
        if report.failed:
            self.write(
                {
                    "event": "collect_error",
                    "nodeid": report.nodeid,
                    "text": str(report.longrepr)[:MAX_TEXT],
                }
            )

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        if report.when == "call" or report.outcome != "passed":
            record = {
                "event": "test",
                "nodeid": item.nodeid,
                "name": item.name,
                "when": report.when,
                "outcome": report.outcome,
            }
            if call.excinfo is not None and report.outcome != "passed":
                exc = call.excinfo.value
                chain = []
                while exc is not None and len(chain) < 5:
                    frames = [
                        {"file": f.filename, "line": f.lineno, "func": f.name}
                        for f in traceback.extract_tb(exc.__traceback__)
                    ]
                    chain.append(
                        {"type": type(exc).__name__, "message": str(exc)[:4000], "frames": frames}
                    )
                    exc = exc.__cause__ or exc.__context__
                record["exceptions"] = chain
                record["text"] = str(report.longreprtext)[:MAX_TEXT]
            self.write(record)
        return report

    def pytest_sessionfinish(self, session, exitstatus):
        if self.before:
            after = _guarded(session)
            changed = sorted(k for k, v in self.before.items() if after.get(k) != v)
            if changed:
                self.write({"event": "tampered", "names": changed[:20]})
        self.write({"event": "finished", "exitstatus": int(exitstatus)})
        self.fh.close()


_dump_file = None


def pytest_configure(config):
    global _dump_file
    path = config.getoption("--grading-report")
    if path:
        config.pluginmanager.register(_Reporter(path), "workshop-grading-reporter")
    dump = config.getoption("--grading-stack-dump")
    if dump:
        import faulthandler

        seconds, target = dump.split(":", 1)
        _dump_file = open(target, "w")  # noqa: SIM115 - must stay open until the watchdog fires
        # A watchdog thread, not a signal: attendee code that installs its own
        # SIGALRM handler or blocks signals cannot stop it.
        faulthandler.dump_traceback_later(float(seconds), exit=False, file=_dump_file)
