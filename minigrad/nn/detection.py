"""How well an uncertainty score tells inputs of the training distribution from others.

Out-of-distribution (OOD) detection scores every input with a number that should be
larger for inputs unlike the training data (predictive entropy, BALD, one minus the
maximum softmax probability of Hendrycks & Gimpel 2017, ...), and flags the inputs
above a threshold. The area under the ROC curve summarises every threshold at once:

    AUROC = P(s_out > s_in) + P(s_out = s_in) / 2,

the probability that a random out-of-distribution input scores higher than a random
in-distribution one (ties count half). 1 separates the two sets perfectly, 0.5 is a coin
toss, below 0.5 the score points the wrong way. It equals the Mann-Whitney U statistic
divided by n_in * n_out (Hanley & McNeil 1982), which this module computes from the
ranks of the pooled scores (tied scores get their average rank) in O(n log n), instead of
comparing all n_in * n_out pairs.

Example::

    >>> auroc([0.1, 0.2, 0.3], [0.4, 0.5])      # every OOD score is higher
    1.0
    >>> auroc([0.1, 0.5], [0.5, 0.2])           # pairs: >, <, =, > of 4 -> (2 + 0.5) / 4
    0.625
"""
import numpy as np


def auroc(in_distribution, out_of_distribution):
    """``P(s_out > s_in) + P(s_out = s_in) / 2`` for two 1-D arrays of finite scores.

    Args:
        in_distribution: scores of inputs like the training data (n_in >= 1 values).
        out_of_distribution: scores of the other inputs (n_out >= 1 values); a good score
            makes these larger.

    Returns:
        The area under the ROC curve, a float in [0, 1].
    """
    s_in = _scores("in_distribution", in_distribution)
    s_out = _scores("out_of_distribution", out_of_distribution)
    pooled = np.concatenate([s_in, s_out])
    _, which, counts = np.unique(pooled, return_inverse=True, return_counts=True)
    # the average rank (from 1) of each distinct value: after every smaller value, the
    # mean of the ranks its ties share
    average_rank = np.cumsum(counts) - (counts - 1) / 2.0
    n_in, n_out = len(s_in), len(s_out)
    u = average_rank[which[n_in:]].sum() - n_out * (n_out + 1) / 2.0
    return float(u / (n_in * n_out))


def _scores(name, scores):
    """``scores`` as a float64 1-D array of finite values, at least one."""
    s = np.asarray(scores)
    if s.dtype.kind not in "iuf":
        raise TypeError(f"auroc: {name} must be real numbers, got dtype {s.dtype}")
    if s.ndim != 1 or s.size == 0:
        raise ValueError(f"auroc: {name} must be a non-empty 1-D array, got shape {s.shape}")
    s = s.astype(np.float64)
    if not np.isfinite(s).all():
        raise ValueError(f"auroc: {name} must be finite, got {s[~np.isfinite(s)][0]}")
    return s
