"""The data layer: real parsing on small files made here, downloads from a local server only."""

from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib
import http.server
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest

from workshop import ROOT, data

SHARED = ROOT.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv("WORKSHOP_DATA_DIR", raising=False)
    monkeypatch.delenv("WORKSHOP_OFFLINE", raising=False)
    monkeypatch.delenv("WORKSHOP_MIRROR", raising=False)
    monkeypatch.setattr(data, "_announced", set())
    return tmp_path / "keras" / "datasets"


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp_path/www (no other network is touched)."""
    www = tmp_path / "www"
    www.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *a, **k: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield www, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _tiny_mnist(folder: Path, n_train=12, n_test=5):
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for name, arr in arrays.items():
        data.write_idx(folder / name, arr)
    return arrays


def _point_source_at(monkeypatch, key, folder: Path):
    """Make SOURCES[key] expect the md5 of the files we made (the real ones are pinned)."""
    source = data.SOURCES[key]
    files = tuple(
        dataclasses.replace(rf, md5=_md5(folder / rf.name) if rf.md5 else None)
        for rf in source.files
    )
    monkeypatch.setitem(data.SOURCES, key, dataclasses.replace(source, files=files))


def _serve_tiny_mnist(server, monkeypatch) -> Path:
    """Serve tiny MNIST files from the local server, point the loader at them, fetch once."""
    www, url = server
    _tiny_mnist(www / "mnist")
    _point_source_at(monkeypatch, "mnist", www / "mnist")
    monkeypatch.setenv("WORKSHOP_MIRROR", url)
    data.fetch("mnist", progress=False)
    return www


# ----------------------------------------------------------------------------- IDX


@pytest.mark.parametrize("suffix", [".gz", ""])
@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32])
def test_idx_round_trip(tmp_path, suffix, dtype):
    arr = (np.arange(2 * 3 * 4) - 5).astype(dtype).reshape(2, 3, 4)
    if dtype == np.uint8:
        arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = data.write_idx(tmp_path / f"x.idx{suffix}", arr)
    back = data.read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.shape == arr.shape
    np.testing.assert_array_equal(back, arr)


def test_idx_corruption_is_detected(tmp_path):
    good = data.write_idx(tmp_path / "good.gz", np.zeros((3, 28, 28), np.uint8))
    truncated = tmp_path / "truncated.gz"
    truncated.write_bytes(good.read_bytes()[:-20])
    with pytest.raises(data.CorruptDataError, match="damaged|truncated|header"):
        data.read_idx(truncated)
    short = tmp_path / "short.idx"
    short.write_bytes(bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big") + b"12345")
    with pytest.raises(data.CorruptDataError, match="10 bytes"):
        data.read_idx(short)
    with pytest.raises(data.CorruptDataError, match="not an IDX"):
        (tmp_path / "text.idx").write_text("hello world")
        data.read_idx(tmp_path / "text.idx")


def test_real_mnist_test_set_parses():
    folder = SHARED / "mnist-test"
    if not folder.exists():
        pytest.skip("../shared/data is not beside the project here")
    images = data.read_idx(folder / "t10k-images-idx3-ubyte.gz")
    labels = data.read_idx(folder / "t10k-labels-idx1-ubyte.gz")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    counts = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert np.bincount(labels).tolist() == counts


# ----------------------------------------------------------------------------- download and cache


def test_download_verify_and_reuse_the_cache(server, monkeypatch, isolated_cache):
    www, url = server
    arrays = _tiny_mnist(www / "mnist")
    _point_source_at(monkeypatch, "mnist", www / "mnist")
    monkeypatch.setenv("WORKSHOP_MIRROR", url)
    first = data.load_mnist()
    assert not first.standin
    np.testing.assert_array_equal(first.x_train, arrays["train-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(first.y_test, arrays["t10k-labels-idx1-ubyte.gz"])
    assert (isolated_cache / "mnist" / "t10k-images-idx3-ubyte.gz").exists()
    # The server goes away: the cache is enough, online or offline.
    monkeypatch.setenv("WORKSHOP_MIRROR", "http://127.0.0.1:1")
    again = data.load_mnist(limit=3)
    assert again.x_train.shape == (3, 28, 28) and not again.standin
    assert not data.load_mnist(offline=True).standin


def test_no_network_and_no_cache_gives_a_clear_message(monkeypatch, isolated_cache):
    monkeypatch.setenv("WORKSHOP_MIRROR", "http://127.0.0.1:1")  # refused at once
    with pytest.raises(data.DataUnavailableError) as info:
        data.load_fashion_mnist()
    message = str(info.value)
    assert "Fashion-MNIST" in message and "workshop data fetch" in message
    assert "--offline" in message and str(isolated_cache) in message
    assert "Traceback" not in message and "urlopen" not in message


def test_corrupt_cache_is_moved_aside_and_fetched_again(server, monkeypatch, isolated_cache):
    www = _serve_tiny_mnist(server, monkeypatch)
    cached = isolated_cache / "mnist" / "train-labels-idx1-ubyte.gz"
    cached.write_bytes(b"garbage")
    data.fetch("mnist", progress=False)
    assert _md5(cached) == _md5(www / "mnist" / cached.name)
    assert cached.with_name(cached.name + ".corrupt").exists()


def test_corrupt_cache_offline_falls_back_loudly(server, monkeypatch, isolated_cache, capsys):
    _serve_tiny_mnist(server, monkeypatch)
    (isolated_cache / "mnist" / "t10k-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b broken")
    result = data.load_mnist(offline=True)
    assert result.standin
    err = capsys.readouterr().err
    assert "corrupt" in err and "STAND-IN" in err


def test_files_without_published_checksum_are_pinned_on_first_download(
    server, monkeypatch, isolated_cache
):
    www, url = server
    (www / "concrete").mkdir()
    csv_text = "Cement,Slag,Ash,Water,Super,Coarse,Fine,Age,Strength\n" + "\n".join(
        ",".join(str(float(i + j)) for j in range(9)) for i in range(6)
    )
    (www / "concrete" / "concrete_data.csv").write_text(csv_text)
    monkeypatch.setenv("WORKSHOP_MIRROR", url)
    table = data.load_concrete()
    assert table.X.shape == (6, 8) and table.y.shape == (6,) and not table.standin
    assert table.feature_names[0] == "Cement" and table.target_name == "Strength"
    cached = isolated_cache / "concrete" / "concrete_data.csv"
    assert (cached.parent / "concrete_data.csv.sha256").exists()
    cached.write_text(csv_text.replace("1.0", "9.0"))  # damaged after download
    data.fetch("concrete", progress=False)  # detected by the pinned hash, fetched again
    assert cached.read_text() == csv_text


def test_bad_csv_is_refused(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(data.CorruptDataError, match="9 columns"):
        data.read_concrete_csv(path)
    path.write_text("a,b,c,d,e,f,g,h,i\n1,2,3,4,5,6,7,8,oops\n")
    with pytest.raises(data.CorruptDataError, match="not a number"):
        data.read_concrete_csv(path)


# ----------------------------------------------------------------------------- stand-ins


def test_offline_stand_ins_are_announced(capsys):
    images = data.load_fashion_mnist(offline=True)
    assert images.standin and "STAND-IN" in images.title("samples")
    assert images.x_train.dtype == np.uint8 and images.x_train.shape[1:] == (28, 28)
    assert set(np.unique(images.y_train)) == set(range(10))
    assert images.x_train.max() > 200, "stand-in digits should use the 0-255 range like MNIST"
    table = data.load_concrete(offline=True)
    assert table.standin and table.X.shape[0] == len(table.y) > 100
    text = data.load_quijote(offline=True)
    assert text.standin and len(text.text) > 100_000
    err = capsys.readouterr().err
    assert err.count("STAND-IN DATA") == 3


def test_offline_by_environment(monkeypatch):
    monkeypatch.setenv("WORKSHOP_OFFLINE", "1")
    assert data.is_offline() and data.load_mnist(limit=10).standin
    assert len(data.load_mnist(limit=10).x_train) == 10


def test_photo_ships_with_matplotlib():
    photo = data.load_photo()
    assert photo.ndim == 2 and photo.shape[0] > 100 and 0 <= photo.min() < photo.max() <= 1


# ----------------------------------------------------------------------------- text


def test_text_loses_bom_and_crlf(tmp_path):
    path = tmp_path / "book.txt"
    path.write_bytes("\ufeffEn un lugar\r\nde la Mancha,\r\nniño\rúltimo".encode())
    assert data.read_text(path) == "En un lugar\nde la Mancha,\nniño\núltimo"


def test_gutenberg_frame_is_removed():
    text = "licence\n*** START OF THE PROJECT GUTENBERG EBOOK 2000 ***\nEn un lugar\n*** END OF IT ***\nmore"
    assert data.strip_gutenberg(text) == "En un lugar"


def test_real_quijote_loads_clean(monkeypatch, isolated_cache):
    source = SHARED / "quijote.txt"
    if not source.exists():
        pytest.skip("../shared/data/quijote.txt is not beside the project here")
    (isolated_cache / "text").mkdir(parents=True)
    (isolated_cache / "text" / "pg2000.txt").write_bytes(source.read_bytes())
    book = data.load_quijote(offline=True)
    assert not book.standin and "\r" not in book.text and not book.text.startswith("\ufeff")
    assert "En un lugar de la Mancha" in book.text


# ----------------------------------------------------------------------------- pack / unpack


def test_pack_and_unpack_move_the_cache(server, monkeypatch, tmp_path):
    _serve_tiny_mnist(server, monkeypatch)
    archive = data.pack(tmp_path / "stick" / "workshop-data.tar.gz")
    monkeypatch.setenv("WORKSHOP_DATA_DIR", str(tmp_path / "other-laptop"))
    monkeypatch.setenv("WORKSHOP_MIRROR", "http://127.0.0.1:1")
    assert data.unpack(archive) == ["mnist"]
    assert not data.load_mnist().standin


def test_unpack_refuses_foreign_archives(tmp_path):
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        (tmp_path / "x").write_text("x")
        tar.add(tmp_path / "x", arcname="../../etc/x")
    with pytest.raises(ValueError, match="unexpected entry"):
        data.unpack(archive)


# ----------------------------------------------------------------------------- bad input


def test_bad_arguments():
    with pytest.raises(ValueError, match="limit"):
        data.load_mnist(limit=0)
    with pytest.raises(ValueError, match="unknown data set"):
        data.fetch("cifar")
    with pytest.raises(ValueError, match=".tar.gz"):
        data.pack("cache.zip")


def test_gzip_magic_in_fixture_files(tmp_path):
    path = data.write_idx(tmp_path / "a.gz", np.zeros(3, np.uint8))
    with gzip.open(path) as fh:
        assert fh.read(4) == bytes([0, 0, 8, 1])


def test_a_cached_file_that_does_not_parse_is_moved_aside(isolated_cache):
    cached = isolated_cache / "concrete" / "concrete_data.csv"
    cached.parent.mkdir(parents=True)
    cached.write_text("this is not a table\n")  # copied by hand: no checksum to catch it
    with pytest.raises(data.DataUnavailableError, match="workshop data fetch"):
        data.load_concrete(offline=True)
    assert not cached.exists() and cached.with_name(cached.name + ".corrupt").exists()
