"""The Gaussian noise of the fused dense layer: ``fused_linear_forward(..., noise=r)`` and
``fused_linear_backward_noise``, compiled against the numpy twins, bit for bit.

The GEMMs of the kernel and of numpy round differently, so the inputs here are small
integers (every product and sum exact): then any difference is the epilogue's. The
gradient of the fused forward is the unfused ops', which tests/nn/test_nn_fused_linear.py
checks on real data.
"""
import inspect

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from support.elementwise import THREADS, assert_bits_equal
from minigrad.kernels import dispatch, reference

mm = pytest.importorskip("minigrad._ext.matmul")
fl = pytest.importorskip("minigrad._ext.fused_linear")
gaussian = pytest.importorskip("minigrad._ext.gaussian_dropout")

DTYPES = st.sampled_from([np.float32, np.float64])
SHAPES = st.tuples(st.sampled_from([0, 1, 2, 7, 133, 300]), st.sampled_from([1, 3, 40]),
                   st.sampled_from([0, 1, 5, 33, 260]))


def integers(rng, shape, dtype):
    return rng.integers(-3, 4, shape).astype(dtype)


@given(SHAPES, st.integers(0, 2**64 - 1), st.sampled_from([0.0, 0.2, 0.5, 0.9]),
       st.booleans(), st.booleans(), DTYPES, THREADS)
def test_forward_with_noise_matches_twin(shape, seed, p, trans_a, trans_b, dtype, n_threads):
    m, k, n = shape
    rng = np.random.default_rng(seed % 2**32)
    a = integers(rng, (k, m) if trans_a else (m, k), dtype)
    b = integers(rng, (n, k) if trans_b else (k, n), dtype)
    bias = integers(rng, n, dtype)
    bias[:min(n, 4)] = [np.nan, np.inf, -np.inf, -0.0][:min(n, 4)]
    results = []
    for impl in (mm, reference):
        noise = np.empty((m, n), dtype)
        gaussian.gaussian_noise(noise.reshape(-1), seed,
                                dispatch.gaussian_dropout_inverse_sigma(p) if p else np.inf, 1)
        out = np.empty((m, n), dtype)
        with np.errstate(invalid="ignore"):
            impl.fused_linear_forward(a, b, out, trans_a, trans_b, bias, True, False, 0, 0,
                                      dtype(1), n_threads, noise=noise)
        results.append((out, noise))
    for actual, expected in zip(*results):
        assert_bits_equal(actual, expected)
    out, slope = results[0]
    assert not np.isnan(slope[out > 0]).any()  # where y > 0 the unit passed the ReLU


@given(st.sampled_from([(0, 3), (1, 1), (5, 17), (300, 301)]), st.integers(0, 2**32 - 1),
       st.booleans(), DTYPES, THREADS)
def test_backward_noise_matches_twin(shape, seed, with_bias, dtype, n_threads):
    rng = np.random.default_rng(seed)
    g = rng.standard_normal(shape).astype(dtype)
    slope = rng.standard_normal(shape).astype(dtype)
    slope[rng.random(shape) < 0.4] = np.nan
    g.ravel()[:4] = [np.inf, np.nan, -0.0, np.finfo(dtype).smallest_subnormal][:g.size]
    results = []
    for impl in (fl, reference):
        grad_in = np.empty_like(g)
        grad_bias = np.empty(shape[1], dtype) if with_bias else None
        with np.errstate(invalid="ignore"):
            impl.fused_linear_backward_noise(g, slope, grad_in, grad_bias, n_threads)
        results.append((grad_in, grad_bias))
    assert_bits_equal(results[0][0], results[1][0])
    if with_bias:
        assert_bits_equal(results[0][1], results[1][1])
    np.testing.assert_array_equal(results[0][0][np.isnan(slope)], 0)


def test_kernel_refuses_noise_of_the_wrong_shape_or_without_relu():
    a, b, out = np.ones((3, 2)), np.ones((2, 4)), np.empty((3, 4))
    with pytest.raises(ValueError, match="noise is"):
        mm.fused_linear_forward(a, b, out, False, False, None, True, False, 0, 0, 1.0, 1,
                                noise=np.ones((4, 3)))
    with pytest.raises(ValueError, match="needs relu"):
        mm.fused_linear_forward(a, b, out, False, False, None, False, False, 0, 0, 1.0, 1,
                                noise=np.ones((3, 4)))
    with pytest.raises(ValueError, match="shapes differ"):
        fl.fused_linear_backward_noise(np.ones((3, 4)), np.ones((3, 5)), np.empty((3, 4)),
                                       None, 1)


def test_dispatch_refuses_bad_gaussian_arguments_before_any_kernel(monkeypatch):
    from minigrad.kernels import backend

    class Refuse:
        def __getattr__(self, name):
            raise AssertionError("bad input reached a kernel")

    for kernel in ("matmul", "gaussian_dropout", "fused_linear"):
        monkeypatch.setitem(backend.implementations, kernel, Refuse())
    x, w = np.ones((2, 3)), np.ones((3, 4))
    with pytest.raises(ValueError, match="noise"):
        dispatch.fused_linear_forward(x, w, relu=True, p=0.5, seed=1, noise="poisson")
    with pytest.raises(ValueError, match="only after a ReLU"):
        dispatch.fused_linear_forward(x, w, relu=False, p=0.5, seed=1, noise="gaussian")
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        dispatch.fused_linear_forward(x, w, relu=True, p=1.0, seed=1, noise="gaussian")
    with pytest.raises(ValueError, match="seed"):
        dispatch.fused_linear_forward(x, w, relu=True, p=0.5, seed=-1, noise="gaussian")
    with pytest.raises(TypeError, match="same dtype"):
        dispatch.fused_linear_backward_noise(np.ones((2, 4)), np.ones((2, 4), np.float32))
    with pytest.raises(ValueError, match="one shape"):
        dispatch.fused_linear_backward_noise(np.ones((2, 4)), np.ones((2, 5)))
    with pytest.raises(TypeError, match="float32 or float64"):
        dispatch.fused_linear_backward_noise(np.ones((2, 4), int), np.ones((2, 4)))


def test_dispatch_gaussian_forward_is_the_unfused_ops_on_strided_inputs():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((40, 7))[:, ::2]
    w = rng.standard_normal((9, 4)).T
    y, slope = dispatch.fused_linear_forward(x, w, None, True, 0.3, 11, noise="gaussian")
    z = dispatch.fused_linear_forward(x, w)
    a = dispatch.relu_forward(z)
    assert_bits_equal(y, dispatch.gaussian_dropout_forward(a, 0.3, 11))
    assert_bits_equal(slope[a > 0], dispatch.gaussian_dropout_forward(np.ones_like(a), 0.3,
                                                                       11)[a > 0])
    assert np.isnan(slope[~(a > 0)]).all()


def test_signatures_are_the_twins():
    assert (inspect.signature(fl.fused_linear_backward_noise)
            == inspect.signature(reference.fused_linear_backward_noise))
    assert (inspect.signature(gaussian.gaussian_noise)
            == inspect.signature(reference.gaussian_noise))
