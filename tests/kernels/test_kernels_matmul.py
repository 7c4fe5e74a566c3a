"""The compiled GEMM (``minigrad._ext.matmul.gemm``) against its numpy twin.

Oracle: ``minigrad.kernels.reference.gemm`` (numpy's BLAS). Two correct float
products of the same matrices may differ by rounding, by at most about
``K * eps * (|A| @ |B|)`` elementwise (each sum of K products is accurate to
``K * eps/2`` of the sum of their magnitudes), so that is the tolerance. NaN and Inf
must appear exactly where numpy puts them. The result must be bit-identical for one
and two threads: threads split the output, never the inner dimension.
"""
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad.kernels import backend
from minigrad.kernels import dispatch, reference
from support.backends import backend_settings
from support.layouts import LAYOUTS, random_matrix

mm = pytest.importorskip("minigrad._ext.matmul")

DTYPES = (np.float32, np.float64)
# Mostly small shapes (0, 1 and odd edge cases); sometimes more than one MC/KC block.
dims = st.one_of(st.integers(0, 12), st.integers(13, 300))
seeds = st.integers(0, 2**32 - 1)


def op(x, trans):
    return x.T if trans else x


def operands(rng, m, k, n, trans_a, trans_b, dtype):
    """C-contiguous a, b such that op(a) is (m, k) and op(b) is (k, n)."""
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
    return a, b


def run_gemm(a, b, trans_a, trans_b, n_threads, m, n):
    """Call the compiled kernel on an output pre-filled with garbage (it must overwrite)."""
    out = np.full((m, n), np.nan, dtype=a.dtype)
    mm.gemm(a, b, out, trans_a, trans_b, n_threads)
    return out


def run_reference(a, b, trans_a, trans_b, m, n):
    out = np.empty((m, n), dtype=a.dtype)
    reference.gemm(a, b, out, trans_a, trans_b, 1)
    return out


def assert_close_to_rounding(out, ref, A, B):
    """|out - ref| <= K * eps * (|A| @ |B|), elementwise (A, B: the logical operands)."""
    k = A.shape[1]
    eps = np.finfo(out.dtype).eps
    bound = max(k, 1) * eps * (np.abs(A).astype(np.float64) @ np.abs(B).astype(np.float64))
    bound += np.finfo(out.dtype).tiny
    np.testing.assert_allclose(out.astype(np.float64) / bound, ref.astype(np.float64) / bound,
                               rtol=0, atol=1, equal_nan=True)


@given(m=dims, k=dims, n=dims, trans_a=st.booleans(), trans_b=st.booleans(),
       dtype=st.sampled_from(DTYPES), seed=seeds)
def test_gemm_matches_reference_and_is_thread_count_invariant(m, k, n, trans_a, trans_b,
                                                             dtype, seed):
    rng = np.random.default_rng(seed)
    a, b = operands(rng, m, k, n, trans_a, trans_b, dtype)
    out1 = run_gemm(a, b, trans_a, trans_b, 1, m, n)
    out2 = run_gemm(a, b, trans_a, trans_b, 2, m, n)
    np.testing.assert_array_equal(out1.view(np.uint8), out2.view(np.uint8))  # bit for bit
    assert_close_to_rounding(out1, run_reference(a, b, trans_a, trans_b, m, n),
                             op(a, trans_a), op(b, trans_b))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (False, True),
                                             (True, False), (True, True)])
@pytest.mark.parametrize("m,k,n", [(129, 785, 1025), (797, 70, 131), (1100, 300, 1030)])
def test_gemm_several_blocks(m, k, n, trans_a, trans_b, dtype):
    """Larger than one MC x KC x NC block in every dimension, with ragged edges; and C
    taller than wide (797 x 131: the weight gradient of a layer of few units; 1100 x
    1030: two column blocks), which the threads split by rows instead of columns."""
    a, b = operands(np.random.default_rng(1), m, k, n, trans_a, trans_b, dtype)
    out1 = run_gemm(a, b, trans_a, trans_b, 1, m, n)
    for n_threads in (2, 3, 4):  # 3: uneven splits of the columns or rows
        out = run_gemm(a, b, trans_a, trans_b, n_threads, m, n)
        np.testing.assert_array_equal(out1.view(np.uint8), out.view(np.uint8))
    assert_close_to_rounding(out1, run_reference(a, b, trans_a, trans_b, m, n),
                             op(a, trans_a), op(b, trans_b))


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_hand_computed(dtype):
    a = np.array([[1, 2, 3], [4, 5, 6]], dtype=dtype)
    b = np.array([[1, 0], [0, 1], [1, 1]], dtype=dtype)
    out = run_gemm(a, b, False, False, 2, 2, 2)
    np.testing.assert_array_equal(out, np.array([[4, 5], [10, 11]], dtype=dtype))
    out = run_gemm(a, a, False, True, 1, 2, 2)  # a @ a.T
    np.testing.assert_array_equal(out, np.array([[14, 32], [32, 77]], dtype=dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,n", [(0, 0), (0, 5), (5, 0), (1, 1), (7, 33)])
def test_gemm_empty_inner_dimension_gives_zeros(m, n, dtype):
    a = np.empty((m, 0), dtype=dtype)
    b = np.empty((0, n), dtype=dtype)
    out = run_gemm(a, b, False, False, 2, m, n)
    np.testing.assert_array_equal(out, np.zeros((m, n), dtype=dtype))


@given(m=st.integers(1, 40), k=st.integers(1, 300), n=st.integers(1, 40),
       trans_a=st.booleans(), trans_b=st.booleans(), dtype=st.sampled_from(DTYPES),
       n_special=st.integers(1, 6), seed=seeds)
def test_gemm_nan_inf_propagate_like_numpy(m, k, n, trans_a, trans_b, dtype, n_special, seed):
    """NaN/Inf (and 0*Inf, Inf-Inf) land exactly where numpy's BLAS puts them."""
    rng = np.random.default_rng(seed)
    a, b = operands(rng, m, k, n, trans_a, trans_b, dtype)
    specials = np.array([np.nan, np.inf, -np.inf, 0.0], dtype=dtype)
    for x in (a, b):
        flat = x.reshape(-1)
        flat[rng.integers(0, flat.size, n_special)] = rng.choice(specials, n_special)
    with np.errstate(invalid="ignore"):
        ref = run_reference(a, b, trans_a, trans_b, m, n)
    for n_threads in (1, 2):
        out = run_gemm(a, b, trans_a, trans_b, n_threads, m, n)
        np.testing.assert_array_equal(np.isnan(out), np.isnan(ref))
        np.testing.assert_array_equal(np.isposinf(out), np.isposinf(ref))
        np.testing.assert_array_equal(np.isneginf(out), np.isneginf(ref))


def test_gemm_inf_times_zero_is_nan():
    a = np.array([[np.inf, 1.0]], dtype=np.float32)
    b = np.array([[0.0], [1.0]], dtype=np.float32)
    assert np.isnan(run_gemm(a, b, False, False, 1, 1, 1)[0, 0])


def test_gemm_rejects_misaligned_shapes():
    a = np.ones((3, 4))
    with pytest.raises(ValueError, match="do not align"):
        mm.gemm(a, np.ones((5, 2)), np.empty((3, 2)), False, False, 1)
    with pytest.raises(ValueError, match="do not align"):
        mm.gemm(a, np.ones((4, 2)), np.empty((2, 3)), False, False, 1)


# --- through the dispatch layer: arbitrary views, validation --------------------------
# (Validation happens before any kernel runs, so those tests need no backend setup.)

@contextmanager
def compiled_matmul(n_threads=None):
    """Route dispatch.matmul to the compiled kernel; restore the settings afterwards."""
    with backend_settings(matmul="minigrad", n_threads=n_threads):
        if backend.implementations["matmul"] is not mm:
            pytest.skip("the numpy backend is selected (MINIGRAD_BACKEND=numpy)")
        yield


layouts = st.sampled_from(LAYOUTS)


@given(m=dims, k=dims, n=dims, trans_a=st.booleans(), trans_b=st.booleans(),
       layout_a=layouts, layout_b=layouts, dtype=st.sampled_from(DTYPES),
       n_threads=st.sampled_from([1, 2]), seed=seeds)
def test_dispatch_matmul_any_layout(m, k, n, trans_a, trans_b, layout_a,
                                    layout_b, dtype, n_threads, seed):
    rng = np.random.default_rng(seed)
    a = random_matrix(rng, (k, m) if trans_a else (m, k), layout_a, dtype)
    b = random_matrix(rng, (n, k) if trans_b else (k, n), layout_b, dtype)
    with compiled_matmul(n_threads):
        out = dispatch.matmul(a, b, trans_a=trans_a, trans_b=trans_b)
    assert out.shape == (m, n) and out.dtype == dtype
    A, B = op(a, trans_a), op(b, trans_b)
    assert_close_to_rounding(out, np.matmul(A, B), A, B)


def test_dispatch_matmul_mismatched_shapes_name_both():
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(5, 2\)"):
        dispatch.matmul(np.ones((3, 4)), np.ones((5, 2)))
    with pytest.raises(ValueError, match=r"\(3, 4\)\.T.*\(3, 2\)\.T"):
        dispatch.matmul(np.ones((3, 4)), np.ones((3, 2)), trans_a=True, trans_b=True)


@pytest.mark.parametrize("bad", [np.ones((2, 2), dtype=np.int64), np.ones((2, 2), dtype=bool),
                                 np.array([[1.0, 2.0], [3.0, 4.0]], dtype=object)])
def test_dispatch_matmul_rejects_non_float(bad):
    good = np.ones((2, 2))
    with pytest.raises(TypeError):
        dispatch.matmul(bad, good)
    with pytest.raises(TypeError):
        dispatch.matmul(good, bad)


def test_dispatch_matmul_rejects_mixed_precision():
    with pytest.raises(TypeError, match="float32.*float64|float64.*float32"):
        dispatch.matmul(np.ones((2, 3), dtype=np.float32), np.ones((3, 2), dtype=np.float64))
