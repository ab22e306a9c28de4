"""pytest plugin: fail the session if TensorFlow or Keras was imported (`-p tests.toolkit.no_tf_plugin`)."""

import sys


def pytest_sessionfinish(session, exitstatus):
    heavy = [m for m in ("tensorflow", "keras") if m in sys.modules]
    if heavy:
        print(f"\nNO-TF CHECK FAILED: {heavy} imported", file=sys.stderr)
        session.exitstatus = 3
