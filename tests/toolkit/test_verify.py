"""The maintainer check: stubs fail every check, hints are there, nothing is out of step.

Solutions passing is proven by the grading files themselves, which this suite
runs with --target=solutions; here each untouched stub is graded in a
subprocess, as `workshop verify` does, and must fail every one of its checks.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from workshop.catalog import load_catalog
from workshop.grading.verify import stray_files, verify_module

from .conftest import project_env

MODULES = load_catalog()


def test_catalog_matches_the_files():
    assert stray_files(MODULES) == []


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.id)
def test_untouched_stub_fails_every_check(module):
    verdict = verify_module(module, solutions=False)
    assert verdict.ok, f"{module.id}: {verdict.problems}"
    assert verdict.stub.startswith("not_started"), verdict.stub


def test_verify_command_end_to_end(project):
    env = project_env(project, COLUMNS="150")
    result = subprocess.run(
        [sys.executable, "-m", "workshop.cli", "verify", "1"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # The solution passes every check, the untouched stub none of them.
    passed = re.search(r"passed \((\d+)/(\d+)\)", result.stdout)
    assert passed and passed[1] == passed[2], result.stdout
    assert f"not_started (0/{passed[2]})" in result.stdout, result.stdout
    assert "verify passed" in result.stdout
