"""The compiled Gaussian dropout kernel: against the numpy twin, and the law of its noise.

The kernel and the twin agree bit for bit on every CPU: both compute the normal with
the same correctly rounded operations (their own log and cos, not the C library's or
numpy's; see ``minigrad.kernels.reference.standard_normal``). Accuracy tests bound
those log and cos against numpy's and mpmath's.

Statistical tests use FIXED seeds, so they are deterministic. Their tolerances are 5
standard errors of normal samples: for n draws of N(1, sigma**2) the sample mean has
standard error sigma / sqrt(n), and the sample variance s**2, from the fourth moment
3 sigma**4 of a normal, has var(s**2) = 2 sigma**4 / (n - 1).
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
from minigrad.kernels import dispatch, reference

gaussian = pytest.importorskip("minigrad._ext.gaussian_dropout")

PROBABILITIES = st.one_of(st.sampled_from([0.0, 0.5, 0.9]), st.floats(0.0, 0.99))
FIXED_SEEDS = [0, 1, 2**63 + 12345, 2**64 - 1]


def compiled(x, seed, p, n_threads=1):
    out = np.empty_like(x)
    gaussian.gaussian_dropout(x, out, seed, dispatch.gaussian_dropout_inverse_sigma(p),
                              n_threads)
    return out


def twin(x, seed, p):
    out = np.empty_like(x)
    with np.errstate(all="ignore"):  # inf * r, overflow of huge x * r
        reference.gaussian_dropout(x, out, seed, dispatch.gaussian_dropout_inverse_sigma(p), 1)
    return out


def noise(n, seed, p, n_threads=2, dtype=np.float64):
    """The noise r itself, from the kernel ``gaussian_noise``."""
    out = np.empty(n, dtype)
    gaussian.gaussian_noise(out, seed, dispatch.gaussian_dropout_inverse_sigma(p), n_threads)
    return out


def ulps(actual, exact):
    """|actual - exact| in units of the last place of exact (float64)."""
    return np.abs(actual - exact) / np.spacing(np.abs(exact))


# --- compiled == twin ------------------------------------------------------------------

@given(float_vectors(), SEEDS, PROBABILITIES, THREADS)
def test_matches_twin(x, seed, p, n_threads):
    """Sizes 0, 1, odd and past the threading threshold; NaN, inf, -0.0 and subnormals."""
    assert_bits_equal(compiled(x, seed, p, n_threads), twin(x, seed, p))


def test_twin_noise_is_box_muller_of_the_hashed_uniforms():
    """A hand-computed oracle for element 3 of stream 99: the formula, with Python floats."""
    h1, h2 = (int(h) for h in reference.splitmix64(99, np.array([6, 7], np.uint64)))
    u1, u2 = ((h1 >> 11) + 1) / 2**53, (h2 >> 11) / 2**53
    z = math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)
    assert reference.standard_normal(4, 99)[3] == pytest.approx(z, rel=1e-15)
    assert noise(4, 99, 0.5)[3] == 1.0 + reference.standard_normal(4, 99)[3]  # sigma = 1


@given(SEEDS, st.integers(0, 3000), PROBABILITIES, THREADS,
       st.sampled_from([np.float32, np.float64]))
def test_noise_kernel_matches_twin_and_is_the_dropout_of_ones(seed, n, p, n_threads, dtype):
    """``gaussian_noise`` writes r, rounded once to the dtype: ``gaussian_dropout`` of ones."""
    expected = np.empty(n, dtype)
    reference.gaussian_noise(expected, seed, dispatch.gaussian_dropout_inverse_sigma(p), 1)
    actual = noise(n, seed, p, n_threads, dtype)
    assert_bits_equal(actual, expected)
    assert_bits_equal(actual, compiled(np.ones(n, dtype), seed, p, n_threads))


# --- accuracy of the library's own log and cos ------------------------------------------

def test_log_is_within_one_ulp_of_numpys():
    """numpy's log is within an ulp of the exact log on every CPU (C library or SIMD)."""
    k = np.random.default_rng(0).integers(0, 2**53, 100_000, dtype=np.uint64)
    u = np.concatenate([(k + np.uint64(1)) * 2.0**-53, [2.0**-53, 0.5, 1.0 - 2.0**-53, 1.0]])
    assert ulps(reference.log_unit(u), np.log(u)).max() <= 2
    assert reference.log_unit(np.array([1.0]))[0] == 0.0


def test_cos_and_the_normal_are_within_a_few_ulps_of_the_exact_values():
    """Against mpmath at 160 bits. cos: 1 ulp measured (2 allowed), z: 3 measured (4 allowed).

    (The C library's formula ``sqrt(-2 log u1) cos(2 pi u2)`` is up to thousands of ulps
    off near the zeros of the cosine, because ``2 pi u2`` is rounded first.)
    """
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.prec = 160
    k = np.random.default_rng(1).integers(0, 2**53, 3000, dtype=np.uint64)
    t = np.concatenate([k * 2.0**-51, [0.0, 0.5, 1.0 - 2.0**-51, 1.0, 2.0, 3.0, 3.5]])
    exact = np.array([float(mpmath.cos(mpmath.pi * mpmath.mpf(float(v)) / 2)) for v in t])
    err = np.abs(reference.cos_quarter_turns(t) - exact)
    # (at t = 1 and 3 the cosine is 0 and we return 0; mpmath's pi leaves ~1e-48 there)
    assert (err <= np.maximum(2 * np.spacing(np.abs(exact)), 1e-40)).all()
    index = np.arange(3000, dtype=np.uint64) * np.uint64(2)
    u1 = ((reference.splitmix64(7, index) >> np.uint64(11)) + np.uint64(1)) * 2.0**-53
    u2 = (reference.splitmix64(7, index + np.uint64(1)) >> np.uint64(11)) * 2.0**-53
    z = np.array([float(mpmath.sqrt(-2 * mpmath.log(mpmath.mpf(float(a))))
                        * mpmath.cos(2 * mpmath.pi * mpmath.mpf(float(b))))
                  for a, b in zip(u1, u2)])
    assert ulps(reference.standard_normal(3000, 7), z).max() <= 4


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_p_zero_is_the_identity_and_specials_pass_through(dtype):
    x = np.random.default_rng(3).standard_normal(100_003).astype(dtype)
    x[:len(specials(dtype))] = specials(dtype)
    with np.errstate(invalid="ignore"):  # the signalling NaN, quieted as the kernel does
        assert_bits_equal(compiled(x, 2**64 - 1, 0.0, n_threads=2), x * dtype(1))
    out = compiled(x, 5, 0.5, n_threads=2)
    assert np.array_equal(np.isnan(out), np.isnan(x))
    assert np.array_equal(np.isinf(out), np.isinf(x))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float32_rounds_the_float64_noise_once(dtype):
    """r is made in float64 and rounded to the dtype, then multiplied in the dtype."""
    x = np.random.default_rng(4).standard_normal(1000).astype(dtype)
    r = (1.0 + reference.standard_normal(1000, 8) / dispatch.gaussian_dropout_inverse_sigma(0.3))
    assert_bits_equal(compiled(x, 8, 0.3), x * r.astype(dtype))


# --- determinism -------------------------------------------------------------------------

@given(SEEDS, st.sampled_from(LARGE_SIZES), st.floats(0.05, 0.95),
       st.sampled_from([np.float32, np.float64]))
def test_thread_count_does_not_change_the_noise(seed, n, p, dtype):
    x = np.random.default_rng(seed % 2**32).standard_normal(n).astype(dtype)
    assert_bits_equal(compiled(x, seed, p, n_threads=1), compiled(x, seed, p, n_threads=2))


@given(SEEDS, st.integers(0, 2000), st.integers(0, 20_000))
def test_noise_of_element_i_does_not_depend_on_length(seed, n, extra):
    """Counter-based: the noise of a short array is a prefix of a longer one's."""
    np.testing.assert_array_equal(noise(n, seed, 0.5, 1), noise(n + extra, seed, 0.5)[:n])


@pytest.mark.parametrize("seed", FIXED_SEEDS)
def test_same_seed_same_noise_other_seed_other_noise(seed):
    first = noise(1000, seed, 0.5)
    np.testing.assert_array_equal(first, noise(1000, seed, 0.5))
    assert (first != noise(1000, (seed + 1) % 2**64, 0.5)).all()


# --- the law of the noise (fixed seeds, tolerances of 5 standard errors) ---------------

@pytest.mark.parametrize("seed", FIXED_SEEDS)
@pytest.mark.parametrize("p", [0.1, 0.2, 0.5, 0.8])
def test_noise_has_mean_one_and_variance_p_over_one_minus_p(seed, p):
    n = 200_000
    r = noise(n, seed, p)
    var = p / (1 - p)
    assert abs(r.mean() - 1.0) <= 5 * math.sqrt(var / n)
    assert abs(r.var(ddof=1) - var) <= 5 * math.sqrt(2 * var**2 / (n - 1))


@pytest.mark.parametrize("seed", FIXED_SEEDS)
def test_z_passes_a_kolmogorov_smirnov_test_against_the_standard_normal(seed):
    """D = sup |F_n(z) - Phi(z)|; P(sqrt(n) D > 1.95) is about 0.001 (Kolmogorov's law)."""
    n = 20_000
    z = np.sort(reference.standard_normal(n, seed))
    phi = 0.5 * (1.0 + np.array([math.erf(v / math.sqrt(2)) for v in z]))
    steps = np.arange(1, n + 1) / n
    d = max(np.max(steps - phi), np.max(phi - (steps - 1 / n)))
    assert math.sqrt(n) * d <= 1.95


@pytest.mark.parametrize("seed", FIXED_SEEDS)
def test_neighbouring_elements_are_uncorrelated(seed):
    """Each element owns counters 2i and 2i+1: corr(z_i, z_i+1) has standard error 1/sqrt(n)."""
    n = 200_000
    z = reference.standard_normal(n + 1, seed)
    assert abs(np.corrcoef(z[:-1], z[1:])[0, 1]) <= 5 / math.sqrt(n)


def test_uniforms_stay_inside_their_intervals():
    """u1 in (0, 1], so |z| <= sqrt(-2 log 2**-53) = 8.57: never inf, never NaN."""
    z = reference.standard_normal(1_000_000, 12345)
    assert np.isfinite(z).all() and np.abs(z).max() <= math.sqrt(106 * math.log(2))


# --- the dispatch layer ------------------------------------------------------------------

@given(st.data(), st.sampled_from([(1, 1), (3, 5), (17, 31), (301, 333)]), SEEDS,
       PROBABILITIES, THREADS)
def test_dispatch_handles_strided_and_read_only_inputs(data, shape, seed, p, n_threads):
    x2 = data.draw(float_vectors(size=shape[0] * shape[1])).reshape(shape)
    expected = twin(np.ascontiguousarray(x2).ravel(), seed, p)
    with compiled_kernel("gaussian_dropout", gaussian, n_threads):
        for name, x in views(x2).items():
            for function in (dispatch.gaussian_dropout_forward,
                             dispatch.gaussian_dropout_backward):
                out = function(x, p, seed)
                assert out.shape == x.shape, name
                assert_bits_equal(out.ravel(), expected)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.bool_, object, np.complex128, np.float16])
def test_dispatch_rejects_non_float_dtypes(dtype):
    for function in (dispatch.gaussian_dropout_forward, dispatch.gaussian_dropout_backward):
        with pytest.raises(TypeError, match="float32 or float64"):
            function(np.ones(4, dtype=dtype), 0.5, 0)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, float("nan"), float("inf")])
def test_dispatch_rejects_probability_outside_zero_one(p):
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\)"):
        dispatch.gaussian_dropout_forward(np.ones(4), p, 0)


@pytest.mark.parametrize("p", ["0.5", None, True, [0.5]])
def test_dispatch_rejects_probability_that_is_not_a_number(p):
    with pytest.raises(TypeError, match="real number"):
        dispatch.gaussian_dropout_backward(np.ones(4), p, 0)


def test_dispatch_rejects_a_seed_that_is_not_a_64_bit_int():
    for seed in (-1, 2**64):
        with pytest.raises(ValueError, match="seed"):
            dispatch.gaussian_dropout_forward(np.ones(4), 0.5, seed)
    with pytest.raises(TypeError, match="seed"):
        dispatch.gaussian_dropout_forward(np.ones(4), 0.5, 1.0)


def test_kernel_checks_lengths_and_threads():
    with pytest.raises(ValueError, match="length"):
        gaussian.gaussian_dropout(np.ones(8), np.empty(7), 0, 1.0, 1)
    with pytest.raises(ValueError, match="n_threads"):
        gaussian.gaussian_dropout(np.ones(8), np.empty(8), 0, 1.0, 0)


def test_signature_is_the_twins():
    for name in ("gaussian_dropout", "gaussian_noise"):
        assert (inspect.signature(getattr(gaussian, name))
                == inspect.signature(getattr(reference, name)))
