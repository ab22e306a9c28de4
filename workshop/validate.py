"""Checking what a lesson's function is given: one clear ValueError, in one place.

Every public function of a lesson starts by checking its arguments with
these helpers, so bad input gets a message that names the argument, says
what was expected and shows what came — never NumPy's broadcasting error
from deep inside, never a silent NaN. Numbers of any NumPy numeric type are
accepted wherever Python numbers are (np.float32(0.9), np.int64(3)); bools
and strings are not numbers here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def number(
    value,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    finite: bool = True,
) -> float:
    """A real number (Python or NumPy), optionally within [low, high] (or (low, high])."""
    if not _is_number(value):
        raise ValueError(f"{name} must be a number, got {_shown(value)} ({type(value).__name__})")
    value = float(value)
    if finite and not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    if low is not None and (value < low or (low_open and value == low)):
        bound = f"greater than {low:g}" if low_open else f"at least {low:g}"
        raise ValueError(f"{name} must be {bound}, got {value:g}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be at most {high:g}, got {value:g}")
    return value


def positive(value, name: str) -> float:
    """A finite number > 0 (a learning rate, a temperature, a threshold...)."""
    return number(value, name, low=0.0, low_open=True)


def integer(value, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """A whole number (Python or NumPy integer; 3.0 is not one), optionally within bounds."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(
            f"{name} must be a whole number, got {_shown(value)} ({type(value).__name__})"
        )
    value = int(value)
    if low is not None and value < low:
        raise ValueError(f"{name} must be at least {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be at most {high}, got {value}")
    return value


def count(value, name: str) -> int:
    """A whole number >= 1 (epochs, a batch size, a window...)."""
    return integer(value, name, low=1)


def array(
    value,
    name: str,
    *,
    ndim: int | Iterable[int] | None = None,
    dtype=float,
    allow_empty: bool = False,
    finite: bool = True,
) -> np.ndarray:
    """A numeric array (lists welcome), with the dimensions asked, no NaN or infinity."""
    if isinstance(value, (str, bytes)) or value is None:
        raise ValueError(f"{name} must be numbers (an array or a list), got {_shown(value)}")
    try:
        result = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must hold numbers only, got {_shown(value)} ({type(value).__name__})"
        ) from None
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if result.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(f"{name} must be {want}, got shape {result.shape}")
    if result.size == 0 and not allow_empty:
        raise ValueError(f"{name} must not be empty, got shape {result.shape}")
    if finite and np.issubdtype(result.dtype, np.number) and not np.all(np.isfinite(result)):
        bad = np.argwhere(~np.isfinite(result))[0]
        where = f" at {tuple(int(i) for i in bad)}" if result.ndim else ""
        raise ValueError(f"{name} must not contain NaN or infinity (found one{where})")
    return result


def vector(value, name: str, length: int | None = None) -> np.ndarray:
    """A 1-D numeric array (lists welcome) with `length` entries when given (weights, a pattern)."""
    result = array(value, name, ndim=1)
    if length is not None and result.shape != (length,):
        raise ValueError(f"{name} must have {length} entries, got shape {result.shape}")
    return result


def elementwise(f, name: str):
    """`f(x, **numbers)` with its arguments checked: x any numbers (a list, an array; may be
    empty; no NaN), every other argument a number. For activation functions and the like."""

    def checked(x, *args, **kwargs):
        args = [number(a, f"{name}'s argument") for a in args]
        kwargs = {k: number(v, k) for k, v in kwargs.items()}
        return f(array(x, "x", allow_empty=True), *args, **kwargs)

    checked.__name__ = checked.__qualname__ = name
    return checked


def text(value, name: str) -> str:
    """A str (not bytes, not None)."""
    if not isinstance(value, str):
        hint = " (decode bytes first: .decode('utf-8'))" if isinstance(value, bytes) else ""
        raise ValueError(f"{name} must be a str, got {type(value).__name__}{hint}")
    return value


def tokens(value, name: str, allow_empty: bool = True) -> list[str]:
    """A list of str (words, characters): a str itself is refused (tokenize it first)."""
    if isinstance(value, str) or value is None or not hasattr(value, "__iter__"):
        what = "a str (tokenize it first)" if isinstance(value, str) else type(value).__name__
        raise ValueError(f"{name} must be a list of tokens (str), got {what}")
    result = list(value)
    bad = next((t for t in result if not isinstance(t, str)), None)
    if bad is not None:
        raise ValueError(f"{name} must hold tokens (str), got {bad!r} ({type(bad).__name__})")
    if not result and not allow_empty:
        raise ValueError(f"{name} must not be empty (no tokens)")
    return result


def vocabulary(value, name: str = "vocab", needs: str | None = None) -> dict:
    """A non-empty dict of token -> index; with `needs`, that token (say "<unk>") in it."""
    if not isinstance(value, dict) or not value:
        raise ValueError(f"{name} must be a non-empty dict of token -> index, got {_shown(value)}")
    if needs is not None and needs not in value:
        raise ValueError(f"{name} needs the {needs!r} token (for unknown words); it has not")
    return value


def indices(value, name: str) -> np.ndarray:
    """A 1-D array of whole numbers >= 0 (token or class indices), as int64."""
    result = array(value, name, ndim=1)
    if np.any(result < 0) or np.any(result != np.round(result)):
        raise ValueError(f"{name} must be whole numbers >= 0 (indices), got {_shown(value)}")
    return result.astype(np.int64)


def generator(value, name: str = "rng") -> np.random.Generator:
    """A NumPy random Generator (np.random.default_rng(seed)), not a seed or the old API."""
    if not isinstance(value, np.random.Generator):
        raise ValueError(
            f"{name} must be a numpy Generator (np.random.default_rng(seed)), "
            f"got {type(value).__name__}"
        )
    return value


def same_length(a: np.ndarray, b: np.ndarray, names: str) -> None:
    if len(a) != len(b):
        raise ValueError(f"{names} must have the same length, got {len(a)} and {len(b)}")


def instance(value, name: str, kind: type | tuple[type, ...]):
    """`value` when it is a `kind` (a keras.Model, say), else a ValueError naming both."""
    if not isinstance(value, kind):
        want = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise ValueError(f"{name} must be a {want}, got {type(value).__name__}")
    return value


def one_of(value, name: str, options: Iterable) -> object:
    options = tuple(options)
    if value not in options:
        raise ValueError(f"{name} must be one of {list(options)}, got {_shown(value)}")
    return value


def labels(value, name: str, n_classes: int | None = None) -> np.ndarray:
    """Integer class labels 0..n_classes-1 (whole-valued floats are accepted)."""
    result = array(value, name, dtype=float)
    if not np.all(result == np.round(result)):
        raise ValueError(f"{name} must be whole numbers (class labels), got {_shown(value)}")
    result = result.astype(int)
    if result.min() < 0 or (n_classes is not None and result.max() >= n_classes):
        top = f" below {n_classes}" if n_classes is not None else ""
        raise ValueError(
            f"{name} must be class labels from 0{top}, got values {result.min()}..{result.max()}"
        )
    return result


def probabilities(value, name: str) -> np.ndarray:
    """A 1-D array of probabilities: non-negative, summing to 1."""
    p = array(value, name, ndim=1)
    if np.any(p < 0) or not math.isclose(float(p.sum()), 1.0, rel_tol=1e-6, abs_tol=1e-6):
        raise ValueError(
            f"{name} must be probabilities (>= 0, summing to 1), got a sum of {p.sum():.6g}"
        )
    return p


def images(value, name: str, size: tuple[int, int] = (28, 28)) -> np.ndarray:
    """Grey images (N, H, W) with pixels in [0, 1], as float32 (Keras's own precision)."""
    result = array(value, name, ndim=3, dtype="float32")
    if result.shape[1:] != tuple(size):
        raise ValueError(
            f"{name} must be {size[0]}×{size[1]} images, shape (N, {size[0]}, {size[1]}), "
            f"got shape {result.shape}"
        )
    if result.min() < 0 or result.max() > 1:
        raise ValueError(
            f"{name} must hold pixels in [0, 1] (divide 0-255 pixels by 255), got values "
            f"{result.min():g}..{result.max():g}"
        )
    return result


def same_shape(**named) -> list[np.ndarray]:
    """The named arrays (lists welcome, 0-D to 2-D), finite, all of the first one's shape."""
    arrays = [array(v, n, ndim=(0, 1, 2)) for n, v in named.items()]
    names = list(named)
    for name, a in zip(names[1:], arrays[1:], strict=True):
        if a.shape != arrays[0].shape:
            raise ValueError(
                f"{names[0]} and {name} must have the same shape, got {arrays[0].shape} and "
                f"{a.shape}"
            )
    return arrays


def recurrent_step(x_t, h_prev, kernel, recurrent_kernel, bias, blocks: int, bias_rows=None):
    """The arrays of one recurrent step in Keras's layout, checked: kernel (input_dim,
    blocks·units), recurrent_kernel (units, blocks·units), bias (blocks·units,) or, with
    bias_rows, (bias_rows, blocks·units); x_t (…, input_dim) and h_prev (…, units), 1-D or 2-D."""
    kernel = array(kernel, "kernel (input_dim, blocks·units)", ndim=2)
    n, units = kernel.shape[0], kernel.shape[1] // blocks
    width = (blocks * units,)
    shapes = {
        "recurrent_kernel": (units, *width),
        "bias": (bias_rows, *width) if bias_rows else width,
    }
    checked = {"recurrent_kernel": recurrent_kernel, "bias": bias}
    for name, shape in shapes.items():
        checked[name] = array(checked[name], name)
        if checked[name].shape != shape or units == 0 or kernel.shape[1] % blocks:
            raise ValueError(
                f"{name} must have shape {shape} (kernel {kernel.shape}: {blocks} blocks of "
                f"{units} units), got {checked[name].shape}"
            )
    x_t, h_prev = array(x_t, "x_t", ndim=(1, 2)), array(h_prev, "the previous state", ndim=(1, 2))
    if x_t.shape[-1] != n or h_prev.shape[-1] != units:
        raise ValueError(
            f"x_t needs {n} features and the previous state {units} units, got shapes "
            f"{x_t.shape} and {h_prev.shape}"
        )
    return x_t, h_prev, kernel, checked["recurrent_kernel"], checked["bias"]


def fraction(value, name: str, *, zero: bool = True) -> float:
    """A share of a whole, below 1: from 0 (a dropout rate), or above 0 with zero=False."""
    value = number(value, name, low=0.0, low_open=not zero)
    if value >= 1:
        low = "0" if zero else "above 0"
        raise ValueError(f"{name} is a fraction, from {low} to below 1, got {value:g}")
    return value


def conv_stages(filters, kernel_size, size: int = 28) -> list[int]:
    """Filter counts of Conv2D(kernel_size, no padding) + MaxPooling2D(2) stages that fit a
    size×size image (an int is one stage)."""
    if isinstance(filters, (int, np.integer)):
        filters = (filters,)
    if not isinstance(filters, (tuple, list)) or not filters:
        raise ValueError(
            f"filters must be a non-empty tuple of counts such as (64, 64), got {_shown(filters)}"
        )
    counts = [count(f, "each entry of filters") for f in filters]
    kernel_size = count(kernel_size, "kernel_size")
    for stage in range(1, len(counts) + 1):
        if (size - kernel_size + 1) // 2 < 1:
            raise ValueError(
                f"{len(counts)} stages of {kernel_size}×{kernel_size} convolution and 2×2 pooling "
                f"do not fit the image: stage {stage} gets {size}×{size} pixels"
            )
        size = (size - kernel_size + 1) // 2
    return counts


def curve(history, key: str) -> np.ndarray:
    """One curve of a keras History (or of its .history dict), 1-D; NaN allowed (divergence)."""
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict):
        raise ValueError(
            f"expected a keras History or its .history dict, got {type(history).__name__}"
        )
    if key not in logs:
        fix = ": train with validation_data" if key.startswith("val_") else ""
        raise ValueError(f"the history has no {key!r} (it has {sorted(logs)}){fix}")
    return array(logs[key], f"history[{key!r}]", ndim=1, finite=False)


def train_test(data, name: str = "data"):
    """((x_train, y_train), (x_test, y_test)): float32 inputs, integer labels, same lengths."""
    try:
        (x_train, y_train), (x_test, y_test) = data[:2]
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be ((x_train, y_train), (x_test, y_test)), as load_images gives; "
            f"got {_shown(data)}"
        ) from None
    pairs = []
    for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        x, y = array(x, f"x_{split}", dtype="float32"), labels(y, f"y_{split}")
        same_length(x, y, f"x_{split} and y_{split}")
        pairs.append((x, y))
    return tuple(pairs)
