"""DropConnect by hand: per-example weight masks, and mean vs sampling inference.

DropConnect (Wan, Zeiler, Zhang, LeCun & Fergus, ICML 2013) drops *weights*: in training,
example b of a minibatch goes through the layer ``relu(x_b @ (W * M_b) / keep + b)`` with
its own Bernoulli(keep) mask ``M_b`` on the (in, out) weight matrix (``keep = 1 - p``;
minigrad's default "inverted" scaling divides by keep so that the mean weight is W).

1. ``masks_by_hand``: a 3-input, 2-output layer on a batch of two identical examples. The
   masks the kernel used are written out (``dispatch.dropconnect_mask`` with the seed the
   layer drew), and the layer's output is recomputed from them in plain Python. The two
   examples are the same input, yet their outputs differ: each saw its own weights.
2. ``mean_vs_sampling``: at test time the paper does not use the mean network
   ``relu(E[u])``; it matches the moments of each pre-activation u with a Gaussian and
   averages ``relu`` over samples of it (section 3.2), which estimates ``E[relu(u)]``.
   The truth here is the average over 20000 training-mode forwards (20000 masks); the
   sampling rule lands near it, the mean rule does not, because ReLU bends where u's
   mass is.

Run::

    python examples/dropconnect.py
"""
import os
import sys

import numpy as np

try:
    import minigrad
except ImportError:  # run from a source checkout without installing: use the checkout
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import minigrad
from minigrad import nn  # noqa: E402
from minigrad.kernels import dispatch  # noqa: E402
from minigrad.random import draw_seed  # noqa: E402

WEIGHTS = [[1.0, -2.0],
           [0.5, 1.0],
           [-1.0, 0.25]]   # (in, out): column n holds the weights into output n
BIAS = [0.5, -0.25]
X = [[2.0, 1.0, -1.0]]


def masks_by_hand(seed=2013, p=0.5):
    """Return (masks, layer output, the same output in plain Python) for two copies of X.

    ``masks[b][k][n]`` is 1 when example b kept the weight from input k to output n.
    """
    layer = nn.DropConnectLinear(3, 2, p=p, dtype=np.float64)
    layer.weight.data[...] = WEIGHTS
    layer.bias.data[...] = BIAS
    layer.rng = np.random.default_rng(seed)
    x = minigrad.tensor(X * 2, dtype=np.float64)
    out = layer(x).data
    masks = dispatch.dropconnect_mask(2, 3, 2, p, draw_seed(np.random.default_rng(seed))).tolist()
    keep = 1 - p
    hand = [[sum(X[0][k] * masks[b][k][n] * WEIGHTS[k][n] / keep for k in range(3)) + BIAS[n]
             for n in range(2)] for b in range(2)]
    return masks, out.tolist(), hand


def mean_vs_sampling(examples=20000, samples=1000, p=0.5, seed=0):
    """Return (truth, sampling, mean) for one input through a 20 -> 5 ReLU DropConnect layer.

    ``truth``: the average over ``examples`` training-mode outputs, each its own mask;
    ``sampling``: eval mode, the paper's moment matching with ``samples`` draws per unit;
    ``mean``: eval mode, the mean network ``relu(v @ W + b)``.
    """
    rng = np.random.default_rng(seed)
    layer = nn.DropConnectLinear(20, 5, p=p, activation="relu", inference="sampling",
                                 samples=samples, init="gaussian", init_std=0.3, rng=rng,
                                 dtype=np.float64)
    v = rng.standard_normal((1, 20))
    truth = layer(minigrad.tensor(np.repeat(v, examples, axis=0))).data.mean(axis=0)
    layer.eval()
    sampling = layer(minigrad.tensor(v)).data[0]
    layer.inference = "mean"
    mean = layer(minigrad.tensor(v)).data[0]
    return truth, sampling, mean


def main():
    masks, out, hand = masks_by_hand()
    for b in range(2):
        print(f"example {b}: mask (in x out) {masks[b]} -> output {out[b]} (by hand {hand[b]})")
    truth, sampling, mean = mean_vs_sampling()
    np.set_printoptions(precision=3, suppress=True)
    print(f"E[relu(u)] over 20000 masks: {truth}")
    print(f"sampling inference:          {sampling}  (max error {abs(sampling - truth).max():.3f})")
    print(f"mean inference:              {mean}  (max error {abs(mean - truth).max():.3f})")


if __name__ == "__main__":
    main()
