"""What every lesson's `main` shares: settings from the command line, figures, metrics."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

from workshop import plotting


def parse_config(cls, argv: list[str] | None = None, quick: dict | None = None, doc: str = ""):
    """Build a lesson's settings dataclass from the command line.

    Every field becomes `--field-name`; `--quick` starts from the `quick`
    overrides (seconds, tiny data); `--offline` never downloads.
    """
    parser = argparse.ArgumentParser(description=doc.strip().splitlines()[0] if doc else None)
    parser.add_argument("--quick", action="store_true", help="tiny settings: runs in seconds")
    parser.add_argument(
        "--offline", action="store_true", help="never download: cached data or the stand-in"
    )
    names = []
    for f in dataclasses.fields(cls):
        if f.name in ("quick", "offline"):
            continue
        default = f.default if f.default is not dataclasses.MISSING else None
        kind = type(default) if default is not None else str
        if kind is bool:
            parser.add_argument(
                f"--{f.name.replace('_', '-')}", action=argparse.BooleanOptionalAction
            )
        else:
            parser.add_argument(
                f"--{f.name.replace('_', '-')}", type=kind, help=f"default {default}"
            )
        names.append(f.name)
    if argv is None and in_notebook():
        argv = []  # a kernel's own command line is not ours
    args = parser.parse_args(argv)
    args.quick = args.quick or os.environ.get("WORKSHOP_QUICK", "") in ("1", "true", "yes")
    values = dict(quick or {}) if args.quick else {}
    values.update({k: getattr(args, k) for k in names if getattr(args, k) is not None})
    field_names = {f.name for f in dataclasses.fields(cls)}
    if "quick" in field_names:
        values["quick"] = args.quick
    if args.offline:
        os.environ["WORKSHOP_OFFLINE"] = "1"
        if "offline" in field_names:
            values["offline"] = True
    return cls(**values)


def output_dir(path: str | Path) -> Path:
    """Create and return the folder a lesson writes its figures and metrics to.

    A relative path is taken from the project's root, wherever the lesson runs
    from (a terminal in exercises/, a notebook in notebooks/exercises/): every
    figure lands in the project's outputs/.
    """
    from workshop import ROOT

    path = Path(path)
    if not path.is_absolute():
        path = ROOT / path
    path.mkdir(parents=True, exist_ok=True)
    return path


def in_notebook() -> bool:
    """True inside Jupyter/Colab, where a figure should also be displayed."""
    shell = sys.modules.get("IPython")
    ip = shell.get_ipython() if shell else None
    return ip is not None and type(ip).__name__ != "TerminalInteractiveShell"


def save_figure(fig, out: Path, name: str) -> Path:
    """Save `fig` as out/name.png; in a notebook, show that PNG in the cell's output.

    The PNG itself is displayed (not the Figure), so it appears inline whatever
    matplotlib backend the kernel has (MPLBACKEND=Agg included).
    """
    path = plotting.save(fig, Path(out) / f"{name}.png")
    if in_notebook():
        from IPython.display import Image, display

        display(Image(filename=str(path)))
    return path


def tensorboard(out: Path, histograms: bool = False, images=None) -> list:
    """Callbacks writing TensorBoard logs to out/logs (`workshop tensorboard` shows them).

    Scalars (loss, metrics) every epoch, and the model's graph. histograms=True
    adds the weights' histograms; `images` maps a name to a function of the
    model returning images (N, H, W, C) in [0, 1] (a CNN's feature maps, say),
    logged every epoch. TensorBoard's files are written by TensorFlow: under
    JAX or PyTorch without TensorFlow installed, a line says so and no
    callback is added (the lesson runs on).
    """
    import keras

    from workshop import backend

    if not backend.installed("tensorflow"):
        print(
            f"TensorBoard logs: written by TensorFlow, which is not installed; skipped "
            f"under {backend.name()}.",
            flush=True,
        )
        return []
    logs = Path(out) / "logs"
    callbacks = [keras.callbacks.TensorBoard(str(logs), histogram_freq=1 if histograms else 0)]
    if images:
        callbacks.append(_image_logger(logs / "images", images))
    return callbacks


def as_images(maps):
    """Feature maps (H, W, C) as C grey pictures (C, H, W, 1) in [0, 1], for TensorBoard."""
    import numpy as np

    maps = np.asarray(maps, dtype="float32")
    low = maps.min(axis=(0, 1), keepdims=True)
    span = maps.max(axis=(0, 1), keepdims=True) - low
    return np.transpose((maps - low) / np.where(span > 0, span, 1), (2, 0, 1))[..., None]


def each_epoch(function):
    """A Keras callback calling function(model, epoch, logs) after every epoch (epoch from 1):
    generated text, a figure, a printed measurement."""
    import keras

    class EachEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            function(self.model, epoch + 1, dict(logs or {}))

    return EachEpoch()


def _image_logger(folder: Path, images):
    import keras
    import tensorflow as tf

    class ImageLogger(keras.callbacks.Callback):
        """Pictures of what the model computes, one set per epoch, in TensorBoard's IMAGES tab."""

        def __init__(self):
            super().__init__()
            self.writer = tf.summary.create_file_writer(str(folder))

        def on_epoch_end(self, epoch, logs=None):
            with self.writer.as_default():
                for name, make in images.items():
                    pictures = keras.ops.convert_to_numpy(make(self.model))  # any backend's array
                    tf.summary.image(name, pictures, step=epoch, max_outputs=16)
            self.writer.flush()

    return ImageLogger()


def full_batch_steps(model, x, y, steps: int, per_call: int = 100):
    """`steps` steps of full-batch gradient descent on (x, y), in one call to `fit`; its History.

    Each step sees every example once, in order: what gradient descent written
    by hand does, and what `model.fit(x, y, epochs=steps, batch_size=len(x))`
    does. Keras 3 starts every epoch anew (tenths of a second on TensorFlow,
    for a handful of points), so here the steps are one epoch over `steps`
    copies of the data, run `per_call` at a time (one at a time under
    PyTorch, whose `fit` allows no more). The model keeps its optimiser and
    loss (its metrics are dropped).
    """
    import keras
    import numpy as np

    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"expected as many targets as examples (not 0), got {len(x)} and {len(y)}")
    per_call = 1 if keras.backend.backend() == "torch" else min(steps, per_call)
    model.compile(optimizer=model.optimizer, loss=model.loss, steps_per_execution=per_call)
    copies = np.concatenate([x] * steps), np.concatenate([y] * steps)
    return model.fit(*copies, batch_size=len(x), epochs=1, shuffle=False, verbose=0)


def write_texts(out: Path, name: str, texts: dict[str, str]) -> Path:
    """Print each named text (generated samples, say) and write them all to out/name."""
    for title, text in texts.items():
        print(f"{title}: {text}")
    path = Path(out) / name
    path.write_text("".join(f"{t}:\n{text}\n\n" for t, text in texts.items()), encoding="utf-8")
    return path


def write_projector(folder, vectors, labels) -> tuple[Path, Path]:
    """folder/vectors.tsv (one row of tab-separated numbers per vector) and folder/metadata.tsv
    (one label per line, same order): what projector.tensorflow.org's "Load" reads."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = ("\t".join(f"{v:.6g}" for v in row) + "\n" for row in vectors)
    (folder / "vectors.tsv").write_text("".join(rows), encoding="utf-8")
    labels = [str(w).replace("\t", " ").replace("\n", " ") or " " for w in labels]
    (folder / "metadata.tsv").write_text("".join(w + "\n" for w in labels), encoding="utf-8")
    return folder / "vectors.tsv", folder / "metadata.tsv"


def write_metrics(out: Path, metrics: dict[str, Any]) -> Path:
    """Write the lesson's metrics as out/metrics.json (numbers made JSON-safe)."""

    def plain(v):
        if hasattr(v, "item"):
            return v.item()
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    path = Path(out) / "metrics.json"
    path.write_text(json.dumps(plain(metrics), indent=2, default=str) + "\n")
    return path


def run(main, cls, quick: dict | None = None, doc: str = "") -> None:
    """A lesson's `__main__`: settings from the command line, then main(); data problems
    end with their message (what is missing and the command that fixes it), not a traceback."""
    from workshop import distributed
    from workshop.data import DataUnavailableError

    distributed.init()  # with TF_CONFIG: the cluster's strategy, before TensorFlow runs anything
    config = parse_config(cls, quick=quick, doc=doc)
    try:
        main(config)
    except DataUnavailableError as exc:
        print(f"\n{exc}", file=sys.stderr)
        raise SystemExit(2) from None


class SiblingMissing(ImportError):
    """A lesson that builds on another cannot find that lesson's file."""


def sibling(module_id: str):
    """Another lesson of the same folder, imported once: what a later lesson builds on.

    ex09 builds ex04's dense network and draws with ex07's `feature_maps`:
    `ex04 = lesson.sibling("ex04_fashion_mnist_callbacks")`. The folder is
    the calling lesson's own (solutions/ for a solution, exercises/ for the
    attendee's file, the private copy while it is graded); in a notebook,
    which has no file, the folder its notebook stands for.
    """
    from workshop import ROOT
    from workshop.grading.loader import import_file

    if not isinstance(module_id, str) or not module_id.replace("_", "").isalnum():
        raise ValueError(
            f"expected a lesson's id such as 'ex04_fashion_mnist_callbacks', got {module_id!r}"
        )
    caller = sys._getframe(1).f_globals.get("__file__")
    if caller:
        folder = Path(caller).resolve().parent
    else:  # a notebook: notebooks/solutions/ stands for solutions/, anything else for exercises/
        folder = ROOT / ("solutions" if Path.cwd().name == "solutions" else "exercises")
    path = folder / f"{module_id}.py"
    loaded = sys.modules.get(module_id)
    known = getattr(loaded, "__file__", None)
    if known and Path(known).resolve() == path.resolve():
        return loaded
    if not path.is_file():
        raise SiblingMissing(
            f"this lesson uses {module_id}, and {path.name} is not in {folder}: "
            f"restore it with `workshop reset {module_id[2:4].lstrip('0') or '0'}`"
        )
    return import_file(module_id, path)
