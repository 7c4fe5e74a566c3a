"""Load MNIST and Fashion-MNIST as float32 numpy arrays, downloading them if needed.

Both datasets are 28x28 greyscale images in 10 classes: 60,000 for training and
10,000 for testing. ``load_mnist()`` / ``load_fashion_mnist()`` return a
:class:`Dataset` named tuple::

    x_train  (60000, 784) float32 in [0, 1]   pixel / 255, rows of the image in C order
    y_train  (60000,)     int64 in 0..9
    x_test   (10000, 784) float32 in [0, 1]
    y_test   (10000,)     int64 in 0..9

Where the files come from:

* ``path`` given: that directory must hold the four files (``.gz`` or raw); a file
  there with the wrong checksum is an error. Missing files are downloaded into it if
  ``download=True``.
* ``path=None``: ``$MINIGRAD_DATA/<name>/``, ``$MINIGRAD_DATA/``, the user cache
  (``~/.cache/minigrad/<name>/``), system directories (Debian's
  ``/usr/share/datasets/fashion-mnist``), then the copy bundled with the package (MNIST
  ships inside minigrad, so it loads with no network); see ``minigrad.data.locate``. A
  candidate with the wrong checksum (say MNIST found while loading Fashion-MNIST) is
  skipped. Missing files are downloaded into the cache if ``download=True``.

Every file is verified by md5 before use, so the two datasets (whose files have the
same names) can never be confused. If a file cannot be found or downloaded,
:class:`DatasetNotFoundError` says which files to put where and why each candidate was
rejected.

Example::

    from minigrad.data import load_mnist, iterate_minibatches
    x_train, y_train, x_test, y_test = load_mnist()
    for xb, yb in iterate_minibatches(x_train, y_train, 128, rng=0):
        ...

References: Y. LeCun, L. Bottou, Y. Bengio, P. Haffner, "Gradient-based learning
applied to document recognition", 1998 (MNIST); H. Xiao, K. Rasul, R. Vollgraf,
"Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning Algorithms",
2017.
"""
import os
from typing import NamedTuple

import numpy as np

from . import sources
from .download import DownloadError, check_mirrors, download_file
from .idx import IDXError, parse_idx
from .locate import ENV_VAR, cache_dir, find_in_dir, search_dirs

__all__ = ["Dataset", "DatasetNotFoundError", "load_mnist", "load_fashion_mnist",
           "load_dataset", "locate_dataset"]


class Dataset(NamedTuple):
    """Train and test arrays of an image classification dataset; unpacks as a 4-tuple."""
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def training_subset(dataset, n, name="train_subset"):
    """``dataset`` with only its first ``n`` training images (the test set whole).

    ``name`` is how the caller's user spells the setting, for the error: a ValueError
    when ``n`` exceeds the training images there are.

    >>> x = np.zeros((5, 2), np.float32); y = np.arange(5)
    >>> training_subset(Dataset(x, y, x, y), 3).y_train
    array([0, 1, 2])
    """
    x_train, y_train, x_test, y_test = dataset
    if n > len(x_train):
        raise ValueError(f"{name} {n} exceeds the {len(x_train)} training images")
    return Dataset(x_train[:n], y_train[:n], x_test, y_test)


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are neither on disk nor downloadable; the message says what to do."""


def load_mnist(path=None, *, download=True, mirrors=None, verbose=False):
    """Load MNIST handwritten digits as a :class:`Dataset` (see the module docstring).

    Arguments:
        path: a directory holding the four IDX files, or None for automatic lookup.
        download: fetch missing files from ``mirrors`` (into ``path`` or the cache).
        mirrors: base URLs to try in order; default ``sources.MNIST.mirrors``.
        verbose: print download progress to stderr (quiet by default).

    Example::

        x_train, y_train, x_test, y_test = load_mnist()
        x_train.shape, y_train[:3]     # (60000, 784), array([5, 0, 4])
    """
    return load_dataset("mnist", path, download=download, mirrors=mirrors, verbose=verbose)


def load_fashion_mnist(path=None, *, download=True, mirrors=None, verbose=False):
    """Load Fashion-MNIST (Zalando clothing images) as a :class:`Dataset`.

    Same arguments and shapes as :func:`load_mnist`. Labels: 0 T-shirt/top, 1 trouser,
    2 pullover, 3 dress, 4 coat, 5 sandal, 6 shirt, 7 sneaker, 8 bag, 9 ankle boot.
    """
    return load_dataset("fashion-mnist", path, download=download, mirrors=mirrors,
                        verbose=verbose)


def load_dataset(name, path=None, *, download=True, mirrors=None, verbose=False):
    """Load the dataset called ``name`` (a key of ``sources.DATASETS``); see load_mnist."""
    spec = _spec(name)
    return _decode(spec, _gather(spec, path, download, mirrors, verbose))


def locate_dataset(name, path=None, *, download=True, mirrors=None, verbose=False):
    """Where ``load_dataset`` would read each file from: ``{file name: verified path}``.

    Same lookup, verification and download as :func:`load_dataset`, without decoding;
    handy to answer "which copy am I training on?". Keys are the base file names,
    e.g. ``"train-images-idx3-ubyte"``, in the order train images, train labels, test
    images, test labels.
    """
    spec = _spec(name)
    payloads = _gather(spec, path, download, mirrors, verbose)
    return {f.name: payloads[f.name][0] for f in spec.files}


def _spec(name):
    if name not in sources.DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {sorted(sources.DATASETS)}")
    return sources.DATASETS[name]


def _gather(spec, path, download, mirrors, verbose):
    """``{file name: (path, uncompressed payload)}`` for all four files, or raise."""
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be None, a str or os.PathLike, got {type(path).__name__}")
    mirrors = check_mirrors(spec.mirrors if mirrors is None else mirrors)
    if path is None:
        return _gather_automatic(spec, download, mirrors, verbose)
    return _gather_explicit(spec, os.fspath(path), download, mirrors, verbose)


def _gather_explicit(spec, directory, download, mirrors, verbose):
    """Payloads from one directory the user named: a bad file there is an error."""
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise NotADirectoryError(f"path {directory!r} is not a directory")
    payloads, notes = {}, []
    for fspec in spec.files:
        found = find_in_dir(directory, fspec, spec.title) if os.path.isdir(directory) else None
        if found is not None:
            payloads[fspec.name] = found
    _download_missing(spec, payloads, directory, download, mirrors, verbose, notes)
    _require_all(spec, payloads, directory, [("path", directory)], notes, explicit=True)
    return payloads


def _gather_automatic(spec, download, mirrors, verbose):
    """Payloads from the automatic lookup order; wrong-checksum candidates are skipped."""
    dirs = search_dirs(spec)
    payloads, notes = {}, []
    for fspec in spec.files:
        for _, directory in dirs:
            try:
                found = find_in_dir(directory, fspec, spec.title)
            except ValueError as e:  # ChecksumError, IDXError: not this dataset's file
                notes.append(f"skipped {e}")
                continue
            if found is not None:
                payloads[fspec.name] = found
                break
    target = cache_dir(spec.name)
    _download_missing(spec, payloads, target, download, mirrors, verbose, notes)
    _require_all(spec, payloads, target, dirs, notes, explicit=False)
    return payloads


def _download_missing(spec, payloads, directory, download, mirrors, verbose, notes):
    """Download each missing file into ``directory``; stop at the first network failure.

    A checksum mismatch on download propagates (``ChecksumError``): a mirror serving
    the wrong bytes is worth a loud error, not a quiet fallback.
    """
    if not download:
        if len(payloads) < 4:
            notes.append("download=False, so nothing was downloaded")
        return
    for fspec in spec.files:
        if fspec.name in payloads:
            continue
        try:
            path = download_file(fspec, mirrors, directory, verbose=verbose)
        except DownloadError as e:
            notes.append("download failed: " + str(e).replace("\n", "\n    "))
            return
        payloads[fspec.name] = (path, find_in_dir(directory, fspec, spec.title)[1])


def _require_all(spec, payloads, target, dirs, notes, explicit):
    """Raise DatasetNotFoundError explaining what to do unless all four files are present."""
    missing = [f.name for f in spec.files if f.name not in payloads]
    if not missing:
        return
    names = "\n".join(f"    {f.gz_name}" for f in spec.files)
    looked = "\n".join(f"  - {label}: {d}" + ("" if os.path.isdir(d) else " (no such directory)")
                       for label, d in dirs)
    msg = (f"{spec.title} not found (missing: {', '.join(missing)}).\n"
           f"Put these four files (gzip-compressed as published, or gunzipped without "
           f"the .gz) in {target}:\n{names}\n")
    if not explicit:
        msg += (f"or set {ENV_VAR} to a directory holding them, directly or in a "
                f"'{spec.name}' subdirectory.\n")
    msg += f"Looked in:\n{looked}\n"
    if notes:
        msg += "Notes:\n" + "\n".join(f"  - {n}" for n in notes) + "\n"
    msg += f"Official mirrors: {', '.join(spec.mirrors)}"
    if spec.how_to_get:
        msg += "\n" + spec.how_to_get
    raise DatasetNotFoundError(msg)


def _decode(spec, payloads):
    """Turn the four verified payloads into float32 images in [0, 1] and int64 labels."""
    def images(fspec):
        path, data = payloads[fspec.name]
        arr = parse_idx(data, source=path, copy=False)
        if arr.dtype != np.uint8 or arr.ndim != 3:
            raise IDXError(f"{path}: expected uint8 images of shape (N, rows, cols), "
                           f"got {arr.dtype} {arr.shape}")
        x = arr.reshape(arr.shape[0], -1).astype(np.float32)
        x /= np.float32(255)
        return x

    def labels(fspec, n):
        path, data = payloads[fspec.name]
        arr = parse_idx(data, source=path, copy=False)
        if arr.dtype != np.uint8 or arr.shape != (n,):
            raise IDXError(f"{path}: expected {n} uint8 labels, got {arr.dtype} {arr.shape}")
        return arr.astype(np.int64)

    x_train = images(spec.train_images)
    y_train = labels(spec.train_labels, x_train.shape[0])
    x_test = images(spec.test_images)
    y_test = labels(spec.test_labels, x_test.shape[0])
    return Dataset(x_train, y_train, x_test, y_test)
