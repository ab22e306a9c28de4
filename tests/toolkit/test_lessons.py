"""Every lesson's reference solution: runs quick and offline, rejects bad input, stays light."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from workshop import ROOT
from workshop.catalog import load_catalog
from workshop.demo import run_lesson
from workshop.grading.loader import load_lesson

MODULES = load_catalog()


def _run_in_this_process(module, out, monkeypatch):
    """main(Config(**QUICK)) here, where TensorFlow is loaded already (what `--quick
    --offline` does, minus a fresh interpreter: ~5 s less per lesson)."""
    import keras

    monkeypatch.setenv("WORKSHOP_OFFLINE", "1")
    monkeypatch.setenv("WORKSHOP_QUICK", "1")
    keras.backend.clear_session()
    solution = load_lesson(module.id, "solutions")
    solution.main(solution.Config(**{**solution.QUICK, "out_dir": str(out)}))
    return sorted(p.name for p in out.glob("*.png"))


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.id)
def test_solution_runs_quick_and_offline(module, tmp_path, monkeypatch):
    out = tmp_path / module.id
    if module.tf and module.id != "ex00_gpu_setup":
        figures = _run_in_this_process(module, out, monkeypatch)
    else:  # the way `workshop demo` runs them, in a process of their own
        row = run_lesson(module, out, quick=True, offline=True, timeout=600)
        assert row.status == "ok", row.headline
        figures = row.figures
    assert figures, "every lesson saves at least one figure"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics.get("headline"), "metrics.json needs a headline for the demo table"
    if module.id == "ex09_cnn_classifiers":  # overfitting shown, and more: its own test file
        from tests.toolkit.test_lesson_ex09 import check_quick_run

        check_quick_run(out, metrics)


@pytest.mark.parametrize(
    "module_id", ["ex01_perceptron", "ex02_linear_regression", "ex03_xor_network"]
)
def test_numpy_checks_run_without_tensorflow(module_id):
    """The from-scratch parts grade in about a second: TensorFlow is never imported for them."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            f"tests/test_{module_id}.py",
            "--target=solutions",
            "-m",
            "not keras",
            "-q",
            "-p",
            "tests.toolkit.no_tf_plugin",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def test_ex00_rejects_bad_input():
    ex00 = load_lesson("ex00_gpu_setup", "solutions")
    _expect_value_errors(
        [
            (lambda: ex00.time_matmul(-1), "n must be at least 1, got -1"),
            (lambda: ex00.time_matmul(8.0), "n must be a whole number, got 8.0"),
            (lambda: ex00.time_matmul(8, repeats=0), "repeats must be at least 1"),
            (lambda: ex00.time_matmul(8, repeats="3"), "repeats must be a whole number"),
            (lambda: ex00.time_matmul(8, device="TPU:0"), "device must be one of"),
            (lambda: ex00.speedup(0), "n must be at least 1"),
            (lambda: ex00.speedup(8, repeats=None), "repeats must be a whole number"),
        ]
    )
    assert ex00.time_matmul(np.int64(8), repeats=np.int32(1)) > 0  # NumPy integers are welcome


def _expect_value_errors(cases):
    """Each call raises a ValueError whose message contains the text given (literally)."""
    for call, message in cases:
        with pytest.raises(ValueError) as caught:
            call()
        assert message in str(caught.value), f"expected {message!r} in {str(caught.value)!r}"


def test_missing_data_ends_with_the_fix_not_a_traceback(tmp_path):
    env = dict(
        os.environ,
        KERAS_HOME=str(tmp_path / "empty"),
        WORKSHOP_MIRROR="http://127.0.0.1:1",  # refused at once: no network is touched
        WORKSHOP_OFFLINE="",
        PYTHONPATH=str(ROOT),
    )
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "solutions" / "ex06_lenet.py"),
            "--quick",
            "--out-dir",
            str(tmp_path / "out"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "MNIST handwritten digits is not available" in result.stderr
    assert "workshop data fetch" in result.stderr and "--offline" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_lesson_whose_sibling_is_missing_says_how_to_restore_it(tmp_path, monkeypatch):
    from workshop import lesson

    (tmp_path / "ex99_probe.py").write_text(
        "from workshop import lesson\n\ndef use():\n    return lesson.sibling('ex04_fashion_mnist_callbacks')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    probe = __import__("ex99_probe")
    with pytest.raises(lesson.SiblingMissing, match="workshop reset 4"):
        probe.use()
    with pytest.raises(ValueError, match="lesson's id"):
        lesson.sibling("../solutions/ex04")


def test_only_the_lessons_the_catalog_lists_are_placed_beside_a_graded_file(tmp_path):
    from workshop.catalog import find_module
    from workshop.grading.runner import place_siblings, read_siblings

    ex09 = find_module(9)
    assert ex09.uses == ("ex04_fashion_mnist_callbacks", "ex07_convolution_visualisation")
    private = tmp_path / "private"
    private.mkdir()
    written = place_siblings(
        ex09,
        private,
        {
            "ex04_fashion_mnist_callbacks": "X = 4\n",
            "../escape": "boom",
            "ex01_perceptron": "not used by ex09",
            "ex07_convolution_visualisation": b"bytes are not a text",
        },
    )
    assert [p.name for p in written] == ["ex04_fashion_mnist_callbacks.py"]
    assert sorted(p.name for p in tmp_path.rglob("*")) == [
        "ex04_fashion_mnist_callbacks.py",
        "private",
    ]
    # Reading them back: a missing one (ex07 here) is left out, not an error.
    assert read_siblings(ex09, private) == {"ex04_fashion_mnist_callbacks": "X = 4\n"}


def test_demo_runs_lessons_side_by_side_in_reusable_runners(tmp_path):
    """Two runners: the first two lessons overlap in time; a lesson that reads stdin gets nothing
    (the requests are not its to read); a lesson that raises, one that kills its runner and one
    that hangs each get their own status, and the lessons after them run."""
    from workshop import demo
    from workshop.catalog import Module

    lesson = """
import json, os, sys, time
from pathlib import Path
out = Path(sys.argv[sys.argv.index("--out-dir") + 1])
out.mkdir(parents=True, exist_ok=True)
(out / "start").write_text(str(time.time()))
(out / "pid").write_text(str(os.getpid()))
{body}
(out / "end").write_text(str(time.time()))
(out / "metrics.json").write_text(json.dumps({{"headline": "pid " + str(os.getpid())}}))
(out / "figure.png").write_bytes(b"png")
"""
    bodies = {
        "ex90_a": "time.sleep(1.5)",
        "ex91_b": "time.sleep(1.5)\nassert sys.stdin.read() == ''  # not the runner's requests",
        "ex92_raises": "raise ValueError('a lesson that fails')",
        "ex93_kills_its_runner": "os._exit(3)",
        "ex94_hangs": "time.sleep(60)",
        "ex95_after": "pass",
    }
    (tmp_path / "solutions").mkdir()
    for name, body in bodies.items():
        (tmp_path / "solutions" / f"{name}.py").write_text(lesson.format(body=body))
    modules = [Module(name, name, 1, 10, 100, False) for name in bodies]
    out = tmp_path / "out"
    rows = demo.run_demo(out, jobs=2, modules=modules, root=tmp_path, lesson_timeout=8)
    by = {r.module: r for r in rows}
    assert [r.module for r in rows] == list(bodies)  # the course's order
    (a_start, a_end), (b_start, b_end) = (
        [float((out / m / f).read_text()) for f in ("start", "end")] for m in ("ex90_a", "ex91_b")
    )
    assert a_start < b_end and b_start < a_end, "the first two lessons ran side by side"
    assert by["ex90_a"].status == by["ex91_b"].status == by["ex95_after"].status == "ok"
    assert by["ex90_a"].figures == ["figure.png"]
    assert by["ex92_raises"].status == "failed"
    assert "a lesson that fails" in by["ex92_raises"].headline
    assert by["ex93_kills_its_runner"].status == "failed"
    assert by["ex94_hangs"].status == "timeout"
    # Two runners at a time, reused: fewer processes than lessons, and more than one.
    pids = {(out / m / "pid").read_text() for m in bodies}
    assert 2 <= len(pids) < len(bodies), pids
    summary = json.loads((out / "summary.json").read_text())
    assert [row["module"] for row in summary["lessons"]] == list(bodies)
    assert demo.default_jobs() >= 1


@pytest.mark.parametrize("module", load_catalog(), ids=lambda m: m.id)
def test_keras_is_imported_after_workshop(module):
    """`workshop` quiets TensorFlow's C++ start-up log, but only for an import that comes after it:
    `python solutions/exNN.py` and `workshop run` otherwise print a dozen lines of it."""
    import ast

    tree = ast.parse(module.solution_path().read_text(encoding="utf-8"))
    first: dict[str, int] = {}
    for node in tree.body:  # the module's own imports; those inside functions come later anyway
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            top = name.split(".")[0]
            if top in ("workshop", "keras", "tensorflow"):
                first.setdefault(top, node.lineno)
    for heavy in ("keras", "tensorflow"):
        if heavy in first:
            assert first.get("workshop", 10**9) < first[heavy], (
                f"{module.id}: `import {heavy}` on line {first[heavy]} comes before "
                "`from workshop import ...`: move it after (see ex05's `# isort: split`)"
            )
