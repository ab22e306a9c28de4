"""This machine's side of training: env (is all there), tensorboard, cluster (local workers)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from rich.table import Table
from rich.text import Text

from workshop import ROOT
from workshop.catalog import find_module
from workshop.cli.common import console


def _add_env(sub) -> None:
    s = sub.add_parser("env", help="[OK]/[FAIL] for everything the workshop needs")
    s.add_argument("-v", "--verbose", action="store_true", help="TensorFlow's start-up log too")
    s.set_defaults(func=cmd_env)


def cmd_env(args) -> int:
    if args.verbose:
        os.environ["WORKSHOP_TF_LOGS"] = "1"  # TensorFlow's own start-up lines too
    rows = []

    def add(name, ok, detail, required=True):
        rows.append((name, "OK" if ok else ("FAIL" if required else "INFO"), detail))

    v = sys.version_info
    add("Python", v >= (3, 11), f"{v.major}.{v.minor}.{v.micro} (need 3.11+)")
    _backend_rows(add)
    from workshop import data

    for source, cached, where in data.status():
        add(
            f"data: {source.key}",
            cached,
            f"cached in {where}" if cached else "not cached: `workshop data fetch`",
            False,
        )
    try:
        import matplotlib

        from workshop import plotting

        fig = plotting.curves({"x": [1, 2]})
        import io

        fig.savefig(io.BytesIO(), format="png")
        add("Plotting", True, f"matplotlib {matplotlib.__version__}, PNG output works")
    except Exception as exc:
        add("Plotting", False, f"{type(exc).__name__}: {exc}")
    from workshop.room import client

    room = client.joined()
    if room is not None:
        waiting = len(client.read_queue())
        add(
            "room",
            waiting == 0,
            f"joined {room['url']} as {room['name']}; {waiting} check(s) waiting to be sent",
            False,
        )
    table = Table(title="workshop env")
    for col in ("part", "state", "detail"):
        table.add_column(col)
    color = {"OK": "green", "FAIL": "red", "INFO": "yellow"}
    for name, state, detail in rows:
        table.add_row(name, f"[{color[state]}][{state}][/]", Text(detail))
    console.print(table)
    return 1 if any(s == "FAIL" for _, s, _ in rows) else 0


def _backend_rows(add) -> None:
    """The Keras backend, its version and the devices it sees; the other backends, and TensorFlow."""
    from workshop import backend

    name = backend.name()
    try:
        backend.check_name(name)
    except ValueError as exc:
        add("Keras backend", False, f"{exc} (KERAS_BACKEND or keras.json)")
        return
    if not backend.installed(name):
        add("Keras backend", False, f"{name} is not installed: {backend.INSTALL[name]}")
        return
    try:
        import keras

        from workshop import gpu

        where = "KERAS_BACKEND" if os.environ.get("KERAS_BACKEND") else "the default"
        add("Keras backend", True, f"{name} {backend.version(name)} ({where}; --backend NAME)")
        add("Keras 3", keras.__version__.startswith("3."), keras.__version__)
        devices = gpu.list_devices()
        seen = ", ".join(
            d.short_name + (f" ({d.description})" if d.description else "") for d in devices
        )
        add("devices", bool(devices), f"{name} sees {seen}")
        gpus = [d for d in devices if d.kind == "GPU"]
        add("GPU", bool(gpus), f"{len(gpus)} found" if gpus else "none: the CPU will do", False)
    except Exception as exc:  # report, never crash the check
        add("Keras backend", False, f"{name}: {type(exc).__name__}: {exc}")
    others = [b for b in backend.NAMES if b not in (name, "tensorflow")]
    add(
        "other backends",
        True,
        ", ".join(
            f"{b} {backend.version(b)}" if backend.installed(b) else f"{b} not installed"
            for b in others
        ),
        False,
    )
    if name == "tensorflow":
        add("TensorFlow", True, f"{backend.version('tensorflow')}, the backend")
    elif backend.installed("tensorflow"):
        add("TensorFlow", True, f"{backend.version('tensorflow')}, for tf.distribute, TFDS, logs")
    else:
        add(
            "TensorFlow",
            False,
            "not installed: the TensorFlow-only parts (tf.distribute, TFDS, TensorBoard logs) "
            "say so and are skipped",
            False,
        )


def _add_tensorboard(sub) -> None:
    s = sub.add_parser("tensorboard", help="TensorBoard on the logs lessons write (localhost only)")
    s.add_argument("module", nargs="?", help="one lesson's logs (default: every lesson's)")
    s.add_argument("--logdir", help="another folder of logs")
    s.add_argument("--port", type=int, help="default: a free port")
    s.set_defaults(func=cmd_tensorboard)


def cmd_tensorboard(args) -> int:
    from workshop import distributed

    if args.logdir:
        logdir = Path(args.logdir)
    elif args.module:
        m = find_module(args.module)
        logdir = ROOT / "outputs" / m.id / "logs"
    else:
        logdir = ROOT / "outputs"
    if not logdir.exists():
        console.print(
            f"no logs in {logdir} yet: run a lesson first (`workshop run 6 --solution --quick`)",
            markup=False,
        )
        return 1
    port = args.port or distributed.free_ports(1)[0]
    console.print(
        f"TensorBoard on http://127.0.0.1:{port}/ for {logdir} (only this machine can open it; "
        "Ctrl-C stops)",
        markup=False,
    )
    command = [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--reload_interval", "5"]
    from workshop.grading import procs

    # TensorBoard dies with this command, however it ends (Ctrl-C, SIGTERM, a
    # killed terminal): an orphan would keep the port and a core busy.
    server = subprocess.Popen(
        command, preexec_fn=procs.die_with_parent if os.name == "posix" else None
    )
    previous = signal.signal(signal.SIGTERM, lambda *_: server.terminate())
    try:
        return server.wait()
    except KeyboardInterrupt:
        server.terminate()
        server.wait(timeout=20)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


def _add_cluster(sub) -> None:
    s = sub.add_parser(
        "cluster", help="train a lesson on N local workers (MultiWorkerMirroredStrategy)"
    )
    s.add_argument("module", help="a lesson that trains with the cluster path, e.g. 6 (LeNet)")
    s.add_argument("--workers", type=int, default=2)
    s.add_argument("--solution", action="store_true", help="the reference solution")
    s.add_argument("--quick", action="store_true", help="tiny settings: seconds")
    s.add_argument("--offline", action="store_true", help="never download: cache or stand-in")
    s.add_argument("--out-dir", help="default outputs/cluster/<module>")
    s.add_argument("--timeout", type=float, default=900, help="seconds before workers are stopped")
    s.set_defaults(func=cmd_cluster)


def cmd_cluster(args) -> int:
    from workshop import backend, distributed

    m = find_module(args.module)
    script = m.solution_path() if args.solution else m.exercise_path()
    if not backend.is_tensorflow():
        if not backend.installed("tensorflow"):
            raise ValueError(
                "workshop cluster trains with tf.distribute, TensorFlow's, which is not "
                f"installed here ({backend.INSTALL['tensorflow']}); under {backend.name()}, "
                "one machine's devices train together with keras.distribution (README, Scaling)"
            )
        console.print(
            f"tf.distribute is TensorFlow's: the workers run on tensorflow, not {backend.name()}",
            markup=False,
        )
        os.environ["KERAS_BACKEND"] = "tensorflow"
    out = Path(args.out_dir or f"outputs/cluster/{m.id}")
    if not out.is_absolute():
        out = ROOT / out
    out.mkdir(parents=True, exist_ok=True)
    extra = (["--quick"] if args.quick else []) + (["--offline"] if args.offline else [])
    console.print(
        f"{args.workers} local workers on loopback ports train {script.relative_to(ROOT)} "
        f"together (TF_CONFIG set for each); logs in {out}/worker-N.log",
        markup=False,
    )
    results = distributed.launch(script, args.workers, extra, out, timeout=args.timeout)
    digests = set()
    for i, (code, output) in enumerate(results):
        tail = [ln for ln in output.splitlines() if ln.startswith(f"[worker {i}]")][-3:]
        metrics = out / f"worker-{i}" / "metrics.json"
        digest = None
        if metrics.exists():
            digest = json.loads(metrics.read_text()).get("weights_sha256")
        digests.add(digest)
        state = "ok" if code == 0 else f"failed (exit {code})"
        console.print(f"worker {i}: {state}; final weights {digest}", markup=False)
        for line in tail:
            console.print(f"    {line}", markup=False)
        if code != 0:
            console.print(output[-1500:], markup=False)
    same = len(digests) == 1 and None not in digests
    ok = all(code == 0 for code, _ in results) and same
    console.print(
        "[green]all workers ended with the same weights[/]"
        if same
        else "[red]the workers' weights differ (or a worker failed)[/]"
    )
    return 0 if ok else 1


# Each command's name and the function that adds it, with its options, to `workshop`.
COMMANDS = {
    "env": _add_env,
    "tensorboard": _add_tensorboard,
    "cluster": _add_cluster,
}
