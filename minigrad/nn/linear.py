"""Linear: the fully connected layer y = x W + b."""
import math

import numpy as np

from ..ops import matmul
from ..random import as_generator
from .constraints import MaxNorm
from .module import Module
from .parameter import Parameter

INITS = ("he", "gaussian")


class Linear(Module):
    """Fully connected layer ``y = x @ weight + bias``.

    Weight layout: ``weight`` has shape ``(in_features, out_features)``, so column ``j``
    is the incoming weight vector of output unit ``j`` (this is the vector a max-norm
    constraint bounds). ``x`` has shape ``(batch, in_features)``. (PyTorch stores the
    transpose, ``(out, in)``; here the forward product needs no transpose.)

    Args:
        in_features, out_features: layer sizes.
        bias: add a learnable bias (initialised to 0). Biases are never dropped and
            never constrained.
        init: ``"he"`` (default): weights ~ N(0, 2 / in_features), He et al. (2015),
            which keeps activation variance stable through ReLU layers; ``"gaussian"``:
            N(0, init_std**2), the small Gaussian of Srivastava et al. (2014), whose MNIST
            nets used init_std = 0.01.
        init_std: standard deviation for ``init="gaussian"``.
        max_norm: if given, attach ``MaxNorm(max_norm)`` to the weight: after every
            optimizer step each column's L2 norm is at most ``max_norm``.
        rng: None (the library Generator), an int seed or a numpy Generator.
        dtype: np.float32 (default) or np.float64.

    Example::

        >>> layer = Linear(784, 1024, max_norm=3.0, rng=0)
        >>> layer(minigrad.tensor(np.zeros((32, 784), dtype=np.float32))).shape
        (32, 1024)
    """

    def __init__(self, in_features, out_features, bias=True, init="he", init_std=0.01,
                 max_norm=None, rng=None, dtype=np.float32):
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"Linear: {name} must be a positive int, got {value!r}")
        if init not in INITS:
            raise ValueError(f"Linear: init must be one of {INITS}, got {init!r}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        std = math.sqrt(2.0 / in_features) if init == "he" else float(init_std)
        weights = as_generator(rng).normal(0.0, std, size=(in_features, out_features))
        self.weight = Parameter(weights.astype(dtype),
                                constraint=None if max_norm is None else MaxNorm(max_norm))
        self.bias = Parameter(np.zeros(out_features, dtype=dtype)) if bias else None

    def forward(self, x):
        y = matmul(x, self.weight)
        return y + self.bias if self.bias is not None else y

    def extra_repr(self):
        constraint = self.weight.constraint
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}"
                + (f", max_norm={constraint.c}" if constraint is not None else ""))
