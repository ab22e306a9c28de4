"""Set up and run the workshop in one command (creates .venv and installs when needed).

    python3 scripts/dev.py demo    # the workshop demo: every lesson, quick and offline
    python3 scripts/dev.py test    # lint, then every test (solutions graded, stubs proven to fail),
                                   # then the Keras lessons' checks again on JAX
    python3 scripts/dev.py setup   # only create/refresh the environment

Works on Linux, macOS and Windows (`py scripts\\dev.py demo`). The environment
is rebuilt only when requirements.txt or pyproject.toml change.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("WORKSHOP_VENV", ROOT / ".venv"))
STAMP = VENV / ".workshop-installed"


def _bin(name: str) -> Path:
    folder = "Scripts" if os.name == "nt" else "bin"
    suffix = ".exe" if os.name == "nt" else ""
    return VENV / folder / f"{name}{suffix}"


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for name in ("requirements.txt", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def _run(cmd: list, **kw) -> int:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.call([str(c) for c in cmd], cwd=ROOT, **kw)


def setup() -> None:
    """Create .venv and install requirements.txt plus the `workshop` command, if needed."""
    if sys.version_info < (3, 11):  # noqa: UP036 - run by any python3, before the venv exists
        sys.exit(f"Python 3.11 or newer is needed (NumPy 2.4), this is {sys.version.split()[0]}")
    if not _bin("python").exists():
        print(f"creating a virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if STAMP.exists() and STAMP.read_text().strip() == _fingerprint():
        return
    py = _bin("python")
    steps = [
        [py, "-m", "pip", "install", "--disable-pip-version-check", "-q", "-r", "requirements.txt"],
        [py, "-m", "pip", "install", "--disable-pip-version-check", "-q", "--no-deps", "-e", "."],
    ]
    for step in steps:
        if _run(step) != 0:
            sys.exit("installing failed: see the pip output above")
    STAMP.write_text(_fingerprint() + "\n")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test", "setup"):
        print(__doc__)
        return 2
    setup()
    command, rest = argv[0], argv[1:]
    env = dict(os.environ, MPLBACKEND="Agg")
    if command == "setup":
        print(next_steps())
        return 0
    if command == "demo":
        return _run([_bin("workshop"), "demo", *rest], env=env)
    # test: lint and format first (fast), then the whole suite.
    ruff = _bin("ruff")
    failed = _run([ruff, "check", "."]) != 0
    failed |= _run([ruff, "format", "--check", "."]) != 0
    code = _run(
        [_bin("python"), "-m", "pytest", "--target=solutions", *_parallel(), *rest], env=env
    )
    if not _names_tests(rest):  # the whole suite: the Keras lessons on JAX as well
        jax_env = dict(env, KERAS_BACKEND="jax")
        lessons = [f"tests/test_{stem}.py" for stem in keras_lessons()]
        print(
            f"+ KERAS_BACKEND=jax: the grading checks of {len(lessons)} Keras lessons", flush=True
        )
        code |= _run(
            [_bin("python"), "-m", "pytest", "--target=solutions", *_parallel(), *rest, *lessons],
            env=jax_env,
        )
    return code or int(failed)


# Keras lessons whose solutions do not yet run and grade under JAX (none today). Add a
# lesson here only while it is being converted to keras.ops and backend-neutral pipelines;
# remove it once `KERAS_BACKEND=jax python -m pytest tests/test_<lesson>.py
# --target=solutions` passes.
TF_ONLY_FOR_NOW: set[str] = set()


def keras_lessons() -> list[str]:
    """The lessons whose grading imports Keras (catalog: tf = true), less TF_ONLY_FOR_NOW."""
    import tomllib

    catalog = tomllib.loads((ROOT / "workshop" / "catalog.toml").read_text(encoding="utf-8"))
    return [
        m["id"]
        for m in catalog["module"]
        if m.get("tf")
        and m["id"] not in TF_ONLY_FOR_NOW
        and (ROOT / "tests" / f"test_{m['id']}.py").exists()
    ]


def _names_tests(args: list[str]) -> bool:
    """Whether pytest's arguments choose test files or folders (then no second pass runs)."""
    return any((ROOT / a.split("::")[0]).exists() for a in args if not a.startswith("-") and a)


def next_steps() -> str:
    """What to type after the set-up: activate the environment, then the first command."""
    if os.name == "nt":
        activate = rf"{VENV}\Scripts\activate"
    else:
        activate = f"source {os.path.relpath(VENV / 'bin' / 'activate', Path.cwd())}"
    return (
        "The environment is ready. Next:\n"
        f"    {activate}\n"
        "    workshop env     # what this machine has: Python, Keras, the GPU, the data\n"
        "    workshop list    # the lessons; then open exercises/ex00_gpu_setup.py"
    )


def _parallel() -> list[str]:
    """pytest-xdist flags: one test file per worker, a worker per core (at most 4, 4 GB each).

    Most tests wait on TensorFlow starting in a subprocess; two workers on
    two cores take the suite from about 15 to about 11 minutes. A file stays
    on one worker, so the lesson each grading file starts is started once.
    """
    try:
        memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (AttributeError, ValueError, OSError):  # Windows: no sysconf
        memory_gb = 8.0
    jobs = max(1, min(os.cpu_count() or 1, 4, int(memory_gb // 4)))
    return ["-n", str(jobs), "--dist", "loadfile"] if jobs > 1 else []


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
