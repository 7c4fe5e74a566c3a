"""Every differentiable op against float64 central finite differences (minigrad.gradcheck).

Shapes come from hypothesis, including broadcasting between operands; values come from
a hypothesis-drawn seed so a failure shrinks to a reproducible case.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import minigrad as mg

seeds = st.integers(0, 2**32 - 1)
shapes = array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
broadcast_pairs = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                min_side=1, max_side=4)


def leaf(rng, shape, low=None):
    """A float64 leaf tensor; with ``low``, values have magnitude >= low (away from 0)."""
    values = rng.standard_normal(shape)
    if low is not None:
        values = np.sign(values + 1e-12) * (low + np.abs(values))
    return mg.tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


@pytest.mark.parametrize("op", [mg.add, mg.sub, mg.mul, mg.div])
@given(shapes=broadcast_pairs, seed=seeds)
def test_binary_ops_with_broadcasting(op, shapes, seed):
    rng = np.random.default_rng(seed)
    a, b = leaf(rng, shapes.input_shapes[0]), leaf(rng, shapes.input_shapes[1], low=0.5)
    assert mg.gradcheck(op, a, b)


@pytest.mark.parametrize("op", [lambda x: x + 2.5, lambda x: 2.5 - x, lambda x: 3.0 * x,
                                lambda x: 1.5 / x, lambda x: x / 4, lambda x: -x])
@given(shape=shapes, seed=seeds)
def test_ops_with_python_scalars(op, shape, seed):
    assert mg.gradcheck(op, leaf(np.random.default_rng(seed), shape, low=0.5))


@pytest.mark.parametrize("exponent", [2, 3, -1, 0.5, 1.7])
@given(shape=shapes, seed=seeds)
def test_pow(exponent, shape, seed):
    x = mg.tensor(0.5 + np.random.default_rng(seed).random(shape), requires_grad=True,
                  dtype=np.float64)
    assert mg.gradcheck(lambda t: t ** exponent, x)


@pytest.mark.parametrize("name", ["exp", "tanh", "sigmoid", "relu"])
@given(shape=shapes, seed=seeds)
def test_unary_ops(name, shape, seed):
    x = leaf(np.random.default_rng(seed), shape, low=0.01 if name == "relu" else None)
    assert mg.gradcheck(getattr(mg, name), x)


@given(shape=shapes, seed=seeds)
def test_log(shape, seed):
    x = mg.tensor(0.2 + np.random.default_rng(seed).random(shape), requires_grad=True,
                  dtype=np.float64)
    assert mg.gradcheck(mg.log, x)


@given(shape=array_shapes(min_dims=1, max_dims=3, max_side=4), seed=seeds,
       data=st.data(), keepdims=st.booleans())
@pytest.mark.parametrize("reduce", [mg.sum, mg.mean])
def test_reductions(reduce, shape, seed, data, keepdims):
    axis = data.draw(st.none() | st.integers(-len(shape), len(shape) - 1)
                     | st.lists(st.integers(0, len(shape) - 1), unique=True).map(tuple))
    x = leaf(np.random.default_rng(seed), shape)
    assert mg.gradcheck(lambda t: reduce(t, axis=axis, keepdims=keepdims), x)


@given(shape=array_shapes(min_dims=1, max_dims=3, max_side=4), seed=seeds, data=st.data())
def test_reshape_and_transpose(shape, seed, data):
    axes = data.draw(st.permutations(range(len(shape))))
    x = leaf(np.random.default_rng(seed), shape)
    assert mg.gradcheck(lambda t: t.transpose(*axes).reshape(-1) * 1.5, x)
    assert mg.gradcheck(lambda t: t.T.reshape(1, -1), x)


@given(m=st.integers(1, 5), k=st.integers(1, 5), n=st.integers(1, 5), seed=seeds)
def test_matmul(m, k, n, seed):
    rng = np.random.default_rng(seed)
    assert mg.gradcheck(mg.matmul, leaf(rng, (m, k)), leaf(rng, (k, n)))
    # transposed operands reach the kernel as views with flipped flags
    assert mg.gradcheck(lambda a, b: a.T @ b.T, leaf(rng, (k, m)), leaf(rng, (n, k)))


@given(shape=array_shapes(min_dims=1, max_dims=3, max_side=4), seed=seeds, data=st.data())
@pytest.mark.parametrize("op", [mg.softmax, mg.log_softmax])
def test_softmax_family(op, shape, seed, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = leaf(np.random.default_rng(seed), shape)
    assert mg.gradcheck(lambda t: op(t, axis=axis), x)


@given(n=st.integers(1, 6), c=st.integers(1, 5), seed=seeds,
       reduction=st.sampled_from(["mean", "sum", "none"]))
def test_cross_entropy(n, c, seed, reduction):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, c, size=n)
    assert mg.gradcheck(lambda z: mg.cross_entropy(z, labels, reduction=reduction),
                        leaf(rng, (n, c)))


@given(shape=shapes, seed=seeds, reduction=st.sampled_from(["mean", "sum", "none"]))
def test_mse_loss(shape, seed, reduction):
    rng = np.random.default_rng(seed)
    assert mg.gradcheck(lambda p, t: mg.mse_loss(p, t, reduction=reduction),
                        leaf(rng, shape), leaf(rng, shape))


@given(shape=shapes, seed=seeds, p=st.sampled_from([0.0, 0.2, 0.5, 0.9]))
def test_dropout_with_a_fixed_mask(shape, seed, p):
    """With the mask fixed, dropout is linear and finite differences apply exactly."""
    rng = np.random.default_rng(seed)
    mask = rng.random(shape) >= p
    assert mg.gradcheck(lambda t: mg.dropout(t, p, training=True, mask=mask), leaf(rng, shape))


@given(shape=shapes, seed=seeds)
def test_astype_round_trip(shape, seed):
    """Linear through a float32 cast: a large step keeps float32 rounding negligible."""
    x = leaf(np.random.default_rng(seed), shape)
    assert mg.gradcheck(lambda t: (t.astype(np.float32) * 2).astype(np.float64), x,
                        eps=1e-2, rtol=1e-4, atol=1e-5)


def test_composite_network_with_fan_out():
    """A two-layer net whose hidden layer is used twice (fan-out)."""
    rng = np.random.default_rng(0)
    x, w1, b1, w2 = leaf(rng, (4, 3)), leaf(rng, (3, 5)), leaf(rng, (5,)), leaf(rng, (5, 2))

    def net(x, w1, b1, w2):
        h = (x @ w1 + b1).tanh()
        return mg.cross_entropy((h * h + h) @ w2, [0, 1, 1, 0])

    assert mg.gradcheck(net, x, w1, b1, w2)
