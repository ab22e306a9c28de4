"""Training on several devices or machines: the strategy, made at start-up, and a loop that works.

What scales how:
- a laptop or one GPU: the default strategy, plain `model.fit`;
- several GPUs in one machine: `MirroredStrategy`, plain `model.fit` (each
  batch is split across the devices, gradients are summed);
- several machines (or several processes on one machine, to try it):
  `MultiWorkerMirroredStrategy`, selected when `TF_CONFIG` describes a
  cluster. Two facts shape this module: the strategy must exist before
  TensorFlow runs any operation (`init()` creates it first thing and says
  clearly when it is too late), and Keras 3's `model.fit` does not work
  under it (keras-team/keras#20585), so `fit()` here runs a custom training
  step with `strategy.run` and returns a History-like record.

`workshop cluster --workers N LESSON` starts N local workers on loopback
ports to show it on one machine; on real machines each worker gets its own
TF_CONFIG (see README, "Several machines").

All of the above is TensorFlow's `tf.distribute`. Under JAX, Keras 3's own
`keras.distribution.DataParallel` splits each batch across the local devices
and `model.fit` runs as it is (`data_parallel()`); under another backend a
TF_CONFIG cluster is said to be TensorFlow's in one line and the process
trains alone. This module imports `workshop.backend` only, never
`workshop.gpu` (which imports this one).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from workshop import backend

_STRATEGY = None
_SAID_TF_ONLY = False


class TooLate(RuntimeError):
    """The multi-worker strategy was asked for after TensorFlow had started running."""


def cluster() -> dict | None:
    """TF_CONFIG's cluster when it names more than one worker; None otherwise."""
    text = os.environ.get("TF_CONFIG")
    if not text:
        return None
    try:
        config = json.loads(text)
        spec = config["cluster"]
        workers = len(spec.get("worker", [])) + len(spec.get("chief", []))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(
            f"TF_CONFIG must be JSON like {{'cluster': {{'worker': [...]}}, 'task': {{...}}}}, "
            f"got {text!r}: {exc}"
        ) from None
    return config if workers > 1 else None


def init():
    """Create the strategy now, before any TensorFlow operation runs (call first thing).

    With a cluster in TF_CONFIG this is MultiWorkerMirroredStrategy; later
    calls return the same object. Without one it returns None and
    `workshop.gpu.strategy()` decides as usual. Under JAX or PyTorch a cluster
    is said to be TensorFlow's (once) and None comes back: this process trains alone.
    """
    global _STRATEGY, _SAID_TF_ONLY
    if _STRATEGY is not None or cluster() is None:
        return _STRATEGY
    if not backend.is_tensorflow():
        if not _SAID_TF_ONLY:
            _SAID_TF_ONLY = True
            print(
                "TF_CONFIG describes a cluster: multi-worker training is TensorFlow's "
                f"(tf.distribute), so under {backend.name()} this process trains alone.",
                flush=True,
            )
        return None
    tf = backend.tf()
    try:
        _STRATEGY = tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as exc:
        if "must be configured at program startup" in str(exc) or "Collective" in str(exc):
            raise TooLate(
                "TF_CONFIG describes a cluster, but TensorFlow had already run operations "
                "before the multi-worker strategy was created. Create it first thing: "
                "call workshop.distributed.init() (lessons do, through workshop.lesson.run) "
                "before building models, loading data into tensors or listing logical devices."
            ) from exc
        raise
    return _STRATEGY


def multi_worker() -> bool:
    return _STRATEGY is not None


def task_index() -> int:
    config = cluster() or {}
    return int(config.get("task", {}).get("index", 0))


@dataclass
class History:
    """What `fit` returns: per-epoch values, as `keras.callbacks.History.history` has them."""

    history: dict[str, list[float]] = field(default_factory=dict)
    epoch: list[int] = field(default_factory=list)


def fit(
    model,
    x,
    y,
    epochs: int,
    batch_size: int,
    validation_data: tuple | None = None,
    loss: str = "sparse_categorical_crossentropy",
    optimizer=None,
    verbose: bool = True,
) -> History:
    """Data-parallel training that works under MultiWorkerMirroredStrategy with Keras 3.

    `model` must have been built inside `init()`'s strategy scope. Each step
    splits the global batch across the workers (`experimental_distribute_
    dataset`), computes the loss scaled to the global batch
    (`tf.nn.compute_average_loss`), and applies the summed gradients on every
    worker: all of them end with the same weights.
    """
    import keras

    if not backend.is_tensorflow():
        raise ValueError(
            "workshop.distributed.fit is tf.distribute's training step: it needs the "
            f"tensorflow backend, this is {backend.name()} (use model.fit there)"
        )
    tf = backend.tf()
    strategy = _STRATEGY or tf.distribute.get_strategy()
    with strategy.scope():
        loss_fn = per_example_loss(loss)
        optimizer = optimizer or keras.optimizers.Adam()

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    train = (
        tf.data.Dataset.from_tensor_slices((x, y))
        .shuffle(len(x), seed=0, reshuffle_each_iteration=True)
        .batch(batch_size, drop_remainder=True)
        .with_options(options)
    )
    dist_train = strategy.experimental_distribute_dataset(train)

    def step(inputs):
        xb, yb = inputs
        with tf.GradientTape() as tape:
            prediction = model(xb, training=True)
            per_example = loss_fn(yb, prediction)
            total = tf.nn.compute_average_loss(per_example, global_batch_size=batch_size)
            if model.losses:
                total += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
        grads = tape.gradient(total, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        labels = tf.cast(tf.reshape(yb, [-1]), tf.int64)
        hits = tf.equal(tf.argmax(prediction, -1), labels)
        return total, tf.reduce_sum(tf.cast(hits, tf.float32))

    @tf.function
    def train_step(inputs):
        loss_value, correct = strategy.run(step, args=(inputs,))
        return (
            strategy.reduce(tf.distribute.ReduceOp.SUM, loss_value, axis=None),
            strategy.reduce(tf.distribute.ReduceOp.SUM, correct, axis=None),
        )

    result = History()
    for epoch in range(epochs):
        start, losses, correct, seen = time.perf_counter(), [], 0.0, 0
        for batch in dist_train:
            batch_loss, batch_correct = train_step(batch)
            losses.append(float(batch_loss))
            correct += float(batch_correct)
            seen += batch_size
        logs = {"loss": sum(losses) / max(len(losses), 1), "accuracy": correct / max(seen, 1)}
        if validation_data is not None:
            xv, yv = validation_data
            probs = model.predict(xv, verbose=0)
            logs["val_accuracy"] = float((probs.argmax(-1) == yv).mean())
        for key, value in logs.items():
            result.history.setdefault(key, []).append(float(value))
        result.epoch.append(epoch)
        if verbose:
            shown = ", ".join(f"{k} {v:.4f}" for k, v in logs.items())
            print(
                f"[worker {task_index()}] epoch {epoch + 1}/{epochs}: {shown} "
                f"({time.perf_counter() - start:.1f} s)",
                flush=True,
            )
    return result


def data_parallel(devices: list[str] | None = None):
    """Keras 3's data parallelism under JAX: each batch split across `devices`, gradients averaged.

    Sets `keras.distribution.DataParallel` for the whole process (so plain
    `model.fit` distributes every batch; variables are replicated on each
    device) and returns it; its `scope()` works as a strategy's does.
    devices: e.g. ["gpu:0", "gpu:1"]; default every accelerator (or every
    CPU device when there is none). JAX only: TensorFlow has
    `workshop.gpu.strategy()` (tf.distribute), PyTorch trains on one device.
    """
    if backend.name() != "jax":
        raise ValueError(
            "keras.distribution.DataParallel runs under the jax backend; this is "
            f"{backend.name()} (TensorFlow: workshop.gpu.strategy(), tf.distribute)"
        )
    import keras

    available = keras.distribution.list_devices()
    if devices is None:
        devices = available
    if (
        not isinstance(devices, (list, tuple))
        or not devices
        or any(d not in available for d in devices)
    ):
        raise ValueError(f"devices must be a non-empty list from {available}, got {devices!r}")
    made = keras.distribution.DataParallel(devices=list(devices))
    keras.distribution.set_distribution(made)
    return made


def per_example_loss(loss):
    """A Keras loss that returns one value per example (`reduction=None`): the loop scales it."""
    import keras

    names = {
        "sparse_categorical_crossentropy": keras.losses.SparseCategoricalCrossentropy,
        "categorical_crossentropy": keras.losses.CategoricalCrossentropy,
        "binary_crossentropy": keras.losses.BinaryCrossentropy,
        "mse": keras.losses.MeanSquaredError,
        "mean_squared_error": keras.losses.MeanSquaredError,
    }
    if isinstance(loss, str):
        if loss not in names:
            raise ValueError(f"loss must be one of {sorted(names)} or a keras Loss, got {loss!r}")
        return names[loss](reduction=None)
    if isinstance(loss, keras.losses.Loss):
        return type(loss).from_config({**loss.get_config(), "reduction": None})
    raise ValueError(f"loss must be a name or a keras.losses.Loss, got {type(loss).__name__}")


def weights_digest(model) -> str:
    """A short fingerprint of a model's weights (workers that trained together share it)."""
    h = hashlib.sha256()
    for w in model.get_weights():
        h.update(w.astype("float32").round(5).tobytes())
    return h.hexdigest()[:16]


# --------------------------------------------------------------------------- local cluster


def free_ports(n: int) -> list[int]:
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def tf_configs(workers: int) -> list[dict]:
    """One TF_CONFIG per local worker, on loopback ports."""
    hosts = [f"localhost:{p}" for p in free_ports(workers)]
    return [
        {"cluster": {"worker": hosts}, "task": {"type": "worker", "index": i}}
        for i in range(workers)
    ]


def launch(script: Path, workers: int, args: list[str], out_dir: Path, timeout: float = 900):
    """Run `script` as `workers` local workers; return [(returncode, output)] per worker."""
    if workers < 2:
        raise ValueError(f"a cluster needs at least 2 workers, got {workers}")
    procs = []
    for i, config in enumerate(tf_configs(workers)):
        env = dict(os.environ, TF_CONFIG=json.dumps(config))
        worker_out = out_dir / f"worker-{i}"
        log = open(out_dir / f"worker-{i}.log", "w")  # noqa: SIM115 - closed below
        procs.append(
            (
                subprocess.Popen(
                    [sys.executable, str(script), *args, "--out-dir", str(worker_out)],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                ),
                log,
            )
        )
    results = []
    deadline = time.monotonic() + timeout
    for proc, log in procs:
        try:
            proc.wait(timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        results.append((proc.returncode, Path(log.name).read_text(errors="replace")))
    return results
