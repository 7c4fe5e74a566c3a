"""Elementwise nonlinearities: exp, log, tanh, sigmoid and relu."""
import numpy as np

from ..autograd import Function
from ..kernels import dispatch
from .broadcasting import check_tensor


class Exp(Function):
    """d(exp x)/dx = exp x (the saved output)."""

    def forward(self, x):
        self.y = np.exp(x)
        return self.y

    def backward(self, grad):
        return (grad * self.y,)


class Log(Function):
    """d(log x)/dx = 1/x."""

    def forward(self, x):
        self.x = x
        return np.log(x)

    def backward(self, grad):
        return (grad / self.x,)


class Tanh(Function):
    """d(tanh x)/dx = 1 - tanh(x)**2 (from the saved output)."""

    def forward(self, x):
        self.y = np.tanh(x)
        return self.y

    def backward(self, grad):
        return (grad * (1 - self.y * self.y),)


class Sigmoid(Function):
    """d(sigmoid x)/dx = s (1 - s), where s is the saved output."""

    def forward(self, x):
        # exp of a non-positive number never overflows: use e = exp(-|x|) on both sides.
        e = np.exp(-np.abs(x))
        self.y = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        return self.y

    def backward(self, grad):
        return (grad * self.y * (1 - self.y),)


class ReLU(Function):
    """d(relu x)/dx = 1 where the output is positive, else 0 (saves only the output)."""

    def forward(self, x):
        self.y = dispatch.relu_forward(x)
        return self.y

    def backward(self, grad):
        return (dispatch.relu_backward(grad, self.y),)


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
