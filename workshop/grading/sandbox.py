"""The bubblewrap sandbox a worker runs in under `workshop grade` (and `workshop check --sandbox`).

Inside: the system, Python, the virtual environment and the `workshop`
package, all read-only; a private writable folder with just this
submission's file; an empty /tmp of its own (on disk); no network (`--unshare-all`); its own
PID namespace, so every process the attendee's code starts dies with it
(`--die-with-parent`), and it cannot see or signal the grader. No tests, no
solutions, no other submissions, no CSV.
"""

from __future__ import annotations

import functools
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

INSIDE = "/submission"  # where the private folder appears inside the sandbox

INSTALL_HINT = (
    "The sandbox needs bubblewrap (`bwrap`): on Debian/Ubuntu `sudo apt-get install bubblewrap`, "
    "on Fedora `sudo dnf install bubblewrap`, on Arch `sudo pacman -S bubblewrap`. It keeps each "
    "submission away from the checks, the solutions, the other submissions and the grades file, "
    "cuts the network, and kills every process a submission starts when its check ends."
)


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


@functools.lru_cache(maxsize=1)
def available() -> tuple[bool, str]:
    """(True, '') when a bubblewrap sandbox can start here; else (False, why)."""
    if not sys.platform.startswith("linux"):
        return False, f"bubblewrap runs on Linux only (this is {sys.platform})"
    bwrap = bwrap_path()
    if bwrap is None:
        return False, "bwrap is not installed"
    probe = [bwrap, *_base_args(), "--", sys.executable, "-c", "print('ok')"]
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"bwrap could not start: {exc}"
    if done.returncode != 0 or "ok" not in done.stdout:
        return False, f"bwrap could not start a sandbox here: {done.stderr.strip()[:300]}"
    return True, ""


def _readonly_paths() -> list[Path]:
    """What the worker must see: system folders, Python, the environment and `workshop/`."""
    import workshop

    candidates = [Path(p) for p in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc")]
    candidates += [Path(sys.base_prefix), Path(sys.prefix), Path(sys.exec_prefix)]
    candidates += [Path(sys.executable).parent, Path(os.path.realpath(sys.executable)).parent]
    candidates += [Path(p) for p in site.getsitepackages()]
    candidates.append(Path(workshop.__file__).resolve().parent)
    seen: list[Path] = []
    for path in candidates:
        if not path.exists():
            continue
        path = Path(os.path.abspath(path))
        if any(path == s or s in path.parents for s in seen):
            continue
        seen = [s for s in seen if path not in s.parents]
        seen.append(path)
    return sorted(seen)


def _base_args(tmp: Path | None = None) -> list[str]:
    """bubblewrap's options; `tmp` becomes /tmp, mounted BEFORE the read-only folders (a
    project or environment that lives under /tmp must stay visible over it)."""
    args = [
        "--unshare-all",  # network, IPC, PID, UTS, cgroup and (where allowed) user namespaces
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--hostname",
        "sandbox",
    ]
    if tmp is not None:
        args += ["--bind", str(tmp), "/tmp"]
    for path in _readonly_paths():
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        else:
            args += ["--ro-bind", str(path), str(path)]
    return args


def wrap(command: list[str], private_dir: Path, env: dict[str, str]) -> list[str]:
    """`command` run inside the sandbox, with `private_dir` writable at /submission."""
    bwrap = bwrap_path()
    if bwrap is None:
        raise RuntimeError(INSTALL_HINT)
    tmp = private_dir.parent / "tmp"  # on disk, not in memory: a submission can fill it
    tmp.mkdir(exist_ok=True)
    args = [bwrap, *_base_args(tmp), "--bind", str(private_dir), INSIDE, "--chdir", INSIDE]
    args.append("--clearenv")
    for key, value in env.items():
        args += ["--setenv", key, value]
    return [*args, "--", *command]
