"""The SGD-with-momentum update in one pass, the compiled twin of ``reference.sgd_update``.

Design notes
------------
Written with numpy, one momentum step is five passes over the parameter's memory
(``g + wd * w``, ``v *= m``, ``v += g``, ``lr * v``, ``w -= ...``), each allocating or
streaming a full array. Here every element is read once and written once: for a
784-1024-1024-1024-10 net that is 2.9 M parameters (plus their velocities and
gradients) per step, and memory bandwidth is the whole cost.

The arithmetic follows the twin operation by operation, in the parameter's dtype. The
compiler may fuse ``m * v + g`` into one FMA (one rounding instead of two), so compiled
and twin agree to rounding, not bit for bit. Each element depends on itself alone, so
the result does not depend on the thread count.
"""
import numpy as np

from cython cimport floating
from cython.parallel cimport prange
from libc.stdint cimport uint8_t

from chunks cimport n_chunks
from column_norms cimport add_squares, column_chunks, column_split, project_columns

# Elements per thread below which an extra thread does not pay.
cdef Py_ssize_t MIN_PER_THREAD = 65536


cdef inline void _sgd_update(floating* w, const floating* g, floating* v,
                             floating lr, floating momentum, floating weight_decay,
                             bint nesterov, Py_ssize_t start, Py_ssize_t stop) noexcept nogil:
    """The update of elements ``start <= i < stop`` (one definition for both kernels)."""
    cdef Py_ssize_t i
    cdef floating gi, vi
    for i in range(start, stop):
        gi = g[i]
        if weight_decay != 0:
            gi = gi + weight_decay * w[i]
        if momentum != 0:
            vi = momentum * v[i] + gi
            v[i] = vi
            gi = gi + momentum * vi if nesterov else vi
        w[i] = w[i] - lr * gi


cdef void _sgd_max_norm_block(floating* w, const floating* g, floating* v,
                              Py_ssize_t rows, Py_ssize_t cols,
                              floating lr, floating momentum, floating weight_decay,
                              bint nesterov, double c, double* sums, floating* factor,
                              uint8_t* over, Py_ssize_t j0, Py_ssize_t j1) noexcept nogil:
    """Update columns ``j0 <= j < j1`` row by row, adding each new row's squares; project."""
    cdef Py_ssize_t i, row
    for i in range(rows):
        row = i * cols
        _sgd_update(w + row, g + row, v + row if momentum != 0 else v, lr, momentum,
                    weight_decay, nesterov, j0, j1)
        add_squares(w + row, sums, j0, j1)
    project_columns(w, rows, cols, c, sums, factor, over, j0, j1)


def sgd_update(floating[::1] w, const floating[::1] g, floating[::1] v, double lr,
               double momentum, double weight_decay, bint nesterov, int n_threads):
    """One SGD step on a flat parameter ``w`` with gradient ``g`` and velocity ``v``, in place.

    ``g <- g + weight_decay * w``; if momentum: ``v <- momentum * v + g`` and the step
    direction is ``g + momentum * v`` (Nesterov) or ``v``; ``w <- w - lr * direction``.
    With ``momentum == 0``, ``v`` is not touched (pass an empty array).

    Args:
        w: parameter, 1-D contiguous float32 or float64 (updated in place).
        g: gradient, same dtype and length.
        v: velocity, same dtype and length as ``w`` when momentum != 0 (updated in place).
        lr, momentum, weight_decay, nesterov: the hyperparameters (converted to the dtype).
        n_threads: upper bound on the OpenMP threads used (>= 1).
    """
    cdef Py_ssize_t n = w.shape[0]
    if g.shape[0] != n or (momentum != 0 and v.shape[0] != n):
        raise ValueError(f"sgd_update: lengths differ (w {n}, g {g.shape[0]}, v {v.shape[0]})")
    cdef floating lr_ = <floating>lr, m_ = <floating>momentum, wd_ = <floating>weight_decay
    cdef int t, chunks = n_chunks(n, n_threads, MIN_PER_THREAD)
    if n == 0:
        return
    for t in prange(chunks, nogil=True, num_threads=chunks, schedule="static"):
        _sgd_update(&w[0], &g[0], &v[0] if m_ != 0 else NULL, lr_, m_, wd_, nesterov,
                    t * n // chunks, (t + 1) * n // chunks)


def sgd_update_max_norm(floating[::1] w, const floating[::1] g, floating[::1] v,
                        Py_ssize_t cols, double lr, double momentum, double weight_decay,
                        bint nesterov, double c, int n_threads):
    """:func:`sgd_update`, then ``maxnorm.max_norm_columns`` with bound ``c``, in one pass.

    ``w`` (and ``g``, ``v``) hold a C-order ``(rows, cols)`` weight matrix, flattened.
    The update walks the matrix row by row and adds the squares of each row it has just
    written to per-column float64 sums, while the row is in cache; the columns whose
    norm then exceeds ``c`` are scaled by ``c / norm`` (``column_norms.pxd``). The
    result is bit for bit the two kernels one after the other, minus one read of the
    weights. Threads split the columns (as in ``maxnorm.pyx``): the result does not
    depend on the thread count.

    Args:
        w, g, v, lr, momentum, weight_decay, nesterov: as for :func:`sgd_update`.
        cols: the number of columns (``len(w)`` must be a multiple of it; >= 1).
        c: the max-norm bound, positive.
        n_threads: upper bound on the OpenMP threads used (>= 1).

    Example::

        >>> w = np.array([3.0, 0.1, 4.0, 0.1]); g = np.array([-3.0, 0.0, -4.0, 0.0])
        >>> sgd_update_max_norm(w, g, w[:0], 2, 0.5, 0.0, 0.0, False, 5.0, 1)
        >>> w.reshape(2, 2)   # column 0 grew to norm 7.5 and was projected back to 5
        array([[3. , 0.1],
               [4. , 0.1]])
    """
    cdef Py_ssize_t n = w.shape[0]
    if g.shape[0] != n or (momentum != 0 and v.shape[0] != n):
        raise ValueError(f"sgd_update_max_norm: lengths differ (w {n}, g {g.shape[0]}, "
                         f"v {v.shape[0]})")
    if cols < 1 or n % cols != 0:
        raise ValueError(f"sgd_update_max_norm: {n} elements are not rows of {cols} columns")
    if not c > 0:
        raise ValueError(f"sgd_update_max_norm: the bound c must be positive, got {c}")
    if n == 0:
        return
    cdef Py_ssize_t rows = n // cols
    cdef floating lr_ = <floating>lr, m_ = <floating>momentum, wd_ = <floating>weight_decay
    cdef double[::1] sums = np.zeros(cols, dtype=np.float64)
    cdef floating[::1] factor = np.empty(cols, dtype=np.float32 if floating is float else np.float64)
    cdef uint8_t[::1] over = np.empty(cols, dtype=np.uint8)
    cdef int t, chunks = column_chunks(n_threads, n, cols, MIN_PER_THREAD)
    for t in prange(chunks, nogil=True, num_threads=chunks, schedule="static"):
        _sgd_max_norm_block(&w[0], &g[0], &v[0] if m_ != 0 else NULL, rows, cols, lr_, m_,
                            wd_, nesterov, c, &sums[0], &factor[0], &over[0],
                            column_split(cols, chunks, t), column_split(cols, chunks, t + 1))
