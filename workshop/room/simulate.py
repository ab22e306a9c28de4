"""A simulated room: attendees working through the modules, as records (tests, bench, previews).

Each attendee takes the modules in order; on each, a few failing checks
(drawn from a handful of slips, the same ones for many people, as in a real
room) and then a pass. Records are what `workshop check` would send.
"""

from __future__ import annotations

import random
import secrets
from datetime import UTC, datetime, timedelta

from workshop.catalog import Module
from workshop.grading import runner

SLIPS = (
    (runner.FAILED, "{check} fails: b must become b + e, got b unchanged."),
    (runner.FAILED, "{check} fails: the shape is (4, 3), expected (3, 4)."),
    (runner.FAILED, "{check} fails: differs at [0, 0]: got 0.68, expected 0.85."),
    (runner.ERROR, "{check} raised NameError: name 'np' is not defined."),
    (runner.NOT_STARTED, "The TODO in {todo} is still there: fill it in."),
    (runner.SYNTAX_ERROR, "Python cannot read the file: line 42, invalid syntax."),
)


def record(
    attendee: str,
    module: Module,
    outcome: str,
    passed: int,
    total: int,
    message: str,
    check: str | None = None,
    when: datetime | None = None,
) -> dict:
    """One record as the client sends it."""
    when = when or datetime.now(UTC)
    return {
        "id": secrets.token_hex(16),
        "attendee": attendee,
        "module": module.id,
        "outcome": outcome,
        "passed": passed,
        "total": total,
        "message": message,
        "check": check,
        "duration": 1.5,
        "time": when.isoformat(timespec="seconds"),
    }


def attendee_checks(name: str, modules: list[Module], count: int, rng: random.Random) -> list[dict]:
    """`count` checks of one attendee, in the order they would make them."""
    out: list[dict] = []
    start = datetime.now(UTC) - timedelta(minutes=count)
    k = 0
    while len(out) < count:
        m = modules[k % len(modules)]
        total = max(2, len(m.todos) + 2)
        checks = [c for t in m.todos for c in t.checks if c != "*"] or ["test_values"]
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            outcome, text = SLIPS[min(int(rng.expovariate(1.2)), len(SLIPS) - 1)]
            check = rng.choice(checks[:2])
            todo = m.todos[0].name if m.todos else "the lesson"
            passed = 0 if outcome == runner.NOT_STARTED else rng.randrange(total)
            message = text.format(check=check, todo=todo)
            when = start + timedelta(minutes=len(out))
            out.append(record(name, m, outcome, passed, total, message, check, when))
        when = start + timedelta(minutes=len(out))
        out.append(
            record(name, m, runner.PASSED, total, total, f"All {total} checks pass.", None, when)
        )
        k += 1
    return out[:count]


def room(attendees: int, checks: int, modules: list[Module], seed: int = 0) -> dict[str, list]:
    """attendee name -> their records; names include the awkward ones a real room has."""
    rng = random.Random(seed)
    names = ["Zoë Ölçer", "李雷", "O'Brien", "<script>alert(1)</script>", "=HYPERLINK(1)"]
    names = [*names[: max(0, attendees)], *(f"attendee-{i:03d}" for i in range(attendees))]
    return {n: attendee_checks(n, modules, checks, rng) for n in names[:attendees]}
