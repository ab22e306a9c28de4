"""What crosses between the judge and the worker: plain data, framed, size-capped, never pickled.

The worker runs attendee code; the judge makes verdicts. Everything the
judge receives is decoded here into its own, genuine types: None, bool,
int, float, complex, str, bytes, NumPy arrays and scalars of plain dtypes,
lists, tuples, dicts and sets of those, read-only `Record`s (a dataclass,
a named tuple or a Keras `History` on the worker's side), `Remote` handles
(any other object stays in the worker; the judge can only ask it things),
and Keras models, rebuilt from their configuration and weights with
`safe_mode=True` from built-in layers only. Nothing the worker sends can
run code in the judge: an object that pretends to be a value (a custom
`__eq__`, an `ndarray` subclass, a proxy) arrives as a `Remote`, which
compares equal to nothing and refuses to be used as a number or a truth
value.

Messages are msgpack maps behind a 4-byte length; a message over
`MAX_MESSAGE` bytes is refused before it is read.
"""

from __future__ import annotations

import builtins
import dataclasses
import json
import socket
import struct
import types

import msgpack
import numpy as np

MAX_MESSAGE = 256 * 2**20  # bytes; a bigger answer is refused, not read
MAX_DEPTH = 64
_HEADER = struct.Struct(">I")

# msgpack extension codes
_TUPLE, _ARRAY, _SCALAR, _RECORD, _REMOTE, _KERAS, _BIGINT, _NAMESPACE, _RNG, _SET, _COMPLEX = (
    range(1, 12)
)
_PLAIN_KINDS = set("biufcUS")  # bool, ints, floats, complex, text: no objects, no records


class ProtocolError(RuntimeError):
    """The other side sent something that is not a well-formed message."""


class WireTypeError(TypeError):
    """A value that may not cross (a function to the worker, say)."""


# --------------------------------------------------------------------------- framing


def send(sock: socket.socket, message: dict) -> None:
    payload = msgpack.packb(message, use_bin_type=True)
    if len(payload) > MAX_MESSAGE:
        raise WireTypeError(
            f"the answer is {len(payload) / 2**20:.0f} MB; at most {MAX_MESSAGE // 2**20} MB may cross"
        )
    sock.sendall(_HEADER.pack(len(payload)) + payload)


def _read_exactly(sock: socket.socket, n: int, alive=None) -> bytes:
    chunks, got = [], 0
    while got < n:
        try:
            chunk = sock.recv(min(n - got, 1 << 20))
        except TimeoutError:  # only with `alive`: the socket has a timeout to ask it
            if alive():
                continue
            raise EOFError("the other side ended (its socket is held open elsewhere)") from None
        if not chunk:
            raise EOFError("the other side closed the connection")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def recv(sock: socket.socket, limit: int = MAX_MESSAGE, alive=None) -> dict:
    """One message. With `alive` (a callable), a socket with a timeout is polled: the wait
    ends when the other process ends, even if something it started keeps its socket open."""
    (size,) = _HEADER.unpack(_read_exactly(sock, _HEADER.size, alive))
    if size > limit:
        raise ProtocolError(f"a message of {size} bytes is over the limit of {limit}")
    payload = _read_exactly(sock, size, alive)
    try:
        message = msgpack.unpackb(payload, raw=False, strict_map_key=True, use_list=True)
    except Exception as exc:
        raise ProtocolError(f"unreadable message: {exc}") from None
    if not isinstance(message, dict):
        raise ProtocolError("a message must be a map")
    return message


# --------------------------------------------------------------------------- values the judge gets


class Record:
    """A read-only copy of a result object's fields (a dataclass, a named tuple, a History)."""

    __slots__ = ("_type", "_data")

    def __init__(self, type_name: str, fields: dict):
        object.__setattr__(self, "_type", type_name)
        object.__setattr__(self, "_data", dict(fields))

    @property
    def _fields(self) -> tuple[str, ...]:
        return tuple(self._data)

    def _asdict(self) -> dict:
        return dict(self._data)

    def __getattr__(self, name):
        data = object.__getattribute__(self, "_data")
        if name in data:
            return data[name]
        raise AttributeError(
            f"{object.__getattribute__(self, '_type')} has no field {name!r} "
            f"(its fields: {', '.join(data) or 'none'})"
        )

    def __setattr__(self, name, value):
        raise AttributeError(f"{self._type} arrived from your code as a read-only record")

    def __eq__(self, other):
        return isinstance(other, Record) and other._type == self._type and other._data == self._data

    __hash__ = None

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._data.items())
        return f"{self._type}({inner})"


class Remote:
    """An object that stayed in the worker. The judge can ask it things, never trust it as a value.

    `worker` is the judge's connection; attribute access, assignment and calls
    become requests. It is not a number, not a truth value and not an array:
    using it as one raises a TypeError that names its type.
    """

    __slots__ = ("_worker", "_ref", "_type", "_callable", "_name", "_line")

    def __init__(
        self,
        worker,
        ref: int,
        type_name: str,
        is_callable: bool,
        name: str | None = None,
        line: int | None = None,
    ):
        object.__setattr__(self, "_worker", worker)
        object.__setattr__(self, "_ref", ref)
        object.__setattr__(self, "_type", type_name)
        object.__setattr__(self, "_callable", is_callable)
        object.__setattr__(self, "_name", name)  # a function's name, where it has one
        object.__setattr__(self, "_line", line)  # where it is defined in the attendee's file

    def _not_a_value(self, what: str):
        raise TypeError(
            f"your code gave a {self._type} object where {what} was expected: "
            "return plain numbers, NumPy arrays, lists or dicts"
        )

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._worker.request("get", ref=self._ref, name=name)

    def __setattr__(self, name, value):
        self._worker.request("set", ref=self._ref, name=name, value=value)

    def __call__(self, *args, **kwargs):
        result = self._worker.request("call", ref=self._ref, args=list(args), kwargs=kwargs)
        if result is None and self._line is not None:
            self._worker.note("returned_none", {"func": self._name, "line": self._line})
        return result

    def __getitem__(self, key):
        return self._worker.request("getitem", ref=self._ref, key=key)

    def __iter__(self):
        return iter(self._worker.request("list", ref=self._ref))

    def __len__(self):
        n = self._worker.request("len", ref=self._ref)
        if type(n) is not int:
            self._not_a_value("a length")
        return n

    def __bool__(self):
        self._not_a_value("True or False")

    def __array__(self, dtype=None, copy=None):
        self._not_a_value("an array")

    def __float__(self):
        self._not_a_value("a number")

    def __int__(self):
        self._not_a_value("a whole number")

    def __index__(self):
        self._not_a_value("a whole number")

    def __repr__(self) -> str:
        return f"<{self._type} object in your code>"


# --------------------------------------------------------------------------- encoding


def _ext(code: int, obj) -> msgpack.ExtType:
    return msgpack.ExtType(code, msgpack.packb(obj, use_bin_type=True))


def _numpy_scalar_types() -> set[type]:
    kinds = set()
    for t in set(np.sctypeDict.values()):
        if np.dtype(t).kind in _PLAIN_KINDS:
            kinds.add(t)
    return kinds


_NUMPY_SCALARS = _numpy_scalar_types()


def _array(value: np.ndarray) -> msgpack.ExtType:
    if value.dtype.kind not in _PLAIN_KINDS:
        raise WireTypeError(f"arrays of dtype {value.dtype} cannot cross; use numbers")
    data = np.ascontiguousarray(value)
    return _ext(_ARRAY, [data.dtype.str, list(data.shape), data.tobytes()])


class Encoder:
    """Turns values into msgpack-ready data; what is not plain goes to `other(value)`."""

    def __init__(self, other):
        self.other = other

    def __call__(self, value, depth: int = 0):
        if depth > MAX_DEPTH:
            raise WireTypeError(f"data nested more than {MAX_DEPTH} levels deep cannot cross")
        t = type(value)
        if value is None or t in (bool, str, bytes):
            return value
        if t is int:
            return value if -(2**63) <= value < 2**64 else _ext(_BIGINT, str(value))
        if t is float:
            return value
        if t is complex:
            return _ext(_COMPLEX, [value.real, value.imag])
        if t is np.ndarray:
            return _array(value)
        if t in _NUMPY_SCALARS:
            return _ext(_SCALAR, [np.dtype(t).str, np.asarray(value).tobytes()])
        if t is list:
            return [self(v, depth + 1) for v in value]
        if t is tuple:
            return _ext(_TUPLE, [self(v, depth + 1) for v in value])
        if t is dict:
            return {self._key(k, depth): self(v, depth + 1) for k, v in value.items()}
        if t in (set, frozenset):
            return _ext(_SET, [self(v, depth + 1) for v in value])
        return self.other(value, depth)

    def _key(self, key, depth):
        if type(key) in (str, int, bool, float) or key is None:
            return self(key, depth + 1)
        if type(key) is tuple or type(key) in _NUMPY_SCALARS:
            return self(key, depth + 1)
        raise WireTypeError(f"a dict key of type {type(key).__name__} cannot cross")

    def record(self, type_name: str, fields: dict, depth: int):
        return _ext(
            _RECORD,
            [type_name, [[str(k), self(v, depth + 1)] for k, v in fields.items()]],
        )

    def remote(self, ref: int, type_name: str, is_callable: bool, name=None, line=None):
        return _ext(_REMOTE, [ref, type_name, bool(is_callable), name, line])

    def namespace(self, fields: dict, depth: int):
        return _ext(_NAMESPACE, [[str(k), self(v, depth + 1)] for k, v in fields.items()])

    def keras(self, payload: dict, depth: int):
        return _ext(_KERAS, self(payload, depth + 1))

    def rng(self, generator: np.random.Generator):
        state = generator.bit_generator.state
        return _ext(_RNG, json.dumps(state))


# --------------------------------------------------------------------------- decoding


def _check_array(dtype_str, shape, data) -> np.ndarray:
    if type(dtype_str) is not str or type(data) is not bytes or type(shape) is not list:
        raise ProtocolError("malformed array")
    try:
        dtype = np.dtype(dtype_str)
    except TypeError:
        raise ProtocolError(f"unknown dtype {dtype_str!r}") from None
    if dtype.kind not in _PLAIN_KINDS or dtype.hasobject or dtype.fields is not None:
        raise ProtocolError(f"dtype {dtype_str!r} may not cross")
    if not all(type(n) is int and n >= 0 for n in shape) or len(shape) > 32:
        raise ProtocolError("malformed array shape")
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if count * dtype.itemsize != len(data):
        raise ProtocolError("array data does not match its shape")
    return np.frombuffer(data, dtype=dtype).reshape(shape).copy()


class Decoder:
    """msgpack data back into values; `remote`, `keras`, `namespace` and `rng` say what those become.

    The judge passes `namespace=None, rng=None`: the worker may not send those.
    """

    def __init__(self, remote=None, keras=None, namespace=None, rng=None):
        self.remote, self.keras, self.namespace, self.rng = remote, keras, namespace, rng

    def __call__(self, value, depth: int = 0):
        if depth > MAX_DEPTH:
            raise ProtocolError("data nested too deeply")
        t = type(value)
        if value is None or t in (bool, int, float, str, bytes):
            return value
        if t is list:
            return [self(v, depth + 1) for v in value]
        if t is dict:
            out = {}
            for k, v in value.items():
                key = self(k, depth + 1)
                try:
                    out[key] = self(v, depth + 1)
                except TypeError:
                    raise ProtocolError("unhashable dict key") from None
            return out
        if t is msgpack.ExtType:
            return self._ext(value.code, value.data, depth)
        raise ProtocolError(f"unexpected {t.__name__} in a message")

    def _inner(self, data: bytes):
        try:
            return msgpack.unpackb(data, raw=False, strict_map_key=False, use_list=True)
        except Exception as exc:
            raise ProtocolError(f"unreadable value: {exc}") from None

    def _ext(self, code: int, data: bytes, depth: int):
        inner = self._inner(data)
        if code == _TUPLE and type(inner) is list:
            return tuple(self(v, depth + 1) for v in inner)
        if code == _SET and type(inner) is list:
            try:
                return {self(v, depth + 1) for v in inner}
            except TypeError:
                raise ProtocolError("unhashable set member") from None
        if code == _ARRAY and type(inner) is list and len(inner) == 3:
            return _check_array(*inner)
        if code == _SCALAR and type(inner) is list and len(inner) == 2:
            return _check_array(inner[0], [], inner[1])[()]
        if code == _BIGINT and type(inner) is str and len(inner) < 5000:
            try:
                return int(inner)
            except ValueError:
                raise ProtocolError("malformed integer") from None
        if code == _COMPLEX and type(inner) is list and len(inner) == 2:
            if not all(type(x) is float for x in inner):
                raise ProtocolError("malformed complex number")
            return complex(*inner)
        if code == _RECORD and type(inner) is list and len(inner) == 2:
            name, pairs = inner
            fields = self._pairs(pairs, depth)
            return Record(str(name)[:100], fields)
        if code == _NAMESPACE and self.namespace is not None and type(inner) is list:
            return self.namespace(self._pairs(inner, depth))
        if code == _REMOTE and self.remote is not None and type(inner) is list and len(inner) == 5:
            ref, name, is_callable, func, line = inner
            if type(ref) is not int or type(name) is not str or type(is_callable) is not bool:
                raise ProtocolError("malformed remote reference")
            func = func[:100] if type(func) is str else None
            line = line if type(line) is int else None
            return self.remote(ref, name[:100], is_callable, func, line)
        if code == _KERAS and self.keras is not None:
            payload = self(inner, depth + 1)
            if type(payload) is not dict:
                raise ProtocolError("malformed Keras model")
            return self.keras(payload)
        if code == _RNG and self.rng is not None and type(inner) is str:
            return self.rng(json.loads(inner))
        raise ProtocolError(f"a value of kind {code} may not cross here")

    def _pairs(self, pairs, depth) -> dict:
        if type(pairs) is not list:
            raise ProtocolError("malformed fields")
        fields = {}
        for pair in pairs:
            if type(pair) is not list or len(pair) != 2 or type(pair[0]) is not str:
                raise ProtocolError("malformed field")
            fields[pair[0]] = self(pair[1], depth + 1)
        return fields


# --------------------------------------------------------------------------- errors


_NOT_MAPPED = {"BaseException", "SystemExit", "KeyboardInterrupt", "GeneratorExit"}
_remote_classes: dict[tuple[str, str], type] = {}


class RemoteError(Exception):
    """An exception raised by attendee code in the worker, carried here as data.

    It subclasses the built-in exception it was (or its nearest built-in
    base), so `pytest.raises(ValueError)` still works; `remote_chain` holds
    what the worker reported: type, message and frames, cause first.
    """

    remote_chain: list[dict] = []

    def __str__(self) -> str:
        return self.args[0] if self.args else ""


def builtin_base(exc: BaseException) -> str:
    """The name of the nearest built-in exception class `exc` derives from."""
    for klass in type(exc).__mro__:
        if getattr(builtins, klass.__name__, None) is klass and klass.__name__ not in _NOT_MAPPED:
            return klass.__name__
    return "Exception"


def remote_exception(chain: list[dict]) -> RemoteError:
    """An exception object for the judge, from the worker's description of one."""
    if not chain:
        chain = [{"type": "Exception", "base": "Exception", "message": "", "frames": []}]
    top = chain[0]
    name = str(top.get("type", "Exception"))[:100] or "Exception"
    base_name = str(top.get("base", "Exception"))
    base = getattr(builtins, base_name, Exception)
    if (
        not isinstance(base, type)
        or not issubclass(base, Exception)
        or base_name in _NOT_MAPPED
        or issubclass(base, RemoteError)
    ):
        base = Exception
    key = (name, base.__name__)
    if key not in _remote_classes:
        bases = (RemoteError,) if base is Exception else (base, RemoteError)
        _remote_classes[key] = types.new_class(name, bases)
    exc = _remote_classes[key](str(top.get("message", ""))[:20_000])
    exc.remote_chain = chain
    return exc


def describe_exception(exc: BaseException, keep_frame) -> list[dict]:
    """The worker's side: an exception and its causes as plain data (cause chain, newest first)."""
    import traceback

    chain, seen = [], set()
    while exc is not None and id(exc) not in seen and len(chain) < 5:
        seen.add(id(exc))
        frames = []
        for f in traceback.extract_tb(exc.__traceback__):
            kept = keep_frame(f.filename)
            if kept is not None:
                frames.append({"file": kept[0], "line": f.lineno, "func": f.name, "mine": kept[1]})
        try:
            message = str(exc)
        except Exception:  # a broken __str__ in attendee code
            message = f"<{type(exc).__name__} whose message could not be read>"
        chain.append(
            {
                "type": type(exc).__name__,
                "base": builtin_base(exc),
                "message": message[:4000],
                "frames": frames,
            }
        )
        exc = exc.__cause__ or exc.__context__
    return chain


def is_record(value) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, type)
