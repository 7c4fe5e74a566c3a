"""The fused dense-layer forward ``fused_linear_forward`` (bias + ReLU + dropout after the GEMM).

Oracles:

* the unfused compiled sequence ``gemm``, numpy's ``+ bias`` (same dtype),
  ``relu_forward``, ``dropout_forward``: the fused kernel must match it BIT FOR BIT,
  on one and two threads;
* the numpy twin ``reference.fused_linear_forward``: to the GEMM's rounding (np.matmul adds in
  another order), with the same dropout pattern wherever the unit is nonzero before
  dropout.
"""
import inspect
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from support.backends import backend_settings
from support.elementwise import SEEDS, assert_bits_equal
from support.layouts import LAYOUTS, random_matrix
from minigrad.kernels import backend
from minigrad.kernels import dispatch, reference

mm = pytest.importorskip("minigrad._ext.matmul")
relu = pytest.importorskip("minigrad._ext.relu")
dropout = pytest.importorskip("minigrad._ext.dropout")

DTYPES = (np.float32, np.float64)
dims = st.one_of(st.integers(0, 12), st.integers(13, 300))
data_seeds = st.integers(0, 2**32 - 1)
PROBABILITIES = st.one_of(st.sampled_from([0.0, 0.5, 1.0]), st.floats(0.0, 1.0))


def op(x, trans):
    return x.T if trans else x


def operands(rng, m, k, n, trans_a, trans_b, dtype, with_bias):
    """C-contiguous a, b (op(a) is (m, k), op(b) is (k, n)) and a bias or None."""
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
    bias = rng.standard_normal(n).astype(dtype) if with_bias else None
    return a, b, bias


def dropout_args(p, dtype, inverted=True):
    """(threshold, scale) for drop probability p, as the dispatch layer makes them."""
    return math.ceil(p * 2.0**53), dispatch.dropout_scale(p, np.dtype(dtype), inverted)


def fused(a, b, trans_a, trans_b, bias, use_relu, use_dropout, seed, p, n_threads, m, n):
    """The compiled fused kernel, on an output pre-filled with garbage (it must overwrite)."""
    out = np.full((m, n), np.nan, dtype=a.dtype)
    mm.fused_linear_forward(a, b, out, trans_a, trans_b, bias, use_relu, use_dropout, seed,
                     *dropout_args(p, a.dtype), n_threads)
    return out


def unfused(a, b, trans_a, trans_b, bias, use_relu, use_dropout, seed, p, m, n):
    """The same layer from the separate compiled kernels and numpy's ``+``."""
    out = np.empty((m, n), dtype=a.dtype)
    mm.gemm(a, b, out, trans_a, trans_b, 1)
    if bias is not None:
        out = out + bias
    flat = out.reshape(-1)
    if use_relu:
        y = np.empty_like(flat)
        relu.relu_forward(flat, y, 1)
        flat = y
    if use_dropout:
        y = np.empty_like(flat)
        dropout.dropout_forward(flat, y, np.empty(flat.size, np.uint8), seed,
                                *dropout_args(p, a.dtype), 1)
        flat = y
    return flat.reshape(m, n)


def twin(a, b, trans_a, trans_b, bias, use_relu, use_dropout, seed, p, m, n):
    out = np.empty((m, n), dtype=a.dtype)
    with np.errstate(all="ignore"):
        reference.fused_linear_forward(a, b, out, trans_a, trans_b, bias, use_relu, use_dropout,
                                seed, *dropout_args(p, a.dtype), 1)
    return out


# --- fused == unfused, bit for bit -----------------------------------------------------

@given(m=dims, k=dims, n=dims, trans_a=st.booleans(), trans_b=st.booleans(),
       dtype=st.sampled_from(DTYPES), with_bias=st.booleans(), use_relu=st.booleans(),
       use_dropout=st.booleans(), p=PROBABILITIES, seed=SEEDS, data_seed=data_seeds)
def test_fused_is_bit_identical_to_the_separate_kernels(m, k, n, trans_a, trans_b, dtype,
                                                        with_bias, use_relu, use_dropout,
                                                        p, seed, data_seed):
    rng = np.random.default_rng(data_seed)
    a, b, bias = operands(rng, m, k, n, trans_a, trans_b, dtype, with_bias)
    expected = unfused(a, b, trans_a, trans_b, bias, use_relu, use_dropout, seed, p, m, n)
    for n_threads in (1, 2):
        out = fused(a, b, trans_a, trans_b, bias, use_relu, use_dropout, seed, p,
                    n_threads, m, n)
        assert_bits_equal(out, expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (False, True),
                                             (True, False), (True, True)])
@pytest.mark.parametrize("m,k,n", [(133, 785, 1025), (797, 70, 131)])
def test_fused_several_blocks(m, k, n, trans_a, trans_b, dtype):
    """More than one MC x KC x NC block in every dimension, ragged edges, 1-3 threads;
    and C taller than wide (797 x 131), which the threads split by rows, not columns."""
    a, b, bias = operands(np.random.default_rng(2), m, k, n, trans_a, trans_b, dtype, True)
    expected = unfused(a, b, trans_a, trans_b, bias, True, True, 2**64 - 1, 0.5, m, n)
    for n_threads in (1, 2, 3):
        out = fused(a, b, trans_a, trans_b, bias, True, True, 2**64 - 1, 0.5, n_threads, m, n)
        assert_bits_equal(out, expected)


@given(m=st.integers(1, 40), k=st.integers(1, 300), n=st.integers(1, 40),
       trans_a=st.booleans(), trans_b=st.booleans(), dtype=st.sampled_from(DTYPES),
       n_special=st.integers(1, 6), seed=SEEDS, data_seed=data_seeds)
def test_fused_special_values_bit_identical(m, k, n, trans_a, trans_b, dtype, n_special,
                                            seed, data_seed):
    """NaN, +-inf and +-0 in a, b and the bias: the same bits as the separate kernels.

    One exception, allowed by IEEE 754: NaN + NaN is "a NaN" with the payload of either
    operand, and compilers commute additions freely, so where the product *and* the
    bias are NaN, numpy's ``+`` and the epilogue may return different NaNs.
    """
    rng = np.random.default_rng(data_seed)
    a, b, bias = operands(rng, m, k, n, trans_a, trans_b, dtype, True)
    specials = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0], dtype=dtype)
    for x in (a, b, bias):
        flat = x.reshape(-1)
        flat[rng.integers(0, flat.size, n_special)] = rng.choice(specials, n_special)
    with np.errstate(all="ignore"):
        expected = unfused(a, b, trans_a, trans_b, bias, True, True, seed, 0.3, m, n)
        both_nan = np.isnan(unfused(a, b, trans_a, trans_b, None, False, False, 0, 0, m, n)) \
            & np.isnan(bias)
    for n_threads in (1, 2):
        out = fused(a, b, trans_a, trans_b, bias, True, True, seed, 0.3, n_threads, m, n)
        np.testing.assert_array_equal(np.isnan(out), np.isnan(expected))
        assert_bits_equal(out[~both_nan], expected[~both_nan])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,n", [(1, 1), (7, 33), (300, 70)])
def test_empty_inner_dimension_is_the_epilogue_of_zeros(m, n, dtype):
    a, b = np.empty((m, 0), dtype=dtype), np.empty((0, n), dtype=dtype)
    bias = np.linspace(-1, 1, n).astype(dtype)
    expected = unfused(a, b, False, False, bias, True, True, 5, 0.5, m, n)
    assert_bits_equal(fused(a, b, False, False, bias, True, True, 5, 0.5, 2, m, n), expected)
    assert_bits_equal(fused(a, b, False, False, None, False, False, 5, 0.5, 2, m, n),
                      np.zeros((m, n), dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_hand_computed(dtype):
    a = np.array([[1, 2], [3, 4]], dtype=dtype)
    b = np.array([[1, -1, 0], [0, 1, -1]], dtype=dtype)   # a @ b = [[1, 1, -2], [3, 1, -4]]
    bias = np.array([-2, 0.5, 1], dtype=dtype)           # + bias = [[-1, 1.5, -1], [1, 1.5, -3]]
    out = fused(a, b, False, False, bias, True, False, 0, 0.0, 1, 2, 3)
    np.testing.assert_array_equal(out, np.array([[0, 1.5, 0], [1, 1.5, 0]], dtype=dtype))
    # p = 1 drops everything (+0.0), p = 0 keeps everything with scale 1.
    assert_bits_equal(fused(a, b, False, False, bias, True, True, 9, 1.0, 1, 2, 3),
                      np.zeros((2, 3), dtype))
    assert_bits_equal(fused(a, b, False, False, bias, True, True, 9, 0.0, 1, 2, 3), out)


def test_dropout_counter_is_the_c_order_index():
    """Unit (i, j) of an (m, n) output is kept iff element i*n + j of the stream is."""
    m, n, seed = 37, 301, 12345
    a, b = np.ones((m, 1)), np.ones((1, n))
    out = fused(a, b, False, False, None, False, True, seed, 0.5, 2, m, n)
    keep = reference.keep_mask(m * n, seed, dropout_args(0.5, np.float64)[0])
    np.testing.assert_array_equal(out.reshape(-1) != 0, keep)
    np.testing.assert_array_equal(out.reshape(-1)[keep], 2.0)


# --- compiled vs the numpy twin ---------------------------------------------------------

@given(m=dims, k=dims, n=dims, trans_a=st.booleans(), trans_b=st.booleans(),
       dtype=st.sampled_from(DTYPES), with_bias=st.booleans(), use_relu=st.booleans(),
       use_dropout=st.booleans(), p=st.floats(0.0, 0.95), seed=SEEDS,
       data_seed=data_seeds, n_threads=st.sampled_from([1, 2]))
def test_matches_twin_to_rounding_with_the_same_dropout_pattern(
        m, k, n, trans_a, trans_b, dtype, with_bias, use_relu, use_dropout, p, seed,
        data_seed, n_threads):
    rng = np.random.default_rng(data_seed)
    a, b, bias = operands(rng, m, k, n, trans_a, trans_b, dtype, with_bias)
    args = (a, b, trans_a, trans_b, bias, use_relu)
    out = fused(*args, use_dropout, seed, p, n_threads, m, n)
    expected = twin(*args, use_dropout, seed, p, m, n)
    # Rounding: each sum of k products is within k*eps/2 of the sum of their magnitudes;
    # the bias addition and the scaling add a rounding each; ReLU and dropout's select
    # do not increase differences.
    eps = np.finfo(dtype).eps
    A, B = op(a, trans_a).astype(np.float64), op(b, trans_b).astype(np.float64)
    magnitude = np.abs(A) @ np.abs(B) + (np.abs(bias) if bias is not None else 0)
    scale = dropout_args(p, dtype)[1] if use_dropout else 1
    bound = (max(k, 1) + 2) * eps * float(scale) * magnitude + np.finfo(dtype).tiny
    np.testing.assert_array_less(np.abs(out.astype(np.float64) - expected) / bound, 1 + 1e-12)
    if use_dropout:
        # The same units are dropped: compare where neither result was 0 before dropout.
        before = fused(*args, False, seed, p, n_threads, m, n)
        before_twin = twin(*args, False, seed, p, m, n)
        live = (before != 0) & (before_twin != 0)
        np.testing.assert_array_equal((out == 0)[live], (expected == 0)[live])
        keep = reference.keep_mask(m * n, seed, dropout_args(p, dtype)[0]).reshape(m, n)
        np.testing.assert_array_equal((out != 0)[live], keep[live])


# --- kernel entry checks -----------------------------------------------------------------

def test_kernel_rejects_misaligned_shapes_and_bias_length():
    a, b = np.ones((3, 4)), np.ones((4, 2))
    with pytest.raises(ValueError, match="do not align"):
        mm.fused_linear_forward(a, np.ones((5, 2)), np.empty((3, 2)), False, False, None,
                         False, False, 0, 0, 1.0, 1)
    with pytest.raises(ValueError, match="bias has length 3"):
        mm.fused_linear_forward(a, b, np.empty((3, 2)), False, False, np.ones(3),
                         False, False, 0, 0, 1.0, 1)


def test_signature_is_the_twins():
    assert (inspect.signature(mm.fused_linear_forward)
            == inspect.signature(reference.fused_linear_forward))


# --- through the dispatch layer -------------------------------------------------------------


layouts = st.sampled_from(LAYOUTS)


@given(m=dims, k=dims, n=dims, layout_x=layouts, layout_w=layouts,
       dtype=st.sampled_from(DTYPES), with_bias=st.booleans(), use_relu=st.booleans(),
       p=PROBABILITIES, inverted=st.booleans(), seed=SEEDS, data_seed=data_seeds,
       n_threads=st.sampled_from([1, 2]))
def test_dispatch_linear_forward_equals_the_separate_dispatch_calls(
        m, k, n, layout_x, layout_w, dtype, with_bias, use_relu, p, inverted, seed,
        data_seed, n_threads):
    rng = np.random.default_rng(data_seed)
    x = random_matrix(rng, (m, k), layout_x, dtype)
    w = random_matrix(rng, (k, n), layout_w, dtype)
    bias = rng.standard_normal(n).astype(dtype)[::-1] if with_bias else None  # a view
    with backend_settings("compiled", "minigrad", n_threads):
        if backend.implementations["matmul"] is not mm:
            pytest.skip("compiled matmul unavailable")
        out = dispatch.fused_linear_forward(x, w, bias=bias, relu=use_relu, p=p, seed=seed,
                                      inverted=inverted)
        expected = dispatch.matmul(x, w)
        if bias is not None:
            expected = expected + bias
        if use_relu:
            expected = dispatch.relu_forward(expected)
        if p > 0:
            expected = dispatch.dropout_forward(expected, p, seed, inverted=inverted)[0]
    assert_bits_equal(out, expected)


@pytest.mark.parametrize("backend_name,matmul", [("compiled", "blas"), ("numpy", "minigrad")])
def test_dispatch_linear_forward_runs_the_twin_when_numpy_is_selected(backend_name, matmul):
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((9, 17)), rng.standard_normal((17, 11))
    bias = rng.standard_normal(11)
    with backend_settings(backend_name, matmul):
        assert backend.implementations["matmul"] is reference
        out = dispatch.fused_linear_forward(x, w, bias=bias, relu=True, p=0.4, seed=77)
    assert_bits_equal(out, twin(x, w, False, False, bias, True, True, 77, 0.4, 9, 11))


def test_dispatch_linear_forward_validates():
    x, w, b = np.ones((3, 4)), np.ones((4, 2)), np.ones(2)
    with pytest.raises(TypeError, match="float32 or float64"):
        dispatch.fused_linear_forward(x.astype(np.int64), w)
    with pytest.raises(TypeError, match="numpy array"):
        dispatch.fused_linear_forward(x.tolist(), w)
    with pytest.raises(TypeError, match="same dtype"):
        dispatch.fused_linear_forward(x.astype(np.float32), w)
    with pytest.raises(TypeError, match="same dtype"):
        dispatch.fused_linear_forward(x, w, bias=b.astype(np.float32))
    with pytest.raises(ValueError, match="2-D"):
        dispatch.fused_linear_forward(np.ones(4), w)
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(5, 2\)"):
        dispatch.fused_linear_forward(x, np.ones((5, 2)))
    with pytest.raises(ValueError, match="bias shape"):
        dispatch.fused_linear_forward(x, w, bias=np.ones(3))
    with pytest.raises(ValueError, match="bias shape"):
        dispatch.fused_linear_forward(x, w, bias=np.ones((1, 2)))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        dispatch.fused_linear_forward(x, w, p=1.5, seed=0)
    with pytest.raises(TypeError, match="real number"):
        dispatch.fused_linear_forward(x, w, p="0.5", seed=0)
    with pytest.raises(TypeError, match="seed must be an int"):
        dispatch.fused_linear_forward(x, w, p=0.5)              # p > 0 needs a seed
    with pytest.raises(ValueError, match="seed"):
        dispatch.fused_linear_forward(x, w, p=0.5, seed=2**64)
    with pytest.raises(TypeError, match="relu must be a bool"):
        dispatch.fused_linear_forward(x, w, relu="yes")
    with pytest.raises(TypeError, match="inverted must be a bool"):
        dispatch.fused_linear_forward(x, w, p=0.5, seed=1, inverted=None)
    # p = 0 needs no seed, and the seed (when given) changes nothing.
    assert_bits_equal(dispatch.fused_linear_forward(x, w, bias=b, relu=True),
                      dispatch.fused_linear_forward(x, w, bias=b, relu=True, seed=3))
