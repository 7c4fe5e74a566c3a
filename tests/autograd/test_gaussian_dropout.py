"""The Gaussian dropout op: the law of its noise, gradients, reproducibility and bad input.

Statistical checks use fixed seeds and bounds of 5 standard errors. For n units of
``out_i = x_i r_i`` with ``r_i ~ N(1, sigma**2)``, ``sigma**2 = p / (1 - p)``:
``sum(out) - sum(x)`` has mean 0 and standard deviation ``sigma sqrt(sum x_i**2)``, and
the sample variance of the r_i has standard error ``sqrt(2 sigma**4 / (n - 1))``.
"""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad.kernels import reference

@pytest.fixture
def backend(each_backend):
    return each_backend


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_noise_has_mean_one_and_variance_p_over_one_minus_p(backend, p):
    n = 200_000
    r = mg.gaussian_dropout(mg.tensor(np.ones(n), dtype=np.float64), p, training=True,
                            rng=2014).data
    var = p / (1 - p)
    assert abs(r.mean() - 1) <= 5 * math.sqrt(var / n)
    assert abs(r.var(ddof=1) - var) <= 5 * math.sqrt(2 * var**2 / (n - 1))


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_mean_is_preserved_in_expectation(backend, p):
    x = np.random.default_rng(7).random(100_000) + 0.5
    out = mg.gaussian_dropout(mg.tensor(x), p, training=True, rng=11).data
    sd = math.sqrt(p / (1 - p) * (x ** 2).sum())
    assert abs(out.sum() - x.sum()) <= 5 * sd


def test_the_noise_is_the_twins_standard_normal_scaled_by_sigma(backend):
    """out = x * (1 + sigma z) with z = reference.standard_normal(n, seed), seed drawn from rng."""
    x = np.random.default_rng(1).standard_normal((64, 33))
    seed = mg.random.draw_seed(5)
    r = 1 + reference.standard_normal(x.size, seed).reshape(x.shape) / math.sqrt(0.75 / 0.25)
    y = mg.gaussian_dropout(mg.tensor(x), 0.25, training=True, rng=5)
    np.testing.assert_allclose(y.data, x * r, rtol=1e-15)


def test_eval_mode_and_p_zero_are_the_identity():
    x = mg.tensor(np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32))
    assert mg.gaussian_dropout(x, 0.5, training=False) is x
    assert mg.gaussian_dropout(x, 0.0, training=True) is x


def test_same_seed_same_noise_and_a_generator_advances():
    x = mg.tensor(np.ones((32, 32), dtype=np.float32))
    a = mg.gaussian_dropout(x, 0.5, training=True, rng=42).data
    np.testing.assert_array_equal(a, mg.gaussian_dropout(x, 0.5, training=True, rng=42).data)
    assert (a != mg.gaussian_dropout(x, 0.5, training=True, rng=43).data).all()
    g = np.random.default_rng(0)
    first = mg.gaussian_dropout(x, 0.5, training=True, rng=g).data
    assert (first != mg.gaussian_dropout(x, 0.5, training=True, rng=g).data).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_noise_is_independent_of_thread_count_and_backend(dtype):
    """Bit for bit across threads; across backends too where numpy's log and cos are the C
    library's (tests/kernels checks that), so here only to rounding."""
    x = mg.tensor(np.random.default_rng(3).standard_normal((257, 129)).astype(dtype))

    def noise_on(backend, threads):
        with mg.using_backend(backend, threads=threads):
            return mg.gaussian_dropout(x, 0.3, training=True, rng=99).data

    one_thread, two_threads = noise_on("compiled", 1), noise_on("compiled", 2)
    np.testing.assert_array_equal(one_thread, two_threads)
    np.testing.assert_allclose(noise_on("numpy", 1), one_thread, rtol=8 * np.finfo(dtype).eps)


def test_gradient_is_the_forward_noise(backend):
    """d(3 * sum(x r))/dx = 3 r, and with x = 1 the forward output is r itself."""
    x = mg.tensor(np.ones((10, 10)), dtype=np.float64, requires_grad=True)
    y = mg.gaussian_dropout(x, 0.4, training=True, rng=8)
    (y * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, 3 * y.data)


def test_gradcheck_with_the_noise_fixed_by_the_seed(backend):
    x = mg.tensor(np.random.default_rng(2).standard_normal((5, 7)), dtype=np.float64,
                  requires_grad=True)
    assert mg.gradcheck(lambda t: mg.gaussian_dropout(t, 0.5, training=True, rng=3), x)
    assert mg.gradcheck(lambda t: mg.gaussian_dropout(t * t, 0.2, training=True, rng=4).tanh(), x)


def test_the_op_keeps_only_the_seed():
    x = mg.tensor(np.ones(1000), dtype=np.float64, requires_grad=True)
    op = mg.gaussian_dropout(x, 0.5, training=True, rng=0)._fn
    assert not op.saved_arrays
    assert not any(isinstance(v, np.ndarray) for v in vars(op).values())


BAD_ARGUMENTS = [("p", -0.1), ("p", 1.5), ("p", float("nan")), ("p", float("inf")),
                 ("p", "0.5"), ("p", None), ("p", True), ("p", [0.5]), ("training", "yes"),
                 ("training", 1), ("rng", "seed"), ("rng", -1), ("x", np.ones(3))]


@pytest.mark.parametrize("name, value", BAD_ARGUMENTS)
def test_bad_arguments_are_refused_as_dropout_refuses_them(name, value):
    """The same exception type, and the same ``... must be ..., got <value>`` ending."""
    arguments = {"x": mg.tensor([1.0]), "p": 0.5, "training": True, "rng": 0, name: value}
    with pytest.raises((TypeError, ValueError)) as by_dropout:
        mg.dropout(**arguments)
    with pytest.raises(by_dropout.type) as by_gaussian:
        mg.gaussian_dropout(**arguments)
    assert (str(by_gaussian.value).partition(" got ")[2]
            == str(by_dropout.value).partition(" got ")[2])


def test_p_one_is_refused_infinite_variance():
    with pytest.raises(ValueError, match=r"gaussian dropout probability p must be in \[0, 1\)"):
        mg.gaussian_dropout(mg.tensor([1.0]), 1.0, training=True)


def test_training_has_no_default():
    with pytest.raises(TypeError, match="training"):
        mg.gaussian_dropout(mg.tensor([1.0]), 0.5)
