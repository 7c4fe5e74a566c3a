"""Weight initialisers of ``Linear``, by the names users know.

Layout: a minigrad weight has shape ``(in_features, out_features)`` (PyTorch stores the
transpose, ``(out, in)``), so here ``fan_in = in_features`` and ``fan_out =
out_features``. ``U(-a, a)`` is the uniform distribution (variance ``a**2 / 3``),
``N(0, s**2)`` the normal one with standard deviation ``s``.

====================  ======================================  ========================
``init=``             weight ~                                from
====================  ======================================  ========================
``"torch"``           U(-1/sqrt(fan_in), 1/sqrt(fan_in)),     PyTorch's ``nn.Linear``
                      and the bias too                        default
``"glorot_uniform"``  U(-a, a), a = sqrt(6/(fan_in+fan_out))  Glorot & Bengio (2010)
``"glorot_normal"``   N(0, 2/(fan_in+fan_out))                Glorot & Bengio (2010)
``"lecun_normal"``    N(0, 1/fan_in)                          LeCun et al. (1998)
``"he_normal"``       N(0, 2/fan_in)                          He et al. (2015)
``"he_uniform"``      U(-a, a), a = sqrt(6/fan_in)            He et al. (2015)
``"gaussian"``        N(0, init_std**2)                       Hinton et al. (2012);
                                                              Srivastava et al. (2014)
====================  ======================================  ========================

Aliases: ``"xavier_uniform"`` is ``"glorot_uniform"``, ``"xavier_normal"`` is
``"glorot_normal"``, ``"he"`` is ``"he_normal"`` (minigrad's first name for it). Biases
are zero for every init except ``"torch"``.

Why the scales: a unit's pre-activation sums ``fan_in`` products ``w x`` of independent
zero-mean weights and inputs, so its variance is ``fan_in * Var(w) * E[x**2]``.
``Var(w) = 1 / fan_in`` passes unit-variance inputs on at unit variance (LeCun); after a
ReLU, ``E[x**2]`` is only half the variance of the pre-activation before it, so He
doubles ``Var(w)`` to ``2 / fan_in``; Glorot compromises between the forward
(``fan_in``) and the backward (``fan_out``) condition, ``2 / (fan_in + fan_out)``. The
uniform variants have the same variance as their normal namesakes. PyTorch's default,
``Var(w) = 1 / (3 fan_in)``, is a third of LeCun's: He-normal draws weights
``sqrt(6) ~ 2.4`` times larger.

Papers:

* Glorot & Bengio (2010), "Understanding the difficulty of training deep feedforward
  neural networks", AISTATS (their "normalized initialization").
* LeCun, Bottou, Orr & Mueller (1998), "Efficient BackProp". Keras' ``lecun_normal``
  draws a normal truncated at two standard deviations (rescaled to keep the variance
  ``1 / fan_in``); this one is not truncated.
* He, Zhang, Ren & Sun (2015), "Delving Deep into Rectifiers", ICCV. The paper derives
  the normal; ``"he_uniform"`` is the uniform with the same variance (Keras' name).
* Hinton et al. (2012), "Improving neural networks by preventing co-adaptation of
  feature detectors", and Srivastava et al. (2014), "Dropout", JMLR: their MNIST dropout
  nets start from small Gaussian weights, N(0, 0.01**2), i.e. ``init_std=0.01``.

``"he"`` and ``"gaussian"`` draw exactly what minigrad's Linear drew before these names
existed (one ``rng.normal`` call, cast to ``dtype``; zero biases), so recorded results
stay reproducible bit for bit. Every initialiser draws the weight first, then (only
``"torch"``) the bias, from the one Generator given.

Example::

    >>> weight, bias = init_linear("glorot_uniform", 784, 1024, rng=0)
    >>> weight.shape, bias.shape, float(abs(weight).max()) <= math.sqrt(6 / (784 + 1024))
    ((784, 1024), (1024,), True)
"""
import math

import numpy as np

from ..checks import check_choice, check_int, check_real
from ..random import as_generator
from ..tensor import FLOAT_DTYPES


# ---- the weights: each returns a float64 array of shape (fan_in, fan_out) ---------------
def _torch_weight(rng, fan_in, fan_out, init_std):
    """PyTorch's ``kaiming_uniform_(weight, a=sqrt(5))``: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

    ``kaiming_uniform_`` draws U(-bound, bound) with ``bound = gain * sqrt(3 / fan_in)``
    (the uniform whose standard deviation is ``gain / sqrt(fan_in)``), and the
    leaky-ReLU gain for slope ``a`` is ``sqrt(2 / (1 + a**2))``. With ``a = sqrt(5)``
    the gain is ``sqrt(2 / 6) = sqrt(1/3)``, so ``bound = sqrt(1/3) * sqrt(3 / fan_in)
    = 1 / sqrt(fan_in)``.
    """
    return _uniform(rng, 1.0 / math.sqrt(fan_in), (fan_in, fan_out))


def _glorot_uniform(rng, fan_in, fan_out, init_std):
    """U(-a, a), a = sqrt(6 / (fan_in + fan_out)): variance 2 / (fan_in + fan_out)."""
    return _uniform(rng, math.sqrt(6.0 / (fan_in + fan_out)), (fan_in, fan_out))


def _glorot_normal(rng, fan_in, fan_out, init_std):
    """N(0, 2 / (fan_in + fan_out))."""
    return rng.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), size=(fan_in, fan_out))


def _lecun_normal(rng, fan_in, fan_out, init_std):
    """N(0, 1 / fan_in), not truncated."""
    return rng.normal(0.0, math.sqrt(1.0 / fan_in), size=(fan_in, fan_out))


def _he_normal(rng, fan_in, fan_out, init_std):
    """N(0, 2 / fan_in)."""
    return rng.normal(0.0, math.sqrt(2.0 / fan_in), size=(fan_in, fan_out))


def _he_uniform(rng, fan_in, fan_out, init_std):
    """U(-a, a), a = sqrt(6 / fan_in): variance 2 / fan_in, as He-normal."""
    return _uniform(rng, math.sqrt(6.0 / fan_in), (fan_in, fan_out))


def _gaussian(rng, fan_in, fan_out, init_std):
    """N(0, init_std**2), whatever the fans."""
    return rng.normal(0.0, float(init_std), size=(fan_in, fan_out))


def _uniform(rng, bound, shape):
    return rng.uniform(-bound, bound, size=shape)


_WEIGHTS = {
    "torch": _torch_weight,
    "glorot_uniform": _glorot_uniform,
    "xavier_uniform": _glorot_uniform,
    "glorot_normal": _glorot_normal,
    "xavier_normal": _glorot_normal,
    "lecun_normal": _lecun_normal,
    "he_normal": _he_normal,
    "he": _he_normal,  # the name minigrad used first
    "he_uniform": _he_uniform,
    "gaussian": _gaussian,
}

#: every accepted value of ``init=`` (aliases included)
INITS = tuple(_WEIGHTS)


def init_linear(init, in_features, out_features, rng=None, dtype=np.float32, init_std=0.01,
                bias=True):
    """Draw the initial ``(weight, bias)`` of a ``Linear(in_features, out_features)``.

    Args:
        init: one of ``INITS``; the module docstring says what each one draws.
        in_features, out_features: positive ints, the fans ``fan_in`` and ``fan_out``.
        rng: None (the library Generator), an int seed or a numpy Generator. The weight
            is drawn first, then the bias (``"torch"`` only; the others draw nothing
            for it).
        dtype: np.float32 or np.float64; values are drawn in float64 and cast.
        init_std: standard deviation of ``init="gaussian"``, a finite number > 0
            (checked whatever ``init`` is).
        bias: False: no bias (and, for ``"torch"``, no bias draw).

    Returns:
        ``weight`` of shape ``(in_features, out_features)`` and ``bias`` of shape
        ``(out_features,)`` (zeros except for ``"torch"``) or None, both of ``dtype``.

    Raises:
        ValueError: an unknown ``init`` (the message lists ``INITS``), a size that is
            not a positive int, or an ``init_std`` that is NaN, infinite or <= 0.
        TypeError: ``init_std`` is not a real number, ``dtype`` is not a float type.

    Example::

        >>> weight, bias = init_linear("torch", 4, 3, rng=0)
        >>> bool(np.all(np.abs(bias) <= 1 / math.sqrt(4)))
        True
    """
    check_choice("Linear: init", init, INITS)
    # ValueError for every bad size, of any kind: what Linear has always raised
    fan_in = check_int("Linear: in_features", in_features, minimum=1, type_error=ValueError)
    fan_out = check_int("Linear: out_features", out_features, minimum=1, type_error=ValueError)
    check_real("Linear: init_std", init_std, low=0, low_open=True)
    dtype = np.dtype(dtype)
    if dtype not in FLOAT_DTYPES:
        raise TypeError(f"Linear: dtype must be float32 or float64, got {dtype}")
    rng = as_generator(rng)
    weight = _WEIGHTS[init](rng, fan_in, fan_out, init_std).astype(dtype)
    if not bias:
        return weight, None
    if init == "torch":  # nn.Linear.reset_parameters: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
        return weight, _uniform(rng, 1.0 / math.sqrt(fan_in), (fan_out,)).astype(dtype)
    return weight, np.zeros(fan_out, dtype=dtype)
