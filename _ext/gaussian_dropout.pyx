"""Gaussian dropout (Srivastava et al., JMLR 2014, section 10), the compiled twin of ``reference``.

Each unit is multiplied by its own noise ``r = 1 + sigma * z`` with ``z ~ N(0, 1)``, so
``E[r] = 1`` (nothing to rescale at test time) and ``Var[r] = sigma**2 = p / (1 - p)``.

Design notes
------------
* Counter-based, as Bernoulli dropout (see ``dropout.pyx``): element ``i`` of stream
  ``seed`` hashes counters ``2i`` and ``2i + 1`` with ``splitmix64`` into two 53-bit
  uniforms and turns them into one normal by Box-Muller. So the noise depends on
  (seed, i) only: not on the thread count, and the backward regenerates it from the
  seed instead of storing it.
* The normal is computed in float64 with the C library's ``log``, ``sqrt`` and ``cos``
  (numpy's twin calls the same functions wherever numpy does not use its own AVX-512
  versions: see ``minigrad.kernels.reference.standard_normal``), and ``r`` is rounded once
  to the array's dtype.
* The noise is ``1 + z / inv_sigma``, a division, not ``1 + sigma * z``: GCC (and clang)
  may contract a multiply and an add into one FMA on hardware that has it, rounding once
  where numpy rounds twice. A division is never fused.
* An element costs a log and a cos (tens of nanoseconds), some fifty times a Bernoulli
  dropout element, so far fewer elements per thread pay for starting one.
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport M_PI, cos, log, sqrt
from libc.stdint cimport uint64_t

from chunks cimport n_chunks
from elementwise cimport splitmix64

# Elements per thread below which an extra thread does not pay: about 50 us of log and
# cos (estimated as dropout's 8192, scaled by the cost of an element; not measured).
cdef Py_ssize_t MIN_PER_THREAD = 1024
cdef double TWO_TO_MINUS_53 = 2.0 ** -53  # a 53-bit integer times this: exact


cdef inline double standard_normal(uint64_t seed, uint64_t index) noexcept nogil:
    """The N(0, 1) draw of element ``index`` of stream ``seed`` (``reference.standard_normal``)."""
    cdef uint64_t k1 = (splitmix64(seed, 2 * index) >> 11) + 1  # 1 .. 2**53
    cdef uint64_t k2 = splitmix64(seed, 2 * index + 1) >> 11      # 0 .. 2**53 - 1
    cdef double u1 = <double>k1 * TWO_TO_MINUS_53  # (0, 1]: log(u1) is finite
    cdef double u2 = <double>k2 * TWO_TO_MINUS_53  # [0, 1)
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2)


cdef void _gaussian_dropout(const floating[::1] x, floating[::1] out, uint64_t seed,
                            double inv_sigma, Py_ssize_t start, Py_ssize_t stop) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating r
    for i in range(start, stop):
        r = <floating>(1.0 + standard_normal(seed, <uint64_t>i) / inv_sigma)
        out[i] = x[i] * r


def gaussian_dropout(const floating[::1] x, floating[::1] out, uint64_t seed, double inv_sigma,
                     int n_threads):
    """``out = x * r``, the noise ``r = 1 + z / inv_sigma`` of stream ``seed``, ``z ~ N(0, 1)``.

    The forward of Gaussian dropout and, applied to the upstream gradient with the same
    seed, its backward (``d out / d x = r``).

    Args:
        x: input (or upstream gradient), 1-D contiguous float32 or float64, length n.
        out: caller-allocated output, same dtype and length (``out is x`` is fine).
        seed: the stream, an int in [0, 2**64).
        inv_sigma: ``1 / sigma = sqrt((1 - p) / p)`` for drop probability p, a positive
            float64 (``inf`` for p = 0 gives r = 1 exactly).
        n_threads: upper bound on the OpenMP threads used (>= 1); the result does not
            depend on it.

    Example (the dispatch layer computes inv_sigma from p)::

        >>> x = np.ones(3); out = np.empty_like(x)
        >>> gaussian_dropout(x, out, 42, 1.0, 1)  # p = 0.5: sigma = 1
        >>> bool(np.all(out == 1 + reference.standard_normal(3, 42)))
        True
    """
    cdef Py_ssize_t n = x.shape[0]
    if out.shape[0] != n:
        raise ValueError(f"gaussian_dropout: out has length {out.shape[0]}, x has {n}")
    cdef int t, chunks = n_chunks(n, n_threads, MIN_PER_THREAD)
    for t in prange(chunks, nogil=True, num_threads=chunks, schedule="static"):
        _gaussian_dropout(x, out, seed, inv_sigma, t * n // chunks, (t + 1) * n // chunks)
