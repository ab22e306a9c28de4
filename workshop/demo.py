"""The workshop demo: every lesson's solution in quick mode, offline, with a summary table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from workshop import ROOT
from workshop.catalog import Module, load_catalog


@dataclass
class DemoRow:
    module: str
    status: str  # ok | failed | timeout
    headline: str
    seconds: float
    figures: list[str]


def _lesson_args(out_dir: Path, quick: bool, offline: bool) -> list[str]:
    """What follows `python lesson.py` (the same in a process of its own or in a runner)."""
    return [
        "--out-dir",
        str(out_dir),
        *(["--quick"] if quick else []),
        *(["--offline"] if offline else []),
    ]


def _lesson_env(root: Path) -> dict:
    env = dict(os.environ, MPLBACKEND="Agg", TF_CPP_MIN_LOG_LEVEL="2")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    return env


def _row(module: Module, out_dir: Path, status: str, seconds: float, failure: str) -> DemoRow:
    """The table's row: the lesson's headline when it ran, else the last line of `failure`."""
    metrics_file = out_dir / "metrics.json"
    if status == "ok" and metrics_file.exists():
        headline = str(json.loads(metrics_file.read_text()).get("headline", ""))
    else:
        lines = failure.strip().splitlines()
        headline = lines[-1] if lines else ("" if status == "ok" else status)
    figures = sorted(p.name for p in out_dir.glob("*.png")) if out_dir.exists() else []
    return DemoRow(module.id, status, headline, seconds, figures)


def run_lesson(
    module: Module,
    out_dir: Path,
    solution: bool = True,
    quick: bool = True,
    offline: bool = True,
    timeout: float | None = None,
    capture: bool = True,
    root: Path = ROOT,
) -> DemoRow:
    """Run one lesson's script in its own process; return what it reported."""
    script = module.solution_path(root) if solution else module.exercise_path(root)
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, str(script), *_lesson_args(out_dir, quick, offline)],
            cwd=root,
            env=_lesson_env(root),
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            capture_output=capture,
            text=True,
        )
        status = "ok" if proc.returncode == 0 else "failed"
        tail = "" if proc.returncode == 0 or not capture else (proc.stderr or proc.stdout)[-800:]
    except subprocess.TimeoutExpired:
        status, tail = "timeout", f"stopped after {timeout:.0f} s"
    return _row(module, out_dir, status, time.perf_counter() - start, tail)


def default_jobs() -> int:
    """Lessons run side by side: one per core, at most 4, about 3 GB of memory each."""
    try:
        import psutil

        memory_jobs = int(psutil.virtual_memory().total // (3 * 2**30))
    except Exception:  # no psutil, or a platform it cannot read: be modest
        memory_jobs = 1
    return max(1, min(4, os.cpu_count() or 1, memory_jobs))


# --------------------------------------------------------------------------- a reusable runner
#
# Importing TensorFlow costs seconds per process; a demo of thirteen lessons
# would pay it eleven times. A runner process imports it once and runs the
# lessons it is sent one after the other, each as `python lesson.py --quick
# --offline` would (runpy, a fresh module, the lesson's own command line),
# with its output in the lesson's log.txt. A lesson that hangs or crashes the
# runner costs only that runner: the next lesson gets a fresh one.


def _runner_loop() -> int:
    """`python -m workshop.demo --runner`: one JSON request per line in, one result per line out."""
    import runpy
    import traceback

    protocol = os.fdopen(os.dup(1), "w", buffering=1)  # results go here, never to a log
    requests = os.fdopen(os.dup(0), "r")  # a lesson that reads stdin reads /dev/null, not these
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 (the process's stdin, for good)
    for line in requests:
        request = json.loads(line)
        out_dir = Path(request["out_dir"])
        out_dir.mkdir(parents=True, exist_ok=True)
        argv = [request["script"], *_lesson_args(out_dir, request["quick"], request["offline"])]
        status = "ok"
        start = time.perf_counter()
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        with open(out_dir / "log.txt", "w", encoding="utf-8") as log:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            saved_argv = sys.argv
            try:
                sys.argv = argv
                if "keras" in sys.modules:
                    sys.modules["keras"].backend.clear_session()
                runpy.run_path(request["script"], run_name="__main__")
            except SystemExit as exc:
                status = "ok" if exc.code in (0, None) else "failed"
            except BaseException:
                status = "failed"
                traceback.print_exc()
            finally:
                sys.argv = saved_argv
                if "matplotlib.pyplot" in sys.modules:
                    sys.modules["matplotlib.pyplot"].close("all")
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
                for fd in saved:
                    os.close(fd)
        result = {"module": request["module"], "status": status}
        result["seconds"] = time.perf_counter() - start
        protocol.write(json.dumps(result) + "\n")
    return 0


class _Runner:
    """The parent's handle on one runner process."""

    def __init__(self, root: Path, log: Path):
        import queue
        import threading

        log.parent.mkdir(parents=True, exist_ok=True)
        # The runner's own messages (its start-up); closed in stop().
        self._log = log.open("a", encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "workshop.demo", "--runner"],
            cwd=root,
            env=_lesson_env(root),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        self._lines = queue.Queue()

        def read():
            for line in self.proc.stdout:
                self._lines.put(line)
            self._lines.put(None)  # the runner ended

        threading.Thread(target=read, daemon=True).start()

    def run(self, module: Module, out_dir: Path, script: Path, quick, offline, timeout):
        """(status, seconds); 'timeout' or 'crashed' leave this runner unusable."""
        import queue

        request = {
            "module": module.id,
            "script": str(script),
            "out_dir": str(out_dir),
            "quick": quick,
            "offline": offline,
        }
        start = time.perf_counter()
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            self.stop()
            return "timeout", time.perf_counter() - start
        except OSError:  # the runner is gone (a broken pipe)
            line = None
        if line is None:
            self.stop()
            return "crashed", time.perf_counter() - start
        result = json.loads(line)
        return result["status"], float(result["seconds"])

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except Exception:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def run_demo(
    out_root: Path,
    quick: bool = True,
    on_start=None,
    on_done=None,
    jobs: int | None = None,
    modules: list[Module] | None = None,
    offline: bool = True,
    root: Path = ROOT,
    lesson_timeout: float | None = None,
) -> list[DemoRow]:
    """Run every catalogued lesson's solution, `jobs` at a time in reusable runner processes;
    write summary.json and summary.md. Rows come back in the course's order."""
    import threading

    modules = list(load_catalog() if modules is None else modules)
    jobs = max(1, min(default_jobs() if jobs is None else int(jobs), len(modules) or 1))
    lock = threading.Lock()
    # The slowest lessons (the longest time limits) start first: fewer idle cores at the end.
    waiting = sorted(modules, key=lambda m: -m.timeout)
    rows: dict[str, DemoRow] = {}

    def slot(index: int) -> None:
        runner = None
        while True:
            with lock:
                if not waiting:
                    break
                module = waiting.pop(0)
                if on_start:
                    on_start(module)
            if runner is None or not runner.alive:
                runner = _Runner(root, out_root / f"runner-{index}.log")
            out_dir = out_root / module.id
            timeout = lesson_timeout or (max(120.0, 10 * module.timeout) if quick else None)
            try:
                status, seconds = runner.run(
                    module, out_dir, module.solution_path(root), quick, offline, timeout
                )
                log = out_dir / "log.txt"
                failure = log.read_text(errors="replace")[-800:] if log.exists() else ""
            except OSError as exc:  # the runner could not even start
                status, seconds, failure = "failed", 0.0, f"could not start a runner: {exc}"
            if status == "timeout":
                failure = f"stopped after {timeout:.0f} s"
            # A crash took the runner with it; the table says failed, with the log's last line.
            row = _row(
                module, out_dir, "failed" if status == "crashed" else status, seconds, failure
            )
            with lock:
                rows[module.id] = row
                if on_done:
                    on_done(row)
        if runner is not None:
            runner.stop()

    threads = [threading.Thread(target=slot, args=(i,)) for i in range(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = [rows[m.id] for m in modules]
    out_root.mkdir(parents=True, exist_ok=True)
    (out_root / "summary.json").write_text(
        json.dumps({"schema": 1, "quick": quick, "lessons": [asdict(r) for r in rows]}, indent=2)
        + "\n"
    )
    lines = ["| lesson | status | key result | seconds | figures |", "|---|---|---|---|---|"]
    lines += [
        f"| {r.module} | {r.status} | {r.headline} | {r.seconds:.1f} | {len(r.figures)} |"
        for r in rows
    ]
    (out_root / "summary.md").write_text("\n".join(lines) + "\n")
    return rows


if __name__ == "__main__":
    if sys.argv[1:] == ["--runner"]:
        sys.exit(_runner_loop())
    sys.exit("usage: python -m workshop.demo --runner (started by `workshop demo`)")
