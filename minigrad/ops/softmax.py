"""Softmax and log-softmax along an axis, computed stably (shifted by the maximum)."""
import numpy as np

from ..checks import check_int
from ..tensor import Function
from .broadcasting import check_tensor


def stable_log_softmax(x, axis):
    """log(softmax(x)) = x - max - log(sum(exp(x - max))): no overflow for large x."""
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


class Softmax(Function):
    """For y = softmax(x): dx = y * (g - sum(g * y)) along the axis."""

    def forward(self, x, axis):
        self.axis = axis
        y = np.exp(stable_log_softmax(x, axis))
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        y, = self.saved_arrays
        return (y * (grad - (grad * y).sum(axis=self.axis, keepdims=True)),)


class LogSoftmax(Function):
    """For y = log_softmax(x): dx = g - exp(y) * sum(g) along the axis."""

    def forward(self, x, axis):
        self.axis = axis
        y = stable_log_softmax(x, axis)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        y, = self.saved_arrays
        return (grad - np.exp(y) * grad.sum(axis=self.axis, keepdims=True),)


def _check_axis(op, x, axis):
    axis = check_int(f"{op}: axis", axis)
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis {axis} is out of bounds for a tensor of shape {x.shape}")
    return axis


def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x))`` along ``axis``."""
    check_tensor("softmax", x)
    return Softmax.apply(x, axis=_check_axis("softmax", x, axis))


def log_softmax(x, axis=-1):
    """``log(softmax(x))`` along ``axis``, without forming softmax (stable)."""
    check_tensor("log_softmax", x)
    return LogSoftmax.apply(x, axis=_check_axis("log_softmax", x, axis))
