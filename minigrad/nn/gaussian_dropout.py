"""Gaussian dropout as a layer: multiplicative N(1, p/(1-p)) noise in training, identity in eval.

Srivastava et al. (JMLR 2014, section 10) multiply each unit by ``r ~ N(1, sigma**2)``
instead of a scaled Bernoulli mask; ``sigma**2 = p / (1 - p)`` gives the noise the mean
and variance of inverted Bernoulli dropout with drop probability ``p``. ``E[r] = 1``, so
the test-time network is the training network without noise: no weight scaling, and
nothing to choose between the two rules ``nn.Dropout`` offers.
"""
from ..checks import check_probability
from ..ops import gaussian_dropout
from ..ops.shared_axes import check_shared_axes
from ..random import as_generator
from .module import Module


class GaussianDropout(Module):
    """Multiply each element by its own ``r ~ N(1, p / (1 - p))`` in training mode.

    Args:
        p: drop probability in [0, 1), as in ``nn.Dropout``: the noise variance is
            ``p / (1 - p)`` (the paper's ``(1 - keep) / keep``, Keras's
            ``GaussianDropout(rate)`` with ``rate = p``). ``p = 0`` is the identity.
        rng: None (the library Generator reset by ``manual_seed``), an int seed or a
            numpy Generator; an int seeds this layer's own Generator once. Each training
            forward draws one fresh seed from it.
        shared_axes: the axes along which one noise value is shared (an int or a tuple
            of ints, default ``()``), as in ``nn.Dropout``.

    Example::

        >>> import minigrad
        >>> layer = GaussianDropout(0.5, rng=0)
        >>> x = minigrad.tensor([[1.0, 2.0, 3.0]])
        >>> layer(x).shape, layer.eval()(x) is x
        ((1, 3), True)
    """

    stochastic = True

    def __init__(self, p=0.5, rng=None, shared_axes=()):
        super().__init__()
        self.p = check_probability("gaussian dropout probability p", p, allow_one=False)
        self.rng = None if rng is None else as_generator(rng)
        self.shared_axes = check_shared_axes("GaussianDropout", shared_axes)

    def forward(self, x):
        return gaussian_dropout(x, self.p, self.training, rng=self.rng,
                                shared_axes=self.shared_axes)

    def extra_repr(self):
        shared = f", shared_axes={self.shared_axes}" if self.shared_axes else ""
        return f"p={self.p}{shared}"
