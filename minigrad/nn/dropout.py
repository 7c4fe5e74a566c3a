"""Dropout as a layer, with the two test-time rules of Srivastava et al. (2014).

In training each unit is kept with probability ``1 - p``. The network used at test
time must output, for each unit, what the thinned networks output *in expectation*.
Two ways give that:

- ``mode="inverted"`` (default; PyTorch and Keras): scale kept units by ``1/(1-p)``
  during training; evaluation is the identity.
- ``mode="weight_scaling"`` (the paper's rule): no scaling in training; at test time
  multiply the layer's output by the keep probability ``1 - p``, which is the same as
  multiplying the next layer's outgoing weights by ``1 - p``.

Both give E[train output] = eval output for every unit; they differ only in where
the factor sits (and so in the effective learning rate of the weights after them).
"""
import numpy as np

from ..checks import check_choice, check_probability
from ..ops import dropout
from ..ops.shared_axes import check_shared_axes
from ..random import as_generator
from .module import Module

MODES = ("inverted", "weight_scaling")


def evaluation_output(x, p, mode):
    """What a dropout layer outputs at test time: ``x``, or ``x * (1 - p)`` under the paper's rule.

    Inverted dropout scaled the kept units in training, so evaluation is the identity;
    ``mode="weight_scaling"`` did not, so every unit is scaled by its keep probability.
    """
    return x if mode == "inverted" or p == 0.0 else x * (1.0 - p)


class Dropout(Module):
    """Zero each element with probability ``p`` in training mode.

    Args:
        p: drop probability in [0, 1] (the paper: 0.2 for inputs, 0.5 for hidden units).
        mode: ``"inverted"`` or ``"weight_scaling"`` (see the module docstring).
        rng: None (the library Generator reset by ``manual_seed``), an int seed or a
            numpy Generator; an int seeds this layer's own Generator once.
        shared_axes: the axes along which one mask value is shared (an int or a tuple of
            ints, negative counting from the end; default ``()``): ``(0,)`` on a
            ``(batch, units)`` input drops the same units for the whole batch, ``(1,)``
            on ``(batch, time, features)`` is variational dropout (Gal & Ghahramani
            2016). ``minigrad.ops.shared_axes`` maps it to Keras's ``noise_shape``.

    Masks: ``last_mask`` holds the keep-mask drawn by the most recent training forward
    (None after an evaluation forward). ``nn.forward_with_masks`` collects or replays
    the masks of every Dropout layer of a model; with shared axes a mask is still
    shaped like the input (constant along those axes). (``nn.fuse`` folds a Dropout
    without shared axes that follows Linear -> ReLU into an ``nn.FusedLinear``, whose
    kernel never stores a mask.)

    Example::

        >>> import minigrad
        >>> layer = Dropout(0.5, rng=0, shared_axes=(0,))
        >>> layer
        Dropout(p=0.5, mode='inverted', shared_axes=(0,))
        >>> y = layer(minigrad.tensor(np.ones((4, 6))))
        >>> bool((layer.last_mask == layer.last_mask[0]).all())
        True
    """

    stochastic = True

    def __init__(self, p=0.5, mode="inverted", rng=None, shared_axes=()):
        super().__init__()
        self.p = check_probability("dropout probability p", p)
        self.mode = check_choice("Dropout: mode", mode, MODES)
        self.rng = None if rng is None else as_generator(rng)
        self.shared_axes = check_shared_axes("Dropout", shared_axes)
        self.last_mask = None
        self.replay_mask = None  # set by nn.forward_with_masks for one forward

    def forward(self, x):
        if not self.training:
            self.last_mask = None
            return evaluation_output(x, self.p, self.mode)
        out, self.last_mask = dropout(x, self.p, True, rng=self.rng, mask=self.replay_mask,
                                      return_mask=True, inverted=self.mode == "inverted",
                                      shared_axes=self.shared_axes)
        return out

    def extra_repr(self):
        shared = f", shared_axes={self.shared_axes}" if self.shared_axes else ""
        return f"p={self.p}, mode={self.mode!r}{shared}"
