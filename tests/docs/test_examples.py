"""The examples, run with small settings, against oracles written out here.

examples/overfitting.py and weight_shrinkage.py have their own files
(test_example_overfitting.py, test_weight_shrinkage.py).

Each example is imported from ``examples/`` as a module and its functions are called,
so a test checks the numbers the example prints and its docstring claims.
"""
import math
import sys

import numpy as np

from support.paths import EXAMPLES

sys.path.insert(0, str(EXAMPLES))

import mc_dropout  # noqa: E402
import mc_uncertainty  # noqa: E402
import ten_thousand_ones  # noqa: E402
import toy_masks  # noqa: E402


def relu(v):
    return v if v > 0 else 0.0


def hand_layer(h, weights, bias, mask=None):
    """Plain-Python ``relu(h @ W + b) * mask`` (or just ``h @ W + b`` when mask is None)."""
    out = []
    for j in range(len(bias)):
        z = sum(h[i] * weights[i][j] for i in range(len(h))) + bias[j]
        out.append(z if mask is None else relu(z) * mask[j])
    return out


# ---- toy_masks ------------------------------------------------------------------------
def test_toy_masks_hand_computation_written_out():
    # x = (1, 1); input mask (1, 1).
    # layer 1: x @ W1 = (1 + 0.5, -1 + 2, 0.5 - 1) = (1.5, 1, -0.5); + b1 (0, 0.5, 1)
    #          = (1.5, 1.5, 0.5); relu -> same; mask (1, 0, 1) -> (1.5, 0, 0.5)
    # layer 2: (1.5*1 + 0*2 + 0.5*-0.5, 1.5*0.5 + 0*-1 + 0.5*1, 1.5*-1 + 0*1 + 0.5*0.25)
    #          = (1.25, 1.25, -1.375); + b2 (0.25, 0, -0.5) = (1.5, 1.25, -1.875);
    #          relu -> (1.5, 1.25, 0); mask (1, 1, 0) -> (1.5, 1.25, 0)
    # layer 3: (0.75 + 1.25 + 0, -1.5 + 0.625 + 0, 1.5 - 0.625 + 0) = (2, -0.875, 0.875);
    #          + b3 (0, 0.5, 0.25) = (2, -0.375, 1.125); relu -> (2, 0, 1.125);
    #          mask (0, 1, 1) -> (0, 0, 1.125)
    # output:  0*1 + 0*-2 + 1.125*2 + 0.5 = 2.75
    assert toy_masks.main() == 2.75


def test_toy_masks_every_layer_matches_plain_python():
    w, b, m = toy_masks.WEIGHTS, toy_masks.BIASES, [row[0] for row in toy_masks.MASKS]
    h = [xi * mi for xi, mi in zip(toy_masks.X[0], m[0])]
    expected = [h]
    for layer in range(3):
        h = hand_layer(h, w[layer], b[layer], m[layer + 1])
        expected.append(h)
    out = hand_layer(h, w[3], b[3])
    assert expected[1:] == [[1.5, 0.0, 0.5], [1.5, 1.25, 0.0], [0.0, 0.0, 1.125]]
    assert out == [2.75]

    import minigrad
    from minigrad import nn
    model = toy_masks.build_model()
    x = minigrad.tensor(toy_masks.X, dtype=np.float64)
    values = toy_masks.layer_values(model, x, toy_masks.MASKS)
    dropout_outputs = [v[0].tolist() for layer, v in values if isinstance(layer, nn.Dropout)]
    assert dropout_outputs == expected  # exact: every number is a multiple of 1/64
    assert values[-1][1][0].tolist() == out


def test_toy_masks_p_does_not_change_masked_training_output():
    import minigrad
    from minigrad import nn
    x = minigrad.tensor(toy_masks.X, dtype=np.float64)
    masks = [np.asarray(m) for m in toy_masks.MASKS]
    outs = [nn.forward_with_masks(toy_masks.build_model(p), x, masks)[0].data.item()
            for p in (0.1, 0.5, 0.9)]
    assert outs == [2.75, 2.75, 2.75]


# ---- ten_thousand_ones ----------------------------------------------------------------
def test_ten_thousand_ones_binomial_bound_and_exact_eval():
    assert ten_thousand_ones.SD == 100.0  # 2 * sqrt(10000 * 0.5 * 0.5)
    train, evaluated = ten_thousand_ones.run(draws=20, seed=0)
    assert evaluated == 10000.0
    for out in train:
        assert abs(out - 10000) <= 4 * 100  # each draw: 4 sd, P(fail) ~ 6e-5
        assert out % 2 == 0  # 2 * (number kept)
    assert len(set(train)) > 1  # fresh masks each call
    # the mean of 20 draws has sd 100 / sqrt(20)
    assert abs(np.mean(train) - 10000) <= 4 * 100 / math.sqrt(20)


# ---- mc_dropout -----------------------------------------------------------------------
def test_mc_dropout_spread_grows_away_from_the_data():
    model, (x, _) = mc_dropout.fit(iterations=1500)
    inside = np.linspace(0.3, 0.95, 6)
    inside = np.concatenate([-inside, inside])
    far = np.array([-3.0, -2.75, 2.75, 3.0])
    _, std_in = mc_dropout.predict(model, inside, samples=200)
    _, std_far = mc_dropout.predict(model, far, samples=200)
    assert std_far.min() > std_in.max()
    assert std_far.mean() > 1.5 * std_in.mean()
    assert not model.training  # mc_dropout_predict restored eval mode


# ---- mc_uncertainty ---------------------------------------------------------------------
def test_mc_uncertainty_bald_is_high_only_where_the_networks_disagree():
    model = mc_uncertainty.fit(iterations=300)
    names = list(mc_uncertainty.POINTS)
    result = mc_uncertainty.measure(model, list(mc_uncertainty.POINTS.values()), samples=100)
    entropy, expected, bald = result["entropy"], result["expected"], result["bald"]
    centres = [names.index("centre of class 0"), names.index("centre of class 1")]
    inside, far = names.index("boundary, in the data"), names.index("boundary, far away")
    assert entropy[inside] > 0.6 > entropy[centres].max()  # log 2 = 0.693 is the maximum
    assert expected[inside] > 0.9 * entropy[inside]  # label noise, not disagreement
    assert bald[far] > 3 * max(bald[centres].max(), bald[inside])
    assert not model.training


# ---- dropconnect ----------------------------------------------------------------------
import dropconnect  # noqa: E402


def test_dropconnect_masks_by_hand():
    """Each example's own mask, and its output recomputed from it in plain Python (exact:
    every weight is a multiple of 1/4 and 1/keep = 2)."""
    masks, out, hand = dropconnect.masks_by_hand()
    w, b, x = dropconnect.WEIGHTS, dropconnect.BIAS, dropconnect.X[0]
    assert all(bit in (0, 1) for m in masks for row in m for bit in row)
    expected = [[sum(x[k] * m[k][n] * w[k][n] * 2 for k in range(3)) + b[n] for n in range(2)]
                for m in masks]
    assert out == hand == expected
    assert masks[0] != masks[1] and out[0] != out[1]  # one input, two thinned layers


def test_dropconnect_sampling_inference_beats_the_mean_network():
    """The truth is E[relu(u)] over 20000 masks; moment matching tracks it (to the Gaussian
    approximation and Monte Carlo error), the mean network misses where ReLU bends."""
    truth, sampling, mean = dropconnect.mean_vs_sampling(examples=20000, samples=1000)
    assert np.abs(sampling - truth).max() < 0.25 * np.abs(mean - truth).max()
    assert (mean <= truth + 0.05).all()  # Jensen: relu(E u) <= E relu(u), up to MC noise
