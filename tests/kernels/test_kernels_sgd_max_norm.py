"""The fused SGD + max-norm update (``sgd.sgd_update_max_norm``): bit for bit the SGD
kernel followed by the max-norm kernel, for any thread count; its twin to rounding;
the optimizer's use of it."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad import nn
from minigrad.kernels import dispatch, reference
from minigrad.optim import SGD

from support.backends import compiled_kernel
from support.elementwise import DTYPES

compiled = pytest.importorskip("minigrad._ext.sgd")
compiled_maxnorm = pytest.importorskip("minigrad._ext.maxnorm")

HYPERS = st.tuples(st.floats(1e-3, 2.0), st.sampled_from([0.0, 0.5, 0.9]),
                   st.sampled_from([0.0, 0.1]), st.booleans())
# rows x cols: empty, one element, odd sizes, and past the threading thresholds
SHAPES = st.one_of(st.tuples(st.integers(0, 40), st.integers(1, 70)),
                   st.sampled_from([(1, 1), (784, 128), (300, 331)]))
BOUNDS = st.sampled_from([0.5, 3.0, 1e9])  # most columns over, some, none


def problem(seed, shape, dtype, special=False):
    rng = np.random.default_rng(seed)
    w, g, v = (rng.standard_normal(shape).astype(dtype) for _ in range(3))
    if special and w.size:
        # NaN and inf in the weights: the update spreads them, the projection must treat
        # them as max-norm does (a NaN column is left alone, an inf column is NaN/0)
        flat = w.reshape(-1)
        flat[rng.integers(0, w.size, size=3)] = [np.nan, np.inf, -np.inf]
    return w, g, v


def fused(module, w, g, v, hypers, c, n_threads=1):
    lr, momentum, weight_decay, nesterov = hypers
    w, v = w.copy(), v.copy()
    module.sgd_update_max_norm(w.reshape(-1), g.reshape(-1),
                               v.reshape(-1) if momentum else w.reshape(-1)[:0], w.shape[1],
                               lr, momentum, weight_decay, nesterov and momentum > 0, c,
                               n_threads)
    return w, v


def separate(w, g, v, hypers, c, n_threads=1):
    """The compiled SGD kernel, then the compiled max-norm kernel."""
    lr, momentum, weight_decay, nesterov = hypers
    w, v = w.copy(), v.copy()
    compiled.sgd_update(w.reshape(-1), g.reshape(-1),
                        v.reshape(-1) if momentum else w.reshape(-1)[:0], lr, momentum,
                        weight_decay, nesterov and momentum > 0, n_threads)
    compiled_maxnorm.max_norm_columns(w, c, n_threads)
    return w, v


@given(seed=st.integers(0, 2**32 - 1), shape=SHAPES, dtype=st.sampled_from(DTYPES),
       hypers=HYPERS, c=BOUNDS, special=st.booleans(), threads=st.sampled_from([1, 2]))
def test_fused_is_the_two_kernels_bit_for_bit(seed, shape, dtype, hypers, c, special, threads):
    w, g, v = problem(seed, shape, dtype, special)
    for mine, theirs in zip(fused(compiled, w, g, v, hypers, c, threads),
                            separate(w, g, v, hypers, c, 1)):
        np.testing.assert_array_equal(mine, theirs)


@given(seed=st.integers(0, 2**32 - 1), shape=SHAPES, dtype=st.sampled_from(DTYPES),
       hypers=HYPERS, c=BOUNDS)
def test_compiled_matches_the_twin_to_rounding(seed, shape, dtype, hypers, c):
    w, g, v = problem(seed, shape, dtype)
    (w_c, v_c), (w_r, v_r) = fused(compiled, w, g, v, hypers, c), fused(reference, w, g, v, hypers, c)
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(v_c, v_r, rtol=4 * eps, atol=8 * eps)
    # rounding of the update (as in test_kernels_sgd.py), and of the factor c / norm
    np.testing.assert_allclose(w_c, w_r, rtol=8 * eps, atol=16 * eps * max(1, hypers[0]))
    assert np.all(np.linalg.norm(w_c.astype(np.float64), axis=0) <= c * (1 + 8 * eps))


def test_hand_computed_projection():
    # w - 0.5 g: column 0 becomes (4.5, 6), norm 7.5 > 5, scaled by 2/3 to (3, 4);
    # column 1 stays inside the ball and keeps its bits
    w = np.array([[3.0, 0.1], [4.0, 0.1]]); g = np.array([[-3.0, 0.0], [-4.0, 0.0]])
    with compiled_kernel("sgd", compiled, 1):
        dispatch.sgd_update_max_norm_(w, g, None, 0.5, 0.0, 0.0, False, 5.0)
    np.testing.assert_allclose(w[:, 0], [3.0, 4.0], rtol=1e-15)
    assert w[0, 1] == 0.1 and w[1, 1] == 0.1


def test_dispatch_rejects_bad_input():
    w, g = np.zeros((3, 4), np.float32), np.zeros((3, 4), np.float32)
    with pytest.raises(ValueError, match="2-D"):
        dispatch.sgd_update_max_norm_(w.reshape(-1), g.reshape(-1), None, 0.1, 0.0, 0.0, False, 3.0)
    with pytest.raises(ValueError, match="max-norm bound c"):
        dispatch.sgd_update_max_norm_(w, g, None, 0.1, 0.0, 0.0, False, 0.0)
    with pytest.raises(TypeError, match="same dtype"):
        dispatch.sgd_update_max_norm_(w, g.astype(np.float64), None, 0.1, 0.0, 0.0, False, 3.0)
    with pytest.raises(ValueError, match="velocity"):
        dispatch.sgd_update_max_norm_(w, g, None, 0.1, 0.9, 0.0, False, 3.0)
    with pytest.raises(ValueError, match="not rows"):
        compiled.sgd_update_max_norm(w.reshape(-1), g.reshape(-1), w.reshape(-1)[:0], 5,
                                     0.1, 0.0, 0.0, False, 3.0, 1)


@pytest.mark.parametrize("where", ["layer", "optimizer"])
def test_sgd_step_equals_update_then_projection(where):
    """SGD fuses a weight's update with its MaxNorm; the weights are those of the two
    steps one after the other (every column over the bound: c = 0.1)."""
    minigrad.manual_seed(0)
    layer = nn.Linear(6, 5, max_norm=0.1 if where == "layer" else None, rng=1)
    w0, b0 = layer.weight.data.copy(), layer.bias.data.copy()
    opt = SGD(layer.parameters(), lr=0.5, momentum=0.9,
              constraint=nn.MaxNorm(0.1) if where == "optimizer" else None)
    w, v = w0.copy(), np.zeros_like(w0)
    x = minigrad.tensor(np.random.default_rng(2).standard_normal((4, 6)).astype(np.float32))
    for _ in range(3):
        opt.zero_grad()
        (layer(x) ** 2).sum().backward()
        g = layer.weight.grad.copy()
        opt.step()
        dispatch.sgd_update_(w, g, v, 0.5, 0.9, 0.0, False)
        dispatch.max_norm_columns_(w, 0.1)
        np.testing.assert_array_equal(layer.weight.data, w)
    assert not np.array_equal(layer.bias.data, b0)  # the bias was updated, not projected
    np.testing.assert_allclose(np.linalg.norm(w, axis=0), 0.1, rtol=1e-6)
