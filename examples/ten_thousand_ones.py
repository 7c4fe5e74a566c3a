"""Dropout's expectation at work: 10,000 ones through Dropout(0.5) and a sum.

The model is ``Dropout(0.5) -> Linear(10000 -> 1)`` with every weight 1 and no bias,
fed a vector of 10,000 ones, so its output is just the sum of the dropout layer's
outputs.

- Training mode (inverted dropout): each of the 10,000 units is kept with probability
  1/2 and then doubled, so the output is ``2 K`` with ``K ~ Binomial(10000, 1/2)``:
  mean ``2 * 10000 * 1/2 = 10000`` and standard deviation
  ``2 * sqrt(10000 * 1/2 * 1/2) = 2 * 50 = 100``. Each draw is a different thinned
  network and lands within a few hundred of 10,000.
- Evaluation mode: dropout is the identity and the output is exactly 10,000, the
  expectation of the training-mode output. That is the whole point of scaling: the
  test-time network outputs what the thinned networks output on average.

Run::

    python examples/ten_thousand_ones.py [--draws 5] [--seed 0]
"""
import argparse
import math
import os
import sys

import numpy as np

try:
    import minigrad
except ImportError:  # run from a source checkout without installing: use the checkout
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import minigrad
from minigrad import nn  # noqa: E402

N, P = 10_000, 0.5
MEAN = N                                   # 2 * N * (1 - P)
SD = 1 / (1 - P) * math.sqrt(N * P * (1 - P))  # = 100


def build_model(seed=0):
    """``Dropout(0.5) -> Linear(10000, 1, bias=False)`` with all weights equal to 1."""
    linear = nn.Linear(N, 1, bias=False)
    linear.weight.data[...] = 1.0
    return nn.Sequential(nn.Dropout(P, rng=seed), linear)


def run(draws=5, seed=0):
    """Return ``(training-mode outputs, eval-mode output)`` as Python floats."""
    model = build_model(seed)
    x = minigrad.tensor(np.ones((1, N), dtype=np.float32))
    model.train()
    with minigrad.no_grad():
        train_outputs = [model(x).data.item() for _ in range(draws)]
        model.eval()
        eval_output = model(x).data.item()
    return train_outputs, eval_output


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    train_outputs, eval_output = run(args.draws, args.seed)
    print(f"training mode: mean {MEAN}, binomial sd {SD:g}")
    for i, out in enumerate(train_outputs):
        print(f"  draw {i}: {out:8.0f}   ({(out - MEAN) / SD:+.2f} sd)")
    print(f"eval mode:     {eval_output:8.0f}")
    return train_outputs, eval_output


if __name__ == "__main__":
    main()
