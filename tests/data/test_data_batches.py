"""iterate_minibatches: coverage of each epoch, reproducibility, drop_last, validation."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad.data import iterate_minibatches


def data(n, width=3):
    """Rows whose content encodes their index, so x/y alignment is checkable."""
    x = np.arange(n * width, dtype=np.float32).reshape(n, width)
    return x, np.arange(n, dtype=np.int64)


@given(n=st.integers(0, 60), batch_size=st.integers(1, 20), seed=st.integers(0, 2**32),
       shuffle=st.booleans(), drop_last=st.booleans())
def test_one_epoch_visits_every_sample_once(n, batch_size, seed, shuffle, drop_last):
    x, y = data(n)
    batches = list(iterate_minibatches(x, y, batch_size, shuffle=shuffle,
                                       rng=np.random.default_rng(seed), drop_last=drop_last))
    sizes = [len(yb) for _, yb in batches]
    full, rest = divmod(n, batch_size)
    expected = [batch_size] * full + ([] if drop_last or rest == 0 else [rest])
    assert sizes == expected
    for xb, yb in batches:
        np.testing.assert_array_equal(xb[:, 0], yb * 3)  # rows stay paired with labels
    seen = np.concatenate([yb for _, yb in batches]) if batches else np.array([], int)
    assert len(np.unique(seen)) == len(seen)  # nothing twice
    if not drop_last:
        np.testing.assert_array_equal(np.sort(seen), y)  # everything once
    if not shuffle:
        np.testing.assert_array_equal(seen, np.arange(len(seen)))


def test_same_seed_same_order_different_seed_different_order():
    x, y = data(100)

    def order(rng):
        return np.concatenate([yb for _, yb in iterate_minibatches(x, y, 7, rng=rng)])

    np.testing.assert_array_equal(order(5), order(5))
    np.testing.assert_array_equal(order(np.random.default_rng(5)),
                                  order(np.random.default_rng(5)))
    assert not np.array_equal(order(5), order(6))
    # the permutation is the Generator's: an independent oracle
    np.testing.assert_array_equal(order(9), np.random.default_rng(9).permutation(100))


def test_default_rng_follows_manual_seed():
    x, y = data(50)
    minigrad.manual_seed(123)
    a = [yb for _, yb in iterate_minibatches(x, y, 8)]
    minigrad.manual_seed(123)
    b = [yb for _, yb in iterate_minibatches(x, y, 8)]
    for ya, yb in zip(a, b, strict=True):
        np.testing.assert_array_equal(ya, yb)


def test_permutation_drawn_at_call_time():
    x, y = data(30)
    gen = np.random.default_rng(0)
    it = iterate_minibatches(x, y, 30, rng=gen)
    gen.random(100)  # consuming the generator afterwards must not change the epoch
    np.testing.assert_array_equal(next(it)[1], np.random.default_rng(0).permutation(30))


def test_drop_last_drops_only_the_short_batch():
    x, y = data(10)
    batches = list(iterate_minibatches(x, y, 4, shuffle=False, drop_last=True))
    assert [yb.tolist() for _, yb in batches] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert list(iterate_minibatches(x, y, 11, drop_last=True)) == []
    assert [len(yb) for _, yb in iterate_minibatches(x, y, 11)] == [10]


def test_unshuffled_batches_are_views_and_shapes_are_kept():
    x = np.zeros((9, 4, 5), dtype=np.float32)
    y = np.zeros((9, 2))
    for xb, yb in iterate_minibatches(x, y, 4, shuffle=False):
        assert np.shares_memory(xb, x) and np.shares_memory(yb, y)
        assert xb.shape[1:] == (4, 5) and yb.shape[1:] == (2,)
    xb, yb = next(iterate_minibatches(x, y, 4, rng=0))
    assert xb.shape == (4, 4, 5) and not np.shares_memory(xb, x)


@pytest.mark.parametrize("bad", [0, -1, -100])
def test_non_positive_batch_size(bad):
    x, y = data(5)
    with pytest.raises(ValueError, match=f"batch_size must be >= 1, got {bad}"):
        iterate_minibatches(x, y, bad)  # raised at call time, not at first next()


@pytest.mark.parametrize("bad", [2.0, True, "3", None, np.float32(4)])
def test_non_int_batch_size(bad):
    x, y = data(5)
    with pytest.raises(TypeError, match="batch_size must be an int"):
        iterate_minibatches(x, y, bad)


def test_numpy_int_batch_size_is_fine():
    x, y = data(5)
    assert len(list(iterate_minibatches(x, y, np.int64(2)))) == 3


def test_length_mismatch_and_scalars():
    x, y = data(5)
    with pytest.raises(ValueError, match=r"same number of samples.*\(5, 3\).*\(4,\)"):
        iterate_minibatches(x, y[:4], 2)
    with pytest.raises(ValueError, match="sample axis"):
        iterate_minibatches(np.float32(1), y, 2)


def test_bad_rng():
    x, y = data(5)
    with pytest.raises(TypeError, match="rng must be"):
        iterate_minibatches(x, y, 2, rng="seed")
    with pytest.raises(ValueError, match="non-negative"):
        iterate_minibatches(x, y, 2, rng=-1)
