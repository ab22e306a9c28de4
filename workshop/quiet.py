"""TensorFlow's start-up chatter, kept out of what attendees read; real errors still shown.

Importing TensorFlow prints a dozen lines from its C++ core (absl's
"WARNING: All log messages before absl::InitializeLog()...", oneDNN and CPU
feature notices, "Could not find cuda drivers", "failed call to cuInit" on a
machine without a GPU). None of it is actionable in a workshop, and a room
of beginners reads it as an error next to "GPU: none, the CPU will do".

`install()` (done when `workshop` is imported) makes the first import of
TensorFlow, and `during()` blocks such as device discovery, send the C++
output through a filter: the known start-up lines are dropped, anything
else is printed as it was. `WORKSHOP_TF_LOGS=1` (or `-v` on `workshop run`
and `env`) shows everything.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import os
import re
import sys
import tempfile

ENV = "WORKSHOP_TF_LOGS"
NOISE = [
    re.compile(p)
    for p in (
        r"^WARNING: All log messages before absl::InitializeLog\(\) is called",
        r"^[IW]\d{4} \d\d:\d\d:[\d.]+ +\d+ \S+\] ",  # absl INFO and WARNING lines
        r"cuda_platform\.cc:\d+\] failed call to cuInit",  # no GPU: not an error here
        r"oneDNN custom operations are on",
        r"Could not find cuda drivers on your machine",
        r"This TensorFlow binary is optimized to use available CPU instructions",
        r"^To enable the following instructions: .* rebuild TensorFlow",
        r"Unable to register cu(DNN|FFT|BLAS) factory",
        r"computation placer already registered",
        r"TF-TRT Warning: Could not find TensorRT",
    )
]


def enabled() -> bool:
    return os.environ.get(ENV, "").lower() not in ("1", "true", "yes")


def is_noise(line: str) -> bool:
    return any(p.search(line) for p in NOISE)


@contextlib.contextmanager
def during():
    """Inside the block, C++ output on stderr is filtered; the rest is printed after it."""
    if not enabled():
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (some notebook front ends): nothing to filter
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(ValueError, OSError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = [
                line
                for line in capture.read().decode("utf-8", "replace").splitlines(keepends=True)
                if not is_noise(line)
            ]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


_AFTER_IMPORT: list = []  # callbacks run with the module once TensorFlow is imported


class _Finder(importlib.abc.MetaPathFinder):
    """Loads `tensorflow` inside `during()` (whoever imports it first: a lesson, Keras)."""

    def __init__(self):
        self.busy = False

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow" or self.busy:
            return None
        self.busy = True
        try:
            spec = importlib.util.find_spec(name)
        finally:
            self.busy = False
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            with during():
                run(module)
                # The first look at the devices is where CUDA reports a missing GPU
                # ("failed call to cuInit"): do it here, inside the filter. Listing
                # physical devices does not start TensorFlow's runtime, so a cluster's
                # strategy can still be created afterwards.
                with contextlib.suppress(Exception):
                    module.config.list_physical_devices("GPU")
            for callback in _AFTER_IMPORT:
                callback(module)

        spec.loader.exec_module = exec_module
        return spec


def _add_finder() -> None:
    if "tensorflow" not in sys.modules and not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


def install() -> None:
    """Quiet TensorFlow's start-up for this process (unless WORKSHOP_TF_LOGS=1)."""
    if not enabled():
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # C++ INFO and WARNING; errors still show
    _add_finder()


def after_import(callback) -> None:
    """Call `callback(tensorflow)` once TensorFlow is imported: now, if it is already."""
    module = sys.modules.get("tensorflow")
    if module is not None and hasattr(module, "config"):
        callback(module)
        return
    _AFTER_IMPORT.append(callback)
    _add_finder()
