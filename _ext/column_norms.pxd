"""Max-norm's two steps on a block of columns, shared by ``maxnorm.pyx`` and ``sgd.pyx``.

The projection of Srivastava et al. (JMLR 2014, section 5.1): every column ``j`` of a
C-contiguous ``(rows, cols)`` weight matrix (output unit ``j``'s incoming weights) whose
L2 norm exceeds ``c`` is multiplied by ``c / norm``. Step one adds each row's squares
into per-column float64 sums (``add_squares``, called row by row, so every load is
contiguous and the loop vectorises across columns); step two scales the columns over
the bound (``project_columns``). ``maxnorm.pyx`` runs both on a matrix;
``sgd.pyx``'s fused update runs step one on each row as it writes it, which saves the
read pass over the weights. Sharing the two steps is what makes the fused update
bit-identical to the update followed by the projection.
"""
from cython cimport floating
from libc.math cimport sqrt
from libc.stdint cimport uint8_t

from elementwise cimport select

cdef enum:
    # Threads split the columns into blocks starting at multiples of this many columns
    # (64 bytes of float32), so no two threads write one cache line.
    COLUMN_ALIGN = 16


cdef inline int column_chunks(int n_threads, Py_ssize_t elements, Py_ssize_t cols,
                              Py_ssize_t min_per_thread) noexcept nogil:
    """How many column blocks (threads) to use: at most ``n_threads``, one per
    ``min_per_thread`` elements, one per ``COLUMN_ALIGN`` columns, and at least one."""
    return <int>max(1, min(<Py_ssize_t>n_threads, elements // min_per_thread,
                           cols // COLUMN_ALIGN))


cdef inline Py_ssize_t column_split(Py_ssize_t cols, int n_chunks, int t) noexcept nogil:
    """First column of block ``t`` of ``n_chunks`` (``cols`` for ``t == n_chunks``)."""
    if t == n_chunks:
        return cols
    return t * cols // n_chunks // COLUMN_ALIGN * COLUMN_ALIGN


cdef inline void add_squares(const floating* row, double* sums,
                             Py_ssize_t j0, Py_ssize_t j1) noexcept nogil:
    """``sums[j] += row[j]**2`` in float64, for ``j0 <= j < j1``: one row of step one
    (``sums`` starts at zero)."""
    cdef Py_ssize_t j
    for j in range(j0, j1):
        sums[j] += <double>row[j] * <double>row[j]


cdef inline void project_columns(floating* w, Py_ssize_t rows, Py_ssize_t cols, double c,
                                 const double* sums, floating* factor, uint8_t* over,
                                 Py_ssize_t j0, Py_ssize_t j1) noexcept nogil:
    """Step two: scale columns ``j0 <= j < j1`` of ``w`` whose norm ``sqrt(sums[j]) > c``.

    The factor is ``c / norm`` cast to ``w``'s dtype. A column inside the ball, or
    with a NaN norm (``NaN > c`` is false), is not changed, bit for bit; when no
    column is over the bound, ``w`` is not even read again. ``factor`` and ``over`` are
    per-column scratch.
    """
    cdef Py_ssize_t i, j, n_over = 0
    cdef double norm
    cdef floating* row
    for j in range(j0, j1):
        norm = sqrt(sums[j])
        over[j] = norm > c  # False for NaN
        factor[j] = <floating>(c / norm) if over[j] else 1
        n_over += over[j]
    if n_over == 0:
        return
    for i in range(rows):
        row = w + i * cols
        for j in range(j0, j1):
            # A select, so the loop has no branch; the other columns get their own
            # bits back (a move never alters a float).
            row[j] = select(over[j], row[j] * factor[j], row[j])
