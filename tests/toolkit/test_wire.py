"""What may cross from the worker to the judge: plain data only, checked on arrival.

The worker side is untrusted; these tests play it (an in-process worker on
a socket pair, or hand-made messages) and check that nothing but plain data
arrives, that a value-pretender arrives as a `Remote` that refuses to act as
a value, and that models with custom code are refused.
"""

from __future__ import annotations

import socket
import threading
import types
from dataclasses import dataclass

import msgpack
import numpy as np
import pytest

from workshop.grading import judge, models, wire
from workshop.grading.worker import Worker


class Sneaky:
    """Claims to equal everything and to be true."""

    def __eq__(self, other):
        return True

    def __bool__(self):
        return True

    def __float__(self):
        return 1.0


class FakeArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(self.shape, bool)


@dataclass
class Result:
    w: np.ndarray
    converged: bool


def _lesson_module():
    module = types.ModuleType("fake_lesson")
    module.sneaky = Sneaky
    module.fake_array = lambda: np.zeros(3).view(FakeArray)
    module.result = lambda: Result(np.arange(3.0), True)
    module.objects = lambda: np.array([object()], dtype=object)
    module.value = 7
    module.boom = lambda: (_ for _ in ()).throw(ValueError("bad value"))
    module.exits = lambda: (_ for _ in ()).throw(SystemExit(0))
    return module


@pytest.fixture
def lesson():
    judge_end, worker_end = socket.socketpair()
    worker = Worker(worker_end)
    worker.module = _lesson_module()
    thread = threading.Thread(target=worker.serve, daemon=True)
    thread.start()
    connection = judge.Connection(judge_end, None)
    yield judge.Lesson(connection, "fake_lesson")
    judge_end.close()
    thread.join(5)
    worker_end.close()


def test_plain_values_arrive_as_themselves(lesson):
    assert lesson.value == 7 and type(lesson.value) is int
    result = lesson.result()
    assert isinstance(result, wire.Record) and result.converged is True
    assert type(result.w) is np.ndarray and result.w.tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(AttributeError, match="read-only"):
        result.converged = False


def test_a_value_pretender_arrives_as_a_remote_that_refuses_to_be_a_value(lesson):
    got = lesson.sneaky()
    assert isinstance(got, wire.Remote)
    assert (got == 1) is False and (got != 1) is True
    with pytest.raises(TypeError, match="Sneaky"):
        bool(got)
    with pytest.raises(TypeError, match="Sneaky"):
        float(got)
    with pytest.raises(TypeError, match="Sneaky"):
        np.asarray(got, dtype=float)


def test_an_ndarray_subclass_is_not_an_array_here(lesson):
    got = lesson.fake_array()
    assert isinstance(got, wire.Remote) and not isinstance(got, np.ndarray)


def test_object_arrays_do_not_cross(lesson):
    with pytest.raises(TypeError, match="dtype object"):
        lesson.objects()


def test_exceptions_keep_their_built_in_kind_but_never_stop_the_judge(lesson):
    with pytest.raises(ValueError, match="bad value") as info:
        lesson.boom()
    assert isinstance(info.value, wire.RemoteError)
    with pytest.raises(wire.RemoteError) as info:
        lesson.exits()
    assert not isinstance(info.value, SystemExit), "a worker's SystemExit must not end pytest"


def test_forged_exception_kinds_are_plain_remote_errors():
    for kind in ("SystemExit", "KeyboardInterrupt", "GeneratorExit", "Skipped", "RemoteError"):
        exc = wire.remote_exception([{"type": kind, "base": kind, "message": "x", "frames": []}])
        assert isinstance(exc, wire.RemoteError) and isinstance(exc, Exception)
        assert not isinstance(exc, (SystemExit, KeyboardInterrupt, GeneratorExit))


def _decode(code: int, payload) -> object:
    ext = msgpack.ExtType(code, msgpack.packb(payload, use_bin_type=True))
    return wire.Decoder()(ext)


@pytest.mark.parametrize(
    "code, payload",
    [
        (2, ["|O", [1], b"\0" * 8]),  # an object array: unpickling would run code
        (2, ["<f8", [3], b"\0" * 8]),  # data shorter than the shape says
        (2, ["V8", [1], b"\0" * 8]),  # a structured dtype
        (2, ["<f8", [-1], b""]),  # a negative dimension
        (5, [1, "Remote", False]),  # a handle where none may come
        (8, [["a", 1]]),  # a namespace: only the judge may send one
        (99, [1]),  # an unknown kind
    ],
)
def test_malformed_values_are_refused(code, payload):
    with pytest.raises(wire.ProtocolError):
        _decode(code, payload)


def test_oversized_and_deep_messages_are_refused():
    a, b = socket.socketpair()
    a.sendall(wire._HEADER.pack(wire.MAX_MESSAGE + 1))
    with pytest.raises(wire.ProtocolError):
        wire.recv(b)
    deep = []
    for _ in range(wire.MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(wire.ProtocolError):
        wire.Decoder()(deep)


def test_models_with_custom_code_are_refused():
    keras = pytest.importorskip("keras")
    good = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2, activation="relu")])
    good.compile(optimizer="adam", loss="mse")
    rebuilt = models.from_payload(models.to_payload(good))
    assert rebuilt.count_params() == good.count_params() and "mse" in str(rebuilt.loss)

    payload = models.to_payload(good)
    custom = payload["config"].replace('"module": "keras.layers"', '"module": "os"', 1)
    with pytest.raises(models.ModelRefused, match="built-in"):
        models.from_payload({**payload, "config": custom})

    lam = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Lambda(lambda x: x * 2)])
    with pytest.raises(models.ModelRefused, match="Lambda"):
        models.from_payload(models.to_payload(lam))

    huge = payload["config"].replace('"units": 2', '"units": 900000000', 1)
    with pytest.raises(models.ModelRefused, match="larger"):
        models.from_payload({**payload, "config": huge})
