"""Seeded minibatches: one pass (epoch) over a dataset in batches of ``batch_size``.

With ``shuffle=True`` the order is a random permutation drawn from ``rng`` *when
``iterate_minibatches`` is called*, so the same seed always gives the same batches.
Each call is one epoch and visits every sample exactly once (except the last
``n % batch_size`` samples when ``drop_last=True``).
"""
import numpy as np

from ..checks import check_int
from ..random import as_generator

__all__ = ["iterate_minibatches"]


def iterate_minibatches(x, y, batch_size, *, shuffle=True, rng=None, drop_last=False):
    """Return an iterator over ``(xb, yb)`` minibatches of one epoch.

    Arguments:
        x: array of shape (N, ...), e.g. images (N, 784).
        y: array of shape (N, ...), e.g. labels (N,); same N as ``x``.
        batch_size: positive int. The last batch is smaller when it does not divide N,
            unless ``drop_last``.
        shuffle: visit samples in a random order (default) instead of 0..N-1.
        rng: None (library default Generator, see ``minigrad.manual_seed``), an int
            seed or a ``numpy.random.Generator``. Ignored when ``shuffle=False``.
        drop_last: skip a final batch smaller than ``batch_size``.

    Yields ``(xb, yb)`` with ``xb.shape == (b, *x.shape[1:])``. Shuffled batches are
    copies (fancy indexing); unshuffled ones are views into ``x`` and ``y``.

    Arguments are checked and the permutation drawn at call time, not at first ``next``.

    Example::

        >>> import numpy as np
        >>> x, y = np.arange(10).reshape(5, 2), np.arange(5)
        >>> [yb.tolist() for _, yb in iterate_minibatches(x, y, 2, shuffle=False)]
        [[0, 1], [2, 3], [4]]
        >>> [yb.tolist() for _, yb in iterate_minibatches(x, y, 2, rng=0, drop_last=True)]
        [[2, 4], [3, 0]]
    """
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError(f"x and y must have a sample axis; got shapes {x.shape} and {y.shape}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y must have the same number of samples; got x.shape "
                         f"{x.shape} and y.shape {y.shape}")
    batch_size = check_int("iterate_minibatches: batch_size", batch_size, minimum=1)
    n = x.shape[0]
    order = as_generator(rng).permutation(n) if shuffle else None
    stop = n - n % batch_size if drop_last else n
    return _batches(x, y, order, batch_size, stop)


def _batches(x, y, order, batch_size, stop):
    for start in range(0, stop, batch_size):
        if order is None:
            s = slice(start, min(start + batch_size, stop))
            yield x[s], y[s]
        else:
            idx = order[start:start + batch_size]
            yield x[idx], y[idx]
