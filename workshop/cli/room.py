"""The room's live page: serve it (instructors), join and leave it (attendees)."""

from __future__ import annotations

import time
from pathlib import Path

from rich.markup import escape

from workshop import progress
from workshop.cli.common import attendee_name, console


def _add_serve(sub) -> None:
    s = sub.add_parser(
        "serve",
        help="instructors: the room's live page (who is stuck where); prints the join line",
    )
    s.add_argument("--host", default="127.0.0.1", help="0.0.0.0 opens it to the room's network")
    s.add_argument("--port", type=int, default=8765, help="default 8765")
    s.add_argument("--db", help="the SQLite file (default .workshop/room.sqlite3)")
    s.add_argument(
        "--stuck-minutes",
        type=float,
        default=10.0,
        help="highlight whoever is on the same failure this long (default 10)",
    )
    s.add_argument(
        "--max-names",
        type=int,
        default=300,
        help="the most names the room holds (default 300; a joining laptop beyond it is told "
        "the room is full)",
    )
    s.add_argument(
        "--new-token",
        action="store_true",
        help="new room token and instructor key (attendees must join again)",
    )
    s.set_defaults(func=cmd_serve)


def cmd_serve(args) -> int:
    import sqlite3

    from workshop.room import server

    if not 1 <= args.port <= 65535:
        raise ValueError(f"--port: expected 1 to 65535, got {args.port}")
    if not 0 < args.stuck_minutes <= 600:
        raise ValueError(
            f"--stuck-minutes: expected more than 0 and at most 600, got {args.stuck_minutes}"
        )
    if not 1 <= args.max_names <= 100_000:
        raise ValueError(f"--max-names: expected 1 to 100000, got {args.max_names}")
    busy = server.port_free(args.host, args.port)
    if busy:
        console.print(
            f"cannot listen on {args.host}:{args.port} ({busy}): is a server running already? "
            "--port picks another",
            markup=False,
        )
        return 2
    db = Path(args.db) if args.db else progress.state_file().parent / "room.sqlite3"

    def log(r: dict) -> None:
        # Plain print: a rich line costs ~0.4 ms, a third of what storing a record does.
        # Names and messages were checked to hold no control characters.
        when = time.strftime("%H:%M:%S", time.localtime(r["received"]))
        print(f"{when} {r['attendee']}: {r['module']} {r['outcome']} {r['passed']}/{r['total']}")

    try:
        room = server.RoomServer(
            db,
            stuck_minutes=args.stuck_minutes,
            renew=args.new_token,
            log=log,
            max_names=args.max_names,
            say=lambda line: console.print(line, markup=False, soft_wrap=True),
        )
    except (OSError, sqlite3.Error) as exc:
        console.print(
            f"cannot keep the room's records in {db}: {exc}. --db picks another file "
            "(a new file starts an empty room with a new token).",
            markup=False,
        )
        return 2
    local = args.host in ("127.0.0.1", "localhost", "::1")
    # Listening on every interface: the join line shows this machine's address in the room.
    shown = server.lan_address() if args.host in ("0.0.0.0", "::") else args.host
    url = f"http://[{shown}]:{args.port}" if ":" in shown else f"http://{shown}:{args.port}"
    console.print(
        f"[bold]Room server[/] on {url} (records kept in {escape(str(db))}; {room.stored} so far)",
        soft_wrap=True,
    )
    # Whole lines, never wrapped: they are copied and pasted.
    console.print(
        f"Instructor page (keep this link to yourself): {url}/?key={room.key}",
        markup=False,
        soft_wrap=True,
    )
    console.print("Attendees run:", markup=False)
    console.print(
        f'  workshop join {url} --token {room.token} --name "Your Name"',
        markup=False,
        soft_wrap=True,
    )
    if local:
        console.print(
            "[dim]Only this machine can reach it; `--host 0.0.0.0` opens it to the room's "
            "network (see README, 'The room at a glance').[/]"
        )
    console.print("[dim]Ctrl-C stops it; started again, it keeps its records, token and key.[/]")
    server.run(room, args.host, args.port)
    return 0


def _add_join(sub) -> None:
    s = sub.add_parser("join", help="send each check's outcome (never your code) to the room")
    s.add_argument("url", help="the server's address from the join line, e.g. http://10.0.0.5:8765")
    s.add_argument("--token", required=True, help="the room token from the join line")
    s.add_argument("--name", help="your name on the page (default $WORKSHOP_NAME or your login)")
    s.set_defaults(func=cmd_join)


def cmd_join(args) -> int:
    from workshop.room import client

    console.print(client.join(args.url, args.token, attendee_name(args.name)), markup=False)
    return 0


def _add_leave(sub) -> None:
    s = sub.add_parser("leave", help="stop sending checks to the room")
    s.set_defaults(func=cmd_leave)


def cmd_leave(args) -> int:
    from workshop.room import client

    console.print(client.leave(), markup=False)
    return 0


# Each command's name and the function that adds it, with its options, to `workshop`.
COMMANDS = {
    "serve": _add_serve,
    "join": _add_join,
    "leave": _add_leave,
}
