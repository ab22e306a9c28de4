"""Devices, precision and distribution strategy: the one place lessons ask.

CPU only is a normal answer here, never a warning: most laptops have no GPU.
TensorFlow is imported inside the functions, so `import workshop.gpu` is free.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field

PRECISIONS = (None, "float32", "mixed_float16", "mixed_bfloat16")


def _tf():
    """Import TensorFlow quietly (its C++ start-up log scares beginners; see workshop.quiet)."""
    import tensorflow as tf

    return tf


@dataclass(frozen=True)
class DeviceInfo:
    """One device TensorFlow can place work on."""

    name: str  # e.g. "/physical_device:GPU:0"
    kind: str  # "CPU" or "GPU"
    memory_mb: int | None = None  # total memory where known
    description: str = ""  # e.g. "NVIDIA H100, compute capability 9.0"

    @property
    def short_name(self) -> str:
        """The name `tf.device` takes: "CPU:0", "GPU:1"."""
        return self.name.split("device:")[-1]


@dataclass
class DeviceReport:
    """What `setup()` found and did; printable."""

    devices: list[DeviceInfo]
    precision: str
    jit: bool | None
    strategy: str
    tensorflow: str
    keras: str
    notes: list[str] = field(default_factory=list)

    @property
    def gpus(self) -> list[DeviceInfo]:
        return [d for d in self.devices if d.kind == "GPU"]

    def __str__(self) -> str:
        lines = [f"TensorFlow {self.tensorflow}, Keras {self.keras}"]
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


def _gpu_details(tf, device) -> tuple[str, int | None]:
    try:
        details = tf.config.experimental.get_device_details(device)
    except Exception:  # details are a nicety; some drivers refuse
        return "", None
    name = details.get("device_name", "")
    cc = details.get("compute_capability")
    if cc:
        name += f", compute capability {cc[0]}.{cc[1]}"
    return name, None


def physical_devices(kind: str | None = None) -> list:
    """`tf.config.list_physical_devices`, with its first-call CUDA chatter filtered."""
    from workshop import quiet

    tf = _tf()
    with quiet.during():
        return tf.config.list_physical_devices(kind)


def list_devices() -> list[DeviceInfo]:
    """Every physical CPU and GPU TensorFlow sees, CPUs first."""
    tf = _tf()
    devices = []
    for dev in physical_devices():
        if dev.device_type not in ("CPU", "GPU"):
            continue
        if dev.device_type == "GPU":
            desc, mem = _gpu_details(tf, dev)
        else:
            desc, mem = f"{os.cpu_count()} cores", _cpu_memory_mb()
        devices.append(DeviceInfo(dev.name, dev.device_type, mem, desc))
    return sorted(devices, key=lambda d: (d.kind != "CPU", d.name))


def _cpu_memory_mb() -> int | None:
    try:
        import psutil

        return int(psutil.virtual_memory().total // 2**20)
    except ImportError:  # pragma: no cover - psutil is in requirements.txt
        return None


def pick_strategy(gpu_names: list[str], tf_config: str | None = None) -> str:
    """Which strategy fits: 'multi_worker', 'mirrored' or 'default'.

    'multi_worker' when TF_CONFIG describes a cluster with more than one
    worker; 'mirrored' with two or more local GPUs; 'default' otherwise (CPU or
    one GPU, where a strategy would only add overhead).
    """
    if tf_config:
        try:
            cluster = json.loads(tf_config).get("cluster", {})
        except (json.JSONDecodeError, AttributeError) as exc:
            raise ValueError(
                f"TF_CONFIG must be JSON with a 'cluster' key, got {tf_config!r}"
            ) from exc
        workers = len(cluster.get("worker", [])) + len(cluster.get("chief", []))
        if workers > 1:
            return "multi_worker"
    return "mirrored" if len(gpu_names) > 1 else "default"


def strategy():
    """The `tf.distribute` strategy for this machine (see `pick_strategy`).

    Build and compile models inside `with strategy().scope():` and the same
    lesson runs on a laptop, one GPU, several GPUs, or several machines
    (TF_CONFIG on each worker; see workshop.distributed, which creates that
    strategy at start-up and trains with a custom step there).
    """
    from workshop import distributed

    made = distributed.init()  # first: a cluster's strategy must exist before any operation
    if made is not None:
        return made
    tf = _tf()
    gpus = [d.name for d in tf.config.list_logical_devices("GPU")]
    kind = pick_strategy(gpus, os.environ.get("TF_CONFIG"))
    if kind == "mirrored":
        return tf.distribute.MirroredStrategy(devices=gpus)
    return tf.distribute.get_strategy()


def setup(precision: str | None = None, jit: bool | None = None) -> DeviceReport:
    """Call once at the start of a lesson: memory growth, precision, XLA; returns a report.

    precision: None (leave as is), 'float32', 'mixed_float16' (NVIDIA GPUs) or
    'mixed_bfloat16' (recent GPUs and CPUs). jit: None leaves XLA as
    TensorFlow's default; True or False forces it on or off.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if jit not in (None, True, False):
        raise ValueError(f"jit must be None, True or False, got {jit!r}")
    tf = _tf()
    import keras

    notes = []
    for gpu in physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:
            notes.append("GPUs were already initialised: memory growth left as it was")
    devices = list_devices()
    has_gpu = any(d.kind == "GPU" for d in devices)
    if precision is not None:
        keras.mixed_precision.set_global_policy(precision)
        if precision == "mixed_float16" and not has_gpu:
            notes.append("mixed_float16 on a CPU is slower than float32: use it on a GPU")
    if jit is not None:
        tf.config.optimizer.set_jit(jit)
    gpus = [d.name for d in devices if d.kind == "GPU"]
    return DeviceReport(
        devices=devices,
        precision=keras.mixed_precision.global_policy().name,
        jit=jit,
        strategy=pick_strategy(gpus, os.environ.get("TF_CONFIG")),
        tensorflow=tf.__version__,
        keras=keras.__version__,
        notes=notes,
    )


def time_matmul(n: int, device: str = "CPU:0", repeats: int = 10) -> float:
    """Mean seconds for one (n, n) @ (n, n) float32 product on `device`, after a warm-up."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive integer, got {repeats!r}")
    tf = _tf()
    known = {d.name.split("device:")[-1] for d in tf.config.list_logical_devices()}
    short = device.split("device:")[-1].lstrip("/").upper()
    if short not in known:
        raise ValueError(f"device must be one of {sorted(known)}, got {device!r}")
    with tf.device(short):
        a = tf.random.uniform((n, n), dtype=tf.float32)
        b = tf.random.uniform((n, n), dtype=tf.float32)
        tf.matmul(a, b).numpy()  # warm-up: kernel selection, allocation
        start = time.perf_counter()
        for _ in range(repeats):
            c = tf.matmul(a, b)
        c.numpy()  # wait for the device to finish
        return (time.perf_counter() - start) / repeats
