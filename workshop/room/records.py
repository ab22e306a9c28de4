"""The record a check sends to the room: what is in it, and the server's checks of each field.

A record says who checked which module, the outcome class, how many checks
passed, what went wrong in one line (`summary`), how long it took and when. It
never holds the attendee's code. The server trusts nothing in it: every
field is checked here, and `RecordError` says which field, what was
expected and what came.
"""

from __future__ import annotations

import math
import re
import secrets
import unicodedata
from datetime import datetime

from workshop.grading import runner

OUTCOMES = (
    runner.PASSED,
    runner.NOT_STARTED,
    runner.FAILED,
    runner.ERROR,
    runner.IMPORT_ERROR,
    runner.SYNTAX_ERROR,
    runner.UNREADABLE,
    runner.TIMEOUT,
    runner.CRASHED,
    runner.OUT_OF_MEMORY,
    runner.TAMPERED,
)
FIELDS = ("id", "attendee", "module", "outcome", "passed", "total", "message", "check")
FIELDS += ("duration", "time")
MAX_NAME = 64
MAX_MESSAGE = 300
MAX_CHECK = 160
MAX_CHECKS = 500  # no lesson has near this many checks
MAX_DURATION = 24 * 3600.0
MAX_BATCH = 50  # records in one request (a queue that waited sends several)
_ID = re.compile(r"^[0-9a-f]{32}$")


class RecordError(ValueError):
    """A record (or a field of it) the room does not accept."""


def _printable(text: str) -> bool:
    """No control characters (newlines, escapes, bidi overrides, zero-width ones, NUL)."""
    return not any(
        unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") for ch in text
    )


def check_name(value) -> str:
    """An attendee's name: 1-64 printable characters, stripped. Shown as text, never as markup."""
    if not isinstance(value, str):
        raise RecordError(f"attendee: expected a name (text), got {type(value).__name__}")
    name = unicodedata.normalize("NFC", value).strip()
    if not name:
        raise RecordError("attendee: expected a name, got an empty one")
    if len(name) > MAX_NAME:
        raise RecordError(f"attendee: expected at most {MAX_NAME} characters, got {len(name)}")
    if not _printable(name):
        raise RecordError(
            f"attendee: expected printable characters, got a control character in {name!r}"
        )
    if not skeleton(name):
        raise RecordError(f"attendee: expected a name, got only invisible characters {name!r}")
    return name


# Look-alike names. Two names look alike when they differ only by case, by
# width or another compatibility form (NFKC: "ａｄａ", "ﬁ"), by invisible
# characters, or by letters of another script drawn like Latin ones (Cyrillic
# "а" for "a"). Zero-width and bidi characters never get this far: they are
# control characters (Cf), refused above. The map holds the common look-alikes
# of Unicode's confusables.txt (UTS #39) for Cyrillic, Greek and Armenian, and
# the digits drawn like letters; it is not all of Unicode, it is what someone
# can type to pass for a neighbour.
_LOOK_ALIKE = str.maketrans(
    {
        # Cyrillic
        **dict(zip("АВЕКМНОРСТУХЅІЈԚԜӀҮ", "ABEKMHOPCTYXSIJQWIY", strict=True)),
        **dict(zip("аеорсухѕіјһԛԝӏүпгь", "aeopcyxsijhqwlynrb", strict=True)),
        # Greek
        **dict(zip("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧϹϿ", "ABEZHIKMNOPTYXCJ", strict=True)),
        **dict(zip("αικνορυχγϲϳ", "aikvopuxycj", strict=True)),
        # Armenian
        **dict(zip("ՕՍօսոհզ", "OUounhq", strict=True)),
        # Latin letters and digits drawn like other Latin letters
        **dict(zip("ıȷɑɡɩǀ|01", "ijagillol", strict=True)),
    }
)
# Invisible characters that are not control characters (combining, fillers, blanks).
_INVISIBLE = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2800\u3164"
    "\ufe00-\ufe0f\uffa0\U000e0100-\U000e01ef]"
)


def _drawn(text: str) -> str:
    """`text` as it is drawn: compatibility forms folded, look-alikes mapped, invisibles gone."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKD", text)).translate(_LOOK_ALIKE)
    return " ".join(unicodedata.normalize("NFC", text).split()).replace("rn", "m")


def skeleton(name: str) -> str:
    """What `name` looks like, whatever its case: two names with one skeleton look alike."""
    return _drawn(_drawn(name).casefold())


def look_alike_keys(name: str) -> tuple[str, str]:
    """Two names look alike when one of these keys is the same for both.

    The skeleton; and the name's shape with its case kept, where a capital
    "I" is drawn like an "l" ("AIice" passes for "Alice").
    """
    return "fold:" + skeleton(name), "shape:" + _drawn(name).replace("I", "l")


def unusual_characters(name: str) -> list[str]:
    """The characters of `name` that pass for others (Unicode names): what tells look-alikes apart."""
    out = []
    for ch in dict.fromkeys(name):
        if (ch.isascii() and ch.isalpha()) or ch == " ":
            continue
        if _drawn(ch) != ch:
            out.append(f"{unicodedata.name(ch, 'an unnamed character')} (U+{ord(ch):04X})")
    return out


def _text(record: dict, key: str, limit: int, required: bool) -> str | None:
    value = record.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise RecordError(f"{key}: expected text, got {type(value).__name__}")
    if len(value) > limit:
        raise RecordError(f"{key}: expected at most {limit} characters, got {len(value)}")
    # Line breaks and tabs become spaces (a message is one line); other controls are refused.
    value = " ".join(value.split())
    if not _printable(value):
        raise RecordError(f"{key}: expected printable text, got a control character")
    return value


def _count(record: dict, key: str) -> int:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise RecordError(f"{key}: expected a whole number, got {type(value).__name__}")
    if not 0 <= value <= MAX_CHECKS:
        raise RecordError(f"{key}: expected 0 to {MAX_CHECKS}, got {value}")
    return value


def validate(record, modules: set[str]) -> dict:
    """The record, checked field by field and normalised; `RecordError` at the first bad field."""
    if not isinstance(record, dict):
        raise RecordError(f"expected a record (a JSON object), got {type(record).__name__}")
    unknown = sorted(set(record) - set(FIELDS))
    if unknown:
        raise RecordError(f"unexpected fields {unknown[:5]}; a record has {list(FIELDS)}")
    rid = record.get("id")
    if not isinstance(rid, str) or not _ID.match(rid):
        raise RecordError(f"id: expected 32 lowercase hex digits, got {str(rid)[:40]!r}")
    module = record.get("module")
    if not isinstance(module, str) or module not in modules:
        raise RecordError(
            f"module: expected one of the workshop's modules, got {str(module)[:80]!r}"
        )
    outcome = record.get("outcome")
    if outcome not in OUTCOMES:
        raise RecordError(f"outcome: expected one of {list(OUTCOMES)}, got {str(outcome)[:40]!r}")
    passed, total = _count(record, "passed"), _count(record, "total")
    if passed > total:
        raise RecordError(f"passed: expected at most total ({total}), got {passed}")
    if outcome == runner.PASSED and (total == 0 or passed != total):
        raise RecordError(f"outcome: 'passed' expected every check passed, got {passed}/{total}")
    duration = record.get("duration")
    if isinstance(duration, bool) or not isinstance(duration, int | float):
        raise RecordError(f"duration: expected seconds (a number), got {type(duration).__name__}")
    if not math.isfinite(duration) or not 0 <= duration <= MAX_DURATION:
        raise RecordError(f"duration: expected 0 to {MAX_DURATION:.0f} seconds, got {duration}")
    stamp = record.get("time")
    try:
        if not isinstance(stamp, str) or len(stamp) > 40:
            raise ValueError
        when = datetime.fromisoformat(stamp)
        if when.tzinfo is None:
            raise ValueError
    except ValueError:
        raise RecordError(
            f"time: expected an ISO 8601 time with its offset, got {str(stamp)[:40]!r}"
        ) from None
    return {
        "id": rid,
        "attendee": check_name(record.get("attendee")),
        "module": module,
        "outcome": outcome,
        "passed": passed,
        "total": total,
        "message": _text(record, "message", MAX_MESSAGE, required=True),
        "check": _text(record, "check", MAX_CHECK, required=False),
        "duration": round(float(duration), 3),
        "time": when.isoformat(timespec="seconds"),
    }


def summary(message: str) -> str:
    """What a check's message says went wrong, on one line of at most MAX_MESSAGE characters.

    The message's first sentence is often only the count ("9 of 17 checks
    pass."), already in the record: the record keeps the line after it
    ("test_step failed: the new b differs: got 0.51, expected -0.49. b must
    become b + e"), without the "Look at <file>, line N." and details below
    it, and without the "Checked <notebook> ..." line a notebook adds.
    """
    lines = message.strip().splitlines()
    if len(lines) > 1 and lines[0].startswith("Checked "):
        lines = lines[1:]
    first = re.sub(r"^\d+ of \d+ checks pass\.\s*", "", lines[0] if lines else "")
    text = " ".join(first.split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def from_result(result: runner.CheckResult, attendee: str) -> dict:
    """The record of one check: never the code, only its outcome."""
    failing = next((name for name, outcome in result.tests.items() if outcome != "passed"), None)
    return {
        "id": secrets.token_hex(16),
        "attendee": attendee,
        "module": result.module,
        "outcome": result.status,
        "passed": int(result.passed),
        "total": int(result.total),
        "message": summary(result.message),
        "check": failing[:MAX_CHECK] if failing else None,
        "duration": round(max(0.0, min(float(result.duration), MAX_DURATION)), 3),
        "time": datetime.now().astimezone().isoformat(timespec="seconds"),
    }
