"""Assertions for grading checks: every comparison goes through here, and explains itself.

`close(got, want, "d loss / d W1")` fails with "d loss / d W1 differs at
[0, 2]: got 0.0812, expected -0.0812 (the sign looks flipped); 3 of 12
values differ, by up to 0.162." — never an 18-line NumPy dump. The full
arrays follow after a blank line; the grader shows only the first
paragraph, and `workshop check -v` shows everything.

The kind of the answer is checked before its values, in one place, so a
lazy or wrong-kind answer never compares "close": what `want` is says what
the lesson promised.
- `want` a number: `got` must be a real number (Python or NumPy scalar; not
  a bool, not an array, not NaN).
- `want` a NumPy array: `got` must be a NumPy array (not a list, not an
  object array) of numbers, with exactly `want`'s shape (nothing is
  broadcast), not empty, with no NaN where `want` has none.
- `want` a list or tuple: `got` may be a list, a tuple or an array, of the
  same length and shape.
Checks compare only through these functions: `workshop verify` reports a
bare `pytest.approx`, `np.allclose` or `math.isclose` in a grading check.
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
        empty = " (empty)" if value.size == 0 else ""
        return f"an array of shape {value.shape} and dtype {value.dtype}{empty}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)}"
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


def _is_real(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def _fail(what: str, wanted: str, got, hint: str = "") -> None:
    raise AssertionError(f"{what} should be {wanted}, got {_kind(got)}. {hint}".strip())


def number(got, what: str, *, finite: bool = True, hint: str = "") -> float:
    """A plain real number (not a bool, an array, a string or None); finite unless told."""
    if not _is_real(got):
        _fail(what, "a number", got, hint)
    value = float(got)
    if finite and not np.isfinite(value):
        raise AssertionError(f"{what} should be a finite number, got {value}. {hint}".strip())
    return value


def integer(got, what: str, hint: str = "") -> int:
    """A plain whole number (a Python or NumPy integer), not a float or a 0-d array."""
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, np.integer)):
        _fail(what, "a whole number (int)", got, hint)
    return int(got)


def array(
    got,
    what: str,
    dtype=None,
    ndim: int | None = None,
    shape: tuple | None = None,
    *,
    empty: bool = False,
    finite: bool = True,
) -> np.ndarray:
    """`got` must be a NumPy array of numbers (not a list, not objects), as asked.

    `dtype` asks for exactly that dtype; `ndim`, `shape` for those; an empty
    array and NaN or infinity fail unless `empty` / `finite=False`.
    """
    if not isinstance(got, np.ndarray):
        _fail(what, "a NumPy array", got)
    if got.dtype.kind not in "biuf":
        raise AssertionError(
            f"{what} should be an array of numbers, got an array of dtype {got.dtype} "
            f"(shape {got.shape}): {'objects' if got.dtype.kind == 'O' else 'not numbers'}"
        )
    if dtype is not None and got.dtype != np.dtype(dtype):
        raise AssertionError(f"{what} should have dtype {np.dtype(dtype)}, got {got.dtype}")
    if ndim is not None and got.ndim != ndim:
        raise AssertionError(f"{what} should have {ndim} dimensions, got shape {got.shape}")
    if shape is not None and got.shape != tuple(shape):
        raise AssertionError(f"{what} should have shape {tuple(shape)}, got {got.shape}")
    if got.size == 0 and not empty:
        raise AssertionError(f"{what} should not be empty, got shape {got.shape}")
    if finite and got.dtype.kind == "f" and not np.all(np.isfinite(got)):
        bad = tuple(np.argwhere(~np.isfinite(got))[0])
        raise AssertionError(f"{what} should hold finite numbers, got {got[bad]}{_where(bad)}")
    return got


def numbers(got, what: str, like=None) -> np.ndarray:
    """`got` as a float array, checked against what `like` (the expected answer) promises.

    Without `like`: any non-empty array or list of numbers.
    """
    if like is not None:
        return _as_expected(got, like, what)
    if isinstance(got, (list, tuple)):
        return _sequence(got, what, None)
    return array(got, what).astype(float)


def _sequence(got, what: str, want_shape) -> np.ndarray:
    if isinstance(got, np.ndarray):
        values = array(got, what, empty=True, finite=False)
    elif isinstance(got, (list, tuple)):
        if any(isinstance(v, (bool, np.bool_, str, bytes)) or v is None for v in got):
            raise AssertionError(f"{what} should hold numbers only, got {got!r:.200}")
        try:
            values = np.asarray(got, dtype=float)
        except (TypeError, ValueError):
            raise AssertionError(
                f"{what} should be numbers of one shape, got {_kind(got)}: {got!r:.200}"
            ) from None
    else:
        _fail(what, f"a list of {want_shape[0] if want_shape else 'some'} numbers", got)
    if values.size == 0 and (want_shape is None or np.prod(want_shape) > 0):
        raise AssertionError(f"{what} should not be empty, got {_kind(got)}")
    return values.astype(float)


def _as_expected(got, want, what: str) -> np.ndarray:
    """`got` as a float array of the kind `want` is, or a failure naming both kinds."""
    if _is_real(want) or (isinstance(want, np.ndarray) and want.ndim == 0):
        return np.asarray(number(got, what, finite=False))
    if isinstance(want, np.ndarray):
        values = array(got, what, empty=want.size == 0, finite=False)
    else:
        values = _sequence(got, what, np.shape(want))
    if values.shape != np.shape(want):
        raise AssertionError(
            f"{what} should have shape {np.shape(want)}, got {_kind(got)}"
            + (" (nothing is broadcast: one value per expected entry)" if values.size else "")
        )
    return values.astype(float)


def close(got, want, what: str, rtol: float = 1e-7, atol: float = 0.0, hint: str = "") -> None:
    """Values equal within rtol/atol, elementwise, after checking the answer's kind and shape."""
    if isinstance(want, np.ndarray) and want.dtype.kind not in "biuf":
        raise TypeError(f"the check's expected {what} is not numbers: {want.dtype}")
    array_ = _as_expected(got, want, what)
    want = np.asarray(want, dtype=float)
    bad = ~np.isclose(array_, want, rtol=rtol, atol=atol, equal_nan=True)
    if not bad.any():
        return
    index = tuple(np.argwhere(bad)[0]) if array_.ndim else ()
    g, w = array_[index], want[index]
    diff = np.abs(array_ - want)[bad]
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
    elif np.allclose(array_, -want, rtol=rtol, atol=max(atol, 1e-12)) and np.any(want != 0):
        problem = (
            f"{what}: the sign looks flipped — got {_fmt(g)}{_where(index)} where {_fmt(w)} "
            "was expected"
        )
    else:
        problem = f"{what} differs{_where(index)}: got {_fmt(g)}, expected {_fmt(w)}"
    raise AssertionError(f"{problem}{spread}. {hint}".rstrip() + _detail(array_, want))


def equal(got, want, what: str, hint: str = "") -> None:
    """Exactly equal (labels, indices, counts, words); one sentence when not.

    Numbers are checked for kind and shape as in `close`; text and other
    plain values (str, a list of str, a tuple) must be of `want`'s type.
    """
    wanted = np.asarray(want)
    if wanted.dtype.kind in "biuf":
        values = _as_expected(got, want, what)
        wanted = wanted.astype(float)
    else:
        if isinstance(got, (Remote, Record)) or got is None or type(got) is not type(want):
            _fail(what, _kind(want), got, hint)
        if isinstance(want, np.ndarray) and got.shape != want.shape:
            raise AssertionError(f"{what} should have shape {want.shape}, got {got.shape}")
        if not isinstance(want, np.ndarray):
            if got != want:
                raise AssertionError(
                    f"{what} differs: got {got!r:.300}, expected {want!r:.300}. {hint}".rstrip()
                )
            return
        values = got
    bad = np.asarray(values != wanted)
    if not np.any(bad):
        return
    index = tuple(np.argwhere(bad)[0]) if bad.ndim else ()
    g, w = np.asarray(values)[index], wanted[index]
    spread = f"; {int(np.sum(bad))} of {bad.size} differ" if bad.size > 1 else ""
    raise AssertionError(
        f"{what} differs{_where(index)}: got {_fmt(g)}, expected {_fmt(w)}{spread}. {hint}".rstrip()
        + _detail(values, wanted)
    )


def between(got, low: float | None, high: float | None, what: str, hint: str = "") -> float:
    """A finite number within [low, high] (either bound may be None)."""
    value = number(got, what, hint=hint)
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = (
            f"between {low:g} and {high:g}"
            if low is not None and high is not None
            else (f"at least {low:g}" if low is not None else f"at most {high:g}")
        )
        raise AssertionError(f"{what} should be {bounds}, got {value:.6g}. {hint}".rstrip())
    return value
