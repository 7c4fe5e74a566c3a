"""The concrete dropout op and its regulariser: gradients, the law of the mask, bad input.

Oracles: float64 finite differences (the noise fixed by an int seed), PyTorch's autograd on
the same formula and the same noise, the counter-based noise recomputed here, and
statistics at fixed seeds with bounds of 5 standard errors derived below each test. The
op is numpy only (no compiled kernel), so it has no thread count or backend to vary.
"""
import importlib
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad.ops.concrete_dropout import logistic_noise
from minigrad.random import draw_seed

# the module, not the function of the same name that minigrad.ops exports
concrete_module = importlib.import_module("minigrad.ops.concrete_dropout")


def logit(p):
    return math.log(p) - math.log1p(-p)


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def logit_tensor(p, dtype=np.float64, requires_grad=False):
    return mg.tensor(logit(p), dtype=dtype, requires_grad=requires_grad)


def relaxed_keep(n, p, temperature, rng):
    """``1 - z`` per element: the op's output on x = 1, times (1 - p)."""
    ones = mg.tensor(np.ones(n), dtype=np.float64)
    out = mg.concrete_dropout(ones, logit_tensor(p), temperature, training=True, rng=rng)
    return out.data * (1 - p)


def logistic_expectation(g):
    """E[g(L)] for a standard logistic L, by the trapezoid rule on [-60, 60].

    The density sigmoid(l) (1 - sigmoid(l)) is below 1e-26 beyond |l| = 60 and the g used
    here are bounded by 1, so the truncation is negligible; the step 1e-4 resolves the
    width t = 0.1 of the sigmoids in g with a relative error far below 1e-9.
    """
    l = np.linspace(-60.0, 60.0, 1_200_001)
    s = sigmoid(l)
    return np.trapezoid(g(l) * s * (1 - s), l)


# ---- gradients -------------------------------------------------------------------------
@pytest.mark.parametrize("p, temperature", [(0.1, 0.1), (0.5, 0.1), (0.7, 0.5), (0.3, 2.0)])
def test_gradcheck_wrt_x_and_p_logit(p, temperature):
    """An int rng gives the same seed, hence the same u, to every evaluation."""
    x = mg.tensor(np.random.default_rng(2).standard_normal((5, 7)), dtype=np.float64,
                  requires_grad=True)
    theta = logit_tensor(p, requires_grad=True)
    assert mg.gradcheck(lambda a, b: mg.concrete_dropout(a, b, temperature, training=True,
                                                         rng=3), x, theta)
    assert mg.gradcheck(lambda a, b: mg.concrete_dropout(a * a, b, temperature,
                                                         training=True, rng=4).tanh(), x, theta)


def test_gradients_match_torch_autograd_on_the_same_noise():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x_np, g_np = rng.standard_normal((6, 9)), rng.standard_normal((6, 9))
    theta0, t = logit(0.3), 0.1
    x = mg.tensor(x_np, requires_grad=True)
    theta = mg.tensor(theta0, dtype=np.float64, requires_grad=True)
    y = mg.concrete_dropout(x, theta, t, training=True, rng=17)
    y.backward(g_np)

    noise = torch.tensor(logistic_noise(x_np.size, draw_seed(17)).reshape(x_np.shape))
    xt = torch.tensor(x_np, requires_grad=True)
    th = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
    z = torch.sigmoid((th + noise) / t)
    yt = xt * (1 - z) / (1 - torch.sigmoid(th))
    yt.backward(torch.tensor(g_np))
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(theta.grad, th.grad.numpy(), rtol=1e-10)


def test_only_the_needed_gradient_is_prepared():
    x = mg.tensor(np.ones((3, 4)), dtype=np.float64, requires_grad=True)
    frozen = mg.concrete_dropout(x, logit_tensor(0.2), 0.1, training=True, rng=0)
    assert not hasattr(frozen._fn, "keep_scale_slope") and not frozen._fn.saved_arrays
    frozen.sum().backward()
    np.testing.assert_array_equal(x.grad, frozen.data)  # d out/dx = r = out / x at x = 1
    theta = logit_tensor(0.2, requires_grad=True)
    learned = mg.concrete_dropout(mg.tensor(np.ones((3, 4)), dtype=np.float64), theta, 0.1,
                                  training=True, rng=0)
    learned.sum().backward()
    assert theta.grad.shape == () and np.isfinite(theta.grad)


def test_float32_gives_float32_outputs_and_gradients():
    x = mg.tensor(np.ones((4, 5), np.float32), requires_grad=True)
    theta = logit_tensor(0.4, np.float32, requires_grad=True)
    y = mg.concrete_dropout(x, theta, 0.1, training=True, rng=1)
    y.sum().backward()
    assert y.dtype == x.grad.dtype == theta.grad.dtype == np.float32


def test_no_grad_and_empty_input():
    x = mg.tensor(np.ones((3, 3)), dtype=np.float64, requires_grad=True)
    theta = logit_tensor(0.5, requires_grad=True)
    with mg.no_grad():
        assert not mg.concrete_dropout(x, theta, 0.1, training=True, rng=0).requires_grad
    empty = mg.tensor(np.ones((0, 4)), dtype=np.float64, requires_grad=True)
    out = mg.concrete_dropout(empty, theta, 0.1, training=True, rng=0)
    out.sum().backward()
    assert out.shape == (0, 4) and theta.grad == 0


# ---- the noise ---------------------------------------------------------------------------
def test_the_output_is_the_papers_formula_on_the_counter_based_noise():
    x = np.random.default_rng(1).standard_normal((64, 33))
    p, t = 0.25, 0.1
    noise = logistic_noise(x.size, draw_seed(5)).reshape(x.shape)
    keep = sigmoid(-(logit(p) + noise) / t)  # 1 - z, without the cancellation of 1 - z
    y = mg.concrete_dropout(mg.tensor(x), logit_tensor(p), t, training=True, rng=5)
    np.testing.assert_allclose(y.data, x * keep / (1 - p), rtol=1e-13, atol=1e-300)


def test_every_element_of_one_call_gets_its_own_noise():
    """One u per call (a widely copied port) would give every element the same factor."""
    keep = relaxed_keep(64 * 32, 0.5, 1.0, rng=0)
    assert np.unique(keep).size == keep.size
    # and along both axes of a matrix: no noise shared by a row or a column
    out = mg.concrete_dropout(mg.tensor(np.ones((64, 32))), logit_tensor(0.5), 1.0,
                              training=True, rng=1).data
    assert np.unique(out).size == out.size


def test_each_call_draws_fresh_noise_and_a_seed_reproduces_it():
    g = np.random.default_rng(0)
    first, second = relaxed_keep(1000, 0.5, 1.0, g), relaxed_keep(1000, 0.5, 1.0, g)
    assert (first != second).all()
    np.testing.assert_array_equal(relaxed_keep(1000, 0.5, 1.0, 42),
                                  relaxed_keep(1000, 0.5, 1.0, 42))
    mg.manual_seed(3)
    a = relaxed_keep(100, 0.5, 1.0, None)
    mg.manual_seed(3)
    np.testing.assert_array_equal(relaxed_keep(100, 0.5, 1.0, None), a)


def test_logistic_noise_has_the_logistic_law():
    """Kolmogorov-Smirnov against P(L <= l) = sigmoid(l): at n = 100000 the statistic
    exceeds 1.95 / sqrt(n) with probability 0.001 (the KS distribution's 99.9% point)."""
    n = 100_000
    noise = np.sort(logistic_noise(n, seed=2017))
    cdf = sigmoid(noise)
    ranks = np.arange(1, n + 1) / n
    d = max(np.max(ranks - cdf), np.max(cdf - (ranks - 1 / n)))
    assert d < 1.95 / math.sqrt(n)
    assert np.all(np.isfinite(noise)) and np.max(np.abs(noise)) <= 53 * math.log(2)


def test_logistic_noise_depends_on_the_element_index_alone():
    long, short = logistic_noise(1000, seed=9), logistic_noise(10, seed=9)
    np.testing.assert_array_equal(long[:10], short)


# ---- the law of the relaxed mask -------------------------------------------------------
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_as_the_temperature_falls_the_mask_becomes_bernoulli(p):
    """At t = 1e-3 almost every ``1 - z`` is within 1e-3 of 0 or 1, and the kept fraction
    is Binomial(n, 1 - p) / n: within 5 sd = 5 sqrt(p (1 - p) / n) of 1 - p.

    Not binary: ``z`` in (d, 1 - d) for d = 1e-3 means ``|logit p + L| < t logit(1 - d)``,
    of probability at most ``2 t logit(1 - d) max density = 2 t 6.91 / 4 = 0.0035``; the
    fraction's sd is then at most sqrt(0.0035 / n) = 1.3e-4."""
    n, t = 200_000, 1e-3
    keep = relaxed_keep(n, p, t, rng=17)
    undecided = np.mean((keep > 1e-3) & (keep < 1 - 1e-3))
    assert undecided <= 2 * t * logit(1 - 1e-3) / 4 + 5 * math.sqrt(0.0035 / n)
    assert abs(np.mean(keep > 0.5) - (1 - p)) <= 5 * math.sqrt(p * (1 - p) / n)
    assert abs(np.mean(keep) - (1 - p)) <= 5 * math.sqrt(p * (1 - p) / n) + undecided


def test_the_relaxed_mask_has_the_concrete_law():
    """P(1 - z <= s) = P(L >= t logit(1 - s) - logit p) = sigmoid(logit p - t logit(1 - s)):
    KS at the 99.9% point as for the noise, at a temperature where the law is far from
    binary."""
    n, p, t = 100_000, 0.3, 0.5
    keep = np.sort(relaxed_keep(n, p, t, rng=23))
    cdf = sigmoid(logit(p) - t * np.log((1 - keep) / keep))
    ranks = np.arange(1, n + 1) / n
    assert max(np.max(ranks - cdf), np.max(cdf - (ranks - 1 / n))) < 1.95 / math.sqrt(n)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_the_mean_is_preserved_to_order_t_squared(p):
    """E[out] = x E[r] with r = (1 - z)/(1 - p). E[r] and Var[r] are computed by quadrature
    over the logistic density (``logistic_expectation``), and the sample is held to them:
    ``sum(out) - E[r] sum(x)`` has sd ``sqrt(Var[r] sum(x**2))``, bound 5 sd. Then
    ``E[r] - 1`` itself is held to the module docstring's expansion
    ``(pi**2/6) t**2 p (2p - 1)`` (``E[z] - p`` over ``1 - p``, with a sign flip) to within
    25% plus 1e-5: its next term is O(t**4)."""
    t, theta = 0.1, logit(p)
    x = np.random.default_rng(7).random(200_000) + 0.5
    out = mg.concrete_dropout(mg.tensor(x), logit_tensor(p), t, training=True, rng=11).data
    r_mean = logistic_expectation(lambda l: sigmoid(-(theta + l) / t)) / (1 - p)
    r_var = logistic_expectation(lambda l: sigmoid(-(theta + l) / t) ** 2) / (1 - p) ** 2 \
        - r_mean**2
    assert abs(out.sum() - r_mean * x.sum()) <= 5 * math.sqrt(r_var * (x**2).sum())
    expansion = math.pi**2 / 6 * t**2 * p * (2 * p - 1)
    assert abs((r_mean - 1) - expansion) <= 0.25 * abs(expansion) + 1e-5
    # so E[out] = x up to that bias: the paper's scale 1/(1 - p) is exact only as t -> 0
    assert abs(out.sum() - x.sum()) <= 5 * math.sqrt(r_var * (x**2).sum()) \
        + 1.25 * abs(expansion) * x.sum() + 1e-5 * x.sum()


def test_eval_mode_is_the_identity():
    x = mg.tensor(np.ones((3, 4), np.float32))
    assert mg.concrete_dropout(x, logit_tensor(0.5, np.float32), 0.1, training=False) is x


# ---- the regulariser ---------------------------------------------------------------------
def test_regulariser_matches_a_hand_computation():
    # p = 1/4: ||W||^2 = 1 + 4 + 9 + 16 + 0 + 1 = 31, K = 3 rows;
    # R = 0.2 * 31 / 0.75 + 0.5 * 3 * (0.25 log 0.25 + 0.75 log 0.75)
    w = mg.tensor([[1.0, -2.0], [3.0, 4.0], [0.0, 1.0]], dtype=np.float64)
    r = mg.concrete_dropout_regularizer(logit_tensor(0.25), w, 0.2, 0.5)
    expected = 0.2 * 31 / 0.75 + 1.5 * (0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    assert r.shape == () and math.isclose(r.item(), expected, rel_tol=1e-14)


def test_regulariser_gradcheck_and_closed_form_gradient():
    """dR/d logit = wd ||W||^2 p / (1 - p) + dd K p (1 - p) logit(p)."""
    w = mg.tensor(np.random.default_rng(4).standard_normal((5, 3)), requires_grad=True)
    theta = logit_tensor(0.3, requires_grad=True)
    assert mg.gradcheck(lambda a, b: mg.concrete_dropout_regularizer(a, b, 0.3, 0.7), theta, w)
    theta.grad = w.grad = None
    mg.concrete_dropout_regularizer(theta, w, 0.3, 0.7).backward()
    s, p = float((w.data**2).sum()), 0.3
    assert math.isclose(theta.grad.item(), 0.3 * s * p / (1 - p)
                        + 0.7 * 5 * p * (1 - p) * logit(p), rel_tol=1e-12)
    np.testing.assert_allclose(w.grad, 2 * 0.3 * w.data / (1 - p), rtol=1e-14)


@pytest.mark.parametrize("p", [0.05, 0.3, 0.7, 0.95])
def test_regulariser_pushes_p_as_the_paper_says(p):
    """The entropy term alone drives p towards 1/2 (maximum entropy); the weight term alone
    lowers p (a kept fraction 1 - p near 0 inflates ||W||^2 / (1 - p))."""
    w = mg.tensor(np.ones((4, 2)), dtype=np.float64)

    def descent_direction(wd, dd):
        theta = logit_tensor(p, requires_grad=True)
        mg.concrete_dropout_regularizer(theta, w, wd, dd).backward()
        return -theta.grad.item()

    assert np.sign(descent_direction(0.0, 1.0)) == np.sign(0.5 - p)
    assert descent_direction(1.0, 0.0) < 0


def test_regulariser_matches_torch():
    torch = pytest.importorskip("torch")
    w_np = np.random.default_rng(8).standard_normal((6, 4))
    w = mg.tensor(w_np, requires_grad=True)
    theta = logit_tensor(0.15, requires_grad=True)
    mg.concrete_dropout_regularizer(theta, w, 1e-2, 3e-2).backward()
    wt = torch.tensor(w_np, requires_grad=True)
    th = torch.tensor(logit(0.15), dtype=torch.float64, requires_grad=True)
    pt = torch.sigmoid(th)  # the authors' formula, written with p itself
    rt = 1e-2 * (wt**2).sum() / (1 - pt) + 3e-2 * 6 * (pt * pt.log() + (1 - pt) * (1 - pt).log())
    rt.backward()
    np.testing.assert_allclose(theta.grad, th.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(w.grad, wt.grad.numpy(), rtol=1e-12)


# ---- bad input ---------------------------------------------------------------------------
OK = {"x": mg.tensor([1.0, 2.0]), "p_logit": mg.tensor(0.0), "temperature": 0.1,
      "training": True, "rng": 0}
BAD_ARGUMENTS = [
    ("x", np.ones(2), TypeError, "x must be a minigrad Tensor"),
    ("p_logit", 0.0, TypeError, "p_logit must be a minigrad Tensor"),
    ("p_logit", mg.tensor([0.0, 1.0]), ValueError, "exactly one element"),
    ("p_logit", mg.tensor(0.0, dtype=np.float64), TypeError, "dtype float64"),
    ("p_logit", mg.tensor(float("nan")), ValueError, "p_logit must be a finite number < 88"),
    ("p_logit", mg.tensor(float("-inf")), ValueError, "p_logit must be a finite number"),
    ("p_logit", mg.tensor(89.0), ValueError, "p_logit must be a finite number < 88.72"),
    ("temperature", 0.0, ValueError, "temperature must be a positive finite number, got 0.0"),
    ("temperature", -1.0, ValueError, "temperature must be a positive"),
    ("temperature", float("inf"), ValueError, "temperature must be a positive"),
    ("temperature", "0.1", TypeError, "temperature must be a real number"),
    ("training", 1, TypeError, "training must be a bool"),
    ("rng", "seed", TypeError, "rng must be None"),
    ("rng", -1, ValueError, "seed must be non-negative"),
]


@pytest.mark.parametrize("name, value, error, message", BAD_ARGUMENTS)
def test_bad_arguments_are_refused_before_any_noise_is_drawn(monkeypatch, name, value, error,
                                                             message):
    def must_not_run(*args):
        raise AssertionError("bad input reached the computation")

    monkeypatch.setattr(concrete_module, "logistic_noise", must_not_run)
    with pytest.raises(error, match=message):
        mg.concrete_dropout(**{**OK, name: value})


def test_good_arguments_do_reach_the_computation(monkeypatch):
    """The counterpart of the test above: the sentinel does fire on valid input."""
    monkeypatch.setattr(concrete_module, "logistic_noise", lambda *args: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        mg.concrete_dropout(**OK)


def test_training_has_no_default():
    with pytest.raises(TypeError, match="training"):
        mg.concrete_dropout(mg.tensor([1.0]), mg.tensor(0.0), 0.1)


@pytest.mark.parametrize("arguments, error, message", [
    ((logit_tensor(0.5), np.ones((2, 2)), 1.0, 1.0), TypeError, "weight must be a minigrad"),
    ((logit_tensor(0.5), mg.tensor(np.ones(3)), 1.0, 1.0), ValueError, "weight must be 2-D"),
    ((mg.tensor(0.0), mg.tensor(np.ones((2, 2))), 1.0, 1.0), TypeError, "dtype float32"),
    ((logit_tensor(0.5), mg.tensor(np.ones((2, 2))), -1.0, 1.0), ValueError,
     "weight_regularizer must be a finite number >= 0"),
    ((logit_tensor(0.5), mg.tensor(np.ones((2, 2))), 1.0, float("nan")), ValueError,
     "dropout_regularizer must be a finite number >= 0"),
])
def test_regulariser_bad_arguments(arguments, error, message):
    with pytest.raises(error, match=message):
        mg.concrete_dropout_regularizer(*arguments)
