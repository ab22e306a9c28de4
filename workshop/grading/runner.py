"""Run one module's checks in a subprocess with a time and memory limit; classify the outcome.

Whatever the attendee's code does (loop forever, exit the interpreter, eat
all memory, print megabytes, install signal handlers, tamper with the
checks) the grader keeps running and says what happened in one paragraph.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from workshop import ROOT
from workshop.catalog import Module
from workshop.grading.loader import target_dir

# Outcome classes, in the order an attendee meets them.
PASSED = "passed"
NOT_STARTED = "not_started"
FAILED = "failed"
ERROR = "error"
IMPORT_ERROR = "import_error"
SYNTAX_ERROR = "syntax_error"
TIMEOUT = "timeout"
CRASHED = "crashed"
OUT_OF_MEMORY = "out_of_memory"
TAMPERED = "tampered"
_IMPORT_TYPES = ("ImportError", "ModuleNotFoundError", "NameError", "AttributeError")


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
    details: str = ""  # everything, for -v

    @property
    def ok(self) -> bool:
        return self.status == PASSED

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("details")
        return d


def _rel(path: str | Path, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def syntax_check(path: Path, root: Path = ROOT) -> CheckResult | None:
    """Compile the file without running it; a SyntaxError becomes a result."""
    try:
        source = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return CheckResult(path.stem, SYNTAX_ERROR, f"{_rel(path, root)} is not UTF-8 text: {exc}")
    try:
        compile(source, str(path), "exec")
    except SyntaxError as exc:
        where = f"{_rel(path, root)}, line {exc.lineno}"
        text = (exc.text or "").rstrip("\n")
        caret = ""
        if text and exc.offset:
            stripped = text.lstrip()
            caret = f"\n        {stripped}\n        {' ' * max(exc.offset - 1 - (len(text) - len(stripped)), 0)}^"
        return CheckResult(
            path.stem,
            SYNTAX_ERROR,
            f"Python cannot read {where}: {exc.msg}.{caret}\nNothing was run. Fix that line"
            + (
                " (look at the line above it too: an unclosed bracket shows up one line late)."
                if "never closed" in exc.msg or "invalid syntax" in exc.msg or "expected" in exc.msg
                else "."
            ),
            file=_rel(path, root),
            line=exc.lineno,
        )
    return None


def _limit_memory(megabytes: int):
    def apply():  # runs in the child before exec
        os.setsid()
        if megabytes and sys.platform.startswith("linux"):
            import resource

            limit = megabytes * 2**20
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def _tree_rss(pid: int) -> int:
    try:
        import psutil

        proc = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)])
    except Exception:
        return 0


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _read_records(path: Path) -> list[dict]:
    records = []
    if path.exists():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                break  # the process died mid-line
    return records


def _attendee_frame(record: dict, lesson_file: Path) -> tuple[int | None, str | None]:
    """The deepest frame inside the attendee's file: (line, function)."""
    target = str(lesson_file.resolve())
    best = (None, None)
    for exc in record.get("exceptions", []):
        for f in exc["frames"]:
            if str(Path(f["file"]).resolve()) == target:
                best = (f["line"], f["func"])
        if best[0] is not None:
            return best
    return best


def _stuck_at(stacks: str, lesson_file: Path) -> tuple[int | None, str | None]:
    """From faulthandler's dump: the innermost frame in the attendee's file (line, function)."""
    target = str(lesson_file.resolve())
    pattern = re.compile(r'File "(.+)", line (\d+) in (\S+)')
    for line in stacks.splitlines():  # faulthandler lists the innermost frame first
        m = pattern.search(line)
        if m and str(Path(m.group(1)).resolve()) == target:
            return int(m.group(2)), m.group(3)
    return None, None


def _clean_name(nodeid: str) -> str:
    return nodeid.split("::")[-1]


def classify(
    module: Module,
    records: list[dict],
    lesson_file: Path,
    root: Path,
    returncode: int | None,
    output: str,
) -> CheckResult:
    """Turn the plugin's records into one CheckResult and its paragraph."""
    rel = _rel(lesson_file, root)
    tests = {}
    failures = []
    for r in records:
        if r.get("event") == "test":
            name = _clean_name(r["nodeid"])
            if r["outcome"] == "passed" and r["when"] == "call":
                tests.setdefault(name, "passed")
            elif r["outcome"] != "passed":
                tests[name] = r["outcome"] if r["when"] == "call" else "error"
                failures.append(r)
    passed = sum(1 for v in tests.values() if v == "passed")
    collected = next((r["count"] for r in records if r.get("event") == "collected"), len(tests))
    finished = any(r.get("event") == "finished" for r in records)
    base = dict(passed=passed, total=collected, tests=tests)

    tampered = next((r for r in records if r.get("event") == "tampered"), None)
    if tampered:
        names = ", ".join(tampered["names"][:5])
        return CheckResult(
            module.id,
            TAMPERED,
            f"{rel} changed what the checks compare against while it ran ({names}). "
            "Grading code must be left alone: remove whatever in your file edits the tests, "
            "numpy.testing, pytest or builtins, then check again.",
            file=rel,
            **base,
        )
    collect_errors = [r for r in records if r.get("event") == "collect_error"]
    if collect_errors:
        return CheckResult(
            module.id,
            ERROR,
            f"The checks for {module.id} could not be loaded (a problem in the toolkit, not in "
            f"your code). Run `workshop check {module.number} -v` and tell the instructor.",
            details=collect_errors[0]["text"],
            **base,
        )
    if not finished and not failures and returncode not in (0, 1):
        return _crash(module, returncode, rel, base, output)

    if not failures:
        if finished and collected and passed == collected:
            return CheckResult(
                module.id,
                PASSED,
                f"All {collected} checks pass. Well done! `workshop list` shows what is next.",
                **base,
            )
        if not finished:
            return _crash(module, returncode, rel, base, output)
        return CheckResult(module.id, ERROR, f"No checks ran for {module.id}.", **base)

    first = failures[0]
    chain = first.get("exceptions") or [{"type": "?", "message": "", "frames": []}]
    line, func = _attendee_frame(first, lesson_file)
    where = f"{rel}, line {line}" + (f" (in {func})" if func else "") if line else rel
    details = first.get("text", "")
    test = _clean_name(first["nodeid"])
    types = [e["type"] for e in chain]
    top = chain[0]

    if "LessonImportError" in types:
        cause = chain[1] if len(chain) > 1 else top
        line, func = _attendee_frame({"exceptions": chain[1:]}, lesson_file)
        where = f"{rel}, line {line}" if line else rel
        status = IMPORT_ERROR
        if cause["type"] in ("MemoryError",):
            status = OUT_OF_MEMORY
        hint = {
            "ModuleNotFoundError": "Is the module name spelled right, and is it installed "
            "(`workshop env` checks)?",
            "ImportError": "Is the name spelled right?",
            "NameError": "A name is used before it is defined or imported.",
        }.get(cause["type"], "The code at the top level of the file failed when it was loaded.")
        return CheckResult(
            module.id,
            status,
            f"{where}: the file could not be loaded: {cause['type']}: {cause['message']}. "
            f"{hint} No check could run.",
            file=rel,
            line=line,
            details=details,
            **base,
        )
    if top["type"] == "NotImplementedError" and top["message"].startswith("TODO"):
        todo = top["message"].removeprefix("TODO:").strip()
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
    if top["type"] == "AssertionError":
        msg = top["message"].split("\nassert ")[0].strip() or "an assertion failed"
        return CheckResult(
            module.id,
            FAILED,
            f"{passed} of {collected} checks pass. {test} failed: {msg}"
            + (f"\nLook at {where}." if line else ""),
            file=rel,
            line=line,
            details=details,
            **base,
        )
    if top["type"] == "MemoryError":
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
    if top["type"] == "RecursionError":
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
    return CheckResult(
        module.id,
        ERROR,
        f"{passed} of {collected} checks pass. While {test} ran, your code raised "
        f"{top['type']}: {top['message'][:500]}\nLook at {where}.",
        file=rel,
        line=line,
        details=details,
        **base,
    )


def _crash(module, returncode, rel, base, output) -> CheckResult:
    if returncode is not None and returncode < 0:
        sig = signal.Signals(-returncode).name
        how = f"was killed by {sig}"
        if sig == "SIGKILL":
            how += " (often: the system ran out of memory)"
    else:
        how = f"exited with code {returncode}"
    return CheckResult(
        module.id,
        CRASHED,
        f"The grading process {how} before the checks finished: something in {rel} ends "
        "the program (sys.exit, os._exit, a crash in a library). Remove it and check again.",
        file=rel,
        details=output[-5000:],
        **base,
    )


def run_checks(
    module: Module,
    target: str = "exercises",
    root: Path = ROOT,
    timeout: float | None = None,
    memory_mb: int | None = None,
    extra_args: list[str] | None = None,
) -> CheckResult:
    """Grade one module in a subprocess; never raises for anything the attendee's code does."""
    lesson_file = target_dir(target, root) / f"{module.id}.py"
    test_file = module.test_path(root)
    timeout = module.timeout if timeout is None else timeout
    memory_mb = module.memory if memory_mb is None else memory_mb
    start = time.perf_counter()
    if not lesson_file.exists():
        return CheckResult(
            module.id,
            IMPORT_ERROR,
            f"{_rel(lesson_file, root)} is missing. `workshop reset {module.number}` restores it.",
        )
    early = syntax_check(lesson_file, root)
    if early is not None:
        early.module = module.id
        return early
    with tempfile.TemporaryDirectory(prefix="workshop-check-") as tmp:
        report = Path(tmp) / "report.jsonl"
        out_path = Path(tmp) / "output.txt"
        stack_dump = Path(tmp) / "stacks.txt"
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            str(test_file),
            f"--target={target}",
            "-p",
            "workshop.grading.plugin",
            f"--grading-report={report}",
            f"--grading-stack-dump={max(timeout - 1.0, 0.5)}:{stack_dump}",
            "-q",
            "--tb=short",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:anyio",  # an unused plugin that costs start-up time
            *(extra_args or []),
        ]
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", TF_CPP_MIN_LOG_LEVEL="2")
        env["MPLBACKEND"] = "Agg"
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
        # TensorFlow reserves large virtual address ranges, so an address-space
        # limit would break it: TF modules are watched by resident memory instead.
        rlimit = 0 if module.tf else memory_mb
        killed_for = None
        with open(out_path, "wb") as out:
            proc = subprocess.Popen(
                cmd,
                cwd=root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_limit_memory(rlimit),
            )
            deadline = start + timeout
            while proc.poll() is None:
                if time.perf_counter() > deadline:
                    killed_for = TIMEOUT
                elif memory_mb and _tree_rss(proc.pid) > memory_mb * 2**20:
                    killed_for = OUT_OF_MEMORY
                if killed_for:
                    _kill_group(proc)
                    break
                time.sleep(0.05)
        duration = time.perf_counter() - start
        records = _read_records(report)
        output = out_path.read_bytes()[-200_000:].decode("utf-8", errors="replace")
        stacks = stack_dump.read_text(errors="replace") if stack_dump.exists() else ""
    rel = _rel(lesson_file, root)
    if killed_for == TIMEOUT:
        done = [r for r in records if r.get("event") == "test" and r["when"] == "call"]
        running = "" if not done else f" after {len(done)} checks had finished"
        line, func = _stuck_at(stacks, lesson_file)
        where = (
            f" It was stopped while running line {line} (in {func})."
            if line
            else " The run was stopped."
        )
        result = CheckResult(
            module.id,
            TIMEOUT,
            f"The checks did not finish within {timeout:.0f} s{running}: {rel} probably loops "
            f"forever (a `while` whose condition never becomes false?) or trains far too long.{where}",
            file=rel,
            line=line,
            details=(stacks or output)[-5000:],
        )
    elif killed_for == OUT_OF_MEMORY:
        result = CheckResult(
            module.id,
            OUT_OF_MEMORY,
            f"Grading used more than {memory_mb} MB of memory and was stopped: something in "
            f"{rel} builds an array or list far bigger than the data.",
            file=rel,
            details=output[-5000:],
        )
    else:
        result = classify(module, records, lesson_file, root, proc.returncode, output)
        if not result.details:
            result.details = output[-20_000:]
    result.duration = duration
    return result
