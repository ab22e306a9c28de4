"""The judge's side of grading: start a worker, talk to it, and give checks a `lesson` to call.

A grading check reads as if the lesson were imported (`lesson.hardlim(x)`),
but `lesson` is a `Lesson` proxy: every attribute read and call is a request
to the worker process, and every answer is decoded into plain data
(`workshop.grading.wire`). Attendee code never runs in this process, so
nothing it does can touch the assertions, pytest or the report.

Where a check needs attendee code in context (a callback inside `fit`, a
patched clock), it sends a *scenario*: a function written in the test file,
decorated with `@scenario`, whose source runs in the worker with the real
lesson module as its first argument and returns data.
"""

from __future__ import annotations

import inspect
import os
import socket
import subprocess
import sys
import textwrap
import types

from workshop.grading import reuse, spawn, wire
from workshop.grading.spawn import WorkerSpec


class WorkerGone(RuntimeError):
    """The worker process ended (or broke the protocol) before answering."""

    def __init__(self, message: str, returncode: int | None = None):
        super().__init__(message)
        self.returncode = returncode


class Connection:
    """The judge's end of the socket to one worker."""

    def __init__(self, sock: socket.socket, proc: subprocess.Popen | None):
        self.sock = sock
        self.proc = proc
        self.gone: WorkerGone | None = None
        self.encode = wire.Encoder(self._other)
        self.decode = wire.Decoder(remote=self._remote, keras=self._model)
        self.notes: dict[str, list] = {}  # what the current check saw (reset per check)
        self.used: set[str] = set()  # the lesson's names the current check asked for

    def _remote(self, ref: int, type_name: str, is_callable: bool, name=None, line=None):
        return wire.Remote(self, ref, type_name, is_callable, name, line)

    def note(self, kind: str, what: dict) -> None:
        """Remember something about the attendee's code for the current check's message."""
        entries = self.notes.setdefault(kind, [])
        if what not in entries and len(entries) < 20:
            entries.append(what)

    @staticmethod
    def _model(payload: dict):
        from workshop.grading import models

        return models.from_payload(payload)

    def _other(self, value, depth: int):
        if isinstance(value, wire.Remote):
            if value._worker is not self:
                raise wire.WireTypeError("that object belongs to another worker")
            return self.encode.remote(value._ref, value._type, value._callable)
        if isinstance(value, wire.Record):
            return self.encode.namespace(value._asdict(), depth)
        if isinstance(value, types.SimpleNamespace):
            return self.encode.namespace(vars(value), depth)
        if isinstance(value, os.PathLike):
            return os.fspath(value)
        import numpy as np

        if isinstance(value, np.random.Generator):
            return self.encode.rng(value)
        keras = sys.modules.get("keras")
        if keras is not None and isinstance(value, keras.Model):
            from workshop.grading import models

            return self.encode.keras(models.to_payload(value), depth)
        if callable(value):
            raise wire.WireTypeError(
                f"a function ({getattr(value, '__name__', value)!r}) cannot be sent to the "
                "worker: write the check as a @scenario instead"
            )
        raise wire.WireTypeError(f"a {type(value).__name__} cannot be sent to the worker")

    def _lost(self, why: str) -> WorkerGone:
        code = None
        if self.proc is not None:
            try:
                code = self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                code = self.proc.wait()
        self.gone = WorkerGone(why, code)
        return self.gone

    def request(self, op: str, **fields):
        if self.gone is not None:
            raise WorkerGone(str(self.gone), self.gone.returncode)
        if op == "call":
            self._last_call = fields.get("ref")
        elif op == "get" and fields.get("ref") == 0:
            self.used.add(str(fields.get("name")))
        elif op == "scenario":
            self.used.update(reuse.scenario_uses(str(fields.get("source"))))
        message = {"op": op, **{k: self.encode(v) for k, v in fields.items()}}
        try:
            wire.send(self.sock, message)
            if self.proc is not None:  # a worker's detached child may hold its socket open
                self.sock.settimeout(0.5)
                try:
                    reply = wire.recv(self.sock, alive=lambda: self.proc.poll() is None)
                finally:
                    self.sock.settimeout(None)
            else:
                reply = wire.recv(self.sock)
        except (EOFError, ConnectionError, OSError):
            raise self._lost("the process running your code ended") from None
        except wire.ProtocolError as exc:
            raise self._lost(f"the process running your code broke the protocol: {exc}") from None
        notes = reply.get("notes")
        if isinstance(notes, dict) and isinstance(notes.get("changed"), list):
            names = [str(n)[:50] for n in notes["changed"][:10]]
            func = str(notes.get("func", "?"))[:100]
            line = notes.get("line") if type(notes.get("line")) is int else None
            self.note("changed_args", {"func": func, "args": names, "line": line})
        if reply.get("ok") is True:
            try:
                return self.decode(reply.get("value"))
            except wire.ProtocolError as exc:
                raise self._lost(f"your code's answer could not be read: {exc}") from None
        chain = reply.get("error")
        if not isinstance(chain, list) or not all(isinstance(c, dict) for c in chain):
            raise self._lost("the process running your code sent a malformed error")
        raise wire.remote_exception(_clean_chain(chain))

    def close(self) -> None:
        """End the worker at once: it holds nothing worth a clean exit (TensorFlow's takes 1-2 s)."""
        self.sock.close()
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()


def _clean_chain(chain: list[dict]) -> list[dict]:
    """Keep only the fields the judge uses, as the types it expects."""
    clean = []
    for entry in chain[:5]:
        frames = []
        for f in entry.get("frames", [])[:200] if isinstance(entry.get("frames"), list) else []:
            if isinstance(f, dict) and type(f.get("line")) is int:
                frames.append(
                    {
                        "file": str(f.get("file", "?"))[:500],
                        "line": f["line"],
                        "func": str(f.get("func", "?"))[:200],
                        "mine": f.get("mine") is True,
                    }
                )
        clean.append(
            {
                "type": str(entry.get("type", "Exception"))[:100],
                "base": str(entry.get("base", "Exception"))[:100],
                "message": str(entry.get("message", ""))[:4000],
                "frames": frames,
            }
        )
    return clean


def start(spec: WorkerSpec, stack_fd: int | None = None, output=None) -> Connection:
    """Start a worker process for `spec`; return the connection (the lesson is not loaded yet)."""
    return Connection(*spawn.start_process(spec, stack_fd, output))


class Lesson:
    """The lesson module as the checks see it: every attribute lives in the worker."""

    __slots__ = ("_connection", "_name")

    def __init__(self, connection: Connection, name: str):
        object.__setattr__(self, "_connection", connection)
        object.__setattr__(self, "_name", name)

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._connection.request("get", ref=0, name=name)

    def __setattr__(self, name, value):
        raise AttributeError(
            "checks do not change the lesson from the judge's side: use a @scenario"
        )

    def __repr__(self) -> str:
        return f"<lesson {self._name} in the worker>"


def load(connection: Connection, spec: WorkerSpec) -> Lesson:
    """Ask the worker to import the lesson; its failure becomes a LessonImportError."""
    from workshop.grading.loader import LessonImportError

    try:
        connection.request(
            "load",
            path=spec.worker_path(),
            display=spec.display,
            module_id=spec.module_id,
            stack_after=spec.stack_after,
        )
    except wire.RemoteError as exc:
        raise LessonImportError(
            f"{spec.display} could not be imported: {type(exc).__name__}: {exc}"
        ) from exc
    return Lesson(connection, spec.module_id)


# --------------------------------------------------------------------------- for check authors


def scenario(function):
    """Mark a check helper that runs in the worker: `helper(lesson, *args)` returns its data.

    The function must be self-contained (imports inside it), take the lesson
    module first, and return plain data; the judge asserts on what it returns.
    """
    source = textwrap.dedent(inspect.getsource(function))
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith("@scenario")]
    source = "\n".join(lines) + "\n"
    name = function.__name__

    def run(lesson: Lesson, *args, **kwargs):
        if not isinstance(lesson, Lesson):
            raise TypeError(f"{name} runs in the worker: pass it the `lesson` fixture")
        return lesson._connection.request(
            "scenario", source=source, name=name, args=list(args), kwargs=kwargs
        )

    run.__name__ = name
    run.__doc__ = function.__doc__
    run.source = source
    return run


def leaves_arguments_alone(lesson: Lesson, function: str) -> None:
    """Fail when the attendee's `function` changed an array it was given (`w += ...`)."""
    for entry in lesson._connection.notes.get("changed_args", []):
        if entry["func"] == function:
            args = ", ".join(f"`{a}`" for a in entry["args"])
            raise AssertionError(
                f"{function} changed its argument {args} in place (e.g. `w += e * p`): the "
                "caller's array changes too, which breaks training histories and plots. Make a "
                "new array instead (`w = w + e * p`)."
            )


def compiled(model, builder: str):
    """The model, after checking `builder` compiled it (else a sentence that says so)."""
    if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
        raise AssertionError(
            f"the model from {builder} is not compiled: call `model.compile(optimizer=..., "
            f"loss=..., metrics=[...])` in {builder} before returning it"
        )
    return model


def type_name(value) -> str:
    """The type an answer had in the worker (a record or handle keeps its name)."""
    if isinstance(value, (wire.Record, wire.Remote)):
        return value._type
    return type(value).__name__


def seed(lesson: Lesson, value: int) -> None:
    """Seed Python, NumPy and Keras in the worker (the attendee's initial weights, say)."""
    lesson._connection.request("seed", seed=int(value))
