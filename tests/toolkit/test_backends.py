"""Keras 3 on every backend: choosing it, seeing it, and the helper layer running on each.

TensorFlow and JAX are in requirements.txt; PyTorch is optional (its wheel is
large): its cases skip, saying so, where it is not installed. Each backend
runs in a process of its own (Keras picks its backend once, at import).
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from workshop import ROOT, backend, pipeline

from .conftest import project_env

TORCH = pytest.mark.skipif(
    not backend.installed("torch"),
    reason="PyTorch is optional and not installed here (pip install torch==2.13.0, CPU build)",
)
BACKENDS = [
    "tensorflow",
    "jax",
    pytest.param("torch", marks=TORCH),
]


def _python(code: str, keras_backend: str, timeout: float = 300, **env):
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "KERAS_BACKEND": keras_backend, **env},
        cwd=ROOT,
    )


# --------------------------------------------------------------------------- choosing


def test_the_backend_comes_from_the_variable_then_keras_json(monkeypatch, tmp_path):
    monkeypatch.delitem(sys.modules, "keras", raising=False)  # as before Keras is imported
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    assert backend.name() == "tensorflow", "nothing configured: Keras's default"
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "jax"}))
    assert backend.name() == "jax", "keras.json, as Keras itself reads it"
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    assert backend.name() == "torch", "the variable wins over keras.json"


def test_choose_sets_the_variable_and_refuses_what_cannot_work(monkeypatch):
    monkeypatch.delitem(sys.modules, "keras", raising=False)
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    assert backend.choose("jax") == "jax" and os.environ["KERAS_BACKEND"] == "jax"
    with pytest.raises(ValueError, match=r"must be one of \['tensorflow', 'jax', 'torch'\]"):
        backend.choose("theano")
    monkeypatch.setattr(backend, "installed", lambda name: name != "torch")
    with pytest.raises(ValueError, match="torch backend is not installed here: pip install"):
        backend.choose("torch")


def test_choosing_after_keras_was_imported_is_refused(monkeypatch):
    fake = type(sys)("keras")
    fake.backend = type(sys)("keras.backend")
    fake.backend.backend = lambda: "tensorflow"
    monkeypatch.setitem(sys.modules, "keras", fake)
    assert backend.name() == "tensorflow", "once imported, Keras's own answer"
    with pytest.raises(ValueError, match="already imported on tensorflow"):
        backend.choose("jax")


def test_versions_are_the_installed_packages():
    for name in ("tensorflow", "jax"):
        assert backend.version(name) == importlib.metadata.version(name)
    if not backend.installed("torch"):
        assert backend.version("torch") is None


def test_device_short_names_are_what_keras_device_takes():
    info = backend.DeviceInfo
    assert info("/physical_device:GPU:1", "GPU").short_name == "GPU:1"  # TensorFlow
    assert info("gpu:0", "GPU").short_name == "GPU:0"  # JAX
    assert info("cuda:2", "GPU").short_name == "GPU:2"  # PyTorch
    assert info("cpu:0", "CPU").short_name == "CPU:0"


def test_the_device_layer_imports_in_one_direction():
    """gpu -> distributed -> backend: no cycle (each module's own imports, read from its source)."""

    def imported(module: str) -> set[str]:
        tree = ast.parse((ROOT / "workshop" / f"{module}.py").read_text())
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                names |= {f"{node.module}.{a.name}" for a in node.names} | {node.module}
            elif isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
        return {n.split(".")[1] for n in names if n.startswith("workshop.")}

    assert "gpu" not in imported("distributed"), "distributed must not import gpu"
    assert not {"gpu", "distributed"} & imported("backend"), "backend is the bottom"
    assert {"distributed", "backend"} <= imported("gpu")


# --------------------------------------------------------------------------- every backend


@pytest.mark.parametrize("name", BACKENDS)
def test_the_helper_layer_runs_on_each_backend(name):
    # The GPU machine has JAX and PyTorch but no TensorFlow: off TensorFlow, the
    # run hides it (`import tensorflow` fails, as there) and the layer must not need it.
    hide = "sys.modules['tensorflow'] = None" if name != "tensorflow" else ""
    done = _python(
        f"""
        import json, sys
        {hide}
        import numpy as np
        from workshop import gpu, pipeline, repro
        report = gpu.setup()
        repro.seed_everything(0)
        import keras
        rng = np.random.default_rng(0)
        x = rng.normal(size=(256, 4)).astype("float32")
        y = (x[:, 0] > 0).astype("int32")
        with gpu.strategy().scope():
            model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
            model.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy")
        train = pipeline.to_dataset(x, y, 32, shuffle=True)
        history = model.fit(train, epochs=5, verbose=0).history["loss"]
        probs = model.predict(pipeline.to_dataset(x, batch_size=64), verbose=0)
        print(json.dumps({{
            "backend": report.backend, "version": report.backend_version,
            "devices": [d.short_name for d in report.devices], "text": str(report),
            "seconds": gpu.time_matmul(32, "CPU:0", repeats=2),
            "feed": type(train).__name__, "loss": history, "predicted": list(probs.shape),
        }}))
        """,
        name,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["backend"] == name and got["version"] == backend.version(name)
    assert f"on {name} {got['version']}" in got["text"], got["text"]
    assert "CPU:0" in got["devices"] and 0 < got["seconds"] < 10
    assert got["feed"] == ("_PrefetchDataset" if name == "tensorflow" else "ArrayBatches")
    assert got["loss"][-1] < 0.8 * got["loss"][0], got["loss"]
    assert got["predicted"] == [256, 2]


@pytest.mark.parametrize("name", ["jax", pytest.param("torch", marks=TORCH)])
def test_a_cluster_is_said_to_be_tensorflows_under_another_backend(name):
    config = json.dumps({"cluster": {"worker": ["a:1", "b:2"]}, "task": {"index": 0}})
    done = _python(
        """
        import sys
        from workshop import distributed, gpu
        print("MADE", distributed.init(), gpu.strategy(), distributed.init())
        print("TF", "tensorflow" in sys.modules)
        try:
            distributed.fit(None, None, None, 1, 1)
        except ValueError as exc:
            print("FIT", exc)
        """,
        name,
        TF_CONFIG=config,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert out.count("multi-worker training is TensorFlow's") == 1, out  # said once
    assert f"MADE None OneDevice({name}) None" in out and "TF False" in out, out
    assert "FIT workshop.distributed.fit is tf.distribute's training step" in out, out


@pytest.mark.skipif(not backend.installed("torch"), reason="PyTorch is not installed here")
def test_deterministic_ops_under_torch():
    done = _python(
        """
        import keras, torch
        from workshop import repro
        repro.seed_everything(3, deterministic_ops=True)
        print("DET", torch.are_deterministic_algorithms_enabled())
        """,
        "torch",
    )
    assert "DET True" in done.stdout, done.stderr[-2000:]


# --------------------------------------------------------------------------- the feed


def _batches(ds) -> list:
    return [ds[i] for i in range(len(ds))]


def test_array_batches_cover_every_example_once_per_epoch_in_a_new_order():
    make = pipeline._array_batches()
    x = np.arange(10, dtype="float32").reshape(10, 1)
    ds = make(x, np.arange(10), 4, shuffle=True, seed=1, repeat=False, image_shape=None)
    assert len(ds) == 3 and ds.num_batches == 3
    first = _batches(ds)
    assert [len(b[0]) for b in first] == [4, 4, 2]
    order = np.concatenate([b[1] for b in first])
    assert sorted(order) == list(range(10)) and list(order) != list(range(10))
    for xb, yb in first:
        assert np.array_equal(xb[:, 0], yb), "x and y stay paired"
    ds.on_epoch_end()
    again = np.concatenate([b[1] for b in _batches(ds)])
    assert sorted(again) == list(range(10)) and list(again) != list(order), "a new order"
    replay = make(x, np.arange(10), 4, shuffle=True, seed=1, repeat=False, image_shape=None)
    assert list(np.concatenate([b[1] for b in _batches(replay)])) == list(order), "seeded"
    plain = make(x, None, 4, shuffle=False, seed=0, repeat=False, image_shape=None)
    assert np.array_equal(np.concatenate(_batches(plain))[:, 0], np.arange(10))


def test_array_batches_repeat_and_augment():
    make = pipeline._array_batches()
    x = np.zeros((6, 28 * 28), dtype="float32")
    x[:, 14 * 28 + 10 : 14 * 28 + 18] = 1.0  # a bar across the middle
    ds = make(x, np.arange(6), 3, shuffle=True, seed=0, repeat=True, image_shape=(28, 28, 1))
    assert ds.num_batches is None, "endless: fit takes steps_per_epoch"
    seen = np.concatenate([ds[i][1] for i in range(4)])  # two passes of two batches
    assert sorted(seen[:6]) == list(range(6)) and sorted(seen[6:]) == list(range(6))
    assert list(seen[:6]) != list(seen[6:]), "each pass in a new order"
    xb, _ = ds[0]
    assert xb.shape == (3, 784) and xb.dtype == np.float32
    assert not np.array_equal(xb, x[:3]), "shifted and turned"


def test_to_dataset_is_a_pydataset_off_tensorflow(monkeypatch):
    import keras

    monkeypatch.setattr(backend, "is_tensorflow", lambda: False)
    ds = pipeline.to_dataset(np.zeros((5, 2)), np.zeros(5), batch_size=2)
    assert isinstance(ds, keras.utils.PyDataset) and len(ds) == 3
    with pytest.raises(ValueError, match="augment needs images"):
        pipeline.to_dataset(np.zeros((3, 2)), augment=True)


def test_tensorboard_logs_skip_without_tensorflow(monkeypatch, tmp_path, capsys):
    from workshop import lesson

    monkeypatch.setattr(backend, "installed", lambda name: name != "tensorflow")
    assert lesson.tensorboard(tmp_path) == []
    assert "TensorFlow, which is not installed; skipped" in capsys.readouterr().out


# --------------------------------------------------------------------------- the command


def test_workshop_backend_is_seen_by_env_and_recorded_by_check(project):
    env = project_env(project, COLUMNS="200")
    env.pop("KERAS_BACKEND", None)

    def workshop(*args):
        return subprocess.run(
            [sys.executable, "-m", "workshop.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    shown = workshop("--backend", "jax", "env")
    assert f"jax {backend.version('jax')}" in shown.stdout, shown.stdout
    assert "jax sees CPU:0" in shown.stdout, shown.stdout
    assert workshop("--backend", "theano", "env").returncode == 2
    shutil.copy2(
        project / "solutions" / "ex01_perceptron.py", project / "exercises" / "ex01_perceptron.py"
    )
    assert workshop("--backend", "jax", "check", "1").returncode == 0
    rows = {m["module"]: m for m in json.loads(workshop("report").stdout)["modules"]}
    assert rows["ex01_perceptron"]["last_backend"] == "jax"
    assert workshop("check", "1").returncode == 0  # again, on the default backend
    rows = {m["module"]: m for m in json.loads(workshop("report").stdout)["modules"]}
    assert rows["ex01_perceptron"]["last_backend"] == "tensorflow"


def test_check_results_name_their_backend(monkeypatch):
    from workshop.grading import runner

    monkeypatch.delitem(sys.modules, "keras", raising=False)
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    result = runner.CheckResult("ex01_perceptron", runner.PASSED, "ok")
    assert result.backend == "jax" and result.to_dict()["backend"] == "jax"
