"""Mutation testing: wrong and lazy versions of each solution, graded through the judge."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from workshop.catalog import find_module, load_catalog
from workshop.grading import mutants
from workshop.stubs import solution_blocks

from .conftest import project_env

MODULES = load_catalog()


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.id)
def test_every_block_is_mutated_within_itself(module):
    text = module.solution_path().read_text(encoding="utf-8")
    blocks = solution_blocks(text)
    found = mutants.mutants_of(module)
    assert len({m.id for m in found}) == len(found), "mutant ids are unique"
    assert any(m.lazy for m in found), "every lesson has lazy mutants"
    inside = {line for b in blocks for line in range(b.first, b.last + 1)}
    original = text.rstrip().splitlines()
    for m in found:
        compile(m.source, m.module, "exec")
        body = m.source.split(mutants.LAZY_HELPERS.strip().splitlines()[0])[0].rstrip().splitlines()
        assert m.todo in {b.todo for b in blocks}
        if len(body) == len(original):  # a one-line change: only inside the blocks
            changed = {i + 1 for i, (a, b) in enumerate(zip(original, body, strict=True)) if a != b}
            assert changed and changed <= inside, (m.id, changed)


def test_lazy_helpers_keep_the_shape_and_drop_the_work():
    namespace: dict = {}
    exec(mutants.LAZY_HELPERS, namespace)
    import numpy as np

    value = (np.arange(6.0).reshape(2, 3), 3, [0.25, 0.5], {"a": 0.5})
    empty = namespace["_lazy_empty"](value)
    assert empty[0].size == 0 and empty[1].size == 0 and empty[2] == [] and empty[3] == {}
    zeros = namespace["_lazy_zeros"](value)
    assert zeros[0].shape == (2, 3) and not zeros[0].any() and zeros[1] == 0
    constant = namespace["_lazy_constant"](value)
    assert constant[0].shape == (2, 3) and len(set(constant[0].ravel())) == 1
    assert constant[2] == [0.9, 0.9] and constant[3] == {"a": 0.9}


def test_a_fixed_sample_keeps_every_lazy_mutant():
    module = find_module("ex02")
    every = mutants.mutants_of(module)
    chosen = mutants.sample(every, 6, seed=3)
    assert chosen == mutants.sample(every, 6, seed=3), "the same sample every time"
    assert len(chosen) == 6 and any(m.lazy for m in chosen)
    assert len({m.operator for m in chosen if not m.lazy}) >= 3, "spread over operators"


def test_every_lazy_mutant_and_a_sample_of_the_others():
    every = mutants.mutants_of(find_module("ex02"))
    chosen = mutants.sample(every, 4, seed=1, every_lazy=True)
    lazy = [m for m in every if m.lazy]
    assert [m for m in chosen if m.lazy] == lazy and sum(not m.lazy for m in chosen) == 4


def test_every_listed_equivalent_is_a_current_mutant():
    """A solution edited since an entry was written leaves it stale: it must be reviewed again."""
    ids: dict[str, set] = {}
    for module_id, mutant_id in mutants.equivalents():
        if module_id not in ids:
            ids[module_id] = {m.id for m in mutants.mutants_of(find_module(module_id))}
        assert mutant_id in ids[module_id], f"stale entry in {mutants.EQUIVALENTS}: {mutant_id}"


BRANCHES = """
import keras


def step(x):
    if keras.backend.backend() == "jax":
        y = x + 1
    elif keras.backend.backend() == "torch":
        y = x + 2
    else:
        y = x + 3
    return y * 2
"""


def test_a_backends_own_branch_is_scored_under_that_backend():
    import ast

    branches = mutants._backend_branches(ast.parse(BRANCHES))
    found = {(first, last): names for first, last, names in branches}
    assert found == {
        (6, 7): {"jax"},
        (8, 9): {"torch"},
        (11, 11): {"tensorflow"},
    }, found
    ex10 = [m for m in mutants.mutants_of(find_module("ex10")) if m.todo == "train_step"]
    bound = {m.backends for m in ex10 if m.backends}
    assert bound == {frozenset({"jax"}), frozenset({"torch"}), frozenset({"tensorflow"})}
    assert any(m.backends is None for m in ex10), "apply_gradients runs on every backend"


WEAK_CHECK = """
def test_bias_is_a_weight_on_a_constant_input(lesson):
    import numpy as np

    assert lesson.with_bias_input(np.ones((3, 2))) is not None
"""


def test_weak_checks_let_mutants_survive_and_verify_shows_them(project, tmp_path):
    tests = project / "tests" / "test_ex01_perceptron.py"
    tests.write_text(WEAK_CHECK)
    out = tmp_path / "scores.json"
    done = subprocess.run(
        [sys.executable, "-m", "workshop.cli", "verify", "1", "--mutants", "4", "--json", str(out)],
        cwd=project,
        env=project_env(project, COLUMNS="200"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "mutation goal missed" in done.stdout and "survivor" in done.stdout, (
        done.stdout[-3000:] + done.stderr[-3000:]
    )
    assert "+" in done.stdout and "-" in done.stdout, "each survivor's diff is shown"
    score = json.loads(out.read_text())["ex01_perceptron"]
    assert score["graded"] == 4 and score["survivors"], score


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.id)
def test_a_fixed_sample_of_mutants_is_killed(module):
    """CI's guard: check strength cannot quietly fall (the full run is in scripts/bench.py)."""
    score = mutants.run([module], limit=2, seed=0, measure=False)[0]
    survivors = [(o.mutant.id, o.message) for o in score.survivors]
    assert not survivors, f"{module.id}: mutants the checks let pass: {survivors}"
