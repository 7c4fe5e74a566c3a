"""Elementwise nonlinearities: exp, log, tanh, sigmoid, relu and selu."""
import numpy as np

from ..tensor import Function
from ..kernels import dispatch
from .broadcasting import check_tensor


class Exp(Function):
    """d(exp x)/dx = exp x (the saved output)."""

    def forward(self, x):
        y = np.exp(x)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        y, = self.saved_arrays
        return (grad * y,)


class Log(Function):
    """d(log x)/dx = 1/x."""

    def forward(self, x):
        self.save_for_backward(x)
        return np.log(x)

    def backward(self, grad):
        x, = self.saved_arrays
        return (grad / x,)


class Tanh(Function):
    """d(tanh x)/dx = 1 - tanh(x)**2 (from the saved output)."""

    def forward(self, x):
        y = np.tanh(x)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        y, = self.saved_arrays
        return (grad * (1 - y * y),)


class Sigmoid(Function):
    """d(sigmoid x)/dx = s (1 - s), where s is the saved output."""

    def forward(self, x):
        # exp of a non-positive number never overflows: use e = exp(-|x|) on both sides.
        e = np.exp(-np.abs(x))
        y = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        y, = self.saved_arrays
        return (grad * y * (1 - y),)


#: SELU's constants (Klambauer et al. 2017, section "Self-normalizing neural networks",
#: the solution of the fixed-point equations for mean 0 and variance 1), to the paper's
#: 32 digits; Python keeps the nearest float64 (1.6732632423543772, 1.0507009873554805),
#: as torch.nn.functional.selu does.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_LAMBDA = 1.0507009873554804934193349852946


class Selu(Function):
    """d(selu x)/dx = lambda for x > 0, else lambda * alpha * e**x (from the saved input).

    The input, not the output, is saved: ``lambda alpha e**x`` is also ``y + lambda alpha``,
    but for very negative x that difference cancels to a few correct digits.
    """

    def forward(self, x):
        self.save_for_backward(x)
        negative = np.minimum(x, 0)  # e**x of the positive side is never used: no overflow
        return np.where(x > 0, SELU_LAMBDA * x, (SELU_LAMBDA * SELU_ALPHA) * np.expm1(negative))

    def backward(self, grad):
        x, = self.saved_arrays
        negative = np.minimum(x, 0)
        return (grad * np.where(x > 0, SELU_LAMBDA, (SELU_LAMBDA * SELU_ALPHA) * np.exp(negative)),)


class ReLU(Function):
    """d(relu x)/dx = 1 where the output is positive, else 0 (saves only the output)."""

    def forward(self, x):
        y = dispatch.relu_forward(x)
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        y, = self.saved_arrays
        return (dispatch.relu_backward(grad, y),)


def exp(x):
    """Elementwise e**x."""
    check_tensor("exp", x)
    return Exp.apply(x)


def log(x):
    """Elementwise natural logarithm (NaN below 0 and -inf at 0, as numpy)."""
    check_tensor("log", x)
    return Log.apply(x)


def tanh(x):
    """Elementwise hyperbolic tangent."""
    check_tensor("tanh", x)
    return Tanh.apply(x)


def sigmoid(x):
    """Elementwise logistic function 1 / (1 + e**-x), computed without overflow."""
    check_tensor("sigmoid", x)
    return Sigmoid.apply(x)


def relu(x):
    """Elementwise max(x, 0), by the compiled ReLU kernel (NaN propagates)."""
    check_tensor("relu", x)
    return ReLU.apply(x)


def selu(x):
    """The scaled exponential linear unit of Klambauer et al. (NeurIPS 2017).

    ``selu(x) = lambda * x`` for ``x > 0`` and ``lambda * alpha * (e**x - 1)`` otherwise,
    with ``alpha = 1.6732632423543772848...`` and ``lambda = 1.0507009873554804934...``
    (:data:`SELU_ALPHA`, :data:`SELU_LAMBDA`). These two constants make N(0, 1) a fixed
    point: if a layer's inputs have mean 0 and variance 1 and its weights have mean 0
    and variance ``1 / fan_in``, its SELU outputs have mean 0 and variance 1 again, so a
    deep network stays normalised without batch normalisation (the paper's Theorem 1
    shows the fixed point attracts). Very negative inputs saturate at
    ``-lambda * alpha = -1.7581``, the value alpha dropout gives dropped units.
    ``e**x - 1`` is ``np.expm1``, exact to rounding near 0.

    Example::

        >>> import minigrad
        >>> selu(minigrad.tensor([-50.0, 0.0, 1.0], dtype=np.float64))
        tensor([-1.75809934,  0.        ,  1.05070099], dtype=float64)
    """
    check_tensor("selu", x)
    return Selu.apply(x)
