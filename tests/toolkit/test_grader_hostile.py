"""The grader against hostile attendee code: right outcome class, in time, nothing lost."""

from __future__ import annotations

import dataclasses
import hashlib
import time

import pytest

from workshop import ROOT
from workshop.catalog import find_module
from workshop.grading import runner
from workshop.stubs import make_stub

SOLUTION = (ROOT / "solutions" / "ex01_perceptron.py").read_text(encoding="utf-8")
MARGIN_S = 6.0  # process start-up and kill; the limits below are the catalog's kind


def _with_body(first_statement: str) -> str:
    """The solution with `first_statement` run at the start of hardlim()."""
    anchor = '    """1 where x >= 0, else 0. A scalar gives an int, an array an int array."""\n'
    assert anchor in SOLUTION
    return SOLUTION.replace(
        anchor, anchor + "".join(f"    {ln}\n" for ln in first_statement.splitlines())
    )


def _prepend(code: str) -> str:
    """`code` at the top of the solution (after its __future__ import)."""
    future = "from __future__ import annotations\n"
    return SOLUTION.replace(future, future + code, 1)


CASES = {
    "syntax_error": (SOLUTION.replace("def hardlim(x):", "def hardlim(x)"), runner.SYNTAX_ERROR),
    "missing_module": (_prepend("import numpyy_not_installed\n"), runner.IMPORT_ERROR),
    "name_error_at_import": (SOLUTION + "\nprint(undefined_name)\n", runner.IMPORT_ERROR),
    "loops_forever": (_with_body("while True:\n    pass"), runner.TIMEOUT),
    "os_exit": (_with_body("import os\nos._exit(3)"), runner.CRASHED),
    "sys_exit_at_import": (_prepend("import sys\nsys.exit(0)\n"), runner.IMPORT_ERROR),
    "raises_memory_error": (_with_body("raise MemoryError()"), runner.OUT_OF_MEMORY),
    "allocates_too_much": (_with_body("junk = bytearray(64 * 2**30)"), runner.OUT_OF_MEMORY),
    "prints_10_mb": (_prepend("print('x' * 10_000_000)\n"), runner.PASSED),
    "sigalrm_handler": (
        _with_body(
            "import signal\nsignal.signal(signal.SIGALRM, lambda *a: None)\n"
            "signal.alarm(1)\nwhile True:\n    pass"
        ),
        runner.TIMEOUT,
    ),
    "recursion": (_with_body("return hardlim(x)"), runner.ERROR),
    "tampers_with_numpy_testing": (
        _prepend("import numpy.testing\nnumpy.testing.assert_allclose = lambda *a, **k: None\n"),
        runner.TAMPERED,
    ),
    "tampers_with_expectations": (
        _prepend(
            "import sys\n"
            "for _name, _mod in list(sys.modules.items()):\n"
            "    if _name.endswith('test_ex01_perceptron'):\n"
            "        _mod.GATES['XOR'][:] = [0, 1, 1, 1]\n"
        ),
        runner.TAMPERED,
    ),
    "raises_type_error": (_with_body("return x + 'a'"), runner.ERROR),
    "wrong_answer": (
        SOLUTION.replace("np.where(np.asarray(x) >= 0, 1, 0)", "np.where(np.asarray(x) > 0, 1, 0)"),
        runner.FAILED,
    ),
    "untouched_stub": (make_stub(SOLUTION), runner.NOT_STARTED),
}


@pytest.fixture(scope="module")
def module():
    # Short limits keep this test quick; the catalog's are more generous.
    return dataclasses.replace(find_module("ex01_perceptron"), timeout=8.0, memory=1500)


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_code_is_classified(case, module, tmp_path):
    source, expected = CASES[case]
    path = tmp_path / "ex01_perceptron.py"
    path.write_text(source, encoding="utf-8")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    start = time.perf_counter()
    result = runner.run_checks(module, str(tmp_path))
    elapsed = time.perf_counter() - start
    assert result.status == expected, (
        f"{case}: expected {expected}, got {result.status}: {result.message}"
    )
    assert elapsed < module.timeout + MARGIN_S, f"{case} took {elapsed:.1f} s"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before, "the attendee file changed"
    assert result.message and "Traceback" not in result.message


def test_messages_point_at_the_line(module, tmp_path):
    path = tmp_path / "ex01_perceptron.py"
    path.write_text(CASES["syntax_error"][0], encoding="utf-8")
    result = runner.run_checks(module, str(tmp_path))
    expected_line = CASES["syntax_error"][0].splitlines().index("def hardlim(x)") + 1
    assert result.line == expected_line and f"line {expected_line}" in result.message

    path.write_text(CASES["raises_type_error"][0], encoding="utf-8")
    result = runner.run_checks(module, str(tmp_path))
    assert "in hardlim" in result.message and "TypeError" in result.message

    path.write_text(CASES["sigalrm_handler"][0], encoding="utf-8")
    result = dataclasses.replace(module, timeout=4.0)
    result = runner.run_checks(result, str(tmp_path))
    assert result.status == runner.TIMEOUT and "(in hardlim)" in result.message, result.message


def test_memory_watchdog_for_tensorflow_modules(tmp_path):
    # TF modules get no address-space limit (TensorFlow reserves huge ranges),
    # so a resident-memory watchdog must stop runaway allocation instead.
    module = dataclasses.replace(find_module("ex01_perceptron"), tf=True, timeout=30.0, memory=700)
    path = tmp_path / "ex01_perceptron.py"
    path.write_text(
        _with_body(
            "import time\nhog = []\nfor _ in range(60):\n    hog.append(bytearray(10**8))\n    time.sleep(0.02)"
        ),
        encoding="utf-8",
    )
    result = runner.run_checks(module, str(tmp_path))
    assert result.status == runner.OUT_OF_MEMORY, result.message
