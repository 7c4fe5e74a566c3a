"""The SELU and AlphaDropout layers: identity in eval mode, a fresh seed per training forward.

Oracles: the functional ops with the seed the layer's Generator draws, bit for bit, and
finite differences through a small SELU network.
"""
import numpy as np
import pytest

import minigrad
from minigrad import nn
from minigrad.kernels import dispatch
from minigrad.nn import SELU, AlphaDropout, Linear, Sequential
from minigrad.ops.alpha_dropout import ALPHA_PRIME
from minigrad.random import draw_seed


def f64(array):
    return minigrad.tensor(np.asarray(array, dtype=np.float64))


def test_selu_layer_is_the_op():
    x = f64(np.linspace(-3, 3, 13))
    np.testing.assert_array_equal(SELU()(x).data, minigrad.selu(x).data)
    assert nn.SELU is SELU and repr(SELU()) == "SELU()"


def test_eval_mode_and_p_zero_are_the_identity():
    x = f64(np.ones((3, 4)))
    assert AlphaDropout(0.5, rng=0).eval()(x) is x
    assert AlphaDropout(0.0, rng=0)(x) is x


def test_each_training_forward_draws_a_fresh_seed_from_the_layers_generator():
    layer, x = AlphaDropout(0.3, rng=7), f64(np.random.default_rng(0).standard_normal((8, 16)))
    first, second = layer(x).data, layer(x).data
    assert (first != second).any()
    g = np.random.default_rng(7)  # the same Generator: the same two seeds, in order
    for out in (first, second):
        expected, _ = dispatch.alpha_dropout_forward(x.data, 0.3, draw_seed(g), ALPHA_PRIME)
        np.testing.assert_array_equal(out, expected)


def test_without_rng_the_library_generator_governs_it():
    layer, x = AlphaDropout(0.5), f64(np.ones((4, 4)))
    minigrad.manual_seed(3)
    first = layer(x).data
    minigrad.manual_seed(3)
    np.testing.assert_array_equal(layer(x).data, first)


def test_gradients_flow_through_a_selu_network_with_the_mask_fixed():
    rng = np.random.default_rng(0)
    model = Sequential(Linear(5, 6, init="lecun_normal", rng=rng, dtype=np.float64), SELU(),
                       AlphaDropout(0.2), Linear(6, 2, rng=rng, dtype=np.float64))
    x = minigrad.tensor(rng.standard_normal((4, 5)), dtype=np.float64, requires_grad=True)

    def f(t):
        model[2].rng = np.random.default_rng(11)
        return model(t)

    assert minigrad.gradcheck(f, x)


def test_p_is_required_and_checked():
    with pytest.raises(TypeError):
        AlphaDropout()
    for p in (-0.1, 1.0, float("nan")):
        with pytest.raises(ValueError, match=r"alpha dropout probability p must be in \[0, 1\)"):
            AlphaDropout(p)
    with pytest.raises(TypeError, match="real number"):
        AlphaDropout("0.5")
    with pytest.raises(TypeError, match="rng"):
        AlphaDropout(0.5, rng="seed")


def test_repr_and_export():
    assert repr(AlphaDropout(0.05)) == "AlphaDropout(p=0.05)"
    assert repr(AlphaDropout(0.1, shared_axes=1)) == "AlphaDropout(p=0.1, shared_axes=(1,))"
    assert nn.AlphaDropout is AlphaDropout
