"""A deep SELU network with alpha dropout stays near N(0, 1), layer after layer.

Klambauer et al. (NeurIPS 2017) chose SELU's constants so that mean 0 and variance 1
are a fixed point of a layer ``selu(h @ W)`` whose weights have mean 0 and variance
``1 / fan_in`` (``init="lecun_normal"``), and alpha dropout so that dropping units keeps
that fixed point. This script pushes a batch of N(0, 1) inputs through 32 such layers of
256 units in training mode and prints the mean and variance of every layer's output,
for three networks with the same LeCun-normal weights:

- ``selu_alpha``: SELU -> AlphaDropout(0.1): the activations stay near mean 0 and
  variance 1 at every depth;
- ``selu_dropout``: SELU -> Dropout(0.1): Bernoulli dropout's zeros and its
  ``1 / (1 - p)`` scaling inflate the variance at every layer; it drifts upwards to
  about 1.6 (another fixed point, the one of SELU with this dropout), and the mean
  leaves 0;
- ``relu_dropout``: ReLU -> Dropout(0.1): ReLU halves the second moment each layer
  under these weights, and its outputs are never centred (mean > 0): the variance
  shrinks geometrically towards 0.

Run::

    python examples/selu_alpha_dropout.py [--depth 32] [--width 256] [--batch 1024] [--p 0.1]
"""
import argparse
import os
import sys

import numpy as np

try:
    import minigrad
except ImportError:  # run from a source checkout without installing: use the checkout
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import minigrad
from minigrad import nn  # noqa: E402

NETWORKS = {
    "selu_alpha": (nn.SELU, nn.AlphaDropout),
    "selu_dropout": (nn.SELU, nn.Dropout),
    "relu_dropout": (nn.ReLU, nn.Dropout),
}


def build(network, depth, width, p, seed=0):
    """``depth`` blocks ``Linear(width, width, lecun_normal) -> activation -> dropout``.

    The weights come from ``seed`` and do not depend on ``network``; each dropout layer
    has its own Generator, seeded from ``seed`` too.
    """
    activation, dropout = NETWORKS[network]
    rng = np.random.default_rng(seed)
    layers = []
    for i in range(depth):
        layers += [nn.Linear(width, width, init="lecun_normal", rng=rng, dtype=np.float64),
                   activation(), dropout(p, rng=seed + 1 + i)]
    return nn.Sequential(*layers)


def layer_moments(network, depth=32, width=256, batch=1024, p=0.1, seed=0):
    """Mean and variance (over batch and units) of each block's output: ``[(mean, var)]``."""
    model = build(network, depth, width, p, seed).train()
    h = minigrad.tensor(np.random.default_rng(seed + 1000).standard_normal((batch, width)))
    moments = []
    with minigrad.no_grad():
        for block in range(depth):
            for layer in model[3 * block:3 * block + 3]:
                h = layer(h)
            moments.append((float(h.data.mean()), float(h.data.var())))
    return moments


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=32)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--p", type=float, default=0.1)
    args = parser.parse_args(argv)
    results = {name: layer_moments(name, args.depth, args.width, args.batch, args.p)
               for name in NETWORKS}
    print("layer " + "".join(f"{name + ' mean/var':>26}" for name in NETWORKS))
    for layer in range(args.depth):
        print(f"{layer + 1:5d} " + "".join(f"{m:>+13.3f}{v:>13.4g}"
                                           for m, v in (results[n][layer] for n in NETWORKS)))
    return results


if __name__ == "__main__":
    main()
