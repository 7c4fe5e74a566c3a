"""SELU and the alpha dropout op: values, gradients, moments, torch, reproducibility, bad input.

Statistical checks use fixed seeds and 5 standard errors. For n units of mean 0 and
variance 1 the sample mean has standard error ``1 / sqrt(n)`` and the sample variance
``sqrt((mu4 - 1) / n)``, ``mu4`` the fourth central moment (for SELU-activated inputs,
whose ``mu4`` has no short closed form, the sample's own fourth moment is plugged in).
The count of dropped units is Binomial(n, p).
"""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad.kernels import dispatch, reference
from minigrad.ops.activations import SELU_ALPHA, SELU_LAMBDA
from minigrad.ops.alpha_dropout import ALPHA_PRIME


@pytest.fixture
def backend(each_backend):
    return each_backend


def f64(array, requires_grad=False):
    return mg.tensor(np.asarray(array, dtype=np.float64), requires_grad=requires_grad)


def normal(n, seed):
    return np.random.default_rng(seed).standard_normal(n)


# ---- SELU -----------------------------------------------------------------------------

def test_selu_constants_are_the_papers_to_float64_precision():
    assert SELU_ALPHA == 1.6732632423543772848170429916717
    assert SELU_LAMBDA == 1.0507009873554804934193349852946
    assert ALPHA_PRIME == -1.7580993408473766  # torch's alpha_dropout constant


def test_selu_hand_computed_values():
    x = [-1.0, 0.0, -0.0, 2.0, -800.0]
    y = mg.selu(f64(x)).data
    expected = [SELU_LAMBDA * SELU_ALPHA * math.expm1(-1.0), 0.0, -0.0, SELU_LAMBDA * 2.0,
                -SELU_LAMBDA * SELU_ALPHA]
    np.testing.assert_allclose(y, expected, rtol=1e-15)
    assert not np.isnan(mg.selu(f64([1e308, -1e308])).data).any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_selu_against_torch(dtype):
    torch = pytest.importorskip("torch")
    x = (normal(10_000, 0) * 4).astype(dtype)
    x[:4] = [0.0, -0.0, 30.0, -30.0]
    expected = torch.nn.functional.selu(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(mg.selu(mg.tensor(x)).data, expected,
                               rtol=2 * np.finfo(dtype).eps, atol=np.finfo(dtype).tiny)
    t = torch.from_numpy(x.copy()).requires_grad_()
    torch.nn.functional.selu(t).sum().backward()
    xm = mg.tensor(x, requires_grad=True)
    mg.selu(xm).sum().backward()
    np.testing.assert_allclose(xm.grad, t.grad.numpy(), rtol=2 * np.finfo(dtype).eps)


def test_selu_gradcheck_away_from_the_kink():
    x = normal((6, 7), 1)
    x[np.abs(x) < 1e-3] = 0.5
    assert mg.gradcheck(mg.selu, f64(x, requires_grad=True))


def test_selu_gradient_of_very_negative_inputs_is_accurate():
    """lambda alpha e**x from the saved input, not y + lambda alpha (which would cancel)."""
    x = f64([-30.0, -20.0], requires_grad=True)
    mg.selu(x).sum().backward()
    np.testing.assert_allclose(x.grad, SELU_LAMBDA * SELU_ALPHA * np.exp([-30.0, -20.0]),
                               rtol=1e-15)


def test_selu_maps_unit_normal_to_mean_zero_variance_one():
    """The fixed point the constants were solved for: E[selu(z)] = 0, E[selu(z)^2] = 1."""
    n = 1_000_000
    y = mg.selu(f64(normal(n, 2))).data
    mu4 = np.mean(y**4)
    assert abs(y.mean()) <= 5 / math.sqrt(n)
    assert abs(np.mean(y**2) - 1) <= 5 * math.sqrt((mu4 - 1) / n)


# ---- alpha dropout ---------------------------------------------------------------------

@pytest.mark.parametrize("p", [0.05, 0.1, 0.5])
@pytest.mark.parametrize("inputs", ["normal", "selu"])
def test_mean_zero_variance_one_and_the_dropped_fraction(backend, p, inputs):
    n = 400_000
    x = normal(n, 3)
    if inputs == "selu":
        x = mg.selu(f64(x)).data  # mean 0, variance 1, but skewed
    out = mg.alpha_dropout(f64(x), p, training=True, rng=2017).data
    a, b = dispatch.alpha_dropout_affine(p, ALPHA_PRIME)
    dropped = np.isclose(out, a * ALPHA_PRIME + b, rtol=0, atol=1e-12)
    mu4 = np.mean(out**4)
    # the input's own sample moments vary too: 5 standard errors of the output's
    assert abs(out.mean()) <= 5 / math.sqrt(n)
    assert abs(out.var() - 1) <= 5 * math.sqrt((mu4 - 1) / n)
    assert abs(dropped.sum() - n * p) <= 5 * math.sqrt(n * p * (1 - p))


def test_moments_match_torchs_alpha_dropout():
    """Moments, not masks (torch draws its own): two samples, each within 5 SE of the other."""
    torch = pytest.importorskip("torch")
    n, p = 400_000, 0.2
    x = normal(n, 4)
    ours = mg.alpha_dropout(f64(x), p, training=True, rng=5).data
    torch.manual_seed(5)
    theirs = torch.nn.functional.alpha_dropout(torch.from_numpy(x), p, training=True).numpy()
    se_var = math.sqrt((np.mean(ours**4) - 1) / n + (np.mean(theirs**4) - 1) / n)
    assert abs(ours.mean() - theirs.mean()) <= 5 * math.sqrt(2 / n)
    assert abs(ours.var() - theirs.var()) <= 5 * se_var
    # the affine map itself: torch's dropped constant and kept units a x + b, to rounding
    a, b = dispatch.alpha_dropout_affine(p, ALPHA_PRIME)
    values, counts = np.unique(theirs, return_counts=True)
    constant = values[counts.argmax()]  # every dropped unit has it; a kept one almost never
    np.testing.assert_allclose(constant, a * ALPHA_PRIME + b, rtol=1e-14)
    kept = theirs != constant
    np.testing.assert_allclose(theirs[kept], a * x[kept] + b, rtol=1e-13, atol=1e-14)
    assert abs((~kept).sum() - n * p) <= 5 * math.sqrt(n * p * (1 - p))


def test_kept_units_are_the_ones_dropout_keeps(backend):
    x = f64(normal((64, 33), 5))
    out = mg.alpha_dropout(x, 0.3, training=True, rng=8).data
    _, keep = mg.dropout(x, 0.3, training=True, rng=8, return_mask=True)
    a, _ = dispatch.alpha_dropout_affine(0.3, ALPHA_PRIME)
    shift = -0.3 * ALPHA_PRIME  # b / a: the kernels compute a y + b as (y + b/a) * a
    np.testing.assert_array_equal(out[keep], (x.data[keep] + shift) * a)
    np.testing.assert_array_equal(out[~keep], (ALPHA_PRIME + shift) * a)
    assert keep.any() and (~keep).any()


def test_eval_mode_and_p_zero_are_the_identity():
    x = mg.tensor(normal((4, 5), 0).astype(np.float32))
    assert mg.alpha_dropout(x, 0.5, training=False) is x
    assert mg.alpha_dropout(x, 0.0, training=True) is x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bit_identical_across_threads_and_backends(dtype):
    x = mg.tensor(normal((257, 129), 3).astype(dtype))

    def run(backend, threads):
        with mg.using_backend(backend, threads=threads):
            return mg.alpha_dropout(x, 0.1, training=True, rng=99).data

    reference_result = run("numpy", 1)
    for backend, threads in (("compiled", 1), ("compiled", 2)):
        np.testing.assert_array_equal(run(backend, threads).view(np.uint8),
                                      reference_result.view(np.uint8))


def test_same_seed_same_output_and_a_generator_advances():
    x = f64(np.zeros((32, 32)))
    first = mg.alpha_dropout(x, 0.5, training=True, rng=42).data
    np.testing.assert_array_equal(first, mg.alpha_dropout(x, 0.5, training=True, rng=42).data)
    g = np.random.default_rng(0)
    assert (mg.alpha_dropout(x, 0.5, training=True, rng=g).data
            != mg.alpha_dropout(x, 0.5, training=True, rng=g).data).any()


def test_gradient_is_a_where_kept_else_zero(backend):
    x = f64(normal((10, 10), 6), requires_grad=True)
    y = mg.alpha_dropout(x, 0.4, training=True, rng=8)
    (y * 3).sum().backward()
    a, b = dispatch.alpha_dropout_affine(0.4, ALPHA_PRIME)
    kept = ~np.isclose(y.data, a * ALPHA_PRIME + b, rtol=0, atol=1e-12)
    np.testing.assert_allclose(x.grad, np.where(kept, 3 * a, 0.0), rtol=1e-15)


def test_gradcheck_with_the_mask_fixed_by_the_seed(backend):
    x = f64(normal((5, 7), 2), requires_grad=True)
    assert mg.gradcheck(lambda t: mg.alpha_dropout(t, 0.3, training=True, rng=3), x)
    assert mg.gradcheck(lambda t: mg.alpha_dropout(mg.selu(t), 0.1, training=True,
                                                   rng=4).tanh(), x)


def test_the_op_keeps_the_mask_and_not_the_input():
    x = f64(np.ones(1000), requires_grad=True)
    op = mg.alpha_dropout(x, 0.5, training=True, rng=0)._fn
    assert not op.saved_arrays
    assert op.mask.dtype == np.uint8 and op.mask.shape == (1000,)
    seed = mg.random.draw_seed(0)
    np.testing.assert_array_equal(op.mask, reference.keep_mask(1000, seed,
                                                               dispatch.dropout_threshold(0.5)))


BAD_ARGUMENTS = [("p", -0.1), ("p", 1.5), ("p", float("nan")), ("p", "0.5"), ("p", None),
                 ("p", True), ("training", "yes"), ("training", 1), ("rng", "seed"),
                 ("rng", -1), ("x", np.ones(3)), ("shared_axes", 2), ("shared_axes", (0, 0)),
                 ("shared_axes", "0"), ("shared_axes", (0.0,))]


@pytest.mark.parametrize("name, value", BAD_ARGUMENTS)
def test_bad_arguments_are_refused_as_dropout_refuses_them(name, value):
    """The same exception type, and the same ``... must be ..., got <value>`` ending."""
    arguments = {"x": mg.tensor([[1.0]]), "p": 0.5, "training": True, "rng": 0, name: value}
    with pytest.raises((TypeError, ValueError)) as by_dropout:
        mg.dropout(**arguments)
    with pytest.raises(by_dropout.type) as by_alpha:
        mg.alpha_dropout(**arguments)
    assert (str(by_alpha.value).partition(" got ")[2]
            == str(by_dropout.value).partition(" got ")[2])


def test_p_one_is_refused_and_training_has_no_default():
    with pytest.raises(ValueError, match=r"alpha dropout probability p must be in \[0, 1\)"):
        mg.alpha_dropout(mg.tensor([1.0]), 1.0, training=True)
    with pytest.raises(TypeError, match="training"):
        mg.alpha_dropout(mg.tensor([1.0]), 0.5)
