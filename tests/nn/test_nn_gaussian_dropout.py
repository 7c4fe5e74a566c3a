"""The GaussianDropout layer: identity in eval mode, a fresh seed per training forward.

Oracles: the functional op with the seed the layer's Generator draws, bit for bit, and
finite differences through a small network.
"""
import numpy as np
import pytest

import minigrad
from minigrad import nn
from minigrad.kernels import dispatch
from minigrad.nn import GaussianDropout, Linear, ReLU, Sequential
from minigrad.random import draw_seed


def ones(shape):
    return minigrad.tensor(np.ones(shape), dtype=np.float64)


def test_eval_mode_is_the_identity():
    layer = GaussianDropout(0.5, rng=0).eval()
    x = ones((3, 4))
    assert layer(x) is x


def test_p_zero_is_the_identity_in_training_too():
    x = ones((3, 4))
    assert GaussianDropout(0.0, rng=0)(x) is x


def test_each_training_forward_draws_a_fresh_seed_from_the_layers_generator():
    layer, x = GaussianDropout(0.3, rng=7), ones((8, 16))
    first, second = layer(x).data, layer(x).data
    assert (first != second).all()
    g = np.random.default_rng(7)  # the same Generator: the same two seeds, in order
    for out in (first, second):
        expected = dispatch.gaussian_dropout_forward(x.data, 0.3, draw_seed(g))
        np.testing.assert_array_equal(out, expected)


def test_without_rng_the_library_generator_governs_it():
    layer, x = GaussianDropout(0.5), ones((4, 4))
    minigrad.manual_seed(3)
    first = layer(x).data
    minigrad.manual_seed(3)
    np.testing.assert_array_equal(layer(x).data, first)


def test_train_and_eval_switch_back_and_forth():
    layer, x = GaussianDropout(0.5, rng=1), ones((2, 50))
    assert layer.eval()(x) is x
    assert (layer.train()(x).data != 1).all()


def test_gradients_flow_through_a_network_with_the_noise_fixed():
    """Re-seeding the layer before each forward fixes its noise, so finite differences apply."""
    rng = np.random.default_rng(0)
    model = Sequential(Linear(5, 6, rng=rng, dtype=np.float64), ReLU(),
                       GaussianDropout(0.5), Linear(6, 2, rng=rng, dtype=np.float64))
    x = minigrad.tensor(rng.standard_normal((4, 5)), dtype=np.float64, requires_grad=True)

    def f(t):
        model[2].rng = np.random.default_rng(11)
        return model(t)

    assert minigrad.gradcheck(f, x)


@pytest.mark.parametrize("p", [-0.1, 1.0, float("nan")])
def test_p_outside_zero_one_is_refused_at_construction(p):
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\)"):
        GaussianDropout(p)


def test_p_and_rng_of_the_wrong_type_are_refused():
    with pytest.raises(TypeError, match="real number"):
        GaussianDropout("0.5")
    with pytest.raises(TypeError, match="rng"):
        GaussianDropout(0.5, rng="seed")


def test_repr_and_export():
    assert "p=0.25" in repr(GaussianDropout(0.25))
    assert nn.GaussianDropout is GaussianDropout
