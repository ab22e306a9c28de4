"""TensorBoard: lessons write logs TensorBoard reads, and `workshop tensorboard` serves them."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request

import numpy as np

from workshop import distributed, lesson


def _train_with_logs(out):
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input(shape=(6, 6, 1)),
            keras.layers.Conv2D(2, 3, name="c"),
            keras.layers.Flatten(),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).random((32, 6, 6, 1), dtype=np.float32)
    y = (x.mean(axis=(1, 2, 3)) > 0.5).astype("int32")

    def maps(m):
        sub = keras.Model(m.inputs[0], m.get_layer("c").output)
        return lesson.as_images(sub(x[:1])[0].numpy())

    model.fit(
        x,
        y,
        epochs=3,
        verbose=0,
        validation_split=0.25,
        callbacks=lesson.tensorboard(out, histograms=True, images={"maps": maps}),
    )


def _tags(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder), size_guidance={"tensors": 0, "images": 0})
    acc.Reload()
    return acc.Tags()


def test_lessons_write_logs_tensorboard_reads(tmp_path):
    _train_with_logs(tmp_path)
    train = _tags(tmp_path / "logs" / "train")
    assert "epoch_loss" in train["tensors"] and "epoch_accuracy" in train["tensors"], train
    assert any("histogram" in t or "kernel" in t for t in train["tensors"]), "weight histograms"
    assert "epoch_loss" in _tags(tmp_path / "logs" / "validation")["tensors"]
    assert "maps" in _tags(tmp_path / "logs" / "images")["tensors"], "the images tab"


def test_workshop_tensorboard_serves_them_on_localhost(tmp_path):
    _train_with_logs(tmp_path)
    port = distributed.free_ports(1)[0]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "workshop",
            "tensorboard",
            "--logdir",
            str(tmp_path / "logs"),
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        runs, deadline = None, time.time() + 90
        while time.time() < deadline and runs is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/data/runs", timeout=5) as r:
                    runs = json.loads(r.read())
            except OSError:
                time.sleep(1)
        assert runs is not None, "TensorBoard did not answer on localhost"
        assert {"train", "validation"} <= set(runs), runs
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    # The server went with the command (it used to outlive it, holding the port).
    deadline = time.time() + 20
    while time.time() < deadline and _servers(tmp_path):
        time.sleep(0.5)
    assert not _servers(tmp_path), "TensorBoard outlived `workshop tensorboard`"


def _servers(tmp_path):
    import psutil

    found = []
    for p in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(p.info["cmdline"] or [])
        if "tensorboard" in cmdline and str(tmp_path) in cmdline:
            found.append(p.pid)
    return found
