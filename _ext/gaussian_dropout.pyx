"""Gaussian dropout (Srivastava et al., JMLR 2014, section 10), the compiled twin of ``reference``.

Each unit is multiplied by its own noise ``r = 1 + sigma * z`` with ``z ~ N(0, 1)``, so
``E[r] = 1`` (nothing to rescale at test time) and ``Var[r] = sigma**2 = p / (1 - p)``.

Design notes
------------
* Counter-based, as Bernoulli dropout (see ``dropout.pyx``): element ``i`` of stream
  ``seed`` hashes counters ``2i`` and ``2i + 1`` with ``splitmix64`` into two 53-bit
  uniforms and turns them into one normal by Box-Muller,
  ``z = sqrt(-2 log u1) cos(2 pi u2)``. So the noise depends on (seed, i) only: not on
  the thread count, and it can be regenerated from the seed instead of stored.
* Bit-identical to numpy on every CPU. ``log`` and ``cos`` are not the C library's (nor
  numpy's, which has its own SIMD versions on AVX-512 CPUs): both are written here with
  ``+ - * /``, ``sqrt``, ``floor`` and bit manipulation only, operations IEEE 754 rounds
  correctly, and ``reference.standard_normal`` performs the same operations in the same
  order, so the two agree bit for bit. The log is fdlibm's (Sun, 1993:
  ``log(m 2**e) = e ln2 + 2 atanh(s)``, ``s = (m-1)/(m+1)``, a minimax polynomial in
  ``s**2``); the cosine takes ``4 u2`` in quarter turns, so the range reduction is an
  exact subtraction of the nearest integer ``q``, and then a Taylor polynomial of
  ``cos(pi y / 2)`` or ``sin(pi y / 2)`` for ``|y| <= 1/2``. Measured: the log within
  1 ulp of the C library's on 10**7 points; the cosine within 1 ulp of the exact value
  (mpmath) on 2 * 10**4 points, and ``z`` within 3 ulps of the exact Box-Muller value,
  where the C library's ``sqrt(-2 log u1) cos(2 pi u2)`` is up to ~10**4 ulps off near
  the zeros of the cosine (``2 pi u2`` is rounded before the cosine sees it). The tests
  re-check smaller samples (test_kernels_gaussian_dropout.py).
* No fused multiply-add: GCC contracts ``a * b + c`` into one FMA under
  ``-march=native`` (rounding once where numpy rounds twice), so setup.py builds this
  extension, and only this one, with ``-ffp-contract=off`` (the GEMM needs its FMAs).
* Vectorised: everything is inline, the choices are selects (``a if c else b``; ``&``
  and ``|``, not ``and``/``or``, which Cython compiles to branches), and the integer ->
  double conversions go through the bits of the double (AVX2 has no instruction for
  64-bit integers). Two more flags of this extension let GCC vectorise the loop
  without changing a single result: ``-fno-math-errno`` (else ``sqrt`` keeps a branch
  to set ``errno`` for negative input, which cannot occur here) and
  ``-fno-trapping-math`` (else GCC will not compute both sides of a select when one
  might raise a floating-point exception flag; nothing here reads those flags).
* ``r`` is computed in float64 and rounded once to the array's dtype.
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport floor, sqrt
from libc.stdint cimport uint64_t
from libc.string cimport memcpy

from chunks cimport n_chunks
from elementwise cimport splitmix64

# Elements per thread below which an extra thread does not pay: about 50 us of work at
# a few ns per element (estimated, not measured).
cdef Py_ssize_t MIN_PER_THREAD = 8192

# Module constants are globals the compiler must reload; the ones the loop uses are
# local to the inline functions below instead, where they fold into the code.

cdef inline double from_bits(uint64_t bits) noexcept nogil:
    cdef double d
    memcpy(&d, &bits, sizeof(d))
    return d


cdef inline uint64_t to_bits(double d) noexcept nogil:
    cdef uint64_t bits
    memcpy(&bits, &d, sizeof(bits))
    return bits


cdef inline double exact_double(uint64_t k) noexcept nogil:
    """``k < 2**53`` as a double, exactly. The bits ``2**52 | (k mod 2**52)`` are the
    double ``2**52 + (k mod 2**52)``, which is ``k`` when bit 52 of k is set."""
    cdef double d = from_bits(0x4330000000000000ULL | (k & 0x000FFFFFFFFFFFFFULL))
    return d if (k >> 52) else d - 4503599627370496.0   # minus 2**52: k mod 2**52, exact


cdef inline double log_unit(double u) noexcept nogil:
    """``log(u)`` for a normal double ``u`` in ``(0, 1]`` (fdlibm's method; < 1 ulp).

    ``u = m 2**e`` with ``m`` in ``[sqrt(2)/2, sqrt(2))``, ``log u = e ln2 + log m`` and
    ``log m = 2 atanh(s)``, ``s = (m-1)/(m+1)``: fdlibm's e_log.c (Sun Microsystems, 1993),
    with its split of ln2 (``e * LN2_HI`` is exact) and its minimax coefficients Lg1..Lg7
    of ``(log m - 2s) / s`` in powers of ``s**2``. (``reference.log_unit``, op for op.)
    """
    cdef double LN2_HI = 6.93147180369123816490e-01, LN2_LO = 1.90821492927058770002e-10
    cdef double LG1 = 6.666666666666735130e-01, LG2 = 3.999999999940941908e-01
    cdef double LG3 = 2.857142874366239149e-01, LG4 = 2.222219843214978396e-01
    cdef double LG5 = 1.818357216161805012e-01, LG6 = 1.531383769920937332e-01
    cdef double LG7 = 1.479819860511658591e-01
    cdef uint64_t bits = to_bits(u)
    # m in [1, 2) from the mantissa bits, e from the exponent bits (exact)
    cdef double m = from_bits((bits & 0x000FFFFFFFFFFFFFULL) | 0x3FF0000000000000ULL)
    cdef double e = exact_double(bits >> 52) - 1023.0
    cdef bint high = m >= 1.4142135623730951       # sqrt(2): halve m into [sqrt(2)/2, 1)
    m = m * 0.5 if high else m
    e = e + 1.0 if high else e
    cdef double f = m - 1.0
    cdef double s = f / (2.0 + f)
    cdef double z = s * s
    cdef double w = z * z
    cdef double t1 = w * (LG2 + w * (LG4 + w * LG6))
    cdef double t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)))
    cdef double hfsq = 0.5 * f * f
    return e * LN2_HI - ((hfsq - (s * (hfsq + (t2 + t1)) + e * LN2_LO)) - f)


cdef inline double cos_quarter_turns(double t) noexcept nogil:
    """``cos(pi t / 2)`` for ``t`` in ``[0, 4)``, a multiple of 2**-51 (< 1 ulp).

    ``t = q + y`` with ``q`` the nearest integer and ``|y| <= 1/2``, both exact; then
    ``cos(q pi/2 + theta)`` is ``cos(theta)``, ``-sin(theta)``, ``-cos(theta)``,
    ``sin(theta)`` for ``q = 0, 1, 2, 3`` (and 4 = 0), ``theta = pi y / 2``: Taylor
    polynomials in ``y`` whose coefficients are ``(-1)**k (pi/2)**n / n!`` rounded
    (``reference.COS_QUARTER``, ``reference.SIN_QUARTER``; ``reference.cos_quarter_turns``).
    """
    cdef double C1 = -1.2337005501361697, C2 = 0.25366950790104803
    cdef double C3 = -0.02086348076335296, C4 = 0.0009192602748394266
    cdef double C5 = -2.5202042373060607e-05, C6 = 4.710874778818172e-07
    cdef double C7 = -6.386603083791852e-09, C8 = 6.565963114979473e-11
    cdef double S0 = 1.5707963267948966, S1 = -0.6459640975062463
    cdef double S2 = 0.07969262624616705, S3 = -0.004681754135318688
    cdef double S4 = 0.00016044118478735983, S5 = -3.598843235212085e-06
    cdef double S6 = 5.692172921967927e-08, S7 = -6.688035109811468e-10
    cdef double S8 = 6.0669357311061955e-12
    cdef double q = floor(t + 0.5)
    cdef double y = t - q
    cdef double w = y * y
    cdef double c = 1.0 + w * (C1 + w * (C2 + w * (C3 + w * (C4 + w * (C5 + w * (C6 + w * (
        C7 + w * C8)))))))
    cdef double s = y * (S0 + w * (S1 + w * (S2 + w * (S3 + w * (S4 + w * (S5 + w * (
        S6 + w * (S7 + w * S8))))))))
    # (& and |, not "and"/"or", which Cython compiles to branches)
    cdef double v = s if (q == 1.0) | (q == 3.0) else c
    return -v if (q == 1.0) | (q == 2.0) else v


cdef inline double standard_normal(uint64_t seed, uint64_t index) noexcept nogil:
    """The N(0, 1) draw of element ``index`` of stream ``seed`` (``reference.standard_normal``)."""
    # u1 = (k1 + 1) / 2**53 in (0, 1] (its log is finite); 4 u2 = k2 / 2**51 in [0, 4)
    cdef double u1 = (exact_double(splitmix64(seed, 2 * index) >> 11) + 1.0) * 2.0 ** -53
    cdef double t = exact_double(splitmix64(seed, 2 * index + 1) >> 11) * 2.0 ** -51
    return sqrt(-2.0 * log_unit(u1)) * cos_quarter_turns(t)


cdef void _gaussian_dropout(const floating* x, floating* out, bint multiply, uint64_t seed,
                            double inv_sigma, Py_ssize_t start, Py_ssize_t stop) noexcept nogil:
    """``out[i] = x[i] * r_i`` (``multiply``), or ``out[i] = r_i``, for start <= i < stop."""
    cdef Py_ssize_t i
    if multiply:
        for i in range(start, stop):
            out[i] = x[i] * <floating>(1.0 + standard_normal(seed, <uint64_t>i) / inv_sigma)
    else:
        for i in range(start, stop):
            out[i] = <floating>(1.0 + standard_normal(seed, <uint64_t>i) / inv_sigma)


cdef int _run(const floating* x, floating* out, bint multiply, Py_ssize_t n, uint64_t seed,
              double inv_sigma, int n_threads) except -1:
    """Split ``[0, n)`` into chunks (``chunks.pxd``), one thread each."""
    cdef int t, chunks = n_chunks(n, n_threads, MIN_PER_THREAD)
    if n == 0:
        return 0
    for t in prange(chunks, nogil=True, num_threads=chunks, schedule="static"):
        _gaussian_dropout(x, out, multiply, seed, inv_sigma, t * n // chunks,
                          (t + 1) * n // chunks)
    return 0


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
    _run(&x[0] if n > 0 else NULL, &out[0] if n > 0 else NULL, True, n, seed, inv_sigma,
         n_threads)


def gaussian_noise(floating[::1] out, uint64_t seed, double inv_sigma, int n_threads):
    """``out = r``, the noise of :func:`gaussian_dropout` itself (``x * r`` for x = 1).

    The fused dense layer (``matmul.fused_linear_forward`` with ``noise``) multiplies
    by it in the GEMM's write-back.

    Args:
        out: caller-allocated 1-D contiguous float32 or float64 output, length n.
        seed, inv_sigma, n_threads: as for :func:`gaussian_dropout`.

    Example::

        >>> out = np.empty(3)
        >>> gaussian_noise(out, 42, 1.0, 1)
        >>> bool(np.all(out == 1 + reference.standard_normal(3, 42)))
        True
    """
    cdef Py_ssize_t n = out.shape[0]
    _run(NULL, &out[0] if n > 0 else NULL, False, n, seed, inv_sigma, n_threads)
