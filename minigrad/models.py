"""The dropout MLP of Hinton et al. (2012) and Srivastava et al. (JMLR 2014).

Architecture, for hidden sizes ``(h1, ..., hL)``::

    Dropout(p_input) -> [Linear(max_norm=c) -> ReLU -> Dropout(p_hidden)] x L -> Linear(max_norm=c)

The papers' MNIST nets: 784-1024-1024-10 (or 784-800-800-10 / 784-1024x3-10 ...),
input units retained with probability 0.8 (``p_input = 0.2``), hidden units with 0.5
(``p_hidden = 0.5``), max-norm c = 3 to 4 on every unit's incoming weight vector.
A Dropout with p = 0 is left out of the network rather than run as the identity.
Each hidden ``Linear -> ReLU -> Dropout`` is then fused into one ``nn.FusedLinear``
(``nn.fuse``; ``fused=False`` keeps the three layers).

``kind`` chooses the noise of every dropout layer (:data:`DROPOUT_KINDS`), with the
same ``p_input`` and ``p_hidden``:

* ``"bernoulli"``: ``nn.Dropout``, the papers' dropout;
* ``"gaussian"``: ``nn.GaussianDropout``, multiplicative N(1, p/(1-p)) noise of the same
  variance (Srivastava et al. 2014, section 10);
* ``"alpha"``: ``nn.AlphaDropout`` in a self-normalising network, SELU in place of ReLU
  (Klambauer et al. 2017; pair it with ``init="lecun_normal"`` and small rates, 0.05-0.1);
* ``"dropconnect"``: each hidden ``Linear -> ReLU -> Dropout(p_hidden)`` becomes one
  ``nn.DropConnectLinear(p=p_hidden, activation="relu")``, which drops each *weight*
  into a hidden unit with probability ``p_hidden``, a fresh mask per example (Wan et al.
  2013); the input units are still dropped by ``Dropout(p_input)``;
* ``"concrete"``: every Linear is wrapped in ``nn.ConcreteDropout``, which drops its
  input with a *learned* probability starting at ``p_input`` (the first layer) or
  ``p_hidden`` (the others), with the paper's regulariser for ``n_train`` examples
  (Gal, Hron & Kendall 2017); add ``nn.concrete_dropout_regularization(model)`` to the
  loss (``minigrad.training.train`` does).
"""
from .checks import check_bool, check_choice, check_int, check_probability, check_sizes
from .nn import (SELU, AlphaDropout, ConcreteDropout, DropConnectLinear, Dropout,
                 GaussianDropout, Linear, ReLU, Sequential, fuse, regularizer_strengths)
from .random import as_generator

#: the noises ``dropout_mlp(kind=...)`` can put in the dropout layers
DROPOUT_KINDS = ("bernoulli", "gaussian", "alpha", "dropconnect", "concrete")
#: the prior length-scale l of concrete dropout's regulariser (``nn.regularizer_strengths``)
CONCRETE_LENGTH_SCALE = 1e-2


def dropout_mlp(in_features, hidden, out_features, *, p_input=0.2, p_hidden=0.5,
                mode="inverted", max_norm=3.0, init="he", rng=None, dropout_rng=None,
                fused=True, kind="bernoulli", n_train=None):
    """Build the paper-style dropout MLP as a ``Sequential``.

    Args:
        in_features: input size (784 for MNIST).
        hidden: sequence of hidden layer sizes, e.g. ``(1024, 1024)``; may be empty
            (then the model is ``Dropout(p_input) -> Linear``, a dropout softmax
            regression).
        out_features: number of classes.
        p_input, p_hidden: drop probabilities in [0, 1) of the input and hidden units.
        mode: ``"inverted"`` or ``"weight_scaling"``; see ``minigrad.nn.Dropout``.
            Gaussian and alpha dropout have no test-time rule to choose (their noise
            keeps the mean): they take the default ``"inverted"`` only.
        max_norm: c of the max-norm constraint on every Linear's weight columns, or
            None for no constraint.
        init: ``Linear`` initialisation, one of ``minigrad.nn.init.INITS``. The default
            ``"he"`` (He-normal, N(0, 2 / fan_in)) is the measured recipe of this
            library's MNIST results, not ``Linear``'s own default (``"torch"``); the
            papers themselves used ``"gaussian"`` with ``init_std=0.01``.
        rng: Generator (or seed) for the weight initialisation.
        dropout_rng: Generator (or seed) shared by every Dropout layer for its masks
            (None: the library default Generator).
        fused: return ``nn.fuse`` of the model (default): each hidden Linear -> ReLU
            -> Dropout is one ``FusedLinear``, the same network computed by one kernel
            per layer. ``False`` keeps the separate layers, with the same parameter
            names (a state dict loads into either).
        kind: the noise of the dropout layers, one of :data:`DROPOUT_KINDS`:
            ``"bernoulli"`` (default: ``nn.Dropout``), ``"gaussian"``
            (``nn.GaussianDropout``, noise variance p / (1 - p)), ``"alpha"``
            (``nn.AlphaDropout``, with SELU activations instead of ReLU) or
            ``"dropconnect"`` (hidden layers are ``nn.DropConnectLinear``, dropping
            weights with ``p_hidden``; ``mode`` is passed on to them) or ``"concrete"``
            (every Linear wrapped in ``nn.ConcreteDropout``, its learned drop
            probability starting at ``p_input`` / ``p_hidden``; 0 leaves that layer
            unwrapped).
        n_train: the number of training examples N, which sets concrete dropout's
            regulariser (``nn.regularizer_strengths(N, CONCRETE_LENGTH_SCALE)``);
            required with ``kind="concrete"`` only.

    Example::

        >>> dropout_mlp(784, (1024, 1024), 10, rng=0, dropout_rng=1)
        Sequential(
          (0): Dropout(p=0.2, mode='inverted')
          (1): FusedLinear(in_features=784, out_features=1024, bias=True, max_norm=3.0, relu=True, p=0.5, mode='inverted')
          (4): FusedLinear(in_features=1024, out_features=1024, bias=True, max_norm=3.0, relu=True, p=0.5, mode='inverted')
          (7): Linear(in_features=1024, out_features=10, bias=True, max_norm=3.0)
        )
        >>> len(dropout_mlp(784, (1024, 1024), 10, fused=False))  # 1 + 3 x 2 + 1 layers
        8
    """
    in_features, out_features = (
        check_int(f"dropout_mlp: {name}", size, minimum=1, type_error=ValueError)
        for name, size in (("in_features", in_features), ("out_features", out_features)))
    hidden = check_sizes("dropout_mlp: hidden", hidden, type_error=ValueError)
    p_input, p_hidden = (
        check_probability(f"dropout_mlp: {name}", p, allow_one=False, type_error=ValueError)
        for name, p in (("p_input", p_input), ("p_hidden", p_hidden)))
    fused = check_bool("dropout_mlp: fused", fused)
    kind = check_choice("dropout_mlp: kind", kind, DROPOUT_KINDS)
    if kind == "concrete":
        n_train = check_int("dropout_mlp: n_train", n_train, minimum=1, type_error=ValueError)
    if kind in ("gaussian", "alpha", "concrete") and mode != "inverted":
        raise ValueError(f"dropout_mlp: {kind} dropout has no test-time scaling rule; "
                         f"mode must be 'inverted', got {mode!r}")
    init_rng = as_generator(rng)
    dropout_rng = None if dropout_rng is None else as_generator(dropout_rng)

    def drop(p):
        if p == 0:
            return []
        if kind == "gaussian":
            return [GaussianDropout(p, rng=dropout_rng)]
        if kind == "alpha":
            return [AlphaDropout(p, rng=dropout_rng)]
        return [Dropout(p, mode=mode, rng=dropout_rng)]  # bernoulli, and dropconnect's input

    activation = SELU if kind == "alpha" else ReLU
    if kind == "concrete":
        return _concrete_mlp((in_features,) + hidden + (out_features,), p_input, p_hidden,
                             max_norm, init, init_rng, dropout_rng, n_train)
    layers = drop(p_input)
    sizes = (in_features,) + hidden
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        if kind == "dropconnect" and p_hidden > 0:
            layer = DropConnectLinear(fan_in, fan_out, p=p_hidden, activation="relu",
                                      mode=mode, max_norm=max_norm, init=init, rng=init_rng)
            layer.rng = dropout_rng  # its masks from the dropout stream, as Dropout's
            layers.append(layer)
            continue
        layers += [Linear(fan_in, fan_out, max_norm=max_norm, init=init, rng=init_rng),
                   activation()]
        layers += drop(p_hidden)
    layers.append(Linear(sizes[-1], out_features, max_norm=max_norm, init=init, rng=init_rng))
    model = Sequential(*layers)
    return fuse(model) if fused else model


def _concrete_mlp(sizes, p_input, p_hidden, max_norm, init, init_rng, dropout_rng, n_train):
    """``[ConcreteDropout(Linear) -> ReLU] x L -> ConcreteDropout(Linear)``, as in the paper."""
    weight_regularizer, dropout_regularizer = regularizer_strengths(n_train,
                                                                    CONCRETE_LENGTH_SCALE)
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layer = Linear(fan_in, fan_out, max_norm=max_norm, init=init, rng=init_rng)
        p = p_input if i == 0 else p_hidden
        if p > 0:
            layer = ConcreteDropout(layer, weight_regularizer, dropout_regularizer,
                                    init_min=p, init_max=p, rng=dropout_rng)
        layers += [layer, ReLU()] if i < len(sizes) - 2 else [layer]
    return Sequential(*layers)
