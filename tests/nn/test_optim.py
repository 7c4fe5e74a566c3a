"""SGD against sequences computed by hand from its docstring formula, and the schedules.

Every sequence below uses the loss L(w) = sum(w**2) / 2, whose gradient is g = w, on
the parameter w0 = (1, -2) (float64), and was worked out with pencil and paper:

    g <- g + weight_decay * w;  v <- momentum * v + g;  d <- g + momentum * v (nesterov)
    or d <- v;  w <- w - lr * d
"""
import math

import numpy as np
import pytest

import minigrad
from minigrad import optim
from minigrad.nn import Linear, Parameter, Sequential
from minigrad.optim import SGD, ExponentialDecay, LinearRamp, apply_schedules


def run_steps(steps=3, **kwargs):
    w = Parameter(np.array([1.0, -2.0]))
    opt = SGD([w], **kwargs)
    history = []
    for _ in range(steps):
        opt.zero_grad()
        ((w * w).sum() * 0.5).backward()
        opt.step()
        history.append(w.data.tolist())
    return history


def test_plain_sgd_by_hand():
    # w <- w - 0.1 w = 0.9 w
    expected = [[0.9, -1.8], [0.81, -1.62], [0.729, -1.458]]
    np.testing.assert_allclose(run_steps(lr=0.1), expected, rtol=1e-12)


def test_momentum_by_hand():
    # lr 0.1, momentum 0.5
    # 1: g = (1, -2)        v = (1, -2)                     w = (0.9, -1.8)
    # 2: g = (0.9, -1.8)    v = 0.5 (1, -2) + g = (1.4, -2.8)      w = (0.76, -1.52)
    # 3: g = (0.76, -1.52)  v = 0.5 (1.4, -2.8) + g = (1.46, -2.92) w = (0.614, -1.228)
    expected = [[0.9, -1.8], [0.76, -1.52], [0.614, -1.228]]
    np.testing.assert_allclose(run_steps(lr=0.1, momentum=0.5), expected, rtol=1e-12)


def test_nesterov_by_hand():
    # lr 0.1, momentum 0.5, d = g + 0.5 v
    # 1: g = (1, -2)            v = (1, -2)          d = (1.5, -3)
    #    w = (0.85, -1.7)
    # 2: g = (0.85, -1.7)       v = (1.35, -2.7)     d = (1.525, -3.05)
    #    w = (0.6975, -1.395)
    # 3: g = (0.6975, -1.395)   v = (1.3725, -2.745) d = (1.38375, -2.7675)
    #    w = (0.559125, -1.11825)
    expected = [[0.85, -1.7], [0.6975, -1.395], [0.559125, -1.11825]]
    np.testing.assert_allclose(run_steps(lr=0.1, momentum=0.5, nesterov=True), expected,
                               rtol=1e-12)


def test_weight_decay_by_hand():
    # lr 0.1, weight decay 0.1: g = w + 0.1 w = 1.1 w, w <- w - 0.11 w = 0.89 w
    expected = [[0.89, -1.78], [0.7921, -1.5842], [0.704969, -1.409938]]
    np.testing.assert_allclose(run_steps(lr=0.1, weight_decay=0.1), expected, rtol=1e-12)


def test_weight_decay_with_momentum_by_hand():
    # lr 0.1, momentum 0.5, weight decay 1: g = 2 w
    # 1: g = (2, -4)        v = (2, -4)          w = (0.8, -1.6)
    # 2: g = (1.6, -3.2)    v = (2.6, -5.2)      w = (0.54, -1.08)
    # 3: g = (1.08, -2.16)  v = (2.38, -4.76)    w = (0.302, -0.604)
    expected = [[0.8, -1.6], [0.54, -1.08], [0.302, -0.604]]
    np.testing.assert_allclose(run_steps(lr=0.1, momentum=0.5, weight_decay=1.0), expected,
                               rtol=1e-12)


def test_parameters_without_gradient_are_skipped_and_float32_stays_float32():
    a = Parameter(np.ones(2, dtype=np.float32))
    b = Parameter(np.ones(2, dtype=np.float32))
    a.grad = np.full(2, 0.5, dtype=np.float32)
    SGD([a, b], lr=0.1, momentum=0.9).step()
    np.testing.assert_array_equal(a.data, np.float32(1) - np.float32(0.1) * np.float32(0.5))
    assert a.data.dtype == np.float32
    np.testing.assert_array_equal(b.data, 1.0)


def test_lr_and_momentum_setters_validate():
    opt = SGD([Parameter(np.ones(1))], lr=0.1, momentum=0.5)
    opt.lr, opt.momentum = 0.05, 0.99
    assert (opt.lr, opt.momentum) == (0.05, 0.99)
    for bad, error in ((0, ValueError), (-1, ValueError), (float("nan"), ValueError),
                       ("0.1", TypeError), (True, TypeError)):
        with pytest.raises(error, match="lr"):
            opt.lr = bad
    for bad, error in ((1.0, ValueError), (-0.1, ValueError), (float("nan"), ValueError),
                       (None, TypeError)):
        with pytest.raises(error, match="momentum"):
            opt.momentum = bad
    assert (opt.lr, opt.momentum) == (0.05, 0.99)  # failed assignments changed nothing


@pytest.mark.parametrize("kwargs, error, match", [
    ({"lr": 0.0}, ValueError, "lr must be a positive finite number"),
    ({"lr": -0.1}, ValueError, "lr must be a positive finite number"),
    ({"lr": 0.1, "momentum": 1.0}, ValueError, r"momentum must be in \[0, 1\)"),
    ({"lr": 0.1, "weight_decay": -1e-4}, ValueError, "weight_decay must be a finite number >= 0"),
    ({"lr": 0.1, "nesterov": True}, ValueError, "nesterov momentum needs momentum > 0"),
    ({"lr": "fast"}, TypeError, "lr must be a real number"),
])
def test_bad_hyperparameters_raise(kwargs, error, match):
    with pytest.raises(error, match=match):
        SGD([Parameter(np.ones(1))], **kwargs)


def test_bad_parameter_lists_raise():
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], lr=0.1)
    p = Parameter(np.ones(1))
    with pytest.raises(ValueError, match="more than once"):
        SGD([p, p], lr=0.1)


def training_run(model, opt, steps, seed):
    x = np.random.default_rng(seed).normal(size=(4, 3))
    for _ in range(steps):
        opt.zero_grad()
        ((model(minigrad.tensor(x)) ** 2).mean()).backward()
        opt.step()


def test_state_dict_round_trip_continues_identically():
    def make():
        model = Sequential(Linear(3, 2, rng=0, dtype=np.float64))
        return model, SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True,
                          weight_decay=0.01)

    model, opt = make()
    training_run(model, opt, 2, seed=1)
    model_state, opt_state = model.state_dict(), opt.state_dict()
    assert {"lr", "momentum", "weight_decay", "nesterov", "velocity.0", "velocity.1"} \
        <= set(opt_state)

    clone, clone_opt = make()
    clone_opt.lr, clone_opt.momentum = 0.5, 0.1  # overwritten by the load
    clone.load_state_dict(model_state)
    clone_opt.load_state_dict(opt_state)
    training_run(model, opt, 3, seed=2)
    training_run(clone, clone_opt, 3, seed=2)
    for (name, a), (_, b) in zip(model.named_parameters(), clone.named_parameters()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)

    fresh, fresh_opt = make()  # without the velocities the run diverges from the original
    fresh.load_state_dict(model_state)
    training_run(fresh, fresh_opt, 3, seed=2)
    assert not np.array_equal(fresh[0].weight.data, clone[0].weight.data)


def test_state_dict_wrong_shape_raises():
    opt = SGD([Parameter(np.ones(3))], lr=0.1, momentum=0.9)
    state = opt.state_dict()
    state["velocity.0"] = np.zeros(4)
    with pytest.raises(ValueError, match="velocity.0 of shape"):
        opt.load_state_dict(state)


# ---- schedules ------------------------------------------------------------------------
def test_exponential_decay_values():
    schedule = ExponentialDecay(10.0, 0.5)
    assert [schedule(e) for e in range(4)] == [10.0, 5.0, 2.5, 1.25]
    assert ExponentialDecay(1.0, 0.998)(100) == pytest.approx(math.exp(100 * math.log(0.998)))
    assert ExponentialDecay(3.0, 1.0)(1000) == 3.0


def test_linear_ramp_values_then_held():
    ramp = LinearRamp(0.5, 0.99, 500)
    assert ramp(0) == 0.5
    assert ramp(100) == pytest.approx(0.5 + 0.49 * 100 / 500)  # 0.598
    assert ramp(250) == pytest.approx(0.745)
    assert ramp(499) == pytest.approx(0.99 - 0.49 / 500)
    assert ramp(500) == 0.99
    assert ramp(10_000) == 0.99
    assert LinearRamp(0.5, 0.99, 0)(0) == 0.99


def test_apply_schedules_sets_the_optimizer():
    opt = SGD([Parameter(np.ones(1))], lr=1.0, momentum=0.5)
    lr, momentum = ExponentialDecay(10.0, 0.5), LinearRamp(0.5, 0.99, 4)
    seen = []
    for epoch in range(6):
        apply_schedules(opt, epoch, lr=lr, momentum=momentum)
        seen.append((opt.lr, opt.momentum))
    np.testing.assert_allclose(seen, [(10.0, 0.5), (5.0, 0.6225), (2.5, 0.745), (1.25, 0.8675),
                                      (0.625, 0.99), (0.3125, 0.99)], rtol=1e-15)
    apply_schedules(opt, 0, momentum=momentum)  # lr untouched when not given
    assert opt.lr == 0.3125 and opt.momentum == 0.5


def test_bad_schedules_raise():
    with pytest.raises(ValueError, match="factor must be in"):
        ExponentialDecay(1.0, 0.0)
    with pytest.raises(ValueError, match="factor must be in"):
        ExponentialDecay(1.0, 1.5)
    with pytest.raises(TypeError, match="initial must be a real number"):
        ExponentialDecay("1", 0.5)
    with pytest.raises(ValueError, match="epochs must be >= 0, got -1"):
        LinearRamp(0.5, 0.99, -1)
    with pytest.raises(ValueError, match="epochs must be an int, got float 2.5"):
        LinearRamp(0.5, 0.99, 2.5)
    with pytest.raises(TypeError, match="end must be a real number"):
        LinearRamp(0.5, None, 10)


def test_schedule_pushing_momentum_to_one_is_refused_by_sgd():
    opt = SGD([Parameter(np.ones(1))], lr=1.0)
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\)"):
        apply_schedules(opt, 10, momentum=LinearRamp(0.5, 1.0, 5))


def test_module_exports():
    assert optim.SGD is SGD
