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


# ---- selu_alpha_dropout -------------------------------------------------------------------
import selu_alpha_dropout  # noqa: E402


def test_selu_alpha_dropout_stays_near_the_fixed_point_and_the_others_drift():
    """The paper's fixed point (mean 0, variance 1) for SELU + alpha dropout at every depth.

    Each layer's moments are over 512 x 128 values; with the units of a layer correlated
    through shared inputs, 0.05 is a loose bound (the full-size run stays within 0.013).
    The others are checked for the direction of their drift, each against an exact fact:
    ReLU + dropout outputs are >= 0, and their variance shrinks about 0.55x a layer under
    LeCun weights (bounded here by 0.7x); SELU + Bernoulli dropout's variance grows.
    """
    kwargs = dict(depth=12, width=128, batch=512, p=0.1, seed=0)
    alpha = selu_alpha_dropout.layer_moments("selu_alpha", **kwargs)
    for mean, var in alpha:
        assert abs(mean) <= 0.05 and abs(var - 1) <= 0.05
    bernoulli = selu_alpha_dropout.layer_moments("selu_dropout", **kwargs)
    assert bernoulli[0][1] > 1.05 and bernoulli[-1][1] > 1.3 > alpha[-1][1]
    relu = selu_alpha_dropout.layer_moments("relu_dropout", **kwargs)
    assert all(mean > 0 for mean, _ in relu)
    assert all(later <= 0.7 * earlier for (_, earlier), (_, later) in zip(relu, relu[1:]))


def test_selu_alpha_dropout_networks_share_their_weights():
    a = selu_alpha_dropout.build("selu_alpha", 3, 8, 0.1, seed=4)
    b = selu_alpha_dropout.build("relu_dropout", 3, 8, 0.1, seed=4)
    for la, lb in zip(a[::3], b[::3]):
        np.testing.assert_array_equal(la.weight.data, lb.weight.data)


# ---- shared_masks ---------------------------------------------------------------------------
import shared_masks  # noqa: E402


def test_shared_masks_one_mask_per_sequence_and_the_never_seen_fraction():
    """Variational: Binomial(64 * 32, p) pairs never seen (5 sd); per step: p**T ~ 1e-12."""
    batch, time, features, p = 64, 20, 32, 0.25
    per_step = shared_masks.draw_mask(batch, time, features, p, variational=False)
    variational = shared_masks.draw_mask(batch, time, features, p, variational=True)
    assert shared_masks.distinct_masks_along_time(variational) == [1] * batch
    assert min(shared_masks.distinct_masks_along_time(per_step)) > 1
    pairs = batch * features
    assert abs(shared_masks.never_seen_fraction(variational) * pairs - pairs * p) \
        <= 5 * math.sqrt(pairs * p * (1 - p))
    assert shared_masks.never_seen_fraction(per_step) == 0.0
    results = shared_masks.main(["--batch", "8", "--time", "5", "--features", "16"])
    assert set(results) == {False, True}
# ---- concrete_dropout ------------------------------------------------------------------
def test_concrete_dropout_learns_each_layers_p_and_the_net_learns_mnist():
    """Oracles: every p starts at the authors' 0.1, moves, and stays in (0, 1); the
    cross-entropy falls; the test error ends far below chance (90%); the p printed
    are the model's own; and the regulariser's strengths are the paper's for N."""
    import concrete_dropout
    import minigrad
    from minigrad import nn
    from minigrad.data import load_mnist

    x_train, y_train, x_test, y_test = load_mnist(download=False)
    data = (x_train[:1000], y_train[:1000], x_test[:1000], y_test[:1000])
    lines = []
    # one thread: these matrices are small, and two threads on a busy 2-core machine wait
    # for each other (results do not depend on the thread count)
    with minigrad.using_backend(threads=1):
        model, history = concrete_dropout.train(data, hidden=(32, 32), epochs=6,
                                                batch_size=64, lr=0.1, log=lines.append)
    assert len(history) == len(lines) == 7
    assert all(math.isclose(p, 0.1, rel_tol=1e-6) for p in history[0]["p"])
    final = history[-1]
    assert len(final["p"]) == 3
    assert all(0 < p < 1 and abs(p - 0.1) > 1e-3 for p in final["p"])
    assert final["p"] == concrete_dropout.drop_probabilities(model)
    assert final["data_loss"] < 0.6 * history[0]["data_loss"]
    assert final["test_error"] < 0.5
    layers = [m for m in model.modules() if isinstance(m, nn.ConcreteDropout)]
    wd, dd = 1e-2**2 / 1000, 2 / 1000
    assert all(math.isclose(m.weight_regularizer, wd) and math.isclose(m.dropout_regularizer, dd)
               for m in layers)
    assert " ".join(f"{p:.4f}" for p in final["p"]) in lines[-1]
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


# ---- gaussian_dropout ------------------------------------------------------------------------
import gaussian_dropout  # noqa: E402


def test_gaussian_and_bernoulli_multipliers_share_two_moments_not_their_shape():
    """5-standard-error bounds for n draws: the mean's SE is sqrt(var / n); the sample
    variance's is sqrt((mu4 - var**2) / n), with mu4 = 3 var**2 for the normal and, for
    Bernoulli's m / (1 - p) - 1 (p/(1-p) with probability 1-p, -1 with probability p),
    mu4 = (1-p) (p/(1-p))**4 + p (which equals var**2 at p = 0.5, where (m/(1-p) - 1)**2
    is always 1: then only the squared error of the sample mean moves it, 25 var / n at 5
    SE); each fraction's SE is sqrt(q (1 - q) / n)."""
    n = 200_000
    results = gaussian_dropout.main(["--n", str(n)])
    for (p, kind), s in results.items():
        var = p / (1 - p)
        mu4 = 3 * var**2 if kind == "gaussian" else (1 - p) * var**4 + p
        assert abs(s["mean"] - 1) <= 5 * math.sqrt(var / n)
        assert abs(s["variance"] - var) <= 5 * math.sqrt((mu4 - var**2) / n) + 25 * var / n
        zero = p if kind == "bernoulli" else 0.0
        negative = 0.0 if kind == "bernoulli" else gaussian_dropout.normal_cdf(-1 / math.sqrt(var))
        for observed, q in ((s["zero"], zero), (s["negative"], negative)):
            assert abs(observed - q) <= 5 * math.sqrt(q * (1 - q) / n)


# ---- sweep_dropout_rates ---------------------------------------------------------------
import sweep_dropout_rates  # noqa: E402


def test_the_sweep_chooses_the_lowest_mean_validation_error_and_reports_its_test(tmp_path):
    sweep = sweep_dropout_rates.dropout_rate_sweep(hidden=(16,), epochs=1, train_subset=500,
                                                   validation=100)
    results, rows = sweep_dropout_rates.run(sweep, tmp_path, workers=2)
    assert [r["status"] for r in results] == ["ok"] * 8
    # the oracle: numpy's mean and sample sd of each point's two result.json values
    for row in rows:
        point = {"p_input": row["p_input"], "p_hidden": row["p_hidden"]}
        mine = [r for r in results if r["point"] == point]
        assert len(mine) == 2 and row["validation_n"] == row["test_n"] == 2
        for kind in ("validation", "test"):
            errors = np.array([r[f"{kind}_error"] for r in mine])
            assert math.isclose(row[f"{kind}_error_mean"], errors.mean(), rel_tol=1e-12)
            assert math.isclose(row[f"{kind}_error_sd"], errors.std(ddof=1), rel_tol=1e-12,
                                abs_tol=1e-15)
    # chosen: the lowest mean validation error (the first on a tie), never the test's
    best = int(np.argmin([row["validation_error_mean"] for row in rows]))
    assert [row["chosen"] for row in rows] == [i == best for i in range(len(rows))]
