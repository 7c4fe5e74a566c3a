"""The numpy twins of the compiled kernels: the readable spec, the test oracle, the fallback.

Each function here has exactly the signature of its Cython counterpart in ``_ext/``:
inputs are validated, C-contiguous numpy arrays; outputs are allocated by the caller
and written in place; ``n_threads`` is accepted and ignored (numpy decides for itself).
The compiled kernels must agree with these functions (bit for bit for relu, dropout
and Gaussian dropout; to rounding for matmul and max-norm); ``tests/kernels/`` checks it.

Dropout randomness is counter-based. One 64-bit ``seed`` is drawn per call; element
``i`` (in C order) is kept when ``splitmix64(seed, i) >> 11``, a uniform 53-bit
integer, is at least ``threshold = ceil(p * 2**53)``. So the element is kept with
probability ``1 - p``, and its fate depends only on (seed, i): never on how the work is
split between threads, nor on which implementation computed it. Gaussian dropout's
normal noise is counter-based the same way (:func:`standard_normal`).
"""
import numpy as np

GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)
MIX1 = np.uint64(0xBF58476D1CE4E5B9)
MIX2 = np.uint64(0x94D049BB133111EB)


def splitmix64(seed, index):
    """SplitMix64's output for counter ``index`` of stream ``seed`` (uint64 arrays).

    ``z = seed + (index + 1) * golden_gamma`` followed by the finaliser of Steele,
    Lea & Flood (2014), "Fast splittable pseudorandom number generators". Arithmetic
    is modulo 2**64, which numpy's uint64 arrays do silently.
    """
    z = np.uint64(seed) + (index + np.uint64(1)) * GOLDEN_GAMMA
    z = (z ^ (z >> np.uint64(30))) * MIX1
    z = (z ^ (z >> np.uint64(27))) * MIX2
    return z ^ (z >> np.uint64(31))


def keep_mask(n, seed, threshold):
    """The dropout keep-mask (bool, length n) of stream ``seed`` at ``threshold``."""
    index = np.arange(n, dtype=np.uint64)
    return (splitmix64(seed, index) >> np.uint64(11)) >= np.uint64(threshold)


# fdlibm's log (e_log.c): ln2 in two parts (e * LN2_HI is exact for |e| < 2**11) and the
# minimax coefficients Lg1..Lg7 of (log(1 + f) - 2s) / s in powers of s**2.
SQRT2 = 1.4142135623730951  # sqrt(2) rounded to double
LN2_HI, LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10
LOG_COEFFICIENTS = (6.666666666666735130e-01, 3.999999999940941908e-01,
                    2.857142874366239149e-01, 2.222219843214978396e-01,
                    1.818357216161805012e-01, 1.531383769920937332e-01,
                    1.479819860511658591e-01)
# Taylor coefficients of cos(pi y / 2) and sin(pi y / 2) in powers of y:
# COS_QUARTER[k - 1] = (-1)**k (pi/2)**2k / (2k)!, k = 1..8, and
# SIN_QUARTER[k] = (-1)**k (pi/2)**(2k+1) / (2k+1)!, k = 0..8, rounded to double. For
# |y| <= 1/2 the first omitted terms are below 3e-18 and 7e-17 (half an ulp).
COS_QUARTER = (-1.2337005501361697, 0.25366950790104803, -0.02086348076335296,
               0.0009192602748394266, -2.5202042373060607e-05, 4.710874778818172e-07,
               -6.386603083791852e-09, 6.565963114979473e-11)
SIN_QUARTER = (1.5707963267948966, -0.6459640975062463, 0.07969262624616705,
               -0.004681754135318688, 0.00016044118478735983, -3.598843235212085e-06,
               5.692172921967927e-08, -6.688035109811468e-10, 6.0669357311061955e-12)


def _horner(x, coefficients):
    """``c0 + x * (c1 + x * (c2 + ...))``, innermost first: the kernel's order of operations."""
    acc = coefficients[-1]
    for c in coefficients[-2::-1]:
        acc = c + x * acc
    return acc


def log_unit(u):
    """``log(u)`` for float64 ``u`` in ``(0, 1]`` (no subnormals), fdlibm's way, to < 1 ulp.

    ``u = m 2**e`` with ``m`` in ``[sqrt(2)/2, sqrt(2))`` (exact), then
    ``log u = e ln2 + log m`` and ``log m = 2 atanh(s) = 2s + s * R(s**2)``,
    ``s = (m - 1)/(m + 1)``, written as fdlibm evaluates it to keep the rounding small.
    Only ``+ - * /`` (each correctly rounded) on doubles: the compiled kernel performs
    the same operations in the same order and gets the same bits on every CPU.
    """
    m, e = np.frexp(u)                          # u = m 2**e, m in [1/2, 1): exact
    low = m < 0.5 * SQRT2                       # as the kernel's 2m < sqrt(2)
    m = np.where(low, m * 2.0, m)               # m in [sqrt(2)/2, sqrt(2))
    e = np.where(low, e - 1, e).astype(np.float64)
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    lg1, lg2, lg3, lg4, lg5, lg6, lg7 = LOG_COEFFICIENTS
    t1 = w * (lg2 + w * (lg4 + w * lg6))
    t2 = z * (lg1 + w * (lg3 + w * (lg5 + w * lg7)))
    hfsq = 0.5 * f * f
    return e * LN2_HI - ((hfsq - (s * (hfsq + (t2 + t1)) + e * LN2_LO)) - f)


def cos_quarter_turns(t):
    """``cos(pi t / 2)`` for float64 ``t`` in ``[0, 4)`` (multiples of 2**-51), to < 1 ulp.

    ``q = floor(t + 1/2)`` and ``y = t - q`` in ``[-1/2, 1/2]`` are exact, and
    ``cos(q pi/2 + pi y/2)`` is ``cos``, ``-sin``, ``-cos``, ``sin`` of ``pi y / 2`` for
    ``q = 0, 1, 2, 3`` (4 is 0 again): Taylor polynomials in ``y`` (``COS_QUARTER``,
    ``SIN_QUARTER``), so no rounded multiple of pi is ever subtracted.
    """
    q = np.floor(t + 0.5)
    y = t - q
    w = y * y
    c = 1.0 + w * _horner(w, COS_QUARTER)
    s = y * _horner(w, SIN_QUARTER)
    v = np.where((q == 1.0) | (q == 3.0), s, c)
    return np.where((q == 1.0) | (q == 2.0), -v, v)


def standard_normal(n, seed):
    """``n`` standard normal draws (float64) of stream ``seed``, by Box-Muller on hashed uniforms.

    Element ``i`` hashes counters ``2i`` and ``2i + 1`` into two 53-bit uniforms,
    ``u1 = ((splitmix64(seed, 2i) >> 11) + 1) / 2**53`` in (0, 1] (so its log is finite) and
    ``u2 = (splitmix64(seed, 2i + 1) >> 11) / 2**53`` in [0, 1), and returns

        z_i = sqrt(-2 log u1) * cos(2 pi u2)        (Box & Muller, 1958),

    which is N(0, 1). (The pair's other normal, ``sqrt(-2 log u1) sin(2 pi u2)``, is not
    used: each element owns its two counters, so its draw depends on (seed, i) alone.)
    ``|z|`` is at most ``sqrt(106 log 2) = 8.57``.

    ``log`` and ``cos`` are :func:`log_unit` and :func:`cos_quarter_turns` (of
    ``4 u2``, in quarter turns), not numpy's or the C library's, whose last bits vary
    between CPUs and libraries: built from correctly rounded operations only, they
    give the compiled kernel's bits everywhere. Each is within an ulp of the exact
    function, so ``z`` is within a few ulps of ``np.sqrt(-2 np.log(u1)) np.cos(2 np.pi u2)``.

    Example::

        >>> z = standard_normal(100_000, seed=1)
        >>> bool(abs(z.mean()) < 0.02 and abs(z.var() - 1) < 0.03)  # 5 standard errors
        True
    """
    index = np.arange(n, dtype=np.uint64) * np.uint64(2)
    u1 = ((splitmix64(seed, index) >> np.uint64(11)) + np.uint64(1)) * 2.0**-53
    t = (splitmix64(seed, index + np.uint64(1)) >> np.uint64(11)) * 2.0**-51   # 4 u2
    return np.sqrt(-2.0 * log_unit(u1)) * cos_quarter_turns(t)


def gaussian_noise(out, seed, inv_sigma, n_threads):
    """``out = r``, the noise ``r = 1 + z / inv_sigma``, ``z = standard_normal(n, seed)``.

    ``r`` is computed in float64 and rounded once to the dtype of ``out``.
    ``inv_sigma = 1/sigma`` (``inf`` gives r = 1 exactly). The noise is divided by
    ``1/sigma`` rather than multiplied by ``sigma`` because a C compiler may fuse
    ``1 + sigma * z`` into one fused multiply-add (GCC does by default on FMA hardware),
    rounding once where numpy rounds twice; no instruction fuses a division and an
    addition. (The compiled kernel is also built without contraction: see setup.py.)
    """
    out[...] = 1.0 + standard_normal(out.size, seed) / inv_sigma


def gaussian_dropout(x, out, seed, inv_sigma, n_threads):
    """``out = x * r`` with the noise ``r`` of :func:`gaussian_noise`, multiplied in x's dtype.

    Forward and backward are this one product: ``d out / d x = r``.
    """
    r = np.empty_like(x)
    gaussian_noise(r, seed, inv_sigma, n_threads)
    np.multiply(x, r, out=out)


def gemm(a, b, out, trans_a, trans_b, n_threads):
    """``out = op(a) @ op(b)``, where op transposes when its flag is set."""
    np.matmul(a.T if trans_a else a, b.T if trans_b else b, out=out)


def fused_linear_forward(a, b, out, trans_a, trans_b, bias, relu, dropout, seed, threshold,
                         scale, n_threads, noise=None):
    """``out = dropout(relu(op(a) @ op(b) + bias))``; each step only when asked for.

    ``bias`` is None or an (n,) array; ``relu`` and ``dropout`` are flags; ``seed``,
    ``threshold`` and ``scale`` are dropout's, as for :func:`dropout_forward` (element
    ``(i, j)`` of the (m, n) output has counter ``i*n + j``). No mask is returned.
    ``noise``: None, or Gaussian noise ``r`` (m, n) (with ``relu``, without ``dropout``):
    ``out = relu(...) * r``, and ``noise`` becomes the slope, ``r`` where the ReLU's
    output is > 0 and NaN elsewhere (``r`` is never NaN).
    """
    gemm(a, b, out, trans_a, trans_b, n_threads)
    flat = out.reshape(-1)  # a view: out is C-contiguous
    if bias is not None:
        out += bias
    if relu:
        relu_forward(flat, flat, n_threads)
    if dropout:
        dropout_forward(flat.copy(), flat, np.empty(flat.size, np.uint8), seed, threshold,
                        scale, n_threads)
    if noise is not None:
        passed = out > 0
        out *= noise
        noise[~passed] = np.nan


def relu_forward(x, out, n_threads):
    """``out = x`` where ``x > 0``, else 0 (NaN stays NaN; -0.0 becomes +0.0)."""
    out[...] = np.where(x <= 0, 0, x)


def relu_backward(grad_out, y, grad_in, n_threads):
    """``grad_in = grad_out`` where the forward output ``y > 0``, else 0."""
    grad_in[...] = np.where(y > 0, grad_out, 0)


def dropout_forward(x, out, mask, seed, threshold, scale, n_threads):
    """Draw the keep-mask into ``mask`` (uint8 0/1); ``out = x * scale`` where kept, else 0."""
    keep = keep_mask(x.size, seed, threshold)
    mask[...] = keep
    out[...] = 0
    np.multiply(x, scale, out=out, where=keep)  # dropped units never touch x: inf*0 is not NaN


def dropout_backward(grad_out, mask, scale, grad_in, n_threads):
    """``grad_in = grad_out * scale`` where ``mask`` is 1, else 0."""
    grad_in[...] = 0
    np.multiply(grad_out, scale, out=grad_in, where=mask.view(bool))


def fused_linear_backward(grad_out, y, scale, grad_in, grad_bias, n_threads):
    """``grad_in = grad_out * scale`` where ``y > 0``, else 0; ``grad_bias``: its column sums.

    For ``y = dropout(relu(z))`` with kept units scaled by ``scale``, ``y > 0`` exactly
    where the unit was kept and ``z > 0``: that is the whole mask. Arrays are (m, n);
    ``grad_bias[j] = 0 + grad_in[0, j] + ... + grad_in[m-1, j]``, left to right, in the dtype.
    """
    grad_in[...] = 0
    np.multiply(grad_out, scale, out=grad_in, where=y > 0)
    _column_sums(grad_in, grad_bias)


def fused_linear_backward_noise(grad_out, slope, grad_in, grad_bias, n_threads):
    """``grad_in = grad_out * slope`` where ``slope`` is not NaN, else 0; ``grad_bias`` its sums.

    ``slope`` is what the Gaussian :func:`fused_linear_forward` left in ``noise``.
    """
    grad_in[...] = 0
    np.multiply(grad_out, slope, out=grad_in, where=slope == slope)
    _column_sums(grad_in, grad_bias)


def _column_sums(grad_in, grad_bias):
    """``grad_bias[j] = 0 + grad_in[0, j] + ... + grad_in[m-1, j]`` in row order (None: skip)."""
    if grad_bias is not None:
        m, n = grad_in.shape
        if n == 1 and m > 0:
            # numpy sums a single contiguous column pairwise; add in row order instead
            # (accumulate starts from row 0: adding +0.0 turns an all -0.0 sum into +0.0).
            grad_bias[...] = np.add.accumulate(grad_in[:, 0])[-1] + grad_in.dtype.type(0)
        else:
            # numpy's axis-0 sum of a C-contiguous array starts from +0.0 and adds whole
            # rows in order: the spec, exactly.
            grad_in.sum(axis=0, out=grad_bias)


def max_norm_columns(w, c, n_threads):
    """Project each column of ``w`` (in place) onto the L2 ball of radius ``c``.

    Norms are accumulated in float64. A column whose norm exceeds ``c`` is multiplied
    by ``c / norm``; every other column is left untouched, bit for bit.
    """
    norms = np.sqrt(np.einsum("ij,ij->j", w, w, dtype=np.float64))
    over = norms > c
    w[:, over] *= (c / norms[over]).astype(w.dtype)


def sgd_update(w, g, v, lr, momentum, weight_decay, nesterov, n_threads):
    """One SGD step in place: see ``minigrad.optim.SGD`` for the formula.

    ``g <- g + weight_decay * w``; if momentum: ``v <- momentum * v + g`` and the
    direction is ``g + momentum * v`` (Nesterov) or ``v``; ``w <- w - lr * direction``.
    All arithmetic in the parameter's dtype; ``v`` is untouched when momentum is 0.
    """
    dtype = w.dtype.type
    lr, momentum, weight_decay = dtype(lr), dtype(momentum), dtype(weight_decay)
    if weight_decay != 0:
        g = g + weight_decay * w
    if momentum != 0:
        v *= momentum
        v += g
        g = g + momentum * v if nesterov else v
    w -= lr * g


def sgd_update_max_norm(w, g, v, cols, lr, momentum, weight_decay, nesterov, c, n_threads):
    """:func:`sgd_update` of the flattened ``(rows, cols)`` matrix ``w``, then
    :func:`max_norm_columns` of it with bound ``c`` (the compiled kernel fuses the two)."""
    sgd_update(w, g, v, lr, momentum, weight_decay, nesterov, n_threads)
    max_norm_columns(w.reshape(-1, cols), c, n_threads)


def alpha_dropout_forward(x, out, mask, seed, threshold, alpha_prime, shift, a, n_threads):
    """Draw the keep-mask into ``mask`` (uint8 0/1), then :func:`alpha_dropout_masked`.

    The mask is :func:`keep_mask`, Bernoulli dropout's: the same seed and threshold keep
    the same units.
    """
    mask[...] = keep_mask(x.size, seed, threshold)
    alpha_dropout_masked(x, mask, out, alpha_prime, shift, a, n_threads)


def alpha_dropout_masked(x, mask, out, alpha_prime, shift, a, n_threads):
    """``out = ((x if mask else alpha_prime) + shift) * a``, in the dtype of ``x``.

    The scalars are already in that dtype. The affine map ``a * y + b`` is computed as
    ``(y + b/a) * a``, an addition then a multiplication, each rounded: a C compiler may
    fuse ``a * y + b`` into one FMA (rounded once), but never an addition followed by a
    multiplication, so the compiled kernel rounds as numpy does here.
    """
    np.add(np.where(mask.view(bool), x, alpha_prime), shift, out=out)
    np.multiply(out, a, out=out)
# --- DropConnect (Wan et al., ICML 2013): per-example weight masks, never stored -------

LOWBIAS_MUL1 = np.uint32(0x7FEB352D)
LOWBIAS_MUL2 = np.uint32(0x846CA68B)
GOLDEN32 = np.uint32(0x9E3779B9)


def lowbias32(x):
    """Wellons's lowbias32 mixer of uint32 arrays (a bijection; arithmetic modulo 2**32).

    Two rounds of xorshift and multiply with constants found by search for low avalanche
    bias (C. Wellons, "Prospecting for hash functions", 2018).
    """
    x = x ^ (x >> np.uint32(16))
    x = x * LOWBIAS_MUL1
    x = x ^ (x >> np.uint32(15))
    x = x * LOWBIAS_MUL2
    return x ^ (x >> np.uint32(16))


def dropconnect_rows(seed, first_row, rows, n, threshold):
    """The keep bits (bool, (rows, n)) of weight-mask rows ``first_row .. first_row + rows - 1``.

    Row ``r = b*K + k`` is the mask of the weights leaving input ``k`` for example ``b``;
    its bit ``j`` (output unit ``j``) is

        key = splitmix64(seed, r)
        h   = lowbias32(lo32(key) + j * 0x9E3779B9) ^ hi32(key)      (modulo 2**32)
        kept  iff  h >= threshold = ceil(p * 2**32).

    One 64-bit hash per row, then one 32-bit hash per bit: 32-bit multiplies vectorise
    where 64-bit ones do not (``_ext/dropconnect.pyx`` says why that matters).
    """
    key = splitmix64(seed, np.arange(first_row, first_row + rows, dtype=np.uint64))
    lo = key.astype(np.uint32)[:, None]  # astype keeps the low 32 bits
    hi = (key >> np.uint64(32)).astype(np.uint32)[:, None]
    h = lowbias32(lo + np.arange(n, dtype=np.uint32) * GOLDEN32) ^ hi
    return h >= np.uint32(threshold)


def dropconnect_mask(out, seed, threshold, n_threads):
    """Write the (B, K, N) keep-mask (uint8 0/1) of stream ``seed``: ``out[b, k, n]`` is bit
    ``n`` of row ``b*K + k`` (:func:`dropconnect_rows`)."""
    batch, k, n = out.shape
    out[...] = dropconnect_rows(seed, 0, batch * k, n, threshold).reshape(out.shape)


def dropconnect_kept_count(batch, in_features, out_features, seed, threshold, n_threads):
    """How many bits of the (B, K, N) mask stream ``seed`` keeps: the mask's sum, a block of
    rows at a time (at most about 2**20 bits in memory)."""
    rows, total = batch * in_features, 0
    step = max(1, 2**20 // max(out_features, 1))
    for first in range(0, rows, step):
        total += int(dropconnect_rows(seed, first, min(step, rows - first), out_features,
                                      threshold).sum())
    return total


def dropconnect_forward(x, w, bias, scale, out, seed, threshold, n_threads):
    """``out[b] = scale * (x[b] @ (W * M_b)) + bias``, one example (and its mask) at a time.

    ``W * M_b`` is ``where(M_b, W, 0)``: a dropped weight is 0 even where W is inf.
    The scale multiplies the finished sums, then the bias is added. ``bias`` may be None.
    """
    batch, k = x.shape
    for b in range(batch):
        out[b] = x[b] @ np.where(dropconnect_rows(seed, b * k, k, w.shape[1], threshold), w, 0)
    out *= scale
    if bias is not None:
        out += bias


def dropconnect_backward_input(grad_out, wt, scale, grad_in, seed, threshold, n_threads):
    """``grad_in[b] = scale * ((W * M_b) @ grad_out[b])``; ``wt`` is ``W.T``, shape (N, K)."""
    n, k = wt.shape
    for b in range(grad_out.shape[0]):
        masked = np.where(dropconnect_rows(seed, b * k, k, n, threshold), wt.T, 0)
        grad_in[b] = masked @ grad_out[b]
    grad_in *= scale


def dropconnect_backward_weight(x, grad_out, scale, grad_w, seed, threshold, n_threads):
    """``grad_w = scale * sum_b x[b][:, None] * (grad_out[b] * M_b)``, examples added in order.

    Where a weight was dropped the gradient row is a 0 (the select is on ``grad_out``, as
    the kernel's), so ``inf * dropped`` is NaN as in any product with a zero.
    """
    batch, k = x.shape
    grad_w[...] = 0
    for b in range(batch):
        keep = dropconnect_rows(seed, b * k, k, grad_out.shape[1], threshold)
        grad_w += x[b][:, None] * np.where(keep, grad_out[b], 0)
    grad_w *= scale
