"""The instructor's page in a real browser: Debian's chromium, driven by Playwright.

The room is a simulated one (an hour and a half of checks stored before the
server starts, as after a restart); the test then sends a check and watches
the page change without a reload. The page's screenshot is kept in
outputs/test-artifacts/room-page.png ($WORKSHOP_ARTIFACTS elsewhere).
Without chromium the test is skipped (`.ci/run` installs it, and fails when it cannot).
"""

from __future__ import annotations

import os
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.toolkit.test_room import MODULES
from workshop import ROOT
from workshop.grading import runner
from workshop.room import simulate
from workshop.room.simulate import Server
from workshop.room.store import Store

from .tools import CHROMIUM, needs_chromium

pytestmark = needs_chromium
ARTIFACTS = Path(os.environ.get("WORKSHOP_ARTIFACTS") or ROOT / "outputs" / "test-artifacts")
HOSTILE = "<img src=x onerror=alert(1)><script>alert(2)</script>"
LOOK_ALIKE = "\u0410da"  # a Cyrillic capital A: passes for "Ada"


def _earlier_session(db: Path) -> dict[str, int]:
    """14 attendees' checks over the last 90 minutes, stored as the server would have."""
    rng = random.Random(5)
    people = simulate.room(14, 30, MODULES, seed=5)
    people[HOSTILE] = simulate.attendee_checks(HOSTILE, MODULES, 12, rng)
    store = Store(db)
    start = time.time() - 90 * 60
    done = {}
    for name, checks in people.items():
        checks = checks[: rng.randrange(6, len(checks) + 1)]
        for i, r in enumerate(checks):
            store.add([r], start + i * (80 * 60 / len(checks)) + rng.uniform(0, 60))
        done[name] = len({r["module"] for r in checks if r["outcome"] == runner.PASSED})
    # Someone stuck: the same failing check on ex03 for 15 minutes, re-checked.
    m = next(m for m in MODULES if m.id == "ex03_xor_network")
    for minutes in (15, 9, 2):
        r = simulate.record(
            "Stuck Sam", m, runner.FAILED, 1, 5, "b must become b + e.", "test_update"
        )
        store.add([r], time.time() - minutes * 60)
    done["Stuck Sam"] = 0
    m = next(m for m in MODULES if m.id == "ex01_perceptron")
    store.add(
        [simulate.record("Gone Early", m, runner.PASSED, 6, 6, "All 6 pass.")], time.time() - 2700
    )
    done["Gone Early"] = 1
    for name in ("Ada", LOOK_ALIKE):
        store.add([simulate.record(name, m, runner.FAILED, 1, 6, "not yet.", "t")], time.time())
        done[name] = 0
    store.close()
    return done


@pytest.mark.timeout(120)
def test_the_page_shows_the_room_and_follows_it_live(tmp_path):
    from playwright.sync_api import sync_playwright

    done = _earlier_session(tmp_path / "room.sqlite3")
    server = Server(tmp_path / "room.sqlite3").start()
    dialogs, errors = [], []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{server.url}/?key={server.key}")
            assert page.url == f"{server.url}/", "the key should leave the address bar"
            page.wait_for_function("() => document.body.dataset.records !== '-1'", timeout=15000)

            # The grid: one row per attendee, their modules passed, names as text.
            rows = page.eval_on_selector_all(
                "#grid tr[data-attendee]",
                "rows => rows.map(r => [r.dataset.attendee, r.querySelector('th .person').textContent,"
                " r.querySelectorAll('td.cell.done').length])",
            )
            assert {name: n for name, _shown, n in rows} == done
            assert all(name == shown for name, shown, _n in rows)
            assert page.locator("#grid img").count() == 0 and not dialogs
            sam = page.locator(
                '#grid tr[data-attendee="Stuck Sam"] td[data-module="ex03_xor_network"]'
            )
            assert "stuck" in sam.get_attribute("class")
            assert "stuck for" in sam.get_attribute("title")
            explain = page.inner_text("#explain")
            assert "people" in explain or "person" in explain
            assert page.locator("#chart path.done-line").count() == 1
            idle = page.eval_on_selector_all(
                "#grid th.name.idle .person", "n => n.map(x => x.textContent)"
            )
            assert "Gone Early" in idle and "Stuck Sam" not in idle  # 45 min quiet; 2 min
            assert page.inner_text("#link") == "live"

            # Look-alike names: each marked, the mark says which name and which letter.
            marked = page.eval_on_selector_all(
                "#grid th.name .lookalike",
                "marks => marks.map(m => [m.closest('tr').dataset.attendee, m.textContent, m.title])",
            )
            assert sorted(name for name, _mark, _title in marked) == ["Ada", LOOK_ALIKE]
            titles = {name: title for name, _mark, title in marked}
            assert all(mark == "⚠" for _name, mark, _title in marked)
            assert titles["Ada"] == f"looks like “{LOOK_ALIKE}”"
            assert titles[LOOK_ALIKE] == (
                "looks like “Ada”\nthis name has CYRILLIC CAPITAL LETTER A (U+0410)"
            )
            order = [name for name, _shown, _n in rows]
            assert order.index(LOOK_ALIKE) == order.index("Ada") + 1, "side by side"
            ada = page.locator('#grid tr[data-attendee="Ada"] th.name')
            assert "looks like" in ada.get_attribute("title")

            # A new attendee checks: the page changes by itself (no reload).
            page.evaluate("window.sameDocument = true")
            before = int(page.evaluate("document.body.dataset.records"))
            m = next(m for m in MODULES if m.id == "ex01_perceptron")
            when = datetime.now(UTC) - timedelta(seconds=1)
            new = simulate.record(
                "Newcomer", m, runner.PASSED, 6, 6, "All 6 checks pass.", None, when
            )
            assert server.post(new)[0] == 200
            page.wait_for_function(
                f"() => document.body.dataset.records === '{before + 1}'", timeout=10000
            )
            cell = page.locator(
                '#grid tr[data-attendee="Newcomer"] td[data-module="ex01_perceptron"]'
            )
            assert "done" in cell.get_attribute("class")
            assert page.evaluate("window.sameDocument") is True

            # The export button downloads the CSV `workshop grade` writes.
            with page.expect_download() as info:
                page.click("#export")
            text = Path(info.value.path()).read_text(encoding="utf-8")
            assert text.startswith("attendee,ex00_gpu_setup,ex00_gpu_setup_reason,")
            assert "Newcomer" in text and "Stuck Sam" in text

            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "room-page.png"), full_page=True)
            browser.close()
    finally:
        server.stop()
    assert not errors, errors
    assert (ARTIFACTS / "room-page.png").stat().st_size > 10_000
