"""Backward of a dense layer's ``y = dropout(relu(x @ w + bias))`` below the matmul, in one pass.

For the forward of ``fused_linear_forward`` (matmul.pyx), with kept units scaled by ``scale``
(``1/(1-p)``, inverted dropout, or 1, the paper's weight-scaling mode):

    d y[i, j] / d z[i, j] = scale  if y[i, j] > 0  else 0,     z = x @ w + bias

because ``y > 0`` exactly where the unit was kept *and* ``z > 0``: dropped units are 0,
ReLU'd ones are 0 (NaN is not > 0 either, as in relu_backward). So no mask needs to
be stored; ``y`` is all the backward keeps. And the bias gradient is the column sum of
that same ``grad_in``, taken while each row is in cache instead of in another pass.

Design notes
------------
* ``grad_in = scaled if y > 0 else 0`` with ``scaled = grad_out * scale`` computed for
  every element: a select, as in dropout.pyx, so the loop vectorises. It equals
  relu_backward followed by dropout_backward with the drawn mask, bit for bit (where
  ``y > 0`` both give ``grad_out * scale``; elsewhere both give +0.0).
* ``grad_bias[j]`` is ``0 + grad_in[0, j] + grad_in[1, j] + ... + grad_in[m-1, j]``,
  added left to right in the array's dtype (starting from +0.0, numpy's identity for
  ``add``: a column of -0.0 sums to +0.0). That is exactly numpy's ``grad_in.sum(axis=0)`` for a
  C-contiguous array of n >= 2 columns (numpy adds whole rows in order; checked in
  the tests), and close to it for one column, where numpy sums pairwise. (Except
  which NaN comes out where a column meets two NaNs: IEEE 754 lets NaN + NaN return
  either payload, and compilers commute additions.)
* Threads split the *columns* into chunks of whole cache lines (16 floats): a thread
  owns its columns of ``grad_in`` and ``grad_bias``, and each column sum is the same
  sequence of additions on any thread count: results are bit-identical for any
  ``n_threads``. Threads only pay above ``MIN_PER_THREAD`` elements each.
"""
from cython cimport floating
from cython.parallel cimport prange

from elementwise cimport select

# Elements per thread below which an extra thread does not pay (as for relu.pyx).
cdef Py_ssize_t MIN_PER_THREAD = 32768
# Column chunks are whole multiples of this many elements (64 bytes of float32), so
# two threads never write the same cache line of grad_bias or of a row of grad_in.
cdef Py_ssize_t COLUMN_QUANTUM = 16


cdef void _backward_columns(const floating* grad_out, const floating* y, floating scale,
                            bint slope, floating* grad_in, floating* grad_bias,
                            Py_ssize_t m, Py_ssize_t n,
                            Py_ssize_t j0, Py_ssize_t j1) noexcept nogil:
    """grad_in and (when not NULL) grad_bias for columns j0 .. j1-1 of every row.

    ``y`` is the forward output (``grad_in = grad_out * scale`` where ``y > 0``), or with
    ``slope`` the slope of the Gaussian forward (``grad_in = grad_out * y`` where ``y``
    is not NaN); 0 elsewhere.
    """
    cdef Py_ssize_t i, j, row
    cdef floating scaled, g
    for i in range(m):
        row = i * n
        if slope:
            for j in range(j0, j1):
                scaled = grad_out[row + j] * y[row + j]
                grad_in[row + j] = select(y[row + j] == y[row + j], scaled, 0)
        else:
            for j in range(j0, j1):
                scaled = grad_out[row + j] * scale
                grad_in[row + j] = select(y[row + j] > 0, scaled, 0)
        if grad_bias == NULL:
            continue
        if i == 0:
            for j in range(j0, j1):
                grad_bias[j] = 0
        for j in range(j0, j1):
            grad_bias[j] = grad_bias[j] + grad_in[row + j]


def fused_linear_backward(const floating[:, ::1] grad_out, const floating[:, ::1] y,
                          floating scale, floating[:, ::1] grad_in, grad_bias,
                          int n_threads):
    """``grad_in = grad_out * scale`` where ``y > 0``, else 0; ``grad_bias`` its column sums.

    The local derivative of ``y = dropout(relu(z))`` with kept units scaled by ``scale``
    is ``scale`` where ``y > 0`` and 0 elsewhere; ``grad_bias[j] = sum_i grad_in[i, j]``,
    added in row order in the arrays' dtype (see the notes above).

    Args:
        grad_out: gradient w.r.t. ``y``, C-contiguous (m, n), float32 or float64.
        y: the forward output, same dtype and shape.
        scale: the factor of kept units, ``1/(1-p)`` (or 1), in that dtype.
        grad_in: caller-allocated (m, n) output: the gradient w.r.t. ``z``.
        grad_bias: None, or a caller-allocated C-contiguous (n,) output of that dtype:
            the gradient w.r.t. the bias (zeros when m = 0).
        n_threads: upper bound on the OpenMP threads used (>= 1); the result does not
            depend on it.

    Example::

        >>> g = np.ones((2, 3)); y = np.array([[0.0, 2.0, 4.0], [2.0, 0.0, 6.0]])
        >>> grad_in = np.empty_like(g); grad_bias = np.empty(3)
        >>> fused_linear_backward(g, y, 2.0, grad_in, grad_bias, 1)
        >>> grad_in, grad_bias
        (array([[0., 2., 2.],
               [2., 0., 2.]]), array([2., 2., 4.]))
    """
    _backward(grad_out, y, scale, False, grad_in, grad_bias, n_threads,
              "fused_linear_backward")


def fused_linear_backward_noise(const floating[:, ::1] grad_out, const floating[:, ::1] slope,
                                floating[:, ::1] grad_in, grad_bias, int n_threads):
    """``grad_in = grad_out * slope`` where ``slope`` is not NaN, else 0; ``grad_bias`` its sums.

    The backward of the Gaussian fused forward (``matmul.fused_linear_forward`` with
    ``noise``), whose ``slope`` is the noise ``r`` where the ReLU passed the unit and NaN
    where it did not: bit for bit relu_backward after the gaussian_dropout backward
    (``grad_out * r``, then 0 where ReLU's output was not > 0). ``grad_bias`` and every
    other argument as for :func:`fused_linear_backward`.

    Example::

        >>> g = np.ones((1, 3)); slope = np.array([[np.nan, 0.5, -2.0]])
        >>> grad_in = np.empty_like(g)
        >>> fused_linear_backward_noise(g, slope, grad_in, None, 1)
        >>> grad_in
        array([[ 0. ,  0.5, -2. ]])
    """
    _backward(grad_out, slope, 0, True, grad_in, grad_bias, n_threads,
              "fused_linear_backward_noise")


cdef _backward(const floating[:, ::1] grad_out, const floating[:, ::1] y, floating scale,
               bint slope, floating[:, ::1] grad_in, grad_bias, int n_threads, str name):
    """Check the shapes, split the columns between threads, run ``_backward_columns``."""
    cdef Py_ssize_t m = grad_out.shape[0], n = grad_out.shape[1]
    cdef floating[::1] bias_view
    cdef floating* bias_ptr = NULL
    cdef Py_ssize_t quanta, j0, j1
    cdef int t, n_chunks
    if (y.shape[0] != m or y.shape[1] != n or grad_in.shape[0] != m
            or grad_in.shape[1] != n):
        raise ValueError(f"{name}: shapes differ (grad_out ({m}, {n}), "
                         f"y ({y.shape[0]}, {y.shape[1]}), "
                         f"grad_in ({grad_in.shape[0]}, {grad_in.shape[1]}))")
    if n_threads < 1:
        raise ValueError(f"n_threads must be >= 1, got {n_threads}")
    if grad_bias is not None:
        bias_view = grad_bias
        if bias_view.shape[0] != n:
            raise ValueError(f"{name}: grad_bias has length "
                             f"{bias_view.shape[0]}, grad_out has {n} columns")
        if n > 0:
            bias_ptr = &bias_view[0]
            if m == 0:
                bias_view[:] = 0
    if m == 0 or n == 0:
        return
    quanta = (n + COLUMN_QUANTUM - 1) // COLUMN_QUANTUM
    n_chunks = <int>max(1, min(min(<Py_ssize_t>n_threads, quanta), m * n // MIN_PER_THREAD))
    for t in prange(n_chunks, nogil=True, num_threads=n_chunks, schedule="static"):
        j0 = min(n, t * quanta // n_chunks * COLUMN_QUANTUM)
        j1 = min(n, (t + 1) * quanta // n_chunks * COLUMN_QUANTUM)
        _backward_columns(&grad_out[0, 0], &y[0, 0], scale, slope, &grad_in[0, 0], bias_ptr,
                          m, n, j0, j1)
