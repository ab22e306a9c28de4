"""Write exercises/ from solutions/: every `# BEGIN SOLUTION` block becomes a TODO stub.

    python scripts/make_exercises.py          # regenerate
    python scripts/make_exercises.py --check  # exit 1 when exercises/ is out of step

Maintainers only: this overwrites exercises/ (keeping a copy of each file it
replaces in .workshop/backups/). Attendees use `workshop reset N`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workshop import ROOT  # noqa: E402
from workshop.stubs import MarkerError, sync_exercises  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report; exit 1 if out of step")
    args = parser.parse_args(argv)
    try:
        report = sync_exercises(ROOT, write=not args.check)
    except MarkerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for stem in report.written:
        print(f"wrote exercises/{stem}.py")
    problems = (
        [f"exercises/{s}.py is out of step with solutions/{s}.py" for s in report.stale]
        + [f"exercises/{s}.py is missing" for s in report.missing]
        + [f"exercises/{s}.py has no solutions/{s}.py" for s in report.stray]
    )
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print("run: python scripts/make_exercises.py", file=sys.stderr)
        return 1
    if args.check:
        print("exercises/ is in step with solutions/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
