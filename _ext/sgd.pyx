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
from cython cimport floating
from cython.parallel cimport prange

from chunks cimport n_chunks

# Elements per thread below which an extra thread does not pay.
cdef Py_ssize_t MIN_PER_THREAD = 65536


cdef void _sgd_update(floating[::1] w, const floating[::1] g, floating[::1] v,
                      floating lr, floating momentum, floating weight_decay, bint nesterov,
                      Py_ssize_t start, Py_ssize_t stop) noexcept nogil:
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
    for t in prange(chunks, nogil=True, num_threads=chunks, schedule="static"):
        _sgd_update(w, g, v, lr_, m_, wd_, nesterov, t * n // chunks, (t + 1) * n // chunks)
