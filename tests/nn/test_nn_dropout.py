"""The Dropout layer's two modes, explicit masks, MC dropout, and a whole-MLP gradient check.

Oracles: binomial statistics with fixed seeds (bounds of 4 standard deviations derived
from the variance of the units), bit-for-bit replays, and finite differences.
"""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad import nn
from minigrad.nn import Dropout, Linear, ReLU, Sequential


def as_tensor(a, requires_grad=False):
    return minigrad.tensor(a, requires_grad=requires_grad, dtype=a.dtype)


# ---- the two modes agree in expectation -----------------------------------------------
@pytest.mark.parametrize("mode", ["inverted", "weight_scaling"])
@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_training_mean_equals_eval_output(mode, p):
    """Over n units, sum(train - eval) has mean 0 and variance sum(eval_i**2) p/(1-p).

    Inverted: train_i = x_i m_i / (1-p), eval_i = x_i.  Weight scaling: train_i = x_i m_i,
    eval_i = (1-p) x_i. In both, train_i - eval_i = eval_i (m_i/(1-p) - 1), whose variance
    is eval_i**2 p / (1-p).
    """
    x = np.random.default_rng(0).normal(1.0, 1.0, size=(200, 500))
    layer = Dropout(p, mode=mode, rng=1)
    train = layer(as_tensor(x)).data
    evaluated = layer.eval()(as_tensor(x)).data
    diff = (train - evaluated).sum()
    sd = math.sqrt((evaluated ** 2).sum() * p / (1 - p))
    assert abs(diff) <= 4 * sd


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_both_modes_give_same_expected_input_to_next_layer(p):
    """The next layer sees the same mean activation in both modes (eval: both exact)."""
    x = np.full((100, 1000), 3.0)
    out = {}
    for mode in ("inverted", "weight_scaling"):
        layer = Dropout(p, mode=mode, rng=2)
        out[mode] = layer(as_tensor(x)).data.mean(), layer.eval()(as_tensor(x)).data
    # weight scaling is the inverted result times (1 - p), in training mean and in eval
    n = x.size
    sd_mean = 3.0 * math.sqrt(p / (1 - p) / n)  # sd of the inverted mean around 3
    assert abs(out["inverted"][0] - 3.0) <= 4 * sd_mean
    assert abs(out["weight_scaling"][0] - 3.0 * (1 - p)) <= 4 * sd_mean * (1 - p)
    np.testing.assert_array_equal(out["inverted"][1], x)
    np.testing.assert_array_equal(out["weight_scaling"][1], x * (1 - p))


def test_modes_draw_the_same_mask_and_differ_only_by_the_scale():
    x = np.random.default_rng(3).normal(size=(8, 16))
    inv = Dropout(0.5, mode="inverted", rng=4)
    ws = Dropout(0.5, mode="weight_scaling", rng=4)
    a, b = inv(as_tensor(x)).data, ws(as_tensor(x)).data
    np.testing.assert_array_equal(inv.last_mask, ws.last_mask)
    np.testing.assert_array_equal(a, 2 * b)
    np.testing.assert_array_equal(b, np.where(ws.last_mask, x, 0))


def test_eval_inverted_is_identity_weight_scaling_multiplies():
    x = as_tensor(np.random.default_rng(5).normal(size=(4, 6)).astype(np.float32))
    inv = Dropout(0.3).eval()
    assert inv(x) is x
    assert inv.last_mask is None
    ws = Dropout(0.3, mode="weight_scaling").eval()
    np.testing.assert_array_equal(ws(x).data, x.data * np.float32(0.7))
    assert ws(x).dtype == np.float32
    assert Dropout(0.0, mode="weight_scaling").eval()(x) is x


def test_last_mask_is_the_mask_used():
    x = np.arange(1.0, 41.0).reshape(4, 10)
    layer = Dropout(0.5, rng=6)
    out = layer(as_tensor(x)).data
    np.testing.assert_array_equal(out, np.where(layer.last_mask, 2 * x, 0))


# ---- explicit masks -------------------------------------------------------------------
def random_biases(model, rng):
    """Give every bias a nonzero value. With zero biases a row whose units were all
    dropped has pre-activations of exactly 0, on the ReLU kink, where finite differences
    disagree with any one-sided derivative."""
    for name, param in model.named_parameters():
        if name.endswith("bias"):
            param.data[...] = rng.normal(0.0, 1.0, size=param.shape)
    return model


def masked_mlp(dtype=np.float64, mode="inverted", seed=0):
    rng = np.random.default_rng(seed)
    model = Sequential(Dropout(0.2, mode=mode, rng=rng), Linear(4, 6, rng=rng, dtype=dtype),
                       ReLU(), Dropout(0.5, mode=mode, rng=rng), Linear(6, 5, rng=rng, dtype=dtype),
                       ReLU(), Dropout(0.5, mode=mode, rng=rng), Linear(5, 2, rng=rng, dtype=dtype))
    return random_biases(model, rng)


@pytest.mark.parametrize("mode", ["inverted", "weight_scaling"])
def test_forward_with_masks_collects_and_replays_bit_identically(mode):
    model = masked_mlp(mode=mode)
    x = as_tensor(np.random.default_rng(1).normal(size=(7, 4)))
    out, masks = nn.forward_with_masks(model, x)
    assert [m.shape for m in masks] == [(7, 4), (7, 6), (7, 5)]
    assert all(m.dtype == bool for m in masks)
    other, _ = nn.forward_with_masks(model, x)
    assert not np.array_equal(out.data, other.data)  # fresh masks differ...
    replay, replay_masks = nn.forward_with_masks(model, x, masks)
    np.testing.assert_array_equal(replay.data, out.data)  # ...a replay does not
    for a, b in zip(masks, replay_masks):
        np.testing.assert_array_equal(a, b)
    assert all(layer.replay_mask is None for layer in nn.dropout_layers(model))


def test_replayed_masks_give_the_same_gradients():
    model = masked_mlp()
    x = as_tensor(np.random.default_rng(2).normal(size=(3, 4)), requires_grad=True)
    out, masks = nn.forward_with_masks(model, x)
    out.sum().backward()
    first = [p.grad.copy() for p in model.parameters()] + [x.grad.copy()]
    model.zero_grad()
    x.grad = None
    replay, _ = nn.forward_with_masks(model, x, masks)
    replay.sum().backward()
    second = [p.grad for p in model.parameters()] + [x.grad]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_forward_with_masks_partial_and_hand_made_masks():
    model = Sequential(Dropout(0.5), Linear(3, 1, bias=False, dtype=np.float64))
    model[1].weight.data[...] = [[1.0], [10.0], [100.0]]
    x = as_tensor(np.ones((1, 3)))
    out, masks = nn.forward_with_masks(model, x, [np.array([[1, 0, 1]])])
    assert out.data.item() == 2 * (1 + 100)  # inverted: kept units doubled
    assert masks[0].tolist() == [[True, False, True]]
    _, drawn = nn.forward_with_masks(model, x, [None])  # None draws a fresh mask
    assert drawn[0].shape == (1, 3)


def test_masks_in_eval_mode_raise():
    model = masked_mlp().eval()
    x = as_tensor(np.ones((2, 4)))
    _, masks = nn.forward_with_masks(model, x)
    assert masks == [None, None, None]
    given_masks = [np.ones((2, 4)), np.ones((2, 6)), np.ones((2, 5))]
    with pytest.raises(ValueError, match="call model.train"):
        nn.forward_with_masks(model, x, given_masks)
    with pytest.raises(ValueError, match="got 1 masks for 3 Dropout layers"):
        nn.forward_with_masks(model.train(), x, [np.ones((2, 4))])


def test_wrong_mask_shape_raises_and_clears_the_replay():
    model = masked_mlp()
    x = as_tensor(np.ones((2, 4)))
    with pytest.raises(ValueError, match="mask shape"):
        nn.forward_with_masks(model, x, [np.ones((2, 4)), np.ones((2, 5)), np.ones((2, 5))])
    assert all(layer.replay_mask is None for layer in nn.dropout_layers(model))


# ---- gradient check of a whole MLP with fixed masks -----------------------------------
@pytest.mark.parametrize("mode", ["inverted", "weight_scaling"])
def test_mlp_gradcheck_with_fixed_masks(mode):
    model = masked_mlp(mode=mode)
    x = as_tensor(np.random.default_rng(3).normal(size=(5, 4)), requires_grad=True)
    _, masks = nn.forward_with_masks(model, x)
    assert any(not m.all() for m in masks)  # the check really uses a thinned network
    params = model.parameters()

    def f(x, *params):
        return nn.forward_with_masks(model, x, masks)[0]

    assert minigrad.gradcheck(f, x, *params)


@given(seed=st.integers(0, 2**32 - 1), p=st.sampled_from([0.1, 0.5, 0.9]))
def test_mlp_gradcheck_hypothesis_seeds(seed, p):
    rng = np.random.default_rng(seed)
    model = Sequential(Linear(3, 4, rng=rng, dtype=np.float64), ReLU(), Dropout(p, rng=rng),
                       Linear(4, 2, rng=rng, dtype=np.float64))
    random_biases(model, rng)
    x = as_tensor(rng.normal(size=(2, 3)), requires_grad=True)
    _, masks = nn.forward_with_masks(model, x)
    assert minigrad.gradcheck(lambda x, *ps: nn.forward_with_masks(model, x, masks)[0],
                              x, *model.parameters(), rng=seed)


# ---- MC dropout -----------------------------------------------------------------------
def test_mc_dropout_restores_every_mode():
    model = masked_mlp()
    model.eval()
    model[3].train()  # one dropout layer deliberately left in training mode
    before = [m.training for m in model.modules()]
    nn.mc_dropout_predict(model, as_tensor(np.ones((2, 4))), samples=3)
    assert [m.training for m in model.modules()] == before


def test_mc_dropout_restores_modes_when_the_model_raises():
    model = masked_mlp().eval()
    with pytest.raises(ValueError):
        nn.mc_dropout_predict(model, as_tensor(np.ones((2, 3))), samples=2)  # bad width
    assert not any(m.training for m in model.modules())


def test_mc_dropout_std_zero_without_dropout():
    rng = np.random.default_rng(0)
    x = as_tensor(rng.normal(size=(3, 4)))
    plain = Sequential(Linear(4, 3, rng=rng, dtype=np.float64), ReLU(),
                       Linear(3, 2, rng=rng, dtype=np.float64)).eval()
    mean, std = nn.mc_dropout_predict(plain, x, samples=5)
    np.testing.assert_array_equal(std, 0)
    np.testing.assert_array_equal(mean, plain(x).data)
    p0 = masked_mlp()
    for layer in nn.dropout_layers(p0):
        layer.p = 0.0
    mean, std = nn.mc_dropout_predict(p0.eval(), x, samples=5)
    np.testing.assert_array_equal(std, 0)
    np.testing.assert_array_equal(mean, p0(x).data)


@pytest.mark.parametrize("mode", ["inverted", "weight_scaling"])
def test_mc_dropout_mean_of_linear_model_is_eval_output(mode):
    """For y = dropout(x) @ w + b the MC mean is unbiased for the eval output.

    One pass (inverted) is y = sum_i w_i x_i m_i / (1-p) + b: variance
    sum_i (w_i x_i)**2 p / (1-p). The mean of k passes has that variance / k.
    (Weight scaling: both mean and eval carry the factor (1-p).)
    """
    p, k, d = 0.5, 2000, 50
    rng = np.random.default_rng(1)
    model = Sequential(Dropout(p, mode=mode, rng=rng), Linear(d, 1, dtype=np.float64, rng=rng))
    model[1].bias.data[...] = 0.7
    x = rng.normal(size=(4, d))
    mean, std = nn.mc_dropout_predict(model.eval(), as_tensor(x), samples=k)
    expected = model(as_tensor(x)).data
    scale = 1.0 if mode == "inverted" else 1 - p
    pass_sd = scale * np.sqrt(((x * model[1].weight.data[:, 0]) ** 2).sum(axis=1) * p / (1 - p))
    assert np.all(np.abs(mean[:, 0] - expected[:, 0]) <= 4 * pass_sd / math.sqrt(k))
    # the sample sd of k passes has relative sd about 1/sqrt(2k)
    np.testing.assert_allclose(std[:, 0], pass_sd, rtol=4 / math.sqrt(2 * k))


def test_mc_dropout_transform_and_bad_samples():
    model = masked_mlp().eval()
    x = as_tensor(np.ones((2, 4)))
    mean, _ = nn.mc_dropout_predict(model, x, samples=4, transform=minigrad.softmax)
    np.testing.assert_allclose(mean.sum(axis=1), 1.0)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="samples must be (>= 1|an int)"):
            nn.mc_dropout_predict(model, x, samples=bad)
