"""FusedLinear: a Linear, its ReLU and its Dropout as one layer, computed by one kernel.

A hidden layer of a dropout MLP is three layers, ``Linear -> ReLU -> Dropout``. Run one
by one they make four passes over the (batch, units) output, and Dropout stores a mask
for backward. ``FusedLinear`` computes ``dropout(relu(x @ W + b))`` in the write-back of
the GEMM instead, and its backward needs no mask (``minigrad.ops.fused_linear`` derives
both). Results are bit-identical to the three layers: the same Parameters, the same
Generator, one seed drawn at the same moment, the same arithmetic
(``tests/nn/test_nn_fused_linear.py``).

The noise layer may also be a ``GaussianDropout``: then the kernel multiplies by its
noise ``r ~ N(1, p/(1-p))`` in the write-back (and the backward uses the slope the
forward returns: ``minigrad.ops.fused_linear``), again bit-identical to the three layers.

You seldom build one by hand: ``minigrad.nn.fuse(model)`` replaces every
``Linear -> ReLU [-> Dropout | GaussianDropout]`` run in a model's Sequentials, and ``dropout_mlp`` (so
``minigrad train``) fuses by default. A FusedLinear is a ``Linear`` (a subclass) with
the same parameter names, so a state dict moves freely between the fused and the
unfused form of a model.
"""
from ..ops.fused_linear import fused_linear
from ..random import draw_seed
from .dropout import Dropout, evaluation_output
from .gaussian_dropout import GaussianDropout
from .linear import Linear
from .module import Module


class FusedLinear(Linear):
    """``dropout(relu(x @ weight + bias))``: a Linear with its ReLU and optional Dropout.

    Args:
        linear: a ``Linear`` (exactly: a subclass may compute something else). Its
            Parameters are shared, not copied, so an optimizer built on them and their
            max-norm constraint keep working.
        dropout: the ``Dropout`` or ``GaussianDropout`` after the ReLU (exactly those
            classes), or None. Its ``p`` (and a Dropout's ``mode``) are copied, its
            Generator shared: the masks (or noise) continue the same stream the unfused
            layer would have drawn from. One with ``shared_axes`` is refused (the kernel
            draws per element; ``nn.fuse`` leaves such a layer unfused).

    Training mode with ``p > 0``: each forward draws one seed from the Generator, as
    ``Dropout`` does, and keeps unit (i, j) iff ``Dropout`` would have with that seed.
    Evaluation mode: ``relu(x @ weight + bias)``, times ``1 - p`` when
    ``mode="weight_scaling"`` (the paper's test-time rule), as ``Dropout`` gives; with
    Gaussian noise (``noise="gaussian"``), ``relu(x @ weight + bias)``: ``E[r] = 1``.

    The kernel never materialises the mask, so this layer has no ``last_mask``, and
    ``nn.forward_with_masks`` refuses a model with fused dropout (its message says how
    to get the masks).

    Example::

        >>> from minigrad.nn import Dropout, FusedLinear, Linear
        >>> FusedLinear(Linear(784, 1024, max_norm=3.0, rng=0), Dropout(0.5))
        FusedLinear(in_features=784, out_features=1024, bias=True, max_norm=3.0, relu=True, p=0.5, mode='inverted')
        >>> from minigrad.nn import GaussianDropout
        >>> FusedLinear(Linear(784, 1024, rng=0), GaussianDropout(0.5))
        FusedLinear(in_features=784, out_features=1024, bias=True, relu=True, p=0.5, noise='gaussian')
    """

    stochastic = True

    def __init__(self, linear, dropout=None):
        if type(linear) is not Linear:
            raise TypeError(f"FusedLinear: linear must be a minigrad.nn.Linear, "
                            f"got {type(linear).__name__}")
        if dropout is not None and type(dropout) not in (Dropout, GaussianDropout):
            raise TypeError(f"FusedLinear: dropout must be a minigrad.nn.Dropout, a "
                            f"GaussianDropout or None, got {type(dropout).__name__}")
        if dropout is not None and dropout.shared_axes:
            raise ValueError(f"FusedLinear: the kernel draws its noise per element, but the "
                             f"{type(dropout).__name__} shares it along axes "
                             f"{dropout.shared_axes}; keep that layer unfused")
        # Not Linear.__init__: that would draw fresh weights (and consume random numbers).
        Module.__init__(self)
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.weight = linear.weight
        self.register_parameter("bias", linear.bias)
        self.p = 0.0 if dropout is None else dropout.p
        #: "bernoulli" (a Dropout, or none) or "gaussian" (a GaussianDropout)
        self.noise = "gaussian" if type(dropout) is GaussianDropout else "bernoulli"
        # Gaussian noise has mean 1: evaluation is the identity, as for inverted dropout
        self.mode = getattr(dropout, "mode", "inverted")
        self.rng = None if dropout is None else dropout.rng
        self.train((dropout or linear).training)

    def forward(self, x):
        dropping = self.training and self.p > 0
        y = fused_linear(x, self.weight, self.bias, relu=True, p=self.p if dropping else 0.0,
                         seed=draw_seed(self.rng) if dropping else None,
                         inverted=self.mode == "inverted", noise=self.noise)
        return y if self.training else evaluation_output(y, self.p, self.mode)

    def extra_repr(self):
        kind = f"noise={self.noise!r}" if self.noise == "gaussian" else f"mode={self.mode!r}"
        return f"{super().extra_repr()}, relu=True, p={self.p}, {kind}"
