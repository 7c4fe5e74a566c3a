"""Ops that move elements without arithmetic: reshape, transpose, and dtype casts."""
import numpy as np

from ..checks import check_int
from ..tensor import Function
from .broadcasting import check_tensor


class Reshape(Function):
    """The gradient of a reshape is the upstream gradient reshaped back."""

    def forward(self, x, shape):
        self.shape = x.shape
        return x.reshape(shape)

    def backward(self, grad):
        return (grad.reshape(self.shape),)


class Transpose(Function):
    """The gradient of a permutation of axes is the inverse permutation of the gradient."""

    def forward(self, x, axes):
        self.axes = axes
        return np.transpose(x, axes)

    def backward(self, grad):
        return (np.transpose(grad, np.argsort(self.axes)),)


class Cast(Function):
    """The gradient of a dtype conversion is converted back to the input's dtype."""

    def forward(self, x, dtype):
        self.dtype = x.dtype
        return x.astype(dtype)

    def backward(self, grad):
        return (grad.astype(self.dtype),)


def _int_tuple(op, what, values):
    """Accept ``reshape(2, 3)`` as well as ``reshape((2, 3))``; every entry an int.

    As in numpy, a float is refused rather than truncated (``reshape(3.9, 2)`` is not
    ``(3, 2)``), and so is a bool (``axis=True`` is not axis 1).
    """
    if len(values) == 1 and isinstance(values[0], (tuple, list)):
        values = values[0]
    return tuple(check_int(f"{op}: {what}", n) for n in values)


def reshape(x, *shape):
    """Give ``x`` a new shape with the same number of elements (one entry may be -1)."""
    check_tensor("reshape", x)
    shape = _int_tuple("reshape", "each shape entry", shape)
    try:
        np.empty(x.shape, dtype=np.uint8).reshape(shape)
    except ValueError:
        raise ValueError(f"cannot reshape a tensor of shape {x.shape} into {shape}") from None
    return Reshape.apply(x, shape=shape)


def transpose(x, *axes):
    """Permute the axes of ``x`` (reverse them when no axes are given), as np.transpose."""
    check_tensor("transpose", x)
    axes = _int_tuple("transpose", "each axis", axes) if axes else tuple(reversed(range(x.ndim)))
    if sorted(a % x.ndim if -x.ndim <= a < x.ndim else a for a in axes) != list(range(x.ndim)):
        raise ValueError(f"axes {axes} are not a permutation of the {x.ndim} axes of shape {x.shape}")
    return Transpose.apply(x, axes=tuple(a % x.ndim for a in axes))


def astype(x, dtype):
    """Convert to float32 or float64 (differentiable: the gradient is converted back)."""
    check_tensor("astype", x)
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"astype: minigrad tensors are float32 or float64, not {dtype}")
    return Cast.apply(x, dtype=dtype)
