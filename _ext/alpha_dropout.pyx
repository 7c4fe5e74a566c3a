"""Alpha dropout (Klambauer, Unterthiner, Mayr & Hochreiter, NeurIPS 2017), the compiled twin of ``reference``.

A dropped unit is set to SELU's negative saturation ``alpha' = -lambda * alpha`` instead
of 0, and every unit then goes through the affine map ``a * y + b`` that brings a unit
normal input back to mean 0 and variance 1 (``minigrad.ops.alpha_dropout`` derives
``a`` and ``b``).

Design notes
------------
* The keep-mask is Bernoulli dropout's: element ``i`` is kept iff
  ``dropout_keep(seed, i, threshold)`` (``elementwise.pxd``), so for one seed and ``p``
  alpha dropout keeps exactly the units ``dropout`` keeps, on any thread count.
* The affine map is computed as ``(y + shift) * a`` with ``shift = b / a``, an addition
  followed by a multiplication. ``a * y + b`` would be contracted by GCC into one fused
  multiply-add on FMA hardware (``-march=native``), rounding once where numpy rounds
  twice; no instruction fuses an addition *followed by* a multiplication, so the
  kernel rounds exactly as the numpy twin does.
* The mask is written out, as ``dropout_forward`` writes it: the backward,
  ``grad * a`` where kept and 0 elsewhere, is then Bernoulli dropout's backward kernel
  with ``scale = a``, and a mask drawn once can be shared along axes and broadcast
  (``alpha_dropout_masked``). It costs one byte per element.
* A select and an add and a multiply per element, like Bernoulli dropout: the same
  threading threshold.
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.stdint cimport uint8_t, uint64_t

from chunks cimport n_chunks
from elementwise cimport dropout_keep, select

# Elements per thread below which an extra thread does not pay (dropout's, measured on
# 2 cores for a loop of the same cost).
cdef Py_ssize_t MIN_PER_THREAD = 8192


cdef inline floating alpha_value(floating x, bint keep, floating alpha_prime, floating shift,
                                 floating a) noexcept nogil:
    """One unit of alpha dropout: ``((x if keep else alpha') + shift) * a``.

    A dropped unit's value does not depend on ``x`` (NaN or inf there is removed with
    the unit); the choice is a branch-free ``select`` (see ``elementwise.pxd``).
    """
    return (select(keep, x, alpha_prime) + shift) * a


cdef void _alpha_dropout_forward(const floating[::1] x, floating[::1] out, uint8_t[::1] mask,
                                 uint64_t seed, uint64_t threshold, floating alpha_prime,
                                 floating shift, floating a,
                                 Py_ssize_t start, Py_ssize_t stop) noexcept nogil:
    cdef Py_ssize_t i
    cdef bint keep
    for i in range(start, stop):
        keep = dropout_keep(seed, <uint64_t>i, threshold)
        mask[i] = keep
        out[i] = alpha_value(x[i], keep, alpha_prime, shift, a)


cdef void _alpha_dropout_masked(const floating[::1] x, const uint8_t[::1] mask,
                                floating[::1] out, floating alpha_prime, floating shift,
                                floating a, Py_ssize_t start, Py_ssize_t stop) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(start, stop):
        out[i] = alpha_value(x[i], mask[i] != 0, alpha_prime, shift, a)


def alpha_dropout_forward(const floating[::1] x, floating[::1] out, uint8_t[::1] mask,
                          uint64_t seed, uint64_t threshold, floating alpha_prime,
                          floating shift, floating a, int n_threads):
    """Draw the keep-mask of stream ``seed``; ``out = ((x if kept else alpha') + shift) * a``.

    Element ``i`` is kept (``mask[i] = 1``) iff ``splitmix64(seed, i) >> 11 >= threshold``:
    the keep test of ``dropout_forward``, probability ``1 - threshold / 2**53``.

    Args:
        x: input, 1-D contiguous float32 or float64, length n.
        out: caller-allocated output, same dtype and length.
        mask: caller-allocated uint8 output of length n; receives 1 (kept) or 0.
        seed: the stream, an int in [0, 2**64).
        threshold: ``ceil(p * 2**53)`` for drop probability p.
        alpha_prime: the value of a dropped unit before the affine map,
            ``-lambda * alpha = -1.7580993408473766`` for SELU, in the dtype of ``x``.
        shift: ``b / a = -p * alpha_prime``, in the dtype of ``x``.
        a: the scale ``((1 - p) * (1 + p * alpha_prime**2)) ** -0.5``, in the dtype of ``x``.
        n_threads: upper bound on the OpenMP threads used (>= 1); the result does not
            depend on it.

    Example (the dispatch layer computes the constants from p)::

        >>> x = np.zeros(4); out = np.empty_like(x); mask = np.empty(4, np.uint8)
        >>> alpha_dropout_forward(x, out, mask, 42, 0, -1.75, 0.0, 1.0, 1)  # p = 0 keeps all
        >>> mask, out
        (array([1, 1, 1, 1], dtype=uint8), array([0., 0., 0., 0.]))
    """
    cdef Py_ssize_t n = x.shape[0]
    if out.shape[0] != n or mask.shape[0] != n:
        raise ValueError(f"alpha_dropout_forward: lengths differ (x {n}, out {out.shape[0]}, "
                         f"mask {mask.shape[0]})")
    cdef int t, chunks = n_chunks(n, n_threads, MIN_PER_THREAD)
    for t in prange(chunks, nogil=True, num_threads=chunks, schedule="static"):
        _alpha_dropout_forward(x, out, mask, seed, threshold, alpha_prime, shift, a,
                               t * n // chunks, (t + 1) * n // chunks)


def alpha_dropout_masked(const floating[::1] x, const uint8_t[::1] mask, floating[::1] out,
                         floating alpha_prime, floating shift, floating a, int n_threads):
    """``out = ((x if mask else alpha') + shift) * a`` for a given uint8 0/1 ``mask``.

    The forward of alpha dropout when the mask is not drawn here: a mask shared along
    axes (drawn at the reduced shape and broadcast), or one given to replay a network.
    Arguments as in :func:`alpha_dropout_forward`; ``mask`` is an input of length n.
    """
    cdef Py_ssize_t n = x.shape[0]
    if out.shape[0] != n or mask.shape[0] != n:
        raise ValueError(f"alpha_dropout_masked: lengths differ (x {n}, mask {mask.shape[0]}, "
                         f"out {out.shape[0]})")
    cdef int t, chunks = n_chunks(n, n_threads, MIN_PER_THREAD)
    for t in prange(chunks, nogil=True, num_threads=chunks, schedule="static"):
        _alpha_dropout_masked(x, mask, out, alpha_prime, shift, a,
                              t * n // chunks, (t + 1) * n // chunks)
