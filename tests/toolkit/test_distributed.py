"""Training on several devices and machines: what the README promises, run for real on loopback.

TensorFlow: MirroredStrategy on two logical CPUs, MultiWorkerMirroredStrategy
on two local workers. JAX: keras.distribution.DataParallel on two CPU devices
(XLA_FLAGS=--xla_force_host_platform_device_count=2).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from workshop import ROOT, distributed


def _python(code: str, timeout: float = 300, **env) -> subprocess.CompletedProcess:
    env.setdefault("KERAS_BACKEND", "tensorflow")
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **env},
        cwd=ROOT,
    )


def test_two_local_workers_train_lenet_to_the_same_weights(tmp_path):
    out = tmp_path / "cluster"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "workshop",
            "cluster",
            "--workers",
            "2",
            "6",
            "--solution",
            "--quick",
            "--offline",
            "--out-dir",
            str(out),
            "--timeout",
            "400",
        ],
        capture_output=True,
        text=True,
        timeout=450,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "all workers ended with the same weights" in done.stdout
    metrics = [json.loads((out / f"worker-{i}" / "metrics.json").read_text()) for i in (0, 1)]
    assert metrics[0]["weights_sha256"] == metrics[1]["weights_sha256"]
    assert metrics[0]["final_loss"] < 0.8 * metrics[0]["first_loss"], metrics[0]
    log = (out / "worker-1.log").read_text()
    assert "[worker 1] epoch" in log, "worker 1 trained (its own log)"


def test_mirrored_strategy_runs_plain_fit_on_two_local_devices():
    done = _python(
        """
        import numpy as np
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2
        )
        import keras
        strategy = tf.distribute.MirroredStrategy(["CPU:0", "CPU:1"])
        assert strategy.num_replicas_in_sync == 2
        with strategy.scope():
            model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3, activation="softmax")])
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        rng = np.random.default_rng(0)
        x = rng.normal(size=(256, 4)).astype("float32")
        y = (x[:, 0] > 0).astype("int32") + (x[:, 1] > 0)
        history = model.fit(x, y, batch_size=32, epochs=4, verbose=0)
        print("LOSSES", history.history["loss"])
        assert history.history["loss"][-1] < history.history["loss"][0]
        """
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "LOSSES" in done.stdout


def test_asking_for_the_cluster_strategy_too_late_is_explained():
    config = json.dumps(distributed.tf_configs(2)[0])
    done = _python(
        """
        import tensorflow as tf
        tf.config.list_logical_devices()  # TensorFlow has started: too late
        from workshop import distributed
        try:
            distributed.init()
        except distributed.TooLate as exc:
            print("TOO LATE:", exc)
        """,
        TF_CONFIG=config,
    )
    assert "TOO LATE:" in done.stdout and "workshop.distributed.init()" in done.stdout, (
        done.stdout + done.stderr[-2000:]
    )


@pytest.mark.parametrize(
    "value, workers",
    [
        ('{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"index": 1}}', 2),
        ('{"cluster": {"worker": ["a:1"]}, "task": {"index": 0}}', None),
    ],
)
def test_tf_config_is_read(value, workers, monkeypatch):
    monkeypatch.setenv("TF_CONFIG", value)
    found = distributed.cluster()
    assert (found is not None) == (workers is not None)


def test_a_bad_tf_config_says_what_was_expected(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", "workers: 2")
    with pytest.raises(ValueError, match="TF_CONFIG must be JSON"):
        distributed.cluster()


def test_data_parallel_under_jax_splits_batches_over_two_devices_and_matches_one():
    done = _python(
        """
        import numpy as np
        import jax, keras
        from workshop import distributed

        rng = np.random.default_rng(0)
        x = rng.normal(size=(256, 4)).astype("float32")
        y = (x[:, 0] > 0).astype("int32") + (x[:, 1] > 0)

        def train():
            keras.utils.set_random_seed(0)
            model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
            model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
            history = model.fit(x, y, batch_size=64, epochs=3, shuffle=False, verbose=0)
            return model, history.history["loss"]

        alone, _ = train()
        made = distributed.data_parallel()
        print("MESH", sorted(str(d) for d in made.device_mesh.devices.ravel()))
        together, losses = train()
        print("REPLICAS", len(together.layers[0].kernel.value.sharding.device_set))
        pairs = zip(alone.get_weights(), together.get_weights())
        print("GAP", max(float(np.abs(a - b).max()) for a, b in pairs))
        print("LOSSES", losses)
        try:
            distributed.data_parallel(["gpu:7"])
        except ValueError as exc:
            print("BAD", exc)
        """,
        KERAS_BACKEND="jax",
        XLA_FLAGS="--xla_force_host_platform_device_count=2",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = {
        ln.split(" ", 1)[0]: ln.split(" ", 1)[1] for ln in done.stdout.splitlines() if " " in ln
    }
    assert lines["MESH"] == "['cpu:0', 'cpu:1']", done.stdout
    assert lines["REPLICAS"] == "2", "each variable lives on both devices"
    assert float(lines["GAP"]) < 1e-5, "the split batch's averaged gradient is the whole batch's"
    losses = json.loads(lines["LOSSES"])
    assert losses[-1] < losses[0], losses
    assert "devices must be a non-empty list from ['cpu:0', 'cpu:1']" in lines["BAD"]


def test_data_parallel_is_jax_only(monkeypatch):
    from workshop import backend

    monkeypatch.setattr(backend, "name", lambda: "tensorflow")
    with pytest.raises(ValueError, match="runs under the jax backend; this is tensorflow"):
        distributed.data_parallel()
