"""Fuzz the kernel dispatch layer: any input gives a correct result or a ValueError/TypeError.

The compiled kernels run without bounds checks, so ``minigrad.kernels.dispatch`` is all
that stands between a caller and a memory error. Hypothesis throws at every dispatch
function arrays of many dtypes (float32/64 and int8, uint16, int64, float16, complex64,
bool, object, big-endian floats), ranks 0 to 4 with empty axes, layouts (stepped
slices, negative strides, transposes, Fortran order, read-only and broadcast views),
non-arrays, and parameter values (p, seeds below 0 and beyond 2**64, max-norm radii with
NaN and inf, numpy scalars, bools, strings). For each draw the test decides from the
documented contract whether the call is valid:

* valid: the call must succeed and agree with a numpy oracle (bit for bit for relu and
  dropout, to rounding for matmul and max-norm), and leave its inputs untouched
  (max-norm excepted: it works in place);
* invalid: the call must raise ValueError or TypeError, and nothing else.

Anything else (another exception, a crash, a wrong result) fails. CI runs this file
against the bounds-checked debug build too (it is one of ``tests/kernels/test_kernels_*``),
and ``tools/sanitize.sh`` runs it under AddressSanitizer.
"""
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from minigrad.kernels import backend
from minigrad.kernels import dispatch, reference

FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
OTHER_DTYPES = [np.int8, np.uint16, np.int64, np.float16, np.complex64, np.bool_, object,
                ">f4", ">f8"]
LAYOUTS = ["contiguous", "step", "negative", "transpose", "fortran", "read-only", "broadcast"]
FUZZ = settings(max_examples=150)


def _convert(values, dtype):
    dtype = np.dtype(dtype)
    if dtype == bool:
        return values > 0
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return np.clip(np.nan_to_num(values), info.min, info.max).astype(dtype)
    return values.astype(dtype)


def _layout(a, layout, rng):
    """A view (or copy) of ``a`` with the given memory layout; values may be shared."""
    if layout == "step" and a.ndim:
        steps = tuple(int(s) for s in rng.integers(1, 4, size=a.ndim))
        big = np.zeros(tuple(n * s + 1 for n, s in zip(a.shape, steps)), dtype=a.dtype)
        view = big[tuple(slice(0, n * s, s) for n, s in zip(a.shape, steps))]
        view[...] = a
        return view
    if layout == "negative" and a.ndim:
        flip = tuple(slice(None, None, -1) for _ in a.shape)
        return np.ascontiguousarray(a[flip])[flip]
    if layout == "transpose" and a.ndim:
        perm = rng.permutation(a.ndim)
        return np.ascontiguousarray(a.transpose(perm)).transpose(np.argsort(perm))
    if layout == "fortran":
        return np.asfortranarray(a)
    if layout == "read-only":
        a = a.copy()
        a.flags.writeable = False
        return a
    if layout == "broadcast" and a.ndim and a.shape[0]:
        return np.broadcast_to(a[:1], a.shape)
    return a


def make_array(shape, dtype, layout, seed, specials):
    rng = np.random.default_rng(seed)
    values = np.empty(shape)  # an array even for shape () (rng.normal would give a float)
    values[...] = rng.normal(size=shape) * 3.0
    if specials and values.size and np.dtype(dtype).kind in "fc":
        flat = values.reshape(-1)
        where = rng.integers(0, flat.size, size=max(1, flat.size // 8))
        flat[where] = rng.choice([np.nan, np.inf, -np.inf, -0.0, 0.0], size=where.size)
    with np.errstate(all="ignore"):
        return _layout(np.asarray(_convert(values, dtype)), layout, rng)


@st.composite
def arrays(draw, shape=None, dtypes=None):
    """Mostly float32/float64 arrays (the valid case), often of another dtype."""
    if shape is None:
        shape = tuple(draw(st.lists(st.integers(0, 5), max_size=4)))
    dtype = draw(st.sampled_from(dtypes)) if dtypes else draw(
        st.one_of(st.sampled_from(FLOATS), st.sampled_from(OTHER_DTYPES)))
    return make_array(shape, dtype, draw(st.sampled_from(LAYOUTS)),
                      draw(st.integers(0, 2**32 - 1)), draw(st.booleans()))


def not_arrays():
    return st.sampled_from([None, 1.5, [1.0, 2.0], [[1.0]], "x", np.float32(2.0), (3.0,)])


def inputs(shape=None):
    return st.one_of(arrays(shape), arrays(shape), arrays(shape), not_arrays())


EDGE_P = [0, 1, 0.0, 1.0, -0.0, 0.5, 1 - 2**-53, 1 + 2**-52, -1e-300, 10**400, -10**400,
          float("nan"), float("inf"), -float("inf"), np.float32(0.25), np.float16(0.5),
          np.float64(np.nan), np.int64(1), np.uint8(0), True, False, np.bool_(True), "0.5",
          None, [0.5], Fraction(1, 2), 0.5 + 0j, np.array(0.5)]
EDGE_SEEDS = [0, 2**64 - 1, 2**64, -1, 2**100, -2**100, np.uint64(2**64 - 1), np.int8(-3),
              np.int64(7), True, 1.0, "1", None, np.float64(3.0)]
EDGE_C = [0, -0.0, 1e-300, 1e300, 10**400, -10**400, float("nan"), float("inf"),
          -float("inf"), np.float32(2.0), np.float64(np.nan), np.int32(3), True, "3", None,
          3 + 0j, [3.0]]
PROBABILITIES = st.one_of(st.sampled_from(EDGE_P), st.floats(-0.5, 1.5),
                          st.floats(allow_nan=True, allow_infinity=True))
SEEDS = st.one_of(st.sampled_from(EDGE_SEEDS), st.integers(0, 2**64 - 1),
                  st.integers(-2**70, 2**70))
RADII = st.one_of(st.sampled_from(EDGE_C), st.floats(allow_nan=True, allow_infinity=True),
                  st.integers(-5, 10))
THREADS = st.sampled_from([1, 2, 3])


def with_examples(name, values, **fixed):
    """Always try every edge value of ``name`` (with ``fixed`` valid other arguments)."""
    def decorate(test):
        for value in values:
            test = example(**fixed, **{name: value})(test)
        return test
    return decorate


X = np.linspace(-2, 2, 7, dtype=np.float32)


def is_float_array(x):
    return isinstance(x, np.ndarray) and x.dtype in FLOATS


def is_real(v):
    return not isinstance(v, (bool, np.bool_)) and isinstance(
        v, (int, float, np.integer, np.floating))


def valid_probability(p):
    if not is_real(p):
        return False
    return p >= 0 and p <= 1 if isinstance(p, int) else 0.0 <= float(p) <= 1.0


def valid_seed(seed):
    return (not isinstance(seed, (bool, np.bool_)) and isinstance(seed, (int, np.integer))
            and 0 <= int(seed) < 2**64)


def valid_radius(c):
    if not is_real(c):
        return False
    if isinstance(c, int):
        return 0 < c < 2**1000
    return float(c) > 0 and math.isfinite(float(c))


def snapshot(*values):
    return [np.array(v, copy=True) if isinstance(v, np.ndarray) else None for v in values]


def assert_unchanged(values, copies):
    for v, c in zip(values, copies):
        if c is not None:
            np.testing.assert_array_equal(v, c)


def assert_same_bits(actual, expected):
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    uint = np.uint32 if actual.dtype == np.float32 else np.uint64
    np.testing.assert_array_equal(np.ascontiguousarray(actual).view(uint),
                                  np.ascontiguousarray(expected).view(uint))


def run(valid, call, n_threads):
    """Call with ``n_threads``; the outcome must be a result (valid) or Value/TypeError."""
    with backend.using_backend(threads=n_threads):
        if valid:
            return call()
        with pytest.raises((ValueError, TypeError)):
            call()
        return None


def scale_of(p, dtype, inverted):
    p = float(p)
    if not inverted:
        return dtype.type(1.0)
    return dtype.type(0.0 if p == 1.0 else 1.0 / (1.0 - p))


# ---------------------------------------------------------------- relu
@FUZZ
@given(x=inputs(), n_threads=THREADS)
def test_relu_forward(x, n_threads):
    copies = snapshot(x)
    out = run(is_float_array(x), lambda: dispatch.relu_forward(x), n_threads)
    if out is not None:
        assert_same_bits(out, np.where(x <= 0, x.dtype.type(0), x))
    assert_unchanged([x], copies)


@FUZZ
@given(data=st.data(), n_threads=THREADS)
def test_relu_backward(data, n_threads):
    g = data.draw(inputs())
    same = isinstance(g, np.ndarray) and data.draw(st.booleans())
    y = data.draw(inputs(g.shape if same else None))
    valid = (is_float_array(g) and is_float_array(y) and g.shape == y.shape
             and g.dtype == y.dtype)
    copies = snapshot(g, y)
    out = run(valid, lambda: dispatch.relu_backward(g, y), n_threads)
    if out is not None:
        assert_same_bits(out, np.where(y > 0, g, g.dtype.type(0)))
    assert_unchanged([g, y], copies)


# ---------------------------------------------------------------- dropout
@FUZZ
@given(x=inputs(), p=PROBABILITIES, seed=SEEDS, inverted=st.booleans(), n_threads=THREADS)
@with_examples("p", EDGE_P, x=X, seed=1, inverted=True, n_threads=2)
@with_examples("seed", EDGE_SEEDS, x=X, p=0.5, inverted=False, n_threads=1)
def test_dropout_forward(x, p, seed, inverted, n_threads):
    valid = is_float_array(x) and valid_probability(p) and valid_seed(seed)
    copies = snapshot(x)
    result = run(valid, lambda: dispatch.dropout_forward(x, p, seed, inverted), n_threads)
    if result is not None:
        out, mask = result
        threshold = math.ceil(float(p) * 2.0**53)
        keep = reference.keep_mask(x.size, int(seed), threshold).reshape(x.shape)
        assert mask.dtype == np.uint8 and mask.shape == x.shape
        np.testing.assert_array_equal(mask, keep)
        with np.errstate(all="ignore"):
            expected = np.where(keep, x * scale_of(p, x.dtype, inverted), x.dtype.type(0))
        assert_same_bits(out, expected)
    assert_unchanged([x], copies)


@FUZZ
@given(data=st.data(), p=PROBABILITIES, inverted=st.booleans(), n_threads=THREADS)
@with_examples("p", EDGE_P, inverted=True, n_threads=1, data=None)
def test_apply_dropout_mask(data, p, inverted, n_threads):
    if data is None:  # an explicit example: a valid x and mask with an edge p
        x, mask = X, (np.arange(X.size) % 3).astype(np.uint8)
    else:
        x, mask = draw_x_and_mask(data)
    valid = (is_float_array(x) and isinstance(mask, np.ndarray) and mask.dtype == np.uint8
             and mask.shape == x.shape and valid_probability(p))
    copies = snapshot(x, mask)
    out = run(valid, lambda: dispatch.apply_dropout_mask(x, mask, p, inverted), n_threads)
    if out is not None:
        with np.errstate(all="ignore"):
            expected = np.where(mask != 0, x * scale_of(p, x.dtype, inverted), x.dtype.type(0))
        assert_same_bits(out, expected)
    assert_unchanged([x, mask], copies)


def draw_x_and_mask(data):
    x = data.draw(inputs())
    same = isinstance(x, np.ndarray) and data.draw(st.booleans())
    shape = x.shape if same else None
    mask = data.draw(st.one_of(
        arrays(shape, dtypes=[np.uint8]), arrays(shape), not_arrays(),
        st.integers(0, 2**32 - 1).map(  # uint8 0/1 (and sometimes other nonzero) masks
            lambda s: np.random.default_rng(s).choice(
                np.array([0, 1, 1, 2, 255], np.uint8), size=x.shape if same else (3,)))))
    return x, mask


# ---------------------------------------------------------------- max-norm
@FUZZ
@given(w=inputs(), c=RADII, n_threads=THREADS)
@with_examples("c", EDGE_C, w=np.full((3, 2), 2.0), n_threads=1)
def test_max_norm_columns(w, c, n_threads):
    valid = (is_float_array(w) and w.ndim == 2 and w.flags.c_contiguous
             and w.flags.writeable and valid_radius(c))
    before = np.array(w, copy=True) if isinstance(w, np.ndarray) else None
    result = run(valid, lambda: dispatch.max_norm_columns_(w, c) or True, n_threads)
    if result is None:
        if before is not None:  # a refused call changes nothing
            np.testing.assert_array_equal(w, before)
        return
    expected = before.copy()
    with np.errstate(all="ignore"):
        reference.max_norm_columns(expected, float(c), 1)
        norms = np.sqrt(np.einsum("ij,ij->j", before, before, dtype=np.float64))
    eps = np.finfo(w.dtype).eps
    np.testing.assert_allclose(w, expected, rtol=4 * eps, atol=0, equal_nan=True)
    inside = ~(norms > float(c))  # untouched, bit for bit (NaN columns included)
    assert_same_bits(w[:, inside], before[:, inside])


# ---------------------------------------------------------------- matmul
@st.composite
def matmul_operands(draw):
    trans_a, trans_b = draw(st.booleans()), draw(st.booleans())
    dims = st.one_of(st.integers(0, 8), st.integers(60, 70))
    m, k, n = draw(dims), draw(dims), draw(dims)
    k2 = k if draw(st.integers(0, 5)) else draw(dims)  # mostly aligned
    shape_a = (k, m) if trans_a else (m, k)
    shape_b = (n, k2) if trans_b else (k2, n)
    if draw(st.integers(0, 6)) == 0:  # sometimes a random rank
        shape_a = tuple(draw(st.lists(st.integers(0, 4), max_size=4)))
    a = draw(st.one_of(arrays(shape_a), arrays(shape_a), arrays(shape_a), not_arrays()))
    b = draw(st.one_of(arrays(shape_b), arrays(shape_b), arrays(shape_b), not_arrays()))
    if is_float_array(a) and is_float_array(b) and draw(st.integers(0, 3)):
        b = b.astype(a.dtype)  # mostly the same dtype
    return a, b, trans_a, trans_b


@FUZZ
@given(operands=matmul_operands(), n_threads=THREADS)
def test_matmul(operands, n_threads):
    a, b, trans_a, trans_b = operands
    valid = is_float_array(a) and is_float_array(b) and a.dtype == b.dtype
    if valid:
        valid = a.ndim == 2 and b.ndim == 2
    if valid:
        op_a, op_b = (a.T if trans_a else a), (b.T if trans_b else b)
        valid = op_a.shape[1] == op_b.shape[0]
    copies = snapshot(a, b)
    out = run(valid, lambda: dispatch.matmul(a, b, trans_a, trans_b), n_threads)
    if out is not None:
        assert out.dtype == a.dtype and out.shape == (op_a.shape[0], op_b.shape[1])
        with np.errstate(all="ignore"):
            expected = (op_a.astype(np.float64) @ op_b.astype(np.float64)).astype(a.dtype)
        k = op_a.shape[1]
        eps = float(np.finfo(a.dtype).eps)
        finite_a, finite_b = op_a[np.isfinite(op_a)], op_b[np.isfinite(op_b)]
        bound = (np.abs(finite_a).max(initial=0) * np.abs(finite_b).max(initial=0))
        np.testing.assert_allclose(out, expected, rtol=4 * k * eps,
                                   atol=4 * k * eps * bound + 1e-30, equal_nan=True)
    assert_unchanged([a, b], copies)
