"""System tools some tests need, and the one way they skip when a tool is absent.

bubblewrap (the sandbox of `workshop grade`) and chromium (the room page's
browser) are not Python packages: on a laptop without them (macOS, Windows, a
bare Linux) those tests skip and say why. `.ci/run` installs both and fails
when it cannot, so CI never skips them quietly.
"""

from __future__ import annotations

import os
import shutil

import pytest

from workshop.grading import sandbox

HAVE_SANDBOX, WHY_NO_SANDBOX = sandbox.available()
needs_sandbox = pytest.mark.skipif(
    not HAVE_SANDBOX,
    reason=f"bubblewrap sandbox unavailable ({WHY_NO_SANDBOX}); Debian: apt-get install bubblewrap",
)

CHROMIUM = os.environ.get("WORKSHOP_CHROMIUM") or next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium (Debian: apt-get install chromium)"
)
