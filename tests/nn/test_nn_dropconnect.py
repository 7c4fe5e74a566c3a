"""The DropConnectLinear layer: a Linear in every way but training and inference.

Oracles: ``nn.Linear`` with the same seed (same weights, same state_dict), the dispatch
function with the seed the layer's Generator draws, the eval-mode formulas, finite differences.
"""
import numpy as np
import pytest

import minigrad
from minigrad import nn
from minigrad.nn import DropConnectLinear, Linear, Sequential
from minigrad.kernels import dispatch
from minigrad.optim import SGD
from minigrad.random import draw_seed


def inputs(shape=(4, 6), seed=0, dtype=np.float32):
    return minigrad.tensor(np.random.default_rng(seed).standard_normal(shape).astype(dtype))


def test_is_a_linear_with_the_same_weights_and_state_dict():
    layer, plain = DropConnectLinear(6, 5, rng=3), Linear(6, 5, rng=3)
    assert isinstance(layer, Linear)
    assert layer.state_dict().keys() == plain.state_dict().keys() == {"weight", "bias"}
    for name, value in plain.state_dict().items():
        np.testing.assert_array_equal(layer.state_dict()[name], value)
    other = Linear(6, 5, rng=4)
    other.load_state_dict(layer.state_dict())
    np.testing.assert_array_equal(other.eval()(inputs()).data, layer.eval()(inputs()).data)


def test_each_training_forward_draws_a_fresh_seed_after_the_init():
    layer, x = DropConnectLinear(6, 5, p=0.5, rng=7), inputs()
    first, second = layer(x).data, layer(x).data
    assert (first != second).any()
    g = np.random.default_rng(7)
    Linear(6, 5, rng=g)  # the init draws first, from the same Generator
    for out in (first, second):
        expected = dispatch.dropconnect_forward(x.data, layer.weight.data, layer.bias.data,
                                                0.5, draw_seed(g))
        np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("mode, factor", [("inverted", 1.0), ("weight_scaling", 0.75)])
def test_eval_mean_inference_is_the_mean_network(mode, factor):
    layer = DropConnectLinear(6, 5, p=0.25, mode=mode, activation="relu", rng=1,
                              dtype=np.float64).eval()
    x = inputs(dtype=np.float64)
    expected = np.maximum(x.data @ (factor * layer.weight.data) + layer.bias.data, 0)
    np.testing.assert_allclose(layer(x).data, expected)


def test_sampling_inference_averages_around_the_mean_network():
    layer = DropConnectLinear(6, 5, p=0.5, inference="sampling", samples=50, rng=2).eval()
    x = inputs()
    y = layer(x).data
    assert y.shape == (4, 5) and y.dtype == np.float32
    assert (y != DropConnectLinear(6, 5, p=0.5, rng=2).eval()(x).data).any()


@pytest.mark.parametrize("mask", ["example", "batch"])
def test_gradients_flow_through_a_network_with_the_masks_fixed(mask):
    rng = np.random.default_rng(0)
    model = Sequential(DropConnectLinear(5, 6, p=0.5, activation="relu", mask=mask, rng=rng,
                                         dtype=np.float64),
                       Linear(6, 2, rng=rng, dtype=np.float64))
    x = minigrad.tensor(rng.standard_normal((4, 5)), requires_grad=True)

    def f(t):
        model[0].rng = np.random.default_rng(11)
        return model(t)

    assert minigrad.gradcheck(f, x)


def test_max_norm_bounds_each_output_units_incoming_weights():
    """Column n of weight (in, out) is unit n's incoming vector: its norm <= c after a step."""
    layer = DropConnectLinear(20, 3, p=0.5, max_norm=0.5, init="gaussian", init_std=1.0, rng=5)
    (layer(inputs((8, 20))) ** 2).sum().backward()
    SGD(layer.parameters(), lr=0.1).step()
    norms = np.linalg.norm(layer.weight.data, axis=0)
    assert norms.shape == (3,) and (norms <= 0.5 * (1 + 1e-6)).all()


def test_repr_names_every_setting():
    text = repr(DropConnectLinear(4, 3, p=0.3, activation="relu", mask="batch",
                                  mode="weight_scaling", inference="sampling", samples=7,
                                  max_norm=2.0))
    for part in ("in_features=4", "out_features=3", "max_norm=2.0", "p=0.3",
                 "activation='relu'", "mask='batch'", "mode='weight_scaling'",
                 "inference='sampling'", "samples=7"):
        assert part in text, (part, text)
    assert nn.DropConnectLinear is DropConnectLinear


@pytest.mark.parametrize("argument, value, error", [
    ("p", 1.0, ValueError), ("p", "0.5", TypeError), ("activation", "tanh", ValueError),
    ("mask", "unit", ValueError), ("mode", "inverse", ValueError),
    ("inference", "mc", ValueError), ("samples", 0, ValueError), ("rng", "x", TypeError)])
def test_bad_settings_are_refused_at_construction(argument, value, error):
    with pytest.raises(error, match=argument if argument != "rng" else "rng"):
        DropConnectLinear(3, 2, **{argument: value})


def test_fuse_leaves_a_dropconnect_layer_alone():
    """nn.fuse folds exact Linear -> ReLU runs; a DropConnectLinear is not a plain Linear."""
    model = Sequential(DropConnectLinear(4, 3, p=0.5, rng=0), nn.ReLU())
    fused = nn.fuse(model)
    assert type(fused[0]) is DropConnectLinear and type(fused[1]) is nn.ReLU
