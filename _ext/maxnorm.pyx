"""Max-norm regularisation (Srivastava et al., JMLR 2014, section 5.1), compiled twin of ``reference``.

After each update, the incoming weight vector of every hidden unit is projected back
onto the L2 ball of radius ``c``: ``w_j <- w_j * c / ||w_j||`` whenever ``||w_j|| > c``.

Design notes
------------
* Which axis: minigrad stores a dense layer's weights as ``(in_features,
  out_features)`` and computes ``y = x @ W``, so output unit ``j``'s incoming weights
  are COLUMN ``j``. Getting this axis wrong (normalising rows) is the classic
  max-norm bug; the tests check it with matrices whose rows and columns differ in norm.
* Row-major traversal: a C-contiguous matrix is walked row by row, adding each row's
  squares into a per-column float64 accumulator, so every load is contiguous and
  the inner loop vectorises across columns. A second walk scales the columns that
  are over the bound; when none is (the usual case late in training), it is skipped.
* Threads split the COLUMNS into blocks (aligned to 16 columns so no two threads
  write one cache line). Each column is still summed over the rows in order by one
  thread, so the result does not depend on the thread count.
* Columns inside the ball are not written at all: bit for bit untouched. A column
  containing NaN has a NaN norm, and ``NaN > c`` is false, so it is left as it is
  (the NaN is not spread, nor hidden). A column containing +-inf has norm inf and
  factor ``c / inf = 0``: its finite entries become 0 and its infinities NaN. Squares
  of float64 entries above ~1e154 overflow to inf in the same way; the numpy twin
  behaves identically.
"""
import numpy as np

from cython cimport floating
from cython.parallel cimport prange
from libc.stdint cimport uint8_t

from column_norms cimport add_squares, column_chunks, column_split, project_columns

# Matrix elements per thread below which an extra thread does not pay (measured on 2 cores).
cdef Py_ssize_t MIN_PER_THREAD = 32768


cdef void _max_norm_block(floating[:, ::1] w, double c, double[::1] norm_sq,
                          floating[::1] factor, uint8_t[::1] over,
                          Py_ssize_t j0, Py_ssize_t j1) noexcept nogil:
    """Project columns ``j0 <= j < j1`` of ``w``; the three 1-D arrays are per-column scratch."""
    cdef Py_ssize_t i, rows = w.shape[0], cols = w.shape[1]
    for i in range(rows):  # step one: squared column norms, row by row
        add_squares(&w[i, 0], &norm_sq[0], j0, j1)
    project_columns(&w[0, 0], rows, cols, c, &norm_sq[0], &factor[0], &over[0], j0, j1)


def max_norm_columns(floating[:, ::1] w, double c, int n_threads):
    """Rescale, in place, each column of ``w`` whose L2 norm exceeds ``c`` to norm ``c``.

    ``||w[:, j]||`` is accumulated in float64; a column with norm > c is multiplied by
    ``c / norm`` cast to the dtype of ``w``. Every other column (including any with a
    NaN) is left untouched, bit for bit.

    Args:
        w: weight matrix, C-contiguous float32 or float64, shape
            ``(in_features, out_features)``; column j is output unit j's incoming weights.
        c: the radius, a positive finite float (typically 3 to 4 in the paper).
        n_threads: upper bound on the OpenMP threads used (>= 1); the result does not
            depend on it.

    Example::

        >>> w = np.array([[3.0, 0.1], [4.0, 0.1]])   # column norms 5 and 0.14
        >>> max_norm_columns(w, 1.0, 1); w
        array([[0.6, 0.1],
               [0.8, 0.1]])
    """
    if n_threads < 1:
        raise ValueError(f"n_threads must be >= 1, got {n_threads}")
    if not c > 0:
        raise ValueError(f"max-norm bound c must be positive, got {c}")
    cdef Py_ssize_t rows = w.shape[0], cols = w.shape[1]
    if rows == 0 or cols == 0:  # no columns, or every norm 0: nothing to project
        return
    cdef double[::1] norm_sq = np.zeros(cols, dtype=np.float64)
    cdef floating[::1] factor = np.empty(cols, dtype=np.float32 if floating is float else np.float64)
    cdef uint8_t[::1] over = np.empty(cols, dtype=np.uint8)
    cdef int t, n_chunks = column_chunks(n_threads, rows * cols, cols, MIN_PER_THREAD)
    for t in prange(n_chunks, nogil=True, num_threads=n_chunks, schedule="static"):
        _max_norm_block(w, c, norm_sq, factor, over, column_split(cols, n_chunks, t),
                        column_split(cols, n_chunks, t + 1))
