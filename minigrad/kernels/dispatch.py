"""The only door to the kernels: validate, allocate, then call the selected implementation.

The compiled kernels run with bounds checks off, so nothing reaches them unchecked.
Every function here

1. checks dtypes (float32 or float64, the same for every operand) and shapes, raising
   ``TypeError``/``ValueError`` that name the offending argument;
2. makes inputs C-contiguous (a transposed view is handled by flipping a flag, not
   by copying; any other strided view is copied);
3. allocates the output, and calls the implementation chosen in ``minigrad.kernels.backend``
   with the current thread count.

Scalar arguments (a drop probability, a seed, a flag) are checked with
``minigrad.checks``, the validators the layers use: these functions are public too
(the bench scripts and tests call them), so they refuse a bad value with the same
message a layer gives.

Autograd code calls these functions and nothing below them.
"""
import math

import numpy as np

from ..checks import check_bool, check_choice, check_int, check_probability, check_real
from . import backend, reference

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_float_array(name, x):
    """Raise TypeError unless ``x`` is a float32/float64 numpy array."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(x).__name__}")
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must have dtype float32 or float64, got {x.dtype}")


def check_same_dtype(op, name_a, a, name_b, b):
    """Raise TypeError unless the arrays ``a`` and ``b`` (named ``name_a``, ``name_b``) share a dtype."""
    if a.dtype != b.dtype:
        raise TypeError(f"{op}: operands must have the same dtype, but {name_a} is {a.dtype}, "
                        f"{name_b} is {b.dtype}")


def dropout_threshold(p):
    """The kernels' keep threshold for drop probability ``p``: ``ceil(p * 2**53)``."""
    return math.ceil(p * 2.0**53)


def _as_c_matrix(x):
    """Return (C-contiguous 2-D array, transposed?) for a 2-D float array."""
    if x.flags.c_contiguous:
        return x, False
    if x.flags.f_contiguous:
        return x.T, True
    return np.ascontiguousarray(x), False


def _product_shape(op, left, right):
    """Check the operands of a matrix product; return the (m, n) shape of the result.

    ``left`` and ``right`` are ``(name, array, transposed?)``: both must be 2-D float
    arrays of one dtype whose inner dimensions align (the message names both shapes).
    """
    (name_a, a, trans_a), (name_b, b, trans_b) = left, right
    check_float_array(name_a, a)
    check_float_array(name_b, b)
    check_same_dtype(op, name_a, a, name_b, b)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"{op} needs 2-D {name_a} and {name_b}, got shapes {a.shape} and {b.shape}")
    m, k = (a.shape[1], a.shape[0]) if trans_a else a.shape
    k2, n = (b.shape[1], b.shape[0]) if trans_b else b.shape
    if k != k2:
        shape_a = f"{a.shape}{'.T' if trans_a else ''}"
        shape_b = f"{b.shape}{'.T' if trans_b else ''}"
        raise ValueError(f"{op}: shapes {shape_a} and {shape_b} do not align "
                         f"(inner dimensions {k} != {k2})")
    return m, n


def matmul(a, b, trans_a=False, trans_b=False):
    """Return ``op(a) @ op(b)`` for 2-D float arrays; op transposes when its flag is set.

    Transposed operands are never materialised: a transposed (Fortran-ordered) view is
    passed to the kernel as its C-ordered base with the flag flipped.
    """
    m, n = _product_shape("matmul", ("a", a, trans_a), ("b", b, trans_b))
    a, flip_a = _as_c_matrix(a)
    b, flip_b = _as_c_matrix(b)
    out = np.empty((m, n), dtype=a.dtype)
    backend.implementations["matmul"].gemm(a, b, out, trans_a != flip_a, trans_b != flip_b,
                                           backend.get_num_threads())
    return out


def fused_linear_forward(x, w, bias=None, relu=False, p=0.0, seed=None, inverted=True,
                         noise="bernoulli"):
    """Return ``dropout(relu(x @ w + bias))``, a dense layer's forward, in one fused kernel.

    Each step is optional: ``bias`` None skips the addition, ``relu`` False the ReLU,
    ``p == 0`` the dropout. Dropout keeps each unit with probability ``1 - p`` and
    scales kept units by ``1/(1-p)`` (by 1 when ``inverted`` is False); unit ``(i, j)``
    of the (m, n) output is kept iff element ``i*n + j`` is kept by
    :func:`dropout_forward` with the same ``seed``. The result is bit-identical to
    ``matmul``, ``+ bias``, :func:`relu_forward` and :func:`dropout_forward` in turn;
    no mask is returned, because :func:`fused_linear_backward` needs only the output.

    ``noise="gaussian"`` (needs ``relu``) multiplies ``relu(x @ w + bias)`` by Gaussian
    dropout's noise ``r`` instead, that of :func:`gaussian_dropout_forward` with the same
    ``p`` (in [0, 1): ``sigma**2 = p/(1-p)``) and ``seed``, bit for bit, and returns
    ``(y, slope)``: ``slope = dy/dz``, the noise ``r`` where the ReLU passed the unit and
    NaN where it did not, for :func:`fused_linear_backward_noise`. (``y`` alone cannot
    say where the ReLU passed: ``relu(z) * r`` is negative where ``r < 0`` and can
    underflow to 0.) ``inverted`` does not apply: the noise has mean 1 already.

    Args:
        x: (m, k) float32/float64 array (a transposed view is not copied).
        w: (k, n) array of the same dtype (weights stored inputs x outputs).
        bias: None or an (n,) array of the same dtype.
        relu: apply ReLU (a bool).
        p: drop probability in [0, 1].
        seed: int in [0, 2**64), required when ``p > 0`` (draw it with
            ``minigrad.random.draw_seed``).
        inverted: scale kept units by ``1/(1-p)`` (True) or not at all (False).
        noise: ``"bernoulli"`` (dropout) or ``"gaussian"`` (Gaussian dropout).

    Example::

        >>> x = np.ones((2, 3), np.float32); w = np.ones((3, 4), np.float32)
        >>> b = np.zeros(4, np.float32)
        >>> fused_linear_forward(x, w, bias=b, relu=True, p=0.5, seed=7).shape
        (2, 4)
        >>> y, slope = fused_linear_forward(x, w, b, True, 0.5, 7, noise="gaussian")
        >>> bool(np.all(y == 3 * slope))  # every unit passed the ReLU: y = 3 r
        True
    """
    m, n = _product_shape("fused_linear_forward", ("x", x, False), ("w", w, False))
    if bias is not None:
        check_float_array("bias", bias)
        check_same_dtype("fused_linear_forward", "x", x, "bias", bias)
        if bias.shape != (n,):
            raise ValueError(f"fused_linear_forward: bias shape {bias.shape} != ({n},), "
                             f"the columns of w {w.shape}")
        bias = np.ascontiguousarray(bias)
    relu = check_bool("relu", relu)
    inverted = check_bool("inverted", inverted)
    gaussian = check_choice("fused_linear_forward: noise", noise,
                            ("bernoulli", "gaussian")) == "gaussian"
    if gaussian:
        p = check_probability("gaussian dropout probability p", p, allow_one=False)
        if not relu:
            raise ValueError("fused_linear_forward: Gaussian noise is fused only after a ReLU")
    else:
        p = check_probability("dropout probability p", p)
    dropout = p > 0
    if dropout or seed is not None:
        seed = check_int("dropout seed", seed, minimum=0, maximum=2**64 - 1)
    x, flip_x = _as_c_matrix(x)
    w, flip_w = _as_c_matrix(w)
    out = np.empty((m, n), dtype=x.dtype)
    slope = None
    if gaussian:
        slope = np.ones((m, n), dtype=x.dtype)  # r = 1 exactly when p = 0
        if dropout:
            backend.implementations["gaussian_dropout"].gaussian_noise(
                slope.reshape(-1), seed, gaussian_dropout_inverse_sigma(p),
                backend.get_num_threads())
        dropout = False
    backend.implementations["matmul"].fused_linear_forward(
        x, w, out, flip_x, flip_w, bias, relu, dropout, seed if dropout else 0,
        dropout_threshold(p), dropout_scale(p, x.dtype, inverted), backend.get_num_threads(),
        noise=slope)
    return (out, slope) if gaussian else out


def _check_backward_pair(op, grad_out, name, other):
    """``grad_out`` and ``other`` (named ``name``): 2-D float arrays of one dtype and shape."""
    check_float_array("grad_out", grad_out)
    check_float_array(name, other)
    check_same_dtype(op, "grad_out", grad_out, name, other)
    if grad_out.ndim != 2 or grad_out.shape != other.shape:
        raise ValueError(f"{op} needs 2-D grad_out and {name} of one shape, "
                         f"got {grad_out.shape} and {other.shape}")


def fused_linear_backward(grad_out, y, p, inverted=True, bias_grad=True):
    """Return ``(grad_in, grad_bias)``, gradients w.r.t. ``z = x @ w + bias`` and ``bias``.

    The backward of ``y = dropout(relu(z))`` (the output of :func:`fused_linear_forward`).

    ``d y / d z = scale`` where ``y > 0`` (the unit was kept and ReLU passed it), else 0,
    with ``scale = 1/(1-p)`` (1 when ``inverted`` is False): so
    ``grad_in = grad_out * scale`` where ``y > 0``, else 0, and
    ``grad_bias = grad_in.sum(axis=0)`` (added in row order; None unless ``bias_grad``).
    With ``p = 0`` it is the backward of ReLU alone (and the bias sum).

    Args:
        grad_out: (m, n) gradient w.r.t. ``y``, float32 or float64.
        y: the (m, n) forward output (of :func:`fused_linear_forward`), same dtype.
        p: the drop probability used in the forward.
        inverted: as in the forward.
        bias_grad: also return the bias gradient, an (n,) array.

    Example::

        >>> g = np.ones((2, 2)); y = np.array([[0.0, 2.0], [2.0, 2.0]])
        >>> fused_linear_backward(g, y, 0.5)
        (array([[0., 2.],
               [2., 2.]]), array([2., 4.]))
    """
    _check_backward_pair("fused_linear_backward", grad_out, "y", y)
    p = check_probability("dropout probability p", p)
    inverted = check_bool("inverted", inverted)
    bias_grad = check_bool("bias_grad", bias_grad)
    g = np.ascontiguousarray(grad_out)
    yc = np.ascontiguousarray(y)
    grad_in = np.empty_like(g)
    grad_bias = np.empty(g.shape[1], dtype=g.dtype) if bias_grad else None
    backend.implementations["fused_linear"].fused_linear_backward(
        g, yc, dropout_scale(p, g.dtype, inverted), grad_in, grad_bias,
        backend.get_num_threads())
    return grad_in, grad_bias


def fused_linear_backward_noise(grad_out, slope, bias_grad=True):
    """Return ``(grad_in, grad_bias)`` for the Gaussian :func:`fused_linear_forward`.

    ``grad_in = grad_out * slope`` where ``slope`` (the forward's second result: the
    noise ``r`` where the ReLU passed the unit, NaN elsewhere) is not NaN, else 0: bit for
    bit :func:`gaussian_dropout_backward` followed by :func:`relu_backward`.
    ``grad_bias = grad_in.sum(axis=0)`` (in row order; None unless ``bias_grad``).

    Example::

        >>> g = np.ones((1, 3)); slope = np.array([[np.nan, 0.5, -2.0]])
        >>> fused_linear_backward_noise(g, slope)
        (array([[ 0. ,  0.5, -2. ]]), array([ 0. ,  0.5, -2. ]))
    """
    _check_backward_pair("fused_linear_backward_noise", grad_out, "slope", slope)
    bias_grad = check_bool("bias_grad", bias_grad)
    g = np.ascontiguousarray(grad_out)
    grad_in = np.empty_like(g)
    grad_bias = np.empty(g.shape[1], dtype=g.dtype) if bias_grad else None
    backend.implementations["fused_linear"].fused_linear_backward_noise(
        g, np.ascontiguousarray(slope), grad_in, grad_bias, backend.get_num_threads())
    return grad_in, grad_bias


def _flat(name, x):
    """A C-contiguous 1-D view (or copy) of a float array."""
    check_float_array(name, x)
    return np.ascontiguousarray(x).reshape(-1)


def relu_forward(x):
    """Return ``max(x, 0)`` elementwise (NaN propagates)."""
    flat = _flat("x", x)
    out = np.empty_like(flat)
    backend.implementations["relu"].relu_forward(flat, out, backend.get_num_threads())
    return out.reshape(x.shape)


def relu_backward(grad_out, y):
    """Return the gradient of ReLU: ``grad_out`` where the output ``y > 0``, else 0."""
    check_float_array("grad_out", grad_out)
    check_float_array("y", y)
    if grad_out.shape != y.shape:
        raise ValueError(f"relu_backward: grad_out shape {grad_out.shape} != output shape {y.shape}")
    g, yf = _flat("grad_out", grad_out), _flat("y", y)
    check_same_dtype("relu_backward", "grad_out", g, "y", yf)
    grad_in = np.empty_like(g)
    backend.implementations["relu"].relu_backward(g, yf, grad_in, backend.get_num_threads())
    return grad_in.reshape(grad_out.shape)


def dropout_scale(p, dtype, inverted=True):
    """The factor applied to kept units, in ``dtype``.

    Inverted dropout: 1/(1-p) (0 when p == 1, where every unit is dropped anyway).
    Otherwise (the paper's weight-scaling rule) 1: kept units pass unchanged.
    """
    if not inverted:
        return dtype.type(1.0)
    return dtype.type(0.0 if p == 1.0 else 1.0 / (1.0 - p))


def dropout_forward(x, p, seed, inverted=True):
    """Return ``(out, mask)``: the keep-mask (uint8) drawn from ``seed``, and ``x`` thinned by it.

    Each element is kept with probability ``1 - p`` and then scaled by ``1/(1-p)``
    (by 1 when ``inverted`` is False); dropped elements are exactly 0. The mask depends only on ``seed`` and the element's
    C-order index (see ``minigrad.kernels.reference``).
    """
    p = check_probability("dropout probability p", p)
    flat = _flat("x", x)
    seed = check_int("dropout seed", seed, minimum=0, maximum=2**64 - 1)
    threshold = dropout_threshold(p)
    out = np.empty_like(flat)
    mask = np.empty(flat.shape, dtype=np.uint8)
    backend.implementations["dropout"].dropout_forward(
        flat, out, mask, seed, threshold, dropout_scale(p, flat.dtype, inverted),
        backend.get_num_threads())
    return out.reshape(x.shape), mask.reshape(x.shape)


def apply_dropout_mask(x, mask, p, inverted=True):
    """Return ``x * mask / (1-p)`` (0 where ``mask`` is 0) for a uint8 0/1 ``mask``.

    With ``inverted=False`` kept elements are not scaled: ``x * mask``.

    This is dropout's backward (x is then the upstream gradient) and also its forward
    when the mask is given rather than drawn. One kernel, ``dropout_backward``, serves both.
    """
    p = check_probability("dropout probability p", p)
    flat = _flat("x", x)
    m = _flat_kernel_mask("dropout", x, mask)
    out = np.empty_like(flat)
    backend.implementations["dropout"].dropout_backward(
        flat, m, dropout_scale(p, flat.dtype, inverted), out, backend.get_num_threads())
    return out.reshape(x.shape)


def gaussian_dropout_inverse_sigma(p):
    """``1 / sigma = sqrt((1 - p) / p)`` for drop probability ``p`` in [0, 1) (inf at p = 0).

    Gaussian dropout's noise has variance ``sigma**2 = p / (1 - p)``; the kernels divide
    by ``1/sigma`` (see ``minigrad.kernels.reference.gaussian_dropout`` for why).
    """
    return math.inf if p == 0.0 else math.sqrt((1.0 - p) / p)


def _multiply_by_gaussian_noise(name, x, p, seed):
    """``x * r`` for the noise ``r`` of stream ``seed`` at drop probability ``p``."""
    p = check_probability("gaussian dropout probability p", p, allow_one=False)
    flat = _flat(name, x)
    seed = check_int("gaussian dropout seed", seed, minimum=0, maximum=2**64 - 1)
    out = np.empty_like(flat)
    backend.implementations["gaussian_dropout"].gaussian_dropout(
        flat, out, seed, gaussian_dropout_inverse_sigma(p), backend.get_num_threads())
    return out.reshape(x.shape)


def gaussian_dropout_forward(x, p, seed):
    """Return ``x * r``: each element times its own noise ``r = 1 + sigma * z``, ``z ~ N(0, 1)``.

    ``sigma**2 = p / (1 - p)`` for drop probability ``p`` in [0, 1). The noise of element
    ``i`` (C order) depends only on ``seed`` and ``i``
    (``minigrad.kernels.reference.standard_normal``); it is not returned, because the
    backward regenerates it from the seed.

    Example::

        >>> y = gaussian_dropout_forward(np.ones((2, 3)), 0.5, seed=7)  # sigma = 1
        >>> bool(np.all(y == gaussian_dropout_forward(np.ones((2, 3)), 0.5, seed=7)))
        True
    """
    return _multiply_by_gaussian_noise("x", x, p, seed)


def gaussian_dropout_backward(grad_out, p, seed):
    """Return ``grad_out * r``, the gradient w.r.t. the input of :func:`gaussian_dropout_forward`.

    ``d(x * r) / dx = r``: the same noise, regenerated from the same ``p`` and ``seed``.
    """
    return _multiply_by_gaussian_noise("grad_out", grad_out, p, seed)


def max_norm_columns_(w, c):
    """Rescale, in place, every column of the 2-D array ``w`` whose L2 norm exceeds ``c``.

    ``w`` must be a writeable C-contiguous float array (a parameter's own storage).
    Columns inside the ball are untouched, bit for bit.
    """
    radius = _max_norm_operands(w, c)
    backend.implementations["maxnorm"].max_norm_columns(w, radius, backend.get_num_threads())


def _max_norm_operands(w, c):
    """Check a weight matrix and bound for max-norm, in place; return ``c`` as a float."""
    check_float_array("w", w)
    if w.ndim != 2:
        raise ValueError(f"max-norm needs a 2-D weight matrix, got shape {w.shape}")
    if not (w.flags.c_contiguous and w.flags.writeable):
        raise ValueError("max-norm works in place and needs a writeable C-contiguous array")
    return check_real("max-norm bound c", c, low=0, low_open=True)


def _sgd_operands(w, g, v, momentum):
    """Check SGD's arrays; return them flat: ``(w, g, v)`` (``v`` empty when momentum is 0)."""
    check_float_array("parameter", w)
    check_float_array("gradient", g)
    check_same_dtype("sgd", "parameter", w, "gradient", g)
    if g.shape != w.shape:
        raise ValueError(f"sgd: gradient shape {g.shape} != parameter shape {w.shape}")
    if not (w.flags.c_contiguous and w.flags.writeable):
        raise ValueError("sgd: the parameter must be a writeable C-contiguous array")
    if momentum != 0:
        if v is None or v.shape != w.shape or v.dtype != w.dtype or not v.flags.c_contiguous:
            raise ValueError("sgd: momentum needs a C-contiguous velocity shaped like the parameter")
        v_flat = v.reshape(-1)
    else:
        v_flat = w.reshape(-1)[:0]
    return w.reshape(-1), np.ascontiguousarray(g).reshape(-1), v_flat


def sgd_update_(w, g, v, lr, momentum, weight_decay, nesterov):
    """One SGD step on parameter array ``w`` (in place) with gradient ``g`` and velocity ``v``.

    ``w`` and ``v`` (None when momentum is 0) must be writeable C-contiguous arrays of
    one float dtype and shape; ``g`` may be any float array of that shape and dtype.
    Hyperparameters are validated by the optimizer.
    """
    w_flat, g_flat, v_flat = _sgd_operands(w, g, v, momentum)
    backend.implementations["sgd"].sgd_update(
        w_flat, g_flat, v_flat, float(lr), float(momentum), float(weight_decay),
        bool(nesterov), backend.get_num_threads())


def sgd_update_max_norm_(w, g, v, lr, momentum, weight_decay, nesterov, c):
    """:func:`sgd_update_` of a 2-D weight ``w``, then :func:`max_norm_columns_` with bound ``c``.

    One fused pass (the compiled kernel adds up the column norms as it writes the
    updated rows): bit for bit the two calls one after the other, for the
    optimizer's step of a weight under max-norm (Srivastava et al. 2014, section 5.1).

    Example::

        >>> w = np.array([[3.0, 0.1], [4.0, 0.1]]); g = np.array([[-3.0, 0.0], [-4.0, 0.0]])
        >>> sgd_update_max_norm_(w, g, None, 0.5, 0.0, 0.0, False, 5.0)
        >>> bool(np.allclose(np.linalg.norm(w, axis=0), [5.0, np.hypot(0.1, 0.1)]))
        True
    """
    radius = _max_norm_operands(w, c)
    w_flat, g_flat, v_flat = _sgd_operands(w, g, v, momentum)
    if w.size == 0:
        return
    backend.implementations["sgd"].sgd_update_max_norm(
        w_flat, g_flat, v_flat, w.shape[1], float(lr), float(momentum), float(weight_decay),
        bool(nesterov), radius, backend.get_num_threads())


# ---- alpha dropout (Klambauer et al. 2017) -----------------------------------------------

def alpha_dropout_affine(p, alpha_prime):
    """``(a, b)``, alpha dropout's affine map for drop probability ``p`` in [0, 1) (float64).

    ``a = ((1 - p) * (1 + p * alpha_prime**2)) ** -0.5`` and ``b = -a * p * alpha_prime``:
    with the keep probability ``q = 1 - p`` these are the paper's
    ``a = (q + alpha'^2 q (1 - q))^(-1/2)`` and ``b = -a (1 - q) alpha'``
    (``minigrad.ops.alpha_dropout`` derives them).

    Example::

        >>> alpha_dropout_affine(0.0, -1.7580993408473766)
        (1.0, 0.0)
    """
    a = 1.0 / math.sqrt((1.0 - p) * (1.0 + p * alpha_prime * alpha_prime))
    return a, -a * p * alpha_prime


def _alpha_dropout_scalars(p, alpha_prime, dtype):
    """The kernels' ``(alpha_prime, shift, a)`` in ``dtype``, ``shift = b / a = -p * alpha_prime``."""
    a, _ = alpha_dropout_affine(p, alpha_prime)
    return dtype.type(alpha_prime), dtype.type(-p * alpha_prime), dtype.type(a)


def _check_alpha_dropout_scalars(p, alpha_prime):
    p = check_probability("alpha dropout probability p", p, allow_one=False)
    alpha_prime = check_real("alpha dropout: alpha_prime", alpha_prime)
    return p, alpha_prime


def _flat_kernel_mask(op, x, mask):
    """A uint8 0/1 keep-mask shaped like ``x``, as the flat C-contiguous array a kernel reads."""
    if not isinstance(mask, np.ndarray):
        raise TypeError(f"{op}: the kernel mask must be a uint8 numpy array, "
                        f"got {type(mask).__name__}")
    if x.shape != mask.shape:
        raise ValueError(f"{op}: array shape {x.shape} != mask shape {mask.shape}")
    if mask.dtype != np.uint8:
        raise TypeError(f"{op}: the kernel mask must be uint8 0/1, got dtype {mask.dtype}")
    return np.ascontiguousarray(mask).reshape(-1)


def alpha_dropout_forward(x, p, seed, alpha_prime):
    """Return ``(out, mask)``: ``a * (x if kept else alpha_prime) + b`` and the uint8 keep-mask.

    Unit ``i`` (C order) is kept iff :func:`dropout_forward` with the same ``p`` and
    ``seed`` keeps it. ``a`` and ``b`` are :func:`alpha_dropout_affine`'s; the kernels
    compute the map as ``(y + b/a) * a`` (see ``minigrad.kernels.reference``).

    Args:
        x: float32/float64 array, any shape and layout.
        p: drop probability in [0, 1).
        seed: int in [0, 2**64).
        alpha_prime: the value a dropped unit takes before the affine map (SELU's
            negative saturation ``-lambda * alpha`` in ``minigrad.alpha_dropout``).

    Example::

        >>> out, mask = alpha_dropout_forward(np.zeros((2, 3)), 0.5, 7, -1.7580993408473766)
        >>> bool(np.all((out == out[mask == 1][0]) == (mask == 1)))  # kept zeros map to b
        True
    """
    p, alpha_prime = _check_alpha_dropout_scalars(p, alpha_prime)
    flat = _flat("x", x)
    seed = check_int("alpha dropout seed", seed, minimum=0, maximum=2**64 - 1)
    out = np.empty_like(flat)
    mask = np.empty(flat.shape, dtype=np.uint8)
    backend.implementations["alpha_dropout"].alpha_dropout_forward(
        flat, out, mask, seed, dropout_threshold(p),
        *_alpha_dropout_scalars(p, alpha_prime, flat.dtype), backend.get_num_threads())
    return out.reshape(x.shape), mask.reshape(x.shape)


def apply_alpha_dropout_mask(x, mask, p, alpha_prime):
    """Return ``a * (x if mask else alpha_prime) + b`` for a given uint8 0/1 ``mask``.

    The forward of :func:`alpha_dropout_forward` with the mask given instead of drawn
    (a mask shared along axes and broadcast, or one replayed).
    """
    p, alpha_prime = _check_alpha_dropout_scalars(p, alpha_prime)
    flat = _flat("x", x)
    m = _flat_kernel_mask("alpha dropout", x, mask)
    out = np.empty_like(flat)
    backend.implementations["alpha_dropout"].alpha_dropout_masked(
        flat, m, out, *_alpha_dropout_scalars(p, alpha_prime, flat.dtype),
        backend.get_num_threads())
    return out.reshape(x.shape)


def alpha_dropout_backward(grad_out, mask, p, alpha_prime):
    """Return ``grad_out * a`` where ``mask`` is 1, else 0: the gradient of alpha dropout.

    ``d/dx (a * x + b) = a`` for a kept unit; a dropped unit is the constant
    ``a * alpha_prime + b``. This is Bernoulli dropout's backward kernel with ``scale = a``.
    """
    p, alpha_prime = _check_alpha_dropout_scalars(p, alpha_prime)
    flat = _flat("grad_out", grad_out)
    m = _flat_kernel_mask("alpha dropout", grad_out, mask)
    grad_in = np.empty_like(flat)
    _, _, a = _alpha_dropout_scalars(p, alpha_prime, flat.dtype)
    backend.implementations["dropout"].dropout_backward(flat, m, a, grad_in,
                                                        backend.get_num_threads())
    return grad_in.reshape(grad_out.shape)
# --- DropConnect (Wan, Zeiler, Zhang, LeCun & Fergus, ICML 2013) ------------------------

def dropconnect_threshold(p):
    """The DropConnect kernels' keep threshold for drop probability ``p``: ``ceil(p * 2**32)``.

    A weight is kept when a 32-bit hash is at least this, with probability
    ``1 - threshold / 2**32``: ``1 - p`` to within 2**-32. (Capped at 2**32 - 1, so a
    ``p`` above ``1 - 2**-32`` keeps a weight with probability 2**-32, not 0.)
    """
    return min(math.ceil(p * 2.0**32), 2**32 - 1)


def _dropconnect_arguments(p, seed, inverted):
    """Validated ``(p, seed, inverted)`` of a DropConnect kernel call."""
    p = check_probability("dropconnect probability p", p, allow_one=False)
    seed = check_int("dropconnect seed", seed, minimum=0, maximum=2**64 - 1)
    return p, seed, check_bool("inverted", inverted)


def _dropconnect_operands(op, x, w):
    """``x`` (B, K) and ``w`` (K, N) checked and made C-contiguous (strided views copied)."""
    _product_shape(op, ("x", x, False), ("w", w, False))
    return np.ascontiguousarray(x), np.ascontiguousarray(w)


def dropconnect_mask(batch, in_features, out_features, p, seed):
    """Return the (batch, in_features, out_features) uint8 keep-mask of stream ``seed``.

    ``mask[b, k, n] == 1`` iff example ``b`` keeps the weight from input ``k`` to output
    ``n``. The layer never builds this array (its kernels recompute each bit where they
    need it); it is here to test and to show what they compute.

    Example::

        >>> m = dropconnect_mask(2, 3, 4, 0.5, seed=7)
        >>> m.shape, bool(np.array_equal(m, dropconnect_mask(2, 3, 4, 0.5, seed=7)))
        ((2, 3, 4), True)
    """
    shape = tuple(check_int(name, v, minimum=0) for name, v in
                  (("batch", batch), ("in_features", in_features),
                   ("out_features", out_features)))
    p, seed, _ = _dropconnect_arguments(p, seed, True)
    out = np.empty(shape, dtype=np.uint8)
    backend.implementations["dropconnect"].dropconnect_mask(
        out, seed, dropconnect_threshold(p), backend.get_num_threads())
    return out


def dropconnect_kept_count(batch, in_features, out_features, p, seed):
    """Return how many weights ``dropconnect_mask(batch, in_features, out_features, p, seed)``
    keeps, without building the mask.

    The mask's sum, computed by hashing and counting each bit where the mask would store
    it: no memory, so a keep rate can be checked over billions of weights, and no weight
    or product, so its speed is the floor under every DropConnect kernel (each does this
    hashing and a multiply-add more per weight).

    Example::

        >>> n = dropconnect_kept_count(10, 784, 800, 0.5, seed=0)  # of 6,272,000 weights
        >>> n == int(dropconnect_mask(10, 784, 800, 0.5, seed=0).sum()), round(n / 6272000, 3)
        (True, 0.5)
    """
    batch, in_features = (check_int(name, v, minimum=0) for name, v in
                          (("batch", batch), ("in_features", in_features)))
    out_features = check_int("out_features", out_features, minimum=0, maximum=2**32 - 1)
    p, seed, _ = _dropconnect_arguments(p, seed, True)
    return backend.implementations["dropconnect"].dropconnect_kept_count(
        batch, in_features, out_features, seed, dropconnect_threshold(p),
        backend.get_num_threads())


def dropconnect_forward(x, w, bias, p, seed, inverted=True):
    """Return ``z[b] = scale * (x[b] @ (W * M_b)) + bias``: each example its own weight mask.

    ``M_b = dropconnect_mask(B, K, N, p, seed)[b]``, regenerated inside the kernel, never
    stored. ``scale = 1/(1-p)`` (``inverted``) or 1 (the paper's training, with the
    keep probability applied at test time instead). The bias is never dropped.

    Args:
        x: (B, K) float32/float64 array (any layout; strided views are copied).
        w: (K, N) array of the same dtype (inputs x outputs, as ``nn.Linear``).
        bias: None or an (N,) array of that dtype.
        p: drop probability of each weight, in [0, 1).
        seed: int in [0, 2**64) (``minigrad.random.draw_seed``).
        inverted: scale kept weights by ``1/(1-p)`` (True) or not at all.

    Example (p = 0 keeps every weight: a plain dense layer)::

        >>> x = np.ones((2, 3)); w = np.ones((3, 4))
        >>> dropconnect_forward(x, w, np.zeros(4), 0.0, seed=1)
        array([[3., 3., 3., 3.],
               [3., 3., 3., 3.]])
    """
    x, w = _dropconnect_operands("dropconnect_forward", x, w)
    if bias is not None:
        check_float_array("bias", bias)
        check_same_dtype("dropconnect_forward", "x", x, "bias", bias)
        if bias.shape != (w.shape[1],):
            raise ValueError(f"dropconnect_forward: bias shape {bias.shape} != "
                             f"({w.shape[1]},), the columns of w {w.shape}")
        bias = np.ascontiguousarray(bias)
    p, seed, inverted = _dropconnect_arguments(p, seed, inverted)
    out = np.empty((x.shape[0], w.shape[1]), dtype=x.dtype)
    backend.implementations["dropconnect"].dropconnect_forward(
        x, w, bias, dropout_scale(p, x.dtype, inverted), out, seed, dropconnect_threshold(p),
        backend.get_num_threads())
    return out


def dropconnect_backward(grad_out, x, w, p, seed, inverted=True, need_x=True, need_w=True):
    """Return ``(dx, dw)``, the gradients of :func:`dropconnect_forward` (same masks).

    With ``z[b] = scale * x[b] @ (W * M_b) + bias`` and ``dz = grad_out``:

        dx[b]   = scale * (W * M_b) @ dz[b]
        dW[k, n] = scale * sum_b x[b, k] * M_b[k, n] * dz[b, n]

    (the bias gradient is ``dz.sum(axis=0)``, as for any dense layer). Either is None
    when not asked for.

    Example::

        >>> x = np.ones((2, 3)); w = np.ones((3, 4)); g = np.ones((2, 4))
        >>> dx, dw = dropconnect_backward(g, x, w, 0.0, seed=1)
        >>> dx[0], dw[0]
        (array([4., 4., 4.]), array([2., 2., 2., 2.]))
    """
    x, w = _dropconnect_operands("dropconnect_backward", x, w)
    check_float_array("grad_out", grad_out)
    check_same_dtype("dropconnect_backward", "x", x, "grad_out", grad_out)
    if grad_out.shape != (x.shape[0], w.shape[1]):
        raise ValueError(f"dropconnect_backward: grad_out shape {grad_out.shape} != "
                         f"{(x.shape[0], w.shape[1])}, the shape of x @ w")
    p, seed, inverted = _dropconnect_arguments(p, seed, inverted)
    g = np.ascontiguousarray(grad_out)
    kernels, threads = backend.implementations["dropconnect"], backend.get_num_threads()
    scale, threshold = dropout_scale(p, x.dtype, inverted), dropconnect_threshold(p)
    dx = dw = None
    if need_x:
        dx = np.empty_like(x)
        kernels.dropconnect_backward_input(g, np.ascontiguousarray(w.T), scale, dx, seed,
                                           threshold, threads)
    if need_w:
        dw = np.empty_like(w)
        kernels.dropconnect_backward_weight(x, g, scale, dw, seed, threshold, threads)
    return dx, dw


def standard_normal(shape, seed, substream):
    """Return float64 N(0, 1) draws of ``shape``: Gaussian dropout's counter-based normals.

    The draws of stream ``splitmix64(seed, substream)`` (``reference.standard_normal``),
    so one seed gives many independent streams (DropConnect's sampling inference uses
    one per sample). Computed by numpy, for evaluation-time sampling; no compiled kernel
    returns the bare draws.

    Example::

        >>> z = standard_normal((2, 3), seed=5, substream=0)
        >>> z.shape, bool((z != standard_normal((2, 3), seed=5, substream=1)).all())
        ((2, 3), True)
    """
    shape = tuple(check_int("shape", n, minimum=0) for n in shape)
    seed = check_int("normal seed", seed, minimum=0, maximum=2**64 - 1)
    substream = check_int("normal substream", substream, minimum=0, maximum=2**64 - 1)
    stream = int(reference.splitmix64(seed, np.array([substream], np.uint64))[0])
    return reference.standard_normal(math.prod(shape), stream).reshape(shape)
