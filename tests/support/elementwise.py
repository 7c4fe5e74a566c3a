"""Hypothesis strategies and bit-level assertions for the elementwise kernel tests.

Small arrays are drawn element by element (hypothesis explores NaN payloads,
signalling NaNs, +-inf, -0.0 and subnormals). Large arrays (> 100k elements, enough
for the kernels to use two threads) would be slow to draw that way, so they are
built from a hypothesis-drawn seed with a numpy Generator and then sprinkled with
the same special values, written as bit patterns so that no conversion quiets a NaN.
"""
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


DTYPES = (np.float32, np.float64)
UINT = {np.dtype(np.float32): np.uint32, np.dtype(np.float64): np.uint64}
LARGE_SIZES = (65_537, 100_003, 150_001)  # odd, and past every kernel's threading threshold

# Bit patterns: quiet NaN, negative NaN with a payload, signalling NaN, +-inf, -0.0,
# smallest and largest subnormal, largest finite, and a negative subnormal.
SPECIAL_BITS = {
    np.dtype(np.float32): [0x7FC00000, 0xFFC00123, 0x7FA00000, 0x7F800000, 0xFF800000,
                           0x80000000, 0x00000001, 0x007FFFFF, 0x7F7FFFFF, 0x80000005],
    np.dtype(np.float64): [0x7FF8000000000000, 0xFFF8000000000123, 0x7FF4000000000000,
                           0x7FF0000000000000, 0xFFF0000000000000, 0x8000000000000000,
                           0x0000000000000001, 0x000FFFFFFFFFFFFF, 0x7FEFFFFFFFFFFFFF,
                           0x8000000000000005],
}
THREADS = st.sampled_from([1, 2])
SEEDS = st.integers(0, 2**64 - 1)


def specials(dtype):
    """The special values of ``dtype`` as an array (built from bits: no NaN is quieted)."""
    dtype = np.dtype(dtype)
    return np.array(SPECIAL_BITS[dtype], dtype=UINT[dtype]).view(dtype)


def elements(dtype, max_magnitude=None):
    """Hypothesis floats representable in ``dtype``; with a bound, finite and bounded."""
    width = np.dtype(dtype).itemsize * 8
    if max_magnitude is None:
        return st.floats(width=width)
    return st.floats(-max_magnitude, max_magnitude, width=width)


@st.composite
def float_vectors(draw, dtype=None, size=None):
    """A 1-D float32/float64 array: size 0, 1, small (drawn element-wise) or large (seeded)."""
    dtype = np.dtype(dtype or draw(st.sampled_from(DTYPES)))
    n = size if size is not None else draw(st.one_of(
        st.sampled_from([0, 1]), st.integers(2, 300), st.sampled_from(LARGE_SIZES)))
    if n <= 300:
        return draw(hnp.arrays(dtype, n, elements=elements(dtype)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = (rng.standard_normal(n) * 10.0 ** rng.integers(-3, 4)).astype(dtype)
    where = rng.integers(0, n, size=200)
    x[where] = specials(dtype)[rng.integers(0, len(SPECIAL_BITS[dtype]), size=200)]
    return x


def assert_bits_equal(actual, expected):
    """Assert two float arrays are identical bit for bit (NaN payloads and -0.0 included)."""
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    np.testing.assert_array_equal(actual.view(UINT[actual.dtype]),
                                  expected.view(UINT[expected.dtype]))
