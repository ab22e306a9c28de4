"""Start a worker process, importing nothing heavy: the judge calls this before loading pytest.

The worker's environment is small and explicit (nothing of the judge's: no
keys, no paths to the checks), its address space is limited where asked,
it runs in a session of its own, and under `sandbox=True` inside
bubblewrap (`workshop.grading.sandbox`).
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

#: Set by `workshop.grading.judge_main` before pytest loads, picked up by the
#: plugin: the run's settings with the control pipe, and the worker it
#: started (socket, process).
SETTINGS: tuple[dict, object, object] | None = None  # settings, control in, report out
PRESTARTED: tuple[socket.socket, subprocess.Popen] | None = None


@dataclass
class WorkerSpec:
    """How to start a worker: which file it grades, and under which limits."""

    lesson_path: str  # the file to import (a private copy when grading)
    module_id: str
    display: str  # how messages name the file, e.g. exercises/ex01_perceptron.py
    preload: str = "numpy"  # "tf": Keras when idle; "tf-now": Keras at once
    memory_mb: int = 0  # address-space limit (0: none; TensorFlow needs none)
    sandbox: bool = False
    private_dir: str | None = None  # with sandbox: the folder mounted writable
    stack_after: float = 0.0  # seconds between stack dumps (0: none)
    env: dict[str, str] = field(default_factory=dict)

    def worker_path(self) -> str:
        """Where the worker finds the lesson (inside the sandbox it sits in /submission)."""
        if self.sandbox:
            from workshop.grading import sandbox

            return f"{sandbox.INSIDE}/{Path(self.lesson_path).name}"
        return self.lesson_path


def worker_env(spec: WorkerSpec, home: str) -> dict[str, str]:
    """A small, explicit environment: nothing of the judge's (no keys, no paths to the checks)."""
    keep = (
        "PATH",
        "LANG",
        "LC_ALL",
        "SYSTEMROOT",
        "TZ",
        "CUDA_VISIBLE_DEVICES",
        "KERAS_BACKEND",
        "OPENBLAS_NUM_THREADS",
    )
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(
        HOME=home,
        TMPDIR=home,
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONUNBUFFERED="1",
        PYTHONNOUSERSITE="1",
        PYTHONSAFEPATH="1",  # the working folder is not on sys.path
        MPLBACKEND="Agg",
        MPLCONFIGDIR=str(Path(home) / "matplotlib"),
        KERAS_HOME=str(Path(home) / "keras"),
        WORKSHOP_OFFLINE="1",  # grading never downloads: the stand-ins are the data
        TF_CPP_MIN_LOG_LEVEL="3",
        PYTHONIOENCODING="utf-8",
    )
    env.update(spec.env)
    return env


TOKEN_ENV = "WORKSHOP_WORKER_TOKEN"  # what a worker says first when it dials back (TCP)
CONNECT_SECONDS = 60
MAX_FILE_MB = 512  # no file a lesson writes comes close; a bigger one ends the worker (SIGXFSZ)


def _limits(memory_mb: int, sandbox: bool = False):
    def apply():  # in the child, before exec
        if sys.platform.startswith("linux"):
            import ctypes
            import resource

            from workshop.grading import procs

            ctypes.CDLL(None).prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG: die with the judge
            if not sandbox:  # bubblewrap needs its capabilities; its namespaces hide the judge
                procs.drop_ptrace()
            if memory_mb:
                limit = memory_mb * 2**20
                resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            size = MAX_FILE_MB * 2**20
            resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return apply


def use_tcp() -> bool:
    """Windows cannot hand a socket to a child: the worker dials back over loopback TCP there.

    WORKSHOP_TRANSPORT=tcp does the same elsewhere (the tests use it, so the
    Windows path runs on every CI run). Never in the sandbox, which has no
    network at all.
    """
    return os.name == "nt" or os.environ.get("WORKSHOP_TRANSPORT") == "tcp"


def start_process(
    spec: WorkerSpec, stack: int | str | None = None, output=None
) -> tuple[socket.socket, subprocess.Popen]:
    """Start a worker process for `spec`: (the judge's end of its socket, the process).

    `stack` is where its stack dumps go (a pipe's file descriptor, or a file's
    path where descriptors cannot be handed down); `output` its stdout.
    """
    from workshop.grading import sandbox

    tcp = use_tcp() and not spec.sandbox
    fds = []
    command = [
        sys.executable,
        "-s",  # no user site-packages
        "-u",  # unbuffered: what it printed before a crash is kept
        "-m",
        "workshop.grading.worker",
        "--preload",
        spec.preload,
    ]
    if tcp:
        listener = socket.create_server(("127.0.0.1", 0))
        token = secrets.token_hex(16)
        command += ["--connect", f"127.0.0.1:{listener.getsockname()[1]}"]
    else:
        judge_end, worker_end = socket.socketpair()
        fds.append(worker_end.fileno())
        command += ["--fd", str(worker_end.fileno())]
    if isinstance(stack, int):
        fds.append(stack)
        command += ["--stack-fd", str(stack)]
    elif isinstance(stack, str):
        command += ["--stack-file", stack]
    if spec.sandbox:
        env = worker_env(spec, "/tmp")
        command = sandbox.wrap(command, Path(spec.private_dir), env)
        cwd = spec.private_dir
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    else:
        home = spec.private_dir or os.getcwd()
        env = worker_env(spec, home)
        cwd = spec.private_dir or home
        if tcp:
            env[TOKEN_ENV] = token
    kwargs = {}
    if os.name == "posix":
        kwargs["preexec_fn"] = _limits(spec.memory_mb, spec.sandbox)
        kwargs["start_new_session"] = True
        kwargs["pass_fds"] = fds
    else:  # pragma: no cover - Windows
        kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT if output is not None else None,
        **kwargs,
    )
    if not tcp:
        worker_end.close()
        return judge_end, proc
    return _accept(listener, token, proc), proc


def _accept(listener: socket.socket, token: str, proc: subprocess.Popen) -> socket.socket:
    """The worker's connection, once it has said the token (anyone else is turned away)."""
    deadline = time.monotonic() + CONNECT_SECONDS
    listener.settimeout(0.5)
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                sock, _ = listener.accept()
            except TimeoutError:
                continue
            sock.settimeout(5)
            try:
                hello = sock.recv(len(token) + 1)
            except OSError:
                hello = b""
            if hello == (token + "\n").encode():
                sock.settimeout(None)
                return sock
            sock.close()
    finally:
        listener.close()
    # The worker did not call back: the judge's first request says it is gone.
    dead, other = socket.socketpair()
    other.close()
    return dead
