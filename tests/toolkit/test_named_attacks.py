"""The lazy answers an instructor found passing (issue 20), each graded through the judge: all fail.

Each attack edits the reference solution the way an attendee who skips the
work would, and grades the result exactly as `workshop check` does. The
mutation tests (`test_mutants.py`) cover such answers in general; these are
the named cases, kept so that none of them can come back.
"""

from __future__ import annotations

import re

import pytest

from workshop.catalog import find_module
from workshop.grading import mutants

FAKE_HISTORY = (
    'type("History", (), {"history": {k: [0.5] * epochs for k in '
    '("loss", "val_loss", "accuracy", "val_accuracy")}})()'
)

ATTACKS = {
    # The list a NumPy habit gives: the checks pass it today, `workshop run 1` then crashes.
    "ex01 perceptron_step returns a list": (
        "ex01_perceptron",
        "perceptron_step",
        "    return w, b, e\n",
        "    return w.tolist(), b, e\n",
    ),
    # An empty array "close" to any number.
    "ex02 quadratic_cost returns an empty array": (
        "ex02_linear_regression",
        "quadratic_cost",
        "    return float(np.mean((t - predict_line(w, b, x)) ** 2) / 2)\n",
        "    return np.array([])\n",
    ),
    # A mean squared error made up instead of measured.
    "ex05 evaluate_regression makes its MSE up": (
        "ex05_keras_regression_classification",
        "evaluate_regression",
        "mses.append(float(np.mean((y_test - prediction) ** 2)))",
        "mses.append(float(np.var(y_test)))",
    ),
    # An untrained model evaluated, its history invented.
    "ex09 compare_models skips fit and invents a history": (
        "ex09_cnn_classifiers",
        "compare_models",
        re.compile(r"history = model\.fit\(.*?\n        \)\n", re.S),
        f"history = {FAKE_HISTORY}\n",
    ),
    # The mean squared error wearing cross-entropy's name.
    "ex10 Iris MLP's loss named categorical_crossentropy": (
        "ex10_training_tricks",
        "build_iris_mlp",
        'loss="categorical_crossentropy"',
        'loss=keras.losses.MeanSquaredError(name="categorical_crossentropy")',
    ),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_a_named_lazy_answer_fails(attack):
    module_id, todo, old, new = ATTACKS[attack]
    module = find_module(module_id)
    text = module.solution_path().read_text(encoding="utf-8")
    if isinstance(old, re.Pattern):
        changed, count = old.subn(lambda _: new, text, count=1)
    else:
        changed, count = text.replace(old, new, 1), text.count(old)
    assert count >= 1 and changed != text, f"{attack}: the solution changed; update the attack"
    names = {t.name for t in module.todos}
    assert todo in names, f"{attack}: no TODO {todo!r} in {sorted(names)}"
    attack_mutant = mutants.Mutant(module_id, todo, "attack", True, 0, "", "", changed)
    status, message = mutants._grade(module, attack_mutant, mutants.ROOT, module.timeout)
    assert status != "passed", f"{attack} got the points: {message}"
