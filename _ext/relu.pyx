"""ReLU forward and backward, the compiled twins of ``minigrad.kernels.reference``.

Design notes
------------
* One comparison and one select per element, so memory bandwidth is the limit. The
  select is written ``0 if x <= 0 else x`` (not ``x if x > 0 else 0``) because the
  two differ on NaN: this form lets NaN through, as the numpy twin does, and maps
  -0.0 to +0.0. The compiler turns it into a vector compare and blend. The rule lives
  in ``elementwise.pxd`` (``relu_value``), shared with the GEMM epilogue.
* Each element's result depends on that element alone, so splitting the array into
  contiguous chunks, one per thread, gives the same bits on any thread count.
  Threads only pay above ``MIN_PER_THREAD`` elements each: below that, starting the
  OpenMP team costs more than the loop.
* Backward needs only the forward *output* ``y`` (``y > 0`` exactly where ``x > 0``),
  so the autograd op saves ``y`` and not ``x``.
"""
from cython cimport floating
from cython.parallel cimport prange

from chunks cimport n_chunks
from elementwise cimport relu_value, select

# Elements per thread below which an extra thread does not pay (measured on 2 cores).
cdef Py_ssize_t MIN_PER_THREAD = 32768


cdef void _relu_forward(const floating[::1] x, floating[::1] out,
                        Py_ssize_t start, Py_ssize_t stop) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(start, stop):
        out[i] = relu_value(x[i])


cdef void _relu_backward(const floating[::1] grad_out, const floating[::1] y,
                         floating[::1] grad_in, Py_ssize_t start, Py_ssize_t stop) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(start, stop):
        grad_in[i] = select(y[i] > 0, grad_out[i], 0)


def relu_forward(const floating[::1] x, floating[::1] out, int n_threads):
    """``out[i] = max(x[i], 0)``; NaN propagates and -0.0 becomes +0.0.

    Args:
        x: input, 1-D contiguous float32 or float64, length n.
        out: caller-allocated output of the same dtype and length (may not alias ``x``
            partially; ``out is x`` is fine).
        n_threads: upper bound on the OpenMP threads used (>= 1).

    Example::

        >>> x = np.array([-1.0, 0.5, np.nan]); out = np.empty_like(x)
        >>> relu_forward(x, out, 1); out
        array([0. , 0.5, nan])
    """
    cdef Py_ssize_t n = x.shape[0]
    if out.shape[0] != n:
        raise ValueError(f"relu_forward: out has length {out.shape[0]}, x has {n}")
    cdef int t, chunks = n_chunks(n, n_threads, MIN_PER_THREAD)
    for t in prange(chunks, nogil=True, num_threads=chunks, schedule="static"):
        _relu_forward(x, out, t * n // chunks, (t + 1) * n // chunks)


def relu_backward(const floating[::1] grad_out, const floating[::1] y, floating[::1] grad_in,
                  int n_threads):
    """``grad_in[i] = grad_out[i]`` where the forward output ``y[i] > 0``, else 0.

    d relu(x)/dx is 1 for x > 0 and 0 otherwise (the subgradient 0 is taken at x = 0).

    Args:
        grad_out: gradient w.r.t. the ReLU output, 1-D contiguous, length n.
        y: the forward output, same dtype and length.
        grad_in: caller-allocated gradient w.r.t. the input, same dtype and length.
        n_threads: upper bound on the OpenMP threads used (>= 1).
    """
    cdef Py_ssize_t n = grad_out.shape[0]
    if y.shape[0] != n or grad_in.shape[0] != n:
        raise ValueError(f"relu_backward: lengths differ (grad_out {n}, y {y.shape[0]}, "
                         f"grad_in {grad_in.shape[0]})")
    cdef int t, chunks = n_chunks(n, n_threads, MIN_PER_THREAD)
    for t in prange(chunks, nogil=True, num_threads=chunks, schedule="static"):
        _relu_backward(grad_out, y, grad_in, t * n // chunks, (t + 1) * n // chunks)
