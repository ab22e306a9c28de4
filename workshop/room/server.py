"""`workshop serve`: the room's server (Starlette on uvicorn) and the instructor's page.

A name is held by the machine that joined with it first: `workshop join`
makes a secret on the attendee's machine (kept beside their progress), and
records under that name are refused from any other machine, so nobody can
turn a neighbour's cells red.

Two secrets, both kept in the SQLite file so a restart changes neither:
- the room token, printed in the join line: attendees' machines need it to
  send records (POST /api/records); without it a request is refused;
- the instructor key, in the page's link: the page, its live updates and the
  CSV export need it (the page shows everyone's progress; attendees have the
  room token, not the key). Opening the link stores the key in a cookie and
  drops it from the address bar.

Every record is checked field by field (records.py), requests are capped in
size and rate-limited per attendee, and the page writes every value as text
(never as HTML) under a Content-Security-Policy that runs no inline script.

Joining (POST /api/hello) claims a name: new names are rate-limited per
client address, a machine holds a few names at most and a room a few hundred,
so a laptop looping over names cannot fill the room or squat every name.
`--new-token` (renew) also forgets the names that never sent a check. Names
that look alike (case, script, width: records.look_alike_keys) are flagged
on the page.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import json
import re
import time
from pathlib import Path

import anyio
from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from workshop.catalog import Module, load_catalog
from workshop.room import records
from workshop.room.store import Room, Store, load

STATIC = Path(__file__).with_name("static")
COOKIE = "workshop_room_key"
MACHINE_HEADER = "X-Attendee-Machine"
MAX_BODY = 64 * 1024  # bytes in one request: 50 records of the largest size fit
MAX_RECORDS = 500_000
BURST = 60  # records an attendee may send at once (a `workshop check` of all sends 13)
REFILL = 1.0  # ... and then one more per second
# Names a room holds (joined, with or without checks): a workshop room is a few
# dozen, a lecture hall a few hundred. RoomServer(max_names=...) changes it.
MAX_NAMES = 300
NAMES_PER_MACHINE = 5  # a typo fixed, a name changed: a `workshop join` loop stops at 5
# New names claimed per client address. A classroom often reaches the server
# through ONE address (the Wi-Fi's NAT, a lab's router): then the whole room
# joins from it within the first minutes, so the burst holds a class of 60
# with room to spare, and latecomers get 6 a minute after it. A loop claiming
# names from one laptop gets those 80, then one every 10 s (until the room is
# full); joining again under a name one already holds never counts.
JOIN_BURST = 80
JOIN_REFILL = 6 / 60  # per second
PUSH_EVERY = 0.25  # seconds between two updates of the page at most
REFRESH_EVERY = 20.0  # the page is sent a fresh state at least this often ("stuck for")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class Bucket:
    """Token bucket: `burst` at once (records, names), then `refill` per second."""

    def __init__(self, burst: float, refill: float):
        self.burst, self.refill = burst, refill
        self.tokens, self.stamp = burst, time.monotonic()

    def take(self, n: int) -> float:
        """0 when n records may go now; otherwise the seconds to wait."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.refill)
        self.stamp = now
        if n <= self.tokens:
            self.tokens -= n
            return 0.0
        return (n - self.tokens) / self.refill


class RoomServer:
    """The room's state shared by the routes: the file, the view, the page's listeners."""

    def __init__(
        self,
        db: Path,
        modules: list[Module] | None = None,
        stuck_minutes: float = 10.0,
        renew: bool = False,
        log=None,
        max_names: int = MAX_NAMES,
        say=print,
    ):
        """`renew`: a new token and key, and the names that never sent a check are forgotten.

        `say` prints what the instructor should know at start (a line each).
        """
        self.modules = modules if modules is not None else load_catalog()
        self.module_ids = {m.id for m in self.modules}
        self.store = Store(db)
        self.token = self.store.secret("room_token", renew)
        if self.token.startswith("-"):  # made before tokens were kept from starting with one
            self.token = self.store.secret("room_token", renew=True)
            say(
                "The room token started with '-', which a command line reads as an option: "
                "it is replaced, attendees who joined run the new join line below."
            )
        self.key = self.store.secret("instructor_key", renew)
        if renew:
            dropped = self.store.drop_silent()
            if dropped:
                say(f"New token: {dropped} name(s) that never sent a check are free again.")
        self.room: Room = load(self.store, self.modules, stuck_minutes)
        self.stored = self.store.count()
        self.names = self.store.attendees()  # name -> hash of the secret of the machine that joined
        self.max_names = max_names
        self.buckets: dict[str, Bucket] = {}  # attendee -> their records' bucket
        self.joins: dict[str, Bucket] = {}  # client address -> its new names' bucket
        self.listeners: set[asyncio.Queue] = set()
        self.changed = asyncio.Event()
        self.log = log

    # ------------------------------------------------------------------ secrets

    def is_instructor(self, request: Request) -> bool:
        given = (
            request.cookies.get(COOKIE)
            or request.headers.get("x-room-key")
            or request.query_params.get("key")
            or ""
        )
        return hmac.compare_digest(given.encode(), self.key.encode())

    def is_attendee(self, request: Request) -> bool:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), self.token.encode()
        )

    # ------------------------------------------------------------------ records

    async def body(self, request: Request):
        """(JSON, None) from an attendee's request, or (None, the answer refusing it).

        Refused: no room token; more than MAX_BODY bytes (before reading them
        all); not JSON.
        """
        if not self.is_attendee(request):
            return None, _error(401, "expected the room token (Authorization: Bearer <token>)")
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
            return None, _error(413, f"expected at most {MAX_BODY} bytes, got {declared}")
        data = bytearray()
        async for chunk in request.stream():
            data += chunk
            if len(data) > MAX_BODY:
                return None, _error(413, f"expected at most {MAX_BODY} bytes, got more")
        try:
            return json.loads(data.decode("utf-8")), None
        except RecursionError:  # "[[[[..." nested deeper than Python's parser goes
            return None, _error(400, "expected records, got JSON nested too deep")
        except ValueError as exc:  # not UTF-8, not JSON, a number of 5,000 digits
            return None, _error(400, f"expected a JSON body, got something else: {exc}"[:300])

    async def post_records(self, request: Request) -> Response:
        payload, problem = await self.body(request)
        if problem is not None:
            return problem
        batch = payload if isinstance(payload, list) else [payload]
        if not 1 <= len(batch) <= records.MAX_BATCH:
            return _error(400, f"expected 1 to {records.MAX_BATCH} records, got {len(batch)}")
        names = [r.get("attendee") if isinstance(r, dict) else None for r in batch]
        if any(name != names[0] for name in names):  # compared, never hashed: [] is no name
            return _error(400, "expected the records of one attendee per request")
        try:
            attendee = records.check_name(names[0])
        except records.RecordError as exc:
            return _error(400, str(exc))
        if not self.is_machine_of(request, attendee):
            return _error(
                403, f"{attendee!r} has not joined from this machine: run the join line first"
            )
        if self.stored + len(batch) > MAX_RECORDS:
            return _error(507, f"the room holds {MAX_RECORDS} records and is full")
        bucket = self.buckets.setdefault(attendee, Bucket(BURST, REFILL))
        wait = bucket.take(len(batch))
        if wait:
            response = _error(429, f"too many records from {attendee}: wait {wait:.0f} s")
            response.headers["Retry-After"] = str(max(1, round(wait)))
            return response
        good, rejected = [], []
        for i, record in enumerate(batch):
            try:
                good.append(records.validate(record, self.module_ids))
            except records.RecordError as exc:
                rejected.append({"index": i, "error": str(exc)})
        if not good:
            return JSONResponse({"stored": 0, "duplicates": 0, "rejected": rejected}, 400)
        new = self.store.add(good, time.time())
        self.stored += len(new)
        for r in new:
            self.room.add(r)
            if self.log:
                self.log(r)
        if new:
            self.changed.set()
        return JSONResponse(
            {"stored": len(new), "duplicates": len(good) - len(new), "rejected": rejected}
        )

    async def hello(self, request: Request) -> Response:
        """`workshop join` asks whether the token is right and claims the name.

        The sender asks again before each send: a name the machine holds is
        answered at once, whatever the limits; only new names count.
        """
        payload, problem = await self.body(request)
        if problem is not None:
            return problem
        try:
            name = records.check_name(
                payload.get("attendee") if isinstance(payload, dict) else None
            )
        except records.RecordError as exc:
            return _error(400, str(exc))
        machine = _machine(request)
        if machine is None:
            return _error(400, f"expected the machine's secret ({MACHINE_HEADER}: 32 hex digits)")
        if name not in self.names:
            refused = self.may_claim(request, machine)
            if refused is not None:
                return refused
            self.names[name] = self.store.claim(name, machine)
        if not hmac.compare_digest(self.names[name], machine):
            return _error(
                409, f"the name {name!r} is taken in this room by another machine: choose another"
            )
        return JSONResponse({"ok": True, "attendee": name, "modules": len(self.modules)})

    def may_claim(self, request: Request, machine: str) -> Response | None:
        """None when this machine may claim one more name; otherwise the answer refusing it."""
        if len(self.names) >= self.max_names:
            return _error(
                403,
                f"the room is full: it holds {self.max_names} names, the most it takes. "
                "Ask the instructor (`workshop serve --new-token` frees the names that "
                "never sent a check)",
            )
        held = sum(1 for holder in self.names.values() if holder == machine)
        if held >= NAMES_PER_MACHINE:
            return _error(
                403,
                f"this machine holds {held} names in this room, expected at most "
                f"{NAMES_PER_MACHINE}: join with one of them, or ask the instructor",
            )
        address = _address(request)
        bucket = self.joins.setdefault(address, Bucket(JOIN_BURST, JOIN_REFILL))
        wait = bucket.take(1)
        if wait:
            response = _error(
                429,
                f"too many new names from {address}: expected at most {JOIN_BURST} at once, "
                f"then {JOIN_REFILL * 60:.0f} a minute; try again in {wait:.0f} s",
            )
            response.headers["Retry-After"] = str(max(1, round(wait)))
            return response
        return None

    def is_machine_of(self, request: Request, name: str) -> bool:
        """Records under a name come only from the machine that joined with it."""
        machine, holder = _machine(request), self.names.get(name)
        return machine is not None and holder is not None and hmac.compare_digest(holder, machine)

    # ------------------------------------------------------------------ the page

    async def page(self, request: Request) -> Response:
        if "key" in request.query_params:
            if not self.is_instructor(request):
                return _refused()
            response = RedirectResponse("/", status_code=303)  # the key leaves the address bar
            response.set_cookie(COOKIE, self.key, httponly=True, samesite="strict", path="/")
            return response
        if not self.is_instructor(request):
            return _refused()
        return FileResponse(STATIC / "index.html", media_type="text/html")

    async def state(self, request: Request) -> Response:
        if not self.is_instructor(request):
            return _refused()
        return JSONResponse(self.room.snapshot())

    async def export(self, request: Request) -> Response:
        if not self.is_instructor(request):
            return _refused()
        stamp = time.strftime("%Y%m%d-%H%M")
        return Response(
            self.room.csv_text(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="room-{stamp}.csv"'},
        )

    async def events(self, request: Request) -> Response:
        if not self.is_instructor(request):
            return _refused()
        queue: asyncio.Queue = asyncio.Queue(maxsize=1)
        self.listeners.add(queue)
        shutdown = anyio.Event()  # set by sse-starlette when the server stops

        async def stream():
            try:
                yield {"event": "state", "data": json.dumps(self.room.snapshot())}
                while not shutdown.is_set():
                    data = None
                    with anyio.move_on_after(0.5):  # never across a yield
                        data = await queue.get()
                    if data is not None:
                        yield {"event": "state", "data": data}
            finally:
                self.listeners.discard(queue)

        # On Ctrl-C the stream ends cleanly (the page reconnects to the next server).
        return EventSourceResponse(
            stream(), ping=15, shutdown_event=shutdown, shutdown_grace_period=2
        )

    async def pusher(self) -> None:
        """Send the page a new state after changes (at most every PUSH_EVERY seconds)."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), REFRESH_EVERY)
            self.changed.clear()
            if self.listeners:
                data = json.dumps(self.room.snapshot())
                for queue in list(self.listeners):
                    with contextlib.suppress(asyncio.QueueEmpty):
                        queue.get_nowait()  # a slow page gets the newest state, not a backlog
                    queue.put_nowait(data)
            await asyncio.sleep(PUSH_EVERY)

    def app(self):
        @contextlib.asynccontextmanager
        async def lifespan(_app):
            task = asyncio.create_task(self.pusher())
            try:
                yield
            finally:
                task.cancel()
                self.store.close()

        app = Starlette(
            routes=[
                Route("/", self.page),
                Route("/events", self.events),
                Route("/export.csv", self.export),
                Route("/api/state", self.state),
                Route("/api/records", self.post_records, methods=["POST"]),
                Route("/api/hello", self.hello, methods=["POST"]),
                Route("/api/health", lambda _r: JSONResponse({"ok": True})),
                Mount("/static", StaticFiles(directory=STATIC)),
            ],
            lifespan=lifespan,
        )

        return SecurityHeaders(app)


class SecurityHeaders:
    """ASGI middleware: every answer carries SECURITY_HEADERS (the event stream included)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        return await self.app(scope, receive, send_with_headers)


def _machine(request: Request) -> str | None:
    """SHA-256 of the machine secret the request carries (None when absent or malformed)."""
    secret = request.headers.get(MACHINE_HEADER, "")
    if not re.fullmatch(r"[0-9a-f]{32}", secret):
        return None
    return hashlib.sha256(secret.encode()).hexdigest()


def _address(request: Request) -> str:
    """Who a request comes from, as the rate limit counts them.

    An IPv6 host picks any address of its /64 at will: the /64 is one sender.
    """
    host = request.client.host if request.client else ""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:10.0.0.5, an IPv4 client of a dual-stack socket
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _refused() -> Response:
    return PlainTextResponse(
        "This is the instructor's page of a workshop room. Open the link `workshop serve` "
        "printed: it carries the instructor key.\n",
        status_code=401,
    )


def lan_address() -> str:
    """This machine's address on the room's network (no packet is sent), else its name."""
    import socket

    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("10.255.255.255", 1))  # UDP: picks the outgoing interface, sends nothing
        return s.getsockname()[0]
    return socket.gethostname()


def port_free(host: str, port: int) -> str | None:
    """None when the server can listen there; otherwise why not, in words."""
    import socket

    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def run(server: RoomServer, host: str, port: int) -> None:
    """Serve until Ctrl-C (uvicorn: one process, asyncio; its own log only for warnings)."""
    import uvicorn

    config = uvicorn.Config(
        server.app(), host=host, port=port, log_level="warning", access_log=False
    )
    uvicorn.Server(config).run()
