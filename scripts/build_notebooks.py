"""Turn the percent-format lessons into Jupyter notebooks (exercises and solutions).

    python scripts/build_notebooks.py                 # -> notebooks/exercises/*.ipynb, notebooks/solutions/*.ipynb
    python scripts/build_notebooks.py --out DIR ex01  # only some lessons, elsewhere

The notebooks are generated (not committed): the `.py` files stay the single
source. In a notebook the lesson's last cell runs `main()` with the full
settings; set WORKSHOP_QUICK=1 in the kernel's environment for the quick ones.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build(out: Path, only: list[str] | None = None) -> list[Path]:
    import jupytext

    written = []
    for folder in ("exercises", "solutions"):
        for script in sorted((ROOT / folder).glob("ex*.py")):
            if only and not any(key in script.stem for key in only):
                continue
            notebook = jupytext.read(script, fmt="py:percent")
            notebook.metadata["kernelspec"] = {
                "name": "python3",
                "display_name": "Python 3",
                "language": "python",
            }
            target = out / folder / f"{script.stem}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            jupytext.write(notebook, target)
            written.append(target)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="*", help="e.g. ex01 perceptron (default: all)")
    parser.add_argument("--out", default=str(ROOT / "notebooks"))
    args = parser.parse_args(argv)
    paths = build(Path(args.out), args.lessons or None)
    for p in paths:
        print(f"wrote {p}")
    if not paths:
        print("no lesson matched", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
