"""Alpha dropout as a layer: the dropout of self-normalising (SELU) networks.

Klambauer et al. (NeurIPS 2017) set a dropped unit to SELU's negative saturation
``alpha' = -1.7581`` and map the layer by ``a * y + b`` so that inputs of mean 0 and
variance 1 keep those moments (``minigrad.ops.alpha_dropout`` derives ``a`` and ``b``).
At test time the layer is the identity: nothing is rescaled, as with inverted dropout.
"""
from ..checks import check_probability
from ..ops import alpha_dropout
from ..ops.shared_axes import check_shared_axes
from ..random import as_generator
from .module import Module


class AlphaDropout(Module):
    """Alpha dropout of each element with probability ``p`` in training mode.

    Args:
        p: drop probability in [0, 1), required: the paper finds 0.05 or 0.1 work well
            (torch's default of 0.5 is far above that).
        rng: None (the library Generator reset by ``manual_seed``), an int seed or a
            numpy Generator; an int seeds this layer's own Generator once. Each training
            forward draws one fresh seed from it.
        shared_axes: the axes along which one mask value is shared (an int or a tuple
            of ints, default ``()``), as in ``nn.Dropout``.

    Example::

        >>> import minigrad
        >>> layer = AlphaDropout(0.1, rng=0)
        >>> x = minigrad.tensor([[1.0, 2.0, 3.0]])
        >>> layer, layer(x).shape, layer.eval()(x) is x
        (AlphaDropout(p=0.1), (1, 3), True)
    """

    stochastic = True

    def __init__(self, p, rng=None, shared_axes=()):
        super().__init__()
        self.p = check_probability("alpha dropout probability p", p, allow_one=False)
        self.rng = None if rng is None else as_generator(rng)
        self.shared_axes = check_shared_axes("AlphaDropout", shared_axes)

    def forward(self, x):
        return alpha_dropout(x, self.p, self.training, rng=self.rng,
                             shared_axes=self.shared_axes)

    def extra_repr(self):
        shared = f", shared_axes={self.shared_axes}" if self.shared_axes else ""
        return f"p={self.p}{shared}"
