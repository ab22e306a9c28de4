"""Every data set the lessons use: download, cache, verify, and an offline stand-in.

The first call downloads a data set from its public home into the cache
(`$WORKSHOP_DATA_DIR`, else `$KERAS_HOME/datasets`, else `~/.keras/datasets`)
and verifies it; later calls read the cache. With no network and no cache a
loader raises `DataUnavailableError` saying what is missing, where it would
be cached and the two ways out. In offline mode (`--offline`,
`WORKSHOP_OFFLINE=1` or `offline=True`) nothing is downloaded: the cache is
used when it is there, otherwise an embedded stand-in, announced loudly.

Stand-ins: scikit-learn's 8x8 digits resized to 28x28 (MNIST and
Fashion-MNIST), scikit-learn's diabetes table (concrete), Python's own
documentation text (Don Quijote). The photograph ships with matplotlib.
The pretrained MobileNetV2 weights have none: without them ex14 skips its
ImageNet part.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import os
import socket
import struct
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FETCH_HINT = "workshop data fetch"
TIMEOUT_S = 20


class DataUnavailableError(RuntimeError):
    """A data set is neither cached nor downloadable; the message says what to do."""


class CorruptDataError(ValueError):
    """A file has the wrong checksum or cannot be parsed."""


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class RemoteFile:
    """One file of a data set: its name in the cache, where to get it, its checksum."""

    name: str
    urls: tuple[str, ...]
    md5: str | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class Source:
    key: str
    title: str
    folder: str
    files: tuple[RemoteFile, ...]
    standin: str
    licence: str = ""


def _idx_files(bases: tuple[str, ...], md5s: dict[str, str]) -> tuple[RemoteFile, ...]:
    return tuple(RemoteFile(n, tuple(b + n for b in bases), md5=m) for n, m in md5s.items())


SOURCES: dict[str, Source] = {
    s.key: s
    for s in (
        Source(
            "mnist",
            "MNIST handwritten digits",
            "mnist",
            _idx_files(
                (
                    "https://ossci-datasets.s3.amazonaws.com/mnist/",
                    "https://storage.googleapis.com/cvdf-datasets/mnist/",
                ),
                {
                    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
                    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
                    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
                },
            ),
            "scikit-learn's 8x8 digits resized to 28x28",
            "Y. LeCun, C. Cortes, C. Burges; CC BY-SA 3.0",
        ),
        Source(
            "fashion_mnist",
            "Fashion-MNIST",
            "fashion-mnist",
            _idx_files(
                (
                    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
                    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                ),
                {
                    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
                    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
                    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
                },
            ),
            "scikit-learn's 8x8 digits resized to 28x28 (digits, not clothes)",
            "Zalando Research; MIT",
        ),
        Source(
            "concrete",
            "Concrete compressive strength (1,030 mixes)",
            "concrete",
            (
                RemoteFile(
                    "concrete_data.csv",
                    (
                        "https://s3-api.us-geo.objectstorage.softlayer.net/cf-courses-data/"
                        "CognitiveClass/DL0101EN/labs/data/concrete_data.csv",
                    ),
                ),
            ),
            "scikit-learn's diabetes table (442 patients, 10 features: not concrete)",
            "I-C. Yeh, UCI Machine Learning Repository; CC BY 4.0",
        ),
        Source(
            "quijote",
            "Don Quijote de la Mancha (Project Gutenberg #2000)",
            "text",
            (
                RemoteFile(
                    "pg2000.txt",
                    (
                        "https://www.gutenberg.org/cache/epub/2000/pg2000.txt",
                        "https://www.gutenberg.org/files/2000/2000-0.txt",
                    ),
                ),
            ),
            "Python's own documentation text (English, not Cervantes)",
            "M. de Cervantes; public domain",
        ),
        Source(  # Keras publishes no checksum for it: its SHA-256 is pinned at first download
            "mobilenet_v2",
            "MobileNetV2 ImageNet weights (alpha 0.35, 96x96, no top)",
            "keras-applications",
            (
                RemoteFile(
                    "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5",
                    (
                        "https://storage.googleapis.com/tensorflow/keras-applications/"
                        "mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5",
                    ),
                ),
            ),
            "none: ex14 skips its ImageNet base, and the rest runs",
            "Keras team (keras.applications); Apache 2.0",
        ),
    )
}


# --------------------------------------------------------------------------- settings


def cache_dir() -> Path:
    """Where downloaded data sets live."""
    if os.environ.get("WORKSHOP_DATA_DIR"):
        return Path(os.environ["WORKSHOP_DATA_DIR"]).expanduser()
    keras_home = os.environ.get("KERAS_HOME") or Path.home() / ".keras"
    return Path(keras_home).expanduser() / "datasets"


def is_offline(offline: bool | None = None) -> bool:
    """True when downloads are off: the argument if given, else $WORKSHOP_OFFLINE."""
    if offline is not None:
        return bool(offline)
    return os.environ.get("WORKSHOP_OFFLINE", "").lower() in ("1", "true", "yes", "on")


def _source(key: str) -> Source:
    if key not in SOURCES:
        raise ValueError(f"unknown data set {key!r}; expected one of {sorted(SOURCES)}")
    return SOURCES[key]


def _urls(source: Source, rf: RemoteFile) -> tuple[str, ...]:
    mirror = os.environ.get("WORKSHOP_MIRROR")
    if mirror:  # an instructor's local copy, or a test's server on 127.0.0.1
        return (f"{mirror.rstrip('/')}/{source.folder}/{rf.name}",)
    return rf.urls


# --------------------------------------------------------------------------- cache


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def verify_file(path: Path, rf: RemoteFile) -> None:
    """Raise CorruptDataError if `path` does not match its published checksum.

    Files with no published checksum are checked against the SHA-256 recorded
    when they were first downloaded (a `.sha256` file beside them).
    """
    checks = []
    if rf.md5:
        checks.append(("md5", rf.md5))
    if rf.sha256:
        checks.append(("sha256", rf.sha256))
    if not checks and _sidecar(path).exists():
        checks.append(("sha256", _sidecar(path).read_text().split()[0]))
    for algorithm, expected in checks:
        got = file_digest(path, algorithm)
        if got != expected:
            raise CorruptDataError(
                f"{path} has {algorithm} {got}, expected {expected}: the file is corrupt or "
                "truncated"
            )


def cached_paths(key: str) -> list[Path]:
    source = _source(key)
    return [cache_dir() / source.folder / rf.name for rf in source.files]


def is_cached(key: str) -> bool:
    return all(p.exists() for p in cached_paths(key))


def _quarantine(path: Path) -> Path:
    bad = path.with_name(path.name + ".corrupt")
    path.replace(bad)
    _sidecar(path).unlink(missing_ok=True)
    return bad


def _download(url: str, dest: Path, progress: bool) -> None:
    """Stream `url` into `dest` atomically (a temporary file renamed at the end)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    request = urllib.request.Request(url, headers={"User-Agent": "dl-workshop/0.1"})
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name + ".", suffix=".part")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as resp, os.fdopen(fd, "wb") as out:
            total = int(resp.headers.get("Content-Length") or 0) or None
            bar = None
            if progress:
                from tqdm import tqdm

                bar = tqdm(total=total, unit="B", unit_scale=True, desc=dest.name, leave=False)
            for block in iter(lambda: resp.read(1 << 16), b""):
                out.write(block)
                if bar is not None:
                    bar.update(len(block))
            if bar is not None:
                bar.close()
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _short_reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"no connection ({exc.reason})"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"timed out after {TIMEOUT_S} s"
    return f"{type(exc).__name__}: {exc}"


def _missing_message(source: Source, missing: list[Path], reasons: list[str]) -> str:
    where = missing[0].parent
    lines = [
        f"{source.title} is not available: {', '.join(p.name for p in missing)} "
        f"not in the cache and the download failed.",
        f"  cache folder: {where}",
    ]
    if reasons:
        lines.append(f"  download: {reasons[-1]}")
    lines += [
        "Two ways out:",
        f"  1. on a machine with internet run `{FETCH_HINT}` (or `workshop data pack` there",
        f"     and `workshop data unpack FILE` here), or copy its cache folder to {cache_dir()}",
        f"  2. run with --offline (or WORKSHOP_OFFLINE=1) to use the stand-in: {source.standin}",
    ]
    return "\n".join(lines)


def fetch(key: str, force: bool = False, progress: bool = True) -> list[Path]:
    """Make sure every file of data set `key` is cached and verified; return the paths.

    Cached files are verified; a corrupt one is moved aside (`.corrupt`) and
    downloaded again. Raises DataUnavailableError when a file can't be had.
    """
    source = _source(key)
    paths, missing, reasons = [], [], []
    for rf in source.files:
        path = cache_dir() / source.folder / rf.name
        if path.exists() and not force:
            try:
                verify_file(path, rf)
                paths.append(path)
                continue
            except CorruptDataError as exc:
                bad = _quarantine(path)
                print(
                    f"[data] {exc}\n[data] moved aside to {bad.name}; fetching again",
                    file=sys.stderr,
                )
        for url in _urls(source, rf):
            try:
                _download(url, path, progress)
                verify_file(path, rf)
            except CorruptDataError as exc:
                _quarantine(path)
                reasons.append(f"{url}: {exc}")
                continue
            except (OSError, urllib.error.URLError, ValueError) as exc:
                reasons.append(f"{url}: {_short_reason(exc)}")
                continue
            if not (rf.md5 or rf.sha256):
                _sidecar(path).write_text(f"{file_digest(path)}  {rf.name}\n")
            paths.append(path)
            break
        else:
            missing.append(path)
    if missing:
        raise DataUnavailableError(_missing_message(source, missing, reasons))
    return paths


def _cached_or_none(key: str) -> list[Path] | None:
    """Offline: the verified cached files, or None when something is missing."""
    source = _source(key)
    paths = []
    for rf in source.files:
        path = cache_dir() / source.folder / rf.name
        if not path.exists():
            return None
        try:
            verify_file(path, rf)
        except CorruptDataError as exc:
            bad = _quarantine(path)
            print(f"[data] {exc}\n[data] moved aside to {bad.name}", file=sys.stderr)
            return None
        paths.append(path)
    return paths


_announced: set[str] = set()


def announce_standin(key: str) -> None:
    """Say, loudly and once per process, that a stand-in replaces a data set."""
    if key in _announced:
        return
    _announced.add(key)
    source = _source(key)
    bar = "*" * 78
    print(
        f"{bar}\n* STAND-IN DATA: {source.title} is not cached and downloads are off.\n"
        f"* Using {source.standin}.\n"
        f"* Results and figures are about the stand-in. Get the real data: {FETCH_HINT}\n{bar}",
        file=sys.stderr,
    )


def _resolve(key: str, offline: bool | None) -> list[Path] | None:
    """Paths of the real files, or None when the stand-in must be used."""
    if is_offline(offline):
        paths = _cached_or_none(key)
        if paths is None:
            announce_standin(key)
        return paths
    return fetch(key)


# --------------------------------------------------------------------------- parsers

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzip-compressed or not."""
    path = Path(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:
        raise CorruptDataError(f"{path.name}: cannot read ({exc}); the file is damaged") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise CorruptDataError(f"{path.name}: not an IDX file (magic bytes {raw[:4]!r})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise CorruptDataError(f"{path.name}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise CorruptDataError(
            f"{path.name}: header says shape {shape} ({expected} bytes of data), "
            f"file has {len(raw) - header}"
        )
    return (
        np.frombuffer(raw, dtype=dtype, offset=header)
        .reshape(shape)
        .astype(dtype.newbyteorder("="))
    )


def write_idx(path: str | Path, array: np.ndarray) -> Path:
    """Write an IDX file (gzip when the name ends in .gz): used by tests and benchmarks."""
    array = np.asarray(array)
    codes = {np.dtype(v).newbyteorder("="): k for k, v in _IDX_TYPES.items()}
    code = codes.get(array.dtype.newbyteorder("="))
    if code is None:
        raise ValueError(f"IDX stores {sorted(map(str, codes))}, got {array.dtype}")
    payload = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload += array.astype(_IDX_TYPES[code]).tobytes()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as fh:
        fh.write(payload)
    return path


# --------------------------------------------------------------------------- images

MNIST_CLASSES = tuple(str(i) for i in range(10))
FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


class _Provenance:
    """What every loaded data set says about itself (`standin` and `source` fields)."""

    def title(self, text: str) -> str:
        """A figure title that says when the data is a stand-in."""
        return f"{text} [STAND-IN: {self.source}]" if self.standin else text


@dataclass
class ImageData(_Provenance):
    """Train and test images (uint8, N x 28 x 28), labels, names, and where they came from."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    name: str
    standin: bool = False
    source: str = ""

    def as_tuples(self):
        """`(x_train, y_train), (x_test, y_test)` as `keras.datasets` returns them."""
        return (self.x_train, self.y_train), (self.x_test, self.y_test)


def _parse_cached(path: Path, parse):
    """parse(path); a file that does not parse is moved aside and the fix is named."""
    try:
        return parse(path)
    except CorruptDataError as exc:
        bad = _quarantine(path)
        raise DataUnavailableError(
            f"{exc}\nMoved aside to {bad}. Fetch it again: `{FETCH_HINT}`"
        ) from exc


def _check_limit(limit):
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be None or a positive integer, got {limit!r}")


def _read_idx_set(paths: list[Path], key: str):
    by_name = {p.name: p for p in paths}
    arrays = []
    for stem in ("train-images", "train-labels", "t10k-images", "t10k-labels"):
        name = next(n for n in by_name if n.startswith(stem))
        arrays.append(_parse_cached(by_name[name], read_idx))
    x_train, y_train, x_test, y_test = arrays
    for x, y in ((x_train, y_train), (x_test, y_test)):
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise DataUnavailableError(
                f"{key}: images {x.shape} and labels {y.shape} do not match; "
                f"delete {paths[0].parent} and run `{FETCH_HINT}`"
            )
    return x_train, y_train, x_test, y_test


def digits_28(seed: int = 0):
    """scikit-learn's 1,797 8x8 digits, resized to MNIST's 28x28 uint8 and split 80/20."""
    from scipy.ndimage import zoom
    from sklearn.datasets import load_digits

    digits = load_digits()
    # 8x8 -> 20x20 (bilinear), centred in 28x28 as MNIST centres its digits.
    small = zoom(digits.images / 16.0, (1, 2.5, 2.5), order=1).clip(0, 1)
    images = np.zeros((len(small), 28, 28), dtype=np.uint8)
    images[:, 4:24, 4:24] = np.round(small * 255).astype(np.uint8)
    labels = digits.target.astype(np.uint8)
    order = np.random.default_rng(seed).permutation(len(images))
    images, labels = images[order], labels[order]
    n_train = int(0.8 * len(images))
    return images[:n_train], labels[:n_train], images[n_train:], labels[n_train:]


def _load_images(key, class_names, limit, offline) -> ImageData:
    _check_limit(limit)
    source = _source(key)
    paths = _resolve(key, offline)
    if paths is None:
        arrays = digits_28()
        names, standin, origin = MNIST_CLASSES, True, source.standin
    else:
        arrays = _read_idx_set(paths, key)
        names, standin, origin = class_names, False, str(paths[0].parent)
    x_train, y_train, x_test, y_test = (a[:limit] if limit else a for a in arrays)
    return ImageData(x_train, y_train, x_test, y_test, names, source.title, standin, origin)


def load_mnist(limit: int | None = None, offline: bool | None = None) -> ImageData:
    """MNIST digits: 60,000 training and 10,000 test images (at most `limit` of each)."""
    return _load_images("mnist", MNIST_CLASSES, limit, offline)


def load_fashion_mnist(limit: int | None = None, offline: bool | None = None) -> ImageData:
    """Fashion-MNIST: 60,000 training and 10,000 test images of clothes."""
    return _load_images("fashion_mnist", FASHION_CLASSES, limit, offline)


# --------------------------------------------------------------------------- tables


@dataclass
class TableData(_Provenance):
    """A regression table: features X (float), target y, and their names."""

    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    target_name: str
    name: str
    standin: bool = False
    source: str = ""


def read_concrete_csv(path: str | Path) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], str]:
    """Parse the concrete CSV: 8 feature columns then the strength; every cell a number."""
    path = Path(path)
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    if len(rows) < 2:
        raise CorruptDataError(
            f"{path.name}: expected a header and data rows, got {len(rows)} rows"
        )
    header = [h.strip() for h in rows[0]]
    if len(header) != 9:
        raise CorruptDataError(f"{path.name}: expected 9 columns, the header has {len(header)}")
    try:
        table = np.array([[float(c) for c in r] for r in rows[1:] if r], dtype=np.float64)
    except ValueError as exc:
        raise CorruptDataError(f"{path.name}: a cell is not a number ({exc})") from exc
    if table.ndim != 2 or table.shape[1] != 9 or not np.isfinite(table).all():
        raise CorruptDataError(f"{path.name}: expected 9 finite numbers per row")
    return table[:, :8], table[:, 8], tuple(header[:8]), header[8]


def load_concrete(offline: bool | None = None) -> TableData:
    """Concrete compressive strength: 1,030 mixes, 8 ingredients/age -> strength (MPa)."""
    source = _source("concrete")
    paths = _resolve("concrete", offline)
    if paths is None:
        from sklearn.datasets import load_diabetes

        d = load_diabetes(scaled=False)
        return TableData(
            d.data.astype(np.float64),
            d.target.astype(np.float64),
            tuple(d.feature_names),
            "disease progression",
            source.title,
            True,
            source.standin,
        )
    X, y, names, target = _parse_cached(paths[0], read_concrete_csv)
    return TableData(X, y, names, target, source.title, False, str(paths[0]))


# --------------------------------------------------------------------------- text


@dataclass
class TextData(_Provenance):
    text: str
    name: str
    standin: bool = False
    source: str = ""


def read_text(path: str | Path) -> str:
    """Read a UTF-8 text: byte-order mark dropped, CRLF/CR line endings made LF."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorruptDataError(f"{Path(path).name}: not UTF-8 text ({exc})") from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


def strip_gutenberg(text: str) -> str:
    """The book without Project Gutenberg's licence header and footer."""
    start = text.find("*** START OF")
    if start != -1:
        start = text.find("\n", start) + 1
    end = text.find("*** END OF")
    return text[max(start, 0) : end if end != -1 else len(text)].strip()


def python_docs_corpus() -> str:
    """English prose that ships with every Python: the help() topics."""
    from pydoc_data.topics import topics

    return "\n\n".join(topics[k] for k in sorted(topics))


def load_quijote(offline: bool | None = None) -> TextData:
    """The text of Don Quijote (Gutenberg header and footer removed)."""
    source = _source("quijote")
    paths = _resolve("quijote", offline)
    if paths is None:
        return TextData(python_docs_corpus(), source.title, True, source.standin)
    text = strip_gutenberg(_parse_cached(paths[0], read_text))
    if "Mancha" not in text:
        raise DataUnavailableError(
            f"{paths[0]} does not look like Don Quijote; delete it and fetch"
        )
    return TextData(text, source.title, False, str(paths[0]))


def load_photo(gray: bool = True) -> np.ndarray:
    """A real photograph (Grace Hopper, ships with matplotlib) as floats in [0, 1]."""
    import matplotlib.cbook
    import matplotlib.image

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as fh:
        image = matplotlib.image.imread(io.BytesIO(fh.read()), format="jpg")
    image = image.astype(np.float64) / 255.0
    if gray:
        image = image[..., :3] @ np.array([0.299, 0.587, 0.114])
    return image


# --------------------------------------------------------------------------- pretrained weights

PRETRAINED = "mobilenet_v2"


def read_pretrained_base(path: str | Path):
    """keras.applications.MobileNetV2 (alpha 0.35, 96x96x3, no top, average pooling: 1,280
    features) with the ImageNet weights in `path`."""
    import keras

    model = keras.applications.MobileNetV2(
        input_shape=(96, 96, 3), alpha=0.35, include_top=False, weights=None, pooling="avg"
    )
    try:
        model.load_weights(str(path))
    except Exception as exc:  # h5py's OSError, Keras's ValueError: not these weights
        raise CorruptDataError(
            f"{Path(path).name}: not MobileNetV2's weights ({type(exc).__name__}: {exc})"
        ) from exc
    return model


def load_pretrained_base(offline: bool | None = None):
    """MobileNetV2 pretrained on ImageNet (`read_pretrained_base`), or None when its weights
    are not cached and cannot be had (a failed download or a damaged file says why on
    stderr): there is no stand-in for them, the lesson goes on without."""
    try:
        paths = _cached_or_none(PRETRAINED) if is_offline(offline) else fetch(PRETRAINED)
        return None if paths is None else _parse_cached(paths[0], read_pretrained_base)
    except DataUnavailableError as exc:
        print(f"[data] {exc}", file=sys.stderr)
        return None


# --------------------------------------------------------------------------- cache moves


def status() -> list[tuple[Source, bool, Path]]:
    """Each data set, whether it is cached, and where."""
    return [(s, is_cached(k), cache_dir() / s.folder) for k, s in SOURCES.items()]


def pack(archive: str | Path) -> Path:
    """Write every cached data set into one .tar.gz (for the instructor's USB stick)."""
    archive = Path(archive)
    if not archive.name.endswith(".tar.gz"):
        raise ValueError(f"the archive name must end in .tar.gz, got {archive.name!r}")
    folders = [
        cache_dir() / s.folder for s in SOURCES.values() if (cache_dir() / s.folder).exists()
    ]
    if not folders:
        raise DataUnavailableError(f"nothing cached in {cache_dir()} to pack; run `{FETCH_HINT}`")
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:gz") as tar:
        for folder in folders:
            for path in sorted(folder.iterdir()):
                if path.suffix not in (".part", ".corrupt") and path.is_file():
                    tar.add(path, arcname=f"{folder.name}/{path.name}")
    return archive


def unpack(archive: str | Path) -> list[str]:
    """Extract a `pack` archive into the cache; verify what it brought; return the data sets."""
    archive = Path(archive)
    if not archive.is_file():
        raise ValueError(f"expected a .tar.gz made by `workshop data pack`, got {archive}")
    folders = {s.folder for s in SOURCES.values()}
    target = cache_dir()
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:gz") as tar:
        members = tar.getmembers()
        for m in members:
            if not m.isfile() or m.name.split("/")[0] not in folders or m.name.count("/") != 1:
                raise ValueError(
                    f"{archive.name}: unexpected entry {m.name!r}; not a workshop pack"
                )
        tar.extractall(target, members=members, filter="data")
    found = []
    for key, source in SOURCES.items():
        if any(m.name.startswith(source.folder + "/") for m in members):
            fetch_check = _cached_or_none(key)
            found.append(key if fetch_check is not None else f"{key} (incomplete)")
    return found
