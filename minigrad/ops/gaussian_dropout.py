"""Gaussian dropout (Srivastava, Hinton, Krizhevsky, Sutskever & Salakhutdinov, JMLR 2014, s. 10).

Bernoulli dropout multiplies each unit by ``m / (1 - p)`` with ``m ~ Bernoulli(1 - p)``:
noise of mean 1 and variance ``p / (1 - p)``. Section 10 of the paper replaces it by
continuous noise of the same two moments, ``r ~ N(1, sigma**2)`` with

    sigma**2 = p / (1 - p),

and reports that it works as well or better. ``p`` is the drop probability, as in
``minigrad.dropout``. The paper writes the same variance with its retention probability
``keep = 1 - p`` as ``(1 - keep) / keep``; Keras's ``GaussianDropout(rate)`` uses
``rate / (1 - rate)``, where ``rate`` is this ``p``. So ``p = 0.5`` is ``sigma = 1`` in all
three, and ``p = 0`` is no noise at all (the identity). ``p = 1`` would be infinite
variance and is refused.

    out = x * r,   r = 1 + sigma * z,   z ~ N(0, 1) per element and per call,

so ``E[out] = x``: nothing is rescaled at test time, where the op is the identity.

Backward: ``d(out)/d(x) = r``. The op keeps only the seed of its noise, which is
counter-based (a hash of the seed and each element's index: see
``minigrad.kernels.reference.standard_normal``), and regenerates ``r`` from it.

``shared_axes`` ties the noise along axes: ``r`` is drawn at the reduced shape and
broadcast (``minigrad.ops.shared_axes``).
"""
import numpy as np

from ..checks import check_bool, check_probability
from ..kernels import dispatch
from ..random import draw_seed
from ..tensor import Function
from .broadcasting import check_tensor
from .shared_axes import check_shared_axes, mask_shape


class GaussianDropout(Function):
    """d(out)/dx = r = 1 + sigma z, the forward's noise regenerated from its seed."""

    def forward(self, x, p, seed, shared_axes):
        self.p, self.seed, self.shared_axes = p, seed, shared_axes
        return self._times_noise(x, dispatch.gaussian_dropout_forward)

    def backward(self, grad):
        return (self._times_noise(grad, dispatch.gaussian_dropout_backward),)

    def _times_noise(self, a, kernel):
        """``a * r`` by ``kernel`` (forward or backward: both multiply by the noise)."""
        if not self.shared_axes:
            return kernel(a, self.p, self.seed)
        # r at the reduced shape (1 * r is r exactly, in a's dtype), broadcast by the
        # product: element for element the rounding of the kernel's x * r.
        ones = np.ones(mask_shape(a.shape, self.shared_axes), dtype=a.dtype)
        return a * kernel(ones, self.p, self.seed)


def gaussian_dropout(x, p, training, rng=None, *, shared_axes=()):
    """Multiply each element of ``x`` by its own noise ``r ~ N(1, p / (1 - p))``.

    Args:
        x: Tensor, any shape.
        p: drop probability in [0, 1), as in :func:`minigrad.dropout`: the noise variance
            is ``sigma**2 = p / (1 - p)``, the variance of Bernoulli dropout's ``m / (1-p)``
            (the paper's ``(1 - keep) / keep``, Keras's ``rate / (1 - rate)``).
        training: required, no default (as for :func:`minigrad.dropout`). ``False``
            returns ``x`` unchanged, as does ``p == 0``.
        rng: None (the library Generator, reset by ``minigrad.manual_seed``), an int
            seed, or a ``numpy.random.Generator``. One 64-bit seed is drawn from it per
            call; the noise is a hash of that seed and each element's index, so it is
            the same for any thread count. The compiled and numpy kernels agree bit for
            bit on every CPU (both use the library's own log and cosine:
            ``minigrad.kernels.reference.standard_normal``).
        shared_axes: the axes along which one noise value is shared (an int or a tuple
            of ints; default ``()``): ``r`` is drawn at ``x``'s shape with these axes
            reduced to 1 and broadcast, as :func:`minigrad.dropout` shares its mask
            (``minigrad.ops.shared_axes``).

    Returns:
        A Tensor shaped like ``x``. Where ``x`` is NaN or inf the output is too (the noise
        multiplies every unit; none is removed).

    Example::

        >>> import minigrad
        >>> x = minigrad.tensor([[1.0, 2.0, 3.0, 4.0]])
        >>> y = gaussian_dropout(x, 0.5, training=True, rng=0)   # sigma = 1
        >>> y.shape, gaussian_dropout(x, 0.5, training=False) is x
        ((1, 4), True)
    """
    check_tensor("gaussian_dropout", x)
    p = check_probability("gaussian dropout probability p", p, allow_one=False)
    training = check_bool("gaussian_dropout: training", training)
    shared_axes = check_shared_axes("gaussian_dropout", shared_axes, x.ndim)
    if not training or p == 0.0:
        return x
    return GaussianDropout.apply(x, p=p, seed=draw_seed(rng), shared_axes=shared_axes)
