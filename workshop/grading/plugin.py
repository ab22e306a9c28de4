"""The judge's pytest plugin: start the worker early, hand checks their `lesson`, report verdicts.

Loaded by `workshop.grading.judge_main`, which has read the run's settings
(the worker to start, a one-time key) and started the worker before pytest. Each verdict goes to
the report pipe as a JSON line signed with the key, so a line written by
anyone else is noticed. With `wait_go`, the judge starts the worker (and
TensorFlow, where the module needs it) and then waits for a second line,
`go`, before running the checks: `workshop watch` keeps such a pair ready.

Without it (a maintainer running pytest directly, or CI
grading the solutions), the `lesson` fixture starts a worker of its own.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import shutil
import tempfile
from pathlib import Path

import pytest

from workshop.grading import judge, spawn, wire

MAX_TEXT = 20_000
_STATE = pytest.StashKey[dict]()


def pytest_addoption(parser):
    group = parser.getgroup("workshop grading")
    group.addoption(
        "--grading-seed",
        type=int,
        default=None,
        help="seed for the inputs checks draw (default: a fresh one each run)",
    )


# --------------------------------------------------------------------------- report


class Reporter:
    """Signed JSON lines to the runner: verdicts cannot be forged by whoever shares the pipe."""

    def __init__(self, fh, key: bytes):
        self.fh = fh
        self.key = key
        self.seq = 0

    def write(self, record: dict) -> None:
        record = {**record, "seq": self.seq}
        self.seq += 1
        body = json.dumps(record, sort_keys=True)
        mac = hmac.new(self.key, body.encode(), hashlib.sha256).hexdigest()
        try:
            self.fh.write(json.dumps({"body": body, "mac": mac}) + "\n")
            self.fh.flush()
        except OSError:  # the runner is gone: nothing left to tell
            pass


def _frames_of(exc: BaseException) -> list[dict]:
    import traceback

    return [
        {"file": f.filename, "line": f.lineno, "func": f.name, "mine": False}
        for f in traceback.extract_tb(exc.__traceback__)
    ]


def describe(exc: BaseException) -> list[dict]:
    """The exception chain of a failed check, with the worker's own frames where it came from."""
    chain, seen = [], set()
    while exc is not None and id(exc) not in seen and len(chain) < 8:
        seen.add(id(exc))
        if isinstance(exc, wire.RemoteError):
            chain.extend({**entry, "remote": True} for entry in exc.remote_chain)
        else:
            entry = {
                "type": type(exc).__name__,
                "message": str(exc)[:4000],
                "frames": _frames_of(exc),
            }
            if isinstance(exc, judge.WorkerGone):
                entry["worker_exit"] = exc.returncode
            chain.append(entry)
        exc = exc.__cause__ or exc.__context__
    return chain


def format_failure(exc: BaseException, chain: list[dict]) -> str:
    """A failed check as an attendee reads it: their code's frames, then the check's own lines."""
    import linecache
    import traceback

    parts = []
    for entry in reversed([e for e in chain if e.get("remote")]):
        lines = ["In your code (most recent call last):"]
        for f in entry.get("frames", []):
            lines.append(f'  File "{f["file"]}", line {f["line"]}, in {f["func"]}')
        lines.append(f"{entry.get('type')}: {entry.get('message')}")
        parts.append("\n".join(lines))
    checks = ["In the check (most recent call last):"]
    for f in traceback.extract_tb(exc.__traceback__):
        if "/tests/" in f.filename.replace("\\", "/"):
            code = linecache.getline(f.filename, f.lineno).strip()
            checks.append(f'  File "{f.filename}", line {f.lineno}, in {f.name}\n    {code}')
    try:
        message = str(exc)
    except Exception:
        message = "?"
    checks.append(f"{type(exc).__name__}: {message}")
    parts.append("\n".join(checks))
    return "\n\n".join(parts)[-MAX_TEXT:]


class _Verdicts:
    def __init__(self, reporter: Reporter):
        self.reporter = reporter

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session):
        self.reporter.write({"event": "collected", "count": len(session.items)})

    def pytest_collectreport(self, report):
        if report.failed:
            self.reporter.write(
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
                "duration": round(float(report.duration), 3),
                # the lesson's names it asked for: `watch` reruns it when one of them changes
                "uses": sorted(set().union(*(c.used for c in _connections(item.config))))[:500],
            }
            if call.excinfo is not None and report.outcome != "passed":
                record["exceptions"] = describe(call.excinfo.value)
                record["text"] = format_failure(call.excinfo.value, record["exceptions"])
                record["notes"] = notes_of(item.config)
            self.reporter.write(record)
        return report

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session):
        state = session.config.stash[_STATE]
        if state["settings"].get("wait_go"):
            line = state["control"].readline()
            try:
                go = {"go": True} if line.strip() == "go" else json.loads(line)
            except ValueError:
                go = {}
            if not isinstance(go, dict) or go.get("go") is not True:
                pytest.exit("the grader went away", returncode=3)
            if isinstance(go.get("display"), str):
                state["spec"].display = go["display"]
            # Checks whose verdict the runner keeps (`watch`: nothing they reach changed).
            keep = go.get("reuse")
            if isinstance(keep, list) and keep:
                keep = {str(k) for k in keep}
                session.items[:] = [i for i in session.items if i.nodeid not in keep]
        return (yield)

    def pytest_sessionfinish(self, session, exitstatus):
        state = session.config.stash.get(_STATE, None)
        connection = state and state.get("connection")
        if connection is not None:
            connection.close()
        # Every process the worker started dies now, passed or not: this judge is
        # a subreaper, so even detached ones are among its descendants.
        from workshop.grading import procs

        procs.kill_tree(None, state["spec"].env.get(procs.TOKEN_VAR), orphans=True)
        self.reporter.write({"event": "finished", "exitstatus": int(exitstatus)})


# --------------------------------------------------------------------------- notes


def _connections(config) -> list:
    state = config.stash.get(_STATE, None) or {}
    found = list(state.get("local", {}).values())
    if state.get("connection") is not None:
        found.append(state["connection"])
    return found


def notes_of(config) -> dict:
    """What the worker noticed during this check (a None returned, an argument changed)."""
    merged: dict[str, list] = {}
    for connection in _connections(config):
        for kind, entries in connection.notes.items():
            merged.setdefault(kind, []).extend(entries)
    return merged


def pytest_runtest_setup(item):
    for connection in _connections(item.config):
        connection.notes = {}
        connection.used = set()


# --------------------------------------------------------------------------- set-up


def pytest_configure(config):
    state = {"settings": {}, "connection": None, "spec": None}
    config.stash[_STATE] = state
    if spawn.SETTINGS is None:
        return
    settings, state["control"], report = spawn.SETTINGS
    state["settings"] = settings
    reporter = Reporter(report, bytes.fromhex(settings["key"]))
    config.pluginmanager.register(_Verdicts(reporter), "workshop-grading-verdicts")
    reporter.write({"event": "seed", "seed": settings["seed"]})
    spec = judge.WorkerSpec(**settings["spec"])
    state["spec"] = spec
    state["connection"] = judge.Connection(*spawn.PRESTARTED)
    if spec.preload == "tf-now":
        # The judge rebuilds models and computes references with Keras: load it
        # now, while the worker loads TensorFlow too (two processes, two cores).
        import keras  # noqa: F401


def grading_seed(config) -> int:
    """The seed of this run's drawn inputs: given, or fresh (and reported)."""
    state = config.stash[_STATE]
    if "seed" not in state:
        given = config.getoption("--grading-seed")
        state["seed"] = state["settings"].get("seed", given)
        if state["seed"] is None:
            state["seed"] = secrets.randbits(32)
    return state["seed"]


def lesson_for(config, module_id: str, target: str | None):
    """The `lesson` fixture's body: the runner's worker, or one started here."""
    state = config.stash[_STATE]
    if state["connection"] is not None:
        yield judge.load(state["connection"], state["spec"])
        return
    from workshop import ROOT
    from workshop.catalog import find_module
    from workshop.grading.loader import target_dir

    path = target_dir(target, ROOT) / f"{module_id}.py"
    module = find_module(module_id)
    home = tempfile.mkdtemp(prefix="workshop-worker-")
    spec = judge.WorkerSpec(
        lesson_path=str(path),
        module_id=module_id,
        display=_display(path, ROOT),
        preload="tf" if module.tf else "numpy",
        memory_mb=0 if module.tf else module.memory,
        private_dir=home,
    )
    connection = judge.start(spec)
    state.setdefault("local", {})[module_id] = connection
    try:
        yield judge.load(connection, spec)
    finally:
        state["local"].pop(module_id, None)
        connection.close()
        from workshop.grading import procs

        procs.kill_tree(connection.proc.pid)
        shutil.rmtree(home, ignore_errors=True)


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)
