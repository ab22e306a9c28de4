"""The `gpu` bench section: the lessons' training on a GPU, under JAX and PyTorch, the default way and tuned.

    KERAS_BACKEND=jax python -c "import sys; sys.path.insert(0, 'scripts'); \\
        from benches.gpu import bench_gpu; print(bench_gpu(True))"
    python scripts/benches/gpu.py --backend jax [--quick]   # one backend, JSON on stdout

The GPU machine lent for benchmarks has JAX and PyTorch but no TensorFlow,
so the section measures those two (each in a process of its own: Keras picks
its backend once); a backend that is not installed is reported as skipped.
For each, on the real MNIST test set beside the project (the first 8,000
images train, the last 2,000 test):

- LeNet-5 (ex06's `build_lenet5`), samples per second the lessons' default
  way (`pipeline.to_dataset`, batches of 128, `compile`'s defaults) against
  a tuned run (batches of 1,024, bfloat16 mixed precision when there is a
  GPU, `jit_compile=True` and `steps_per_execution=8` under JAX (PyTorch
  allows neither in Keras's `fit`), arrays fed straight to `fit`), and the
  time each takes to reach 0.98 test accuracy;
- ex08's text model (Embedding, LSTM of 256, softmax over the words) on
  *Don Quijote*: samples per second, default and tuned.

Each result records the date, the machine, the backend and the device.
Without a GPU the same code runs on the CPU with tiny settings (the path is
proven, the numbers mean nothing) and the output says so plainly.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
BACKENDS = ("jax", "torch")  # the GPU machine's; TensorFlow is measured by the other sections
GOAL = 0.98  # LeNet-5's test accuracy to reach

# Settings: "full" on a GPU; "tiny" for --quick and whenever there is no GPU.
SETTINGS = {
    "full": {"train": 8000, "epochs": 30, "text_words": 120_000, "text_epochs": 3},
    "tiny": {"train": 256, "epochs": 2, "text_words": 1_000, "text_epochs": 1},
}
DEFAULT_BATCH, TUNED_BATCH, STEPS_PER_EXECUTION = 128, 1024, 8


def _line(text: str = "") -> None:
    print(text, file=sys.stderr if _QUIET_STDOUT else sys.stdout, flush=True)


_QUIET_STDOUT = False  # the child process keeps stdout for its JSON


# --------------------------------------------------------------------------- the section


def bench_gpu(quick: bool) -> dict:
    """Measure every backend of BACKENDS that is installed, each in its own process."""
    sys.path.insert(0, str(ROOT))
    from workshop import backend

    out = {"date": _now(), "machine": _machine(), "backends": {}}
    for name in BACKENDS:
        if not backend.installed(name):
            _line(f"  {name}: skipped, not installed ({backend.INSTALL[name]})")
            out["backends"][name] = {"skipped": f"{name} is not installed"}
            continue
        command = [sys.executable, str(Path(__file__).resolve()), "--backend", name]
        done = subprocess.run(
            command + (["--quick"] if quick else []),
            capture_output=True,
            text=True,
            env={**os.environ, "KERAS_BACKEND": name, "TF_CPP_MIN_LOG_LEVEL": "3"},
            cwd=ROOT,
            timeout=3600,
        )
        for line in done.stderr.splitlines():
            if line.startswith("  "):  # the child's report lines
                _line(line)
        try:
            out["backends"][name] = json.loads(done.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            tail = done.stderr.strip().splitlines()[-5:]
            _line(f"  {name}: failed (exit {done.returncode}): " + " | ".join(tail))
            out["backends"][name] = {"failed": done.returncode, "error": tail}
    measured = [r for r in out["backends"].values() if "device" in r]
    out["gpu"] = any(r["gpu"] for r in measured)
    if measured and not out["gpu"]:
        out["note"] = (
            "no GPU here: the same measurement ran on the CPU with tiny settings, to prove "
            "the code path; the GPU figures need the lent GPU machine"
        )
        _line(f"  NO GPU WAS THERE: {out['note']}")
    return out


# --------------------------------------------------------------------------- one backend


def measure(quick: bool) -> dict:
    """Everything for the backend this process runs on (KERAS_BACKEND)."""
    sys.path.insert(0, str(ROOT))
    from workshop import backend, gpu

    report = gpu.setup()
    gpus = report.gpus
    size = "tiny" if quick or not gpus else "full"
    device = gpus[0] if gpus else report.devices[0]
    result = {
        "date": _now(),
        "machine": _machine(),
        "backend": report.backend,
        "backend_version": report.backend_version,
        "keras": report.keras,
        "device": f"{device.short_name} {device.description}".strip(),
        "gpu": bool(gpus),
        "settings": size,
    }
    where = f"{backend.name()} on {result['device']}"
    if not gpus:
        _line(f"  {where}: NO GPU here; tiny settings on the CPU (the numbers mean nothing)")
    else:
        _line(f"  {where}: {size} settings")
    settings = SETTINGS[size]
    result["lenet5_mnist"] = _lenet(settings, bool(gpus), where)
    result["text_ex08"] = _text(settings, bool(gpus), where)
    return result


def _lenet(settings: dict, on_gpu: bool, where: str) -> dict:
    folder = SHARED / "mnist-test"
    if not folder.exists():
        _line(f"  {where}: LeNet-5 skipped: ../shared/data/mnist-test is not here")
        return {"skipped": "no ../shared/data/mnist-test"}
    from workshop.data import read_idx

    images = read_idx(folder / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(folder / "t10k-labels-idx1-ubyte.gz").astype("int32")
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2)))[..., None].astype("float32") / 255
    n = settings["train"]
    x_train, y_train = padded[:n], labels[:n]
    x_test, y_test = padded[8000:], labels[8000:]
    build, source = _lenet_builder()
    out = {"model": source, "train": len(x_train), "test": len(x_test)}
    for way in ("default", "tuned"):
        out[way] = _train(
            way, build, (x_train, y_train), (x_test, y_test), settings["epochs"], on_gpu, True
        )
        r = out[way]
        _line(
            f"  {where}: LeNet-5 {way:<7} {r['samples_per_second']:>9,.0f} samples/s, "
            f"accuracy {r['accuracy']:.4f} after {r['epochs']} epochs; {GOAL} "
            + (f"after {r['seconds_to_goal']} s" if r["seconds_to_goal"] else "not reached")
        )
    out["tuned_over_default"] = round(
        out["tuned"]["samples_per_second"] / out["default"]["samples_per_second"], 2
    )
    return out


def _lenet_builder():
    """ex06's build_lenet5, or the same network written here when ex06 cannot load here."""
    try:
        from workshop.grading.loader import load_lesson

        return load_lesson("ex06_lenet", "solutions").build_lenet5, "ex06 build_lenet5"
    except Exception as exc:  # e.g. the lesson still needs TensorFlow, absent on the GPU machine
        reason = f"{type(exc).__name__}: {str(exc)[:120]}"
    import keras

    def build():
        L = keras.layers
        model = keras.Sequential(
            [
                keras.Input(shape=(32, 32, 1)),
                L.Conv2D(6, 5, activation="tanh"),
                L.AveragePooling2D(2),
                L.Conv2D(16, 5, activation="tanh"),
                L.AveragePooling2D(2),
                L.Conv2D(120, 5, activation="tanh"),
                L.Flatten(),
                L.Dense(84, activation="tanh"),
                L.Dense(10, activation="softmax"),
            ]
        )
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    return build, f"LeNet-5 as ex06 builds it (ex06 did not load: {reason})"


def _text(settings: dict, on_gpu: bool, where: str) -> dict:
    book = SHARED / "quijote.txt"
    if not book.exists():
        _line(f"  {where}: text model skipped: ../shared/data/quijote.txt is not here")
        return {"skipped": "no ../shared/data/quijote.txt"}
    from workshop.data import read_text, strip_gutenberg
    from workshop.grading.loader import load_lesson

    ex08 = load_lesson("ex08_rnn_text_generation", "solutions")
    words = ex08.tokenize_words(ex08.clean_text(strip_gutenberg(read_text(book))))
    words = words[: settings["text_words"]]
    vocab = ex08.build_vocabulary(words, min_count=2)
    x, y = ex08.make_windows(ex08.encode(words, vocab), 10)
    x, y = x.astype("int32"), y.astype("int32")
    split = int(0.9 * len(x))

    def build():
        return ex08.build_text_model(len(vocab), 64, 256, "lstm")

    out = {"words": len(words), "vocabulary": len(vocab), "windows": split}
    for way in ("default", "tuned"):
        out[way] = _train(
            way,
            build,
            (x[:split], y[:split]),
            (x[split:], y[split:]),
            settings["text_epochs"] + 1,  # the first epoch compiles: not counted
            on_gpu,
            False,
        )
        _line(f"  {where}: ex08 LSTM {way:<7} {out[way]['samples_per_second']:>9,.0f} samples/s")
    out["tuned_over_default"] = round(
        out["tuned"]["samples_per_second"] / out["default"]["samples_per_second"], 2
    )
    return out


def _train(way, build, train, test, epochs, on_gpu, accuracy):
    """One run: the lessons' default `fit`, or the tuned one. Samples per second leave out
    the first epoch (compilation); the time to GOAL counts from the start, compilation included."""
    import keras

    from workshop import pipeline

    tuned = way == "tuned"
    policy = "mixed_bfloat16" if tuned and on_gpu else "float32"
    # PyTorch: Keras runs one step per call there (steps_per_execution must be 1), and its
    # jit_compile is torch.compile, which needs a compiler toolchain and takes minutes: off.
    on_torch = keras.backend.backend() == "torch"
    jit, steps = (False, 1) if on_torch else (True, STEPS_PER_EXECUTION)
    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(0)
    try:
        model = build()
        if tuned:  # the same optimizer, loss and metrics, compiled for speed
            model.compile(
                optimizer=model.optimizer.__class__.from_config(model.optimizer.get_config()),
                loss=model.loss,
                metrics=["accuracy"] if accuracy else None,
                jit_compile=jit,
                steps_per_execution=steps,
            )
            feed = {"x": train[0], "y": train[1], "batch_size": TUNED_BATCH, "shuffle": True}
            valid = test
        else:  # as the lessons do it
            feed = {"x": pipeline.to_dataset(*train, DEFAULT_BATCH, shuffle=True)}
            valid = pipeline.to_dataset(*test, 512)
        clock = _clock(GOAL if accuracy else None)
        start = time.perf_counter()
        model.fit(
            **feed,
            epochs=epochs,
            validation_data=valid if accuracy else None,
            callbacks=[clock],
            verbose=0,
        )
        total = time.perf_counter() - start
    finally:
        keras.mixed_precision.set_global_policy("float32")
    steady = clock.seconds[1:] or clock.seconds  # one epoch only: it includes compiling
    result = {
        "batch_size": TUNED_BATCH if tuned else DEFAULT_BATCH,
        "precision": policy,
        "jit_compile": jit if tuned else "auto",
        "steps_per_execution": steps if tuned else 1,
        "feed": "arrays" if tuned else "pipeline.to_dataset",
        "epochs": len(clock.seconds),
        "seconds": round(total, 2),
        "samples_per_second": round(len(train[0]) / float(np.median(steady)), 1),
    }
    if accuracy:
        result["accuracy"] = round(clock.accuracy[-1], 4)
        result["seconds_to_goal"] = clock.reached
    return result


def _clock(goal):
    import keras

    class Clock(keras.callbacks.Callback):
        """Each epoch's seconds; with a goal, stop training once the test accuracy reaches it."""

        def on_train_begin(self, logs=None):
            self.start = self.last = time.perf_counter()
            self.seconds, self.accuracy, self.reached = [], [], None

        def on_epoch_end(self, epoch, logs=None):
            now = time.perf_counter()
            self.seconds.append(now - self.last)
            self.last = now
            if goal is None:
                return
            self.accuracy.append(float(logs["val_accuracy"]))
            if self.accuracy[-1] >= goal and self.reached is None:
                self.reached = round(now - self.start, 1)
                self.model.stop_training = True

    return Clock()


def _now() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def _machine() -> dict:
    try:
        import psutil

        memory = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:  # pragma: no cover - in requirements.txt
        memory = None
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "memory_gb": memory,
        "python": platform.python_version(),
    }


def main(argv: list[str] | None = None) -> int:
    global _QUIET_STDOUT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=BACKENDS, help="measure this one, print its JSON")
    parser.add_argument("--quick", action="store_true", help="tiny settings")
    args = parser.parse_args(argv)
    if args.backend is None:
        print(json.dumps(bench_gpu(args.quick), indent=2))
        return 0
    if os.environ.get("KERAS_BACKEND") != args.backend:
        os.environ["KERAS_BACKEND"] = args.backend  # before anything imports keras
    _QUIET_STDOUT = True
    print(json.dumps(measure(args.quick)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
