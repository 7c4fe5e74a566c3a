"""One source of randomness: a library-wide numpy Generator, reset by ``manual_seed``.

Everything random in minigrad (dropout masks, weight initialisation, data shuffling)
takes an optional ``rng`` argument: an int seed, a ``numpy.random.Generator``, or
None for the library default below. minigrad never calls the ``np.random.*``
module-level functions, so ``manual_seed`` alone makes a whole run reproducible.
"""
import numpy as np

_default = np.random.default_rng()


def manual_seed(seed):
    """Reset the library's default Generator to ``numpy.random.default_rng(seed)``."""
    global _default
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    _default = np.random.default_rng(int(seed))
    return _default


def default_generator():
    """The library's default Generator (replaced by each ``manual_seed`` call)."""
    return _default


def as_generator(rng=None):
    """Turn ``rng`` (None, an int seed or a Generator) into a ``numpy.random.Generator``."""
    if rng is None:
        return _default
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError(f"seed must be non-negative, got {rng}")
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be None, an int seed or a numpy.random.Generator, "
                    f"got {type(rng).__name__}")


# Bit generators whose raw output is one 64-bit word: for them ``integers(0, 2**64,
# dtype=np.uint64)`` returns exactly the next raw word (tests/autograd/test_tensor.py checks it).
# MT19937 is not among them: numpy builds its 64-bit draws from two 32-bit words.
_RAW_64_BIT = (np.random.PCG64, np.random.PCG64DXSM, np.random.Philox, np.random.SFC64)


def draw_seed(rng=None):
    """Draw one 64-bit seed (a Python int) for a counter-based kernel stream.

    The value of ``rng.integers(0, 2**64, dtype=np.uint64)``. For the 64-bit bit
    generators (PCG64, numpy's default, among them) it is read with ``random_raw``,
    the same word in 0.8 instead of 5 us: every dropout layer draws one per step.
    """
    generator = as_generator(rng)
    bits = generator.bit_generator
    if type(bits) in _RAW_64_BIT:
        return bits.random_raw()
    return int(generator.integers(0, 2**64, dtype=np.uint64))
