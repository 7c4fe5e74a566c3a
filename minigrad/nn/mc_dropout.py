"""Monte Carlo dropout: average many thinned networks at test time.

Srivastava et al. (2014, section 7.5) compare the weight-scaling rule with the exact
model average approximated by sampling k thinned networks and averaging their
predictions; Gal & Ghahramani (2016) read the spread of those predictions as model
uncertainty. This helper keeps dropout active at inference and returns both.
"""
import numpy as np

from ..autograd import no_grad
from ..checks import check_int
from .dropout import Dropout
from .fused_linear import FusedLinear


def mc_dropout_predict(model, x, samples=100, transform=None):
    """Mean and standard deviation of ``samples`` stochastic forward passes.

    Dropout layers (and ``FusedLinear`` layers, whose dropout is fused) are switched
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
    samples = check_int("mc_dropout_predict: samples", samples, minimum=1, type_error=ValueError)
    layers = [m for m in model.modules() if isinstance(m, (Dropout, FusedLinear))]
    modes = [layer.training for layer in layers]
    try:
        for layer in layers:
            layer.train()
        with no_grad():
            outputs = []
            for _ in range(samples):
                out = model(x)
                outputs.append((transform(out) if transform else out).data)
    finally:
        for layer, mode in zip(layers, modes):
            layer.train(mode)
    stacked = np.stack(outputs)
    # Deviations from the first pass: identical passes (no active dropout) give a std
    # of exactly 0 and a mean equal to the output, which stacked.mean()/std() do not
    # (the mean of k equal floats can be off by one ulp, and the std by ~1e-17).
    deviations = stacked - stacked[0]
    return stacked[0] + deviations.mean(axis=0), deviations.std(axis=0)
