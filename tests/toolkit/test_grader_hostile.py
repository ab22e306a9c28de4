"""The grader against hostile attendee code: the right outcome, in time, nothing lost, nothing left.

Every attack is appended to (or replaces part of) ex01's untouched stub or
its solution. Each case asserts: the outcome class expected (never PASSED
for a stub), a bounded time, the attendee's file unchanged, no process left
behind (each attack's processes carry a unique marker), and the project's
tests/ and solutions/ unchanged. The sandboxed cases (bubblewrap) also run
the attacks that reach outside the worker; they skip without bubblewrap
(`.ci/run` installs it, and fails when it cannot).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import resource
import time
import uuid

import psutil
import pytest

from workshop import ROOT
from workshop.catalog import find_module
from workshop.grading import runner
from workshop.stubs import make_stub

from .conftest import edit
from .tools import needs_sandbox

SOLUTION = (ROOT / "solutions" / "ex01_perceptron.py").read_text(encoding="utf-8")
STUB = make_stub(SOLUTION)
MARGIN_S = 8.0  # process start-up and kill; the limits below are the catalog's kind


def _with_body(source: str, first_statement: str) -> str:
    """`source` with `first_statement` run at the start of hardlim()."""
    anchor = '    """1 where x >= 0, else 0. A scalar gives an int, an array an int array."""\n'
    assert anchor in source
    return source.replace(
        anchor, anchor + "".join(f"    {ln}\n" for ln in first_statement.splitlines())
    )


def _prepend(source: str, code: str) -> str:
    """`code` at the top of `source` (after its __future__ import)."""
    future = "from __future__ import annotations\n"
    return source.replace(future, future + code, 1)


# --------------------------------------------------------------------------- what attendees slip into


CLASSIFIED = {
    "syntax_error": (edit(SOLUTION, "def hardlim(x):", "def hardlim(x)"), runner.SYNTAX_ERROR),
    "missing_module": (_prepend(SOLUTION, "import numpyy_not_installed\n"), runner.IMPORT_ERROR),
    "name_error_at_import": (SOLUTION + "\nprint(undefined_name)\n", runner.IMPORT_ERROR),
    "loops_forever": (_with_body(SOLUTION, "while True:\n    pass"), runner.TIMEOUT),
    "os_exit": (_with_body(SOLUTION, "import os\nos._exit(3)"), runner.CRASHED),
    "sys_exit_at_import": (_prepend(SOLUTION, "import sys\nsys.exit(0)\n"), runner.IMPORT_ERROR),
    "raises_memory_error": (_with_body(SOLUTION, "raise MemoryError()"), runner.OUT_OF_MEMORY),
    "allocates_too_much": (
        _with_body(SOLUTION, "junk = bytearray(64 * 2**30)"),
        runner.OUT_OF_MEMORY,
    ),
    "prints_10_mb": (_prepend(SOLUTION, "print('x' * 10_000_000)\n"), runner.PASSED),
    "sigalrm_handler": (
        _with_body(
            SOLUTION,
            "import signal\nsignal.signal(signal.SIGALRM, lambda *a: None)\n"
            "signal.alarm(1)\nwhile True:\n    pass",
        ),
        runner.TIMEOUT,
    ),
    "recursion": (_with_body(SOLUTION, "return hardlim(x)"), runner.ERROR),
    "raises_type_error": (_with_body(SOLUTION, "return x + 'a'"), runner.ERROR),
    "wrong_answer": (
        edit(SOLUTION, "np.where(n >= 0, 1, 0)", "np.where(n > 0, 1, 0)"),
        runner.FAILED,
    ),
    "untouched_stub": (STUB, runner.NOT_STARTED),
    "windows_notepad_bom": ("\ufeff" + SOLUTION, runner.PASSED),
}


# --------------------------------------------------------------------------- attacks on the verdict
# Each is added to the untouched stub: whatever it does, the stub must not pass.

FORGE_REPORT = """
import json as _json, os as _os
def _forge():
    line = _json.dumps({"body": _json.dumps({"event": "finished", "exitstatus": 0, "seq": 0}),
                        "mac": "0" * 64}) + "\\n"
    for _pid in (_os.getppid(), _os.getpid()):
        try:
            fds = _os.listdir(f"/proc/{_pid}/fd")
        except OSError:
            continue
        for _fd in fds:
            try:
                with open(f"/proc/{_pid}/fd/{_fd}", "w") as _f:
                    for _i in range(12):
                        _f.write(_json.dumps({"body": _json.dumps({"event": "test", "outcome": "passed",
                                  "when": "call", "nodeid": f"t::{_i}", "seq": _i}), "mac": "0" * 64}) + "\\n")
                    _f.write(line)
            except Exception:
                pass
    _os._exit(0)
_forge()
"""

ATTACKS = {
    # Replace every collected pytest test function with a no-op (the old grader passed it).
    "gc_replaces_test_functions": """
import gc as _gc
for _o in _gc.get_objects():
    if type(_o).__name__ == "Function" and hasattr(_o, "obj"):
        _o.obj = lambda *a, **k: None
""",
    "patches_pytest_callinfo": """
try:
    import _pytest.runner as _r
    _real = _r.CallInfo.from_call
    _r.CallInfo.from_call = classmethod(lambda cls, func, when, reraise=None: _real(lambda: None, when, reraise))
except Exception:
    pass
""",
    "patches_the_grading_plugin": """
import workshop.grading.plugin as _p, workshop.grading.runner as _run
_p.Reporter.write = lambda self, record: None
_run.classify = lambda *a, **k: None
""",
    "registers_a_pytest_hook": """
import pytest as _pytest
@_pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    out = yield
    out.get_result().outcome = "passed"
""",
    "patches_numpy_testing": """
import numpy.testing as _t
_t.assert_allclose = lambda *a, **k: None
""",
    "forges_the_report": FORGE_REPORT,
    "kills_its_parent": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n",
    "stops_its_parent": "import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)\n",
    "imports_the_solution": "from solutions.ex01_perceptron import *  # noqa\n",
}

# What each attack may end as (never passed): a stub is not started; the rest
# says what the attack did to the run.
ALLOWED = {
    "forges_the_report": {runner.TAMPERED, runner.CRASHED},
    "kills_its_parent": {runner.CRASHED, runner.NOT_STARTED},
    "stops_its_parent": {runner.TIMEOUT, runner.NOT_STARTED, runner.CRASHED},
    "imports_the_solution": {runner.IMPORT_ERROR},
}


def _leftovers(marker: str) -> list[str]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if any(marker in part for part in proc.info["cmdline"] or []):
                found.append(f"{proc.pid}: {' '.join(proc.info['cmdline'])}")
        except psutil.Error:
            pass
    return found


def spawners(marker: str) -> str:
    """Code that leaves processes behind in every way it can: child, fork, new session, daemon."""
    return f"""
import os as _os, subprocess as _sp
_sp.Popen(["sleep", "{marker}1"])
if _os.fork() == 0:
    _os.execv("/bin/sleep", ["sleep", "{marker}2"])
_sp.Popen(["sleep", "{marker}3"], start_new_session=True)
if _os.fork() == 0:
    _os.setsid()
    if _os.fork() == 0:
        _os.execve("/bin/sleep", ["sleep", "{marker}4"], {{}})
    _os._exit(0)
"""


def _digest_tree() -> dict[str, str]:
    out = {}
    for folder in ("tests", "solutions"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def module():
    # Short limits keep this test quick; the catalog's are more generous.
    return dataclasses.replace(find_module("ex01_perceptron"), timeout=8.0, memory=1500)


@pytest.fixture(scope="module")
def repo_before():
    return _digest_tree()


def _grade(module, tmp_path, source: str, use_sandbox: bool):
    path = tmp_path / "ex01_perceptron.py"
    path.write_text(source, encoding="utf-8")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    start = time.perf_counter()
    result = runner.run_checks(module, str(tmp_path), sandbox=use_sandbox)
    elapsed = time.perf_counter() - start
    assert elapsed < module.timeout + MARGIN_S, f"took {elapsed:.1f} s"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before, "the attendee file changed"
    assert result.message and "Traceback" not in result.message
    return result


@pytest.mark.parametrize("case", sorted(CLASSIFIED))
def test_slips_are_classified(case, module, tmp_path):
    source, expected = CLASSIFIED[case]
    result = _grade(module, tmp_path, source, use_sandbox=False)
    assert result.status == expected, (
        f"{case}: expected {expected}, got {result.status}: {result.message}"
    )


@pytest.mark.parametrize(
    "case", ["untouched_stub", "windows_notepad_bom", "os_exit", "sigalrm_handler", "wrong_answer"]
)
def test_the_tcp_transport_of_windows(case, module, tmp_path, monkeypatch):
    # Windows cannot hand sockets to a child: the worker dials the judge back
    # over loopback TCP with a token. The same path, exercised here.
    monkeypatch.setenv("WORKSHOP_TRANSPORT", "tcp")
    source, expected = CLASSIFIED[case]
    result = _grade(module, tmp_path, source, use_sandbox=False)
    assert result.status == expected, result.message
    if case == "sigalrm_handler":
        assert "(in hardlim)" in result.message


def _attack(case, module, tmp_path, repo_before, use_sandbox):
    marker = f"31{uuid.uuid4().int % 10**6:06d}"
    source = _prepend(STUB, spawners(marker) + ATTACKS[case])
    result = _grade(module, tmp_path, source, use_sandbox)
    allowed = ALLOWED.get(case, {runner.NOT_STARTED})
    assert result.status in allowed, f"{case}: got {result.status}: {result.message}"
    assert result.status != runner.PASSED
    time.sleep(0.2)
    assert _leftovers(marker) == [], f"{case} left processes behind"
    assert _digest_tree() == repo_before, "tests/ or solutions/ changed"
    return result


@pytest.mark.parametrize("case", sorted(ATTACKS))
def test_attacks_on_the_verdict(case, module, tmp_path, repo_before):
    _attack(case, module, tmp_path, repo_before, use_sandbox=False)


@needs_sandbox
@pytest.mark.parametrize("case", sorted(ATTACKS))
def test_attacks_on_the_verdict_in_the_sandbox(case, module, tmp_path, repo_before):
    _attack(case, module, tmp_path, repo_before, use_sandbox=True)


SANDBOX_ONLY = {
    # Reaching for the checks, the solutions and the other submissions.
    "rewrites_the_checks": """
import os as _os
_root = _os.readlink(f"/proc/{_os.getppid()}/cwd")
for _p in (f"{_root}/tests/test_ex01_perceptron.py", f"{_root}/solutions/ex01_perceptron.py"):
    try:
        open(_p, "w").write("def test_nothing():\\n    pass\\n")
    except OSError:
        pass
""",
    "kills_every_process_it_sees": """
import os as _os, signal as _signal
for _pid in [int(p) for p in _os.listdir("/proc") if p.isdigit()]:
    if _pid != _os.getpid():
        try:
            _os.kill(_pid, _signal.SIGKILL)
        except OSError:
            pass
""",
    "reaches_the_network": """
import socket as _s
try:
    _s.create_connection(("1.1.1.1", 53), timeout=2)
    raise SystemExit("network reachable")
except OSError:
    pass
""",
}


@needs_sandbox
@pytest.mark.parametrize("case", sorted(SANDBOX_ONLY))
def test_the_sandbox_keeps_the_rest_out_of_reach(case, module, tmp_path, repo_before):
    marker = f"32{uuid.uuid4().int % 10**6:06d}"
    source = _prepend(STUB, spawners(marker) + SANDBOX_ONLY[case])
    result = _grade(module, tmp_path, source, use_sandbox=True)
    assert result.status in (runner.NOT_STARTED, runner.CRASHED), result.message
    time.sleep(0.2)
    assert _leftovers(marker) == []
    assert _digest_tree() == repo_before


def test_messages_point_at_the_line(module, tmp_path):
    path = tmp_path / "ex01_perceptron.py"
    path.write_text(CLASSIFIED["syntax_error"][0], encoding="utf-8")
    result = runner.run_checks(module, str(tmp_path))
    expected_line = CLASSIFIED["syntax_error"][0].splitlines().index("def hardlim(x)") + 1
    assert result.line == expected_line and f"line {expected_line}" in result.message

    path.write_text(CLASSIFIED["raises_type_error"][0], encoding="utf-8")
    result = runner.run_checks(module, str(tmp_path))
    assert "in hardlim" in result.message and "TypeError" in result.message

    path.write_text(CLASSIFIED["sigalrm_handler"][0], encoding="utf-8")
    result = runner.run_checks(dataclasses.replace(module, timeout=4.0), str(tmp_path))
    assert result.status == runner.TIMEOUT and "(in hardlim)" in result.message, result.message


def test_a_timeout_names_the_loop_not_the_function_it_calls(module, tmp_path):
    # train_perceptron never stops; most of the time is spent in perceptron_step,
    # which returns every time: the loop that runs forever is the one to name.
    endless = edit(SOLUTION, "    for epoch in range(1, epochs + 1):", "    while True:")
    assert endless != SOLUTION
    loop_line = endless.splitlines().index("    while True:") + 1
    path = tmp_path / "ex01_perceptron.py"
    path.write_text(endless, encoding="utf-8")
    result = runner.run_checks(dataclasses.replace(module, timeout=6.0), str(tmp_path))
    assert result.status == runner.TIMEOUT, result.message
    assert "(in train_perceptron)" in result.message, result.message
    assert loop_line <= result.line <= loop_line + 10, (result.line, loop_line, result.message)


def test_memory_watchdog_for_tensorflow_modules(tmp_path):
    # TF modules get no address-space limit (TensorFlow reserves huge ranges),
    # so a resident-memory watchdog must stop runaway allocation instead.
    module = dataclasses.replace(find_module("ex01_perceptron"), tf=True, timeout=30.0, memory=700)
    path = tmp_path / "ex01_perceptron.py"
    path.write_text(
        _with_body(
            SOLUTION,
            "import time\nhog = []\nfor _ in range(60):\n    hog.append(bytearray(10**8))\n"
            "    time.sleep(0.02)",
        ),
        encoding="utf-8",
    )
    result = runner.run_checks(module, str(tmp_path))
    assert result.status == runner.OUT_OF_MEMORY, result.message


def test_printing_a_gigabyte_costs_the_grader_nothing(module, tmp_path):
    source = _prepend(
        SOLUTION, "import sys as _sys\nfor _ in range(1024):\n    _sys.stdout.write('x' * 2**20)\n"
    )
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux
    result = _grade(dataclasses.replace(module, timeout=60.0), tmp_path, source, False)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert result.status == runner.PASSED, result.message
    assert grown_mb < 100, f"the grader itself grew by {grown_mb:.0f} MB"
    assert len(result.details) < 300_000


# --------------------------------------------------------------------------- files that are not files


def _fifo(path):
    os.mkfifo(path)


def _dev_zero(path):
    os.symlink("/dev/zero", path)


def _folder(path):
    path.mkdir()


def _sparse(path):
    with open(path, "wb") as fh:
        fh.truncate(100 * 2**30)  # 100 GB, no disk used


def _link_to_solution(path):
    os.symlink(ROOT / "solutions" / "ex01_perceptron.py", path)


def _latin1(path):
    path.write_bytes("# café\n".encode("latin-1") + SOLUTION.encode())


@pytest.mark.parametrize(
    "make",
    [_fifo, _dev_zero, _folder, _sparse, _link_to_solution, _latin1],
    ids=lambda f: f.__name__,
)
def test_only_regular_utf8_files_are_read(make, module, tmp_path):
    make(tmp_path / "ex01_perceptron.py")
    start = time.perf_counter()
    result = runner.run_checks(module, str(tmp_path))
    assert time.perf_counter() - start < 5, "the grader must not block or read it whole"
    assert result.status == runner.UNREADABLE, result.message
    assert "ex01_perceptron.py" in result.message
