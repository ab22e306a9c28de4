"""Grade one module: a judge process makes the verdicts, a worker process runs the attendee's code.

The runner (this module, in the `workshop` command) starts the judge —
pytest with the grading checks and `workshop.grading.plugin` — which starts
the worker. Attendee code runs only in the worker (under bubblewrap with
`sandbox=True`); the judge asks it for values and asserts on them. The
runner reads the judge's signed verdicts from a pipe, keeps only the tail
of anything printed, enforces the time and memory limits, kills every
process of the check when it ends (passed or not), and explains the
outcome in one paragraph that points at the file and line.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from workshop import ROOT
from workshop import backend as keras_backend
from workshop.catalog import Module
from workshop.grading import procs, reuse
from workshop.grading.explain import numpy_message
from workshop.grading.loader import target_dir
from workshop.grading.spawn import MAX_FILE_MB, WorkerSpec

# Outcome classes, in the order an attendee meets them.
PASSED = "passed"
NOT_STARTED = "not_started"
FAILED = "failed"
ERROR = "error"
IMPORT_ERROR = "import_error"
SYNTAX_ERROR = "syntax_error"
UNREADABLE = "unreadable"
TIMEOUT = "timeout"
CRASHED = "crashed"
OUT_OF_MEMORY = "out_of_memory"
TAMPERED = "tampered"

_LIVE_JUDGES: set[int] = set()  # judges of checks running now (`grade` runs several)
_LIVE_LOCK = threading.Lock()
JUDGE_MEMORY_MB = 6000  # the judge rebuilds models and computes references; far above need
STACK_INTERVAL = 1.0  # seconds between the worker's stack dumps (for where a timeout was)


@dataclass
class CheckResult:
    """The outcome of grading one module."""

    module: str
    status: str
    message: str
    passed: int = 0
    total: int = 0
    duration: float = 0.0
    file: str | None = None
    line: int | None = None
    tests: dict[str, str] = field(default_factory=dict)  # check name -> outcome
    seed: int | None = None  # the seed of the inputs the checks drew
    source_sha256: str | None = None  # of the text graded (hints know whether it changed since)
    todo: str | None = None  # the unfinished TODO the first failure ran into, if any
    details: str = ""  # everything, for -v
    # the Keras backend the judge and the worker ran under (they inherit KERAS_BACKEND)
    backend: str = field(default_factory=lambda: keras_backend.name())
    # each check that reported (pytest's id -> outcome, seconds, the lesson's names it used)
    checks: dict[str, dict] = field(default_factory=dict)
    reused: int = 0  # passed checks `watch` did not run again: nothing they reach changed

    @property
    def ok(self) -> bool:
        return self.status == PASSED

    @property
    def reason(self) -> str:
        """The message's first sentence, on one line (for a CSV cell)."""
        text = " ".join(self.message.split())
        m = re.match(r"(.+?[.!?])(\s|$)", text)
        return (m.group(1) if m else text)[:300]

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("details")
        return d


def _rel(path: str | Path, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def syntax_check(path_or_text: Path | str, root: Path = ROOT, display: str | None = None):
    """Compile without running; a SyntaxError (or an unreadable file) becomes a result."""
    if isinstance(path_or_text, Path):
        display = display or _rel(path_or_text, root)
        try:
            source = procs.read_submission(path_or_text)
        except procs.UnreadableSubmission as exc:
            return CheckResult(path_or_text.stem, UNREADABLE, str(exc), file=display)
    else:
        source = path_or_text
    stem = Path(display or "lesson").stem
    try:
        compile(source, display or "<lesson>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        where = f"{display}, line {exc.lineno}"
        text = (exc.text or "").rstrip("\n")
        caret = ""
        if text and exc.offset:
            stripped = text.lstrip()
            caret = f"\n        {stripped}\n        {' ' * max(exc.offset - 1 - (len(text) - len(stripped)), 0)}^"
        return CheckResult(
            stem,
            SYNTAX_ERROR,
            f"Python cannot read {where}: {exc.msg}.{caret}\nNothing was run. Fix that line"
            + (
                " (look at the line above it too: an unclosed bracket shows up one line late)."
                if "never closed" in exc.msg or "invalid syntax" in exc.msg or "expected" in exc.msg
                else "."
            ),
            file=display,
            line=exc.lineno,
        )
    except ValueError as exc:  # e.g. "source code string cannot contain null bytes"
        return CheckResult(stem, UNREADABLE, f"{display} cannot be compiled: {exc}", file=display)
    return None


# --------------------------------------------------------------------------- classification


def _attendee_frame(chain: list[dict]) -> tuple[int | None, str | None]:
    """The innermost frame in the attendee's own file: (line, function)."""
    for exc in chain:
        best = (None, None)
        for f in exc.get("frames", []):
            if f.get("mine"):
                best = (f["line"], f["func"])
        if best[0] is not None:
            return best
    return None, None


def _dumps(stacks: str) -> list[list[tuple[str, int, str]]]:
    """The worker's stack dumps, each as frames (file, line, function), outermost first."""
    blocks = re.split(r"(?m)^(?=Thread 0x|Current thread|Stack \(most recent call first\))", stacks)
    pattern = re.compile(r'File "(.+)", line (\d+) in (\S+)')
    dumps = []
    for block in blocks:
        frames = [(m.group(1), int(m.group(2)), m.group(3)) for m in pattern.finditer(block)]
        if frames:
            dumps.append(frames[::-1])  # dumps list the innermost frame first
    return dumps


def _loops(source: str) -> list[tuple[int, int]]:
    """(first line, last line) of every `for` and `while` statement in the attendee's file."""
    import ast

    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    return [
        (node.lineno, node.end_lineno or node.lineno)
        for node in ast.walk(tree)
        if isinstance(node, (ast.For, ast.While, ast.AsyncFor))
    ]


def stuck_at(stacks: str, lesson_path: str, source: str = "") -> tuple[int | None, str | None]:
    """Where a timed-out check was stuck: the attendee's innermost loop that was running.

    Of the frames in the attendee's file that were active on the last two
    stack dumps (the same calls, outermost first), the innermost one whose
    lines on both dumps lie inside one `for`/`while` statement: the loop
    that did not end. Failing that, the innermost frame in their file on the
    last dump.
    """
    dumps = _dumps(stacks)
    if not dumps:
        return None, None
    last = dumps[-1]
    mine_last = [f for f in last if f[0] == lesson_path]
    fallback = (mine_last[-1][1], mine_last[-1][2]) if mine_last else (None, None)
    if len(dumps) < 2 or not source:
        return fallback
    before, loops = dumps[-2], _loops(source)
    common = 0
    while (
        common < min(len(before), len(last))
        and before[common][0] == last[common][0]
        and before[common][2] == last[common][2]
    ):
        common += 1
    for i in range(common - 1, -1, -1):
        file, line_now, func = last[i]
        if file != lesson_path:
            continue
        line_then = before[i][1]
        if any(a <= line_now <= b and a <= line_then <= b for a, b in loops):
            return line_now, func
    return fallback


def _clean_name(nodeid: str) -> str:
    return nodeid.split("::")[-1]


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(code).name
    except ValueError:
        return f"signal {code}"


def classify(
    module: Module,
    records: list[dict],
    display: str,
    returncode: int | None,
    output: str,
    reused: dict[str, dict] | None = None,
):
    """Turn the judge's verdicts into one CheckResult and its paragraph.

    `reused`: passed checks of an earlier run that the judge was told to skip.
    """
    rel = display
    reused = reused or {}
    finished = any(r.get("event") == "finished" for r in records)
    loaded = finished and not any(
        e.get("type") in ("LessonImportError", "WorkerGone")
        for r in records
        if r.get("event") == "test"
        for e in (r.get("exceptions") or [])
        if isinstance(e, dict)
    )
    if not loaded:  # the file did not load, or the run broke: no earlier verdict holds
        reused = {}
    tests: dict[str, str] = {_clean_name(n): "passed" for n in reused}
    checks: dict[str, dict] = dict(reused)
    failures = []
    for r in records:
        if r.get("event") == "test":
            nodeid = str(r.get("nodeid", "?"))
            name = _clean_name(nodeid)
            if r.get("outcome") == "passed" and r.get("when") == "call":
                tests.setdefault(name, "passed")
            elif r.get("outcome") != "passed":
                tests[name] = r["outcome"] if r.get("when") == "call" else "error"
                failures.append(r)
            if r.get("when") == "call" or r.get("outcome") != "passed":
                uses = r.get("uses")
                checks[nodeid] = {
                    "outcome": tests[name],
                    "duration": r.get("duration") if type(r.get("duration")) is float else 0.0,
                    "uses": [str(u) for u in uses] if isinstance(uses, list) else None,
                }
    passed = sum(1 for v in tests.values() if v == "passed")
    collected = next((r["count"] for r in records if r.get("event") == "collected"), len(tests))
    seed = next((r.get("seed") for r in records if r.get("event") == "seed"), None)
    base = dict(passed=passed, total=collected, tests=tests, seed=seed)
    base.update(checks=checks, reused=len(reused))

    collect_errors = [r for r in records if r.get("event") == "collect_error"]
    if collect_errors:
        return CheckResult(
            module.id,
            ERROR,
            f"The checks for {module.id} could not be loaded (a problem in the toolkit, not in "
            f"your code). Run `workshop check {module.number} -v` and tell the instructor.",
            details=str(collect_errors[0].get("text", "")),
            **base,
        )
    if not failures:
        if finished and collected and passed == collected:
            return CheckResult(
                module.id,
                PASSED,
                f"All {collected} checks pass. Well done! `workshop list` shows what is next."
                + (
                    f"\n({len(reused)} of them passed before and were not run again: the code "
                    "they call has not changed since. `workshop check` runs every one.)"
                    if reused
                    else ""
                ),
                **base,
            )
        if not finished:
            return _crash(module, returncode, rel, base, output, who="grading")
        return CheckResult(module.id, ERROR, f"No checks ran for {module.id}.", **base)

    first = failures[0]
    if _todo(first):  # name the TODO that comes first in the file, whatever the checks' order
        todos = [f for f in failures if _todo(f)]
        first = min(todos, key=lambda f: _attendee_frame(f["exceptions"])[0] or 10**9)
    chain = first.get("exceptions") or [{"type": "?", "message": "", "frames": []}]
    line, func = _attendee_frame(chain)
    where = f"{rel}, line {line}" + (f" (in {func})" if func else "") if line else rel
    details = str(first.get("text", ""))
    test = _clean_name(str(first.get("nodeid", "?")))
    types = [e.get("type") for e in chain]
    top = chain[0]

    notes = first.get("notes") or {}
    remark = _remark(notes, rel)
    local = not any(e.get("remote") for e in chain)
    if local and notes.get("returned_none") and "LessonImportError" not in types:
        nothing = notes["returned_none"][0]
        return CheckResult(
            module.id,
            FAILED,
            f"{passed} of {collected} checks pass. {test} failed: `{nothing['func']}` returned "
            f"None: it probably misses a `return` ({rel}, line {nothing['line']}).{remark}",
            file=rel,
            line=nothing["line"],
            details=details,
            **base,
        )

    gone = next((e for e in chain if e.get("type") == "WorkerGone"), None)
    if gone is not None:
        return _crash(module, gone.get("worker_exit"), rel, base, output, who="worker", test=test)
    if "LessonImportError" in types:
        causes = chain[types.index("LessonImportError") + 1 :] or [top]
        cause = causes[0]
        line, func = _attendee_frame(causes)
        where = f"{rel}, line {line}" if line else rel
        status = OUT_OF_MEMORY if cause.get("type") == "MemoryError" else IMPORT_ERROR
        hint = {
            "ModuleNotFoundError": "Is the module name spelled right, and is it installed "
            "(`workshop env` checks)?",
            "ImportError": "Is the name spelled right?",
            "NameError": "A name is used before it is defined or imported.",
            "SystemExit": "Do not call sys.exit() or exit() in a lesson file.",
        }.get(cause.get("type"), "The code at the top level of the file failed when it was loaded.")
        return CheckResult(
            module.id,
            status,
            f"{where}: the file could not be loaded: {cause.get('type')}: {cause.get('message')}. "
            f"{hint} No check could run.",
            file=rel,
            line=line,
            details=details,
            **base,
        )
    message = str(top.get("message", ""))
    if top.get("type") == "NotImplementedError" and message.startswith("TODO"):
        todo = message.removeprefix("TODO:").strip()
        base["todo"] = todo.removesuffix("()")
        return CheckResult(
            module.id,
            NOT_STARTED if passed == 0 else FAILED,
            (
                f"Not started yet: {where} still has its TODO ({todo}). "
                if passed == 0
                else f"{passed} of {collected} checks pass. Next TODO: {todo} at {where}. "
            )
            + f"Replace the `raise NotImplementedError` with your code; `workshop hint {module.number}` "
            "gives a hint.",
            file=rel,
            line=line,
            details=details,
            **base,
        )
    if top.get("type") in ("AssertionError", "ModelRefused") and not top.get("remote"):
        msg = first_paragraph(message)
        return CheckResult(
            module.id,
            FAILED,
            f"{passed} of {collected} checks pass. {test} failed: {msg}"
            + (f"\nLook at {where}." if line else "")
            + (remark if "in place" not in msg else ""),
            file=rel,
            line=line,
            details=details,
            **base,
        )
    if top.get("type") == "MemoryError":
        return CheckResult(
            module.id,
            OUT_OF_MEMORY,
            f"{where}: your code ran out of memory (over {module.memory} MB) while {test} ran. "
            "Look for an array far bigger than the data, or a list that grows forever.",
            file=rel,
            line=line,
            details=details,
            **base,
        )
    if top.get("type") == "RecursionError":
        return CheckResult(
            module.id,
            ERROR,
            f"{where}: a function calls itself without end (RecursionError) while {test} ran. "
            "Check the stopping case.",
            file=rel,
            line=line,
            details=details,
            **base,
        )
    plain = numpy_message(str(top.get("type")), message)
    if plain is not None:  # NumPy's own words follow, for whoever knows them
        message = f"{plain}\n(NumPy said: {message[:300]})"
    return CheckResult(
        module.id,
        ERROR,
        f"{passed} of {collected} checks pass. While {test} ran, your code raised "
        f"{top.get('type')}: {message[:800]}\nLook at {where}.",
        file=rel,
        line=line,
        details=details,
        **base,
    )


def _todo(failure: dict) -> bool:
    top = (failure.get("exceptions") or [{}])[0]
    return top.get("type") == "NotImplementedError" and str(top.get("message", "")).startswith(
        "TODO"
    )


def _remark(notes: dict, rel: str) -> str:
    """A sentence about a slip the worker noticed, to add to a failure's message."""
    changed = notes.get("changed_args") or []
    if not changed:
        return ""
    c = changed[0]
    args = ", ".join(f"`{a}`" for a in c["args"])
    where = f" ({rel}, line {c['line']})" if c.get("line") else ""
    return (
        f"\nNote: `{c['func']}` changed its argument {args} in place{where}, e.g. with `w += ...`: "
        "the caller's array changes too. Write `w = w + ...` to make a new one."
    )


def first_paragraph(message: str) -> str:
    """The sentence a check's assertion says, without pytest's or NumPy's long comparison."""
    numpy_style = re.search(r"Not equal to tolerance|Arrays are not (almost )?equal", message)
    if numpy_style:
        lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
        what = next(
            (
                ln
                for ln in lines[1:]
                if not re.match(r"(Mismatch|Max |x:|y:|ACTUAL|DESIRED|\()", ln)
            ),
            "the values differ",
        )
        counts = next((ln for ln in lines if ln.startswith("Mismatched elements")), "")
        worst = next((ln for ln in lines if ln.startswith("Max absolute difference")), "")
        counts = counts.replace("Mismatched elements: ", "").strip()
        worst = worst.split(":")[-1].strip()
        extra = ", ".join(
            filter(
                None, [f"{counts} differ" if counts else "", f"by up to {worst}" if worst else ""]
            )
        )
        return f"{what}" + (f" ({extra})" if extra else "") + "."
    text = message.split("\nassert ")[0].split("\n\n")[0].strip()
    return text or "an assertion failed"


def _crash(module, returncode, rel, base, output, who="grading", test=None) -> CheckResult:
    sig = None
    if returncode is not None and returncode < 0:
        sig = _signal_name(-returncode)
    elif returncode is not None and returncode > 128 and who == "worker":
        sig = _signal_name(returncode - 128)  # bubblewrap reports a signal as 128 + its number
    if sig is not None:
        how = f"was killed by {sig}"
        if sig == "SIGKILL":
            how += " (often: the system ran out of memory)"
        elif sig == "SIGXFSZ":
            how += f" (it wrote a file over {MAX_FILE_MB} MB)"
    else:
        how = f"exited with code {returncode}" if returncode is not None else "ended"
    process = "The process running your code" if who == "worker" else "The grading process"
    during = f" while {test} ran" if test else ""
    return CheckResult(
        module.id,
        CRASHED,
        f"{process} {how}{during}, before the checks finished: something in {rel} ends "
        "the program (sys.exit, os._exit, a signal, a crash in a library). Remove it and "
        "check again.",
        file=rel,
        details=output[-5000:],
        **base,
    )


def imports_tensorflow(source: str) -> bool:
    """Does the lesson import TensorFlow or Keras when it is loaded? (read, never run)"""
    import ast

    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue  # a function's own imports run when it is called
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        if any(n.split(".")[0] in ("tensorflow", "keras") for n in names) and _at_top_level(
            tree, node
        ):
            return True
    return False


def _at_top_level(tree, target) -> bool:
    """True when `target` is not inside a function or class body."""
    import ast

    def walk(node, inside):
        for child in ast.iter_child_nodes(node):
            if child is target:
                return not inside
            nested = inside or isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
            )
            found = walk(child, nested)
            if found is not None:
                return found
        return None

    return bool(walk(tree, False))


# --------------------------------------------------------------------------- the judge's report


def read_report(lines: list[bytes], key: bytes) -> tuple[list[dict], bool]:
    """Verify and decode the judge's signed lines: (records, forged?)."""
    records, forged, expected = [], False, 0
    for raw in lines:
        try:
            outer = json.loads(raw)
            body, mac = outer["body"], outer["mac"]
            good = hmac.compare_digest(
                hmac.new(key, body.encode(), hashlib.sha256).hexdigest(), str(mac)
            )
            record = json.loads(body) if good else None
        except (ValueError, KeyError, TypeError, AttributeError):
            good, record = False, None
        if not good or not isinstance(record, dict) or record.get("seq") != expected:
            forged = True
            continue
        expected += 1
        records.append(record)
    return records, forged


# --------------------------------------------------------------------------- running


def _judge_env(root: Path, home: Path) -> dict[str, str]:
    env = dict(os.environ)
    for key in list(env):
        if key.startswith(("PYTEST_", "WORKSHOP_TARGET")):
            env.pop(key)
    env.update(
        PYTHONDONTWRITEBYTECODE="1",
        TF_CPP_MIN_LOG_LEVEL="3",
        MPLBACKEND="Agg",
        WORKSHOP_OFFLINE="1",  # checks compare with the stand-in data; never download
        KERAS_HOME=str(home / "keras"),
        MPLCONFIGDIR=str(home / "matplotlib"),
    )
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))
    return env


def _remove(path: Path) -> None:
    def make_writable(func, target, _exc):
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(target), stat.S_IRWXU)
            os.chmod(target, stat.S_IRWXU)
            func(target)

    shutil.rmtree(path, onerror=make_writable)


@dataclass
class Earlier:
    """A check `watch` ran: the text it graded and each check's verdict and the names it used."""

    module: str
    source: str
    siblings: dict[str, str]
    backend: str
    checks_sha256: str
    checks: dict[str, dict]


def _checks_sha256(module: Module, root: Path) -> str:
    try:
        return hashlib.sha256(module.test_path(root).read_bytes()).hexdigest()
    except OSError:
        return ""


class PendingCheck:
    """A judge and its worker, started and (with `wait=True`) waiting for `go()`.

    `workshop watch` keeps one ready, so a save is graded without paying for
    Python's and TensorFlow's start-up.
    """

    def __init__(
        self,
        module: Module,
        display: str,
        root: Path = ROOT,
        timeout: float | None = None,
        memory_mb: int | None = None,
        extra_args: list[str] | None = None,
        sandbox: bool = False,
        seed: int | None = None,
        wait: bool = False,
        source: str | None = None,
        siblings: dict[str, str] | None = None,
    ):
        self.module, self.display, self.root = module, display, root
        self.timeout = module.timeout if timeout is None else timeout
        self.memory_mb = module.memory if memory_mb is None else memory_mb
        self.wait = wait
        self.finished = False
        self.home = Path(tempfile.mkdtemp(prefix="workshop-check-"))
        self.private = self.home / "submission"
        self.private.mkdir(mode=0o700)
        procs.protect_memory()  # this process holds the key too
        self.key = secrets.token_bytes(32)
        self.token = secrets.token_hex(16)
        self.copy = self.private / f"{module.id}.py"
        spec = WorkerSpec(
            lesson_path=str(self.copy),
            module_id=module.id,
            display=display,
            # TensorFlow is loaded at start by both processes when the checks will
            # surely need it (the lesson imports it at its top, or `watch` keeps
            # the pair waiting); otherwise only once the worker is idle.
            preload="numpy"
            if not module.tf
            else ("tf-now" if wait or (source and imports_tensorflow(source)) else "tf"),
            # TensorFlow reserves huge address ranges: TF modules are watched by
            # resident memory instead of an address-space limit.
            memory_mb=0 if module.tf else self.memory_mb,
            sandbox=sandbox,
            private_dir=str(self.private),
            stack_after=STACK_INTERVAL,
            env={procs.TOKEN_VAR: self.token},
        )
        self.lesson_path = spec.worker_path()
        self.siblings = dict(siblings or {})
        self.reused: dict[str, dict] = {}
        self.source = source or ""
        if source is not None:  # written before the judge starts: the worker may load it at once
            self.copy.write_text(source, encoding="utf-8")
        place_siblings(self.module, self.private, siblings)
        # Verdicts come back on the judge's stdout and the run's settings go to its
        # stdin. Where descriptors can be handed down, the worker's stack dumps and
        # output have pipes of their own; elsewhere (Windows) a file and the
        # judge's stderr.
        posix = os.name == "posix"
        stack_r = stack_w = out_r = out_w = None
        if posix:
            stack_r, stack_w = os.pipe()
            out_r, out_w = os.pipe()
            stack = stack_w
        else:  # pragma: no cover - Windows
            stack = str(self.home / "stacks.txt")
        settings = {
            "key": self.key.hex(),
            "stack": stack,
            "output_fd": out_w,
            "seed": secrets.randbits(32) if seed is None else int(seed),
            "wait_go": wait,
            "spec": dataclasses.asdict(spec),
        }
        cmd = [
            sys.executable,
            "-m",
            "workshop.grading.judge_main",
            str(module.test_path(root)),
            "-q",
            "--tb=no",  # the plugin writes each failure itself, with the worker's frames
            "-p",
            "no:cacheprovider",
            "-p",
            "no:anyio",  # an unused plugin that costs start-up time
            *(extra_args or []),
        ]
        self.start = time.perf_counter()
        # Orphans of this check (a worker that killed its judge leaves its
        # detached children) are re-parented to us, and die in close().
        procs.become_subreaper()
        self.children_before = procs.child_pids()
        kwargs = {}
        if posix:  # its own session; dies if the `workshop` command dies
            kwargs = {
                "start_new_session": True,
                "preexec_fn": procs.die_with_parent,
                "pass_fds": (stack_w, out_w),
            }
        else:  # pragma: no cover - Windows
            kwargs = {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
        # Started and registered under the lock: another check ending at this moment
        # takes every child it does not know for an orphan of its own and kills it.
        with _LIVE_LOCK:
            self.judge = subprocess.Popen(
                cmd,
                cwd=root,
                env=_judge_env(root, self.home),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                **kwargs,
            )
            _LIVE_JUDGES.add(self.judge.pid)
        for fd in (stack_w, out_w):
            if fd is not None:
                os.close(fd)
        self.control = self.judge.stdin
        self.report = procs.Lines(self.judge.stdout)
        self.stack_file = None if posix else Path(stack)
        self.stacks = procs.Tail(os.fdopen(stack_r, "rb"), limit=400_000) if posix else None
        self.output = procs.Tail(os.fdopen(out_r, "rb")) if posix else None
        self.judge_output = procs.Tail(self.judge.stderr)
        try:
            self.control.write((json.dumps(settings) + "\n").encode())
            self.control.flush()
        except OSError:  # the judge ended at start: go() reports it, with what it printed
            pass

    def go(
        self,
        source: str | None = None,
        display: str | None = None,
        siblings: dict[str, str] | None = None,
        earlier: Earlier | None = None,
    ) -> CheckResult:
        """Grade now (`source`: the lesson's text, when not given at start); return the result.

        `display` renames the file in messages (a waiting pair was started
        before it was known whether the script or the notebook would be saved).
        `siblings`: the texts of the lessons it imports, as they are now.
        `earlier`: the last check of this lesson (`watch`): its passed checks
        that reach no changed definition are kept, not run again.
        """
        if source is not None:
            self.source = source
            self.copy.write_text(source, encoding="utf-8")
        if siblings is not None:
            self.siblings = dict(siblings)
        place_siblings(self.module, self.private, siblings)
        self.reused = self._reusable(earlier)
        digest = hashlib.sha256(self.source.encode("utf-8")).hexdigest()
        if display is not None:
            self.display = display
        start = time.perf_counter() if self.wait else self.start
        killed_for = None
        try:
            if self.wait:
                go = {"go": True, "display": self.display, "reuse": sorted(self.reused)}
                self.control.write((json.dumps(go) + "\n").encode())
                self.control.flush()
        except OSError:
            pass  # the judge died while waiting: classified below
        deadline = start + self.timeout
        next_memory_check = 0.0
        while self.judge.poll() is None and not self.report.finished.is_set():
            now = time.perf_counter()
            if now > deadline:
                killed_for = TIMEOUT
                break
            if now >= next_memory_check:  # psutil walks /proc: a few times a second is enough
                next_memory_check = now + 0.25
                judge_rss, worker_rss = procs.tree_rss(self.judge.pid)
                if (self.memory_mb and worker_rss > self.memory_mb * 2**20) or (
                    judge_rss > JUDGE_MEMORY_MB * 2**20
                ):
                    killed_for = OUT_OF_MEMORY
                    break
            time.sleep(0.03)
        duration = time.perf_counter() - start
        self.close()
        records, forged = read_report(self.report.wait(5), self.key)
        result = self._result(records, forged, killed_for, duration)
        result.source_sha256 = digest
        return result

    def _reusable(self, earlier: Earlier | None) -> dict[str, dict]:
        """The passed checks of `earlier` whose verdicts hold for this text (nodeid -> entry)."""
        if (
            earlier is None
            or not self.wait
            or earlier.module != self.module.id
            or earlier.siblings != self.siblings
            or earlier.backend != keras_backend.name()
            or earlier.checks_sha256 != _checks_sha256(self.module, self.root)
        ):
            return {}
        names = reuse.reusable(earlier.source, self.source, earlier.checks, self.module.id)
        if names and len(names) == len(earlier.checks):  # one runs: the file is loaded again
            names.discard(min(names, key=lambda n: earlier.checks[n].get("duration") or 0.0))
        return {n: earlier.checks[n] for n in names}

    def earlier(self, result: CheckResult) -> Earlier:
        """What a next check of this lesson needs to keep `result`'s unaffected verdicts."""
        return Earlier(
            self.module.id,
            self.source,
            dict(self.siblings),
            result.backend,
            _checks_sha256(self.module, self.root),
            dict(result.checks),
        )

    def close(self) -> None:
        """Kill every process of this check (judge, worker, anything they started)."""
        if self.finished:
            return
        self.finished = True
        procs.kill_tree(self.judge.pid, self.token)
        with contextlib.suppress(OSError):
            self.control.close()
        self.judge.wait()
        with _LIVE_LOCK:
            _LIVE_JUDGES.discard(self.judge.pid)
            orphans = procs.child_pids() - self.children_before - _LIVE_JUDGES
        for pid in orphans:
            procs.kill_tree(pid)

    def discard(self) -> None:
        self.close()
        _remove(self.home)

    def _result(self, records, forged, killed_for, duration) -> CheckResult:
        module, rel = self.module, self.display
        judge_output = self.judge_output.text()
        output = self.output.text() if self.output else ""
        if self.stacks is not None:
            stacks = self.stacks.text()
        else:  # pragma: no cover - Windows: a file the worker could have replaced
            try:
                stacks = procs.read_tail(self.stack_file, 400_000)
            except (OSError, procs.UnreadableSubmission):
                stacks = ""
        _remove(self.home)
        if forged or self.report.overflow:
            result = CheckResult(
                module.id,
                TAMPERED,
                f"Something wrote into the grader's report while {rel} was checked: the verdict "
                "cannot be trusted. Remove whatever in your file reaches outside it (other "
                "processes, files, /proc), then check again.",
                file=rel,
            )
        elif killed_for == TIMEOUT:
            done = [r for r in records if r.get("event") == "test" and r.get("when") == "call"]
            running = "" if not done else f" after {len(done)} checks had finished"
            line, func = stuck_at(stacks, self.lesson_path, self.source)
            where = (
                f" It was stopped while running line {line} (in {func})."
                if line
                else " The run was stopped."
            )
            result = CheckResult(
                module.id,
                TIMEOUT,
                f"The checks did not finish within {self.timeout:.0f} s{running}: {rel} probably "
                "loops forever (a `while` whose condition never becomes false?) or trains far too "
                f"long.{where}",
                file=rel,
                line=line,
                details=(stacks or output)[-5000:],
            )
        elif killed_for == OUT_OF_MEMORY:
            result = CheckResult(
                module.id,
                OUT_OF_MEMORY,
                f"Grading used more than {self.memory_mb} MB of memory and was stopped: something "
                f"in {rel} builds an array or list far bigger than the data.",
                file=rel,
                details=output[-5000:],
            )
        else:
            result = classify(
                module, records, rel, self.judge.returncode, output + judge_output, self.reused
            )
            if not result.details:
                result.details = judge_output[-20_000:]
            if output.strip():
                result.details += "\n--- what your code printed (last part) ---\n" + output[-5000:]
        result.duration = duration
        if result.seed is None:
            result.seed = next((r.get("seed") for r in records if r.get("event") == "seed"), None)
        return result


def lesson_source(path: Path, display: str) -> tuple[str | None, CheckResult | None]:
    """Read a lesson file defensively: (text, None) or (None, a result saying what is wrong)."""
    stem = path.stem
    try:
        return procs.read_submission(path), None
    except FileNotFoundError:
        return None, CheckResult(
            stem,
            IMPORT_ERROR,
            f"{display} is missing. `workshop reset {stem.split('_')[0]}` restores it.",
            file=display,
        )
    except procs.UnreadableSubmission as exc:
        return None, CheckResult(
            stem, UNREADABLE, str(exc).replace(str(path), display), file=display
        )


def place_siblings(module: Module, folder: Path, siblings: dict[str, str] | None) -> list[Path]:
    """Write the earlier lessons `module` imports beside it; names the catalog does not list
    for it (another lesson, a path) are ignored. Returns the files written."""
    written = []
    for module_id, text in (siblings or {}).items():
        if module_id in module.uses and isinstance(text, str):
            path = Path(folder) / f"{module_id}.py"
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def read_siblings(module: Module, folder: Path) -> dict[str, str]:
    """{id: text} of the lessons `module` imports, read from `folder` as carefully as the
    lesson itself; one missing or unreadable is left out (the lesson then says so)."""
    texts = {}
    for module_id in module.uses:
        try:
            texts[module_id] = procs.read_submission(Path(folder) / f"{module_id}.py")
        except (OSError, procs.UnreadableSubmission):
            continue
    return texts


def run_checks(
    module: Module,
    target: str = "exercises",
    root: Path = ROOT,
    timeout: float | None = None,
    memory_mb: int | None = None,
    extra_args: list[str] | None = None,
    *,
    source: Path | None = None,
    text: str | None = None,
    display: str | None = None,
    sandbox: bool = False,
    seed: int | None = None,
    siblings: dict[str, str] | None = None,
) -> CheckResult:
    """Grade one module; never raises for anything the attendee's code does.

    The lesson is `source` (a file), `text` (already read), or the module's
    file in `target` ('exercises', 'solutions' or a folder). The lessons it
    imports come from `siblings`, else from the lesson's folder.
    """
    path = Path(source) if source is not None else target_dir(target, root) / f"{module.id}.py"
    display = display or _rel(path, root)
    start = time.perf_counter()
    problem = None
    if text is None:
        text, problem = lesson_source(path, display)
    if problem is None:
        problem = syntax_check(text, root, display)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest() if text is not None else None
    if problem is not None:
        problem.module = module.id
        problem.duration = time.perf_counter() - start
        problem.source_sha256 = digest
        return problem
    if siblings is None:
        siblings = read_siblings(module, path.parent)
    pending = PendingCheck(
        module,
        display,
        root,
        timeout,
        memory_mb,
        extra_args,
        sandbox,
        seed,
        source=text,
        siblings=siblings,
    )
    result = pending.go()
    result.source_sha256 = digest
    return result
