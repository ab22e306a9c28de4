"""Assertions for grading checks that explain themselves in one sentence.

`close(got, want, "d loss / d W1")` fails with "d loss / d W1 differs at
[0, 2]: got 0.0812, expected -0.0812 (the sign looks flipped); 3 of 12
values differ, by up to 0.162." — never an 18-line NumPy dump. The full
arrays follow after a blank line; the grader shows only the first
paragraph, and `workshop check -v` shows everything.

They also say what was asked when the answer has the wrong kind: a list
where an array was asked, a 0-d array where an int was, float64 where
float32 was, the wrong shape, NaN.
"""

from __future__ import annotations

import numpy as np

from workshop.grading.wire import Record, Remote


def _kind(value) -> str:
    if isinstance(value, (Remote, Record)):
        return f"a {value._type} object"
    if value is None:
        return "None (does the function miss a `return`?)"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    return f"a {type(value).__name__}"


def _fmt(x) -> str:
    if isinstance(x, (float, np.floating)):
        return f"{x:.6g}"
    return repr(x.item() if isinstance(x, np.generic) else x)


def _where(index: tuple) -> str:
    return "" if not index else f" at [{', '.join(str(int(i)) for i in index)}]"


def _detail(got, want) -> str:
    with np.printoptions(precision=6, threshold=200, edgeitems=5):
        return f"\n\ngot:\n{np.asarray(got)!r}\nexpected:\n{np.asarray(want)!r}"


def numbers(got, what: str) -> np.ndarray:
    """`got` as a float array, or a failure saying what came instead of numbers."""
    if isinstance(got, (Remote, Record)) or got is None:
        raise AssertionError(f"{what} should be numbers, got {_kind(got)}")
    try:
        array = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        raise AssertionError(f"{what} should be numbers, got {_kind(got)}: {got!r:.200}") from None
    return array


def close(got, want, what: str, rtol: float = 1e-7, atol: float = 0.0, hint: str = "") -> None:
    """Values equal within rtol/atol, elementwise; one sentence when not."""
    want = np.asarray(want, dtype=float)
    array = numbers(got, what)
    if want.ndim == 0 and array.ndim > 0:  # one value for every entry
        want = np.broadcast_to(want, array.shape)
    if array.shape != want.shape:
        raise AssertionError(
            f"{what} should have shape {want.shape}, got {array.shape}. {hint}".strip()
        )
    bad = ~np.isclose(array, want, rtol=rtol, atol=atol, equal_nan=True)
    if not bad.any():
        return
    index = tuple(np.argwhere(bad)[0]) if array.ndim else ()
    g, w = array[index], want[index]
    diff = np.abs(array - want)[bad]
    diff = diff[np.isfinite(diff)]
    spread = f"; {int(bad.sum())} of {bad.size} values differ"
    if diff.size:
        spread += f", by up to {diff.max():.3g}"
    if bad.size == 1:
        spread = ""
    if np.isnan(g) and not np.isnan(w):
        problem = f"{what} is NaN{_where(index)} where {_fmt(w)} was expected"
    elif np.isfinite(w) and not np.isfinite(g):
        problem = f"{what} is {_fmt(g)}{_where(index)} where {_fmt(w)} was expected (an overflow?)"
    elif np.allclose(array, -want, rtol=rtol, atol=max(atol, 1e-12)) and np.any(want != 0):
        problem = (
            f"{what}: the sign looks flipped — got {_fmt(g)}{_where(index)} where {_fmt(w)} "
            "was expected"
        )
    else:
        problem = f"{what} differs{_where(index)}: got {_fmt(g)}, expected {_fmt(w)}"
    raise AssertionError(f"{problem}{spread}. {hint}".rstrip() + _detail(array, want))


def equal(got, want, what: str, hint: str = "") -> None:
    """Exactly equal (labels, indices, counts); one sentence when not."""
    want = np.asarray(want)
    if isinstance(got, (Remote, Record)) or got is None:
        raise AssertionError(f"{what} should be {_kind(want)}, got {_kind(got)}")
    array = np.asarray(got)
    if array.shape != want.shape:
        raise AssertionError(
            f"{what} should have shape {want.shape}, got {array.shape}. {hint}".strip()
        )
    bad = array != want
    if not np.any(bad):
        return
    index = tuple(np.argwhere(bad)[0]) if array.ndim else ()
    spread = f"; {int(np.sum(bad))} of {bad.size} differ" if bad.size > 1 else ""
    raise AssertionError(
        f"{what} differs{_where(index)}: got {_fmt(array[index])}, expected {_fmt(want[index])}"
        f"{spread}. {hint}".rstrip()
        + _detail(array, want)
    )


def array(got, what: str, dtype=None, ndim: int | None = None) -> np.ndarray:
    """`got` must be a NumPy array (not a list), of `dtype`'s kind and `ndim` dimensions."""
    if not isinstance(got, np.ndarray):
        raise AssertionError(f"{what} should be a NumPy array, got {_kind(got)}")
    if dtype is not None and got.dtype != np.dtype(dtype):
        raise AssertionError(f"{what} should have dtype {np.dtype(dtype)}, got {got.dtype}")
    if ndim is not None and got.ndim != ndim:
        raise AssertionError(f"{what} should have {ndim} dimensions, got shape {got.shape}")
    return got


def integer(got, what: str) -> int:
    """A plain whole number (a Python or NumPy integer), not a float or a 0-d array."""
    if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
        raise AssertionError(f"{what} should be a whole number (int), got {_kind(got)}")
    return int(got)


def number(got, what: str) -> float:
    """A plain real number, not an array or a string."""
    if isinstance(got, bool) or not isinstance(got, (int, float, np.integer, np.floating)):
        raise AssertionError(f"{what} should be a number, got {_kind(got)}")
    return float(got)
