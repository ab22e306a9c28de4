"""The judge's entry point: start the worker first, then pytest with the grading plugin.

    python -m workshop.grading.judge_main CONTROL_FD PYTEST_ARGS...

The first line on the control pipe is the run's settings (the worker to
start, the report pipe, a one-time key): nothing secret is on the command
line or in the environment, where the worker could read it, and the line is
read before the worker exists. The worker is started before pytest is even
imported, so the two processes load their libraries side by side.
"""

from __future__ import annotations

import json
import os
import sys


def main(argv: list[str]) -> int:
    from workshop.grading import procs, spawn

    # Whatever the worker detaches (a double fork, a new session) is re-parented
    # to this process, not to init, and dies with the check (see the plugin).
    procs.become_subreaper()
    control = os.fdopen(int(argv[0]), "r", encoding="utf-8")
    settings = json.loads(control.readline())
    spec = spawn.WorkerSpec(**settings["spec"])
    spawn.SETTINGS = (settings, control)
    spawn.PRESTARTED = spawn.start_process(
        spec, stack_fd=settings.get("stack_fd"), output=settings.get("output_fd")
    )
    import pytest

    return pytest.main([*argv[1:], "-p", "workshop.grading.plugin"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
