"""Variational dropout over time: one feature mask per sequence, shared by every time step.

Gal & Ghahramani ("A Theoretically Grounded Application of Dropout in Recurrent Neural
Networks", NeurIPS 2016) drop the *same* features of a sequence at every time step,
instead of drawing a fresh mask per step. With minigrad that is ``shared_axes=(1,)`` on
a ``(batch, time, features)`` input: the mask is drawn at shape ``(batch, 1, features)``
and broadcast along time.

The difference is easy to count. With a fresh mask per step, a feature is hidden from
the network for the whole sequence only if it is dropped at all ``T`` steps: probability
``p**T``, practically never. With the variational mask it is hidden for the whole
sequence with probability ``p``: the network really has to do without it. This script
draws both kinds of masks for a batch of sequences and prints, for each, the number of
distinct masks along time and the fraction of (sequence, feature) pairs never seen.

Run::

    python examples/shared_masks.py [--batch 64] [--time 20] [--features 32] [--p 0.25]
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


def draw_mask(batch, time, features, p, variational, seed=0):
    """The keep-mask (bool, ``(batch, time, features)``) a Dropout layer uses on a sequence.

    ``variational=True`` shares it along the time axis (``shared_axes=(1,)``).
    """
    layer = nn.Dropout(p, rng=seed, shared_axes=(1,) if variational else ())
    layer(minigrad.tensor(np.ones((batch, time, features))))
    return layer.last_mask


def distinct_masks_along_time(mask):
    """For each sequence, how many different feature masks its time steps use."""
    return [len({step.tobytes() for step in sequence}) for sequence in mask]


def never_seen_fraction(mask):
    """The fraction of (sequence, feature) pairs dropped at every time step."""
    return float((~mask.any(axis=1)).mean())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--time", type=int, default=20)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--p", type=float, default=0.25)
    args = parser.parse_args(argv)
    results = {}
    for variational in (False, True):
        mask = draw_mask(args.batch, args.time, args.features, args.p, variational)
        name = "variational (shared_axes=(1,))" if variational else "per step (shared_axes=())"
        distinct = distinct_masks_along_time(mask)
        results[variational] = never_seen_fraction(mask)
        print(f"{name:32s} masks per sequence {min(distinct)}-{max(distinct)}, "
              f"features never seen {results[variational]:.4f} "
              f"(expected {args.p if variational else args.p ** args.time:.2g})")
    return results


if __name__ == "__main__":
    main()
