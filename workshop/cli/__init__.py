"""The `workshop` command: one parser, whose subcommands each group module adds."""

from __future__ import annotations

import argparse

from rich.markup import escape

from workshop import backend
from workshop.cli import attendee, data, device, instructor, room, watch
from workshop.cli.common import console

GROUPS = (attendee, watch, device, data, instructor, room)

# The order `workshop --help` lists the commands in: an attendee's day first, the groups mixed.
HELP_ORDER = (
    "list",
    "check",
    "hint",
    "run",
    "watch",
    "reset",
    "env",
    "data",
    "verify",
    "demo",
    "notebooks",
    "tensorboard",
    "cluster",
    "report",
    "grade",
    "serve",
    "join",
    "leave",
)


def build_parser() -> argparse.ArgumentParser:
    from workshop import __version__

    p = argparse.ArgumentParser(prog="workshop", description="Hands-on deep-learning workshop.")
    p.add_argument("--version", action="version", version=f"workshop {__version__}")
    p.add_argument(
        "--backend",
        choices=backend.NAMES,
        help="the Keras backend for this command and the lessons it runs or checks "
        "(sets KERAS_BACKEND; default: $KERAS_BACKEND, else tensorflow)",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    adders = {name: add for group in GROUPS for name, add in group.COMMANDS.items()}
    if sorted(adders) != sorted(HELP_ORDER):
        raise RuntimeError(f"HELP_ORDER {sorted(HELP_ORDER)} != the commands {sorted(adders)}")
    for name in HELP_ORDER:
        adders[name](sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.backend:  # before anything imports keras; processes started later inherit it
            backend.choose(args.backend)
        return args.func(args)
    except ValueError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        return 2
    except KeyboardInterrupt:
        return 130
