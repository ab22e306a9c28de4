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
    cmd = [sys.executable, str(script), "--out-dir", str(out_dir)]
    cmd += ["--quick"] if quick else []
    cmd += ["--offline"] if offline else []
    env = dict(os.environ, MPLBACKEND="Agg", TF_CPP_MIN_LOG_LEVEL="2")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd,
            cwd=root,
            env=env,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            capture_output=capture,
            text=True,
        )
        status = "ok" if proc.returncode == 0 else "failed"
        tail = "" if proc.returncode == 0 or not capture else (proc.stderr or proc.stdout)[-800:]
    except subprocess.TimeoutExpired:
        status, tail = "timeout", f"stopped after {timeout:.0f} s"
    seconds = time.perf_counter() - start
    metrics_file = out_dir / "metrics.json"
    headline = tail.strip().splitlines()[-1] if tail.strip() else ""
    if status == "ok" and metrics_file.exists():
        headline = str(json.loads(metrics_file.read_text()).get("headline", ""))
    figures = sorted(p.name for p in out_dir.glob("*.png")) if out_dir.exists() else []
    return DemoRow(module.id, status, headline, seconds, figures)


def default_jobs() -> int:
    """Lessons run side by side: one per core, at most 4, about 3 GB of memory each."""
    try:
        import psutil

        memory_jobs = int(psutil.virtual_memory().total // (3 * 2**30))
    except Exception:  # no psutil, or a platform it cannot read: be modest
        memory_jobs = 1
    return max(1, min(4, os.cpu_count() or 1, memory_jobs))


def run_demo(
    out_root: Path,
    quick: bool = True,
    on_start=None,
    on_done=None,
    jobs: int | None = None,
    modules: list[Module] | None = None,
) -> list[DemoRow]:
    """Run every catalogued lesson's solution (`jobs` at a time, each in its own process);
    write summary.json and summary.md. Rows come back in the course's order."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    modules = list(load_catalog() if modules is None else modules)
    jobs = default_jobs() if jobs is None else max(1, int(jobs))
    lock = threading.Lock()

    def one(module: Module) -> DemoRow:
        if on_start:
            with lock:
                on_start(module)
        timeout = max(120.0, 10 * module.timeout) if quick else None
        row = run_lesson(module, out_root / module.id, quick=quick, timeout=timeout)
        if on_done:
            with lock:
                on_done(row)
        return row

    # The slowest lessons (the longest time limits) start first: fewer idle cores at the end.
    order = sorted(range(len(modules)), key=lambda i: -modules[i].timeout)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {i: pool.submit(one, modules[i]) for i in order}
        rows = [futures[i].result() for i in range(len(modules))]
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
