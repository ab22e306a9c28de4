"""`watch` keeps a passed check's verdict only while nothing the check reaches has changed."""

import textwrap
import time

import pytest

from workshop.catalog import find_module
from workshop.grading import reuse, runner

LESSON = textwrap.dedent(
    '''
    """A lesson."""
    import numpy as np

    RATE = 0.5
    CACHE = {}


    def helper(x):
        return np.asarray(x) * RATE


    def train(x):
        """Uses helper."""
        return helper(x) + 1


    def other(x):
        return x


    class Model:
        def fit(self, x):
            return train(x)
    '''
)


def checks(**uses):
    return {f"t::{k}": {"outcome": "passed", "uses": v, "duration": 0.1} for k, v in uses.items()}


def edit(old, new, text=LESSON):
    assert old in text
    return text.replace(old, new)


def test_a_changed_function_is_all_that_changed():
    new = edit("return x\n", "return x + 1\n")
    assert reuse.changed_names(LESSON, new) == {"other"}
    # comments, blank lines and moving code around change nothing a check could see
    assert reuse.changed_names(LESSON, edit("def other(x):", "# note\n\ndef other(x):")) == set()


def test_a_check_is_run_again_when_something_it_reaches_changed():
    got = checks(a=["train"], b=["other"], c=["Model"], d=["RATE"])
    # helper changed: train's check and Model's (through train) run again
    assert reuse.reusable(LESSON, edit("* RATE", "* RATE * 2"), got) == {"t::b", "t::d"}
    # a constant changed: everything that reads it
    assert reuse.reusable(LESSON, edit("RATE = 0.5", "RATE = 0.25"), got) == {"t::b"}
    # a function added: nothing reached it before
    assert reuse.reusable(LESSON, LESSON + "\n\ndef extra():\n    pass\n", got) == set(got)


def test_only_passed_checks_with_known_uses_are_kept():
    got = checks(a=["other"], b=["other"], c=["other"])
    got["t::b"]["outcome"] = "failed"
    got["t::c"]["uses"] = None
    assert reuse.reusable(LESSON, edit("def train(x):", "def train(x, y=0):"), got) == {"t::a"}


@pytest.mark.parametrize(
    "change",
    [
        ("RATE = 0.5", "RATE = 0.5\nprint('hi')"),  # a statement that runs at import
        ("RATE = 0.5", "for i in range(2):\n    RATE = i"),
        ("return x\n", "return globals()['helper'](x)\n"),  # reaches a name unnamed
        ("return x\n", "global RATE\n    RATE = x\n    return x\n"),  # writes a variable
        ("return x\n", "import lesson_x\n    return lesson_x.helper(x)\n"),  # imports itself
        ("return x\n", "return x.__globals__\n"),
        ("return x\n", "return sys.modules[__name__].helper(x)\n"),
        ("return x\n", "return (x\n"),  # no longer parses
    ],
)
def test_anything_unclear_runs_every_check_again(change):
    got = checks(a=["other"], b=["train"], c=["RATE"])
    assert reuse.reusable(LESSON, edit(*change), got, own="lesson_x") == set()


def test_the_main_block_is_never_graded():
    got = checks(a=["other"])
    new = LESSON + "\n\nif __name__ == '__main__':\n    other(1)\n"
    assert reuse.reusable(LESSON, new, got) == {"t::a"}
    assert reuse.reusable(new, new.replace("other(1)", "other(2)"), got) == {"t::a"}


# Each pair: a lesson that passes, then one where `hardlim` (or what `predict` calls) is wrong,
# in a way the definitions' text alone does not show. A check of `uses` must run again.
ATTACKS = {
    "a top-level call of a changed function": (
        """
        class Settings:
            threshold = 0.0
        def _configure():
            Settings.threshold = 0.0
        _configure()
        def hardlim(x):
            return int(x >= Settings.threshold)
        """,
        ("Settings.threshold = 0.0\n_configure", "Settings.threshold = 1.0\n_configure"),
        ["hardlim"],
    ),
    "a value filled at import through an unchanged helper": (
        """
        LIMIT = [0.0]
        def _set(v):
            LIMIT[0] = v
        def _configure():
            _set(0.0)
        _done = _configure()
        def hardlim(x):
            return int(x >= LIMIT[0])
        """,
        ("_set(0.0)", "_set(1.0)"),
        ["hardlim"],
    ),
    "a changed function handed to the lesson's own decorator": (
        """
        ACTS = {}
        def register(f):
            ACTS[f.__name__] = f
            return f
        @register
        def hardlim(x):
            return int(x >= 0)
        def predict(x):
            return ACTS["hardlim"](x)
        """,
        ("x >= 0", "x > 0"),
        ["predict"],
    ),
    "a name bound by := at the top level": (
        """
        LIMIT = (THRESHOLD := 0.0)
        def hardlim(x):
            return int(x >= THRESHOLD)
        """,
        ("0.0)", "1.0)"),
        ["hardlim"],
    ),
    "a module __getattr__": (
        """
        def _h(x):
            return int(x >= 0)
        def __getattr__(name):
            return {"hardlim": _h}[name]
        """,
        ("x >= 0", "x > 0"),
        ["hardlim"],
    ),
    "the module found through from sys import modules": (
        """
        from sys import modules
        def hardlim(x):
            return int(x >= 0)
        def predict(x):
            return getattr(modules[__name__], "hardlim")(x)
        """,
        ("x >= 0", "x > 0"),
        ["predict"],
    ),
    "the module found through import sys as s": (
        """
        import sys as s
        def hardlim(x):
            return int(x >= 0)
        def predict(x):
            return getattr(s.modules["lesson_x"], "hardlim")(x)
        """,
        ("x >= 0", "x > 0"),
        ["predict"],
    ),
    "the module imported by importlib under another name": (
        """
        from importlib import import_module as im
        def hardlim(x):
            return int(x >= 0)
        def predict(x):
            return im("lesson_x").hardlim(x)
        """,
        ("x >= 0", "x > 0"),
        ["predict"],
    ),
    "a class body that changes another class": (
        """
        class Settings:
            threshold = 0.0
        class _Setup:
            Settings.threshold = 0.0
        def hardlim(x):
            return int(x >= Settings.threshold)
        """,
        ("Settings.threshold = 0.0\ndef", "Settings.threshold = 1.0\ndef"),
        ["hardlim"],
    ),
    "a function's attribute set at the top level": (
        """
        def hardlim(x):
            return int(x >= hardlim.t)
        hardlim.t = 0.0
        """,
        ("hardlim.t = 0.0", "hardlim.t = 1.0"),
        ["hardlim"],
    ),
    "a changed function that fills a class through a helper": (
        """
        class Settings:
            threshold = 0.0
        def _set(v):
            Settings.threshold = v
        def tune():
            _set(0.0)
        def hardlim(x):
            return int(x >= Settings.threshold)
        """,
        ("_set(0.0)", "_set(1.0)"),
        ["hardlim"],
    ),
    "a default argument evaluated at import": (
        """
        def _limit():
            return 0.0
        def hardlim(x, at=_limit()):
            return int(x >= at)
        """,
        ("return 0.0", "return 1.0"),
        ["hardlim"],
    ),
    "a changed function that writes into what it was handed": (
        """
        THRESHOLD = {"at": 0.0}
        def _set(settings):
            settings["at"] = 0.0
        def with_bias(p):
            _set(THRESHOLD)
            return p
        def hardlim(x):
            return int(x >= THRESHOLD["at"])
        """,
        ('settings["at"] = 0.0', 'settings["at"] = 1.0'),
        ["hardlim"],
    ),
    "the module's docstring, read through __doc__": (
        """
        \"\"\"A lesson (q1: 14).\"\"\"
        def answers():
            return {"q1": int(__doc__.split("(q1: ")[1].split(")")[0])}
        """,
        ("(q1: 14)", "(q1: 16)"),
        ["answers"],
    ),
    "a name used only in a string annotation": (
        """
        from dataclasses import dataclass
        from typing import ClassVar
        @dataclass
        class Result:
            w: float
            kind: "ClassVar[str]" = "online"
        def train(x):
            return Result(x)
        """,
        ("from typing import ClassVar\n", ""),
        ["train"],
    ),
    "state a function holds, changed by code run at import without a call": (
        """
        def _limit(box=[0.0]):
            return box
        class _Setup:
            def __class_getitem__(cls, key):
                return key
        _READY = _Setup[0]
        def hardlim(x):
            return int(x >= _limit()[0])
        """,
        ("return key", "return (_limit().insert(0, 1.0), key)[1]"),
        ["hardlim"],
    ),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_a_change_the_definitions_do_not_show_reruns_the_check(attack):
    text, (old, new), uses = ATTACKS[attack]
    text = textwrap.dedent(text).strip() + "\n"
    assert compile(text, "lesson_x.py", "exec"), attack
    changed = text.replace(textwrap.dedent(old), textwrap.dedent(new))
    assert changed != text, attack
    assert compile(changed, "lesson_x.py", "exec"), attack  # still a lesson, only a wrong one
    got = checks(a=uses)
    assert reuse.reusable(text, changed, got, own="lesson_x") == set(), attack


def test_a_name_made_at_run_time_is_never_kept():
    text = LESSON + "\nfor _n in ['double']:\n    globals()[_n] = other\n"
    got = checks(a=["double"], b=["other"])
    # `double` has no definition to compare: its check runs again whatever changed
    assert reuse.reusable(text, edit("* RATE", "* RATE * 2", text), got) == {"t::b"}


def test_a_changed_function_counts_the_variables_it_may_fill():
    text = edit("return x\n", "CACHE['x'] = x\n    return x\n")
    reader = edit("return helper(x) + 1", "return helper(x) + len(CACHE)")
    got = checks(a=["train"], b=["Model"], c=["helper"])
    assert reuse.changed_names(reader, edit("return x\n", "return 2 * x\n", reader)) == {"other"}
    # `other` now writes into CACHE, which train reads: train's checks run again
    both = edit("return x\n", "CACHE['x'] = x\n    return x\n", reader)
    assert reuse.reusable(reader, both, got) == {"t::c"}
    assert "CACHE" in reuse.changed_names(LESSON, text)


def test_a_check_that_handed_the_lesson_on_is_never_kept():
    got = checks(a=[reuse.EVERYTHING])
    assert reuse.reusable(LESSON, edit("return x\n", "return 2 * x\n"), got) == set()


def test_the_names_a_scenario_reads():
    source = textwrap.dedent(
        """
        def train_briefly(lesson, limit):
            splits = lesson.load_data(limit=limit)
            return lesson.train(lesson.build_model(), splits)
        """
    )
    assert reuse.scenario_uses(source) == ["build_model", "load_data", "train"]
    handed = source.replace("return lesson.train(", "return helper(lesson, ")
    assert reuse.scenario_uses(handed) == [reuse.EVERYTHING]
    assert reuse.scenario_uses("def f(lesson):\n    m = lesson\n    return m.x") == ["*"]


# --------------------------------------------------------------------------- through the judge


def _check(m, text, earlier=None):
    pending = runner.PendingCheck(m, f"exercises/{m.id}.py", wait=True)
    try:
        time.sleep(0.5)
        result = pending.go(text, earlier=earlier)
    finally:
        pending.discard()
    return result, pending.earlier(result)


def test_watch_reruns_what_a_change_reaches_and_keeps_the_rest():
    m = find_module("ex01")
    text = m.solution_path().read_text(encoding="utf-8")
    first, earlier = _check(m, text)
    assert first.ok and first.reused == 0 and first.checks
    uses = {k.split("::")[-1]: v["uses"] for k, v in first.checks.items()}
    assert uses["test_hardlim_scalars"] == ["hardlim"]
    # The same text again: one check runs (the file is loaded again), the rest are kept.
    again, _ = _check(m, text, earlier)
    assert again.ok and again.reused == again.total - 1 and again.passed == again.total
    assert "not run again" in again.message
    # hardlim broken: every check that reaches it fails, through predict and training too.
    broken = text.replace("a = np.where(n >= 0, 1, 0)", "a = np.where(n > 0, 1, 0)")
    assert broken != text
    result, _ = _check(m, broken, earlier)
    assert result.status == runner.FAILED
    failed = {name for name, outcome in result.tests.items() if outcome != "passed"}
    assert "test_hardlim_scalars" in failed
    kept = {k.split("::")[-1] for k in reuse.reusable(text, broken, earlier.checks, m.id)}
    assert kept and not kept & failed
    assert all("hardlim" not in reuse.reach(text, uses[name]) for name in kept)
    assert result.passed + len(failed) == result.total


def test_no_earlier_verdict_stands_when_the_file_no_longer_loads():
    m = find_module("ex01")
    text = m.solution_path().read_text(encoding="utf-8")
    _, earlier = _check(m, text)
    # A new line at the top level that fails at import, reached by no check.
    broken = text.replace("\ndef hardlim(", '\nTRIED = int("ten")\n\n\ndef hardlim(', 1)
    assert broken != text
    assert reuse.reusable(text, broken, earlier.checks, m.id)  # the text alone would keep some
    result, _ = _check(m, broken, earlier)
    assert result.status == runner.IMPORT_ERROR
    assert result.reused == 0 and result.passed == 0
