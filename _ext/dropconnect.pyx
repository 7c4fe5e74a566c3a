"""DropConnect (Wan, Zeiler, Zhang, LeCun & Fergus, ICML 2013), the compiled twin of ``reference``.

DropConnect drops *weights*, not units: example ``b`` of a minibatch sees the weight
matrix ``W * M_b``, with its own Bernoulli mask ``M_b`` of shape (in, out), so

    z[b, n] = scale * sum_k x[b, k] * M_b[k, n] * W[k, n]  (+ bias[n]).

A batch of 100 examples through a 784 x 800 layer has 63 million mask bits: 63 MB as
bytes, more than the layer's weights a hundred times over. These kernels never store
them. Each bit is a hash of its (example, input, output) position, recomputed where it
is needed: in the forward, and again in both products of the backward,

    dx[b, k] = scale * sum_n dz[b, n] * M_b[k, n] * W[k, n]
    dW[k, n] = scale * sum_b x[b, k] * M_b[k, n] * dz[b, n].

Design notes
------------
* The hash. Mask bit (b, k, n) of stream ``seed`` is

      key = splitmix64(seed, b*K + k)                  (one 64-bit hash per weight row)
      h   = lowbias32(lo32(key) + n * 0x9E3779B9) ^ hi32(key)
      M_b[k, n] = 1  iff  h >= threshold = ceil(p * 2**32),

  kept with probability ``1 - threshold / 2**32``, within 2**-32 of ``1 - p``. Why not
  splitmix64 for every bit, as dropout does? AVX2, this machine's vector set, has no
  64-bit multiply: splitmix64 runs scalar or emulated, while a 32-bit mixer runs 8 lanes
  at once (``vpmulld``), and the bits are the whole cost of these kernels (a GEMM would
  do one FMA where we also hash). ``lowbias32`` (C. Wellons, "Prospecting for hash
  functions", 2018: two xorshift-multiply rounds found by search for low avalanche bias)
  is a bijection of 32 bits, so the N bits of one row come from N distinct inputs of a
  Weyl sequence (the golden-ratio step, as in splitmix64). Each row gets a fresh 64-bit
  key from splitmix64, so rows are as independent as dropout's elements; the high half,
  xored in after the mix, keeps two rows whose low halves happen to lie on one Weyl
  sequence (a chance of about N / 2**32 per pair) from repeating each other's bits.
  ``minigrad.kernels.reference.dropconnect_mask`` is the readable definition.
* Bits depend on (seed, b, k, n) only: not on the thread count, the blocking, or which
  product needs them. The twin computes the same bits bit for bit.
* A dropped weight is a zero weight: ``wm = w if kept else 0`` is a select (it
  vectorises), then ``acc += x * wm`` (so ``inf * dropped`` is NaN, as in a GEMM on ``W *
  M``). ``scale`` multiplies each finished sum once, then the bias is added in its own
  pass.
* The products are summed in a fixed order (over k for the forward, over n for dx, over
  b for dW), which the thread split never changes: results are bit-identical for any
  ``n_threads``. They are not bit-identical to the numpy twin, which sums in BLAS's
  order, and the compiler may contract ``acc + x * wm`` into an FMA: they agree to
  rounding (``tests/kernels/test_kernels_dropconnect.py`` derives the bound) and exactly
  on integer data, where every order gives the same sum.
* Every loop is ``acc[j] += a * select(bit, v[j], 0)`` along a contiguous axis: the
  output units for the forward and dW, the input units for dx, which therefore reads
  ``W.T`` (the dispatch layer passes a contiguous transpose). Each weight row ``W[k]``
  is read for ``EXAMPLE_BLOCK`` examples while it is in L1, instead of once per example
  from L3; dW likewise reuses each row of ``dz`` for ``ROW_BLOCK`` rows of dW.
* Threads split the examples (forward, dx) or the rows of dW: each thread owns its
  outputs; nothing is shared and nothing is reduced across threads.
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from libc.string cimport memset

import numpy as np

from chunks cimport n_chunks
from elementwise cimport select, splitmix64

# Mask bits per thread below which an extra thread does not pay (a bit costs about a
# nanosecond; 2**16 bits is some 60 us, as for dropout's 8192 elements of 8 ns).
cdef Py_ssize_t MIN_PER_THREAD = 65536
cdef enum:
    EXAMPLE_BLOCK = 4   # examples sharing each read of a weight row
    ROW_BLOCK = 4       # rows of dW sharing each read of a gradient row
cdef uint32_t GOLDEN32 = 0x9E3779B9u  # 2**32 / golden ratio, the Weyl step


cdef inline uint32_t lowbias32(uint32_t x) noexcept nogil:
    """Wellons's lowbias32 mixer (a bijection of 32-bit integers)."""
    x = x ^ (x >> 16)
    x = x * 0x7FEB352Du
    x = x ^ (x >> 15)
    x = x * 0x846CA68Bu
    return x ^ (x >> 16)


cdef inline bint kept(uint32_t weyl, uint32_t hi, uint32_t threshold) noexcept nogil:
    """A mask bit from its Weyl value ``lo + n * GOLDEN32`` and its row key's ``hi`` half.

    Callers walk ``weyl`` along a row by adding GOLDEN32 (an induction variable the
    compiler vectorises; about a fifth faster than multiplying n, roughly measured).
    """
    return (lowbias32(weyl) ^ hi) >= threshold


cdef inline void row_key(uint64_t seed, uint64_t row, uint32_t* lo, uint32_t* hi) noexcept nogil:
    cdef uint64_t key = splitmix64(seed, row)
    lo[0] = <uint32_t>key
    hi[0] = <uint32_t>(key >> 32)


cdef inline int split(Py_ssize_t items, Py_ssize_t bits, int n_threads) except -1:
    """Threads for ``items`` independent items of ``bits`` mask bits in all (>= 1, <= items)."""
    return <int>max(1, min(<Py_ssize_t>n_chunks(bits, n_threads, MIN_PER_THREAD), items))


cdef void _finish(floating* row, const floating* bias, floating scale,
                  Py_ssize_t n) noexcept nogil:
    """``row = row * scale`` then ``+ bias`` (two passes: never contracted into an FMA)."""
    cdef Py_ssize_t j
    for j in range(n):
        row[j] = row[j] * scale
    if bias != NULL:
        for j in range(n):
            row[j] = row[j] + bias[j]


cdef void _mask_rows(uint8_t* out, uint64_t seed, uint32_t threshold, Py_ssize_t r0,
                     Py_ssize_t r1, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t r, j
    cdef uint32_t lo, hi, weyl
    for r in range(r0, r1):
        row_key(seed, <uint64_t>r, &lo, &hi)
        weyl = lo
        for j in range(n):
            out[r * n + j] = kept(weyl, hi, threshold)
            weyl = weyl + GOLDEN32


cdef uint64_t _count_kept_rows(uint64_t seed, uint32_t threshold, Py_ssize_t r0, Py_ssize_t r1,
                               Py_ssize_t n) noexcept nogil:
    """How many bits rows r0 .. r1-1 keep: the hash and the compare, nothing stored."""
    cdef Py_ssize_t r, j
    cdef uint32_t lo, hi, weyl, row_count
    cdef uint64_t total = 0
    for r in range(r0, r1):
        row_key(seed, <uint64_t>r, &lo, &hi)
        weyl = lo
        row_count = 0  # a row of n < 2**32 bits (the dispatch layer checks): 8 lanes of 32 bits
        for j in range(n):
            row_count = row_count + kept(weyl, hi, threshold)
            weyl = weyl + GOLDEN32
        total += row_count
    return total


cdef inline void _masked_axpy(floating* acc, floating a, const floating* v, uint64_t seed,
                              uint64_t row, uint32_t threshold, Py_ssize_t n) noexcept nogil:
    """``acc += a * (v * mask row)``: the step of the forward and of dW, one weight row's bits."""
    cdef Py_ssize_t j
    cdef uint32_t lo, hi, weyl
    row_key(seed, row, &lo, &hi)
    weyl = lo
    for j in range(n):
        acc[j] += a * select(kept(weyl, hi, threshold), v[j], 0)
        weyl = weyl + GOLDEN32


cdef void _forward(const floating* x, const floating* w, const floating* bias,
                   floating scale, floating* out, uint64_t seed, uint32_t threshold,
                   Py_ssize_t b0, Py_ssize_t b1, Py_ssize_t K, Py_ssize_t N) noexcept nogil:
    """Rows b0 .. b1-1 of ``out = scale * (x @ (W * M_b)) + bias``."""
    cdef Py_ssize_t blk, b, k, stop
    blk = b0
    while blk < b1:
        stop = min(blk + EXAMPLE_BLOCK, b1)
        memset(&out[blk * N], 0, (stop - blk) * N * sizeof(floating))
        for k in range(K):  # weight row k, from L1, for every example of the block
            for b in range(blk, stop):
                _masked_axpy(&out[b * N], x[b * K + k], &w[k * N], seed, <uint64_t>(b * K + k),
                             threshold, N)
        for b in range(blk, stop):
            _finish(&out[b * N], bias, scale, N)
        blk = stop


cdef void _backward_input(const floating* grad_out, const floating* wt, floating scale,
                          floating* grad_in, uint32_t* los, uint32_t* his, uint64_t seed,
                          uint32_t threshold, Py_ssize_t b0, Py_ssize_t b1, Py_ssize_t K,
                          Py_ssize_t N) noexcept nogil:
    """Rows b0 .. b1-1 of ``dx = scale * (dz @ (W * M_b).T)``; ``wt`` is W.T, (N, K)."""
    cdef Py_ssize_t b, k, j
    cdef uint32_t step
    cdef floating g
    cdef floating* acc
    cdef const floating* wcol
    for b in range(b0, b1):
        for k in range(K):  # the keys of this example's K weight rows, reused N times
            row_key(seed, <uint64_t>(b * K + k), &los[k], &his[k])
        acc = &grad_in[b * K]
        memset(acc, 0, K * sizeof(floating))
        for j in range(N):
            g = grad_out[b * N + j]
            wcol = &wt[j * K]
            step = <uint32_t>j * GOLDEN32  # bit j of every row
            for k in range(K):
                acc[k] += g * select(kept(los[k] + step, his[k], threshold), wcol[k], 0)
        _finish(acc, <const floating*>NULL, scale, K)


cdef void _backward_weight(const floating* x, const floating* grad_out, floating scale,
                           floating* grad_w, uint64_t seed, uint32_t threshold,
                           Py_ssize_t k0, Py_ssize_t k1, Py_ssize_t B, Py_ssize_t K,
                           Py_ssize_t N) noexcept nogil:
    """Rows k0 .. k1-1 of ``dW = scale * sum_b x[b].T (dz[b] * M_b)``, examples in order."""
    cdef Py_ssize_t blk, b, k, stop
    blk = k0
    while blk < k1:
        stop = min(blk + ROW_BLOCK, k1)
        memset(&grad_w[blk * N], 0, (stop - blk) * N * sizeof(floating))
        for b in range(B):  # gradient row b, from L1, for every row of the block
            for k in range(blk, stop):
                _masked_axpy(&grad_w[k * N], x[b * K + k], &grad_out[b * N], seed,
                             <uint64_t>(b * K + k), threshold, N)
        for k in range(blk, stop):
            _finish(&grad_w[k * N], <const floating*>NULL, scale, N)
        blk = stop


def dropconnect_mask(uint8_t[:, :, ::1] out, uint64_t seed, uint32_t threshold, int n_threads):
    """Write the (batch, in, out) keep-mask of stream ``seed`` into ``out`` (uint8 0/1).

    The mask the products below use without storing it; this materialises it, for tests
    and for teaching (it is batch * in * out bytes).

    Args:
        out: caller-allocated C-contiguous uint8 array, shape (B, K, N).
        seed: the stream, an int in [0, 2**64).
        threshold: ``ceil(p * 2**32)`` (at most 2**32 - 1) for drop probability p.
        n_threads: upper bound on the OpenMP threads used (>= 1).

    Example::

        >>> m = np.empty((2, 3, 4), np.uint8)
        >>> dropconnect_mask(m, 7, 2**31, 1)  # p = 0.5
        >>> bool(np.array_equal(m, reference.dropconnect_mask(2, 3, 4, 7, 2**31)))
        True
    """
    cdef Py_ssize_t rows = out.shape[0] * out.shape[1], n = out.shape[2]
    cdef int t, chunks = split(rows, rows * n, n_threads)
    if rows == 0 or n == 0:
        return
    for t in prange(chunks, nogil=True, num_threads=chunks, schedule="static"):
        _mask_rows(&out[0, 0, 0], seed, threshold, t * rows // chunks, (t + 1) * rows // chunks, n)


def dropconnect_kept_count(Py_ssize_t batch, Py_ssize_t in_features, Py_ssize_t out_features,
                           uint64_t seed, uint32_t threshold, int n_threads):
    """How many of the (batch, in, out) mask's bits stream ``seed`` keeps: its sum, unbuilt.

    The mask bits alone, each hashed and compared and counted, with no weight read and
    no product. That makes it the floor under every DropConnect product, which does this
    much work and a multiply-add more for each bit (``bench/bench_dropout_family.py``
    times the two side by side), and a keep rate over billions of bits costs seconds and
    no memory.

    Args:
        batch, in_features, out_features: the mask's shape (B, K, N), each >= 0, with
            ``out_features < 2**32``.
        seed, threshold: the mask (see :func:`dropconnect_mask`).
        n_threads: upper bound on the OpenMP threads used (>= 1). Each thread counts whole
            rows and the counts are added as integers, so the total never depends on it.

    Example::

        >>> m = np.empty((2, 3, 4), np.uint8)
        >>> dropconnect_mask(m, 7, 2**31, 1)
        >>> dropconnect_kept_count(2, 3, 4, 7, 2**31, 1) == int(m.sum())
        True
    """
    if batch < 0 or in_features < 0 or not 0 <= out_features <= <Py_ssize_t>0xFFFFFFFF:
        raise ValueError(f"dropconnect_kept_count: bad mask shape ({batch}, {in_features}, "
                         f"{out_features})")
    cdef Py_ssize_t rows = batch * in_features
    cdef int t, chunks = split(rows, rows * out_features, n_threads)
    cdef uint64_t[::1] counts = np.zeros(chunks, np.uint64)
    if rows == 0 or out_features == 0:
        return 0
    for t in prange(chunks, nogil=True, num_threads=chunks, schedule="static"):
        counts[t] = _count_kept_rows(seed, threshold, t * rows // chunks,
                                     (t + 1) * rows // chunks, out_features)
    return int(np.sum(counts, dtype=np.uint64))


def dropconnect_forward(const floating[:, ::1] x, const floating[:, ::1] w, bias,
                        floating scale, floating[:, ::1] out, uint64_t seed, uint32_t threshold,
                        int n_threads):
    """``out[b] = scale * (x[b] @ (W * M_b)) + bias``, each example with its own weight mask.

    Args:
        x: (B, K) C-contiguous float32 or float64.
        w: (K, N) weights of the same dtype (inputs x outputs).
        bias: None, or a C-contiguous (N,) array of that dtype (never dropped).
        scale: the factor of kept weights, ``1/(1-p)`` or 1, in that dtype.
        out: caller-allocated (B, N) output.
        seed, threshold: the mask (see :func:`dropconnect_mask`).
        n_threads: upper bound on the OpenMP threads used (>= 1); the result does not
            depend on it.

    Example (p = 0: nothing dropped, a plain product)::

        >>> x = np.ones((2, 3)); w = np.ones((3, 4)); out = np.empty((2, 4))
        >>> dropconnect_forward(x, w, np.ones(4), 1.0, out, 7, 0, 1)
        >>> out
        array([[4., 4., 4., 4.],
               [4., 4., 4., 4.]])
    """
    cdef Py_ssize_t B = x.shape[0], K = x.shape[1], N = w.shape[1]
    cdef const floating[::1] bias_view
    cdef const floating* bias_ptr = NULL
    if w.shape[0] != K or out.shape[0] != B or out.shape[1] != N:
        raise ValueError(f"dropconnect_forward: shapes differ (x ({B}, {K}), "
                         f"w ({w.shape[0]}, {N}), out ({out.shape[0]}, {out.shape[1]}))")
    if bias is not None:
        bias_view = bias
        if bias_view.shape[0] != N:
            raise ValueError(f"dropconnect_forward: bias has length {bias_view.shape[0]}, "
                             f"w has {N} columns")
        if N > 0:
            bias_ptr = &bias_view[0]
    cdef int t, chunks = split(B, B * K * N, n_threads)
    if B == 0 or N == 0:
        return
    if K == 0:  # no weights: the empty sum, scaled, plus the bias
        out[:, :] = 0
        for t in range(B):
            _finish(&out[t, 0], bias_ptr, scale, N)
        return
    for t in prange(chunks, nogil=True, num_threads=chunks, schedule="static"):
        _forward(&x[0, 0], &w[0, 0], bias_ptr, scale, &out[0, 0], seed, threshold,
                 t * B // chunks, (t + 1) * B // chunks, K, N)


def dropconnect_backward_input(const floating[:, ::1] grad_out, const floating[:, ::1] wt,
                               floating scale, floating[:, ::1] grad_in, uint64_t seed,
                               uint32_t threshold, int n_threads):
    """``grad_in[b] = scale * ((W * M_b) @ grad_out[b])``: the gradient w.r.t. ``x``.

    Args:
        grad_out: (B, N) gradient w.r.t. the forward's output ``z`` (before the bias).
        wt: the *transposed* weights ``W.T``, C-contiguous (N, K).
        scale, seed, threshold: as in the forward.
        grad_in: caller-allocated (B, K) output.
        n_threads: upper bound on the OpenMP threads used (>= 1).
    """
    cdef Py_ssize_t B = grad_out.shape[0], N = grad_out.shape[1], K = wt.shape[1]
    if wt.shape[0] != N or grad_in.shape[0] != B or grad_in.shape[1] != K:
        raise ValueError(f"dropconnect_backward_input: shapes differ (grad_out ({B}, {N}), "
                         f"wt ({wt.shape[0]}, {K}), grad_in ({grad_in.shape[0]}, "
                         f"{grad_in.shape[1]}))")
    cdef int t, chunks = split(B, B * K * N, n_threads)
    if B == 0 or K == 0:
        return
    if N == 0:
        grad_in[:, :] = 0
        return
    # Each thread's row keys: (lo, hi) of the K weight rows of its current example.
    cdef uint32_t[:, ::1] keys = np.empty((chunks, 2 * K), np.uint32)
    for t in prange(chunks, nogil=True, num_threads=chunks, schedule="static"):
        _backward_input(&grad_out[0, 0], &wt[0, 0], scale, &grad_in[0, 0], &keys[t, 0],
                        &keys[t, K], seed, threshold, t * B // chunks, (t + 1) * B // chunks,
                        K, N)


def dropconnect_backward_weight(const floating[:, ::1] x, const floating[:, ::1] grad_out,
                                floating scale, floating[:, ::1] grad_w, uint64_t seed,
                                uint32_t threshold, int n_threads):
    """``grad_w = scale * sum_b outer(x[b], grad_out[b]) * M_b``: the gradient w.r.t. ``W``.

    Args:
        x: (B, K) forward input.
        grad_out: (B, N) gradient w.r.t. the forward's output.
        scale, seed, threshold: as in the forward.
        grad_w: caller-allocated (K, N) output (zeros when B = 0).
        n_threads: upper bound on the OpenMP threads used (>= 1).
    """
    cdef Py_ssize_t B = x.shape[0], K = x.shape[1], N = grad_out.shape[1]
    if grad_out.shape[0] != B or grad_w.shape[0] != K or grad_w.shape[1] != N:
        raise ValueError(f"dropconnect_backward_weight: shapes differ (x ({B}, {K}), "
                         f"grad_out ({grad_out.shape[0]}, {N}), grad_w ({grad_w.shape[0]}, "
                         f"{grad_w.shape[1]}))")
    cdef int t, chunks = split(K, B * K * N, n_threads)
    if K == 0 or N == 0:
        return
    if B == 0:
        grad_w[:, :] = 0
        return
    for t in prange(chunks, nogil=True, num_threads=chunks, schedule="static"):
        _backward_weight(&x[0, 0], &grad_out[0, 0], scale, &grad_w[0, 0], seed, threshold,
                         t * K // chunks, (t + 1) * K // chunks, B, K, N)
