"""Concrete dropout (Gal, Hron & Kendall, "Concrete Dropout", NeurIPS 2017): a learnable p.

Bernoulli dropout's drop probability ``p`` cannot be learned by gradient descent: the
mask is a step function of ``p``, with derivative 0 almost everywhere. Concrete dropout
replaces the Bernoulli "drop" indicator by its continuous relaxation, the Concrete
distribution of Maddison, Mnih & Teh (2017) (also called Gumbel-softmax, Jang, Gu & Poole
2017), whose sample is a smooth function of ``p`` and of a uniform draw ``u``. Section 3
of the paper, per element, with temperature ``t``:

    z = sigmoid( (log p - log(1 - p) + log u - log(1 - u)) / t )     (relaxed "drop")
    out = x * (1 - z) / (1 - p)

Why this is a relaxed Bernoulli(p): ``L = log u - log(1 - u)`` is a standard logistic
variable (``P(L <= l) = sigmoid(l)``), so ``P(logit p + L > 0) = sigmoid(logit p) = p``.
As ``t -> 0`` the sigmoid becomes the step ``1[logit p + L > 0]``: ``z`` is then exactly
a Bernoulli(p) drop indicator and the op is inverted dropout. For ``t > 0`` the mask is
smooth in ``p`` and gradients flow to it.

The parameter is ``p_logit = log p - log(1 - p)``, the logit of the **drop**
probability (``p = sigmoid(p_logit)``): any finite real is a valid ``p`` in (0, 1), and it
is the first term inside the sigmoid, so no ``log p`` is ever computed. The authors' code
stores the same logit but computes ``p = sigmoid(p_logit)`` and then
``log(p + eps) - log(1 - p + eps)`` with ``eps = 1e-7`` (Keras's epsilon), and likewise
``log(u + eps) - log(1 - u + eps)``. Neither eps is needed here: the logit is used as it
is, and ``u`` never reaches 0 or 1 (:func:`logistic_noise`). So this op is the paper's
formula with eps = 0.

``E[out] = x`` holds only as ``t -> 0``: for ``t > 0``, ``E[z]`` differs from ``p`` by
about ``-(pi**2 / 6) t**2 p (1 - p)(2p - 1)`` (a Taylor expansion of the logistic density
around the sigmoid's centre; ``+0.0012`` at ``p = 0.1, t = 0.1``, so ``E[out]`` is
``0.9987 x`` there). The paper's scale ``1 / (1 - p)`` is kept, as in its code.

Backward, with ``r = (1 - z) / (1 - p)`` so that ``out = x r``:

    d out / d x       = r
    d out / d p_logit = x dr/d p_logit = out * (p - z / t)

since ``dz/d p_logit = z (1 - z) / t`` and ``d(1 / (1 - p))/d p_logit = p / (1 - p)``.

The noise is stored, not regenerated: the forward keeps ``r`` and ``dr/d p_logit``
(two arrays shaped like ``x``) and the input ``x``. Regenerating them from the seed, as
Gaussian dropout does, would repeat the hash, two logs and an exp per element in the
backward; at a network's sizes (a batch of 128 x 1024) the two arrays cost 1 MB, time
is what is short.
"""
import math

import numpy as np

from ..checks import check_bool, check_real
from ..kernels.reference import splitmix64
from ..random import draw_seed
from ..tensor import Function, Tensor
from .broadcasting import check_tensor


def logistic_noise(n, seed):
    """``n`` standard logistic draws ``L = log u - log(1 - u)`` (float64) of stream ``seed``.

    Counter-based, as every random draw in minigrad: element ``i`` hashes counter ``i``,
    ``k = splitmix64(seed, i) >> 12``, a uniform 52-bit integer, and takes the midpoint of
    its cell, ``u = (k + 1/2) / 2**52``. ``k + 1/2`` needs 53 bits, so ``u`` is exact, and
    so is ``1 - u`` (both are multiples of 2**-53 in [2**-53, 1 - 2**-53]): ``u`` is never
    0 or 1, both logs are finite without an eps, and the law of ``u`` is exactly symmetric
    about 1/2, so ``L`` is exactly symmetric about 0. ``|L| <= 53 log 2 = 36.7``.

    Example::

        >>> noise = logistic_noise(5, seed=7)
        >>> noise.shape, bool(np.all(noise == logistic_noise(5, seed=7)))
        ((5,), True)
    """
    k = splitmix64(seed, np.arange(n, dtype=np.uint64)) >> np.uint64(12)
    u = (k + 0.5) * 2.0**-52
    return np.log(u) - np.log(1.0 - u)


def _relaxed_drop(a):
    """``(sigmoid(a), sigmoid(-a))`` = ``(z, 1 - z)``, each computed without cancellation.

    With ``e = exp(-|a|)`` (never overflows), ``sigmoid(|a|) = 1 / (1 + e)`` and
    ``sigmoid(-|a|) = e / (1 + e)``; a keep factor ``1 - z`` near 0 keeps its digits.
    """
    e = np.exp(-np.abs(a))
    big, small = 1.0 / (1.0 + e), e / (1.0 + e)
    positive = a >= 0
    return np.where(positive, big, small), np.where(positive, small, big)


class ConcreteDropout(Function):
    """d out/dx = r = (1 - z)/(1 - p); d out/d p_logit = out (p - z/t)."""

    def forward(self, x, p_logit, temperature, seed):
        theta = float(p_logit.reshape(()))
        p = 1.0 / (1.0 + math.exp(-theta))
        scale = 1.0 + math.exp(theta)  # 1 / (1 - p), exactly as (1 - p) = 1 / (1 + e**theta)
        noise = logistic_noise(x.size, seed).reshape(x.shape)
        z, keep = _relaxed_drop((theta + noise) / temperature)
        r = keep * scale
        self.keep_scale = r.astype(x.dtype)
        if any(self.needs_input_grad[1:]):  # () under no_grad
            self.keep_scale_slope = (r * (p - z / temperature)).astype(x.dtype)
            self.save_for_backward(x)
        return x * self.keep_scale

    def backward(self, grad):
        grad_x = grad * self.keep_scale if self.needs_input_grad[0] else None
        grad_logit = None
        if self.needs_input_grad[1]:
            x, = self.saved_arrays
            total = np.sum(grad * x * self.keep_scale_slope, dtype=np.float64)
            grad_logit = np.full(self.inputs[1].shape, total, dtype=x.dtype)
        return grad_x, grad_logit


def _check_p_logit(op, p_logit, dtype):
    """Return ``p_logit``'s value as a float after checking it is a usable one-element Tensor."""
    name = f"{op}: p_logit"
    if not isinstance(p_logit, Tensor):
        raise TypeError(f"{name} must be a minigrad Tensor (e.g. a Parameter) holding the "
                        f"logit of the drop probability, got {type(p_logit).__name__}")
    if p_logit.size != 1:
        raise ValueError(f"{name} must have exactly one element (one p per layer), "
                         f"got shape {p_logit.shape}")
    if p_logit.dtype != dtype:
        raise TypeError(f"{name} has dtype {p_logit.dtype} but its operand has {dtype}; "
                        "convert one with .astype() first")
    # 1/(1 - p) = 1 + e**p_logit must be finite in the dtype: p_logit < log(max float),
    # 88.7 for float32 (p within 1e-38 of 1), 709.8 for float64.
    return check_real(name, p_logit.data.item(), high=math.log(np.finfo(dtype).max),
                      high_open=True)


def concrete_dropout(x, p_logit, temperature, training, rng=None):
    """Concrete dropout of ``x``: a relaxed Bernoulli mask whose drop probability is learned.

    ``out = x * (1 - z) / (1 - p)`` with, per element and per call,
    ``z = sigmoid((p_logit + log u - log(1 - u)) / temperature)``, ``u ~ U(0, 1)``
    (Gal, Hron & Kendall 2017, section 3; the module docstring derives it).

    Args:
        x: Tensor, any shape.
        p_logit: a one-element Tensor (usually a ``Parameter``) holding the logit of the
            **drop** probability, ``p_logit = log(p / (1 - p))``, so ``p = sigmoid(p_logit)``
            is the probability that a unit is dropped (``p_logit = -2.197`` is p = 0.1).
            Finite and below ``log`` of the dtype's largest number (88.7 for float32), so
            that the scale ``1 / (1 - p) = 1 + exp(p_logit)`` is finite. Same dtype as ``x``.
            Its gradient flows through ``z`` and through the scale.
        temperature: ``t > 0``, finite. The paper uses 0.1. Smaller is closer to
            Bernoulli dropout (``t -> 0`` is it) but has steeper, noisier gradients.
        training: required, no default (as for :func:`minigrad.dropout`). ``False`` returns
            ``x`` unchanged: at test time the relaxed mask is replaced by its expectation,
            which the ``1 / (1 - p)`` scale makes (up to O(t**2)) 1.
        rng: None (the library Generator, reset by ``minigrad.manual_seed``), an int seed
            or a ``numpy.random.Generator``. One 64-bit seed is drawn from it per call and
            each element's ``u`` is a hash of that seed and the element's C-order index
            (:func:`logistic_noise`): a fresh ``u`` per element and per call.

    Returns:
        A Tensor shaped like ``x``.

    Example::

        >>> import numpy as np, minigrad
        >>> x = minigrad.tensor(np.ones((2, 4)), dtype=np.float64)
        >>> p_logit = minigrad.tensor(np.log(0.1 / 0.9), dtype=np.float64, requires_grad=True)
        >>> y = concrete_dropout(x, p_logit, 0.1, training=True, rng=0)
        >>> y.sum().backward()
        >>> y.shape, p_logit.grad.shape, concrete_dropout(x, p_logit, 0.1, training=False) is x
        ((2, 4), (), True)
    """
    check_tensor("concrete_dropout", x)
    _check_p_logit("concrete_dropout", p_logit, x.dtype)
    temperature = check_real("concrete_dropout: temperature", temperature, low=0,
                             low_open=True)
    training = check_bool("concrete_dropout: training", training)
    if not training:
        return x
    return ConcreteDropout.apply(x, p_logit, temperature=temperature, seed=draw_seed(rng))


def concrete_dropout_regularizer(p_logit, weight, weight_regularizer, dropout_regularizer):
    """The paper's regulariser of one concrete-dropout layer, a 0-d Tensor to add to the loss.

        R = weight_regularizer * ||W||**2 / (1 - p)
            + dropout_regularizer * K * (p log p + (1 - p) log(1 - p))

    (Gal, Hron & Kendall 2017, section 3; ``minigrad.nn.concrete_dropout`` derives it from
    the KL divergence and gives the recommended strengths). ``W`` is the weight of the
    layer the dropout feeds, ``(in_features, out_features)`` as ``nn.Linear`` stores it,
    and ``K = in_features = W.shape[0]``, the number of units dropped. The second term
    is ``-K H(p)``, minus the entropy of a Bernoulli(p): minimising it pushes ``p``
    towards 1/2, while the first pushes ``p`` towards 0 (a small ``1 - p`` inflates the
    weight penalty). Built from differentiable ops, so gradients reach ``p_logit`` and ``W``:
    ``p log p + (1 - p) log(1 - p) = p * p_logit + log(sigmoid(-p_logit))`` and
    ``1 / (1 - p) = 1 + exp(p_logit)``, with no ``log`` of a p that might round to 0.

    Args:
        p_logit: one-element Tensor, the logit of the drop probability.
        weight: 2-D Tensor ``(K, out_features)``, same dtype.
        weight_regularizer, dropout_regularizer: finite numbers >= 0.

    Example::

        >>> import math, numpy as np, minigrad
        >>> w = minigrad.tensor(np.ones((3, 2)), dtype=np.float64)
        >>> p_logit = minigrad.tensor(0.0, dtype=np.float64)       # p = 1/2
        >>> r = concrete_dropout_regularizer(p_logit, w, 0.5, 1.0)  # 0.5*6/0.5 + 3*log(1/2)
        >>> round(r.item(), 6), round(6 - 3 * math.log(2), 6)
        (3.920558, 3.920558)
    """
    if not isinstance(weight, Tensor):
        raise TypeError(f"concrete_dropout_regularizer: weight must be a minigrad Tensor, "
                        f"got {type(weight).__name__}")
    if weight.ndim != 2:
        raise ValueError(f"concrete_dropout_regularizer: weight must be 2-D "
                         f"(in_features, out_features), got shape {weight.shape}")
    _check_p_logit("concrete_dropout_regularizer", p_logit, weight.dtype)
    wd = check_real("concrete_dropout_regularizer: weight_regularizer", weight_regularizer,
                    low=0)
    dd = check_real("concrete_dropout_regularizer: dropout_regularizer", dropout_regularizer,
                    low=0)
    theta = p_logit.reshape(())
    weight_term = (weight * weight).sum() * (theta.exp() + 1.0) * wd
    negative_entropy = theta.sigmoid() * theta + (-theta).sigmoid().log()
    return weight_term + negative_entropy * (dd * weight.shape[0])
