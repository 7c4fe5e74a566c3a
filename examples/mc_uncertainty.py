"""What a classifier does not know: predictive entropy and BALD from MC dropout.

Two overlapping Gaussian classes in the plane, centred at (-1, 0) and (1, 0) with unit
spread, train a small ReLU net with dropout. ``nn.mc_class_probabilities`` then runs
``samples`` thinned networks at a few test points and ``nn.uncertainty`` splits their
disagreement from the noise every one of them sees (Gal & Ghahramani 2016; Houlsby et
al. 2011):

* on a class centre the networks agree and are confident: low entropy, low BALD;
* on the boundary between the classes, inside the data, each network says about 50:50:
  high predictive entropy, but it is expected entropy (label noise), so BALD stays low;
* far out along the boundary nothing made the thinned networks agree on where it runs:
  BALD is high;
* far out beyond a class centre, though, every thinned ReLU network extrapolates the
  same way and is confident: MC dropout does not flag every point far from the data.

The script prints, per point, its distance to the nearest class centre, the predictive
entropy, the expected entropy, the mutual information (BALD) and the variation ratio.
Results: docs/EXAMPLES.md.

Run::

    python examples/mc_uncertainty.py [--iterations 500] [--samples 200]
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

CENTRES = np.array([[-1.0, 0.0], [1.0, 0.0]])
POINTS = {"centre of class 0": (-1, 0), "centre of class 1": (1, 0),
          "boundary, in the data": (0, 0), "boundary, far away": (0, 8),
          "beyond class 1": (8, 0), "far off-axis": (6, 6)}


def make_data(n=100, seed=0):
    """``n`` points per class, N(centre, I); labels 0 and 1."""
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(centre, 1.0, size=(n, 2)) for centre in CENTRES])
    return x.astype(np.float32), np.repeat([0, 1], n)


def fit(iterations=500, p=0.5, hidden=32, seed=0):
    """A 2-32-32-2 net with Dropout(p) after each hidden ReLU, trained full-batch."""
    x, y = make_data(seed=seed)
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Linear(2, hidden, init="he", rng=rng), nn.ReLU(),
                          nn.Dropout(p, rng=rng), nn.Linear(hidden, hidden, init="he", rng=rng),
                          nn.ReLU(), nn.Dropout(p, rng=rng), nn.Linear(hidden, 2, rng=rng))
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    xt = minigrad.tensor(x)
    model.train()
    for _ in range(iterations):
        opt.zero_grad()
        minigrad.cross_entropy(model(xt), y).backward()
        opt.step()
    return model.eval()


def measure(model, points, samples=200):
    """Predictive, expected entropy, BALD and variation ratio at ``points`` ((N, 2))."""
    x = minigrad.tensor(np.asarray(points, dtype=np.float32))
    probs = nn.mc_class_probabilities(model, x, samples=samples)
    return {"entropy": nn.predictive_entropy(probs), "expected": nn.expected_entropy(probs),
            "bald": nn.mutual_information(probs), "variation": nn.variation_ratio(probs)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=500)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args(argv)
    model = fit(args.iterations)
    points = np.array(list(POINTS.values()), dtype=float)
    result = measure(model, points, args.samples)
    distance = np.linalg.norm(points[:, None] - CENTRES, axis=-1).min(axis=1)
    print(f"{'point':<24}{'dist':>6}{'H[mean]':>9}{'E[H]':>7}{'BALD':>7}{'var.r':>7}")
    for i, name in enumerate(POINTS):
        print(f"{name:<24}{distance[i]:6.1f}{result['entropy'][i]:9.3f}"
              f"{result['expected'][i]:7.3f}{result['bald'][i]:7.3f}{result['variation'][i]:7.3f}")
    return result


if __name__ == "__main__":
    main()
