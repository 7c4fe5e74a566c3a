"""ConcreteDropout: a layer wrapped with dropout on its input whose drop probability is learned.

Gal, Hron & Kendall, "Concrete Dropout" (NeurIPS 2017). Where MC dropout (Gal &
Ghahramani 2016) reads a dropout network as variational inference, the drop probability
``p`` is a variational parameter like the weights, and can be fitted by the same
objective if its mask is relaxed (``minigrad.ops.concrete_dropout``). The objective is
the data term plus ``KL(q || prior) / N``. For a layer with weight ``M`` (rows = the K
input units that dropout removes), the dropout posterior ``q`` and a prior
``N(0, l**-2 I)`` on ``M``, section 3 of the paper gives

    KL(q || prior) ~ l**2 (1 - p) / 2 * ||M||**2  -  K * H(p),
    H(p) = -p log p - (1 - p) log(1 - p)        (entropy of the Bernoulli(p) drop).

Inverted dropout scales the kept units by ``1 / (1 - p)``: ``(x * mask / (1 - p)) @ W``
is ``(x * mask) @ M`` with ``M = W / (1 - p)``, the paper's weight, so in terms of the
stored weight ``W`` the first term is ``(1 - p) ||M||**2 = ||W||**2 / (1 - p)``. With
the data term a mean squared error, which is ``(2 / tau) * (-log likelihood) + const``
for a Gaussian likelihood of precision ``tau``, multiplying the whole objective by
``2 / tau`` gives the loss

    MSE + weight_regularizer * ||W||**2 / (1 - p)
        + dropout_regularizer * K * (p log p + (1 - p) log(1 - p)),

    weight_regularizer = l**2 / (tau N),     dropout_regularizer = 2 / (tau N),

the values of the authors' code (its ``wd = l**2 / N``, ``dd = 2 / N`` for tau = 1).
:func:`regularizer_strengths` computes them. (With a cross-entropy data term, which is
the negative log likelihood itself, the same derivation gives half of each: pass
``precision=2``.) ``l`` is the prior length-scale: a larger ``l`` is a stronger pull
of the weights towards 0.

How ``p`` moves: ``-K H(p)`` is smallest at ``p = 1/2``, so that term raises a small p;
the weight term grows without bound as ``p -> 1`` and lowers it; with more data
(larger N) both shrink and the data term decides: the paper shows the learned p
falling as N grows.

The layer **wraps** the layer it feeds, as the authors' Keras wrapper does:
``ConcreteDropout(Linear(784, 512), ...)`` drops units of the Linear's input, owns the
Linear as its child ``layer`` and knows its weight and ``K = in_features`` for the
regulariser. :func:`concrete_dropout_regularization` sums the regularisers of every
ConcreteDropout in a model, the term to add to the loss.
"""
import math

import numpy as np

from ..checks import check_int, check_real
from ..ops import concrete_dropout, concrete_dropout_regularizer
from ..random import as_generator
from .module import Module
from .parameter import Parameter


def regularizer_strengths(n_train, length_scale, precision=1.0):
    """The paper's ``(weight_regularizer, dropout_regularizer) = (l**2/(tau N), 2/(tau N))``.

    Args:
        n_train: N, the number of training examples (an int >= 1).
        length_scale: l > 0, the prior length-scale (the prior on the weights is
            ``N(0, l**-2)``). The authors' example notebook uses ``l = 1e-4``.
        precision: tau > 0, the model precision of a Gaussian likelihood (1 for
            classification in the authors' code). The module docstring derives both.

    Example::

        >>> regularizer_strengths(60000, 1e-2)
        (1.6666666666666667e-09, 3.3333333333333335e-05)
    """
    n = check_int("regularizer_strengths: n_train", n_train, minimum=1)
    l = check_real("regularizer_strengths: length_scale", length_scale, low=0, low_open=True)
    tau = check_real("regularizer_strengths: precision", precision, low=0, low_open=True)
    return l * l / (tau * n), 2.0 / (tau * n)


def _logit(p):
    return math.log(p) - math.log1p(-p)


class ConcreteDropout(Module):
    """``layer(concrete_dropout(x))``: the wrapped layer's input dropped with a learned ``p``.

    Args:
        layer: the layer the dropout feeds, with a 2-D ``weight`` Parameter of shape
            ``(in_features, out_features)`` (``nn.Linear``, ``nn.FusedLinear``). Its weight
            and ``K = weight.shape[0]`` enter the regulariser.
        weight_regularizer: ``l**2 / (tau N)`` in the paper, a finite number >= 0;
            see :func:`regularizer_strengths` and the module docstring.
        dropout_regularizer: ``2 / (tau N)`` in the paper, a finite number >= 0.
        temperature: of the Concrete relaxation, > 0 (paper: 0.1).
        init_min, init_max: the initial drop probability is drawn uniformly on the logit
            scale between ``logit(init_min)`` and ``logit(init_max)``, both in (0, 1)
            with ``init_min <= init_max``. The authors' default is 0.1 and 0.1, which
            starts every layer at p = 0.1.
        rng: None (the library Generator reset by ``manual_seed``), an int seed or a numpy
            Generator; an int seeds this layer's own Generator once. It draws the initial
            ``p`` and then one seed per training forward.

    Attributes:
        p_logit: the Parameter, a 0-d array ``log(p / (1 - p))`` in the layer's dtype.
        p: the current drop probability ``sigmoid(p_logit)``, a float (read-only).

    In eval mode the dropout is the identity and the layer is ``layer(x)``.

    Example::

        >>> import numpy as np, minigrad
        >>> from minigrad.nn import Linear
        >>> wd, dd = regularizer_strengths(n_train=1000, length_scale=1e-2)
        >>> layer = ConcreteDropout(Linear(4, 3, rng=0), wd, dd, rng=0)
        >>> round(layer.p, 6), layer(minigrad.tensor(np.ones((2, 4), np.float32))).shape
        (0.1, (2, 3))
        >>> sorted(layer.state_dict())
        ['layer.bias', 'layer.weight', 'p_logit']
        >>> layer.regularization().shape
        ()
    """

    stochastic = True

    def __init__(self, layer, weight_regularizer, dropout_regularizer, temperature=0.1,
                 init_min=0.1, init_max=0.1, rng=None):
        super().__init__()
        weight = getattr(layer, "weight", None)
        if not isinstance(layer, Module) or not isinstance(weight, Parameter) or weight.ndim != 2:
            raise TypeError("ConcreteDropout: layer must be a Module with a 2-D weight "
                            "Parameter (in_features, out_features), such as nn.Linear; got "
                            f"{type(layer).__name__}")
        self.layer = layer
        self.weight_regularizer = check_real("ConcreteDropout: weight_regularizer",
                                             weight_regularizer, low=0)
        self.dropout_regularizer = check_real("ConcreteDropout: dropout_regularizer",
                                              dropout_regularizer, low=0)
        self.temperature = check_real("ConcreteDropout: temperature", temperature, low=0,
                                      low_open=True)
        low = check_real("ConcreteDropout: init_min", init_min, 0, 1, low_open=True,
                         high_open=True)
        high = check_real("ConcreteDropout: init_max", init_max, 0, 1, low_open=True,
                          high_open=True)
        if low > high:
            raise ValueError(f"ConcreteDropout: init_min must be <= init_max, got "
                             f"{low} > {high}")
        self.rng = None if rng is None else as_generator(rng)
        start = as_generator(self.rng).uniform(_logit(low), _logit(high))
        self.p_logit = Parameter(np.array(start, dtype=weight.dtype))

    @property
    def p(self):
        """The current drop probability ``sigmoid(p_logit)`` (a float in (0, 1))."""
        return 1.0 / (1.0 + math.exp(-float(self.p_logit.data)))

    def forward(self, x):
        dropped = concrete_dropout(x, self.p_logit, self.temperature, self.training,
                                   rng=self.rng)
        return self.layer(dropped)

    def regularization(self):
        """This layer's term of the loss, a 0-d Tensor (``concrete_dropout_regularizer``)."""
        return concrete_dropout_regularizer(self.p_logit, self.layer.weight,
                                            self.weight_regularizer, self.dropout_regularizer)

    def extra_repr(self):
        return (f"p={self.p:.4g}, temperature={self.temperature}, "
                f"weight_regularizer={self.weight_regularizer:g}, "
                f"dropout_regularizer={self.dropout_regularizer:g}")

    def __repr__(self):
        inner = repr(self.layer).replace("\n", "\n  ")
        return f"ConcreteDropout({self.extra_repr()}\n  (layer): {inner}\n)"


def concrete_dropout_regularization(model):
    """The sum of ``regularization()`` over every ConcreteDropout in ``model``: add it to the loss.

    Raises ValueError if ``model`` contains none (a wrong model passed here would
    otherwise add 0 silently).

    Example::

        >>> from minigrad.nn import Linear, ReLU, Sequential
        >>> model = Sequential(ConcreteDropout(Linear(4, 8, rng=0), 1e-6, 1e-5, rng=0), ReLU(),
        ...                    ConcreteDropout(Linear(8, 2, rng=1), 1e-6, 1e-5, rng=1))
        >>> total = concrete_dropout_regularization(model)
        >>> parts = [m.regularization().item() for m in model if isinstance(m, ConcreteDropout)]
        >>> bool(np.isclose(total.item(), sum(parts)))
        True
    """
    if not isinstance(model, Module):
        raise TypeError(f"concrete_dropout_regularization: model must be a minigrad.nn.Module, "
                        f"got {type(model).__name__}")
    terms = [m.regularization() for m in model.modules() if isinstance(m, ConcreteDropout)]
    if not terms:
        raise ValueError("concrete_dropout_regularization: the model has no ConcreteDropout "
                         "layer")
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total
