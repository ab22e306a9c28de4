"""Build the Jupyter notebooks of the lessons (same as `workshop notebooks`).

    python scripts/build_notebooks.py                 # notebooks/exercises/*.ipynb, notebooks/solutions/*.ipynb
    python scripts/build_notebooks.py --out DIR ex01  # only some lessons, elsewhere
    python scripts/build_notebooks.py --force         # rebuild existing ones (after a backup)

Exercise notebooks come from the pristine stubs, solution notebooks from the
solutions without their grading markers; the `.py` files stay the single
source. A notebook that exists is never overwritten without --force.
Set WORKSHOP_SOURCE to the repository URL the Colab set-up cell clones.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workshop import notebooks  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="*", help="e.g. ex01 perceptron (default: all)")
    parser.add_argument("--out", default=None, help="default: notebooks/ in the project")
    parser.add_argument("--force", action="store_true", help="rebuild existing notebooks too")
    args = parser.parse_args(argv)
    built = notebooks.build(Path(args.out) if args.out else None, args.lessons or None, args.force)
    for b in built:
        print(f"{b.action:8} {b.path}" + (f" (old one: {b.backup})" if b.backup else ""))
    if not built:
        print("no lesson matched", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
