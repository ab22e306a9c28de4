"""NumPy's shape errors, said for the person whose arrays they are.

"operands could not be broadcast together with shapes (3,) (4,)" and the
matrix product's gufunc signature are what NumPy says; an attendee needs
the two shapes, the rule that failed, and what to look at.
"""

from __future__ import annotations

import re

_BROADCAST = re.compile(r"operands could not be broadcast together with (?:remapped )?shapes (.+)")
_SHAPE = re.compile(r"\([\d, ]*\)")
_MATMUL = re.compile(
    r"matmul: Input operand (\d) has a mismatch in its core dimension (\d).*"
    r"\(size (\d+) is different from (\d+)\)"
)
_DOT = re.compile(
    r"shapes (\([\d, ]*\)) and (\([\d, ]*\)) not aligned: (\d+) \(dim (\d+)\) != (\d+)"
)
_RESHAPE = re.compile(r"cannot reshape array of size (\d+) into shape (\(.*?\))")
_RAGGED = re.compile(r"setting an array element with a sequence")


def numpy_message(kind: str, message: str) -> str | None:
    """A plain sentence for NumPy's shape errors (None: not one of them)."""
    if kind != "ValueError":
        return None
    if m := _BROADCAST.search(message):
        shapes = [s.replace(" ", "") for s in _SHAPE.findall(m.group(1))]
        if len(shapes) >= 2:
            listed = " and ".join(shapes) if len(shapes) == 2 else ", ".join(shapes)
            return (
                f"arrays of shapes {listed} cannot be combined entry by entry: NumPy lines the "
                "shapes up from the right, and each pair of sizes must be equal or 1. Print the "
                "shapes of both sides: one of them is not the shape you meant (a missing "
                "`axis=`, a row where a column was meant, a transpose)."
            )
    if m := _MATMUL.search(message):
        right_size, left_size = m.group(3), m.group(4)
        return (
            f"a matrix product `a @ b` needs the inner sizes to match: the left side's last axis "
            f"has {left_size} entries, the right side's {'first' if m.group(1) == '1' else 'last'} "
            f"axis (the one it sums over) has {right_size}. Print both shapes: a transpose "
            "(`.T`) or the operands in the other order is the usual fix."
        )
    if m := _DOT.search(message):
        return (
            f"np.dot of shapes {m.group(1)} and {m.group(2)}: the inner sizes differ ({m.group(3)} "
            f"against {m.group(5)}). The left side's last axis must match the right side's "
            "first (for 2-D arrays); a transpose is the usual fix."
        )
    if m := _RESHAPE.search(message):
        return (
            f"an array of {m.group(1)} numbers cannot be reshaped to {m.group(2).replace(' ', '')}: "
            "the new shape must hold exactly as many numbers (-1 lets NumPy compute one size)."
        )
    if _RAGGED.search(message):
        return (
            "an array was made from rows of different lengths (or a number and a list mixed): "
            "NumPy arrays are rectangular. Check that every row has the same length."
        )
    return None
