"""A simulated room for the tests and the benchmark: attendees' records, and a server to send them to.

Each attendee takes the modules in order; on each, a few failing checks
(drawn from a handful of slips, the same ones for many people, as in a real
room) and then a pass. Records are what `workshop check` would send.
`Server` runs `workshop serve` in its own process, as an instructor would,
and reads the token and key from the lines it prints.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

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
    awkward = ["Zoë Ölçer", "李雷", "O'Brien", "<script>alert(1)</script>", "=HYPERLINK(1)"]
    names = [*awkward, *(f"attendee-{i:03d}" for i in range(attendees))]
    return {n: attendee_checks(n, modules, checks, rng) for n in names[:attendees]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`workshop serve` in its own process, with the token and key read from what it prints."""

    def __init__(self, db: Path, port: int | None = None, *extra: str):
        self.db, self.port, self.extra = db, port or free_port(), extra
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.output = ""
        self.machines: dict[str, str] = {}  # attendee -> their machine's secret

    def start(self) -> Server:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "workshop.cli", "serve", "--port", str(self.port)]
            + ["--db", str(self.db), *self.extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=dict(os.environ, COLUMNS="80"),
        )
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("Ctrl-C"):
                break
        self.output = "".join(lines)
        # Keep reading what it prints (a line per record): a full pipe would stop the server.
        self.log: collections.deque = collections.deque(maxlen=2000)
        stream = self.proc.stdout
        threading.Thread(target=lambda: self.log.extend(stream), daemon=True).start()
        join = re.search(r"workshop join (\S+) --token (\S+) --name", self.output)
        key = re.search(r"\?key=(\S+)", self.output)
        assert join and key, f"no join line in:\n{self.output}"
        self.token, self.key = join.group(2), key.group(1)
        assert join.group(1) == self.url
        for _ in range(100):
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"{self.url}/api/health", timeout=1).close()
                return self
            time.sleep(0.1)
        raise AssertionError(f"the server did not answer:\n{self.output}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def post(
        self,
        payload,
        token: str | None = None,
        raw: bytes | None = None,
        path: str = "/api/records",
        machine: str | None = None,
    ):
        """POST as the attendee's machine would: (status, JSON answer).

        `machine` is the machine secret to send; by default the one this
        helper made when the payload's attendee joined (joining first if
        needed); "" sends none.
        """
        if machine is None:
            first = payload[0] if isinstance(payload, list) and payload else payload
            name = first.get("attendee") if isinstance(first, dict) else None
            machine = self.machine(name) if isinstance(name, str) and name.strip() else ""
        data = raw if raw is not None else json.dumps(payload).encode()
        headers = {"Authorization": f"Bearer {self.token if token is None else token}"}
        if machine:
            headers["X-Attendee-Machine"] = machine
        request = urllib.request.Request(self.url + path, data=data, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def machine(self, name: str) -> str:
        """The secret of `name`'s simulated machine, joined to the room on first use."""
        if name not in self.machines:
            secret = secrets.token_hex(16)
            status, answer = self.post({"attendee": name}, path="/api/hello", machine=secret)
            if status == 200:
                self.machines[name] = secret
            return secret if status == 200 else ""
        return self.machines[name]

    def hello(self, name: str, machine: str | None = None, source: str = "127.0.0.1"):
        """Join as `name` from `machine` (a new one by default), at the client address `source`.

        (status, JSON answer, Retry-After). Another address of 127.0.0.0/8 is
        another laptop of the room (Linux answers on all of them).
        """
        import http.client

        conn = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=10, source_address=(source, 0)
        )
        headers = {
            "Authorization": f"Bearer {self.token}",
            "X-Attendee-Machine": machine or secrets.token_hex(16),
            "Content-Type": "application/json",
        }
        try:
            conn.request("POST", "/api/hello", json.dumps({"attendee": name}), headers)
            response = conn.getresponse()
            return response.status, json.loads(response.read()), response.getheader("Retry-After")
        finally:
            conn.close()

    def get(self, path: str, key: str | None = None):
        request = urllib.request.Request(
            self.url + path, headers={"X-Room-Key": self.key if key is None else key}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def state(self) -> dict:
        status, text = self.get("/api/state")
        assert status == 200, text
        return json.loads(text)
