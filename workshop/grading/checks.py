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


def same_training(
    model, reference, x, y, loss, optimizer, what: str, hint: str, accuracy: bool = True
) -> None:
    """The compiled loss (and 'accuracy') and optimiser of `model`, judged by their values.

    The loss `evaluate` reports against `loss` (a Keras loss object) on the
    model's own outputs; 'accuracy' against the share of rows whose largest
    output is the label (y integer or one-hot); then two training steps of
    `model` against `reference` (same weights) compiled with `optimizer`.
    Nothing is read by name.
    """
    import keras
    import numpy as np

    reference.set_weights(model.get_weights())
    scores = model.evaluate(x, y, batch_size=len(x), verbose=0, return_dict=True)
    p = keras.ops.convert_to_numpy(model(x))
    want = float(keras.ops.convert_to_numpy(loss(y, p)))
    got = expect.number(scores.get("loss"), f"{what}'s loss")
    expect.close(got, want, f"{what}'s loss on the judge's {len(x)} rows", rtol=1e-4, hint=hint)
    if accuracy:
        assert "accuracy" in scores, (
            f"compile with metrics=['accuracy']; evaluate gave {sorted(scores)}"
        )
        labels = y if np.ndim(y) == 1 else np.argmax(y, axis=1)
        expect.close(
            scores["accuracy"],
            float(np.mean(p.argmax(axis=1) == labels)),
            f"{what}'s 'accuracy' (against the share of rows whose largest output is right)",
            rtol=1e-5,
            hint="metrics=['accuracy']",
        )
    reference.compile(optimizer=optimizer, loss=loss, run_eagerly=True)
    for step in (1, 2):
        model.train_on_batch(x, y)
        reference.train_on_batch(x, y)
        for i, (g, w) in enumerate(zip(model.get_weights(), reference.get_weights(), strict=True)):
            expect.close(
                g, w, f"{what}'s weights[{i}] after {step} step(s)", rtol=1e-3, atol=1e-5, hint=hint
            )
