"""The compiled max-norm projection: axis, ball semantics, numpy twin and dispatch checks.

Weights are ``(in_features, out_features)``: column j is output unit j's incoming
weight vector, and it is columns that are projected onto the ball of radius c.
"""
import inspect
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from support.backends import compiled_kernel
from support.elementwise import DTYPES, THREADS, assert_bits_equal, elements
from minigrad.kernels import dispatch, reference

maxnorm = pytest.importorskip("minigrad._ext.maxnorm")

RTOL = {np.dtype(np.float32): 1e-6, np.dtype(np.float64): 1e-12}
LARGE_SHAPES = [(301, 400), (1024, 129)]  # > 100k elements: two threads take part
RADII = st.floats(1e-3, 1e3)


@st.composite
def weight_matrices(draw):
    """Finite weights (|w| <= 1e6, subnormals included): small drawn, or large seeded."""
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    if draw(st.booleans()):
        shape = draw(st.tuples(st.integers(0, 30), st.integers(0, 30)))
        return draw(hnp.arrays(dtype, shape, elements=elements(dtype, max_magnitude=1e6)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = draw(st.sampled_from(LARGE_SHAPES))
    # Column scales spread over decades, so some columns are inside the ball and some out.
    return (rng.standard_normal(shape) * 10.0 ** rng.uniform(-3, 2, shape[1])).astype(dtype)


def column_norms(w):
    return np.linalg.norm(w.astype(np.float64), axis=0)


def compiled(w, c, n_threads=1):
    w = w.copy()
    maxnorm.max_norm_columns(w, c, n_threads)
    return w


def twin(w, c):
    w = w.copy()
    with np.errstate(all="ignore"):  # inf * 0 in a column with an infinity
        reference.max_norm_columns(w, c, 1)
    return w


@given(weight_matrices(), RADII, THREADS)
def test_matches_twin(w, c, n_threads):
    np.testing.assert_allclose(compiled(w, c, n_threads), twin(w, c), rtol=RTOL[w.dtype], atol=0)


@given(weight_matrices(), RADII, THREADS)
def test_columns_inside_untouched_columns_outside_projected(w, c, n_threads):
    result = compiled(w, c, n_threads)
    before = column_norms(w)
    inside = before < c * (1 - 1e-9)  # away from the boundary, where rounding decides
    outside = before > c * (1 + 1e-9)
    assert_bits_equal(result[:, inside], w[:, inside])
    np.testing.assert_allclose(column_norms(result[:, outside]), c, rtol=RTOL[w.dtype])


@given(st.sampled_from(DTYPES), st.integers(0, 2**32 - 1), st.sampled_from(LARGE_SHAPES))
def test_thread_count_does_not_change_result(dtype, seed, shape):
    w = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    c = float(np.median(column_norms(w)))  # about half the columns are over
    assert_bits_equal(compiled(w, c, 1), compiled(w, c, 2))


@pytest.mark.parametrize("dtype", DTYPES)
def test_axis_long_rows_short_columns_are_untouched(dtype):
    w = np.full((4, 1000), 0.5, dtype)  # rows have norm 15.8, columns norm 1
    assert_bits_equal(compiled(w, 3.0), w)


@pytest.mark.parametrize("dtype", DTYPES)
def test_axis_long_columns_are_projected(dtype):
    w = np.full((1000, 4), 0.5, dtype)  # columns have norm 15.8, rows norm 1
    result = compiled(w, 3.0)
    np.testing.assert_allclose(column_norms(result), 3.0, rtol=RTOL[w.dtype])
    np.testing.assert_allclose(result, 3.0 / np.sqrt(1000), rtol=RTOL[w.dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_hand_computed_example(dtype):
    w = np.array([[3.0, 0.1], [4.0, 0.1]], dtype)  # column norms 5 and 0.14
    result = compiled(w, 1.0)
    np.testing.assert_allclose(result, [[0.6, 0.1], [0.8, 0.1]], rtol=RTOL[w.dtype])
    assert_bits_equal(result[:, 1], w[:, 1])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_threads", [1, 2])
def test_zero_and_nan_columns_are_untouched(dtype, n_threads):
    """A NaN column has norm NaN, and NaN > c is false: it is left as it is, not zeroed."""
    w = np.random.default_rng(0).standard_normal((600, 400)).astype(dtype) * 10
    w[:, 3] = 0.0
    w[:, 20] = -0.0
    w[5, 40] = np.nan
    w[7, 41] = np.uint32(0x7FA00000).view(np.float32) if dtype == np.float32 else \
        np.uint64(0x7FF4000000000000).view(np.float64)  # a signalling NaN keeps its bits
    result = compiled(w, 1.0, n_threads)
    for j in (3, 20, 40, 41):
        assert_bits_equal(result[:, j], w[:, j])
    assert (column_norms(result[:, 42:]) <= 1.0 + 1e-6).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_column_with_infinity_matches_twin(dtype):
    """Norm inf gives factor c / inf = 0: finite entries become 0, the infinity NaN."""
    w = np.ones((5, 3), dtype)
    w[2, 1] = np.inf
    result = compiled(w, 1.0)
    np.testing.assert_array_equal(np.isnan(result[:, 1]), [False, False, True, False, False])
    np.testing.assert_array_equal(result[[0, 1, 3, 4], 1], 0)
    np.testing.assert_allclose(result, twin(w, 1.0), rtol=RTOL[w.dtype], atol=0)


@given(weight_matrices(), RADII, THREADS)
def test_dispatch_uses_compiled_kernel(w, c, n_threads):
    expected = twin(w, c)
    with compiled_kernel("maxnorm", maxnorm, n_threads):
        dispatch.max_norm_columns_(w, c)
    np.testing.assert_allclose(w, expected, rtol=RTOL[w.dtype], atol=0)


@pytest.mark.parametrize("c", [0, -1.0, float("nan"), float("inf"), -float("inf")])
def test_dispatch_rejects_bad_radius_values(c):
    with pytest.raises(ValueError, match="positive finite"):
        dispatch.max_norm_columns_(np.ones((3, 4)), c)


@pytest.mark.parametrize("c", ["3", None, True, [3.0]])
def test_dispatch_rejects_radius_that_is_not_a_number(c):
    with pytest.raises(TypeError, match="real number"):
        dispatch.max_norm_columns_(np.ones((3, 4)), c)


def test_dispatch_rejects_bad_matrices():
    read_only = np.ones((3, 4))
    read_only.setflags(write=False)
    for w in (read_only, np.ones((3, 4)).T, np.ones((3, 8))[:, ::2]):
        with pytest.raises(ValueError, match="writeable C-contiguous"):
            dispatch.max_norm_columns_(w, 1.0)
    for w in (np.ones(4), np.ones((2, 3, 4))):
        with pytest.raises(ValueError, match="2-D"):
            dispatch.max_norm_columns_(w, 1.0)
    for w in (np.ones((3, 4), np.int64), np.ones((3, 4), np.float16), [[1.0]]):
        with pytest.raises(TypeError):
            dispatch.max_norm_columns_(w, 1.0)


def test_kernel_checks_radius_and_threads():
    with pytest.raises(ValueError, match="positive"):
        maxnorm.max_norm_columns(np.ones((3, 4)), 0.0, 1)
    with pytest.raises(ValueError, match="n_threads"):
        maxnorm.max_norm_columns(np.ones((3, 4)), 1.0, 0)


def test_signature_is_the_twins():
    assert (inspect.signature(maxnorm.max_norm_columns)
            == inspect.signature(reference.max_norm_columns))
