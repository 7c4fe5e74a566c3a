"""The compiled alpha dropout kernels: bit for bit against the numpy twin, and their moments.

Statistical tests use FIXED seeds, so they are deterministic. Tolerances are 5 standard
errors, derived from the law of the output. For an input ``x ~ N(0, 1)`` and keep
probability ``q = 1 - p``, ``out = a y + b`` with ``y = x`` (probability q) or ``alpha'``
has mean 0 and variance 1, so over n units the sample mean has standard error
``1 / sqrt(n)`` and the sample variance ``sqrt((mu4 - 1) / n)``, where ``mu4`` is the
fourth central moment of ``out`` (:func:`fourth_moment`). The number of dropped units
is Binomial(n, p): standard deviation ``sqrt(n p (1 - p))``.
"""
import inspect
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from support.backends import compiled_kernel
from support.elementwise import (LARGE_SIZES, SEEDS, THREADS, assert_bits_equal, float_vectors,
                                 specials)
from support.layouts import views
from minigrad.kernels import backend, dispatch, reference
from minigrad.ops.alpha_dropout import ALPHA_PRIME

alpha = pytest.importorskip("minigrad._ext.alpha_dropout")
compiled_dropout = pytest.importorskip("minigrad._ext.dropout")

PROBABILITIES = st.one_of(st.sampled_from([0.0, 0.05, 0.1, 0.5]), st.floats(0.0, 0.99))
FIXED_SEEDS = [0, 1, 2**63 + 12345, 2**64 - 1]


def scalars(p, dtype):
    """The kernels' (alpha', shift, a) for drop probability p, as the dispatch layer makes them."""
    return dispatch._alpha_dropout_scalars(p, ALPHA_PRIME, np.dtype(dtype))


def compiled_forward(x, seed, p, n_threads=1):
    out, mask = np.empty_like(x), np.empty(x.shape, np.uint8)
    alpha.alpha_dropout_forward(x, out, mask, seed, dispatch.dropout_threshold(p),
                                *scalars(p, x.dtype), n_threads)
    return out, mask


def twin_forward(x, seed, p):
    out, mask = np.empty_like(x), np.empty(x.shape, np.uint8)
    with np.errstate(all="ignore"):  # overflow of huge x + shift or (.) * a
        reference.alpha_dropout_forward(x, out, mask, seed, dispatch.dropout_threshold(p),
                                        *scalars(p, x.dtype), 1)
    return out, mask


def compiled_masked(x, mask, p, n_threads=1):
    out = np.empty_like(x)
    alpha.alpha_dropout_masked(x, mask, out, *scalars(p, x.dtype), n_threads)
    return out


def twin_masked(x, mask, p):
    out = np.empty_like(x)
    with np.errstate(all="ignore"):
        reference.alpha_dropout_masked(x, mask, out, *scalars(p, x.dtype), 1)
    return out


def fourth_moment(p):
    """The fourth central moment of ``out = a y + b`` for ``x ~ N(0, 1)``.

    ``out`` has mean 0, so ``mu4 = a**4 E[(y - m)**4]`` with ``m = E[y] = p alpha'``:
    a kept unit contributes ``E[(x - m)**4] = 3 + 6 m**2 + m**4`` (moments of N(0, 1)),
    a dropped one ``(alpha' - m)**4 = ((1 - p) alpha')**4``.
    """
    a, _ = dispatch.alpha_dropout_affine(p, ALPHA_PRIME)
    m = p * ALPHA_PRIME
    return a**4 * ((1 - p) * (3 + 6 * m**2 + m**4) + p * ((1 - p) * ALPHA_PRIME) ** 4)


# --- compiled == twin, bit for bit ---------------------------------------------------

@given(float_vectors(), SEEDS, PROBABILITIES, THREADS)
def test_forward_matches_twin(x, seed, p, n_threads):
    """Sizes 0, 1, odd and past the threading threshold; NaN, inf, -0.0 and subnormals."""
    out, mask = compiled_forward(x, seed, p, n_threads)
    expected_out, expected_mask = twin_forward(x, seed, p)
    np.testing.assert_array_equal(mask, expected_mask)
    assert_bits_equal(out, expected_out)


@given(st.data(), float_vectors(), PROBABILITIES, THREADS)
def test_masked_matches_twin(data, x, p, n_threads):
    mask = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))).integers(
        0, 2, x.size).astype(np.uint8)
    assert_bits_equal(compiled_masked(x, mask, p, n_threads), twin_masked(x, mask, p))


@given(float_vectors(), SEEDS, PROBABILITIES)
def test_kept_units_are_the_ones_bernoulli_dropout_keeps(x, seed, p):
    _, mask = compiled_forward(x, seed, p)
    dropout_mask = np.empty(x.shape, np.uint8)
    compiled_dropout.dropout_forward(x, np.empty_like(x), dropout_mask, seed,
                                     dispatch.dropout_threshold(p), x.dtype.type(1.0), 1)
    np.testing.assert_array_equal(mask, dropout_mask)
    np.testing.assert_array_equal(mask, reference.keep_mask(x.size, seed,
                                                            dispatch.dropout_threshold(p)))


def test_kernel_rounds_as_written_out_in_python_floats():
    """float64, by hand: ``(x + shift) * a`` kept, ``(alpha' + shift) * a`` dropped.

    Python floats round every operation once, never fusing a multiply and an add, so
    this fails if the compiler contracted the map into an FMA. The textbook order
    ``x * a + b``, also rounded twice, differs from it in the last bit on some elements:
    the twin must follow the kernel's order, not just its maths.
    """
    x = np.random.default_rng(5).standard_normal(10_000) * 3
    out, mask = compiled_forward(x, 77, 0.2, n_threads=2)
    alpha_prime, shift, a = (float(v) for v in scalars(0.2, np.float64))
    expected = [(xi + shift) * a if keep else (alpha_prime + shift) * a
                for xi, keep in zip(x.tolist(), mask.tolist())]
    np.testing.assert_array_equal(out, expected)
    fused = [xi * a + (shift * a) for xi in x.tolist()]
    assert (np.array(fused)[mask == 1] != out[mask == 1]).any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropped_units_never_read_x_and_kept_specials_pass_through(dtype):
    x = np.random.default_rng(3).standard_normal(100_003).astype(dtype)
    x[:len(specials(dtype))] = specials(dtype)
    x[-1000:] = np.nan
    out, mask = compiled_forward(x, 11, 0.5, n_threads=2)
    alpha_prime, shift, a = scalars(0.5, dtype)
    dropped = mask == 0
    assert (out[dropped] == (alpha_prime + shift) * a).all()
    assert np.array_equal(np.isnan(out), np.isnan(x) & ~dropped)
    assert np.array_equal(np.isinf(out), np.isinf(x) & ~dropped)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_p_zero_keeps_everything_and_maps_by_one(dtype):
    alpha_prime, shift, a = scalars(0.0, dtype)
    assert (shift, a) == (0, 1)
    x = np.random.default_rng(0).standard_normal(1000).astype(dtype)
    out, mask = compiled_forward(x, 5, 0.0)
    assert mask.all()
    np.testing.assert_array_equal(out, x)


# --- determinism -------------------------------------------------------------------------

@given(SEEDS, st.sampled_from(LARGE_SIZES), st.floats(0.05, 0.95),
       st.sampled_from([np.float32, np.float64]))
def test_thread_count_does_not_change_the_result(seed, n, p, dtype):
    x = np.random.default_rng(seed % 2**32).standard_normal(n).astype(dtype)
    one, two = compiled_forward(x, seed, p, 1), compiled_forward(x, seed, p, 2)
    np.testing.assert_array_equal(one[1], two[1])
    assert_bits_equal(one[0], two[0])
    assert_bits_equal(compiled_masked(x, one[1], p, 1), compiled_masked(x, one[1], p, 2))


@given(SEEDS, st.integers(0, 2000), st.integers(0, 20_000))
def test_mask_of_element_i_does_not_depend_on_length(seed, n, extra):
    short = compiled_forward(np.zeros(n), seed, 0.3)[1]
    np.testing.assert_array_equal(short, compiled_forward(np.zeros(n + extra), seed, 0.3)[1][:n])


# --- moments (fixed seeds, 5 standard errors) --------------------------------------------

@pytest.mark.parametrize("seed", FIXED_SEEDS)
@pytest.mark.parametrize("p", [0.05, 0.1, 0.3, 0.5, 0.8])
def test_unit_normal_inputs_keep_mean_zero_and_variance_one(seed, p):
    n = 400_000
    x = np.random.default_rng(seed % 2**32).standard_normal(n)
    out, mask = compiled_forward(x, seed, p, n_threads=2)
    assert abs(out.mean()) <= 5 / math.sqrt(n)
    assert abs(out.var() - 1) <= 5 * math.sqrt((fourth_moment(p) - 1) / n)
    assert abs((mask == 0).sum() - n * p) <= 5 * math.sqrt(n * p * (1 - p))


def test_fourth_moment_formula_against_a_sample():
    """The formula behind the tolerances, checked on 2M units (its own 5-sigma bound is loose)."""
    x = np.random.default_rng(9).standard_normal(2_000_000)
    out, _ = compiled_forward(x, 9, 0.3, n_threads=2)
    assert abs(np.mean(out**4) - fourth_moment(0.3)) <= 0.05 * fourth_moment(0.3)


# --- the dispatch layer ------------------------------------------------------------------

@given(st.data(), st.sampled_from([(1, 1), (3, 5), (17, 31), (301, 333)]), SEEDS,
       PROBABILITIES, THREADS)
def test_dispatch_handles_strided_and_read_only_inputs(data, shape, seed, p, n_threads):
    x2 = data.draw(float_vectors(size=shape[0] * shape[1])).reshape(shape)
    expected_out, expected_mask = twin_forward(np.ascontiguousarray(x2).ravel(), seed, p)
    with np.errstate(all="ignore"):  # inf * a, NaN * a
        expected_grad = np.where(expected_mask == 1, x2.ravel() * scalars(p, x2.dtype)[2], 0)
    with compiled_kernel("alpha_dropout", alpha, n_threads), np.errstate(all="ignore"):
        for name, x in views(x2).items():
            out, mask = dispatch.alpha_dropout_forward(x, p, seed, ALPHA_PRIME)
            assert out.shape == mask.shape == x.shape, name
            assert_bits_equal(out.ravel(), expected_out)
            np.testing.assert_array_equal(mask.ravel(), expected_mask)
            mask_view = views(mask)[name]
            assert_bits_equal(dispatch.apply_alpha_dropout_mask(x, mask_view, p, ALPHA_PRIME)
                              .ravel(), expected_out)
            assert_bits_equal(dispatch.alpha_dropout_backward(x, mask_view, p, ALPHA_PRIME)
                              .ravel(), expected_grad.astype(x2.dtype))


def test_affine_map_is_the_papers():
    """q = 1 - p: a = (q + alpha'^2 q (1 - q))^(-1/2), b = -a (1 - q) alpha' (the paper's form)."""
    for p in (0.05, 0.1, 0.5, 0.9):
        q = 1 - p
        a, b = dispatch.alpha_dropout_affine(p, ALPHA_PRIME)
        assert a == pytest.approx((q + ALPHA_PRIME**2 * q * (1 - q)) ** -0.5, rel=1e-15)
        assert b == pytest.approx(-a * (1 - q) * ALPHA_PRIME, rel=1e-15)


class SpyKernels:
    """Stands in for the kernel module and records every call: bad input must never get here."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return lambda *args: self.calls.append(name)


BAD_CALLS = {
    "x int": lambda: dispatch.alpha_dropout_forward(np.ones(4, np.int64), 0.5, 0, ALPHA_PRIME),
    "x list": lambda: dispatch.alpha_dropout_forward([1.0, 2.0], 0.5, 0, ALPHA_PRIME),
    "x float16": lambda: dispatch.apply_alpha_dropout_mask(np.ones(4, np.float16),
                                                           np.ones(4, np.uint8), 0.5, ALPHA_PRIME),
    "p one": lambda: dispatch.alpha_dropout_forward(np.ones(4), 1.0, 0, ALPHA_PRIME),
    "p negative": lambda: dispatch.alpha_dropout_forward(np.ones(4), -0.1, 0, ALPHA_PRIME),
    "p nan": lambda: dispatch.alpha_dropout_backward(np.ones(4), np.ones(4, np.uint8),
                                                     float("nan"), ALPHA_PRIME),
    "p str": lambda: dispatch.alpha_dropout_forward(np.ones(4), "0.5", 0, ALPHA_PRIME),
    "seed negative": lambda: dispatch.alpha_dropout_forward(np.ones(4), 0.5, -1, ALPHA_PRIME),
    "seed too big": lambda: dispatch.alpha_dropout_forward(np.ones(4), 0.5, 2**64, ALPHA_PRIME),
    "seed float": lambda: dispatch.alpha_dropout_forward(np.ones(4), 0.5, 1.0, ALPHA_PRIME),
    "alpha' str": lambda: dispatch.alpha_dropout_forward(np.ones(4), 0.5, 0, "-1.75"),
    "alpha' inf": lambda: dispatch.alpha_dropout_forward(np.ones(4), 0.5, 0, -math.inf),
    "mask shape": lambda: dispatch.apply_alpha_dropout_mask(np.ones(4), np.ones(3, np.uint8),
                                                            0.5, ALPHA_PRIME),
    "mask dtype": lambda: dispatch.alpha_dropout_backward(np.ones(4), np.ones(4, bool),
                                                          0.5, ALPHA_PRIME),
    "mask list": lambda: dispatch.alpha_dropout_backward(np.ones(4), [1, 1, 1, 1],
                                                         0.5, ALPHA_PRIME),
}
EXPECTED = {"x int": (TypeError, "x must have dtype float32 or float64"),
            "x list": (TypeError, "x must be a numpy array"),
            "x float16": (TypeError, "float32 or float64"),
            "p one": (ValueError, r"alpha dropout probability p must be in \[0, 1\)"),
            "p negative": (ValueError, r"p must be in \[0, 1\)"),
            "p nan": (ValueError, r"p must be in \[0, 1\)"),
            "p str": (TypeError, "p must be a real number"),
            "seed negative": (ValueError, "seed must be >= 0"),
            "seed too big": (ValueError, "seed must be <="),
            "seed float": (TypeError, "seed must be an int"),
            "alpha' str": (TypeError, "alpha_prime must be a real number"),
            "alpha' inf": (ValueError, "alpha_prime must be a finite number"),
            "mask shape": (ValueError, r"array shape \(4,\) != mask shape \(3,\)"),
            "mask dtype": (TypeError, "mask must be uint8"),
            "mask list": (TypeError, "mask must be a uint8 numpy array")}


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_bad_input_is_refused_before_any_kernel_runs(monkeypatch, case):
    spy = SpyKernels()
    monkeypatch.setitem(backend.implementations, "alpha_dropout", spy)
    monkeypatch.setitem(backend.implementations, "dropout", spy)
    error, message = EXPECTED[case]
    with pytest.raises(error, match=message):
        BAD_CALLS[case]()
    assert spy.calls == []


def test_the_spy_sees_a_good_call():
    """The spy test above cannot pass vacuously: a valid call does reach it."""
    spy = SpyKernels()
    backend_before = dict(backend.implementations)
    try:
        backend.implementations["alpha_dropout"] = spy
        dispatch.alpha_dropout_forward(np.ones(4), 0.5, 0, ALPHA_PRIME)
    finally:
        backend.implementations.update(backend_before)
    assert spy.calls == ["alpha_dropout_forward"]


def test_kernels_check_lengths_and_threads():
    s = scalars(0.5, np.float64)
    with pytest.raises(ValueError, match="lengths differ"):
        alpha.alpha_dropout_forward(np.ones(8), np.empty(7), np.empty(8, np.uint8), 0, 0, *s, 1)
    with pytest.raises(ValueError, match="lengths differ"):
        alpha.alpha_dropout_masked(np.ones(8), np.ones(7, np.uint8), np.empty(8), *s, 1)
    with pytest.raises(ValueError, match="n_threads"):
        alpha.alpha_dropout_masked(np.ones(8), np.ones(8, np.uint8), np.empty(8), *s, 0)


@pytest.mark.parametrize("name", ["alpha_dropout_forward", "alpha_dropout_masked"])
def test_signature_is_the_twins(name):
    assert (inspect.signature(getattr(alpha, name))
            == inspect.signature(getattr(reference, name)))
