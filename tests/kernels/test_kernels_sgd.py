"""The compiled SGD update against its numpy twin (to rounding: the compiler may fuse
``momentum * v + g`` into one FMA), and its thread-count invariance (bit for bit)."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad.kernels import dispatch, reference

from support.backends import compiled_kernel
from support.elementwise import DTYPES

compiled = pytest.importorskip("minigrad._ext.sgd")

SIZES = st.one_of(st.sampled_from([0, 1]), st.integers(2, 300), st.sampled_from([131_073, 300_007]))
HYPERS = st.tuples(st.floats(1e-4, 2.0), st.sampled_from([0.0, 0.5, 0.9, 0.99]),
                   st.sampled_from([0.0, 1e-4, 0.1]), st.booleans())


def problem(seed, n, dtype):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(n).astype(dtype) for _ in range(3)]  # w, g, v


def run(module, w, g, v, hypers, n_threads=1):
    lr, momentum, weight_decay, nesterov = hypers
    nesterov = nesterov and momentum > 0
    w, v = w.copy(), v.copy()
    module.sgd_update(w, g, v if momentum else w[:0], lr, momentum, weight_decay, nesterov,
                      n_threads)
    return w, v


@given(seed=st.integers(0, 2**32 - 1), n=SIZES, dtype=st.sampled_from(DTYPES), hypers=HYPERS)
def test_compiled_matches_the_twin_to_rounding(seed, n, dtype, hypers):
    w, g, v = problem(seed, n, dtype)
    w_c, v_c = run(compiled, w, g, v, hypers)
    w_r, v_r = run(reference, w, g, v, hypers)
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(v_c, v_r, rtol=4 * eps, atol=8 * eps)
    np.testing.assert_allclose(w_c, w_r, rtol=4 * eps, atol=16 * eps * max(1, hypers[0]))


@given(seed=st.integers(0, 2**32 - 1), dtype=st.sampled_from(DTYPES), hypers=HYPERS)
def test_thread_count_does_not_change_a_bit(seed, dtype, hypers):
    w, g, v = problem(seed, 300_007, dtype)
    one = run(compiled, w, g, v, hypers, n_threads=1)
    two = run(compiled, w, g, v, hypers, n_threads=2)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


def test_hand_computed_momentum_step():
    """w=1, g=0.5, v=2, lr=0.1, m=0.9: v <- 0.9*2 + 0.5 = 2.3, w <- 1 - 0.1*2.3 = 0.77."""
    w, v = np.array([1.0]), np.array([2.0])
    with compiled_kernel("sgd", compiled, 1):
        dispatch.sgd_update_(w, np.array([0.5]), v, 0.1, 0.9, 0.0, False)
    np.testing.assert_allclose([w[0], v[0]], [0.77, 2.3], rtol=1e-15)


def test_dispatch_rejects_bad_arrays():
    w = np.zeros(4, dtype=np.float32)
    with pytest.raises(TypeError, match="same dtype"):
        dispatch.sgd_update_(w, np.zeros(4), None, 0.1, 0.0, 0.0, False)
    with pytest.raises(ValueError, match="shape"):
        dispatch.sgd_update_(w, np.zeros(3, np.float32), None, 0.1, 0.0, 0.0, False)
    with pytest.raises(ValueError, match="velocity"):
        dispatch.sgd_update_(w, np.zeros(4, np.float32), None, 0.1, 0.9, 0.0, False)
    with pytest.raises(ValueError, match="writeable C-contiguous"):
        dispatch.sgd_update_(np.zeros((4, 4), np.float32).T, np.zeros((4, 4), np.float32),
                             None, 0.1, 0.0, 0.0, False)
    with pytest.raises(TypeError, match="float32 or float64"):
        dispatch.sgd_update_(np.zeros(4, int), np.zeros(4, int), None, 0.1, 0.0, 0.0, False)
