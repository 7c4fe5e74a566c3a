"""The fused backward of bias + ReLU + dropout (``minigrad._ext.fused_linear``).

Oracles: the numpy twin (bit for bit); the separate kernels relu_backward,
apply_dropout_mask and numpy's ``sum(axis=0)`` (bit for bit, where numpy adds rows in
order); central finite differences of the fused forward (float64).
"""
import inspect
import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from support.backends import backend_settings, compiled_kernel
from support.elementwise import SEEDS, THREADS, assert_bits_equal, float_vectors
from support.layouts import LAYOUTS, in_layout
from minigrad.kernels import backend
from minigrad.kernels import dispatch, reference

fused_linear_kernels = pytest.importorskip("minigrad._ext.fused_linear")

DTYPES = (np.float32, np.float64)
# (m, n): empty, one row/column, odd, and large enough for two threads (>= 65536 elements).
SHAPES = st.one_of(st.tuples(st.integers(0, 20), st.integers(0, 20)),
                   st.tuples(st.integers(1, 300), st.integers(1, 300)),
                   st.sampled_from([(128, 1024), (129, 1025), (300, 333), (70_000, 1),
                                    (3, 40_000)]))
PROBABILITIES = st.one_of(st.sampled_from([0.0, 0.5, 1.0]), st.floats(0.0, 1.0))


def scale_of(p, dtype, inverted=True):
    return dispatch.dropout_scale(p, np.dtype(dtype), inverted)


@st.composite
def gradient_and_output(draw):
    """grad_out and y, (m, n) of one dtype, with NaN, +-inf, -0.0 and subnormals in both."""
    m, n = draw(SHAPES)
    g = draw(float_vectors(size=m * n)).reshape(m, n)
    y = draw(float_vectors(dtype=g.dtype, size=m * n)).reshape(m, n)
    return g, y


def compiled(g, y, scale, bias_grad, n_threads):
    """The kernel, on outputs pre-filled with garbage (it must overwrite them)."""
    grad_in = np.full_like(g, np.nan)
    grad_bias = np.full(g.shape[1], np.nan, g.dtype) if bias_grad else None
    fused_linear_kernels.fused_linear_backward(g, y, scale, grad_in, grad_bias, n_threads)
    return grad_in, grad_bias


def twin(g, y, scale, bias_grad):
    grad_in = np.empty_like(g)
    grad_bias = np.empty(g.shape[1], g.dtype) if bias_grad else None
    with np.errstate(all="ignore"):
        reference.fused_linear_backward(g, y, scale, grad_in, grad_bias, 1)
    return grad_in, grad_bias


def assert_sums_equal(actual, expected):
    """Bit for bit, except which NaN a sum ends in.

    NaN + NaN is "a NaN" with the payload of either operand (IEEE 754), and compilers
    commute additions freely; a column sum that meets two NaNs may keep either one.
    """
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    keep = ~np.isnan(expected)
    assert_bits_equal(actual[keep], expected[keep])


# --- compiled == twin, bit for bit, on any thread count ---------------------------------

@given(gradient_and_output(), PROBABILITIES, st.booleans(), st.booleans(), THREADS)
def test_matches_twin(gy, p, inverted, bias_grad, n_threads):
    g, y = gy
    scale = scale_of(p, g.dtype, inverted)
    grad_in, grad_bias = compiled(g, y, scale, bias_grad, n_threads)
    expected_in, expected_bias = twin(g, y, scale, bias_grad)
    assert_bits_equal(grad_in, expected_in)
    if bias_grad:
        assert_sums_equal(grad_bias, expected_bias)
    else:
        assert grad_bias is None


@given(gradient_and_output(), PROBABILITIES)
def test_thread_count_does_not_change_result(gy, p):
    g, y = gy
    one = compiled(g, y, scale_of(p, g.dtype), True, 1)
    for n_threads in (2, 3):
        other = compiled(g, y, scale_of(p, g.dtype), True, n_threads)
        assert_bits_equal(other[0], one[0])
        assert_bits_equal(other[1], one[1])


# --- the bias gradient's summation order -------------------------------------------------

@given(st.sampled_from(DTYPES), st.integers(0, 3000), st.integers(1, 300),
       st.integers(0, 2**32 - 1))
def test_numpy_axis0_sum_adds_rows_in_order(dtype, m, n, seed):
    """The spec's order (0 + row 0 + row 1 + ...) vs numpy's ``sum(axis=0)``.

    Bit-identical for n >= 2: numpy's reduction runs over whole rows. For one column
    numpy sums the contiguous column pairwise: only the rounding agrees.
    """
    rng = np.random.default_rng(seed)
    grad_in = (rng.standard_normal((m, n)) * 10.0 ** rng.integers(-3, 4, (m, n))).astype(dtype)
    grad_in[rng.random((m, n)) < 0.3] = 0.0
    bias = compiled(grad_in, np.ones_like(grad_in), dtype(1), True, 2)[1]
    in_order = np.zeros(n, dtype)
    for row in grad_in:
        in_order += row
    assert_bits_equal(bias, in_order)
    if n >= 2:
        assert_bits_equal(bias, grad_in.sum(axis=0))
    else:
        eps = np.finfo(dtype).eps
        bound = m * eps * np.abs(grad_in.astype(np.float64)).sum(axis=0)
        assert np.all(np.abs(bias - grad_in.sum(axis=0)) <= bound)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 3])
def test_column_of_negative_zeros_sums_to_positive_zero(n, dtype):
    """The sum starts from +0.0, numpy's identity for add, as numpy's sum does."""
    g = np.full((5, n), -0.0, dtype)
    grad_in, grad_bias = compiled(g, np.ones_like(g), dtype(2), True, 1)
    assert np.all(np.signbit(grad_in))
    assert_bits_equal(grad_bias, g.sum(axis=0))
    assert_bits_equal(grad_bias, twin(g, np.ones_like(g), dtype(2), True)[1])
    assert not np.any(np.signbit(grad_bias))


@pytest.mark.parametrize("dtype", DTYPES)
def test_hand_computed(dtype):
    g = np.array([[1, 2, 3], [4, 5, 6]], dtype=dtype)
    y = np.array([[0, 2, -1], [3, np.nan, 0.5]], dtype=dtype)
    grad_in, grad_bias = compiled(g, y, dtype(2), True, 1)
    np.testing.assert_array_equal(grad_in, np.array([[0, 4, 0], [8, 0, 12]], dtype=dtype))
    np.testing.assert_array_equal(grad_bias, np.array([8, 4, 12], dtype=dtype))
    grad_in, grad_bias = compiled(np.empty((0, 4), dtype), np.empty((0, 4), dtype),
                                  dtype(2), True, 2)
    assert grad_in.shape == (0, 4)
    assert_bits_equal(grad_bias, np.zeros(4, dtype))


# --- against the separate kernels and the forward ---------------------------------------------

@given(st.sampled_from(DTYPES), st.sampled_from([(1, 1), (7, 5), (128, 1024), (129, 301)]),
       PROBABILITIES, st.booleans(), SEEDS, st.integers(0, 2**32 - 1), THREADS)
def test_equals_relu_backward_then_dropout_mask_then_sum(dtype, shape, p, inverted, seed,
                                                         data_seed, n_threads):
    """y = dropout(relu(z)) drawn by the separate kernels; its mask is never needed."""
    m, n = shape
    rng = np.random.default_rng(data_seed)
    z = rng.standard_normal(shape).astype(dtype)
    z.reshape(-1)[rng.integers(0, z.size, 4)] = np.array([np.nan, np.inf, -np.inf, -0.0], dtype)
    g = rng.standard_normal(shape).astype(dtype)
    with compiled_kernel("fused_linear", fused_linear_kernels, n_threads):
        relu_out = dispatch.relu_forward(z)
        y, mask = dispatch.dropout_forward(relu_out, p, seed, inverted=inverted)
        with np.errstate(all="ignore"):
            expected = dispatch.apply_dropout_mask(dispatch.relu_backward(g, relu_out), mask,
                                                   p, inverted=inverted)
        grad_in, grad_bias = dispatch.fused_linear_backward(g, y, p, inverted=inverted)
    assert_bits_equal(grad_in, expected)
    if n >= 2:
        assert_bits_equal(grad_bias, expected.sum(axis=0))
    else:
        np.testing.assert_allclose(grad_bias, expected.sum(axis=0),
                                   rtol=m * np.finfo(dtype).eps)


@pytest.mark.parametrize("p,inverted", [(0.0, True), (0.3, True), (0.3, False)])
def test_gradients_match_finite_differences(p, inverted):
    """L = sum(r * fused_linear_forward(x, w, bias)) in float64 with the seed fixed.

    Then the layer is piecewise linear in x and the bias, so central differences are
    exact up to rounding away from the kinks (z = 0): dL/dbias = grad_bias and
    dL/dx = grad_in @ w.T.
    """
    rng = np.random.default_rng(11)
    x, w = rng.standard_normal((6, 5)), rng.standard_normal((5, 4))
    bias, r = rng.standard_normal(4), rng.standard_normal((6, 4))

    def loss(x, b):
        return float(np.sum(r * dispatch.fused_linear_forward(x, w, bias=b, relu=True, p=p,
                                                        seed=99, inverted=inverted)))

    y = dispatch.fused_linear_forward(x, w, bias=bias, relu=True, p=p, seed=99, inverted=inverted)
    grad_in, grad_bias = dispatch.fused_linear_backward(r, y, p, inverted=inverted)
    h = 1e-6
    numeric_bias = [(loss(x, bias + h * e) - loss(x, bias - h * e)) / (2 * h)
                    for e in np.eye(4)]
    np.testing.assert_allclose(grad_bias, numeric_bias, rtol=1e-6, atol=1e-8)
    numeric_x = [(loss(x + h * e, bias) - loss(x - h * e, bias)) / (2 * h)
                 for e in np.eye(x.size).reshape(x.size, *x.shape)]
    np.testing.assert_allclose((grad_in @ w.T).reshape(-1), numeric_x, rtol=1e-6, atol=1e-8)


# --- kernel entry and dispatch checks -------------------------------------------------------

def test_kernel_checks_shapes_and_threads():
    g = np.ones((3, 4))
    with pytest.raises(ValueError, match="shapes differ"):
        fused_linear_kernels.fused_linear_backward(g, np.ones((4, 3)), 1.0, np.empty((3, 4)), None, 1)
    with pytest.raises(ValueError, match="shapes differ"):
        fused_linear_kernels.fused_linear_backward(g, g, 1.0, np.empty((3, 5)), None, 1)
    with pytest.raises(ValueError, match="grad_bias has length 3"):
        fused_linear_kernels.fused_linear_backward(g, g, 1.0, np.empty((3, 4)), np.empty(3), 1)
    with pytest.raises(ValueError, match="n_threads"):
        fused_linear_kernels.fused_linear_backward(g, g, 1.0, np.empty((3, 4)), None, 0)


def test_signature_is_the_twins():
    assert (inspect.signature(fused_linear_kernels.fused_linear_backward)
            == inspect.signature(reference.fused_linear_backward))


@given(st.data(), st.sampled_from([(1, 1), (3, 5), (17, 31), (301, 333)]), PROBABILITIES,
       THREADS)
def test_dispatch_handles_strided_views(data, shape, p, n_threads):
    g2 = data.draw(float_vectors(size=shape[0] * shape[1])).reshape(shape)
    y2 = data.draw(float_vectors(dtype=g2.dtype, size=g2.size)).reshape(shape)
    expected = twin(g2, y2, scale_of(p, g2.dtype), True)
    with compiled_kernel("fused_linear", fused_linear_kernels, n_threads):
        for layout_g, layout_y in itertools.product(LAYOUTS, LAYOUTS):
            g, y = in_layout(g2, layout_g), in_layout(y2, layout_y)
            grad_in, grad_bias = dispatch.fused_linear_backward(g, y, p)
            assert_bits_equal(grad_in, expected[0])
            assert_sums_equal(grad_bias, expected[1])
        assert dispatch.fused_linear_backward(g2, y2, p, bias_grad=False)[1] is None


def test_dispatch_uses_the_twin_on_the_numpy_backend():
    g = np.random.default_rng(0).standard_normal((4, 6))
    with backend_settings("numpy"):
        assert backend.implementations["fused_linear"] is reference
        grad_in, grad_bias = dispatch.fused_linear_backward(g, g, 0.5)
    assert_bits_equal(grad_in, twin(g, g, scale_of(0.5, g.dtype), True)[0])


def test_dispatch_validates():
    g = np.ones((3, 4))
    with pytest.raises(TypeError, match="float32 or float64"):
        dispatch.fused_linear_backward(g.astype(np.int32), g, 0.5)
    with pytest.raises(TypeError, match="same dtype"):
        dispatch.fused_linear_backward(g, g.astype(np.float32), 0.5)
    with pytest.raises(ValueError, match="2-D"):
        dispatch.fused_linear_backward(np.ones(4), np.ones(4), 0.5)
    with pytest.raises(ValueError, match=r"\(3, 4\) and \(4, 3\)"):
        dispatch.fused_linear_backward(g, g.T, 0.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        dispatch.fused_linear_backward(g, g, -0.5)
    with pytest.raises(TypeError, match="bias_grad must be a bool"):
        dispatch.fused_linear_backward(g, g, 0.5, bias_grad=1)
    assert math.isfinite(dispatch.fused_linear_backward(g, g, 0.5)[1].sum())
