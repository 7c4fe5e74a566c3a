"""One thinned network by hand: a 2-3-3-3-1 ReLU net evaluated with chosen dropout masks.

Dropout in training samples a *thinned* network: each hidden unit is kept (mask 1) or
removed (mask 0). With the paper's rule (``Dropout(mode="weight_scaling")``) kept units
are not rescaled during training, so with the masks given explicitly each hidden layer
computes exactly

    h_l = relu(h_{l-1} @ W_l + b_l) * m_l

(minigrad stores ``W_l`` as (in_features, out_features), so ``h @ W`` is the
``W x`` of the paper). The input mask is all ones here, and biases are never dropped:
a mask multiplies a layer's *outputs*, after the bias was added.

The weights are small multiples of 1/4, so every product and sum below is exact in
floating point and the printed numbers can be checked with pencil and paper
(``tests/docs/test_examples.py`` does so, in plain Python).

Run::

    python examples/toy_masks.py
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

# (in_features, out_features) weights and biases of the four Linear layers.
WEIGHTS = [
    [[1.0, -1.0, 0.5],
     [0.5, 2.0, -1.0]],
    [[1.0, 0.5, -1.0],
     [2.0, -1.0, 1.0],
     [-0.5, 1.0, 0.25]],
    [[0.5, -1.0, 1.0],
     [1.0, 0.5, -0.5],
     [2.0, 1.0, 1.0]],
    [[1.0],
     [-2.0],
     [2.0]],
]
BIASES = [[0.0, 0.5, 1.0], [0.25, 0.0, -0.5], [0.0, 0.5, 0.25], [0.5]]
X = [[1.0, 1.0]]
# Keep-masks of the four Dropout layers: the input (all kept) and the three hidden layers.
MASKS = [[[1, 1]], [[1, 0, 1]], [[1, 1, 0]], [[0, 1, 1]]]


def build_model(p=0.5):
    """Dropout(input) -> [Linear -> ReLU -> Dropout] x 3 -> Linear, with the weights above.

    ``p`` only matters for evaluation mode (weights scaled by 1 - p); here the masks
    are given, so it does not change the training-mode output.
    """
    layers = [nn.Dropout(p, mode="weight_scaling")]
    for i, (w, b) in enumerate(zip(WEIGHTS, BIASES)):
        linear = nn.Linear(len(w), len(w[0]), dtype=np.float64)
        linear.weight.data[...] = w
        linear.bias.data[...] = b
        layers.append(linear)
        if i < len(WEIGHTS) - 1:
            layers += [nn.ReLU(), nn.Dropout(p, mode="weight_scaling")]
    return nn.Sequential(*layers)


def layer_values(model, x, masks):
    """Run ``model`` layer by layer in training mode; return ``[(layer, output array)]``.

    Each Dropout layer uses the next mask of ``masks`` (via ``forward_with_masks``,
    which also works on a single layer).
    """
    model.train()
    masks = iter(masks)
    values, h = [], x
    for layer in model:
        if isinstance(layer, nn.Dropout):
            h, _ = nn.forward_with_masks(layer, h, [np.asarray(next(masks))])
        else:
            h = layer(h)
        values.append((layer, h.data.copy()))
    return values


def main():
    model = build_model()
    x = minigrad.tensor(X, dtype=np.float64)
    print(f"input x = {X[0]}")
    for layer, value in layer_values(model, x, MASKS):
        print(f"{repr(layer):<60} -> {value[0].tolist()}")
    out, _ = nn.forward_with_masks(model, x, [np.asarray(m) for m in MASKS])
    print(f"prediction of this thinned network: {out.data.item()}")
    return out.data.item()


if __name__ == "__main__":
    main()
