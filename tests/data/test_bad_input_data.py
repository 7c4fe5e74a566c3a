"""Bad input to the data loaders and minibatches: each case is a clear error or a documented result.

Part of the bad-input matrix (one file per floor: autograd/, nn/, data/, training/):
rows are entry points, columns are kinds of bad input. Each case ends in one of two
ways: a ``TypeError``/``ValueError`` (or the documented ``OSError`` subclass) whose type
is asserted together with words of its message that name the bad argument or value
(``support.bad_input.expect_error``); or a documented result checked against an oracle.
"""

import numpy as np
import pytest

from minigrad.data import DatasetNotFoundError, iterate_minibatches, load_mnist

from support.bad_input import expect_error
from support.layouts import VIEWS as LAYOUTS


# ================================================================ data
@pytest.mark.parametrize("x, y, batch_size, kwargs, exc, words", [
    (np.ones((5, 2)), np.ones(5), 0, {}, ValueError, ["batch_size must be >= 1", "0"]),
    (np.ones((5, 2)), np.ones(5), -3, {}, ValueError, ["batch_size", "-3"]),
    (np.ones((5, 2)), np.ones(5), 2.5, {}, TypeError, ["batch_size", "float"]),
    (np.ones((5, 2)), np.ones(5), float("nan"), {}, TypeError, ["batch_size", "float"]),
    (np.ones((5, 2)), np.ones(5), True, {}, TypeError, ["batch_size", "bool"]),
    (np.ones((5, 2)), np.ones(5), "4", {}, TypeError, ["batch_size", "str"]),
    (np.ones((5, 2)), np.ones(5), None, {}, TypeError, ["batch_size", "NoneType"]),
    (np.ones((5, 2)), np.ones(4), 2, {}, ValueError, [r"\(5, 2\)", r"\(4,\)"]),
    (np.float32(1), np.ones(1), 2, {}, ValueError, ["sample axis"]),
    (np.ones((5, 2)), 3, 2, {}, ValueError, ["sample axis"]),
    (np.ones((5, 2)), np.ones(5), 2, {"rng": "seed"}, TypeError, ["rng"]),
    (np.ones((5, 2)), np.ones(5), 2, {"rng": -1}, ValueError, ["non-negative"]),
    (np.ones((5, 2)), np.ones(5), 2, {"rng": 1.5}, TypeError, ["rng"]),
], ids=["bs-0", "bs-negative", "bs-float", "bs-nan", "bs-bool", "bs-str", "bs-None",
        "length-mismatch", "scalar-x", "scalar-y", "rng-str", "rng-negative", "rng-float"])
def test_iterate_minibatches_bad_arguments(x, y, batch_size, kwargs, exc, words):
    expect_error(exc, *words)(lambda: iterate_minibatches(x, y, batch_size, **kwargs))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_minibatches_of_views_equal_those_of_copies(layout):
    x = np.arange(24, dtype=np.float32).reshape(8, 3)
    y = np.arange(8)
    copies = list(iterate_minibatches(x, y, 3, rng=4))
    views = list(iterate_minibatches(LAYOUTS[layout](x), LAYOUTS[layout](y), 3, rng=4))
    assert len(copies) == len(views) == 3
    for (xa, ya), (xb, yb) in zip(copies, views):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


@pytest.fixture
def no_data_anywhere(monkeypatch, tmp_path):
    """No $MINIGRAD_DATA and an empty private cache: nothing is found, nothing downloaded."""
    monkeypatch.delenv("MINIGRAD_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path


@pytest.mark.parametrize("case", ["int-path", "bytes-path", "file-path", "missing-dir",
                                  "empty-dir", "garbage-files", "truncated-gz",
                                  "mirrors-str", "mirrors-empty", "mirrors-ftp", "dataset"])
def test_load_mnist_bad_paths_and_arguments(case, no_data_anywhere):
    tmp = no_data_anywhere
    names = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
             "t10k-labels-idx1-ubyte")
    if case in ("garbage-files", "truncated-gz"):
        for name in names:
            content = b"garbage" * 10 if case == "garbage-files" else b"\x1f\x8b\x08\x00abc"
            (tmp / (name + ".gz")).write_bytes(content)
    file_path = tmp / "a-file"
    file_path.write_bytes(b"x")
    from minigrad.data import load_dataset
    from minigrad.data.locate import ChecksumError
    from minigrad.data.idx import IDXError
    cases = {
        "int-path": (lambda: load_mnist(3, download=False), TypeError, ["path", "int"]),
        "bytes-path": (lambda: load_mnist(b"/tmp", download=False), TypeError, ["path"]),
        "file-path": (lambda: load_mnist(file_path, download=False), NotADirectoryError,
                      ["a-file", "not a directory"]),
        "missing-dir": (lambda: load_mnist(tmp / "nope", download=False), DatasetNotFoundError,
                        ["MNIST not found", "nope", "download=False"]),
        "empty-dir": (lambda: load_mnist(tmp / "xdg", download=False), DatasetNotFoundError,
                      ["missing: train-images-idx3-ubyte"]),
        "garbage-files": (lambda: load_mnist(tmp, download=False), ChecksumError,
                          ["train-images-idx3-ubyte.gz", "checksum mismatch"]),
        "truncated-gz": (lambda: load_mnist(tmp, download=False), IDXError,
                         ["train-images-idx3-ubyte.gz", "gzip"]),
        "mirrors-str": (lambda: load_mnist(tmp, mirrors="http://x/"), TypeError,
                        ["mirrors", "list"]),
        "mirrors-empty": (lambda: load_mnist(tmp, mirrors=[]), ValueError, ["mirrors"]),
        "mirrors-ftp": (lambda: load_mnist(tmp, mirrors=["ftp://x/"]), ValueError,
                        ["ftp://x/", "http"]),
        "dataset": (lambda: load_dataset("cifar10", tmp, download=False), ValueError,
                    ["unknown dataset", "cifar10"]),
    }
    call, exc, words = cases[case]
    expect_error(exc, *words)(call)
