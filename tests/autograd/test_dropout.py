"""The dropout op: statistics, modes, masks, reproducibility and bad input.

Statistical checks use fixed seeds and bounds of 4 binomial standard deviations: for n
independent units kept with probability q = 1 - p, the kept count has mean n q and
standard deviation sqrt(n q (1 - q)).
"""
import math

import numpy as np
import pytest

import minigrad as mg

BACKENDS = ["compiled", "numpy"]


@pytest.fixture
def backend(each_backend):
    return each_backend


@pytest.mark.parametrize("p", [0.1, 0.2, 0.5, 0.8])
def test_kept_fraction_is_within_four_binomial_sd(backend, p):
    n = 200_000
    x = mg.tensor(np.ones(n, dtype=np.float32))
    _, keep = mg.dropout(x, p, training=True, rng=2014, return_mask=True)
    q = 1 - p
    assert abs(keep.sum() - n * q) <= 4 * math.sqrt(n * q * (1 - q))


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_mean_is_preserved_in_expectation(backend, p):
    """sum(out) = sum(x_i * keep_i / q): mean sum(x), variance sum(x_i^2) p / q."""
    rng = np.random.default_rng(7)
    x = rng.random(100_000).astype(np.float64) + 0.5
    out = mg.dropout(mg.tensor(x), p, training=True, rng=11).data
    sd = math.sqrt((x ** 2).sum() * p / (1 - p))
    assert abs(out.sum() - x.sum()) <= 4 * sd


def test_eval_mode_and_p_zero_are_the_identity():
    x = mg.tensor(np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32))
    assert mg.dropout(x, 0.5, training=False) is x
    assert mg.dropout(x, 0.0, training=True) is x
    y, mask = mg.dropout(x, 0.5, training=False, return_mask=True)
    assert y is x and mask is None


def test_p_one_drops_everything_without_nan(backend):
    x = mg.tensor(np.full((3, 4), np.inf, dtype=np.float32), requires_grad=True)
    y = mg.dropout(x, 1.0, training=True, rng=0)
    np.testing.assert_array_equal(y.data, 0)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, 0)


def test_kept_units_are_scaled_and_dropped_units_are_zero(backend):
    x = np.random.default_rng(1).standard_normal((64, 33)).astype(np.float32)
    y, keep = mg.dropout(mg.tensor(x), 0.25, training=True, rng=5, return_mask=True)
    np.testing.assert_array_equal(y.data[~keep], 0)
    np.testing.assert_array_equal(y.data[keep], x[keep] * np.float32(1 / 0.75))


def test_same_seed_same_mask_and_different_seed_different_mask():
    x = mg.tensor(np.ones((32, 32), dtype=np.float32))
    a = mg.dropout(x, 0.5, training=True, rng=42, return_mask=True)[1]
    b = mg.dropout(x, 0.5, training=True, rng=42, return_mask=True)[1]
    c = mg.dropout(x, 0.5, training=True, rng=43, return_mask=True)[1]
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()


def test_a_generator_advances_between_calls():
    x = mg.tensor(np.ones((32, 32), dtype=np.float32))
    g = np.random.default_rng(0)
    first = mg.dropout(x, 0.5, training=True, rng=g, return_mask=True)[1]
    second = mg.dropout(x, 0.5, training=True, rng=g, return_mask=True)[1]
    assert (first != second).any()


def test_mask_is_independent_of_thread_count_and_backend():
    x = mg.tensor(np.random.default_rng(3).standard_normal((257, 129)).astype(np.float32))
    results = []
    for backend in BACKENDS:
        for threads in (1, 2):
            with mg.using_backend(backend, threads=threads):
                results.append(mg.dropout(x, 0.3, training=True, rng=99).data)
    for r in results[1:]:
        np.testing.assert_array_equal(r.view(np.uint32), results[0].view(np.uint32))


def test_gradient_reuses_the_forward_mask(backend):
    x = mg.tensor(np.ones((10, 10), dtype=np.float32), requires_grad=True)
    y, keep = mg.dropout(x, 0.4, training=True, rng=8, return_mask=True)
    (y * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, np.where(keep, np.float32(3 / 0.6), 0))


def test_a_given_mask_is_used_as_is(backend):
    x = mg.tensor(np.arange(1, 7, dtype=np.float32).reshape(2, 3))
    mask = np.array([[1, 0, 1], [0, 0, 1]])
    y, used = mg.dropout(x, 0.5, training=True, mask=mask, return_mask=True)
    np.testing.assert_array_equal(y.data, [[2, 0, 6], [0, 0, 12]])
    np.testing.assert_array_equal(used, mask.astype(bool))


def test_replaying_the_returned_mask_reproduces_the_output(backend):
    x = mg.tensor(np.random.default_rng(2).standard_normal((5, 7)).astype(np.float32))
    y, keep = mg.dropout(x, 0.5, training=True, rng=1, return_mask=True)
    np.testing.assert_array_equal(mg.dropout(x, 0.5, training=True, mask=keep).data, y.data)


def test_the_classic_ten_thousand_ones_check(backend):
    """Dropout(0.5) then a 10000 -> 1 linear map with all-one weights, on 10000 ones.

    Training: the output is 2 * (number kept), binomial with mean 10000 and standard
    deviation 2 * sqrt(10000 * 0.25) = 100. Evaluation: exactly 10000.
    """
    x = mg.tensor(np.ones((1, 10_000), dtype=np.float32))
    w = mg.tensor(np.ones((10_000, 1), dtype=np.float32))
    trained = (mg.dropout(x, 0.5, training=True, rng=0) @ w).item()
    assert abs(trained - 10_000) <= 4 * 100
    assert (mg.dropout(x, 0.5, training=False) @ w).item() == 10_000


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan"), float("inf")])
def test_p_out_of_range_is_a_value_error(p):
    with pytest.raises(ValueError, match="p must be in"):
        mg.dropout(mg.tensor([1.0]), p, training=True)


@pytest.mark.parametrize("p", ["0.5", None, True, [0.5]])
def test_p_of_the_wrong_type_is_a_type_error(p):
    with pytest.raises(TypeError, match="probability"):
        mg.dropout(mg.tensor([1.0]), p, training=True)


def test_training_is_required_and_must_be_a_bool():
    with pytest.raises(TypeError):
        mg.dropout(mg.tensor([1.0]), 0.5)
    with pytest.raises(TypeError, match="training"):
        mg.dropout(mg.tensor([1.0]), 0.5, training="yes")


def test_bad_masks_are_rejected():
    x = mg.tensor(np.ones((2, 2), dtype=np.float32))
    with pytest.raises(ValueError, match="shape"):
        mg.dropout(x, 0.5, training=True, mask=np.ones(3))
    with pytest.raises(ValueError, match="0 .dropped. or 1"):
        mg.dropout(x, 0.5, training=True, mask=np.full((2, 2), 2))
    with pytest.raises(TypeError, match="mask"):
        mg.dropout(x, 0.5, training=True, mask=np.full((2, 2), "a"))
    with pytest.raises(ValueError, match="training=True"):
        mg.dropout(x, 0.5, training=False, mask=np.ones((2, 2)))
