"""ex14's own tests: bad input refused with what was expected and what came; the few-shot
draw; the ImageNet weights' cache (fetched from a local server, verified, pinned, a damaged
file moved aside: small files made here, never the network); the offline line; the quick
run's result on the stand-in digits."""

from __future__ import annotations

import functools
import http.server
import json
import threading

import numpy as np
import pytest

from workshop import data, plotting
from workshop.grading.loader import load_lesson

WEIGHTS = data.SOURCES[data.PRETRAINED].files[0].name


@pytest.fixture(scope="module")
def ex14():
    return load_lesson("ex14_transfer_learning", "solutions")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache of its own, downloads off unless a test turns them on."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv("WORKSHOP_DATA_DIR", raising=False)
    monkeypatch.delenv("WORKSHOP_MIRROR", raising=False)
    monkeypatch.setenv("WORKSHOP_OFFLINE", "1")
    monkeypatch.setattr(data, "_announced", set())
    return tmp_path / "keras" / "datasets" / data.SOURCES[data.PRETRAINED].folder


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp_path/www (no other network is touched)."""
    www = tmp_path / "www"
    (www / data.SOURCES[data.PRETRAINED].folder).mkdir(parents=True)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *a, **k: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield www / data.SOURCES[data.PRETRAINED].folder, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _images(n, classes=range(10), seed=0):
    rng = np.random.default_rng(seed)
    y = np.resize(np.array(list(classes)), n)
    return rng.random((n, 28, 28, 1)).astype("float32"), y


def test_ex14_rejects_bad_input(ex14):
    import keras

    x, y = _images(20)
    base = ex14.build_feature_extractor()
    maps = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3)])
    for bad, message in [
        (lambda: ex14.split_by_class(x, y[:5], (1, 2)), "same length, got 20 and 5"),
        (lambda: ex14.split_by_class(x, y, (1, 1)), r"different labels of y .*, got \[1, 1\]"),
        (lambda: ex14.split_by_class(x, y % 3, (1, 7)), r"labels of y \[0, 1, 2\], got \[1, 7\]"),
        (lambda: ex14.split_by_class(x, y + 0.5, (1,)), "whole numbers"),
        (lambda: ex14.split_by_class(x, y, (-1,)), "classes"),
        (lambda: ex14.few_shot(x, y, 0), "per_class must be at least 1, got 0"),
        (lambda: ex14.few_shot(x, y, 3), "class 0 has 2 examples, fewer than 3"),
        (lambda: ex14.freeze("model"), "model must be a Model, got str"),
        (lambda: ex14.freeze(base, "yes"), "trainable must be True or False, got 'yes'"),
        (lambda: ex14.transfer_model(base, 1), "n_classes must be at least 2, got 1"),
        (lambda: ex14.transfer_model(maps, 5), r"\(None, features\), got \(None, 6, 6, 2\)"),
        (lambda: ex14.transfer_model(None, 5), "base must be a Model, got NoneType"),
        (
            lambda: ex14.train_three_ways(base, (x, y), (x, y), epochs=0),
            "epochs must be at least 1",
        ),
        (lambda: ex14.train_three_ways(base, (x, y), (x, y), fine_tune_rate=0), "greater than 0"),
        (lambda: ex14.train_three_ways(base, (x, y[:3]), (x, y)), "x and y must have the same"),
        (lambda: ex14.accuracy_vs_labels([], base, (x, y), (x, y), (x, y)), "at least one"),
        (lambda: ex14.accuracy_vs_labels([0], base, (x, y), (x, y), (x, y)), "at least 1, got 0"),
        (lambda: plotting.against_labels([1, 10], {"a": [0.5]}), r"'a' has 1 accuracies for 2"),
    ]:
        with pytest.raises(ValueError, match=message):
            bad()


def test_ex14_few_shot_is_seeded_nested_and_leaves_the_rest(ex14):
    x, y = _images(60, classes=(3, 5, 8))
    (x10, y10), (x_rest, y_rest) = ex14.few_shot(x, y, 10, seed=4)
    assert np.bincount(y10).tolist()[3::] == [10, 0, 10, 0, 0, 10]
    assert len(y_rest) == 30 and len(np.unique(np.concatenate([x10, x_rest])[:, 0, 0, 0])) == 60
    (x3, _), _ = ex14.few_shot(x, y, 3, seed=4)
    assert {v.tobytes() for v in x3} <= {v.tobytes() for v in x10}  # nested: same seed
    (other, _), _ = ex14.few_shot(x, y, 10, seed=5)
    assert not np.array_equal(other, x10)


def test_ex14_split_renumbers_in_the_order_given(ex14):
    x, y = _images(12)
    got_x, got_y = ex14.split_by_class(x, y, [7, 2])
    assert got_y.tolist() == [1, 0] and np.array_equal(got_x, x[[2, 7]])


def _fake_weights(path, content=b"not really weights"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def test_the_imagenet_weights_are_fetched_pinned_and_verified(cache, server, monkeypatch):
    folder, url = server
    _fake_weights(folder / WEIGHTS, b"first download")
    monkeypatch.setenv("WORKSHOP_MIRROR", url)
    monkeypatch.setenv("WORKSHOP_OFFLINE", "0")
    assert not data.is_cached(data.PRETRAINED)
    (path,) = data.fetch(data.PRETRAINED, progress=False)
    assert path == cache / WEIGHTS and path.read_bytes() == b"first download"
    pinned = (cache / (WEIGHTS + ".sha256")).read_text().split()[0]
    assert pinned == data.file_digest(path)  # no published checksum: pinned at first download
    assert data.is_cached(data.PRETRAINED)
    assert any(s.key == data.PRETRAINED and cached for s, cached, _ in data.status())
    path.write_bytes(b"changed on disk")  # the pinned SHA-256 catches it: fetched again
    data.fetch(data.PRETRAINED, progress=False)
    assert path.read_bytes() == b"first download"
    assert (cache / (WEIGHTS + ".corrupt")).read_bytes() == b"changed on disk"


def test_a_published_sha256_refuses_a_wrong_file(cache, server, monkeypatch):
    import dataclasses
    import hashlib

    folder, url = server
    _fake_weights(folder / WEIGHTS, b"tampered")
    source = data.SOURCES[data.PRETRAINED]
    good = hashlib.sha256(b"the real thing").hexdigest()
    files = (dataclasses.replace(source.files[0], sha256=good),)
    monkeypatch.setitem(data.SOURCES, data.PRETRAINED, dataclasses.replace(source, files=files))
    monkeypatch.setenv("WORKSHOP_MIRROR", url)
    monkeypatch.setenv("WORKSHOP_OFFLINE", "0")
    with pytest.raises(data.DataUnavailableError, match=f"expected {good}"):
        data.fetch(data.PRETRAINED, progress=False)
    assert not (cache / WEIGHTS).exists()
    assert data.load_pretrained_base() is None  # the lesson goes on without it


def test_load_pretrained_base_reads_the_cached_weights(cache, capsys):
    import h5py
    import keras
    from keras.src.legacy.saving import legacy_h5_format

    assert data.load_pretrained_base() is None  # offline, nothing cached: no download tried
    keras.utils.set_random_seed(1)
    made = keras.applications.MobileNetV2(
        input_shape=(96, 96, 3), alpha=0.35, include_top=False, weights=None, pooling="avg"
    )
    cache.mkdir(parents=True)
    with h5py.File(cache / WEIGHTS, "w") as fh:  # Keras's own format for these weights
        legacy_h5_format.save_weights_to_hdf5_group(fh, made)
    base = data.load_pretrained_base()
    assert base.output_shape == (None, 1280) and base.count_params() == 410_208
    for a, b in zip(made.get_weights(), base.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    _fake_weights(cache / WEIGHTS, b"copied by hand, damaged")  # no .sha256 beside it
    assert data.load_pretrained_base() is None
    assert (cache / (WEIGHTS + ".corrupt")).exists() and not (cache / WEIGHTS).exists()
    assert "not MobileNetV2's weights" in capsys.readouterr().err


def test_ex14_quick_run_offline_skips_the_imagenet_base_in_one_line(ex14, cache, capsys, tmp_path):
    import keras

    keras.backend.clear_session()
    out = tmp_path / "ex14"
    metrics = ex14.main(ex14.Config(**{**ex14.QUICK, "out_dir": str(out)}))
    printed = capsys.readouterr().out
    lines = [line for line in printed.splitlines() if "ImageNet" in line]
    assert len(lines) == 1 and f"workshop data fetch --name {data.PRETRAINED}" in lines[0], lines
    assert "skipped" in lines[0] and "not cached" in lines[0] and "the rest runs" in lines[0]
    assert metrics["standin"] and metrics["imagenet"].startswith("skipped")
    counts, accuracy = metrics["counts"], metrics["accuracy"]
    assert sorted(accuracy) == ["fine_tuned", "frozen", "scratch"]
    assert all(len(v) == len(counts) for v in accuracy.values())
    # What the quick run shows on the stand-in digits (a few writers' 8x8 digits, easy even
    # from scratch: 0.81 and 0.95 here): every contender far above chance (0.2), better with
    # more labels; fine-tuning starts from the frozen model and stays close to it.
    assert min(min(v) for v in accuracy.values()) > 0.6, metrics
    assert all(v[1] > v[0] for v in accuracy.values()), metrics
    gap = np.abs(np.subtract(accuracy["fine_tuned"], accuracy["frozen"]))
    assert gap.max() < 0.05, metrics
    assert metrics["first_task_accuracy"] > 0.9, metrics
    assert "stand-in" in metrics["headline"]
    assert sorted(p.name for p in out.glob("*.png")) == ["accuracy_vs_labels.png"]
    assert json.loads((out / "metrics.json").read_text())["accuracy"] == accuracy


def test_ex14_the_imagenet_part_reads_digits_through_mobilenet(ex14, monkeypatch):
    """With the weights cached (here: MobileNetV2 with random weights, no file, no network),
    the digits go through the resizing in front of it, and a new head is trained per count."""
    import keras

    def mobilenet():
        return keras.applications.MobileNetV2(
            input_shape=(96, 96, 3), alpha=0.35, include_top=False, weights=None, pooling="avg"
        )

    monkeypatch.setattr(ex14.data, "load_pretrained_base", mobilenet)
    base = ex14.imagenet_base(mobilenet())
    assert base.input_shape == (None, 28, 28, 1) and base.output_shape == (None, 1280)
    pool, val, test = _images(30, range(5)), _images(10, range(5), 1), _images(10, range(5), 2)
    scores = ex14.imagenet_frozen([1, 2], pool, val, test, epochs=2)
    assert len(scores) == 2 and all(0 <= s <= 1 for s in scores)
