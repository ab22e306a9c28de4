"""The worker: the only process in which attendee code runs. It answers the judge with data.

Started by the judge (`python -m workshop.grading.worker --fd N`), often
inside a bubblewrap sandbox. It imports the lesson when asked, then serves
requests: read a module attribute, call a function, read or set an
attribute of an object it holds, run a scenario (check code sent by the
judge that needs attendee code in context). Answers are plain data
(`workshop.grading.wire`); anything else stays here and the judge gets a
handle to it. Nothing here decides a grade: the worker can lie only about
its own answers.
"""

from __future__ import annotations

import argparse
import contextlib
import faulthandler
import importlib.util
import os
import random
import select
import socket
import sys
import textwrap
import threading
import types
from pathlib import Path

import numpy as np

from workshop.grading import procs, wire
from workshop.grading.loader import import_file

MAX_LIST = 1_000_000
IDLE_IMPORT_AFTER = 0.25  # seconds without a request before Keras is loaded
_HERE = {str(Path(__file__).resolve()), str(Path(wire.__file__).resolve())}


def _same(old, new) -> bool:
    try:
        return old.shape == new.shape and bool(np.array_equal(old, new, equal_nan=True))
    except Exception:
        return False


def _argument_names(function, keys: list) -> list[str]:
    """Parameter names for positional indices (keywords keep their own)."""
    import inspect

    try:
        params = list(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        params = []
    return [params[k] if isinstance(k, int) and k < len(params) else str(k) for k in keys]


def _loaded(name: str):
    """A module, only once its import has finished (TensorFlow loads in a background thread)."""
    module = sys.modules.get(name)
    if module is None or getattr(getattr(module, "__spec__", None), "_initializing", False):
        return None
    return module


def _drop_project_root() -> None:
    """Attendee code imports `workshop` and the libraries, never the solutions or the checks."""
    import workshop

    root = Path(workshop.__file__).resolve().parent.parent
    kept = []
    for entry in sys.path:
        try:
            same = Path(entry or ".").resolve() == root
        except OSError:
            same = False
        if not same:
            kept.append(entry)
    sys.path[:] = kept


class _Watchdog(threading.Thread):
    """Write the main thread's stack to the runner every `interval` seconds.

    The runner keeps the last dumps and names the line a timed-out check was
    running. A thread, not a signal, so attendee code that installs its own
    handlers or blocks signals cannot stop it; Python-level (not
    faulthandler's dumper, which reads other threads' frames without the
    lock and can crash while TensorFlow is being imported).
    """

    def __init__(self, fd: int, interval: float):
        super().__init__(name="stack-watchdog", daemon=True)
        self.fd, self.interval = fd, interval
        self.main = threading.main_thread().ident

    def run(self) -> None:
        import time
        import traceback

        while True:
            time.sleep(self.interval)
            frame = sys._current_frames().get(self.main)
            if frame is None:
                return
            lines = ["Stack (most recent call first):"]
            for f in reversed(traceback.extract_stack(frame)[-100:]):
                lines.append(f'  File "{f.filename}", line {f.lineno} in {f.name}')
            try:
                os.write(self.fd, ("\n".join(lines) + "\n").encode("utf-8", "replace"))
            except OSError:
                return


class Worker:
    def __init__(self, sock: socket.socket, stack_fd: int | None = None, preload: str = "numpy"):
        self.sock = sock
        self.preload = preload
        self.notes: dict | None = None  # what a request noticed (an argument changed in place)
        self.stack_fd = stack_fd
        self.module: types.ModuleType | None = None
        self.path: str | None = None
        self.display = "your file"
        self.objects: dict[int, object] = {}
        self.encode = wire.Encoder(self._other)
        self.decode = wire.Decoder(
            remote=self._lookup,
            keras=self._model_from_judge,
            namespace=lambda fields: types.SimpleNamespace(**fields),
            rng=self._rng,
        )

    # ------------------------------------------------------------------ values

    def _lookup(self, ref: int, _type: str, _callable: bool):
        if ref == 0 and self.module is not None:
            return self.module
        try:
            return self.objects[ref]
        except KeyError:
            raise wire.ProtocolError(f"no object #{ref} here") from None

    @staticmethod
    def _model_from_judge(payload: dict):
        from workshop.grading import models

        return models.from_payload(payload)

    @staticmethod
    def _rng(state: dict):
        import numpy as np

        name = state.get("bit_generator", "PCG64")
        bit = getattr(np.random, name)()
        bit.state = state
        return np.random.Generator(bit)

    def _other(self, value, depth: int):
        """How a value that is not plain data crosses: record, model, array, or a handle."""
        t = type(value)
        if wire.is_record(value):
            import dataclasses

            fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
            return self.encode.record(t.__name__, fields, depth)
        if isinstance(value, tuple) and isinstance(getattr(t, "_fields", None), tuple):
            fields = dict(zip(t._fields, tuple.__iter__(value), strict=False))
            return self.encode.record(t.__name__, fields, depth)
        keras = _loaded("keras")
        if keras is not None:
            if isinstance(value, keras.Model):
                from workshop.grading import models

                return self.encode.keras(models.to_payload(value), depth)
            if isinstance(value, keras.callbacks.History):
                fields = {
                    "history": dict(value.history),
                    "epoch": list(value.epoch),
                    "params": dict(value.params or {}),
                }
                return self.encode.record("History", fields, depth)
            if isinstance(value, keras.Variable):
                return self.encode(keras.ops.convert_to_numpy(value), depth)
        tf = _loaded("tensorflow")
        if tf is not None and isinstance(value, (tf.Tensor, tf.Variable)):
            try:
                return self.encode(value.numpy(), depth)
            except Exception:
                pass
        if isinstance(value, list) and t is not list:
            return self.encode(list(list.__iter__(value)), depth)
        if isinstance(value, tuple) and t is not tuple:
            return self.encode(tuple(tuple.__iter__(value)), depth)
        if isinstance(value, dict) and t is not dict:
            return self.encode(dict(dict.items(value)), depth)
        ref = len(self.objects) + 1
        self.objects[ref] = value
        name, line = self._where(value)
        return self.encode.remote(ref, t.__name__, callable(value), name, line)

    def _where(self, value) -> tuple[str | None, int | None]:
        """A function's name, and its line when it is defined in the attendee's file."""
        if not callable(value):
            return None, None
        name = getattr(value, "__qualname__", None) or getattr(value, "__name__", None)
        code = getattr(value, "__code__", None) or getattr(
            getattr(value, "__func__", None), "__code__", None
        )
        line = None
        if code is not None and self.path is not None and code.co_filename == self.path:
            line = code.co_firstlineno
        return (name if isinstance(name, str) else None), line

    # ------------------------------------------------------------------ frames

    def _keep_frame(self, filename: str):
        if filename in _HERE:
            return None
        if self.path is not None and filename == self.path:
            return self.display, True
        return filename, False

    # ------------------------------------------------------------------ requests

    def op_load(self, path: str, display: str, module_id: str, stack_after: float = 0.0):
        self.path, self.display = str(Path(path).resolve()), display
        if self.stack_fd is not None and stack_after > 0:
            _Watchdog(self.stack_fd, stack_after).start()
        self.module = import_file(module_id, self.path)
        return None

    def op_get(self, ref: int, name: str):
        return getattr(self._lookup(ref, "", False), name)

    def op_set(self, ref: int, name: str, value):
        setattr(self._lookup(ref, "", False), name, self.decode(value))

    def op_call(self, ref: int, args: list, kwargs: dict):
        function = self._lookup(ref, "", True)
        args, kwargs = self.decode(args), self.decode(kwargs)
        before = [
            (k, v.copy()) for k, v in [*enumerate(args), *kwargs.items()] if type(v) is np.ndarray
        ]
        result = function(*args, **kwargs)
        changed = [
            k for k, old in before if not _same(old, args[k] if isinstance(k, int) else kwargs[k])
        ]
        if changed:  # an in-place update (w += ...) changed the caller's array
            name, line = self._where(function)
            self.notes = {"changed": _argument_names(function, changed), "func": name, "line": line}
        return result

    def op_getitem(self, ref: int, key):
        return self._lookup(ref, "", False)[self.decode(key)]

    def op_len(self, ref: int):
        return len(self._lookup(ref, "", False))

    def op_list(self, ref: int):
        items = []
        for item in self._lookup(ref, "", False):
            items.append(item)
            if len(items) > MAX_LIST:
                raise ValueError(f"more than {MAX_LIST} items: is it endless?")
        return items

    def op_scenario(self, source: str, name: str, args: list, kwargs: dict):
        namespace = {"__name__": f"scenario_{name}"}
        exec(compile(textwrap.dedent(source), f"<check {name}>", "exec"), namespace)
        return namespace[name](self.module, *self.decode(args), **self.decode(kwargs))

    def op_seed(self, seed: int):
        random.seed(seed)
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed(seed)
        if "keras" in sys.modules:
            import keras  # waits for the import under way, if any

            keras.utils.set_random_seed(seed)

    def _wait_for_request(self) -> None:
        """While the judge is busy, import Keras if the checks will want it."""
        if self.preload != "tf" or self.module is None or "keras" in sys.modules:
            return
        ready, _, _ = select.select([self.sock], [], [], IDLE_IMPORT_AFTER)
        if not ready:
            _import_quietly("keras")

    def serve(self) -> None:
        while True:
            self._wait_for_request()
            try:
                message = wire.recv(self.sock)
            except (EOFError, OSError):
                return  # the judge is gone
            op = message.get("op")
            if op == "bye":
                return
            handler = getattr(self, f"op_{op}", None)
            try:
                if handler is None:
                    raise wire.ProtocolError(f"unknown request {op!r}")
                fields = {k: v for k, v in message.items() if k != "op"}
                self.notes = None
                reply = {"ok": True, "value": self.encode(handler(**fields))}
                if self.notes:
                    reply["notes"] = self.notes
            except BaseException as exc:  # everything goes back as data
                if isinstance(exc, KeyboardInterrupt):
                    raise
                reply = {"ok": False, "error": wire.describe_exception(exc, self._keep_frame)}
            try:
                wire.send(self.sock, reply)
            except wire.WireTypeError as exc:
                wire.send(
                    self.sock,
                    {"ok": False, "error": wire.describe_exception(exc, self._keep_frame)},
                )


def _import_quietly(name: str) -> None:
    with contextlib.suppress(Exception):  # whoever needs it will import it and see the error
        importlib.import_module(name)


def _preload(kind: str) -> None:
    """Import what the checks need while the judge starts.

    "tf-now" imports Keras before the lesson is asked for (a lesson that
    imports TensorFlow at its top, or `workshop watch` keeping a worker
    ready); with "tf" Keras is imported only when the worker has been idle
    for a moment (the judge is busy), so the NumPy checks of a TensorFlow
    lesson, and an untouched stub, answer at once. Always in the main
    thread: two threads importing TensorFlow at once can deadlock.
    """
    import numpy  # noqa: F401

    if kind == "tf-now":
        _import_quietly("keras")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fd", type=int, help="the socket to the judge")
    parser.add_argument(
        "--connect", help="HOST:PORT of the judge (where sockets cannot be inherited)"
    )
    parser.add_argument("--stack-fd", type=int, help="where stack dumps go")
    parser.add_argument("--stack-file", help="where stack dumps go (where descriptors cannot)")
    parser.add_argument("--preload", choices=["numpy", "tf", "tf-now"], default="numpy")
    args = parser.parse_args(argv)
    if args.connect:
        from workshop.grading.spawn import TOKEN_ENV

        host, port = args.connect.rsplit(":", 1)
        sock = socket.create_connection((host, int(port)))
        sock.sendall((os.environ.pop(TOKEN_ENV, "") + "\n").encode())
    else:
        sock = socket.socket(fileno=args.fd)
    stack_fd = args.stack_fd
    if args.stack_file:
        stack_fd = os.open(args.stack_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    if stack_fd is not None:
        faulthandler.enable(file=stack_fd)  # a crash in C code still says where
    _drop_project_root()
    procs.quick_tensorflow()
    _preload(args.preload)
    Worker(sock, stack_fd, args.preload).serve()
    sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
