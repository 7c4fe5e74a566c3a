"""Check analytic gradients against central finite differences.

For a scalar function f of an array x, the central difference

    (f(x + h e_i) - f(x - h e_i)) / (2 h)

approximates df/dx_i with error O(h**2). In float64 with h ~ 1e-6 it agrees with
a correct analytic gradient to about 1e-7 relative, so a wrong backward formula stands
out clearly. Use float64: in float32 the rounding error of f swamps the difference.
"""
import numpy as np

from .autograd import no_grad
from .tensor import Tensor


def numerical_gradient(f, inputs, index, eps):
    """Central-difference gradient of the float-valued ``f(*inputs)`` w.r.t. inputs[index].

    Perturbs each element of ``inputs[index].data`` in place and restores it.
    """
    x = inputs[index].data
    grad = np.zeros_like(x)
    with no_grad():
        for i in np.ndindex(x.shape):
            original = x[i]
            x[i] = original + eps
            plus = f(*inputs)
            x[i] = original - eps
            minus = f(*inputs)
            x[i] = original
            grad[i] = (plus - minus) / (2 * eps)
    return grad


def gradcheck(f, *inputs, eps=1e-6, rtol=1e-5, atol=1e-7, rng=0):
    """Return True when backward gradients of ``f`` match finite differences, else raise.

    Args:
        f: function of Tensors returning a Tensor (any shape).
        *inputs: float64 Tensors; those with ``requires_grad=True`` are checked.
        eps: finite-difference step.
        rtol, atol: tolerance of ``np.testing.assert_allclose``.
        rng: seed for the random projection that makes the output a scalar.

    Raises:
        AssertionError naming the input whose gradient differs.
    """
    for t in inputs:
        if t.dtype != np.float64:
            raise TypeError("gradcheck needs float64 inputs (float32 is too imprecise)")
    out_shape = f(*inputs).shape
    weights = np.random.default_rng(rng).standard_normal(out_shape)

    def scalar(*args):
        return float((f(*args).data * weights).sum())

    for t in inputs:
        t.grad = None
    (f(*inputs) * Tensor(weights)).sum().backward()
    for index, t in enumerate(inputs):
        if not t.requires_grad:
            continue
        expected = numerical_gradient(scalar, inputs, index, eps)
        analytic = t.grad if t.grad is not None else np.zeros_like(t.data)
        np.testing.assert_allclose(analytic, expected, rtol=rtol, atol=atol,
                                   err_msg=f"gradient of input {index} (shape {t.shape})")
    return True
