"""`workshop data`: fetch the data sets, say which are cached, pack and unpack the cache."""

from __future__ import annotations

from workshop.cli.common import console


def _add_data(sub) -> None:
    s = sub.add_parser("data", help="fetch, inspect, pack or unpack the data cache")
    s.add_argument("action", choices=["fetch", "status", "pack", "unpack"])
    s.add_argument("file", nargs="?", help="pack: archive to write; unpack: archive to read")
    s.add_argument("--name", help="fetch only this data set")
    s.set_defaults(func=cmd_data)


def cmd_data(args) -> int:
    from workshop import data

    try:
        if args.action == "fetch":
            failed = 0
            for key in [args.name] if args.name else list(data.SOURCES):
                try:
                    paths = data.fetch(key)
                    console.print(f"[green]OK[/] {key}: {paths[0].parent}")
                except data.DataUnavailableError as exc:
                    failed += 1
                    console.print(f"FAIL {key}:\n{exc}", markup=False, soft_wrap=True)
            return 1 if failed else 0
        if args.action == "status":
            for source, cached, where in data.status():
                console.print(
                    f"{'[green]cached[/]' if cached else '[yellow]missing[/]'}  {source.key:<14} {where}"
                )
            return 0
        if args.action == "pack":
            path = data.pack(args.file or "workshop-data.tar.gz")
            console.print(f"wrote {path}: copy it, then `workshop data unpack {path.name}`")
            return 0
        if args.action == "unpack":
            if not args.file:
                raise ValueError(
                    "workshop data unpack needs the archive: workshop data unpack FILE"
                )
            found = data.unpack(args.file)
            console.print(f"unpacked into {data.cache_dir()}: {', '.join(found)}")
            return 0
    except (data.DataUnavailableError, ValueError) as exc:
        console.print(str(exc), markup=False, soft_wrap=True)
        return 1
    return 2


# Each command's name and the function that adds it, with its options, to `workshop`.
COMMANDS = {
    "data": _add_data,
}
