"""The compiled dropout kernels: bit-for-bit against the numpy twin, and binomial statistics.

Statistical tests use FIXED seeds, so they are deterministic; their tolerances are 4
standard deviations of the binomial law, so a correct kernel passes them for
practically every seed one could fix.
"""
import inspect
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from support.backends import compiled_kernel
from support.elementwise import LARGE_SIZES, SEEDS, THREADS, assert_bits_equal, float_vectors
from support.layouts import views
from minigrad.kernels import dispatch, reference

dropout = pytest.importorskip("minigrad._ext.dropout")

PROBABILITIES = st.one_of(st.sampled_from([0.0, 0.5, 1.0]), st.floats(0.0, 1.0))
FIXED_SEEDS = [0, 1, 2**63 + 12345, 2**64 - 1]


def args(p, dtype):
    """The kernel's (threshold, scale) for drop probability p, as the dispatch layer makes them."""
    return math.ceil(p * 2.0**53), dispatch.dropout_scale(p, np.dtype(dtype))


def compiled_forward(x, seed, p, n_threads=1):
    out, mask = np.empty_like(x), np.empty(x.shape, np.uint8)
    dropout.dropout_forward(x, out, mask, seed, *args(p, x.dtype), n_threads)
    return out, mask


def twin_forward(x, seed, p):
    out, mask = np.empty_like(x), np.empty(x.shape, np.uint8)
    with np.errstate(all="ignore"):  # inf * 0 at p = 1, overflow of huge x * scale
        reference.dropout_forward(x, out, mask, seed, *args(p, x.dtype), 1)
    return out, mask


def twin_backward(g, mask, p):
    grad_in = np.empty_like(g)
    with np.errstate(all="ignore"):
        reference.dropout_backward(g, mask, args(p, g.dtype)[1], grad_in, 1)
    return grad_in


# --- compiled == twin, bit for bit ---------------------------------------------------

@given(float_vectors(), SEEDS, PROBABILITIES, THREADS)
def test_forward_matches_twin(x, seed, p, n_threads):
    out, mask = compiled_forward(x, seed, p, n_threads)
    expected_out, expected_mask = twin_forward(x, seed, p)
    np.testing.assert_array_equal(mask, expected_mask)
    assert_bits_equal(out, expected_out)


@given(st.data(), SEEDS, PROBABILITIES, THREADS)
def test_backward_matches_twin(data, seed, p, n_threads):
    g = data.draw(float_vectors())
    mask = np.random.default_rng(seed).integers(0, 2, g.size, dtype=np.uint8)
    grad_in = np.empty_like(g)
    dropout.dropout_backward(g, mask, args(p, g.dtype)[1], grad_in, n_threads)
    assert_bits_equal(grad_in, twin_backward(g, mask, p))


def test_splitmix64_known_answers():
    """The twin's hash is SplitMix64: first outputs of Vigna's reference splitmix64.c."""
    index = np.arange(4, dtype=np.uint64)
    np.testing.assert_array_equal(
        reference.splitmix64(0, index),
        np.array([0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F,
                  0xF88BB8A8724C81EC], dtype=np.uint64))
    np.testing.assert_array_equal(reference.splitmix64(1234567, index[:2]),
                                  np.array([6457827717110365317, 3203168211198807973], np.uint64))


@pytest.mark.parametrize("seed", FIXED_SEEDS)
def test_threshold_boundary_is_kept(seed):
    """Kept iff ``hash >> 11 >= threshold``: exactly at the threshold the element is kept."""
    hashes = reference.splitmix64(seed, np.arange(3, dtype=np.uint64)) >> np.uint64(11)
    x = np.ones(3)
    for threshold, kept in ((int(hashes[1]), 1), (int(hashes[1]) + 1, 0)):
        mask = np.empty(3, np.uint8)
        dropout.dropout_forward(x, np.empty_like(x), mask, seed, threshold, 1.0, 1)
        assert mask[1] == kept


# --- determinism ---------------------------------------------------------------------

@given(SEEDS, st.sampled_from(LARGE_SIZES), st.floats(0.05, 0.95))
def test_thread_count_does_not_change_mask(seed, n, p):
    x = np.random.default_rng(seed).standard_normal(n).astype(np.float32)
    out1, mask1 = compiled_forward(x, seed, p, n_threads=1)
    out2, mask2 = compiled_forward(x, seed, p, n_threads=2)
    np.testing.assert_array_equal(mask1, mask2)
    assert_bits_equal(out1, out2)


@given(SEEDS, st.integers(0, 2000), st.integers(0, 20_000))
def test_mask_of_element_i_does_not_depend_on_length(seed, n, extra):
    """Counter-based: the mask of a short array is a prefix of a longer one's."""
    short = compiled_forward(np.ones(n, np.float32), seed, 0.5)[1]
    long = compiled_forward(np.ones(n + extra, np.float32), seed, 0.5, n_threads=2)[1]
    np.testing.assert_array_equal(short, long[:n])


@pytest.mark.parametrize("seed", FIXED_SEEDS)
def test_same_seed_same_mask_other_seed_other_mask(seed):
    x = np.ones(1000)
    first, again = compiled_forward(x, seed, 0.5)[1], compiled_forward(x, seed, 0.5)[1]
    np.testing.assert_array_equal(first, again)
    other = compiled_forward(x, (seed + 1) % 2**64, 0.5)[1]
    assert not np.array_equal(first, other)  # equal with probability 2**-1000


# --- statistics (fixed seeds, binomial tolerances) -------------------------------------

@pytest.mark.parametrize("seed", FIXED_SEEDS)
@pytest.mark.parametrize("p", [0.1, 0.2, 0.5, 0.8, 0.99])
def test_kept_fraction_is_binomial(seed, p):
    n = 200_000
    mask = compiled_forward(np.ones(n, np.float32), seed, p, n_threads=2)[1]
    sd = math.sqrt(n * p * (1 - p)) / n
    assert abs(mask.mean() - (1 - p)) <= 4 * sd


@pytest.mark.parametrize("seed", FIXED_SEEDS)
@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_mean_is_preserved_in_expectation(seed, p):
    """out_i = x_i m_i / (1-p) with m_i ~ Bernoulli(1-p): E out_i = x_i, Var out_i = x_i^2 p/(1-p)."""
    x = np.random.default_rng(seed).uniform(0.5, 1.5, 200_000)
    out = compiled_forward(x, seed, p, n_threads=2)[0]
    sd = math.sqrt(np.sum(x**2) * p / (1 - p))
    assert abs(out.sum() - x.sum()) <= 4 * sd


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_p0_keeps_all_and_p1_drops_all(dtype):
    x = np.random.default_rng(3).standard_normal(100_003).astype(dtype)
    x[:4] = [np.inf, -np.inf, np.nan, -0.0]
    out, mask = compiled_forward(x, 2**64 - 1, 0.0, n_threads=2)
    assert mask.all()
    assert_bits_equal(out, x)
    out, mask = compiled_forward(x, 2**64 - 1, 1.0, n_threads=2)
    assert not mask.any()
    assert_bits_equal(out, np.zeros_like(x))  # +0.0 everywhere: no inf, no NaN


# --- the dispatch layer ----------------------------------------------------------------

@given(st.data(), st.sampled_from([(1, 1), (3, 5), (17, 31), (301, 333)]), SEEDS,
       PROBABILITIES, THREADS)
def test_dispatch_handles_strided_and_read_only_inputs(data, shape, seed, p, n_threads):
    x2 = data.draw(float_vectors(size=shape[0] * shape[1])).reshape(shape)
    with compiled_kernel("dropout", dropout, n_threads):
        for name, x in views(x2).items():
            out, mask = dispatch.dropout_forward(x, p, seed)
            assert out.shape == mask.shape == x.shape, name
            expected_out, expected_mask = twin_forward(np.ascontiguousarray(x).ravel(), seed, p)
            np.testing.assert_array_equal(mask.ravel(), expected_mask)
            assert_bits_equal(out.ravel(), expected_out)
            grad_in = dispatch.apply_dropout_mask(x, mask, p)
            expected = twin_backward(np.ascontiguousarray(x).ravel(), mask.ravel(), p)
            assert_bits_equal(grad_in.ravel(), expected)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.bool_, object, np.complex128, np.float16])
def test_dispatch_rejects_non_float_dtypes(dtype):
    x = np.ones(4, dtype=dtype)
    with pytest.raises(TypeError, match="float32 or float64"):
        dispatch.dropout_forward(x, 0.5, 0)
    with pytest.raises(TypeError, match="float32 or float64"):
        dispatch.apply_dropout_mask(x, np.ones(4, np.uint8), 0.5)


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan"), float("inf")])
def test_dispatch_rejects_probability_outside_unit_interval(p):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        dispatch.dropout_forward(np.ones(4), p, 0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        dispatch.apply_dropout_mask(np.ones(4), np.ones(4, np.uint8), p)


@pytest.mark.parametrize("p", ["0.5", None, True, [0.5]])
def test_dispatch_rejects_probability_that_is_not_a_number(p):
    with pytest.raises(TypeError, match="real number"):
        dispatch.dropout_forward(np.ones(4), p, 0)


def test_dispatch_rejects_shape_mismatch_and_bad_seed():
    with pytest.raises(ValueError, match="shape"):
        dispatch.apply_dropout_mask(np.ones((2, 3)), np.ones((3, 2), np.uint8), 0.5)
    with pytest.raises(ValueError, match="seed"):
        dispatch.dropout_forward(np.ones(4), 0.5, 2**64)
    with pytest.raises(ValueError, match="seed"):
        dispatch.dropout_forward(np.ones(4), 0.5, -1)


def test_kernel_checks_lengths_and_threads():
    x = np.ones(8)
    with pytest.raises(ValueError, match="lengths differ"):
        dropout.dropout_forward(x, np.empty(8), np.empty(7, np.uint8), 0, 0, 1.0, 1)
    with pytest.raises(ValueError, match="lengths differ"):
        dropout.dropout_backward(x, np.empty(8, np.uint8), 1.0, np.empty(9), 1)
    with pytest.raises(ValueError, match="n_threads"):
        dropout.dropout_forward(x, np.empty(8), np.empty(8, np.uint8), 0, 0, 1.0, 0)


@pytest.mark.parametrize("function", ["dropout_forward", "dropout_backward"])
def test_signature_is_the_twins(function):
    assert (inspect.signature(getattr(dropout, function))
            == inspect.signature(getattr(reference, function)))
