"""Linear: the fully connected layer y = x W + b."""
import numpy as np

from ..ops.fused_linear import fused_linear
from .constraints import MaxNorm
from .init import init_linear
from .module import Module
from .parameter import Parameter


class Linear(Module):
    """Fully connected layer ``y = x @ weight + bias``.

    Weight layout: ``weight`` has shape ``(in_features, out_features)``, so column ``j``
    is the incoming weight vector of output unit ``j`` (this is the vector a max-norm
    constraint bounds). ``x`` has shape ``(batch, in_features)``. (PyTorch stores the
    transpose, ``(out, in)``; here the forward product needs no transpose.)

    Args:
        in_features, out_features: layer sizes.
        bias: add a learnable bias (drawn by ``init="torch"``, 0 for every other
            init). Biases are never dropped and never constrained.
        init: how the weight (and bias) start, one of ``minigrad.nn.init.INITS``
            (``fan_in = in_features``):

            * ``"torch"`` (default): PyTorch's ``nn.Linear`` default, weight and bias
              ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), so code ported from PyTorch starts
              where it did there;
            * ``"glorot_uniform"``/``"xavier_uniform"``, ``"glorot_normal"``/
              ``"xavier_normal"`` (Glorot & Bengio 2010), ``"lecun_normal"`` (LeCun et
              al. 1998);
            * ``"he_normal"``/``"he"``: N(0, 2 / fan_in), He et al. (2015), which keeps
              the activation variance stable through ReLU layers (minigrad's default
              before; ``dropout_mlp`` and ``TrainConfig`` still use it), ``"he_uniform"``;
            * ``"gaussian"``: N(0, init_std**2), the small Gaussian of Hinton et al.
              (2012) and Srivastava et al. (2014), whose MNIST nets used init_std = 0.01.

            ``minigrad.nn.init`` tabulates what each draws and why.
        init_std: standard deviation for ``init="gaussian"``, a finite number > 0.
        max_norm: if given, attach ``MaxNorm(max_norm)`` to the weight: after every
            optimizer step each column's L2 norm is at most ``max_norm``.
        rng: None (the library Generator), an int seed or a numpy Generator.
        dtype: np.float32 (default) or np.float64.

    Example::

        >>> import numpy as np, minigrad
        >>> from minigrad.nn import Linear
        >>> layer = Linear(784, 1024, max_norm=3.0, rng=0)
        >>> layer(minigrad.tensor(np.zeros((32, 784), dtype=np.float32))).shape
        (32, 1024)
    """

    def __init__(self, in_features, out_features, bias=True, init="torch", init_std=0.01,
                 max_norm=None, rng=None, dtype=np.float32):
        super().__init__()
        weight, bias_values = init_linear(init, in_features, out_features, rng=rng,
                                          dtype=dtype, init_std=init_std, bias=bias)
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = Parameter(weight,
                                constraint=None if max_norm is None else MaxNorm(max_norm))
        self.register_parameter("bias", None if bias_values is None else Parameter(bias_values))

    def forward(self, x):
        # x @ W + b as one op: the GEMM adds the bias as it writes each block out
        # (bit-identical to matmul(x, W) + b; minigrad.ops.fused_linear, with no ReLU)
        return fused_linear(x, self.weight, self.bias)

    def extra_repr(self):
        constraint = self.weight.constraint
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}"
                + (f", max_norm={constraint.c}" if constraint is not None else ""))
