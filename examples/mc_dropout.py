"""Monte Carlo dropout: the spread of many thinned networks as a measure of uncertainty.

A small ReLU net with dropout is fitted to noisy samples of ``y = sin(3x)`` taken only
from x in [-1, -0.25] and [0.25, 1]: there is a gap in the middle and nothing beyond
|x| = 1. At test time ``mc_dropout_predict`` keeps dropout on and runs the input through
``samples`` random thinned networks (Srivastava et al. 2014, section 7.5; Gal &
Ghahramani 2016). Their mean is the prediction; their standard deviation says how much
the thinned networks disagree.

Where training data constrained them, the thinned networks agree: each was trained to
fit those points. Away from the data nothing forced them to agree, and a ReLU net's
thinned versions extrapolate along different straight lines, so the spread grows with
the distance from the data, and it is larger in the gap at x = 0 too. The script
prints, on a grid from -3 to 3, the true sin(3x), the MC mean and spread, whether
training data lies nearby, and the spread as a bar. Results: docs/EXAMPLES.md.

Run::

    python examples/mc_dropout.py [--iterations 1500] [--samples 200]
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
from minigrad import nn, optim  # noqa: E402


def make_data(n=40, seed=0):
    """``n`` points of y = sin(3x) + N(0, 0.1**2), x uniform on [-1, -0.25] U [0.25, 1]."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.25, 1.0, size=(n, 1)) * rng.choice([-1.0, 1.0], size=(n, 1))
    y = np.sin(3 * x) + rng.normal(0.0, 0.1, size=(n, 1))
    return x.astype(np.float32), y.astype(np.float32)


def build_model(p=0.2, hidden=64, seed=0):
    """1-64-64-1 ReLU net with Dropout(p) after each hidden layer, He-initialised.

    He-normal (``init="he"``), not Linear's PyTorch default: the spreads recorded in
    docs/EXAMPLES.md were measured with it.
    """
    rng = np.random.default_rng(seed)

    def linear(n_in, n_out):
        return nn.Linear(n_in, n_out, init="he", rng=rng)

    return nn.Sequential(linear(1, hidden), nn.ReLU(), nn.Dropout(p, rng=rng),
                         linear(hidden, hidden), nn.ReLU(), nn.Dropout(p, rng=rng),
                         linear(hidden, 1))


def fit(iterations=1500, seed=0):
    """Train the model on ``make_data`` by full-batch SGD with momentum; return it and the data."""
    x, y = make_data(seed=seed)
    model = build_model(seed=seed)
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    xt, yt = minigrad.tensor(x), minigrad.tensor(y)
    model.train()
    for _ in range(iterations):
        opt.zero_grad()
        minigrad.mse_loss(model(xt), yt).backward()
        opt.step()
    model.eval()
    return model, (x, y)


def predict(model, grid, samples=200):
    """MC-dropout mean and spread at the points ``grid`` (1-D array), as 1-D arrays."""
    x = minigrad.tensor(np.asarray(grid, dtype=np.float32)[:, None])
    mean, std = nn.mc_dropout_predict(model, x, samples=samples)
    return mean[:, 0], std[:, 0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=1500)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args(argv)
    model, _ = fit(args.iterations)
    grid = np.linspace(-3, 3, 13)
    mean, std = predict(model, grid, args.samples)
    print(f"{'x':>6}{'sin(3x)':>10}{'MC mean':>10}{'MC sd':>9}   data nearby?")
    for xi, m, s in zip(grid, mean, std):
        near = "yes" if 0.25 <= abs(xi) <= 1 else "no"
        print(f"{xi:6.1f}{np.sin(3 * xi):10.3f}{m:10.3f}{s:9.3f}   {near:<4} {'#' * int(20 * s)}")
    return grid, mean, std


if __name__ == "__main__":
    main()
