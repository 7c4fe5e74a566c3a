"""Elementwise arithmetic with numpy broadcasting: + - * / neg, and pow by a scalar."""

import numpy as np

from ..checks import check_number
from ..tensor import Function
from .broadcasting import as_operands, check_tensor, unbroadcast


class Add(Function):
    """d(a+b)/da = 1, d(a+b)/db = 1."""

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a + b

    def backward(self, grad):
        need_a, need_b = self.needs_input_grad
        return (unbroadcast(grad, self.shapes[0]) if need_a else None,
                unbroadcast(grad, self.shapes[1]) if need_b else None)


class Sub(Function):
    """d(a-b)/da = 1, d(a-b)/db = -1."""

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, grad):
        need_a, need_b = self.needs_input_grad
        return (unbroadcast(grad, self.shapes[0]) if need_a else None,
                unbroadcast(-grad, self.shapes[1]) if need_b else None)


class Mul(Function):
    """d(a*b)/da = b, d(a*b)/db = a."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a * b

    def backward(self, grad):
        a, b = self.saved_arrays
        need_a, need_b = self.needs_input_grad
        return (unbroadcast(grad * b, a.shape) if need_a else None,
                unbroadcast(grad * a, b.shape) if need_b else None)


class Div(Function):
    """d(a/b)/da = 1/b, d(a/b)/db = -a/b**2."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a / b

    def backward(self, grad):
        a, b = self.saved_arrays
        need_a, need_b = self.needs_input_grad
        return (unbroadcast(grad / b, a.shape) if need_a else None,
                unbroadcast(-grad * a / (b * b), b.shape) if need_b else None)


class Neg(Function):
    """d(-x)/dx = -1."""

    def forward(self, x):
        return -x

    def backward(self, grad):
        return (-grad,)


class Pow(Function):
    """d(x**n)/dx = n * x**(n-1) for a constant scalar n; 0 for n = 0 (x**0 = 1 everywhere).

    As torch.pow: the n = 0 case is exactly 0, even at x = 0 where n * x**(n-1) would
    be 0 * inf = NaN; elsewhere the formula decides (inf at 0 for 0 < n < 1, NaN for
    negative x and a fractional n).
    """

    def forward(self, x, exponent):
        self.save_for_backward(x)
        self.exponent = exponent
        return x ** exponent

    def backward(self, grad):
        n = self.exponent
        if n == 0:
            return (np.zeros_like(grad),)
        x, = self.saved_arrays
        return (grad * (n * x ** (n - 1)),)


def add(a, b):
    """``a + b`` with broadcasting; either side may be a Python scalar."""
    return Add.apply(*as_operands("add", a, b))


def sub(a, b):
    """``a - b`` with broadcasting; either side may be a Python scalar."""
    return Sub.apply(*as_operands("sub", a, b))


def mul(a, b):
    """``a * b`` with broadcasting; either side may be a Python scalar."""
    return Mul.apply(*as_operands("mul", a, b))


def div(a, b):
    """``a / b`` with broadcasting; either side may be a Python scalar."""
    return Div.apply(*as_operands("div", a, b))


def neg(x):
    """``-x``."""
    check_tensor("neg", x)
    return Neg.apply(x)


def pow(x, exponent):
    """``x ** exponent`` for a real scalar exponent (tensor exponents are not supported)."""
    check_tensor("pow", x)
    check_number("pow: the exponent", exponent)
    return Pow.apply(x, exponent=x.dtype.type(exponent))
