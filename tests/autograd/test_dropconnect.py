"""The DropConnect op: gradients, the two mask kinds, both inference rules, bad input.

Statistical checks use fixed seeds and 5-standard-error bounds:

* n examples, each with its own mask, of one input v: unit n's pre-activation has the
  mean and variance of the module docstring of ``minigrad.ops.dropconnect``; its sample
  mean has standard error ``sqrt(Var / n)``, its sample variance ``sqrt((m4 - Var**2) / n)``
  (m4 the fourth central moment, estimated from the sample).
* Z Gaussian samples averaged: standard error ``sd / sqrt(Z)`` per unit, with sd the
  exact standard deviation of ``a(u)``. For ``u ~ N(mu, sigma**2)`` and t = mu / sigma,
  ``E[relu(u)] = mu Phi(t) + sigma phi(t)`` and
  ``E[relu(u)**2] = (mu**2 + sigma**2) Phi(t) + mu sigma phi(t)``.
"""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad.kernels import dispatch
from minigrad.random import draw_seed


@pytest.fixture
def backend(each_backend):
    return each_backend


def operands(rng, b=5, k=4, n=3, dtype=np.float64, requires_grad=True):
    return (mg.tensor(rng.standard_normal(s), dtype=dtype, requires_grad=requires_grad)
            for s in ((b, k), (k, n), (n,)))


@pytest.mark.parametrize("mask", ["example", "batch"])
@pytest.mark.parametrize("inverted", [True, False])
@pytest.mark.parametrize("activation", [None, "relu"])
def test_gradcheck_of_x_w_and_b(backend, mask, inverted, activation):
    """rng=int draws the same seed every call, so the masks are fixed for finite differences."""
    x, w, b = operands(np.random.default_rng(0))

    def f(x, w, b):
        return mg.dropconnect_linear(x, w, b, 0.5, training=True, mask=mask, inverted=inverted,
                                     activation=activation, rng=3)

    assert mg.gradcheck(f, x, w, b)


def test_gradcheck_without_bias(backend):
    x, w, _ = operands(np.random.default_rng(1))
    assert mg.gradcheck(lambda x, w: mg.dropconnect_linear(x, w, None, 0.3, training=True,
                                                           rng=5), x, w)


def test_gradients_equal_the_formulas_with_the_masks_written_out(backend):
    rng = np.random.default_rng(2)
    x, w, b = operands(rng, 6, 7, 5)
    g = rng.standard_normal((6, 5))
    y = mg.dropconnect_linear(x, w, b, 0.25, training=True, rng=9)
    (y * mg.tensor(g)).sum().backward()
    m = dispatch.dropconnect_mask(6, 7, 5, 0.25, draw_seed(9)) / 0.75
    np.testing.assert_allclose(y.data, np.einsum("bk,bkn,kn->bn", x.data, m, w.data) + b.data)
    np.testing.assert_allclose(x.grad, np.einsum("bn,bkn,kn->bk", g, m, w.data))
    np.testing.assert_allclose(w.grad, np.einsum("bk,bkn,bn->kn", x.data, m, g))
    np.testing.assert_allclose(b.grad, g.sum(axis=0))


def test_per_batch_mask_is_dropout_of_the_weight_matrix(backend):
    """mask="batch": one (K, N) mask for every example, the one dropout draws on W."""
    rng = np.random.default_rng(3)
    x, w, b = operands(rng, 8, 6, 5, requires_grad=False)
    y = mg.dropconnect_linear(x, w, b, 0.5, training=True, mask="batch", rng=4).data
    thinned = mg.dropout(w, 0.5, training=True, rng=4).data
    np.testing.assert_allclose(y, x.data @ thinned + b.data)


def test_identical_examples_share_a_batch_mask_but_not_an_example_mask(backend):
    x = mg.tensor(np.ones((2, 50)))
    w = mg.tensor(np.random.default_rng(5).standard_normal((50, 40)))
    per_batch = mg.dropconnect_linear(x, w, None, 0.5, training=True, mask="batch", rng=1).data
    per_example = mg.dropconnect_linear(x, w, None, 0.5, training=True, rng=1).data
    np.testing.assert_array_equal(per_batch[0], per_batch[1])
    assert (per_example[0] != per_example[1]).all()


def test_p_zero_in_training_is_the_plain_layer(backend):
    x, w, b = operands(np.random.default_rng(6), requires_grad=False)
    for mask in ("example", "batch"):
        y = mg.dropconnect_linear(x, w, b, 0.0, training=True, mask=mask)
        np.testing.assert_allclose(y.data, x.data @ w.data + b.data)


@pytest.mark.parametrize("inverted, factor", [(True, 1.0), (False, 0.6)])
def test_mean_inference_is_the_expected_layer(backend, inverted, factor):
    """inverted: a(W v + b); the paper's training: a((1 - p) W v + b)."""
    x, w, b = operands(np.random.default_rng(7), requires_grad=False)
    y = mg.dropconnect_linear(x, w, b, 0.4, training=False, inverted=inverted,
                              activation="relu")
    np.testing.assert_allclose(y.data, np.maximum(x.data @ (factor * w.data) + b.data, 0))


@pytest.mark.parametrize("inverted", [True, False])
def test_training_masks_have_the_moments_sampling_inference_assumes(backend, inverted):
    """Pre-activations of 20000 examples of one input: mean and variance of the formulas."""
    rng = np.random.default_rng(8)
    v, w, b = rng.standard_normal(30), rng.standard_normal((30, 4)), rng.standard_normal(4)
    p, n = 0.5, 20_000
    keep, s = 1 - p, (1 / (1 - p) if inverted else 1.0)
    u = mg.dropconnect_linear(mg.tensor(np.tile(v, (n, 1))), mg.tensor(w), mg.tensor(b), p,
                              training=True, inverted=inverted, rng=10).data
    mean = s * keep * v @ w + b
    var = s**2 * keep * (1 - keep) * (v * v) @ (w * w)
    m4 = ((u - u.mean(axis=0)) ** 4).mean(axis=0)
    assert (np.abs(u.mean(axis=0) - mean) <= 5 * np.sqrt(var / n)).all()
    assert (np.abs(u.var(axis=0) - var) <= 5 * np.sqrt((m4 - var**2) / n)).all()


def test_sampling_inference_without_activation_tends_to_the_mean(backend):
    rng = np.random.default_rng(11)
    x, w, b = operands(rng, 6, 20, 7, requires_grad=False)
    z, p = 4000, 0.5
    y = mg.dropconnect_linear(x, w, b, p, training=False, inference="sampling", samples=z,
                              rng=12).data
    var = p / (1 - p) * (x.data**2) @ (w.data**2)
    assert (np.abs(y - (x.data @ w.data + b.data)) <= 5 * np.sqrt(var / z)).all()


@pytest.mark.parametrize("inverted", [True, False])
def test_sampling_inference_with_relu_matches_the_gaussian_integral(backend, inverted):
    rng = np.random.default_rng(13)
    x, w, b = operands(rng, 8, 25, 6, requires_grad=False)
    z, p = 4000, 0.3
    keep, s = 1 - p, (1 / (1 - p) if inverted else 1.0)
    y = mg.dropconnect_linear(x, w, b, p, training=False, inverted=inverted, activation="relu",
                              inference="sampling", samples=z, rng=14).data
    mu = s * keep * x.data @ w.data + b.data
    sigma = np.sqrt(s**2 * keep * (1 - keep) * (x.data**2) @ (w.data**2))
    t = mu / sigma
    cdf = 0.5 * (1 + np.vectorize(math.erf)(t / math.sqrt(2)))
    pdf = np.exp(-t**2 / 2) / math.sqrt(2 * math.pi)
    first = mu * cdf + sigma * pdf
    second = (mu**2 + sigma**2) * cdf + mu * sigma * pdf
    sd = np.sqrt(second - first**2)
    assert (np.abs(y - first) <= 5 * sd / math.sqrt(z)).all()
    assert (y >= np.maximum(mu, 0) - 5 * sd / math.sqrt(z)).all()  # Jensen: E relu >= relu E


def test_sampling_inference_is_reproducible_from_its_seed_and_not_differentiable():
    x, w, b = operands(np.random.default_rng(15))
    run = lambda rng: mg.dropconnect_linear(x, w, b, 0.5, training=False, activation="relu",
                                            inference="sampling", samples=10, rng=rng)
    first = run(1)
    np.testing.assert_array_equal(first.data, run(1).data)
    assert (first.data != run(2).data).any()
    assert not first.requires_grad and first.dtype == np.float64


def test_masks_are_independent_of_thread_count_and_backend():
    rng = np.random.default_rng(16)
    x, w, b = operands(rng, 64, 70, 80, dtype=np.float32, requires_grad=False)

    def forward(backend, threads):
        with mg.using_backend(backend, threads=threads):
            return mg.dropconnect_linear(x, w, b, 0.5, training=True, rng=17).data

    one = forward("compiled", 1)
    np.testing.assert_array_equal(one, forward("compiled", 2))
    np.testing.assert_allclose(forward("numpy", 1), one, rtol=1e-4, atol=1e-4)


def test_a_generator_advances_and_the_library_generator_is_the_default():
    x, w, _ = operands(np.random.default_rng(18), requires_grad=False)
    g = np.random.default_rng(0)
    first = mg.dropconnect_linear(x, w, None, 0.5, training=True, rng=g).data
    assert (first != mg.dropconnect_linear(x, w, None, 0.5, training=True, rng=g).data).any()
    mg.manual_seed(4)
    again = mg.dropconnect_linear(x, w, None, 0.5, training=True).data
    mg.manual_seed(4)
    np.testing.assert_array_equal(again, mg.dropconnect_linear(x, w, None, 0.5,
                                                               training=True).data)


def test_the_per_example_op_saves_inputs_and_seed_not_masks():
    x, w, b = operands(np.random.default_rng(19), 10, 20, 30)
    op = mg.dropconnect_linear(x, w, b, 0.5, training=True, rng=0)._fn
    assert sum(a.size for a in op.saved_arrays) == x.size + w.size


BAD = [("p", 1.0, ValueError, r"p must be in \[0, 1\)"), ("p", -0.1, ValueError, "p"),
       ("p", "0.5", TypeError, "real number"), ("training", "yes", TypeError, "training"),
       ("mask", "unit", ValueError, "mask"), ("activation", "tanh", ValueError, "activation"),
       ("inference", "mc", ValueError, "inference"), ("samples", 0, ValueError, "samples"),
       ("samples", 2.5, TypeError, "samples"), ("inverted", 1, TypeError, "inverted"),
       ("rng", "seed", TypeError, "rng"), ("x", np.ones(3), ValueError, "2-D"),
       ("weight", np.ones((5, 3)), ValueError, "align"),
       ("bias", np.ones((2, 3)), ValueError, "bias")]


@pytest.mark.parametrize("name, value, error, message", BAD)
def test_bad_arguments_are_refused(name, value, error, message):
    arguments = dict(x=mg.tensor(np.ones((2, 4))), weight=mg.tensor(np.ones((4, 3))),
                     bias=mg.tensor(np.ones(3)), p=0.5, training=True, rng=0)
    arguments[name] = value
    with pytest.raises(error, match=message):
        mg.dropconnect_linear(**arguments)


def test_training_has_no_default():
    with pytest.raises(TypeError, match="training"):
        mg.dropconnect_linear(mg.tensor(np.ones((1, 2))), mg.tensor(np.ones((2, 2))), None, 0.5)
