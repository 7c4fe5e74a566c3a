"""Reductions: sum and mean over all elements or chosen axes."""
import numpy as np

from ..checks import check_bool, check_int
from ..tensor import Function
from .broadcasting import check_tensor


def _normalize_axes(op, axis, ndim):
    """``axis`` (None, an int or a tuple/list of ints) as a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    normalized = []
    for a in axes:
        a = check_int(f"{op}: axis", a)
        if not -ndim <= a < ndim:
            raise ValueError(f"axis {a} is out of bounds for a tensor with {ndim} dimensions")
        normalized.append(a % ndim)
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"repeated axis in {axis}")
    return tuple(sorted(normalized))


def _expand_back(grad, shape, axes, keepdims):
    """Broadcast the gradient of a reduction back to the input's ``shape``."""
    if not keepdims:
        grad = np.expand_dims(grad, axes)
    return np.broadcast_to(grad, shape)


class Sum(Function):
    """d(sum x)/dx_i = 1: the upstream gradient is copied to every summed element."""

    def forward(self, x, axes, keepdims):
        self.shape, self.axes, self.keepdims = x.shape, axes, keepdims
        return np.asarray(x.sum(axis=axes, keepdims=keepdims))

    def backward(self, grad):
        return (_expand_back(grad, self.shape, self.axes, self.keepdims),)


class Mean(Function):
    """d(mean x)/dx_i = 1/n, where n is the number of elements averaged."""

    def forward(self, x, axes, keepdims):
        self.shape, self.axes, self.keepdims = x.shape, axes, keepdims
        self.count = int(np.prod([x.shape[a] for a in axes]))
        return np.asarray(x.mean(axis=axes, keepdims=keepdims))

    def backward(self, grad):
        return (_expand_back(grad / grad.dtype.type(self.count), self.shape, self.axes,
                             self.keepdims),)


def sum(x, axis=None, keepdims=False):
    """Sum over ``axis`` (None: all elements; an int or a tuple of ints)."""
    check_tensor("sum", x)
    return Sum.apply(x, axes=_normalize_axes("sum", axis, x.ndim),
                     keepdims=check_bool("sum: keepdims", keepdims))


def mean(x, axis=None, keepdims=False):
    """Mean over ``axis`` (None: all elements; an int or a tuple of ints).

    The mean of zero elements is NaN, as in numpy.
    """
    check_tensor("mean", x)
    return Mean.apply(x, axes=_normalize_axes("mean", axis, x.ndim),
                      keepdims=check_bool("mean: keepdims", keepdims))
