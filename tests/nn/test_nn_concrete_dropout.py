"""The ConcreteDropout layer: wrapping, the learned p, the regulariser, state and bad input.

Oracles: the functional op with the seed the layer's Generator draws (bit for bit), hand
computations of the regulariser and of the paper's strengths, finite differences through
a small network, and the paper's claims about where the regulariser moves p.
"""
import math

import numpy as np
import pytest

import minigrad
from minigrad import nn, optim
from minigrad.nn import (ConcreteDropout, Linear, ReLU, Sequential,
                         concrete_dropout_regularization, regularizer_strengths)


def wrapped(in_features=4, out_features=3, wd=1e-2, dd=1e-1, dtype=np.float64, **kwargs):
    inner = Linear(in_features, out_features, rng=0, dtype=dtype)
    return ConcreteDropout(inner, wd, dd, rng=kwargs.pop("rng", 0), **kwargs)


def test_training_forward_is_the_layer_on_the_op_with_the_layers_seeds():
    layer = wrapped()
    x = minigrad.tensor(np.random.default_rng(1).standard_normal((5, 4)))
    first, second = layer(x).data, layer(x).data
    assert (first != second).any()
    g = np.random.default_rng(0)  # the layer's Generator, replayed:
    g.uniform()  # the initial p_logit's draw comes first, then one seed per forward
    for out in (first, second):
        dropped = minigrad.concrete_dropout(x, layer.p_logit, 0.1, training=True, rng=g)
        np.testing.assert_array_equal(out, layer.layer(dropped).data)


def test_eval_mode_is_the_wrapped_layer_alone():
    layer = wrapped().eval()
    x = minigrad.tensor(np.ones((2, 4)))
    np.testing.assert_array_equal(layer(x).data, layer.layer(x).data)


def test_initial_p_and_its_range():
    assert math.isclose(wrapped().p, 0.1, rel_tol=1e-12)  # the authors' default
    ps = [wrapped(init_min=0.2, init_max=0.6, rng=seed).p for seed in range(200)]
    assert 0.2 <= min(ps) and max(ps) <= 0.6
    # uniform on the logit scale: the median is at sigmoid of the midpoint of the logits
    mid = 1 / (1 + math.exp(-(math.log(0.2 / 0.8) + math.log(0.6 / 0.4)) / 2))
    # a Binomial(200, 1/2) count of draws below it: within 5 sd = 5 sqrt(50) of 100
    assert abs(sum(p < mid for p in ps) - 100) <= 5 * math.sqrt(50)


def test_p_logit_is_a_parameter_of_the_layers_dtype_and_p_follows_it():
    layer = wrapped(dtype=np.float32)
    assert layer.p_logit.dtype == np.float32 and layer.p_logit.shape == ()
    assert [name for name, _ in layer.named_parameters()] == ["p_logit", "layer.weight",
                                                              "layer.bias"]
    layer.p_logit.data[...] = 0.0
    assert layer.p == 0.5
    with pytest.raises(AttributeError):
        layer.p = 0.3


def test_regularization_is_the_papers_formula_on_the_wrapped_weight():
    layer = wrapped(wd=0.3, dd=0.05)
    p, w = layer.p, layer.layer.weight.data
    expected = 0.3 * (w**2).sum() / (1 - p) + 0.05 * 4 * (p * math.log(p)
                                                         + (1 - p) * math.log(1 - p))
    assert math.isclose(layer.regularization().item(), expected, rel_tol=1e-12)


def test_the_model_regularisation_sums_every_concrete_layer():
    model = Sequential(wrapped(4, 6, wd=0.1, dd=0.2), ReLU(),
                       ConcreteDropout(Linear(6, 2, rng=1, dtype=np.float64), 0.3, 0.4, rng=1))
    total = concrete_dropout_regularization(model)
    assert math.isclose(total.item(), model[0].regularization().item()
                        + model[2].regularization().item(), rel_tol=1e-14)
    total.backward()
    assert all(p.grad is not None for name, p in model.named_parameters() if "bias" not in name)


def test_the_model_regularisation_refuses_a_model_without_concrete_layers():
    with pytest.raises(ValueError, match="no ConcreteDropout"):
        concrete_dropout_regularization(Sequential(Linear(2, 2, rng=0)))
    with pytest.raises(TypeError, match="must be a minigrad.nn.Module"):
        concrete_dropout_regularization([wrapped()])


def test_regularizer_strengths_are_the_papers():
    wd, dd = regularizer_strengths(50_000, 0.5, precision=4.0)
    assert math.isclose(wd, 0.25 / (4 * 50_000)) and math.isclose(dd, 2 / (4 * 50_000))
    with pytest.raises(ValueError, match="n_train must be >= 1"):
        regularizer_strengths(0, 1.0)
    with pytest.raises(ValueError, match="length_scale must be a positive"):
        regularizer_strengths(10, 0.0)
    with pytest.raises(TypeError, match="n_train must be an int"):
        regularizer_strengths(10.0, 1.0)


def test_gradients_through_a_network_with_the_noise_fixed():
    """Re-seeding both layers before each forward fixes their noise: finite differences
    then apply to the input, every weight and both p_logits, regulariser included."""
    rng = np.random.default_rng(0)
    model = Sequential(ConcreteDropout(Linear(5, 6, rng=rng, dtype=np.float64), 0.1, 0.2,
                                       temperature=0.5, init_min=0.2, init_max=0.4),
                       ReLU(),
                       ConcreteDropout(Linear(6, 2, rng=rng, dtype=np.float64), 0.1, 0.2,
                                       temperature=0.5, init_min=0.2, init_max=0.4))
    x = minigrad.tensor(rng.standard_normal((4, 5)), requires_grad=True)
    params = model.parameters()

    def f(t, *_):
        model[0].rng, model[2].rng = np.random.default_rng(11), np.random.default_rng(12)
        return model(t).sum() + concrete_dropout_regularization(model)

    assert minigrad.gradcheck(f, x, *params)


def test_training_moves_p_and_the_regulariser_alone_moves_it_as_the_paper_says():
    """With no data term, descent on the entropy term (weights 0) raises p = 0.1 towards
    1/2, and on the weight term alone lowers it."""
    def trained(wd, dd, weight_value):
        layer = wrapped(wd=wd, dd=dd)
        layer.layer.weight.data[...] = weight_value
        opt = optim.SGD([layer.p_logit], lr=0.5)
        for _ in range(20):
            opt.zero_grad()
            layer.regularization().backward()
            opt.step()
        return layer.p

    assert 0.1 < trained(0.0, 0.1, 1.0) < 0.5
    assert trained(0.1, 0.0, 1.0) < 0.1


def test_a_momentum_sgd_step_updates_the_zero_dimensional_parameter():
    layer = wrapped(dtype=np.float32)
    opt = optim.SGD(layer.parameters(), lr=0.1, momentum=0.9)
    x = minigrad.tensor(np.ones((8, 4), np.float32))
    before = layer.p
    for _ in range(2):
        opt.zero_grad()
        (layer(x).sum() + layer.regularization()).backward()
        opt.step()
    assert layer.p != before and 0 < layer.p < 1


def test_state_dict_round_trip_restores_p():
    source, target = wrapped(init_min=0.3, init_max=0.3), wrapped()
    target.load_state_dict(source.state_dict())
    assert target.p == source.p and math.isclose(target.p, 0.3, rel_tol=1e-12)
    np.testing.assert_array_equal(target.layer.weight.data, source.layer.weight.data)


def test_repr_shows_p_and_the_wrapped_layer():
    text = repr(wrapped(wd=1e-6, dd=1e-5))
    assert text.startswith("ConcreteDropout(p=0.1, temperature=0.1, weight_regularizer=1e-06, "
                           "dropout_regularizer=1e-05")
    assert "(layer): Linear(in_features=4, out_features=3, bias=True)" in text


def test_fuse_keeps_the_wrapper_and_its_parameters():
    model = Sequential(wrapped(), ReLU())
    fused = nn.fuse(model)
    assert isinstance(fused[0], ConcreteDropout) and fused[0].p_logit is model[0].p_logit


@pytest.mark.parametrize("kwargs, error, message", [
    ({"init_min": 0.0}, ValueError, r"init_min must be in \(0, 1\)"),
    ({"init_max": 1.0}, ValueError, r"init_max must be in \(0, 1\)"),
    ({"init_min": 0.5, "init_max": 0.2}, ValueError, "init_min must be <= init_max"),
    ({"temperature": 0.0}, ValueError, "temperature must be a positive"),
    ({"temperature": -0.1}, ValueError, "temperature must be a positive"),
    ({"wd": -1e-6}, ValueError, "weight_regularizer must be a finite number >= 0"),
    ({"dd": float("inf")}, ValueError, "dropout_regularizer must be a finite number >= 0"),
    ({"rng": "seed"}, TypeError, "rng must be None"),
])
def test_bad_arguments_are_refused_at_construction(kwargs, error, message):
    with pytest.raises(error, match=message):
        wrapped(**kwargs)


def test_a_layer_without_a_weight_matrix_is_refused():
    with pytest.raises(TypeError, match="2-D weight Parameter"):
        ConcreteDropout(ReLU(), 1e-6, 1e-5)


def test_wrong_input_width_is_the_wrapped_layers_error():
    with pytest.raises(ValueError, match="do not align"):
        wrapped()(minigrad.tensor(np.ones((2, 5))))


def test_export():
    assert nn.ConcreteDropout is ConcreteDropout
    assert minigrad.concrete_dropout is minigrad.ops.concrete_dropout
