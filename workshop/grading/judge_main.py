"""The judge's entry point: start the worker first, then pytest with the grading plugin.

    python -m workshop.grading.judge_main PYTEST_ARGS...

The first line on standard input is the run's settings (the worker to
start, a one-time key): nothing secret is on the command line or in the
environment, where the worker could read it, and the line is read before
the worker exists; a later line `go` starts the checks when the runner
keeps the judge waiting. Verdicts go to standard output, signed; anything
else the judge prints goes to standard error. The worker is started before
pytest is even imported, so the two processes load their libraries side by
side.
"""

from __future__ import annotations

import json
import os
import sys


def main(argv: list[str]) -> int:
    from workshop.grading import procs, spawn

    # The key arrives next, on stdin: from now on the worker (same user, not
    # sandboxed under `workshop check`) cannot read this process's memory.
    procs.protect_memory()
    # Whatever the worker detaches (a double fork, a new session) is re-parented
    # to this process, not to init, and dies with the check (see the plugin).
    procs.become_subreaper()
    procs.quick_tensorflow()
    # Our own copies of stdin and stdout: pytest's capturing replaces fds 0 and 1.
    control = os.fdopen(os.dup(0), "r", encoding="utf-8")
    report = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)  # whatever prints to stdout from now on lands in stderr
    sys.stdout = sys.stderr
    settings = json.loads(control.readline())
    spec = spawn.WorkerSpec(**settings["spec"])
    spawn.SETTINGS = (settings, control, report)
    spawn.PRESTARTED = spawn.start_process(
        spec, stack=settings.get("stack"), output=settings.get("output_fd")
    )
    import pytest

    return pytest.main([*argv, "-p", "workshop.grading.plugin"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
