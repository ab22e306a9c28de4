"""TensorFlow's start-up chatter stays out of what attendees read; real errors do not."""

from __future__ import annotations

import os
import subprocess
import sys

from workshop import quiet

NOISE = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1795382977.715872    8062 port.cc:153] oneDNN custom operations are on.",
    "I0000 00:00:1795382977.716542    8062 cudart_stub.cc:31] Could not find cuda drivers",
    "E0000 00:00:1795382986.575496    8062 cuda_platform.cc:52] failed call to cuInit: INTERNAL",
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with",
]


def test_known_start_up_lines_are_noise_and_errors_are_not():
    assert all(quiet.is_noise(line) for line in NOISE)
    for line in (
        "E0000 00:00:1.0  1 op_kernel.cc:1] OP_REQUIRES failed: out of memory",
        "Traceback (most recent call last):",
        "ValueError: bad input",
    ):
        assert not quiet.is_noise(line), line


def _run(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )


def test_filtered_block_keeps_real_errors():
    code = (
        "import os\n"
        "from workshop import quiet\n"
        "with quiet.during():\n"
        + "".join(f"    os.write(2, {line + chr(10)!r}.encode())\n" for line in NOISE)
        + "    os.write(2, b'E0000 00:00:1.0 1 x.cc:1] a real problem\\n')\n"
    )
    done = _run(code)
    assert "a real problem" in done.stderr
    assert not any(line[:30] in done.stderr for line in NOISE), done.stderr
    loud = _run(code, WORKSHOP_TF_LOGS="1")
    assert all(line[:30] in loud.stderr for line in NOISE), "WORKSHOP_TF_LOGS=1 shows everything"


def test_importing_tensorflow_through_workshop_is_quiet():
    done = _run(
        "import workshop\nimport keras\nfrom workshop import gpu\nprint(len(gpu.list_devices()))"
    )
    assert done.returncode == 0, done.stderr
    assert "absl::InitializeLog" not in done.stderr and "cuInit" not in done.stderr, done.stderr
    assert "oneDNN" not in done.stderr and "cuda drivers" not in done.stderr, done.stderr
