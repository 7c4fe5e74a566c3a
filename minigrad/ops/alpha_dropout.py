"""Alpha dropout (Klambauer, Unterthiner, Mayr & Hochreiter, "Self-Normalizing Neural Networks",
NeurIPS 2017, section "New Dropout Technique").

A SELU network keeps its activations at mean 0 and variance 1 (``minigrad.selu``).
Bernoulli dropout breaks that: it sets units to 0, which is not where SELU's low
values live, and scaling by ``1 / (1 - p)`` changes the variance. Alpha dropout sets a
dropped unit to SELU's negative saturation

    alpha' = -lambda * alpha = -1.7580993408473766,

the value SELU gives a very negative input, and then restores mean 0 and variance 1
with one affine map for the whole layer. The derivation, for an input ``x`` of mean 0
and variance 1, a keep indicator ``d ~ Bernoulli(q)`` with ``q = 1 - p``, and
``y = d x + (1 - d) alpha'``:

    E[y]   = q E[x] + (1 - q) alpha'                     = (1 - q) alpha'
    E[y^2] = q E[x^2] + (1 - q) alpha'^2                 = q + (1 - q) alpha'^2
    Var[y] = q + (1 - q) alpha'^2 - (1 - q)^2 alpha'^2   = q + alpha'^2 q (1 - q)

so ``out = a y + b`` has mean ``a (1 - q) alpha' + b`` and variance ``a^2 Var[y]``; mean
0 and variance 1 need

    a = (q + alpha'^2 q (1 - q)) ** (-1/2),     b = -a (1 - q) alpha'.

Unlike inverted dropout, the map is applied to every unit (a kept unit is ``a x + b``,
a dropped one the constant ``a alpha' + b``), and ``E[out] = x`` does not hold per unit:
the moments are restored over the unit-normal distribution, not for each input. At
test time the op is the identity. The paper recommends small rates, ``p`` = 0.05 or 0.1.

Keep-mask: Bernoulli dropout's (same hash, same threshold), so for a seed and ``p`` the
kept units are exactly the ones :func:`minigrad.dropout` keeps.

Backward: ``d(out)/d(x) = a`` where kept, 0 where dropped. The op keeps the uint8 mask
the forward wrote (one byte an element) rather than the seed: the backward is then
Bernoulli dropout's backward kernel with ``scale = a``, and a mask shared along axes
(``shared_axes``, ``minigrad.ops.shared_axes``) needs no second code path.
"""
from ..checks import check_bool, check_probability
from ..kernels import dispatch
from ..random import draw_seed
from ..tensor import Function
from .activations import SELU_ALPHA, SELU_LAMBDA
from .broadcasting import check_tensor
from .shared_axes import check_shared_axes, shared_keep_mask

#: The value of a dropped unit before the affine map: SELU's limit for x -> -inf.
ALPHA_PRIME = -SELU_LAMBDA * SELU_ALPHA


class AlphaDropout(Function):
    """d(out)/dx = a where the unit was kept, else 0 (from the saved keep-mask)."""

    def forward(self, x, p, seed, mask):
        self.p = p
        if mask is None:
            out, self.mask = dispatch.alpha_dropout_forward(x, p, seed, ALPHA_PRIME)
        else:
            out, self.mask = dispatch.apply_alpha_dropout_mask(x, mask, p, ALPHA_PRIME), mask
        return out

    def backward(self, grad):
        return (dispatch.alpha_dropout_backward(grad, self.mask, self.p, ALPHA_PRIME),)


def alpha_dropout(x, p, training, rng=None, *, shared_axes=()):
    """Set each element of ``x`` to ``alpha'`` with probability ``p``, then map all by ``a * y + b``.

    For inputs of mean 0 and variance 1 (a SELU network's activations) the output has
    mean 0 and variance 1 again; ``a`` and ``b`` are derived in the module docstring
    (:func:`minigrad.kernels.dispatch.alpha_dropout_affine` computes them).

    Args:
        x: Tensor, any shape.
        p: probability of *dropping* a unit (setting it to ``alpha'``), in [0, 1): the
            paper's ``1 - q``. ``p = 1`` is refused (``a`` would be infinite).
        training: required, no default (as for :func:`minigrad.dropout`). ``False``
            returns ``x`` unchanged, as does ``p == 0``.
        rng: None (the library Generator, reset by ``minigrad.manual_seed``), an int
            seed, or a ``numpy.random.Generator``. One 64-bit seed is drawn per call;
            the units kept are the ones ``minigrad.dropout`` keeps with that seed, the
            same for any thread count and on both kernel backends (bit for bit).
        shared_axes: the axes along which one mask value is shared (an int or a tuple
            of ints; default ``()``), as for :func:`minigrad.dropout`.

    Returns:
        A Tensor shaped like ``x``. A dropped unit is the constant ``a alpha' + b`` even
        where ``x`` is NaN or inf.

    Example::

        >>> import minigrad, numpy as np
        >>> x = minigrad.tensor(np.zeros((1, 6)), dtype=np.float64)
        >>> y = alpha_dropout(x, 0.5, training=True, rng=0)
        >>> a, b = minigrad.kernels.dispatch.alpha_dropout_affine(0.5, ALPHA_PRIME)
        >>> bool(np.all(np.isclose(y.data, b) | np.isclose(y.data, a * ALPHA_PRIME + b)))
        True
        >>> alpha_dropout(x, 0.5, training=False) is x
        True
    """
    check_tensor("alpha_dropout", x)
    p = check_probability("alpha dropout probability p", p, allow_one=False)
    training = check_bool("alpha_dropout: training", training)
    shared_axes = check_shared_axes("alpha_dropout", shared_axes, x.ndim)
    if not training or p == 0.0:
        return x
    seed = draw_seed(rng)
    mask = shared_keep_mask(x.shape, shared_axes, p, seed) if shared_axes else None
    return AlphaDropout.apply(x, p=p, seed=seed, mask=mask)
