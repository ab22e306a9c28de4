"""Helpers the lessons' grading checks share (they run in the judge, on the judge's numbers)."""

from __future__ import annotations

from workshop.grading import expect
from workshop.grading.judge import type_name


def answer(lesson, key: str):
    """One entry of the attendee's answers() (a dict keyed "q1", "q2", ...)."""
    got = lesson.answers()
    if not isinstance(got, dict) or key not in got:
        keys = sorted(got) if isinstance(got, dict) else type_name(got)
        raise AssertionError(f"answers() should return a dict with the key {key!r}, got {keys}")
    return got[key]


def same_network(model, reference, x, what: str, hint: str, inputs: str = "inputs") -> None:
    """`model` computes what `reference` (built in the judge) computes with `model`'s weights.

    The weight arrays must have the reference's shapes; then the reference
    takes them and both run on the judge's `x` (`inputs` names them in the
    message: "images", "windows").
    """
    import keras

    got = [tuple(w.shape) for w in model.get_weights()]
    want = [tuple(w.shape) for w in reference.get_weights()]
    assert got == want, (
        f"{what}: its weight arrays have the shapes {got}; the network asked for has {want}. {hint}"
    )
    reference.set_weights(model.get_weights())
    expect.close(
        keras.ops.convert_to_numpy(model(x)),
        keras.ops.convert_to_numpy(reference(x)),
        f"{what}'s output on {len(x)} {inputs} of the judge (against the same weights in Keras)",
        rtol=1e-4,
        atol=1e-6,
        hint=hint,
    )
