"""Devices, precision and distribution strategy: the one place lessons ask, on every backend.

CPU only is a normal answer here, never a warning: most laptops have no GPU.
Nothing is imported until a function needs it, so `import workshop.gpu` is
free. Under TensorFlow the strategy is `tf.distribute`'s; under JAX, several
GPUs train with `keras.distribution.DataParallel`; under PyTorch one device
trains (Keras's own `fit` has no multi-device path there). Which backend
runs, and the devices each one sees: `workshop.backend`.

The device layer's modules import in one direction: gpu -> distributed -> backend.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass, field

from workshop import backend, distributed
from workshop.backend import DeviceInfo

__all__ = ["DeviceInfo", "DeviceReport", "list_devices", "setup", "strategy", "time_matmul"]

PRECISIONS = (None, "float32", "mixed_float16", "mixed_bfloat16")


def _tf():
    """TensorFlow, imported quietly (kept for the lessons that still call it)."""
    return backend.tf()


@dataclass
class DeviceReport:
    """What `setup()` found and did; printable."""

    devices: list[DeviceInfo]
    precision: str
    jit: bool | None
    strategy: str
    backend: str
    backend_version: str | None
    keras: str
    notes: list[str] = field(default_factory=list)

    @property
    def gpus(self) -> list[DeviceInfo]:
        return [d for d in self.devices if d.kind == "GPU"]

    def __str__(self) -> str:
        lines = [f"Keras {self.keras} on {self.backend} {self.backend_version}"]
        for d in self.devices:
            mem = f", {d.memory_mb:,} MB" if d.memory_mb else ""
            desc = f" ({d.description})" if d.description else ""
            lines.append(f"  {d.kind:<3} {d.short_name}{desc}{mem}")
        if not self.gpus:
            lines.append("  no GPU: everything runs on the CPU (normal on a laptop)")
        lines.append(f"precision policy: {self.precision}")
        lines.append(f"XLA jit: {'default' if self.jit is None else ('on' if self.jit else 'off')}")
        lines.append(f"distribution strategy: {self.strategy}")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def physical_devices(kind: str | None = None) -> list:
    """`tf.config.list_physical_devices` (TensorFlow only), its first-call CUDA chatter filtered."""
    from workshop import quiet

    tf = backend.tf()
    with quiet.during():
        return tf.config.list_physical_devices(kind)


def list_devices() -> list[DeviceInfo]:
    """Every CPU and GPU the running backend sees, CPUs first."""
    return backend.devices()


def pick_strategy(
    gpu_names: list[str], tf_config: str | None = None, backend_name: str = "tensorflow"
) -> str:
    """Which strategy fits: 'multi_worker', 'mirrored', 'data_parallel' or 'default'.

    TensorFlow: 'multi_worker' when TF_CONFIG describes a cluster with more
    than one worker; 'mirrored' with two or more local GPUs. JAX:
    'data_parallel' (keras.distribution) with two or more GPUs; TF_CONFIG is
    TensorFlow's and ignored. PyTorch: always 'default'. 'default' otherwise
    (CPU or one GPU, where a strategy would only add overhead).
    """
    backend.check_name(backend_name)
    if backend_name == "tensorflow" and tf_config:
        try:
            cluster = json.loads(tf_config).get("cluster", {})
        except (json.JSONDecodeError, AttributeError) as exc:
            raise ValueError(
                f"TF_CONFIG must be JSON with a 'cluster' key, got {tf_config!r}"
            ) from exc
        workers = len(cluster.get("worker", [])) + len(cluster.get("chief", []))
        if workers > 1:
            return "multi_worker"
    if len(gpu_names) < 2:
        return "default"
    return {"tensorflow": "mirrored", "jax": "data_parallel", "torch": "default"}[backend_name]


class OneDevice:
    """The strategy on one device (or under PyTorch): `scope()` changes nothing."""

    num_replicas_in_sync = 1

    def scope(self):
        return contextlib.nullcontext()

    def __repr__(self) -> str:
        return f"OneDevice({backend.name()})"


def strategy():
    """The distribution strategy for this machine (see `pick_strategy`), on every backend.

    Build and compile models inside `with strategy().scope():` and the same
    lesson runs on a laptop, one GPU, several GPUs, or several machines.
    TensorFlow: a `tf.distribute` strategy (a cluster's is made at start-up
    by workshop.distributed, which also trains there with a custom step).
    JAX: `keras.distribution.DataParallel` over the GPUs when there are
    several (set for the whole process, so `fit` splits every batch), else
    `OneDevice`. PyTorch: `OneDevice`.
    """
    name = backend.name()
    if name != "tensorflow":
        gpus = [d.short_name for d in list_devices() if d.kind == "GPU"]
        if pick_strategy(gpus, None, name) == "data_parallel":
            return distributed.data_parallel([g.lower() for g in gpus])
        return OneDevice()
    made = distributed.init()  # first: a cluster's strategy must exist before any operation
    if made is not None:
        return made
    tf = backend.tf()
    gpus = [d.name for d in tf.config.list_logical_devices("GPU")]
    kind = pick_strategy(gpus, os.environ.get("TF_CONFIG"))
    if kind == "mirrored":
        return tf.distribute.MirroredStrategy(devices=gpus)
    return tf.distribute.get_strategy()


def setup(precision: str | None = None, jit: bool | None = None) -> DeviceReport:
    """Call once at the start of a lesson: memory growth, precision, XLA; returns a report.

    precision: None (leave as is), 'float32', 'mixed_float16' (NVIDIA GPUs) or
    'mixed_bfloat16' (recent GPUs and CPUs). jit: None leaves XLA as the
    backend's default; True or False forces TensorFlow's on or off (JAX
    compiles every training step with XLA anyway; under PyTorch pass
    `jit_compile=True` to `compile`).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if jit not in (None, True, False):
        raise ValueError(f"jit must be None, True or False, got {jit!r}")
    name = backend.name()
    notes = []
    if name == "jax" and not backend.limit_jax_preallocation():
        notes.append("JAX had started already: its GPU memory preallocation left as it was")
    import keras

    if name == "tensorflow":
        tf = backend.tf()
        for gpu in physical_devices("GPU"):
            try:
                tf.config.experimental.set_memory_growth(gpu, True)
            except RuntimeError:
                notes.append("GPUs were already initialised: memory growth left as it was")
        if jit is not None:
            tf.config.optimizer.set_jit(jit)
    elif jit is not None:
        notes.append(
            f"jit: under {name}, pass jit_compile={jit} to model.compile "
            "(JAX compiles every step with XLA by default; PyTorch does not)"
        )
    devices = list_devices()
    gpus = [d.short_name for d in devices if d.kind == "GPU"]
    if precision is not None:
        keras.mixed_precision.set_global_policy(precision)
        if precision == "mixed_float16" and not gpus:
            notes.append("mixed_float16 on a CPU is slower than float32: use it on a GPU")
    return DeviceReport(
        devices=devices,
        precision=keras.mixed_precision.global_policy().name,
        jit=jit,
        strategy=pick_strategy(gpus, os.environ.get("TF_CONFIG"), name),
        backend=name,
        backend_version=backend.version(name),
        keras=keras.__version__,
        notes=notes,
    )


def time_matmul(n: int, device: str = "CPU:0", repeats: int = 10) -> float:
    """Mean seconds for one (n, n) @ (n, n) float32 product on `device`, after a warm-up.

    `keras.device` places the work on every backend; `convert_to_numpy` on
    the last product waits for the device (GPUs run asynchronously).
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive integer, got {repeats!r}")
    known = {d.short_name for d in list_devices()}
    short = str(device).split("device:")[-1].lstrip("/").upper()
    if short not in known:
        raise ValueError(f"device must be one of {sorted(known)}, got {device!r}")
    import keras
    from keras import ops

    with keras.device(short.lower()):
        a = keras.random.uniform((n, n), dtype="float32")
        b = keras.random.uniform((n, n), dtype="float32")
        ops.convert_to_numpy(ops.matmul(a, b))  # warm-up: kernel selection, allocation
        start = time.perf_counter()
        for _ in range(repeats):
            c = ops.matmul(a, b)
        ops.convert_to_numpy(c)  # wait for the device to finish
        return (time.perf_counter() - start) / repeats
