"""Helpers shared by the ops: operand checks and un-broadcasting.

Scalar arguments (an axis, a shape entry, ``keepdims``) are checked by ``minigrad.checks``.
"""
import numpy as np

from ..tensor import Tensor


def check_tensor(op, x):
    """Return ``x`` if it is a Tensor, else raise a TypeError naming the op (unary ops)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: x must be a minigrad Tensor, got {type(x).__name__} "
                        "(wrap arrays with minigrad.tensor(...))")
    return x


def as_operands(op, a, b):
    """Return ``a`` and ``b`` as Tensors of one dtype, for the binary op named ``op``.

    A Python or numpy scalar takes the dtype of the tensor operand (``x * 2`` stays
    float32). Two tensors (or a tensor and an array) must already share a dtype:
    minigrad never silently upcasts float32 to float64.
    """
    like = a if isinstance(a, Tensor) else b
    a, b = _as_tensor(a, like.dtype), _as_tensor(b, like.dtype)
    if a.dtype != b.dtype:
        raise TypeError(f"{op}: operands have different dtypes {a.dtype} and {b.dtype}; "
                        "convert one with .astype() first")
    return a, b


def _as_tensor(x, dtype):
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (bool, np.bool_)):
        raise TypeError("bool operands are not supported; use 0.0 or 1.0")
    if isinstance(x, (int, float, np.integer, np.floating)):
        return Tensor._from_op(np.asarray(x, dtype=dtype), None)
    return Tensor(x)


def unbroadcast(grad, shape):
    """Sum ``grad`` over the axes that broadcasting expanded, giving it ``shape``.

    If ``x`` of shape (3, 1) was broadcast against (2, 3, 4), each element of ``x``
    was used 2 * 4 times, so its gradient is the sum of the upstream gradient over
    the leading axis and over the axis where ``x`` had size 1.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1)
    return grad.sum(axis=axes, keepdims=True).reshape(shape)
