"""The only door to the kernels: validate, allocate, then call the selected implementation.

The compiled kernels run with bounds checks off, so nothing reaches them unchecked.
Every function here

1. checks dtypes (float32 or float64, the same for every operand) and shapes, raising
   ``TypeError``/``ValueError`` that name the offending argument;
2. makes inputs C-contiguous (a transposed view is handled by flipping a flag, not
   by copying; any other strided view is copied);
3. allocates the output, and calls the implementation chosen in ``minigrad.backend``
   with the current thread count.

Autograd code calls these functions and nothing below them.
"""
import math

import numpy as np

from .. import backend

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_float_array(name, x):
    """Raise TypeError unless ``x`` is a float32/float64 numpy array."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(x).__name__}")
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must have dtype float32 or float64, got {x.dtype}")


def check_same_dtype(op, **arrays):
    """Raise TypeError unless all the named arrays share one dtype."""
    dtypes = {name: a.dtype for name, a in arrays.items()}
    if len(set(dtypes.values())) > 1:
        listing = ", ".join(f"{name} is {dt}" for name, dt in dtypes.items())
        raise TypeError(f"{op}: operands must have the same dtype, but {listing}")


def check_probability(p):
    """Return ``p`` as a float after checking it is a real number in [0, 1]."""
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, (int, float, np.integer, np.floating)):
        raise TypeError(f"dropout probability p must be a real number, got {type(p).__name__}")
    try:
        p = float(p)
    except OverflowError:  # an int beyond the float range
        raise ValueError(f"dropout probability p must be in [0, 1], got {p}") from None
    if not 0.0 <= p <= 1.0:  # also rejects NaN
        raise ValueError(f"dropout probability p must be in [0, 1], got {p}")
    return p


def _as_c_matrix(name, x):
    """Return (C-contiguous 2-D array, transposed?) for a 2-D float array."""
    if x.flags.c_contiguous:
        return x, False
    if x.flags.f_contiguous:
        return x.T, True
    return np.ascontiguousarray(x), False


def matmul(a, b, trans_a=False, trans_b=False):
    """Return ``op(a) @ op(b)`` for 2-D float arrays; op transposes when its flag is set.

    Transposed operands are never materialised: a transposed (Fortran-ordered) view is
    passed to the kernel as its C-ordered base with the flag flipped.
    """
    check_float_array("a", a)
    check_float_array("b", b)
    check_same_dtype("matmul", a=a, b=b)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"matmul kernel needs 2-D operands, got shapes {a.shape} and {b.shape}")
    m, k = (a.shape[1], a.shape[0]) if trans_a else a.shape
    k2, n = (b.shape[1], b.shape[0]) if trans_b else b.shape
    if k != k2:
        shape_a = f"{a.shape}{'.T' if trans_a else ''}"
        shape_b = f"{b.shape}{'.T' if trans_b else ''}"
        raise ValueError(f"matmul: shapes {shape_a} and {shape_b} do not align "
                         f"(inner dimensions {k} != {k2})")
    a, flip_a = _as_c_matrix("a", a)
    b, flip_b = _as_c_matrix("b", b)
    out = np.empty((m, n), dtype=a.dtype)
    backend.implementations["matmul"].gemm(a, b, out, trans_a != flip_a, trans_b != flip_b,
                                           backend.get_num_threads())
    return out


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
    check_same_dtype("relu_backward", grad_out=g, y=yf)
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
    p = check_probability(p)
    flat = _flat("x", x)
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"dropout seed must be an int, got {type(seed).__name__}")
    seed = int(seed)
    if not 0 <= seed < 2**64:
        raise ValueError(f"dropout seed must be in [0, 2**64), got {seed}")
    threshold = math.ceil(p * 2.0**53)
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
    p = check_probability(p)
    check_float_array("x", x)
    if not isinstance(mask, np.ndarray):
        raise TypeError(f"dropout: the kernel mask must be a uint8 numpy array, "
                        f"got {type(mask).__name__}")
    if x.shape != mask.shape:
        raise ValueError(f"dropout: array shape {x.shape} != mask shape {mask.shape}")
    if mask.dtype != np.uint8:
        raise TypeError(f"dropout: the kernel mask must be uint8 0/1, got dtype {mask.dtype}")
    flat = _flat("x", x)
    m = np.ascontiguousarray(mask).reshape(-1)
    out = np.empty_like(flat)
    backend.implementations["dropout"].dropout_backward(
        flat, m, dropout_scale(p, flat.dtype, inverted), out, backend.get_num_threads())
    return out.reshape(x.shape)


def max_norm_columns_(w, c):
    """Rescale, in place, every column of the 2-D array ``w`` whose L2 norm exceeds ``c``.

    ``w`` must be a writeable C-contiguous float array (a parameter's own storage).
    Columns inside the ball are untouched, bit for bit.
    """
    check_float_array("w", w)
    if w.ndim != 2:
        raise ValueError(f"max-norm needs a 2-D weight matrix, got shape {w.shape}")
    if not (w.flags.c_contiguous and w.flags.writeable):
        raise ValueError("max-norm works in place and needs a writeable C-contiguous array")
    if isinstance(c, (bool, np.bool_)) or not isinstance(c, (int, float, np.integer, np.floating)):
        raise TypeError(f"max-norm bound c must be a real number, got {type(c).__name__}")
    try:
        radius = float(c)
    except OverflowError:  # an int beyond the float range
        radius = math.inf
    if not (radius > 0 and math.isfinite(radius)):
        raise ValueError(f"max-norm bound c must be a positive finite number, got {c}")
    backend.implementations["maxnorm"].max_norm_columns(w, radius, backend.get_num_threads())
