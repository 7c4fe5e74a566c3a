"""Monte Carlo dropout: average many thinned networks at test time.

Srivastava et al. (2014, section 7.5) compare the weight-scaling rule with the exact
model average approximated by sampling k thinned networks and averaging their
predictions; Gal & Ghahramani (2016) read the spread of those predictions as model
uncertainty. Both functions here keep dropout active at inference and run k passes:
``mc_dropout_predict`` returns their mean and spread, ``mc_class_probabilities`` a
classifier's class probabilities per pass, for the measures of ``nn.uncertainty``
(predictive entropy, mutual information or BALD, variation ratio).

Consistent masks. By default each pass draws fresh masks for the whole batch, so input
n and input m meet different thinned networks in the same pass. BatchBALD (Kirsch, van
Amersfoort & Gal, 2019) scores a *set* of inputs by the joint predictions of one network
per pass, so it needs every input of a pass to meet the same network:
``consistent_masks=True``. The masks are a hash of (seed, element index), so a one-input
array thinned with a given seed gets the same mask whichever input it holds; the pass
runs the inputs one at a time and rewinds every dropout Generator to where the pass
began before each input, so all of them draw the same seeds. That costs N forwards of
one input per pass instead of one forward of N inputs.
"""
import numpy as np

from ..autograd import no_grad
from ..checks import check_bool, check_int
from ..ops.broadcasting import check_tensor
from ..ops.softmax import stable_log_softmax
from ..random import as_generator
from ..tensor import Tensor
from .dropout import Dropout
from .gaussian_dropout import GaussianDropout
from .fused_linear import FusedLinear


def mc_dropout_predict(model, x, samples=100, transform=None):
    """Mean and standard deviation of ``samples`` stochastic forward passes.

    Dropout and GaussianDropout layers (and ``FusedLinear`` layers, whose dropout or
    Gaussian noise is fused) are switched
    to training mode for the passes (every other layer stays as it was) and restored
    afterwards; no graph is recorded.

    Args:
        model: a Module with Dropout layers.
        x: input Tensor.
        samples: number of thinned networks to average (k >= 1).
        transform: optional function applied to each pass's output Tensor before
            averaging (e.g. ``minigrad.softmax`` to average class probabilities).

    Returns:
        ``(mean, std)`` as numpy arrays shaped like one output.
    """
    stacked = _stacked_passes("mc_dropout_predict", model, x, samples, False, transform)
    # Deviations from the first pass: identical passes (no active dropout) give a std
    # of exactly 0 and a mean equal to the output, which stacked.mean()/std() do not
    # (the mean of k equal floats can be off by one ulp, and the std by ~1e-17).
    deviations = stacked - stacked[0]
    return stacked[0] + deviations.mean(axis=0), deviations.std(axis=0)


def mc_class_probabilities(model, x, samples=100, consistent_masks=False):
    """The class probabilities of ``samples`` thinned networks, one row of the stack per pass.

    Pass k computes the logits z_k = f_k(x) with fresh dropout masks and returns
    p_k = softmax(z_k) along the classes, computed stably as exp(z - max z - log Σ exp(z -
    max z)). The layers are switched and restored as in ``mc_dropout_predict``.

    Args:
        model: a classifier: (N, ...) inputs to (N, C) logits.
        x: input Tensor, inputs along the first axis.
        samples: number of passes k >= 1.
        consistent_masks: every input of a pass meets the same thinned network (see the
            module docstring; BatchBALD needs it). Default False: fresh masks per input.

    Returns:
        A (k, N, C) numpy array (the logits' dtype); each p[k, n] sums to 1.

    Example::

        >>> import numpy as np, minigrad
        >>> from minigrad import nn
        >>> model = nn.Sequential(nn.Linear(2, 8, rng=0), nn.ReLU(), nn.Dropout(0.5, rng=0),
        ...                       nn.Linear(8, 3, rng=1)).eval()
        >>> probs = nn.mc_class_probabilities(model, minigrad.tensor(np.ones((4, 2), np.float32)),
        ...                                   samples=5)
        >>> probs.shape, bool(np.allclose(probs.sum(axis=-1), 1))
        ((5, 4, 3), True)
    """
    name = "mc_class_probabilities"
    logits = _stacked_passes(name, model, x, samples, consistent_masks, None)
    if logits.ndim != 3:
        raise ValueError(f"{name}: the model must output (N, C) logits, "
                         f"got an output of shape {logits.shape[1:]}")
    return np.exp(stable_log_softmax(logits, axis=-1))


def _stacked_passes(name, model, x, samples, consistent_masks, transform):
    """The (transformed) outputs of ``samples`` passes with dropout on, stacked along axis 0."""
    samples = check_int(f"{name}: samples", samples, minimum=1, type_error=ValueError)
    if check_bool(f"{name}: consistent_masks", consistent_masks):
        check_tensor(name, x)  # its inputs are taken apart along the first axis
    layers = [m for m in model.modules()
              if isinstance(m, (Dropout, GaussianDropout, FusedLinear))]
    modes = [layer.training for layer in layers]
    try:
        for layer in layers:
            layer.train()
        with no_grad():
            outputs = []
            for _ in range(samples):
                out = _shared_mask_pass(model, x, layers) if consistent_masks else model(x)
                outputs.append((transform(out) if transform else out).data)
    finally:
        for layer, mode in zip(layers, modes):
            layer.train(mode)
    return np.stack(outputs)


def _shared_mask_pass(model, x, layers):
    """One pass in which every input of ``x`` meets the same thinned network.

    Each input runs alone, after every Generator of the dropout ``layers`` is rewound
    to its state at the start of the pass: each input draws the same seeds, hence (a
    mask being a hash of seed and element index) the same masks. The Generators end
    the pass where one one-input forward leaves them.
    """
    if len(x) < 2:
        return model(x)  # one input (or none) meets one network anyway
    generators = {id(g): g for g in (as_generator(layer.rng) for layer in layers)}.values()
    start = [(g, g.bit_generator.state) for g in generators]
    rows = []
    for i in range(len(x)):
        for generator, state in start:
            generator.bit_generator.state = state
        rows.append(model(Tensor(x.data[i:i + 1])).data)
    out = np.concatenate(rows)
    return Tensor(out, dtype=out.dtype)
