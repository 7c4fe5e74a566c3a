"""Max-norm: which axis it bounds, that it bounds it, and what it leaves alone.

minigrad's Linear weight is (in_features, out_features): the incoming weights of output
unit j are the COLUMN weight[:, j]. Bounding rows instead is the classic bug, so the
tests below use matrices whose rows and columns lie on opposite sides of the ball.
"""
import math

import numpy as np
import pytest

import minigrad
from minigrad import optim
from minigrad.nn import Linear, MaxNorm, Parameter, Sequential


def column_norms(w):
    return np.sqrt((w.astype(np.float64) ** 2).sum(axis=0))


def big_gradient_step(model, lr, constraint=None):
    opt = optim.SGD(model.parameters(), lr=lr, constraint=constraint)
    x = minigrad.tensor(np.random.default_rng(0).normal(size=(8, model[0].in_features))
                        .astype(np.float32))
    for _ in range(3):
        opt.zero_grad()
        (model(x) ** 2).sum().backward()
        opt.step()
    return opt


@pytest.mark.parametrize("c", [0.5, 3.0])
def test_linear_max_norm_bounds_every_column_after_huge_steps(c):
    model = Sequential(Linear(20, 7, max_norm=c, rng=0))
    big_gradient_step(model, lr=100.0)
    norms = column_norms(model[0].weight.data)
    assert np.all(norms <= c * (1 + 1e-6))
    assert np.all(norms >= c * (1 - 1e-6))  # such steps push every column out to the ball


def test_columns_inside_the_ball_are_untouched_bit_for_bit():
    w = np.random.default_rng(1).normal(size=(6, 5)).astype(np.float32)
    w[:, [1, 3]] *= 0.01  # norms well below 1
    w[:, [0, 2, 4]] *= 10.0  # norms well above 1
    param = Parameter(w.copy())
    MaxNorm(1.0)(param)
    np.testing.assert_array_equal(param.data[:, [1, 3]], w[:, [1, 3]])
    np.testing.assert_allclose(column_norms(param.data)[[0, 2, 4]], 1.0, rtol=1e-6)
    # a projected column keeps its direction: w * (c / ||w||)
    expected = w[:, 0] / np.linalg.norm(w[:, 0].astype(np.float64))
    np.testing.assert_allclose(param.data[:, 0], expected, rtol=1e-6)


def test_axis_long_rows_short_columns_untouched():
    # shape (2, 50), every entry 0.5: row norm 0.5 * sqrt(50) = 3.54, column norm 0.71
    w = np.full((2, 50), 0.5, dtype=np.float32)
    param = Parameter(w.copy())
    MaxNorm(1.0)(param)
    np.testing.assert_array_equal(param.data, w)


def test_axis_long_columns_short_rows_projected():
    # shape (50, 2), every entry 0.5: column norm 3.54 > 1, row norm 0.71
    param = Parameter(np.full((50, 2), 0.5, dtype=np.float32))
    MaxNorm(1.0)(param)
    np.testing.assert_allclose(param.data, 1 / math.sqrt(50), rtol=1e-6)
    np.testing.assert_allclose(column_norms(param.data), 1.0, rtol=1e-6)


def test_linear_layer_axis_is_the_incoming_weights_of_an_output_unit():
    layer = Linear(3, 2, bias=False, max_norm=1.0, rng=0)
    layer.weight.data[...] = [[3.0, 0.1], [4.0, 0.1], [0.0, 0.1]]  # unit 0 has norm 5
    layer.weight.constraint(layer.weight)
    out = layer(minigrad.tensor(np.eye(3, dtype=np.float32))).data
    # column 0 scaled to (0.6, 0.8, 0); column 1 (norm 0.17) unchanged
    np.testing.assert_allclose(out[:, 0], [0.6, 0.8, 0.0], rtol=1e-6)
    np.testing.assert_array_equal(out[:, 1], np.float32(0.1))


def test_biases_are_never_constrained():
    for kwargs, constraint in (({"max_norm": 0.1}, None), ({}, MaxNorm(0.1))):
        model = Sequential(Linear(4, 3, rng=0, **kwargs))
        model[0].bias.data[...] = 5.0
        big_gradient_step(model, lr=1e-3, constraint=constraint)
        assert np.linalg.norm(model[0].bias.data) > 1.0
        assert np.all(column_norms(model[0].weight.data) <= 0.1 * (1 + 1e-6))


def test_optimizer_constraint_applies_to_2d_params_only():
    weight = Parameter(np.full((4, 2), 10.0))
    vector = Parameter(np.full(4, 10.0))
    for p in (weight, vector):
        p.grad = np.zeros_like(p.data)
    optim.SGD([weight, vector], lr=0.1, constraint=MaxNorm(2.0)).step()
    np.testing.assert_allclose(column_norms(weight.data), 2.0)
    np.testing.assert_array_equal(vector.data, 10.0)


def test_maxnorm_on_a_vector_called_directly_raises():
    with pytest.raises(ValueError, match="weight matrices"):
        MaxNorm(1.0)(Parameter(np.ones(3)))


@pytest.mark.parametrize("c, error", [(0, ValueError), (-1.0, ValueError),
                                      (float("nan"), ValueError), (float("inf"), ValueError),
                                      ("3", TypeError), (None, TypeError), (True, TypeError)])
def test_maxnorm_rejects_bad_c(c, error):
    with pytest.raises(error, match="MaxNorm: c must be"):
        MaxNorm(c)
    if c is not None:  # Linear(max_norm=None) means no constraint
        with pytest.raises(error):
            Linear(2, 2, max_norm=c)


def test_maxnorm_repr():
    assert repr(MaxNorm(3)) == "MaxNorm(c=3.0)"
