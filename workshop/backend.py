"""Which Keras backend runs (TensorFlow, JAX or PyTorch), its version, and the devices it sees.

Keras 3 runs the same model code on three backends; `KERAS_BACKEND` picks
one before Keras is imported (`workshop --backend NAME ...` sets it).
TensorFlow is the default and what the decks teach. This module is the
bottom of the device layer: `workshop.gpu` and `workshop.distributed` ask it,
it asks neither. Nothing here imports a backend until a function needs it,
and nothing fails on a machine without a GPU.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

NAMES = ("tensorflow", "jax", "torch")
DEFAULT = "tensorflow"
#: What to install when a backend is missing (torch: the CPU wheel; the CUDA one is GBs).
INSTALL = {
    "tensorflow": 'pip install "tensorflow==2.21.0"',
    "jax": 'pip install "jax[cpu]==0.10.2"',
    "torch": 'pip install "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu',
}


def check_name(value) -> str:
    """`value` if it names a backend Keras 3 runs on; ValueError otherwise."""
    if value not in NAMES:
        raise ValueError(f"the Keras backend must be one of {list(NAMES)}, got {value!r}")
    return value


def _configured() -> str:
    """What Keras will pick when imported: $KERAS_BACKEND, else keras.json, else TensorFlow."""
    chosen = os.environ.get("KERAS_BACKEND")
    if chosen:
        return chosen
    home = os.environ.get("KERAS_HOME") or str(Path.home() / ".keras")
    try:
        return json.loads((Path(home) / "keras.json").read_text()).get("backend") or DEFAULT
    except (OSError, ValueError, AttributeError):
        return DEFAULT


def name() -> str:
    """The backend Keras runs on (or will, once imported); never imports Keras itself."""
    keras = sys.modules.get("keras")
    if keras is not None and hasattr(keras, "backend"):
        return keras.backend.backend()
    return _configured()


def is_tensorflow() -> bool:
    return name() == "tensorflow"


def installed(backend: str) -> bool:
    """Whether the backend's package can be imported here (found, not imported)."""
    return importlib.util.find_spec(check_name(backend)) is not None


def version(backend: str | None = None) -> str | None:
    """The installed version of a backend's package (default: the one running); None if absent."""
    backend = check_name(backend or name())
    try:
        return importlib.metadata.version(backend)
    except importlib.metadata.PackageNotFoundError:
        return None


def choose(backend: str) -> str:
    """Run Keras on `backend` in this process and the processes it starts (sets KERAS_BACKEND).

    Must come before Keras is imported: Keras reads the variable once. A
    backend that is not installed is a ValueError that says how to install it.
    """
    backend = check_name(backend)
    keras = sys.modules.get("keras")
    if keras is not None and hasattr(keras, "backend") and keras.backend.backend() != backend:
        raise ValueError(
            f"Keras was already imported on {keras.backend.backend()}; choose the backend "
            f"({backend}) before anything imports keras"
        )
    if not installed(backend):
        raise ValueError(f"the {backend} backend is not installed here: {INSTALL[backend]}")
    os.environ["KERAS_BACKEND"] = backend
    return backend


def tf():
    """TensorFlow, imported quietly (its C++ start-up log is filtered: see workshop.quiet)."""
    import tensorflow

    return tensorflow


def tensorflow_only(what: str) -> bool:
    """True under TensorFlow; otherwise say in one line that `what` is skipped, and False.

    For the parts of a lesson that only TensorFlow has (tf.distribute, TFDS):
    `if backend.tensorflow_only("TFDS's copy of Fashion-MNIST"): ...`.
    """
    if is_tensorflow():
        return True
    print(f"{what}: TensorFlow only, skipped under the {name()} backend.", flush=True)
    return False


# --------------------------------------------------------------------------- devices


@dataclass(frozen=True)
class DeviceInfo:
    """One device the backend can place work on."""

    name: str  # the backend's own name: "/physical_device:GPU:0", "cuda:0", "cpu:0"
    kind: str  # "CPU" or "GPU"
    memory_mb: int | None = None  # total memory where known
    description: str = ""  # e.g. "NVIDIA H200, compute capability 9.0"

    @property
    def short_name(self) -> str:
        """The kind and index, "CPU:0" or "GPU:1": what `keras.device` takes (lower case) on every backend."""
        tail = self.name.split("device:")[-1]
        _, _, index = tail.rpartition(":")
        return f"{self.kind}:{index if index.isdigit() else 0}"


def cpu_memory_mb() -> int | None:
    try:
        import psutil

        return int(psutil.virtual_memory().total // 2**20)
    except ImportError:  # pragma: no cover - psutil is in requirements.txt
        return None


def _cpu(name: str) -> DeviceInfo:
    return DeviceInfo(name, "CPU", cpu_memory_mb(), f"{os.cpu_count()} cores")


def devices(backend: str | None = None) -> list[DeviceInfo]:
    """Every CPU and GPU the backend sees, CPUs first (imports that backend)."""
    backend = check_name(backend or name())
    found = {"tensorflow": _tf_devices, "jax": _jax_devices, "torch": _torch_devices}[backend]()
    return sorted(found, key=lambda d: (d.kind != "CPU", d.short_name))


def _tf_devices() -> list[DeviceInfo]:
    from workshop import quiet

    tensorflow = tf()
    with quiet.during():  # the first look is where CUDA reports a missing GPU
        physical = tensorflow.config.list_physical_devices()
    found = []
    for dev in physical:
        if dev.device_type == "CPU":
            found.append(_cpu(dev.name))
        elif dev.device_type == "GPU":
            found.append(DeviceInfo(dev.name, "GPU", None, _tf_gpu_details(tensorflow, dev)))
    return found


def _tf_gpu_details(tensorflow, device) -> str:
    try:
        details = tensorflow.config.experimental.get_device_details(device)
    except Exception:  # details are a nicety; some drivers refuse
        return ""
    text = details.get("device_name", "")
    cc = details.get("compute_capability")
    return text + (f", compute capability {cc[0]}.{cc[1]}" if cc else "")


def _jax_devices() -> list[DeviceInfo]:
    import jax

    found = [_cpu(f"cpu:{i}") for i, _ in enumerate(jax.devices("cpu"))]
    try:
        accelerators = jax.devices("gpu")
    except RuntimeError:  # no GPU backend: CPU only, the normal answer on a laptop
        accelerators = []
    for i, dev in enumerate(accelerators):
        limit = None
        with contextlib.suppress(Exception):  # memory stats are a nicety
            limit = int((dev.memory_stats() or {}).get("bytes_limit", 0) // 2**20) or None
        found.append(DeviceInfo(f"gpu:{i}", "GPU", limit, f"{dev.device_kind} ({dev.platform})"))
    return found


def _torch_devices() -> list[DeviceInfo]:
    import torch

    found = [_cpu("cpu:0")]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            desc = f"{props.name}, compute capability {props.major}.{props.minor}"
            found.append(DeviceInfo(f"cuda:{i}", "GPU", props.total_memory // 2**20, desc))
    return found


def limit_jax_preallocation() -> bool:
    """JAX's memory growth: ask it not to take 75 % of the GPU at start (before it starts).

    Returns False when JAX's runtime had started already (too late to change).
    """
    started = False
    xb = sys.modules.get("jax._src.xla_bridge")
    if xb is not None:
        started = bool(getattr(xb, "_backends", None))
    if not started:
        os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    return not started or os.environ.get("XLA_PYTHON_CLIENT_PREALLOCATE") == "false"


def describe() -> str:
    """One line: the backend, its version and Keras's, e.g. "jax 0.10.2 (Keras 3.15.1)"."""
    keras_version = None
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        keras_version = importlib.metadata.version("keras")
    return f"{name()} {version() or '(not installed)'} (Keras {keras_version})"
