"""The room's live page: records checked field by field, a room of 60 over a restart, the client.

The server runs as `workshop serve` does (its own process, loopback only);
the page is tested in test_room_page.py with a real browser.
"""

from __future__ import annotations

import concurrent.futures
import csv
import io
import json
import math
import os
import re
import secrets
import shlex
import socket
import subprocess
import sys
import time

import pytest

from tests.toolkit.conftest import project_env
from workshop import ROOT
from workshop.catalog import load_catalog
from workshop.grading import grade, runner
from workshop.room import client, records, simulate
from workshop.room.simulate import Server, free_port
from workshop.room.store import Room

MODULES = load_catalog()
IDS = {m.id for m in MODULES}


@pytest.fixture
def server(tmp_path):
    s = Server(tmp_path / "room.sqlite3").start()
    yield s
    s.stop()


def good(**changes) -> dict:
    m = next(m for m in MODULES if m.id == "ex03_xor_network")
    r = simulate.record("ada", m, runner.FAILED, 2, 5, "b must become b + e.", "test_update")
    r.update(changes)
    return r


# --------------------------------------------------------------------------- records


def test_a_record_is_outcome_only_never_code():
    result = runner.CheckResult(
        "ex01_perceptron",
        runner.FAILED,
        "Checked notebooks/exercises/ex01_perceptron.ipynb (newer than the .py).\n"
        "3 of 6 checks pass. test_predict failed: predict returned 1 for x = [0, 0]; "
        "expected 0. b must become b + e\nLook at exercises/ex01_perceptron.py, line 80.\n"
        "    def predict(w, b, x):  # the attendee's code\n",
        passed=3,
        total=6,
        duration=1.23,
        tests={"test_a": "passed", "test_predict": "failed"},
    )
    r = records.from_result(result, "ada")
    assert set(r) == set(records.FIELDS)
    assert r["message"] == (
        "test_predict failed: predict returned 1 for x = [0, 0]; expected 0. b must become b + e"
    )
    assert records.summary("Not started yet: line 70 still has its TODO. Replace it.") == (
        "Not started yet: line 70 still has its TODO. Replace it."
    )
    assert len(records.summary("x" * 1000)) == records.MAX_MESSAGE
    assert r["check"] == "test_predict" and (r["passed"], r["total"]) == (3, 6)
    assert "def predict" not in json.dumps(r)
    assert records.validate(r, IDS)["attendee"] == "ada"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"id": "not-hex"}, "id:"),
        ({"module": "ex99_nothing"}, "module:"),
        ({"module": ["ex01_perceptron"]}, "module:"),
        ({"outcome": "won"}, "outcome:"),
        ({"passed": -1}, "passed:"),
        ({"passed": 6, "total": 5}, "passed:"),
        ({"passed": True}, "passed:"),
        ({"total": 10**9}, "total:"),
        ({"passed": 1.5}, "passed:"),
        ({"outcome": "passed", "passed": 1, "total": 5}, "outcome:"),
        ({"message": "x" * 301}, "message:"),
        ({"message": "ok\x1b[31m red"}, "message:"),
        ({"message": None}, "message:"),
        ({"check": 7}, "check:"),
        ({"attendee": ""}, "attendee:"),
        ({"attendee": "   "}, "attendee:"),
        ({"attendee": "a" * 65}, "attendee:"),
        ({"attendee": "evil\u202egnp.exe"}, "attendee:"),
        ({"attendee": "two\nlines"}, "attendee:"),
        ({"attendee": 42}, "attendee:"),
        ({"duration": math.nan}, "duration:"),
        ({"duration": math.inf}, "duration:"),
        ({"duration": -1}, "duration:"),
        ({"duration": "1.5"}, "duration:"),
        ({"time": "yesterday"}, "time:"),
        ({"time": "2026-11-23T10:00:00"}, "time:"),
        ({"code": "def predict(): ..."}, "unexpected fields"),
    ],
)
def test_every_bad_field_is_refused_by_name(changes, field):
    with pytest.raises(records.RecordError) as info:
        records.validate(good(**changes), IDS)
    assert str(info.value).startswith(field), str(info.value)
    assert "expected" in str(info.value)


def test_names_and_messages_are_kept_as_written_hostile_or_not():
    for name in ("<script>alert(1)</script>", "Zoë Ölçer", "李雷", "O'Brien", "=1+1"):
        assert records.validate(good(attendee=name), IDS)["attendee"] == name
    clean = records.validate(good(message="line one\nline two\tend"), IDS)
    assert clean["message"] == "line one line two end"


# --------------------------------------------------------------------------- the room's view


def _add(room: Room, attendee: str, module: str, outcome: str, at: float, check="test_x", **kw):
    passed = kw.pop("passed", 5 if outcome == runner.PASSED else 1)
    room.add(
        {
            "attendee": attendee,
            "module": module,
            "outcome": outcome,
            "passed": passed,
            "total": 5,
            "message": kw.pop("message", f"{check} failed."),
            "check": None if outcome == runner.PASSED else check,
            "received": at,
        }
    )


def test_the_view_counts_troubles_stuck_and_done():
    room = Room(MODULES, stuck_minutes=10)
    ex1, ex2 = "ex01_perceptron", "ex02_linear_regression"
    t0 = 1_000_000.0
    for i, name in enumerate(["a", "b", "c"]):
        _add(room, name, ex1, runner.FAILED, t0 + i, "test_update", message="b must become b + e.")
    _add(room, "d", ex1, runner.FAILED, t0, "test_predict")
    # a: re-checks the same failure for 12 minutes: stuck. b: checked once (thinking, not stuck).
    _add(room, "a", ex1, runner.FAILED, t0 + 720, "test_update", message="b must become b + e.")
    # c: the same failure for 12 minutes, but moved on to ex02 since: not stuck on ex01.
    _add(room, "c", ex1, runner.FAILED, t0 + 700, "test_update", message="b must become b + e.")
    _add(room, "c", ex2, runner.NOT_STARTED, t0 + 710, None)
    # d: passes, then breaks it again while experimenting: still done.
    _add(room, "d", ex1, runner.PASSED, t0 + 100)
    _add(room, "d", ex1, runner.FAILED, t0 + 200, "test_predict")

    now = t0 + 730
    snap = room.snapshot(now)
    cells = {a["name"]: a["cells"] for a in snap["attendees"]}
    assert cells["a"][ex1]["stuck"] == pytest.approx(730 / 60, abs=0.1)
    assert cells["b"][ex1]["stuck"] == 0 and cells["c"][ex1]["stuck"] == 0
    assert cells["d"][ex1]["done"] and cells["d"][ex1]["stuck"] == 0
    m1 = next(m for m in snap["modules"] if m["id"] == ex1)
    assert (m1["done"], m1["trying"]) == (1, 3)
    top = m1["troubles"][0]
    assert (top["count"], top["check"], top["message"]) == (
        3,
        "test_update",
        "b must become b + e.",
    )
    assert [t["check"] for t in m1["troubles"]] == ["test_update"]  # d's failure is done
    assert snap["timeline"][-1][1:] == [1, 4]  # 1 module passed, 4 attendees
    m2 = next(m for m in snap["modules"] if m["id"] == ex2)
    assert (m2["trying"], m2["troubles"]) == (1, [])  # an untouched stub is nothing to explain

    rows = list(csv.DictReader(io.StringIO(room.csv_text())))
    assert list(rows[0]) == grade.columns(MODULES)
    by_name = {r["attendee"]: r for r in rows}
    assert by_name["d"][ex1] == "passed" and by_name["d"]["points"] == str(MODULES[1].points)
    assert "last check failed" in by_name["d"][f"{ex1}_reason"]
    assert by_name["a"][ex1] == "failed" and by_name["a"]["ex00_gpu_setup"] == grade.MISSING


def test_the_csv_never_hands_a_spreadsheet_a_formula():
    room = Room(MODULES)
    _add(
        room,
        '=HYPERLINK("http://x")',
        "ex01_perceptron",
        runner.FAILED,
        1.0,
        message="-1 is wrong.",
    )
    row = next(csv.DictReader(io.StringIO(room.csv_text())))
    assert row["attendee"] == '\'=HYPERLINK("http://x")'
    assert row["ex01_perceptron_reason"] == "'-1 is wrong."


# --------------------------------------------------------------------------- the server


def test_refuses_what_it_should_and_stores_the_rest(server):
    s = server
    assert s.post(good(), token="wrong-token-123")[0] == 401
    assert s.post(good(), token="")[0] == 401
    assert s.post(good(), raw=b"{not json")[0] == 400
    assert s.post(good(), raw=b"\xff\xfe")[0] == 400
    assert s.post(good(), raw=b"[" * 30_000 + b"]" * 30_000)[0] == 400  # deeper than Python parses
    assert s.post(good(), raw=b'{"passed": ' + b"9" * 5000 + b"}")[0] == 400  # int too long
    assert s.post(None, raw=json.dumps([good(message="x" * 300)] * 200).encode())[0] == 413
    assert _chunked(s, b"[" + b" " * 200_000 + b"]") == 413  # no Content-Length to trust
    status, answer = s.post([good() for _ in range(records.MAX_BATCH + 1)])
    assert status == 400 and "expected 1 to 50 records" in answer["error"]
    status, answer = s.post([good(), good(attendee="someone else")])
    assert status == 400 and "one attendee" in answer["error"]
    assert s.post([])[0] == 400
    assert s.post([{"attendee": ["ada"]}], machine="")[0] == 400  # unhashable: still a 400
    assert s.post([{"attendee": {"n": 1}}, {"attendee": {"n": 1}}], machine="")[0] == 400
    assert s.post("a string")[0] == 400
    status, answer = s.post(good(passed=9, total=5))
    assert status == 400 and answer["rejected"][0]["error"].startswith("passed:")

    # A batch with one bad record: the others are stored, the bad one named.
    batch = [good(), good(outcome="won"), good()]
    status, answer = s.post(batch)
    assert status == 200 and answer["stored"] == 2
    assert answer["rejected"] == [{"index": 1, "error": answer["rejected"][0]["error"]}]
    # The same record again (a retry after a lost answer) is stored once.
    status, answer = s.post(batch[0])
    assert (status, answer["stored"], answer["duplicates"]) == (200, 0, 1)

    hostile = "<script>alert(1)</script>"
    assert s.post(good(attendee=hostile))[0] == 200
    state = s.state()
    assert state["records"] == 3
    assert {a["name"] for a in state["attendees"]} == {"ada", hostile}

    # The instructor's side needs the key; the page's link sets it as a cookie.
    for path in ("/", "/api/state", "/export.csv", "/events"):
        assert s.get(path, key="")[0] == 401
        assert s.get(path, key="not-the-key")[0] == 401
    assert s.get("/static/room.js", key="")[0] == 200  # code, no data
    status, text = s.get("/export.csv")
    assert status == 200 and list(csv.reader(io.StringIO(text)))[0] == grade.columns(MODULES)
    assert s.post({"attendee": "ada"}, path="/api/hello")[0] == 200
    assert s.post({"attendee": "ada"}, token="nope-nope-nope", path="/api/hello")[0] == 401


def test_nobody_can_send_checks_under_a_neighbours_name(server):
    """A name belongs to the machine that joined with it: a neighbour cannot turn it red."""
    assert server.post(good(attendee="ada"))[0] == 200  # ada's machine joins, sends
    impostor = "f" * 32
    status, answer = server.post({"attendee": "ada"}, path="/api/hello", machine=impostor)
    assert status == 409 and "taken" in answer["error"]
    status, answer = server.post(good(attendee="ada", outcome="error"), machine=impostor)
    assert status == 403 and "has not joined from this machine" in answer["error"]
    assert server.post(good(attendee="ada"), machine="")[0] == 403  # no secret at all
    assert server.post(good(attendee="ada"), machine="not-hex")[0] == 403
    assert server.post({"attendee": "bob"}, path="/api/hello", machine="")[0] == 400
    (person,) = server.state()["attendees"]
    assert person["cells"]["ex03_xor_network"]["outcome"] == runner.FAILED


def _chunked(server, body: bytes) -> int:
    """POST `body` in chunks, without a Content-Length header; the status."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.putrequest("POST", "/api/records")
        conn.putheader("Authorization", f"Bearer {server.token}")
        conn.putheader("X-Attendee-Machine", server.machine("ada"))
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        try:
            for i in range(0, len(body), 8192):
                piece = body[i : i + 8192]
                conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
            conn.send(b"0\r\n\r\n")
        except OSError:
            pass  # the server may answer and close before the rest is sent
        return conn.getresponse().status
    finally:
        conn.close()


def test_serve_says_what_is_wrong_with_its_file_or_port(tmp_path):
    run = [sys.executable, "-m", "workshop.cli", "serve", "--port", str(free_port())]
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("my notes, not a database\n" * 100)
    done = subprocess.run([*run, "--db", str(not_sqlite)], capture_output=True, text=True)
    assert done.returncode == 2 and "cannot keep the room's records in" in " ".join(
        done.stdout.split()
    )
    assert not_sqlite.read_text().startswith("my notes")  # left as it was
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        done = subprocess.run(
            [*run[:-1], port, "--db", str(tmp_path / "r.sqlite3")], capture_output=True, text=True
        )
    assert done.returncode == 2 and "is a server running already" in " ".join(done.stdout.split())


def test_rate_limit_per_attendee(server):
    from workshop.room.server import BURST

    codes = [server.post([good() for _ in range(10)])[0] for _ in range(BURST // 10 + 1)]
    assert codes[: BURST // 10] == [200] * (BURST // 10) and codes[-1] == 429
    assert server.post(good(attendee="neighbour"))[0] == 200  # one attendee, not the room


# --------------------------------------------------------------------------- a hostile laptop


def _answers_on(address: str) -> bool:
    with socket.socket() as s:
        try:
            s.bind((address, 0))
        except OSError:
            return False
    return True


# Other laptops of the room are other addresses of 127.0.0.0/8: Linux answers on all of them.
needs_loopbacks = pytest.mark.skipif(
    not _answers_on("127.0.1.1"), reason="only 127.0.0.1 answers here (macOS): no other laptops"
)


@needs_loopbacks
def test_a_classroom_behind_one_address_joins_and_a_loop_of_names_is_stopped(server):
    """New names are limited per address, sized for a whole class behind one NAT."""
    from workshop.room.server import JOIN_BURST

    machines = {f"Student {i:02d}": secrets.token_hex(16) for i in range(60)}
    joined = [server.hello(name, machine)[0] for name, machine in machines.items()]
    assert joined == [200] * 60, "a class of 60 behind one address should all join at once"

    # The same address loops over new names: stopped shortly after the burst.
    codes, answer, retry = [], {}, None
    for i in range(300):
        status, answer, retry = server.hello(f"bot {i}")
        codes.append(status)
        if status != 200:
            break
    assert codes[-1] == 429, f"expected a 429 before 300 names, got {codes.count(200)} names in"
    assert 60 + codes.count(200) <= JOIN_BURST + 2  # + what refilled meanwhile (6 a minute)
    assert retry is not None and int(retry) >= 1, f"expected a Retry-After, got {retry!r}"
    assert "too many new names" in answer["error"] and "try again in" in answer["error"]

    # Those who joined are not locked out: their sender asks again before each send.
    assert server.hello("Student 07", machines["Student 07"])[0] == 200
    record = good(attendee="Student 07")
    assert server.post(record, machine=machines["Student 07"])[0] == 200
    assert server.hello("Student 07")[0] == 409  # and the name is still theirs alone
    # Another laptop of the room (another address) still joins.
    assert server.hello("Neighbour", source="127.0.0.2")[0] == 200


@needs_loopbacks
@pytest.mark.timeout(120)
def test_a_full_room_says_so_and_new_token_frees_the_names_that_never_checked(tmp_path):
    from workshop.room.server import JOIN_BURST, MAX_NAMES, NAMES_PER_MACHINE

    server = Server(tmp_path / "room.sqlite3").start()
    try:
        # `workshop join` in a loop (one machine): stopped at a few names.
        laptop = secrets.token_hex(16)
        codes = [server.hello(f"loop {i}", laptop)[0] for i in range(NAMES_PER_MACHINE + 1)]
        assert codes == [200] * NAMES_PER_MACHINE + [403], codes
        status, answer, _ = server.hello("loop again", laptop)
        assert f"holds {NAMES_PER_MACHINE} names" in answer["error"], answer

        # Forged machines from several addresses fill the room: then it says it is full.
        ada = server.machine("Ada")
        assert server.post(good(attendee="Ada"))[0] == 200  # Ada checks: her name stays
        names = NAMES_PER_MACHINE + 1
        for i in range(MAX_NAMES):
            source = f"127.0.1.{i // JOIN_BURST + 1}"
            status, answer, _ = server.hello(f"squatter {i}", source=source)
            if status != 200:
                break
            names += 1
        assert names == MAX_NAMES and status == 403, (names, status, answer)
        assert "the room is full" in answer["error"] and "Ask the instructor" in answer["error"]
        assert server.hello("Late Larry", source="127.0.2.1")[0] == 403
        assert server.hello("Ada", ada)[0] == 200  # who joined still gets in
        assert server.post(good(attendee="Ada"))[0] == 200
    finally:
        server.stop()

    renewed = Server(tmp_path / "room.sqlite3", server.port, "--new-token").start()
    try:
        assert renewed.token != server.token
        dropped = MAX_NAMES - 1
        assert f"{dropped} name(s) that never sent a check are free again" in renewed.output
        assert server.post(good(attendee="Ada"), token=renewed.token)[0] == 200
        assert renewed.hello("Ada")[0] == 409  # Ada's name stays hers
        assert renewed.hello("squatter 3")[0] == 200  # a squatted name is free again
        assert renewed.hello("Late Larry")[0] == 200  # and the room has space
        assert [a["name"] for a in renewed.state()["attendees"]] == ["Ada"]
    finally:
        renewed.stop()


def test_a_token_never_starts_with_a_dash(tmp_path, monkeypatch):
    """`--token -abc` is read as an option: no token starts with "-"."""
    from workshop.room import store

    made = iter(["-starts-with-a-dash-abcd", "_starts-with-a-line-abcd"])
    monkeypatch.setattr(store.secrets, "token_urlsafe", lambda _n: next(made))
    room = store.Store(tmp_path / "made.sqlite3")
    assert room.secret("room_token") == "_starts-with-a-line-abcd"
    room.close()


@pytest.mark.timeout(60)
def test_a_stored_token_that_starts_with_a_dash_is_replaced_and_joining_works(tmp_path):
    from workshop.room.store import Store

    db = tmp_path / "room.sqlite3"
    old = Store(db)
    old.secret("room_token")
    old.db.execute("UPDATE meta SET value = ? WHERE key = 'room_token'", ("-Ab3_xyz" * 3,))
    old.close()
    server = Server(db).start()
    try:
        assert not server.token.startswith("-"), f"expected a new token, got {server.token}"
        assert "started with '-'" in server.output and "replaced" in server.output
        assert server.post({"attendee": "ada"}, token="-Ab3_xyz" * 3, path="/api/hello")[0] == 401
        # The join line, pasted as printed, works.
        env = dict(os.environ, WORKSHOP_STATE_DIR=str(tmp_path / "attendee"), COLUMNS="200")
        line = re.search(r"workshop join (.*)", server.output).group(1)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "workshop.cli",
                "join",
                *shlex.split(line.replace("Your Name", "Ada")),
            ],
            env=env,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        assert done.returncode == 0 and "joined the room" in done.stdout, done.stdout + done.stderr
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("name", "alike"),
    [
        ("ada", "\u0430da"),  # Cyrillic a
        ("Ada", "ADA"),
        ("ada", "\uff41\uff44\uff41"),  # fullwidth
        ("Anna", "\u0391\u039d\u039d\u0391"),  # Greek capitals
        ("ada", "ada\u034f"),  # an invisible combining grapheme joiner
        ("ada", "ada\u3164"),  # a Hangul filler (a blank letter)
        ("Alice", "AIice"),  # capital I for l
        ("Bob", "B0b"),  # zero for o
        ("Ada Lovelace", "Ada  Lovelace"),
        ("Zoë", "zoe\u0308"),  # a combining diaeresis
    ],
)
def test_look_alike_names_share_a_key(name, alike):
    assert set(records.look_alike_keys(name)) & set(records.look_alike_keys(alike)), (name, alike)


@pytest.mark.parametrize(
    ("name", "other"),
    [
        ("Ada", "Ida"),
        ("Zoë", "Zoe"),
        ("李雷", "李电"),
        ("attendee-001", "attendee-002"),
        ("Ian", "Lan"),
    ],
)
def test_different_names_do_not(name, other):
    assert not set(records.look_alike_keys(name)) & set(records.look_alike_keys(other))


def test_invisible_names_are_refused():
    for name in ("a\u200bda", "ad\u200da", "\ufeffada", "a\u2028da"):  # zero-width, separators
        with pytest.raises(records.RecordError, match="control character"):
            records.check_name(name)
    with pytest.raises(records.RecordError, match="only invisible characters"):
        records.check_name("\u3164\u034f")


def test_look_alike_names_are_flagged_in_the_page_state(server):
    names = ["ada", "\u0430da", "ADA", "\uff41\uff44\uff41", "bob", "Zoë"]
    for name in names:
        assert server.post(good(attendee=name))[0] == 200, name
    assert server.hello("a\u200bda")[0] == 400  # zero-width: not admitted at all
    assert server.hello("b\u043eb")[0] == 200  # Cyrillic o, joined but never checked: not shown
    people = {a["name"]: a for a in server.state()["attendees"]}
    assert people["ada"]["looks_like"] == ["ADA", "\u0430da", "\uff41\uff44\uff41"]
    assert people["\u0430da"]["looks_like"] == ["ADA", "ada", "\uff41\uff44\uff41"]
    assert people["\u0430da"]["unusual"] == ["CYRILLIC SMALL LETTER A (U+0430)"]
    assert people["ada"]["unusual"] == []
    assert people["bob"]["looks_like"] == [] and people["Zoë"]["looks_like"] == []
    # Side by side on the page, whatever their script.
    order = [a["name"] for a in server.state()["attendees"]]
    assert order == ["ADA", "ada", "\u0430da", "\uff41\uff44\uff41", "bob", "Zoë"], order


@pytest.mark.timeout(240)
def test_sixty_attendees_twenty_checks_each_through_a_restart(tmp_path):
    """1,200 records from 60 attendees at once; the server restarts half-way; nothing lost."""
    room = simulate.room(60, 20, MODULES, seed=3)
    server = Server(tmp_path / "room.sqlite3").start()
    token, key, port = server.token, server.key, server.port
    sent = {name: 0 for name in room}

    def attendee(name: str, upto: int) -> None:
        # What client.flush does: one request per check, retried while the server is away.
        for r in room[name][sent[name] : upto]:
            for _ in range(200):
                try:
                    status, _answer = server.post(r)
                except OSError:
                    status = 0
                if status == 200:
                    break
                time.sleep(0.1)
            else:
                raise AssertionError(f"{name}'s record was never stored")
            sent[name] += 1

    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        list(pool.map(lambda n: attendee(n, 10), room))
        # Restart while the second half is being sent: the senders retry meanwhile.
        futures = [pool.submit(attendee, n, 20) for n in room]
        server.stop()
        restarted = Server(tmp_path / "room.sqlite3", port).start()
        server.proc = restarted.proc
        for f in futures:
            f.result()
    try:
        assert (restarted.token, restarted.key) == (token, key)  # attendees need not join again
        before = int(re.search(r"; (\d+) so far", restarted.output).group(1))
        assert 600 <= before < 1200, "the restart was not in the middle of the sending"
        state = restarted.state()
        assert state["records"] == 60 * 20
        expected = {
            n: len({r["module"] for r in rs if r["outcome"] == "passed"}) for n, rs in room.items()
        }
        assert {a["name"]: a["done"] for a in state["attendees"]} == expected
        hostile = next(a for a in state["attendees"] if a["name"].startswith("<script>"))
        assert hostile["name"] == "<script>alert(1)</script>"
    finally:
        restarted.stop()
    assert port == restarted.port


# --------------------------------------------------------------------------- the client


@pytest.fixture
def attendee_state(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_STATE_DIR", str(tmp_path / "attendee"))
    return tmp_path / "attendee"


def _result(status=runner.NOT_STARTED) -> runner.CheckResult:
    return runner.CheckResult(
        "ex01_perceptron", status, "The TODO in predict is still there.", 0, 6
    )


def test_client_queues_while_the_server_is_away_and_sends_later(tmp_path, attendee_state):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    message = client.join(url, "a-token-that-works-later", "ada")
    assert "cannot be reached now" in message and client.joined()["name"] == "ada"
    assert client.report(_result(), spawn=False)
    assert client.report(_result(runner.FAILED), spawn=False)
    naps = []
    assert client.flush(retries=(0.01, 0.01), sleep=naps.append) == 0
    assert naps == [0.01, 0.01]  # gave up after its retries: the records stay queued
    assert len(client.read_queue()) == 2

    server = Server(tmp_path / "room.sqlite3", port).start()
    try:
        # The token printed by the server is the one to join with; the old one is refused.
        with pytest.raises(ValueError, match="refused the token"):
            client.join(url, "a-token-that-works-later", "ada")
        assert "joined the room" in client.join(url, server.token, "ada")
        assert client.flush() == 2
        assert client.read_queue() == []
        state = server.state()
        assert state["records"] == 2
        cell = state["attendees"][0]["cells"]["ex01_perceptron"]
        assert (cell["outcome"], cell["checks"]) == (runner.FAILED, 2)
        assert "left the room" in client.leave()
        assert client.joined() is None and not client.report(_result(), spawn=False)
        # The name stays this machine's: joining again works, another machine cannot take it.
        assert "joined the room" in client.join(url, server.token, "ada")
        assert server.post({"attendee": "ada"}, path="/api/hello", machine="e" * 32)[0] == 409
        (tmp_path / "attendee" / "room-machine").write_text("e" * 32)
        with pytest.raises(ValueError, match="taken in this room by another machine"):
            client.join(url, server.token, "ada")
    finally:
        server.stop()


def test_every_saved_check_is_reported_never_raising(attendee_state, monkeypatch):
    """`workshop check` and `watch` both save progress through one function, which reports."""
    from workshop.cli import common

    module = next(m for m in MODULES if m.id == "ex01_perceptron")
    common.save_progress(_result(), module)  # not in a room: nothing queued, nothing raised
    assert client.read_queue() == []
    client.join(f"http://127.0.0.1:{free_port()}", "a-token-123", "ada")
    monkeypatch.setattr(client, "start_sender", lambda: None)
    common.save_progress(_result(), module)
    (queued,) = client.read_queue()
    assert (queued["attendee"], queued["module"]) == ("ada", "ex01_perceptron")
    (attendee_state / "room-queue.jsonl").unlink()
    (attendee_state / "room-queue.jsonl").mkdir()  # a queue that cannot be written
    common.save_progress(_result(), module)  # still no exception: the check is what matters


@pytest.mark.parametrize(
    ("url", "token", "name", "why"),
    [
        ("ftp://host:1", "abcdefgh", "ada", "expected the server's address"),
        ("http://host:99999", "abcdefgh", "ada", "port"),
        ("http://host:8765/api", "abcdefgh", "ada", "no path"),
        ("http://host:8765", "short", "ada", "token"),
        ("http://host:8765", "abcdefgh", "", "attendee"),
    ],
)
def test_join_refuses_bad_input(attendee_state, url, token, name, why):
    with pytest.raises(ValueError, match=why):
        client.join(url, token, name)
    assert client.joined() is None


@pytest.mark.timeout(120)
def test_workshop_check_tells_the_room(project, tmp_path):
    """A real `workshop check` of an untouched stub reaches the page; the code never does."""
    server = Server(tmp_path / "room.sqlite3").start()
    env = project_env(project, COLUMNS="120")
    try:
        run = [sys.executable, "-m", "workshop.cli"]
        joined = subprocess.run(
            [*run, "join", server.url, "--token", server.token, "--name", "Zoë"],
            env=env,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        assert joined.returncode == 0 and "joined the room" in joined.stdout, joined.stdout
        checked = subprocess.run(
            [*run, "check", "1"], env=env, capture_output=True, text=True, cwd=ROOT, timeout=90
        )
        assert "NOT STARTED" in checked.stdout, checked.stdout
        for _ in range(100):  # the sender is a separate process: give it a moment
            state = server.state()
            if state["records"]:
                break
            time.sleep(0.2)
        (person,) = state["attendees"]
        cell = person["cells"]["ex01_perceptron"]
        assert person["name"] == "Zoë" and cell["outcome"] == runner.NOT_STARTED
        assert "TODO" in cell["message"] and "\n" not in cell["message"]
        stub = (project / "exercises" / "ex01_perceptron.py").read_text()
        assert not any(
            line.strip() in cell["message"] for line in stub.splitlines() if len(line.strip()) > 30
        )
    finally:
        server.stop()


def test_the_page_needs_nothing_from_the_internet():
    """No CDN, no build step: every file the page loads is served by the room's server."""
    from workshop.room.server import STATIC

    html = (STATIC / "index.html").read_text(encoding="utf-8")
    loaded = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert loaded and all(u.startswith("/") and not u.startswith("//") for u in loaded), loaded
    for name in ("room.js", "room.css"):
        text = (STATIC / name).read_text(encoding="utf-8")
        urls = set(re.findall(r"https?://[^\s\"'`)]+", text)) - {"http://www.w3.org/2000/svg"}
        assert not urls, f"{name} reaches out to {urls}"
        assert "innerHTML" not in text and "eval(" not in text  # values are text, never markup


def test_the_sender_keeps_what_may_still_be_stored_and_drops_what_never_will(
    attendee_state, monkeypatch
):
    """Stored or malformed: off the queue. Refused token, server away: kept. Busy: waits, then sends."""
    client.join(f"http://127.0.0.1:{free_port()}", "a-token-123", "ada")
    answers: list = []
    sent: list = []

    def fake_post(url, token, payload):
        if url.endswith("/api/hello"):
            return 200, {"ok": True}
        sent.append([r["id"] for r in payload])
        status, answer = answers.pop(0)
        if status == 0:
            raise OSError("connection refused")
        return status, answer

    monkeypatch.setattr(client, "_post", fake_post)
    naps: list = []
    for _ in range(3):
        client.report(_result(), spawn=False)
    answers[:] = [(429, {"retry_after": "7"}), (200, {"stored": 3})]
    assert client.flush(retries=(0.01,), sleep=naps.append) == 3
    assert naps == [7.0] and len(sent) == 2 and client.read_queue() == []

    client.report(_result(), spawn=False)
    answers[:] = [(401, {}), (0, {})]
    assert client.flush(retries=(0.01,), sleep=naps.append) == 0
    assert len(client.read_queue()) == 1  # a refused token or no server: kept for later

    answers[:] = [(400, {"stored": 0, "rejected": [{"index": 0}]})]
    assert client.flush(retries=(0.01,), sleep=naps.append) == 0
    assert client.read_queue() == []  # never storable: dropped, not resent forever

    # Re-joined under another name: one name a request, the old name's records first;
    # a name this machine never held (403) is dropped instead of blocking the queue.
    client.report(_result(), spawn=False)
    client.join(client.joined()["url"], "a-token-123", "Ada Lovelace")
    client.report(_result(), spawn=False)
    sent.clear()
    answers[:] = [(403, {}), (200, {"stored": 1})]
    assert client.flush(retries=(0.01,), sleep=naps.append) == 1
    assert [len(ids) for ids in sent] == [1, 1] and client.read_queue() == []


def test_the_queue_keeps_the_newest_records(attendee_state, monkeypatch):
    monkeypatch.setattr(client, "QUEUE_LIMIT", 20)  # 1,000 in use: the same code, faster
    client.join(f"http://127.0.0.1:{free_port()}", "a-token-123", "ada")
    for i in range(client.QUEUE_LIMIT + 5):
        result = _result()
        result.duration = float(i)
        client.report(result, spawn=False)
    queue = client.read_queue()
    assert len(queue) == client.QUEUE_LIMIT and queue[0]["duration"] == 5.0


def test_the_client_says_why_a_join_was_refused_and_its_sender_waits(attendee_state, monkeypatch):
    """A full room and a busy one, as `workshop join` and the sender meet them."""
    url = f"http://127.0.0.1:{free_port()}"
    answers: list = []
    monkeypatch.setattr(client, "_post", lambda *_args: answers.pop(0))
    answers[:] = [(429, {"error": "too many new names", "retry_after": "12"})]
    with pytest.raises(ValueError, match="many new names at once: run the join line again in 12"):
        client.join(url, "a-token-123", "ada")
    full = "the room is full: it holds 300 names, the most it takes. Ask the instructor"
    answers[:] = [(403, {"error": full})]
    with pytest.raises(ValueError, match="refused the name: the room is full.*Ask the instructor"):
        client.join(url, "a-token-123", "ada")
    assert client.joined() is None

    answers[:] = [(200, {"ok": True})]
    client.join(url, "a-token-123", "ada")
    client.report(_result(), spawn=False)
    naps: list = []
    # Busy: waits what the server says, then sends. Full: gives up at once, keeps the record.
    answers[:] = [(429, {"retry_after": "12"}), (200, {}), (200, {"stored": 1})]
    assert client.flush(retries=(0.01,), sleep=naps.append) == 1 and naps == [12.0]
    client.report(_result(), spawn=False)
    answers[:] = [(403, {"error": full})]
    assert client.flush(retries=(0.01, 0.01), sleep=naps.append) == 0 and naps == [12.0]
    assert len(client.read_queue()) == 1


def test_new_names_are_counted_per_ipv4_address_and_per_ipv6_slash_64():
    """An IPv6 laptop picks any address of its /64 at will: the /64 is one sender."""
    from types import SimpleNamespace

    from workshop.room.server import _address

    def at(host):
        return _address(SimpleNamespace(client=SimpleNamespace(host=host)))

    assert at("10.0.0.5") == "10.0.0.5" and at("::ffff:10.0.0.5") == "10.0.0.5"
    assert at("2001:db8:1:2::1") == at("2001:db8:1:2:ffff:1:2:3") == "2001:db8:1:2::/64"
    assert at("2001:db8:1:3::1") != at("2001:db8:1:2::1")
