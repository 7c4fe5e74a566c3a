"""The compiled DropConnect kernels: against the numpy twin, against masks written out, and
the law of the masks.

What must agree how:

* the mask bits: bit for bit (``dropconnect_mask``, and inside the products);
* the products: to rounding, like the GEMM tests. The kernel sums in its own fixed order
  (and may fuse a multiply-add), the twin in BLAS's; a sum of K products computed two
  correct ways differs by at most about ``K * eps * sum |terms|``, and the scale and the
  bias add two more roundings, so the bound is ``(K + 2) * eps * (s |x| @ |W| + |b|)``.
  On small integers every order gives the exact sum, and there the two agree bit for bit:
  that checks the masks the products use, exactly;
* thread counts: bit for bit (threads split examples or rows of dW, never a sum).

Statistics use fixed seeds and 5-standard-error bounds: the fraction of n kept bits has
standard error ``sqrt(keep (1 - keep) / n)``, and a sample correlation of n independent
pairs has standard error ``1 / sqrt(n)``.
"""
import inspect
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from support.backends import compiled_kernel
from support.elementwise import SEEDS, THREADS, assert_bits_equal
from support.layouts import views
from minigrad.kernels import backend, dispatch, reference

dc = pytest.importorskip("minigrad._ext.dropconnect")

DTYPES = st.sampled_from([np.float32, np.float64])
SIZES = st.one_of(st.sampled_from([0, 1]), st.integers(2, 9), st.integers(10, 70))
PROBABILITIES = st.one_of(st.sampled_from([0.0, 0.5, 0.9]), st.floats(0.0, 0.99))
FUNCTIONS = ("dropconnect_mask", "dropconnect_kept_count", "dropconnect_forward", "dropconnect_backward_input",
             "dropconnect_backward_weight")


def products(module, x, w, bias, g, scale, seed, threshold, n_threads):
    """(forward, dx, dW) of one implementation; outputs pre-filled with NaN (must overwrite)."""
    (b, k), n = x.shape, w.shape[1]
    out, dx, dw = np.full((b, n), np.nan, x.dtype), np.full((b, k), np.nan, x.dtype), \
        np.full((k, n), np.nan, x.dtype)
    with np.errstate(all="ignore"):
        module.dropconnect_forward(x, w, bias, scale, out, seed, threshold, n_threads)
        module.dropconnect_backward_input(g, np.ascontiguousarray(w.T), scale, dx, seed,
                                          threshold, n_threads)
        module.dropconnect_backward_weight(x, g, scale, dw, seed, threshold, n_threads)
    return out, dx, dw


def assert_close_to_rounding(actual, expected, terms, count, extra=0.0):
    """|actual - expected| <= (count + 2) eps (terms + |extra|), terms = the sums of |products|."""
    eps = np.finfo(actual.dtype).eps
    bound = (count + 2) * eps * (terms + np.abs(extra)) + np.finfo(actual.dtype).tiny
    np.testing.assert_array_less(np.abs(actual.astype(np.float64) - expected), bound)


@st.composite
def problems(draw, integers=False):
    """x (B, K), w (K, N), bias (N,), dz (B, N), a seed and a p: random normals or small ints."""
    dtype = draw(DTYPES)
    b, k, n = draw(SIZES), draw(SIZES), draw(SIZES)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))

    def values(*shape):
        if integers:
            return rng.integers(-4, 5, shape).astype(dtype)
        return (rng.standard_normal(shape) * 10.0 ** rng.integers(-2, 3)).astype(dtype)

    return values(b, k), values(k, n), values(n), values(b, n), draw(SEEDS)


# --- the mask --------------------------------------------------------------------------

@given(SIZES, SIZES, SIZES, SEEDS, PROBABILITIES, THREADS)
def test_mask_matches_twin_bit_for_bit(b, k, n, seed, p, n_threads):
    threshold = dispatch.dropconnect_threshold(p)
    ours, twins = np.full((b, k, n), 7, np.uint8), np.empty((b, k, n), np.uint8)
    dc.dropconnect_mask(ours, seed, threshold, n_threads)
    reference.dropconnect_mask(twins, seed, threshold, 1)
    np.testing.assert_array_equal(ours, twins)


def test_a_mask_bit_computed_by_hand():
    """Bit (b=1, k=2, n=5) of a (2, 3, 8) mask, with Python ints and the formulas."""
    seed, threshold, (big_k, n) = 2**63 + 99, 2**31, (3, 5)
    key = int(reference.splitmix64(seed, np.array([1 * big_k + 2], np.uint64))[0])
    x = ((key & 0xFFFFFFFF) + n * 0x9E3779B9) % 2**32
    x ^= x >> 16
    x = x * 0x7FEB352D % 2**32
    x ^= x >> 15
    x = x * 0x846CA68B % 2**32
    h = (x ^ (x >> 16)) ^ (key >> 32)
    mask = np.empty((2, 3, 8), np.uint8)
    dc.dropconnect_mask(mask, seed, threshold, 1)
    assert mask[1, 2, 5] == (h >= threshold)


def test_mask_bits_do_not_depend_on_the_shape_beyond_their_row():
    """Row b*K + k of stream seed is the same row whatever B (and bit n whatever N)."""
    small, big = np.empty((2, 5, 7), np.uint8), np.empty((4, 5, 30), np.uint8)
    dc.dropconnect_mask(small, 11, 2**31, 1)
    dc.dropconnect_mask(big, 11, 2**31, 2)
    np.testing.assert_array_equal(small, big[:2, :, :7])


@pytest.mark.parametrize("seed", [0, 1, 2**64 - 1])
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_fraction_kept_is_binomial(seed, p):
    mask = dispatch.dropconnect_mask(50, 64, 100, p, seed)
    keep, n = 1 - p, mask.size
    assert abs(mask.mean() - keep) <= 5 * math.sqrt(keep * (1 - keep) / n)


@pytest.mark.parametrize("seed", [3, 2**40 + 1])
def test_masks_are_uncorrelated_across_examples_rows_and_columns(seed):
    mask = dispatch.dropconnect_mask(40, 50, 60, 0.5, seed).astype(np.float64)
    pairs = {"next example": (mask[:-1], mask[1:]), "next input": (mask[:, :-1], mask[:, 1:]),
             "next output": (mask[..., :-1], mask[..., 1:])}
    for name, (a, b) in pairs.items():
        assert abs(np.corrcoef(a.ravel(), b.ravel())[0, 1]) <= 5 / math.sqrt(a.size), name
    assert not np.array_equal(mask[0], mask[1])


@given(SIZES, SIZES, SIZES, SEEDS, PROBABILITIES, THREADS)
def test_kept_count_is_the_sum_of_the_mask(b, k, n, seed, p, n_threads):
    threshold = dispatch.dropconnect_threshold(p)
    mask = np.empty((b, k, n), np.uint8)
    dc.dropconnect_mask(mask, seed, threshold, 1)
    ours = dc.dropconnect_kept_count(b, k, n, seed, threshold, n_threads)
    assert ours == reference.dropconnect_kept_count(b, k, n, seed, threshold, 1)
    assert ours == int(mask.sum())


def test_kept_count_past_the_twins_block_and_the_thread_split():
    """2.5 million bits: several of the twin's 2**20-bit blocks, two threads' rows."""
    threshold = dispatch.dropconnect_threshold(0.3)
    counts = {dc.dropconnect_kept_count(31, 101, 797, 5, threshold, t) for t in (1, 2, 3)}
    assert counts == {reference.dropconnect_kept_count(31, 101, 797, 5, threshold, 1)}


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_keep_rate_over_half_a_billion_weights(p):
    """The count's binomial law at a scale no stored mask reaches: 2**29 bits, 5 standard
    errors ``5 sqrt(keep (1 - keep) / n)`` (about 1e-4) around ``1 - threshold / 2**32``."""
    batch, k, n = 2**9, 2**10, 2**10
    keep = 1 - dispatch.dropconnect_threshold(p) / 2**32
    rate = dispatch.dropconnect_kept_count(batch, k, n, p, seed=2024) / (batch * k * n)
    assert abs(rate - keep) <= 5 * math.sqrt(keep * (1 - keep) / (batch * k * n))


def test_p_zero_keeps_everything_and_p_near_one_almost_nothing():
    assert dispatch.dropconnect_mask(3, 40, 50, 0.0, 5).all()
    assert dispatch.dropconnect_mask(3, 40, 50, 1 - 2**-40, 5).sum() <= 2  # P = 2**-32 each
    assert dispatch.dropconnect_threshold(1 - 2**-40) == 2**32 - 1


# --- the products ----------------------------------------------------------------------

@given(problems(), PROBABILITIES, st.booleans(), THREADS)
def test_products_match_twin_to_rounding(problem, p, inverted, n_threads):
    x, w, bias, g, seed = problem
    scale = dispatch.dropout_scale(p, x.dtype, inverted)
    threshold = dispatch.dropconnect_threshold(p)
    ours = products(dc, x, w, bias, g, scale, seed, threshold, n_threads)
    twins = products(reference, x, w, bias, g, scale, seed, threshold, 1)
    ax, aw, ag = (np.abs(a).astype(np.float64) for a in (x, w, g))
    s = float(scale)
    assert_close_to_rounding(ours[0], twins[0], s * ax @ aw, x.shape[1], bias)
    assert_close_to_rounding(ours[1], twins[1], s * ag @ aw.T, w.shape[1])
    assert_close_to_rounding(ours[2], twins[2], s * ax.T @ ag, x.shape[0])


@given(problems(integers=True), st.sampled_from([0.0, 0.5, 0.75]), st.booleans(), THREADS)
def test_products_on_integers_match_twin_bit_for_bit(problem, p, inverted, n_threads):
    """Small integers: every sum exact in any order, and scale (1, 2 or 4) exact too."""
    x, w, bias, g, seed = problem
    scale = dispatch.dropout_scale(p, x.dtype, inverted)
    threshold = dispatch.dropconnect_threshold(p)
    for ours, twins in zip(products(dc, x, w, bias, g, scale, seed, threshold, n_threads),
                           products(reference, x, w, bias, g, scale, seed, threshold, 1)):
        assert_bits_equal(ours, twins + 0)  # + 0: the twin's -0.0 sums are the kernel's +0.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_products_equal_numpy_with_the_masks_written_out(dtype):
    """z_b = s x_b (W * M_b) + b, dx_b = s (W * M_b) dz_b, dW = s sum_b outer(x_b, dz_b) * M_b."""
    rng = np.random.default_rng(0)
    b, k, n, p, seed = 6, 9, 11, 0.4, 77
    x, w, g = (rng.integers(-3, 4, s).astype(dtype) for s in ((b, k), (k, n), (b, n)))
    bias = rng.integers(-3, 4, n).astype(dtype)
    m = dispatch.dropconnect_mask(b, k, n, p, seed).astype(dtype)
    s = dtype(1 / (1 - p))
    out, dx, dw = products(dc, x, w, bias, g, s, seed, dispatch.dropconnect_threshold(p), 2)
    np.testing.assert_allclose(out, np.einsum("bk,bkn,kn->bn", x, m, w) * s + bias, rtol=1e-6)
    np.testing.assert_allclose(dx, np.einsum("bn,bkn,kn->bk", g, m, w) * s, rtol=1e-6)
    np.testing.assert_allclose(dw, np.einsum("bk,bkn,bn->kn", x, m, g) * s, rtol=1e-6)


@given(SEEDS, st.sampled_from([(40, 60, 70), (101, 33, 65), (7, 300, 130)]), DTYPES)
def test_thread_count_does_not_change_a_bit(seed, shape, dtype):
    """Every shape here has enough bits (> 2 * 65536) for two threads."""
    rng = np.random.default_rng(seed % 2**32)
    b, k, n = shape
    x, w, g = (rng.standard_normal(s).astype(dtype) for s in ((b, k), (k, n), (b, n)))
    bias, scale, t = rng.standard_normal(n).astype(dtype), dtype(2.0), 2**31
    for one, two in zip(products(dc, x, w, bias, g, scale, seed, t, 1),
                        products(dc, x, w, bias, g, scale, seed, t, 2)):
        assert_bits_equal(one, two)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_and_inf_land_where_the_twins_do(dtype):
    """A dropped weight is a zero weight: inf * dropped is NaN, as in a GEMM on W * M;
    an inf *weight* that is dropped is gone."""
    rng = np.random.default_rng(1)
    b, k, n = 8, 10, 12
    x, w, g = (rng.standard_normal(s).astype(dtype) for s in ((b, k), (k, n), (b, n)))
    x[0, 3], x[1, 4], w[2, :], w[5, 6], g[2, 7] = np.inf, np.nan, np.inf, -np.inf, np.nan
    args = (x, w, None, g, dtype(2.0), 31, 2**31)
    for ours, twins in zip(products(dc, *args, 2), products(reference, *args, 1)):
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(twins))
        np.testing.assert_array_equal(np.isposinf(ours), np.isposinf(twins))
        finite = np.isfinite(twins)
        np.testing.assert_allclose(ours[finite], twins[finite], rtol=1e-4, atol=1e-4)
    out = products(dc, *args, 1)[0]
    assert np.isnan(out[1]).all() and not np.isfinite(out[0]).all()


def test_empty_inner_dimension_gives_the_bias():
    out, dx, dw = products(dc, np.ones((3, 0)), np.ones((0, 4)), np.arange(4.0), np.ones((3, 4)),
                           2.0, 1, 0, 2)
    np.testing.assert_array_equal(out, np.tile(np.arange(4.0), (3, 1)))
    assert dx.shape == (3, 0) and dw.shape == (0, 4)
    dw = np.full((2, 4), np.nan)
    dc.dropconnect_backward_weight(np.ones((0, 2)), np.ones((0, 4)), 1.0, dw, 1, 0, 1)
    np.testing.assert_array_equal(dw, 0)


# --- the dispatch layer ----------------------------------------------------------------

@given(st.data(), st.sampled_from([(1, 1, 1), (3, 5, 2), (17, 31, 9)]), SEEDS, THREADS, DTYPES)
def test_dispatch_handles_strided_transposed_and_read_only_inputs(data, shape, seed,
                                                                  n_threads, dtype):
    b, k, n = shape
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x, w, g = (rng.standard_normal(s).astype(dtype) for s in ((b, k), (k, n), (b, n)))
    with compiled_kernel("dropconnect", dc, n_threads):
        z = dispatch.dropconnect_forward(x, w, None, 0.5, seed)
        grads = dispatch.dropconnect_backward(g, x, w, 0.5, seed)
        for name in views(x):
            xv, wv, gv = views(x)[name], views(w)[name], views(g)[name]
            assert_bits_equal(dispatch.dropconnect_forward(xv, wv, None, 0.5, seed), z)
            for ours, expected in zip(dispatch.dropconnect_backward(gv, xv, wv, 0.5, seed),
                                      grads):
                assert_bits_equal(ours, expected)


def test_dispatch_skips_the_gradients_nobody_needs():
    x, w, g = np.ones((2, 3)), np.ones((3, 4)), np.ones((2, 4))
    assert dispatch.dropconnect_backward(g, x, w, 0.5, 1, need_x=False)[0] is None
    assert dispatch.dropconnect_backward(g, x, w, 0.5, 1, need_w=False)[1] is None


class Spy:
    """A kernel module that records calls: bad input must be refused before any."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return lambda *args: self.calls.append(name)


BAD = [
    (TypeError, "float32 or float64", dict(x=np.ones((2, 3), np.int64))),
    (TypeError, "same dtype", dict(w=np.ones((3, 4), np.float32))),
    (ValueError, "2-D", dict(x=np.ones(3))),
    (ValueError, "do not align", dict(w=np.ones((4, 4)))),
    (ValueError, "bias shape", dict(bias=np.ones(3))),
    (TypeError, "same dtype", dict(bias=np.ones(4, np.float32))),
    (ValueError, r"p must be in \[0, 1\)", dict(p=1.0)),
    (ValueError, r"p must be in \[0, 1\)", dict(p=float("nan"))),
    (TypeError, "real number", dict(p="0.5")),
    (ValueError, "seed", dict(seed=-1)),
    (ValueError, "seed", dict(seed=2**64)),
    (TypeError, "seed", dict(seed=1.0)),
    (TypeError, "inverted", dict(inverted="yes")),
]


@pytest.mark.parametrize("error, message, change", BAD)
def test_bad_input_is_refused_before_the_kernel(monkeypatch, error, message, change):
    spy = Spy()
    monkeypatch.setitem(backend.implementations, "dropconnect", spy)
    arguments = dict(x=np.ones((2, 3)), w=np.ones((3, 4)), bias=np.ones(4), p=0.5, seed=1,
                     inverted=True)
    arguments.update(change)
    with pytest.raises(error, match=message):
        dispatch.dropconnect_forward(**arguments)
    backward = {name: arguments[name] for name in ("x", "w", "p", "seed", "inverted")}
    if "bias" not in change:
        with pytest.raises(error, match=message):
            dispatch.dropconnect_backward(np.ones((2, 4)), **backward)
    assert spy.calls == []


def test_backward_refuses_a_gradient_of_the_wrong_shape_or_dtype():
    x, w = np.ones((2, 3)), np.ones((3, 4))
    with pytest.raises(ValueError, match="grad_out shape"):
        dispatch.dropconnect_backward(np.ones((2, 5)), x, w, 0.5, 1)
    with pytest.raises(TypeError, match="same dtype"):
        dispatch.dropconnect_backward(np.ones((2, 4), np.float32), x, w, 0.5, 1)


def test_mask_refuses_negative_sizes():
    with pytest.raises(ValueError, match="batch"):
        dispatch.dropconnect_mask(-1, 2, 3, 0.5, 0)


@pytest.mark.parametrize("sizes, name", [((-1, 2, 3), "batch"), ((1, -2, 3), "in_features"),
                                         ((1, 2, 2**32), "out_features"),
                                         ((1, 2.0, 3), "in_features")])
def test_kept_count_refuses_bad_sizes(sizes, name):
    with pytest.raises((ValueError, TypeError), match=name):
        dispatch.dropconnect_kept_count(*sizes, 0.5, 0)
    with pytest.raises(ValueError, match="probability"):
        dispatch.dropconnect_kept_count(1, 2, 3, 1.0, 0)


def test_kernels_check_shapes_and_threads():
    with pytest.raises(ValueError, match="shapes differ"):
        dc.dropconnect_forward(np.ones((2, 3)), np.ones((4, 4)), None, 1.0, np.empty((2, 4)),
                               0, 0, 1)
    with pytest.raises(ValueError, match="bias"):
        dc.dropconnect_forward(np.ones((2, 3)), np.ones((3, 4)), np.ones(3), 1.0,
                               np.empty((2, 4)), 0, 0, 1)
    with pytest.raises(ValueError, match="shapes differ"):
        dc.dropconnect_backward_input(np.ones((2, 4)), np.ones((3, 3)), 1.0, np.empty((2, 3)),
                                      0, 0, 1)
    with pytest.raises(ValueError, match="shapes differ"):
        dc.dropconnect_backward_weight(np.ones((2, 3)), np.ones((3, 4)), 1.0, np.empty((3, 4)),
                                       0, 0, 1)
    with pytest.raises(ValueError, match="n_threads"):
        dc.dropconnect_mask(np.empty((1, 2, 3), np.uint8), 0, 0, 0)
    with pytest.raises(ValueError, match="n_threads"):
        dc.dropconnect_kept_count(1, 2, 3, 0, 0, 0)
    for sizes in [(-1, 2, 3), (1, -2, 3), (1, 2, 2**32)]:
        with pytest.raises(ValueError, match="bad mask shape"):
            dc.dropconnect_kept_count(*sizes, 0, 0, 1)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_signature_is_the_twins(name):
    assert (inspect.signature(getattr(dc, name))
            == inspect.signature(getattr(reference, name)))
