"""Gaussian dropout: the same two moments as Bernoulli dropout, another shape.

Inverted Bernoulli dropout multiplies each unit by ``m / (1 - p)`` with
``m ~ Bernoulli(1 - p)``: a multiplier of mean 1 and variance ``p / (1 - p)``.
Srivastava et al. (JMLR 2014, section 10) replace it by ``r ~ N(1, sigma**2)`` with the
same variance, ``sigma**2 = p / (1 - p)``. This script draws a million multipliers of each
kind through minigrad's ops (a tensor of ones in, the multipliers out) and prints what
they share and where they differ:

* both have mean 1 and variance p / (1 - p);
* Bernoulli's are exactly 0 (a removed unit) with probability p, and 1/(1-p) otherwise;
* Gaussian's are never 0 but negative with probability Phi(-1/sigma) (16% at p = 0.5):
  a unit's sign flips, which Bernoulli dropout never does.

Run::

    python examples/gaussian_dropout.py [--n 1000000]
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


def multipliers(kind, p, n, seed=0):
    """``n`` float64 multipliers of ``kind`` ("bernoulli" or "gaussian") at drop probability p."""
    ones = minigrad.tensor(np.ones(n))
    noise = minigrad.dropout if kind == "bernoulli" else minigrad.gaussian_dropout
    return noise(ones, p, training=True, rng=seed).data


def summary(r):
    """Mean, variance, fraction exactly zero and fraction negative of the multipliers ``r``."""
    return {"mean": r.mean(), "variance": r.var(), "zero": np.mean(r == 0),
            "negative": np.mean(r < 0)}


def normal_cdf(x):
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    results = {}
    print("| p | noise | mean | variance (p/(1-p)) | P(r = 0) | P(r < 0) |")
    print("|---|---|---|---|---|---|")
    for p in (0.2, 0.5):
        sigma = math.sqrt(p / (1 - p))
        for kind in ("bernoulli", "gaussian"):
            s = results[p, kind] = summary(multipliers(kind, p, args.n))
            print(f"| {p} | {kind} | {s['mean']:.4f} | {s['variance']:.4f} ({p / (1 - p):.4f}) | "
                  f"{s['zero']:.4f} | {s['negative']:.4f} |")
        print(f"|   | (Phi(-1/sigma) = {normal_cdf(-1 / sigma):.4f}) | | | | |")
    return results


if __name__ == "__main__":
    main()
