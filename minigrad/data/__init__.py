"""Datasets for minigrad: IDX files, MNIST / Fashion-MNIST and seeded minibatches.

Independent of the tensor engine: everything here takes and returns numpy arrays.

* :func:`load_mnist`, :func:`load_fashion_mnist`: ``(x_train, y_train, x_test, y_test)``
  with images float32 in [0, 1] of shape (N, 784) and labels int64; files are found on
  disk (``path``, ``$MINIGRAD_DATA``, the user cache, system packages) or downloaded,
  and always verified by md5.
* :func:`locate_dataset`: which verified file on disk each of the four would be read from.
* :func:`iterate_minibatches`: one epoch of ``(xb, yb)`` batches, shuffled by ``rng``.
* :func:`read_idx`, :func:`write_idx`: the IDX array format, raw or gzip.

Example::

    from minigrad.data import load_mnist, iterate_minibatches
    x_train, y_train, x_test, y_test = load_mnist()
    for epoch in range(10):
        for xb, yb in iterate_minibatches(x_train, y_train, 128, rng=epoch):
            ...
"""
from .batches import iterate_minibatches
from .datasets import (Dataset, DatasetNotFoundError, load_dataset, load_fashion_mnist,
                       load_mnist, locate_dataset, training_subset)
from .download import DownloadError
from .idx import IDXError, read_idx, write_idx
from .locate import ChecksumError

__all__ = ["load_mnist", "load_fashion_mnist", "load_dataset", "locate_dataset", "training_subset", "Dataset",
           "iterate_minibatches", "read_idx", "write_idx",
           "IDXError", "ChecksumError", "DownloadError", "DatasetNotFoundError"]
