"""Bad input to the layers, max-norm and SGD: each case is a clear error or a documented result.

Part of the bad-input matrix (one file per floor: autograd/, nn/, data/, training/):
rows are entry points, columns are kinds of bad input. Each case ends in one of two
ways: a ``TypeError``/``ValueError`` (or the documented ``OSError`` subclass) whose type
is asserted together with words of its message that name the bad argument or value
(``support.bad_input.expect_error``); or a documented result checked against an oracle.
"""
import re
from fractions import Fraction

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.models import dropout_mlp
from minigrad.optim import SGD
from minigrad.training import TrainConfig

from support.bad_input import HUGE, MAX_THREADS, NON_TENSORS, expect_error, f32


# ================================================================ dropout probability
BAD_P = [
    (-0.1, ValueError), (1.5, ValueError), (float("nan"), ValueError),
    (float("inf"), ValueError), (-float("inf"), ValueError), (HUGE, ValueError),
    (-1, ValueError), (np.float32("nan"), ValueError), (np.float64(1.0000001), ValueError),
    ("0.5", TypeError), (None, TypeError), (True, TypeError), (0.5 + 0j, TypeError),
    ([0.5], TypeError), (Fraction(1, 2), TypeError), (np.array(0.5), TypeError),
]
BAD_P_IDS = ["-0.1", "1.5", "nan", "inf", "-inf", "huge-int", "-1", "np.float32-nan",
             "just-above-1", "str", "None", "bool", "complex", "list", "Fraction", "0d-array"]


def _p_words(exc):
    return ["probability p", r"\[0, 1\]"] if exc is ValueError else ["probability p",
                                                                     "real number"]


@pytest.mark.parametrize("p, exc", BAD_P, ids=BAD_P_IDS)
@pytest.mark.parametrize("entry", ["ops.dropout", "nn.Dropout", "dispatch"])
def test_dropout_probability_outside_the_unit_interval(entry, p, exc):
    from minigrad.kernels import dispatch
    calls = {
        "ops.dropout": lambda: mg.dropout(f32(3), p, True, rng=0),
        "nn.Dropout": lambda: nn.Dropout(p),
        "dispatch": lambda: dispatch.dropout_forward(np.ones(3), p, 0),
    }
    expect_error(exc, *_p_words(exc))(calls[entry])


@pytest.mark.parametrize("p", [-0.1, 1.0, float("nan"), HUGE, "0.5", True],
                         ids=["-0.1", "1", "nan", "huge-int", "str", "bool"])
@pytest.mark.parametrize("which", ["p_input", "p_hidden"])
def test_dropout_mlp_and_train_config_probabilities(which, p):
    expect_error(ValueError, which)(lambda: dropout_mlp(4, (3,), 2, **{which: p}))
    exc = TypeError if isinstance(p, (str, bool)) else ValueError
    expect_error(exc, which)(lambda: TrainConfig(**{which: p}))


@pytest.mark.parametrize("p", [0, 0.0, 1, 1.0, np.float32(0.5), np.int64(0)],
                         ids=["0", "0.0", "1", "1.0", "np.float32", "np.int64"])
def test_dropout_probability_edges_are_accepted(p):
    out = mg.dropout(f32(4, 5, fill=3.0), p, True, rng=0)
    if float(p) == 1.0:
        np.testing.assert_array_equal(out.data, np.zeros((4, 5)))
    elif float(p) == 0.0:
        np.testing.assert_array_equal(out.data, np.full((4, 5), 3.0))


# ================================================================ max-norm radius
BAD_C = [(0, ValueError), (-1.0, ValueError), (float("nan"), ValueError),
         (float("inf"), ValueError), (-float("inf"), ValueError), (HUGE, ValueError),
         (np.float64("nan"), ValueError), (-HUGE, ValueError),
         ("3", TypeError), (True, TypeError), (3 + 0j, TypeError), ([3.0], TypeError)]
BAD_C_IDS = ["0", "-1", "nan", "inf", "-inf", "huge-int", "np-nan", "-huge-int", "str",
             "bool", "complex", "list"]


@pytest.mark.parametrize("c, exc", BAD_C, ids=BAD_C_IDS)
@pytest.mark.parametrize("entry", ["MaxNorm", "Linear", "dispatch", "TrainConfig"])
def test_bad_max_norm_radius(entry, c, exc):
    from minigrad.kernels import dispatch
    calls = {
        "MaxNorm": (lambda: nn.MaxNorm(c), ["MaxNorm: c must be"]),
        "Linear": (lambda: nn.Linear(3, 2, max_norm=c), ["MaxNorm: c must be"]),
        "dispatch": (lambda: dispatch.max_norm_columns_(np.ones((2, 2)), c), ["bound c"]),
        "TrainConfig": (lambda: TrainConfig(max_norm=c), ["max_norm"]),
    }
    call, words = calls[entry]
    if entry == "TrainConfig" and exc is TypeError and isinstance(c, complex):
        words = ["max_norm"]
    expect_error(exc, *words)(call)


@pytest.mark.parametrize("shape", [(3,), (2, 2, 2), ()], ids=["1-d", "3-d", "0-d"])
def test_max_norm_needs_a_matrix(shape):
    expect_error(ValueError, "weight matrices", re.escape(str(shape)))(
        lambda: nn.MaxNorm(1.0)(nn.Parameter(np.ones(shape, np.float32))))


# ================================================================ layers
@pytest.mark.parametrize("args, kwargs, exc, words", [
    ((0, 3), {}, ValueError, ["in_features", "0"]),
    ((3, -1), {}, ValueError, ["out_features", "-1"]),
    ((2.5, 3), {}, ValueError, ["in_features", "2.5"]),
    ((True, 3), {}, ValueError, ["in_features", "True"]),
    (("3", 3), {}, ValueError, ["in_features", "'3'"]),
    ((None, 3), {}, ValueError, ["in_features", "None"]),
    ((3, 2), {"init": "xavier"}, ValueError, ["init", "xavier"]),
    ((3, 2), {"dtype": np.int32}, TypeError, ["int32"]),
    ((3, 2), {"dtype": np.float16}, TypeError, ["float16"]),
    ((3, 2), {"rng": "seed"}, TypeError, ["rng"]),
    ((3, 2), {"rng": -1}, ValueError, ["non-negative"]),
], ids=["in-zero", "out-negative", "in-float", "in-bool", "in-str", "in-None", "init",
        "dtype-int", "dtype-half", "rng-str", "rng-negative"])
def test_linear_constructor(args, kwargs, exc, words):
    expect_error(exc, *words)(lambda: nn.Linear(*args, **kwargs))


@pytest.mark.parametrize("x, exc, words", [
    (np.ones((2, 5), np.float32), ValueError, [r"\(2, 5\)", r"\(4, 3\)"]),
    (np.ones(4, np.float32), ValueError, ["2-D"]),
    (np.ones((2, 2, 4), np.float32), ValueError, ["2-D"]),
    (np.ones((2, 4), np.int64), TypeError, ["int64"]),
    (np.ones((2, 4), np.float64), TypeError, ["float32", "float64"]),
    (np.ones((2, 4), bool), TypeError, ["bool"]),
    (None, TypeError, ["NoneType"]),
], ids=["features", "1-d", "3-d", "int", "float64", "bool", "None"])
def test_linear_forward_bad_input(x, exc, words):
    expect_error(exc, *words)(lambda: nn.Linear(4, 3, rng=0)(x))


@pytest.mark.parametrize("kwargs, exc, words", [
    ({"mode": "paper"}, ValueError, ["mode", "paper"]),
    ({"mode": None}, ValueError, ["mode"]),
    ({"rng": 1.5}, TypeError, ["rng"]),
    ({"rng": -3}, ValueError, ["non-negative"]),
], ids=["mode", "mode-None", "rng-float", "rng-negative"])
def test_dropout_layer_constructor(kwargs, exc, words):
    expect_error(exc, *words)(lambda: nn.Dropout(0.5, **kwargs))


@pytest.mark.parametrize("layer", ["Dropout", "ReLU", "Sequential"])
@pytest.mark.parametrize("what", ["ndarray", "list", "None"])
def test_layers_need_tensor_input(layer, what):
    x = NON_TENSORS[what]
    module = {"Dropout": nn.Dropout(0.5), "ReLU": nn.ReLU(),
              "Sequential": nn.Sequential(nn.Dropout(0.2), nn.ReLU())}[layer]
    expect_error(TypeError, "Tensor", type(x).__name__)(lambda: module(x))


@pytest.mark.parametrize("layers, words", [
    (("relu",), ["layer 0", "str"]), ((nn.ReLU(), None), ["layer 1", "NoneType"]),
    ((nn.ReLU, ), ["layer 0", "type"]),
], ids=["str", "None", "class-not-instance"])
def test_sequential_rejects_non_modules(layers, words):
    expect_error(TypeError, *words)(lambda: nn.Sequential(*layers))


@pytest.mark.parametrize("masks, exc, words", [
    ([np.ones((2, 3))], ValueError, ["mask shape", r"\(2, 3\)", r"\(2, 4\)"]),
    ([np.full((2, 4), 2)], ValueError, ["0 .dropped. or 1"]),
    ([np.ones((2, 4), object)], TypeError, ["mask", "object"]),
    ([np.ones((2, 4), complex)], TypeError, ["mask", "complex"]),
    ([None, None], ValueError, ["2 masks for 1"]),
], ids=["shape", "value-2", "object", "complex", "count"])
def test_forward_with_bad_masks(masks, exc, words):
    model = nn.Sequential(nn.Dropout(0.5))
    expect_error(exc, *words)(lambda: nn.forward_with_masks(model, f32(2, 4), masks))
    assert model[0].replay_mask is None


# ================================================================ optimizer
@pytest.mark.parametrize("kwargs, exc, words", [
    ({"lr": 0}, ValueError, ["lr must be a positive finite number"]),
    ({"lr": -0.1}, ValueError, ["lr must be a positive finite number"]),
    ({"lr": float("nan")}, ValueError, ["lr", "nan"]),
    ({"lr": float("inf")}, ValueError, ["lr", "finite", "inf"]),
    ({"lr": HUGE}, ValueError, ["lr", "finite"]),
    ({"lr": "0.1"}, TypeError, ["lr", "real number", "str"]),
    ({"lr": None}, TypeError, ["lr", "NoneType"]),
    ({"lr": True}, TypeError, ["lr", "bool"]),
    ({"lr": 0.1 + 0j}, TypeError, ["lr", "complex"]),
    ({"lr": 0.1, "momentum": 1}, ValueError, [r"momentum must be in \[0, 1\)"]),
    ({"lr": 0.1, "momentum": -0.5}, ValueError, ["momentum", "-0.5"]),
    ({"lr": 0.1, "momentum": float("nan")}, ValueError, ["momentum", "nan"]),
    ({"lr": 0.1, "momentum": float("inf")}, ValueError, ["momentum", "inf"]),
    ({"lr": 0.1, "momentum": "0.9"}, TypeError, ["momentum", "str"]),
    ({"lr": 0.1, "weight_decay": -1e-4}, ValueError, ["weight_decay", ">= 0"]),
    ({"lr": 0.1, "weight_decay": float("nan")}, ValueError, ["weight_decay", "nan"]),
    ({"lr": 0.1, "weight_decay": float("inf")}, ValueError, ["weight_decay", "inf"]),
    ({"lr": 0.1, "weight_decay": None}, TypeError, ["weight_decay"]),
    ({"lr": 0.1, "nesterov": True}, ValueError, ["nesterov", "momentum > 0"]),
], ids=["lr-0", "lr-negative", "lr-nan", "lr-inf", "lr-huge-int", "lr-str", "lr-None",
        "lr-bool", "lr-complex", "momentum-1", "momentum-negative", "momentum-nan",
        "momentum-inf", "momentum-str", "wd-negative", "wd-nan", "wd-inf", "wd-None",
        "nesterov-without-momentum"])
def test_sgd_hyperparameters(kwargs, exc, words):
    expect_error(exc, *words)(lambda: SGD([nn.Parameter(np.ones(2))], **kwargs))


@pytest.mark.parametrize("params, exc, words", [
    ([], ValueError, ["empty parameter list"]),
    (None, TypeError, ["NoneType"]),
    ([np.ones(3)], TypeError, [r"params\[0\]", "ndarray", "Parameter"]),
    ([nn.Parameter(np.ones(2)), None], TypeError, [r"params\[1\]", "NoneType"]),
    (3, TypeError, ["int"]),
    ([mg.tensor([1.0], requires_grad=True)], TypeError, [r"params\[0\]", "Tensor", "Parameter"]),
    (nn.Parameter(np.ones(2)), TypeError, ["single Parameter"]),
    ({nn.Parameter(np.ones(2))}, TypeError, ["not a set"]),
], ids=["empty", "None", "ndarray", "None-entry", "int", "plain-tensor", "single-parameter",
        "set"])
def test_sgd_parameter_lists(params, exc, words):
    expect_error(exc, *words)(lambda: SGD(params, lr=0.1))


def test_sgd_rejects_a_repeated_parameter():
    p = nn.Parameter(np.ones(2))
    expect_error(ValueError, "more than once")(lambda: SGD([p, p], lr=0.1))


@pytest.mark.parametrize("attribute, value, exc", [
    ("lr", float("inf"), ValueError), ("lr", -1, ValueError), ("momentum", 1.0, ValueError),
    ("momentum", "high", TypeError),
], ids=["lr-inf", "lr-negative", "momentum-1", "momentum-str"])
def test_sgd_setters_validate_and_keep_the_old_value(attribute, value, exc):
    opt = SGD([nn.Parameter(np.ones(2))], lr=0.1, momentum=0.5)
    expect_error(exc, attribute)(lambda: setattr(opt, attribute, value))
    assert (opt.lr, opt.momentum) == (0.1, 0.5)


@pytest.mark.parametrize("n, exc, words", [
    (0, ValueError, ["0"]), (-2, ValueError, ["-2"]), (2**31, ValueError, [str(2**31)]),
    (100000, ValueError, ["100000", f"<= {MAX_THREADS}"]),
    (MAX_THREADS + 1, ValueError, [f"got {MAX_THREADS + 1}", "MAX_THREADS"]),
    (np.int64(10**6), ValueError, [str(10**6)]), (HUGE, ValueError, ["threads"]),
    (1.5, TypeError, ["1.5", "float"]), (np.float64(2.0), TypeError, ["float64"]),
    (True, TypeError, ["True", "bool"]), (np.bool_(True), TypeError, ["bool"]),
    ("2", TypeError, ["'2'", "str"]), (None, TypeError, ["None"]),
], ids=["0", "-2", "2**31", "100000", "MAX_THREADS+1", "np.int64-huge", "HUGE", "float",
        "np.float64", "bool", "np.bool_", "str", "None"])
def test_set_num_threads(n, exc, words):
    before = mg.get_num_threads()
    expect_error(exc, "threads", *words)(lambda: mg.set_num_threads(n))
    assert mg.get_num_threads() == before
