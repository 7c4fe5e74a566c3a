"""ReLU and SELU as layers."""
from ..ops import relu, selu
from .module import Module


class ReLU(Module):
    """Elementwise ``max(x, 0)``: the rectifier the dropout papers use for hidden units."""

    def forward(self, x):
        return relu(x)


class SELU(Module):
    """Elementwise ``minigrad.selu``: ``lambda x`` for x > 0, else ``lambda alpha (e**x - 1)``.

    Self-normalising (Klambauer et al. 2017): with weights of variance ``1 / fan_in``
    (``nn.init``'s LeCun normal) activations stay near mean 0 and variance 1 layer after
    layer. Pair it with ``nn.AlphaDropout``, not ``nn.Dropout``, which would break that.
    """

    def forward(self, x):
        return selu(x)
