"""The GPU layer on a machine without one, and the multi-GPU branches with fake devices.

These run in the test process's backend (TensorFlow unless KERAS_BACKEND
says otherwise); tests/toolkit/test_backends.py runs the layer on each backend.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from workshop import backend, distributed, gpu

tf = gpu._tf()
tensorflow_strategies = pytest.mark.skipif(
    not backend.is_tensorflow(), reason="tf.distribute's strategies: the tensorflow backend's"
)


def test_pick_strategy():
    assert gpu.pick_strategy([]) == "default"
    assert gpu.pick_strategy(["/GPU:0"]) == "default"
    assert gpu.pick_strategy(["/GPU:0", "/GPU:1"]) == "mirrored"
    cluster = json.dumps(
        {"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 0}}
    )
    assert gpu.pick_strategy([], cluster) == "multi_worker"
    with pytest.raises(ValueError, match="TF_CONFIG"):
        gpu.pick_strategy([], "{not json")


def test_pick_strategy_on_the_other_backends():
    cluster = json.dumps({"cluster": {"worker": ["a:1", "b:1"]}})
    assert gpu.pick_strategy(["GPU:0", "GPU:1"], None, "jax") == "data_parallel"
    assert gpu.pick_strategy(["GPU:0"], None, "jax") == "default"
    assert gpu.pick_strategy([], cluster, "jax") == "default", "TF_CONFIG is TensorFlow's"
    assert gpu.pick_strategy(["GPU:0", "GPU:1"], None, "torch") == "default"
    with pytest.raises(ValueError, match="backend must be one of"):
        gpu.pick_strategy([], None, "theano")


def test_jax_with_several_gpus_trains_data_parallel(monkeypatch):
    info = gpu.DeviceInfo
    fakes = [info("cpu:0", "CPU"), info("gpu:0", "GPU"), info("gpu:1", "GPU")]
    monkeypatch.setattr(backend, "name", lambda: "jax")
    monkeypatch.setattr(gpu, "list_devices", lambda: fakes)
    made = {}
    monkeypatch.setattr(distributed, "data_parallel", lambda devices: made.setdefault("d", devices))
    gpu.strategy()
    assert made["d"] == ["gpu:0", "gpu:1"]
    monkeypatch.setattr(gpu, "list_devices", lambda: fakes[:2])
    one = gpu.strategy()
    assert isinstance(one, gpu.OneDevice) and one.num_replicas_in_sync == 1
    with one.scope():  # the lessons' `with strategy().scope():` runs unchanged
        pass


def test_setup_reports_the_cpu():
    report = gpu.setup()
    text = str(report)
    assert any(d.kind == "CPU" for d in report.devices)
    assert "CPU" in text and "precision policy" in text and "strategy" in text
    assert report.backend == backend.name() and f"on {report.backend} " in text
    if not report.gpus:
        assert "no GPU" in text and report.strategy == "default"


def test_setup_rejects_unknown_settings():
    with pytest.raises(ValueError, match="precision must be one of"):
        gpu.setup(precision="float8")
    with pytest.raises(ValueError, match="jit"):
        gpu.setup(jit="yes")


@tensorflow_strategies
def test_default_strategy_on_cpu(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    monkeypatch.setattr(tf.config, "list_logical_devices", lambda kind=None: [])
    assert gpu.strategy() is tf.distribute.get_strategy()


@tensorflow_strategies
def test_mirrored_strategy_with_fake_gpus(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    fakes = [SimpleNamespace(name=f"/device:GPU:{i}") for i in range(2)]
    monkeypatch.setattr(tf.config, "list_logical_devices", lambda kind=None: fakes)
    made = {}
    monkeypatch.setattr(
        tf.distribute, "MirroredStrategy", lambda devices: made.setdefault("d", devices)
    )
    gpu.strategy()
    assert made["d"] == ["/device:GPU:0", "/device:GPU:1"]


def test_time_matmul_on_cpu():
    seconds = gpu.time_matmul(64, "CPU:0", repeats=2)
    assert 0 < seconds < 10
    with pytest.raises(ValueError, match="device must be one of"):
        gpu.time_matmul(8, "GPU:7")
    with pytest.raises(ValueError, match="n must be a positive integer"):
        gpu.time_matmul(0)


def test_mixed_precision_in_one_line():
    import keras

    try:
        report = gpu.setup(precision="mixed_bfloat16")
        assert report.precision == "mixed_bfloat16"
        assert keras.mixed_precision.global_policy().compute_dtype == "bfloat16"
        if not report.gpus:
            report = gpu.setup(precision="mixed_float16")
            assert any("slower" in note for note in report.notes), (
                "on a CPU, say that float16 is slower"
            )
    finally:
        keras.mixed_precision.set_global_policy("float32")
