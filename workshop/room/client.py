"""`workshop join` / `workshop leave`, and the sending of each check's record to the room.

A check never waits for the room: its record is appended to a small queue
file beside the progress file and a separate process (`python -m
workshop.room.client --flush`, started and left alone) sends the queue,
with a short timeout per request, retrying for about half a minute when the
server is down or busy. What it could not send stays queued for the next
check's sender. Records the server refuses as malformed are dropped (they
would never be accepted); a refused token drops nothing: joining again with
the right join line sends them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from filelock import FileLock, Timeout

from workshop import progress
from workshop.room import records

TIMEOUT = 3.0  # seconds per request
RETRIES = (1, 2, 4, 8, 16)  # seconds between tries when the server cannot be reached
QUEUE_LIMIT = 1000  # records kept while the server is away (the oldest go first)
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,128}$")


def _folder() -> Path:
    return progress.state_file().parent


def config_file() -> Path:
    return _folder() / "room.json"


def queue_file() -> Path:
    return _folder() / "room-queue.jsonl"


def joined() -> dict | None:
    """The room this attendee joined ({url, token, name}), or None."""
    try:
        data = json.loads(config_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not all(
        isinstance(data.get(k), str) for k in ("url", "token", "name")
    ):
        return None
    return data


def check_url(url: str) -> str:
    """http(s)://host[:port], without a trailing slash; ValueError otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"expected the server's address like http://192.168.1.20:8765, got {url!r}"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"expected only the server's address (no path), got {url!r}")
    try:
        parts.port  # noqa: B018 - raises ValueError on a port out of range
    except ValueError:
        raise ValueError(f"expected a port from 1 to 65535, got {url!r}") from None
    return f"{parts.scheme}://{parts.netloc}"


def machine_secret() -> str:
    """This machine's secret: it holds the attendee's name in the room (made once, kept)."""
    path = _folder() / "room-machine"
    with contextlib.suppress(OSError):
        secret = path.read_text(encoding="ascii").strip()
        if re.fullmatch(r"[0-9a-f]{32}", secret):
            return secret
    secret = secrets.token_hex(16)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(secret + "\n", encoding="ascii")
    with contextlib.suppress(OSError):
        path.chmod(0o600)
    return secret


def _post(url: str, token: str, payload) -> tuple[int, dict]:
    """POST JSON; (status, JSON answer). A network failure raises OSError."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode("utf-8"),
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {token}",
            "X-Attendee-Machine": machine_secret(),
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 - http(s) only
            return response.status, _json(response.read())
    except urllib.error.HTTPError as exc:
        with contextlib.suppress(OSError):
            return exc.code, {**_json(exc.read()), "retry_after": exc.headers.get("Retry-After")}
        return exc.code, {}


def _json(data: bytes) -> dict:
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def join(url: str, token: str, name: str) -> str:
    """Check the token with the server and remember the room; what happened, in words."""
    url = check_url(url)
    if not _TOKEN.match(token or ""):
        raise ValueError(
            f"expected the token from the join line (letters, digits, - and _), got {token!r}"
        )
    name = records.check_name(name)
    reachable = True
    try:
        status, answer = _post(f"{url}/api/hello", token, {"attendee": name})
    except OSError as exc:
        reachable, status, answer = False, 0, {"error": str(getattr(exc, "reason", exc))}
    if reachable and status == 401:
        raise ValueError(f"the server at {url} refused the token: copy the join line again")
    if reachable and status == 409:
        raise ValueError(
            f"the name {name!r} is taken in this room by another machine: "
            "join with another --name (or ask the instructor)"
        )
    if reachable and status == 429:  # many new names from this network at once
        wait = answer.get("retry_after") or "a few"
        raise ValueError(
            f"the server at {url} is taking many new names at once: "
            f"run the join line again in {wait} seconds"
        )
    if reachable and status == 403:  # the room is full, or this machine holds enough names
        raise ValueError(f"the server at {url} refused the name: {answer.get('error', '')}")
    if reachable and status != 200:
        raise ValueError(f"the server at {url} answered {status}: {answer.get('error', '')}")
    folder = _folder()
    folder.mkdir(parents=True, exist_ok=True)
    config_file().write_text(
        json.dumps({"url": url, "token": token, "name": name}, indent=2) + "\n", encoding="utf-8"
    )
    if reachable:
        return f"joined the room at {url} as {name}: each check now tells the instructor's page"
    return (
        f"the server at {url} cannot be reached now ({answer['error']}); joined anyway as {name}: "
        "checks are sent once it can be"
    )


def leave() -> str:
    """Stop sending (the queue goes too); the machine's secret stays, the name with it."""
    room = joined()
    for path in (config_file(), queue_file()):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    return f"left the room at {room['url']}" if room else "not in a room"


def _queue_lock() -> FileLock:
    return FileLock(str(queue_file()) + ".lock", timeout=2)


def read_queue() -> list[dict]:
    try:
        lines = queue_file().read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        with contextlib.suppress(ValueError):
            r = json.loads(line)
            if isinstance(r, dict) and isinstance(r.get("id"), str):
                out.append(r)
    return out


def _write_queue(items: list[dict]) -> None:
    path = queue_file()
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in items[-QUEUE_LIMIT:]), encoding="utf-8")
    os.replace(tmp, path)


def report(result, spawn: bool = True) -> bool:
    """Queue this check's record when in a room and start the sender; never raises, never waits.

    True when a record was queued.
    """
    room = joined()
    if room is None:
        return False
    try:
        record = records.from_result(result, room["name"])
        with _queue_lock():
            _write_queue([*read_queue(), record])
    except (OSError, Timeout, ValueError):
        return False
    if spawn:
        start_sender()
    return True


def start_sender() -> None:
    """`python -m workshop.room.client --flush`, detached: it outlives the command."""
    kwargs: dict = {
        "stdin": subprocess.DEVNULL,
        "stdout": subprocess.DEVNULL,
        "stderr": subprocess.DEVNULL,
        "close_fds": True,
    }
    if os.name == "nt":
        kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS
    else:
        kwargs["start_new_session"] = True
    with contextlib.suppress(OSError):
        subprocess.Popen([sys.executable, "-m", "workshop.room.client", "--flush"], **kwargs)


def _drop(ids: set[str]) -> None:
    with _queue_lock():
        _write_queue([r for r in read_queue() if r["id"] not in ids])


def flush(retries=RETRIES, sleep=time.sleep) -> int:
    """Send the queue, oldest first, until it is empty or the server stays away; records sent.

    One sender at a time: another that finds the lock taken leaves (the one
    running sends what was queued meanwhile too).
    """
    room = joined()
    if room is None:
        return 0
    try:
        sender = FileLock(str(queue_file()) + ".send", timeout=0)
        sender.acquire()
    except (OSError, Timeout):
        return 0
    sent, failures = 0, 0
    try:
        # Claim the name first (a join made while the server was away has not yet).
        while True:
            try:
                status, answer = _post(
                    f"{room['url']}/api/hello", room["token"], {"attendee": room["name"]}
                )
            except OSError:
                status, answer = 0, {}
            if status == 200:
                break
            if status in (400, 401, 403, 409) or failures >= len(retries):
                return sent  # refused, or away: the records wait for the next check
            wait = answer.get("retry_after")  # 429: many names joining at once
            sleep(min(30.0, float(wait)) if wait and str(wait).isdigit() else retries[failures])
            failures += 1
        failures = 0
        while True:
            try:
                with _queue_lock():
                    queue = read_queue()
            except (OSError, Timeout):
                return sent
            if not queue:
                return sent
            # One name a request (the server's rule): after a re-join under another
            # name, the old name's records go first, on their own.
            name = queue[0].get("attendee")
            batch = [r for r in queue if r.get("attendee") == name][: records.MAX_BATCH]
            try:
                status, answer = _post(f"{room['url']}/api/records", room["token"], batch)
            except OSError:
                status, answer = 0, {}
            # Stored, or never storable (malformed; a name this machine never joined
            # with): off the queue, so it cannot hold back the records behind it.
            if status in (200, 400, 403, 413):
                _drop({r["id"] for r in batch})
                sent += answer.get("stored", 0) if status == 200 else 0
                failures = 0
                continue
            if status == 429:
                wait = answer.get("retry_after")
                sleep(min(30.0, float(wait)) if wait and str(wait).isdigit() else 5.0)
                continue
            if failures >= len(retries):  # down, slow or refusing: the next check tries again
                return sent
            sleep(retries[failures])
            failures += 1
    finally:
        sender.release()


if __name__ == "__main__":
    if sys.argv[1:] == ["--flush"]:
        flush()
