"""Elementwise nonlinearities: exp, log, tanh, sigmoid and relu."""
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
