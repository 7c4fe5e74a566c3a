"""Bernoulli dropout (Srivastava et al., JMLR 2014), the compiled twin of ``reference``.

Inverted dropout: during training each unit is kept with probability ``1 - p`` and
scaled by ``1 / (1 - p)``, so that nothing needs rescaling at test time.

Design notes: why the randomness is counter-based
-------------------------------------------------
The mask is not drawn from a sequential generator. One 64-bit ``seed`` is drawn per
call from the user's ``numpy.random.Generator`` (``minigrad.random.draw_seed``), and
element ``i`` (C order) is kept iff ``splitmix64(seed, i) >> 11 >= threshold``, where
``splitmix64`` hashes the counter ``i`` and ``threshold = ceil(p * 2**53)``. So:

* the mask depends only on (seed, i), never on how many threads split the work nor on
  the array's length (a prefix of a longer array gets the same mask);
* the whole run stays reproducible from the Generator's seed, as ``manual_seed``
  promises, without sharing the Generator's state across threads;
* the numpy twin computes the same hash on uint64 arrays and matches bit for bit;
* there is no state to carry from element to element, so the loop vectorises: each
  element is three 64-bit multiplies, shifts and xors (AVX-512DQ has the 64-bit
  multiply), a compare, and a select. The mask is drawn and the kept units scaled in
  one pass.

The hash and the keep test live in ``elementwise.pxd`` (``splitmix64``,
``dropout_keep``), shared with the GEMM epilogue, which drops units of a product
without a separate pass.
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.stdint cimport uint8_t, uint64_t

from chunks cimport n_chunks
from elementwise cimport dropout_keep, select

# Elements per thread below which an extra thread does not pay (measured on 2 cores).
cdef Py_ssize_t MIN_PER_THREAD = 8192


cdef void _dropout_forward(const floating[::1] x, floating[::1] out, uint8_t[::1] mask,
                           uint64_t seed, uint64_t threshold, floating scale,
                           Py_ssize_t start, Py_ssize_t stop) noexcept nogil:
    cdef Py_ssize_t i
    cdef bint keep
    cdef floating scaled
    for i in range(start, stop):
        keep = dropout_keep(seed, <uint64_t>i, threshold)
        mask[i] = keep
        # Loaded and scaled for every element, so that what remains is a select, which
        # vectorises without masked loads (AVX2) and needs no unpredictable branch.
        scaled = x[i] * scale
        out[i] = select(keep, scaled, 0)


cdef void _dropout_backward(const floating[::1] grad_out, const uint8_t[::1] mask,
                            floating scale, floating[::1] grad_in,
                            Py_ssize_t start, Py_ssize_t stop) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating scaled
    for i in range(start, stop):
        scaled = grad_out[i] * scale  # unconditionally: see _dropout_forward
        grad_in[i] = select(mask[i], scaled, 0)


def dropout_forward(const floating[::1] x, floating[::1] out, uint8_t[::1] mask,
                    uint64_t seed, uint64_t threshold, floating scale, int n_threads):
    """Draw the keep-mask of stream ``seed`` and write ``out = x * scale`` where kept, else 0.

    Element ``i`` is kept (``mask[i] = 1``) iff ``splitmix64(seed, i) >> 11 >= threshold``,
    which happens with probability ``1 - threshold / 2**53``.

    Args:
        x: input, 1-D contiguous float32 or float64, length n.
        out: caller-allocated output, same dtype and length.
        mask: caller-allocated uint8 output of length n; receives 1 (kept) or 0.
        seed: the stream, an int in [0, 2**64).
        threshold: ``ceil(p * 2**53)`` for drop probability p: 0 keeps everything,
            2**53 drops everything.
        scale: ``1 / (1 - p)`` in the dtype of ``x`` (0 when p = 1).
        n_threads: upper bound on the OpenMP threads used (>= 1); the result does not
            depend on it.

    Example (the dispatch layer computes threshold and scale from p)::

        >>> x = np.ones(6, np.float32); out = np.empty_like(x); mask = np.empty(6, np.uint8)
        >>> dropout_forward(x, out, mask, 42, 2**52, np.float32(2.0), 1)  # p = 0.5
        >>> mask, out
        (array([1, 0, 0, 0, 0, 1], dtype=uint8), array([2., 0., 0., 0., 0., 2.], dtype=float32))
    """
    cdef Py_ssize_t n = x.shape[0]
    if out.shape[0] != n or mask.shape[0] != n:
        raise ValueError(f"dropout_forward: lengths differ (x {n}, out {out.shape[0]}, "
                         f"mask {mask.shape[0]})")
    cdef int t, chunks = n_chunks(n, n_threads, MIN_PER_THREAD)
    for t in prange(chunks, nogil=True, num_threads=chunks, schedule="static"):
        _dropout_forward(x, out, mask, seed, threshold, scale,
                         t * n // chunks, (t + 1) * n // chunks)


def dropout_backward(const floating[::1] grad_out, const uint8_t[::1] mask, floating scale,
                     floating[::1] grad_in, int n_threads):
    """``grad_in = grad_out * scale`` where ``mask`` is nonzero, else 0.

    The local derivative of inverted dropout is ``mask * scale``: the same thinned
    network is used backwards as forwards.

    Args:
        grad_out: gradient w.r.t. the dropout output, 1-D contiguous, length n.
        mask: the uint8 keep-mask returned by :func:`dropout_forward`, length n.
        scale: ``1 / (1 - p)`` in the dtype of ``grad_out``.
        grad_in: caller-allocated gradient w.r.t. the input, same dtype and length.
        n_threads: upper bound on the OpenMP threads used (>= 1).
    """
    cdef Py_ssize_t n = grad_out.shape[0]
    if mask.shape[0] != n or grad_in.shape[0] != n:
        raise ValueError(f"dropout_backward: lengths differ (grad_out {n}, "
                         f"mask {mask.shape[0]}, grad_in {grad_in.shape[0]})")
    cdef int t, chunks = n_chunks(n, n_threads, MIN_PER_THREAD)
    for t in prange(chunks, nogil=True, num_threads=chunks, schedule="static"):
        _dropout_backward(grad_out, mask, scale, grad_in, t * n // chunks, (t + 1) * n // chunks)
