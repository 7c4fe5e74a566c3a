"""Tensor construction, dtype rules and the autograd engine's bookkeeping."""
import sys

import numpy as np
import pytest

import minigrad as mg


def test_default_dtype_is_float32_and_float64_is_kept():
    assert mg.tensor([1, 2, 3]).dtype == np.float32
    assert mg.tensor(2.5).dtype == np.float32
    assert mg.tensor(np.zeros(3)).dtype == np.float64
    assert mg.tensor([1, 2], dtype=np.float64).dtype == np.float64


def test_float32_arrays_are_wrapped_without_copy():
    a = np.ones(3, dtype=np.float32)
    assert mg.tensor(a).data is a


@pytest.mark.parametrize("scalar", [2, 2.5, np.float64(2.5), np.int64(3)])
@pytest.mark.parametrize("op", [lambda t, s: t + s, lambda t, s: s - t, lambda t, s: t * s,
                                lambda t, s: s / t, lambda t, s: t ** s])
def test_python_and_numpy_scalars_do_not_upcast(op, scalar):
    t = mg.tensor([1.0, 2.0])
    assert op(t, scalar).dtype == np.float32


@pytest.mark.parametrize("bad", [np.arange(3), np.array([True, False]),
                                 np.array([1, 2], dtype=np.float16),
                                 np.array([1j]), np.array([object()])])
def test_non_float_arrays_are_refused_with_a_clear_error(bad):
    with pytest.raises(TypeError, match="dtype"):
        mg.tensor(bad)


def test_non_float_arrays_convert_when_asked():
    assert mg.tensor(np.arange(3), dtype=np.float32).dtype == np.float32
    with pytest.raises(TypeError, match="float32 or float64"):
        mg.tensor([1, 2], dtype=np.int32)


def test_mixed_precision_is_an_error_not_a_silent_upcast():
    with pytest.raises(TypeError, match="float32 and float64"):
        mg.tensor([1.0]) + mg.tensor(np.ones(1))


def test_gradients_accumulate_across_backward_calls():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [6.0, 6.0])
    x.zero_grad()
    assert x.grad is None


def test_fan_out_sums_both_paths():
    x = mg.tensor([2.0], requires_grad=True)
    y = x * x + x  # x used three times
    y.backward()
    np.testing.assert_array_equal(x.grad, [5.0])


def test_shared_subgraph_is_visited_once():
    x = mg.tensor([1.0, -1.0], requires_grad=True)
    h = x.exp()
    (h + h * 2).sum().backward()
    np.testing.assert_allclose(x.grad, 3 * np.exp([1.0, -1.0]), rtol=1e-6)


def test_long_chain_does_not_hit_the_recursion_limit():
    x = mg.tensor([1.0], requires_grad=True, dtype=np.float64)
    y = x
    for _ in range(max(10_000, 2 * sys.getrecursionlimit())):
        y = y + 1.0
    y.backward()
    assert x.grad[0] == 1.0


def test_non_scalar_backward_needs_a_gradient():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="one-element"):
        (x * 2).backward()
    (x * 2).backward(np.array([1.0, 10.0], dtype=np.float32))
    np.testing.assert_array_equal(x.grad, [2.0, 20.0])
    with pytest.raises(ValueError, match="shape"):
        (x * 2).backward(np.ones(3))


def test_backward_without_requires_grad_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        mg.tensor([1.0]).sum().backward()


def test_no_grad_records_nothing():
    x = mg.tensor([1.0], requires_grad=True)
    with mg.no_grad():
        y = x * 2
    assert not y.requires_grad and y._fn is None
    assert mg.is_grad_enabled()

    @mg.no_grad()
    def double(t):
        return t * 2
    assert not double(x).requires_grad


def test_detach_cuts_the_graph_but_shares_data():
    x = mg.tensor([1.0], requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad
    y = d * x
    y.backward()
    np.testing.assert_array_equal(x.grad, [2.0])


def test_only_needed_gradients_are_computed():
    x = mg.tensor(np.ones((2, 3), dtype=np.float32))  # data: no gradient wanted
    w = mg.tensor(np.ones((3, 4), dtype=np.float32), requires_grad=True)
    (x @ w).sum().backward()
    assert x.grad is None
    np.testing.assert_array_equal(w.grad, np.full((3, 4), 2.0))


def test_gradient_dtype_follows_the_tensor():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    assert x.grad.dtype == np.float32


def test_operators_with_numpy_arrays_on_the_left():
    t = mg.tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0], dtype=np.float32) * t
    assert isinstance(y, mg.Tensor)
    y.sum().backward()
    np.testing.assert_array_equal(t.grad, [3.0, 4.0])


def test_item_and_repr():
    assert mg.tensor([[2.5]]).item() == 2.5
    with pytest.raises(ValueError, match="one element"):
        mg.tensor([1.0, 2.0]).item()
    assert "requires_grad=True" in repr(mg.tensor([1.0], requires_grad=True))


def test_manual_seed_makes_dropout_reproducible():
    x = mg.tensor(np.ones((8, 8), dtype=np.float32))
    mg.manual_seed(123)
    a = mg.dropout(x, 0.5, training=True).data
    mg.manual_seed(123)
    b = mg.dropout(x, 0.5, training=True).data
    np.testing.assert_array_equal(a, b)


def test_leaf_gradients_never_alias_each_other_or_the_callers_gradient():
    """Leaves adopt gradient arrays without copying; shared memory must still be copied."""
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()          # Add hands the same array to both inputs
    assert not np.shares_memory(a.grad, b.grad)
    a.grad += 10
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])

    x = mg.tensor([1.0, 2.0], requires_grad=True)
    upstream = np.array([[5.0, 6.0]], dtype=np.float32)
    x.reshape(1, 2).backward(upstream)  # the leaf receives a view of the caller's array
    assert not np.shares_memory(x.grad, upstream)
    x.grad += 1
    np.testing.assert_array_equal(upstream, [[5.0, 6.0]])

    y = mg.tensor([1.0, 2.0], requires_grad=True)
    y.backward(upstream[0])            # the root itself is a leaf
    assert not np.shares_memory(y.grad, upstream)


@pytest.mark.parametrize("bit_generator", [np.random.PCG64, np.random.PCG64DXSM,
                                           np.random.Philox, np.random.SFC64,
                                           np.random.MT19937])
@pytest.mark.parametrize("seed", [0, 1, 2**40 + 7])
def test_draw_seed_is_the_generators_uint64_draw(bit_generator, seed):
    # draw_seed reads the raw word of 64-bit bit generators (a fast path); it must be
    # the value integers(0, 2**64, uint64) gives, draw after draw, for every generator.
    from minigrad.random import draw_seed
    mine = np.random.Generator(bit_generator(seed))
    theirs = np.random.Generator(bit_generator(seed))
    for _ in range(200):
        assert draw_seed(mine) == int(theirs.integers(0, 2**64, dtype=np.uint64))
