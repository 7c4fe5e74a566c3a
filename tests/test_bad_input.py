"""A bad-input matrix over the public API: every case is a clear error or a documented result.

Rows are entry points (the Tensor constructor and ops, the layers, the losses, SGD, the
constraints, the data loaders, the command line); columns are kinds of bad input (wrong
dtype, rank or shape, mismatched shapes, non-contiguous / negative-stride / read-only
views, empty batches, NaN and inf, p outside [0, 1], bad max-norm radii, bad labels, bad
hyperparameters). Each case is one test id and ends in one of two ways:

* a ``TypeError``/``ValueError`` (or the documented ``OSError`` subclass), whose type is
  asserted together with words of its message that name the bad argument or value;
* a documented result, checked against an oracle: a strided, negative-stride or read-only
  input gives exactly what its contiguous copy gives (forward and gradients), NaN and inf
  follow numpy's arithmetic, empty batches give empty results.

The matrix holds 595 cases (counted with ``pytest --collect-only -q`` when written).
The existing per-module tests (test_errors.py, test_dropout.py, test_kernels_*.py, ...)
keep their own checks; this file is the cross-product of entry points and bad inputs.
"""
import math
import re
from fractions import Fraction

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.cli import main as cli_main
from minigrad.data import DatasetNotFoundError, iterate_minibatches, load_mnist
from minigrad.models import dropout_mlp
from minigrad.optim import SGD
from minigrad.training import MAX_CLASSES, TrainConfig, evaluate, train

HUGE = 10**400  # an int no float can hold


def expect_error(exc_type, *words):
    """Return a checker: the call raises exactly ``exc_type`` and the message has ``words``."""
    def check(call):
        with pytest.raises(exc_type) as info:
            call()
        assert isinstance(info.value, exc_type)
        message = str(info.value)
        for word in words:
            assert re.search(word, message, re.IGNORECASE), (word, message)
    return check


def f32(*shape, fill=1.0):
    return mg.tensor(np.full(shape, fill, dtype=np.float32))


# ================================================================ Tensor constructor
BAD_DTYPES = [np.int8, np.int32, np.int64, np.uint16, np.bool_, object, np.complex64,
              np.complex128, np.float16, np.dtype(">f4"), np.dtype("<U3"), np.dtype("M8[s]")]


@pytest.mark.parametrize("dtype", BAD_DTYPES, ids=lambda d: np.dtype(d).str)
def test_tensor_from_array_of_wrong_dtype(dtype):
    array = np.zeros((2, 3), dtype=dtype)
    expect_error(TypeError, "dtype")(lambda: mg.tensor(array))


@pytest.mark.parametrize("value, words", [
    (None, ["NoneType"]), ("abc", ["str"]), ([1.0, "a"], ["list"]), (1 + 2j, ["complex"]),
    ([2**70], ["object"]), ({"a": 1}, ["dict"]),
], ids=["None", "str", "mixed-list", "complex", "int-beyond-int64", "dict"])
def test_tensor_from_python_values_of_wrong_type(value, words):
    expect_error(TypeError, *words)(lambda: mg.tensor(value))


@pytest.mark.parametrize("value, dtype, words", [
    ([16777217], None, ["16777217", "float32", "dtype=np.float64"]),
    ([-(2**24 + 1)], np.float32, ["-16777217"]),
    (np.array([2**53 + 1]), np.float64, ["9007199254740993", "float64"]),
    (np.array([2**63 - 1]), np.float64, ["9223372036854775807"]),
    (np.array([2**32 - 1], np.uint32), np.float32, ["4294967295"]),
], ids=["2**24+1", "-(2**24+1)", "2**53+1-f64", "int64-max-f64", "uint32-max-f32"])
def test_tensor_from_integers_the_float_cannot_hold(value, dtype, words):
    expect_error(ValueError, "has no exact", *words)(lambda: mg.tensor(value, dtype=dtype))


def test_tensor_from_ragged_list():
    expect_error(ValueError, "inhomogeneous")(lambda: mg.tensor([[1.0, 2.0], [3.0]]))


@pytest.mark.parametrize("dtype", [np.int32, np.float16, np.complex64, bool],
                         ids=["int32", "float16", "complex64", "bool"])
def test_tensor_dtype_argument_must_be_float32_or_float64(dtype):
    expect_error(TypeError, "float32 or float64")(lambda: mg.tensor([1.0], dtype=dtype))


@pytest.mark.parametrize("dtype", [np.int64, np.float16, np.bool_, np.uint8])
def test_tensor_converts_non_float_arrays_when_asked(dtype):
    array = np.arange(6).reshape(2, 3).astype(dtype)
    t = mg.tensor(array, dtype=np.float32)
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.data, array.astype(np.float32))


def test_tensor_converts_complex_never_even_when_asked():
    expect_error(TypeError, "complex")(lambda: mg.tensor(np.ones(2, np.complex64),
                                                          dtype=np.float32))


# ================================================================ ops: wrong operand types
UNARY_OPS = {
    "exp": mg.exp, "log": mg.log, "tanh": mg.tanh, "sigmoid": mg.sigmoid, "relu": mg.relu,
    "neg": mg.neg, "sum": mg.sum, "mean": mg.mean, "softmax": mg.softmax,
    "log_softmax": mg.log_softmax, "transpose": mg.transpose,
    "reshape": lambda x: mg.reshape(x, -1), "pow": lambda x: mg.pow(x, 2),
    "astype": lambda x: mg.astype(x, np.float64),
    "dropout": lambda x: mg.dropout(x, 0.5, True, rng=0),
}
NON_TENSORS = {"ndarray": np.ones((2, 3), np.float32), "list": [[1.0, 2.0]], "None": None,
               "float": 1.5}


@pytest.mark.parametrize("what", NON_TENSORS)
@pytest.mark.parametrize("op", UNARY_OPS)
def test_unary_ops_need_a_tensor(op, what):
    name = "dropout" if op == "dropout" else op
    expect_error(TypeError, f"^{name}:", "Tensor", type(NON_TENSORS[what]).__name__)(
        lambda: UNARY_OPS[op](NON_TENSORS[what]))


BINARY_OPS = {"add": mg.add, "sub": mg.sub, "mul": mg.mul, "div": mg.div,
              "matmul": mg.matmul, "mse_loss": mg.mse_loss}


@pytest.mark.parametrize("dtype", [np.int64, np.bool_, object, np.complex64, np.float16],
                         ids=["int64", "bool", "object", "complex64", "float16"])
@pytest.mark.parametrize("op", BINARY_OPS)
def test_binary_ops_refuse_arrays_of_the_wrong_dtype(op, dtype):
    other = np.ones((3, 3), dtype=dtype)
    expect_error(TypeError, "dtype")(lambda: BINARY_OPS[op](f32(3, 3), other))


@pytest.mark.parametrize("op", BINARY_OPS)
def test_binary_ops_refuse_mixed_precision(op):
    expect_error(TypeError, "float32", "float64")(
        lambda: BINARY_OPS[op](f32(3, 3), mg.tensor(np.ones((3, 3)))))


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
def test_broadcasting_mismatch_names_both_shapes(op):
    expect_error(ValueError, r"\(2,3\)|\(2, 3\)", r"\(4,\)")(
        lambda: BINARY_OPS[op](f32(2, 3), f32(4)))


@pytest.mark.parametrize("a, b, words", [
    ((2, 3), (4, 5), [r"\(2, 3\)", r"\(4, 5\)"]),
    ((3,), (3, 2), ["2-D"]),
    ((2, 3, 4), (4, 2), ["2-D"]),
    ((), (1, 1), ["2-D"]),
    ((0, 3), (4, 1), [r"\(0, 3\)", r"\(4, 1\)"]),
], ids=["inner-mismatch", "vector", "3-d", "0-d", "empty-mismatch"])
def test_matmul_rank_and_shape(a, b, words):
    expect_error(ValueError, *words)(lambda: f32(*a) @ f32(*b))


@pytest.mark.parametrize("call, exc, words", [
    (lambda: f32(2, 3).reshape(4), ValueError, [r"\(2, 3\)", r"\(4,\)"]),
    (lambda: f32(2, 3).reshape(-1, -1), ValueError, ["reshape"]),
    (lambda: f32(2, 3).sum(axis=2), ValueError, ["axis 2"]),
    (lambda: f32(2, 3).mean(axis=(0, 0)), ValueError, ["repeated axis"]),
    (lambda: f32(2, 3).transpose(0, 2), ValueError, ["permutation"]),
    (lambda: mg.softmax(f32(2, 3), axis=-3), ValueError, ["axis -3"]),
    (lambda: mg.log_softmax(f32(0), axis=1), ValueError, ["axis 1"]),
    (lambda: (mg.tensor(np.ones((2, 3)), requires_grad=True) * 2).backward(), ValueError,
     ["one-element"]),
    (lambda: (f32(2, 3) * 1).backward(np.ones((3, 2))), RuntimeError, ["require grad"]),
    (lambda: mg.tensor(np.ones((2, 3), np.float32), requires_grad=True).sum().backward(
        np.ones(2)), ValueError, ["grad shape"]),
    (lambda: f32(2) ** "2", TypeError, ["exponent"]),
    (lambda: f32(2) ** f32(2), TypeError, ["exponent"]),
    (lambda: f32(2) * True, TypeError, ["bool"]),
    (lambda: f32(2, 3).item(), ValueError, ["one element"]),
    (lambda: f32(2).astype(np.int32), TypeError, ["int32"]),
    (lambda: f32(6).reshape(3.9, 2), TypeError, ["reshape", "float", "3.9"]),
    (lambda: f32(6).reshape((2.0, 3)), TypeError, ["reshape", "float", "2.0"]),
    (lambda: f32(6).reshape(True, 6), TypeError, ["reshape", "bool", "True"]),
    (lambda: f32(6).reshape("6"), TypeError, ["reshape", "str"]),
    (lambda: f32(2, 3).sum(axis=1.5), TypeError, ["sum", "axis", "1.5"]),
    (lambda: f32(2, 3).sum(axis=(0.5,)), TypeError, ["sum", "axis", "0.5"]),
    (lambda: f32(2, 3).mean(axis=True), TypeError, ["mean", "axis", "bool"]),
    (lambda: f32(2, 3).mean(keepdims="no"), TypeError, ["mean", "keepdims", "'no'"]),
    (lambda: f32(2, 3).transpose(0.5, 1), TypeError, ["transpose", "axis", "0.5"]),
    (lambda: mg.softmax(f32(2, 3), axis=1.0), TypeError, ["softmax", "axis", "float"]),
    (lambda: mg.log_softmax(f32(2, 3), axis=True), TypeError, ["log_softmax", "bool"]),
    (lambda: bool(f32(2)), ValueError, ["more than one element", "ambiguous"]),
    (lambda: bool(f32(0)), ValueError, ["no elements", "ambiguous"]),
    (lambda: f32(2).sum().backward(retain_graph=1), TypeError, ["retain_graph"]),
], ids=["reshape-size", "reshape-two-minus-one", "sum-axis", "mean-repeated-axis",
        "transpose-axes", "softmax-axis", "log-softmax-axis-0d", "backward-non-scalar",
        "backward-no-grad", "backward-grad-shape", "pow-str", "pow-tensor", "mul-bool",
        "item", "astype-int", "reshape-float", "reshape-float-tuple", "reshape-bool",
        "reshape-str", "sum-axis-float", "sum-axis-tuple-float", "mean-axis-bool",
        "mean-keepdims-str", "transpose-float", "softmax-axis-float", "log-softmax-axis-bool",
        "bool-two-elements", "bool-empty", "backward-retain-graph-int"])
def test_op_arguments(call, exc, words):
    expect_error(exc, *words)(call)


# ================================================================ layouts: views == copies
def strided(a):
    """A view with a step on every axis (non-contiguous)."""
    big = np.zeros(tuple(2 * n for n in a.shape), dtype=a.dtype)
    view = big[tuple(slice(None, None, 2) for _ in a.shape)]
    view[...] = a
    return view


def reversed_view(a):
    """A negative-stride view (every axis reversed twice over: same values)."""
    flipped = np.ascontiguousarray(a[tuple(slice(None, None, -1) for _ in a.shape)])
    return flipped[tuple(slice(None, None, -1) for _ in a.shape)]


def transposed(a):
    """A Fortran-ordered view holding the same values."""
    return np.ascontiguousarray(a.T).T


def read_only(a):
    view = a.copy()
    view.flags.writeable = False
    return view


LAYOUTS = {"strided": strided, "negative-stride": reversed_view, "transposed": transposed,
           "read-only": read_only}

# Each entry: (input shapes, function of Tensors -> Tensor). The same function is run on
# contiguous copies and on the views; outputs and every input gradient must be equal: bit
# for bit where minigrad's kernels compute (dispatch makes the input contiguous first),
# to rounding where numpy does (numpy itself may round a strided exp or sum differently
# from a contiguous one, by an ulp: its SIMD loops and pairwise sums follow the layout).
KERNEL_OPS = {"relu", "matmul", "matmul-wide", "dropout", "transpose", "reshape", "add-broadcast",
              "mul"}
OPS_ON_VIEWS = {
    "relu": ([(5, 7)], lambda x: mg.relu(x)),
    "exp": ([(5, 7)], lambda x: mg.exp(x)),
    "tanh": ([(5, 7)], lambda x: mg.tanh(x)),
    "sigmoid": ([(5, 7)], lambda x: mg.sigmoid(x)),
    "sum-axis0": ([(5, 7)], lambda x: x.sum(axis=0)),
    "mean": ([(5, 7)], lambda x: x.mean()),
    "softmax": ([(5, 7)], lambda x: mg.softmax(x)),
    "log_softmax": ([(5, 7)], lambda x: mg.log_softmax(x, axis=0)),
    "add-broadcast": ([(5, 7), (7,)], lambda x, b: x + b),
    "mul": ([(5, 7), (5, 7)], lambda x, y: x * y),
    "matmul": ([(5, 7), (7, 3)], lambda a, b: a @ b),
    "matmul-wide": ([(9, 300), (300, 70)], lambda a, b: a @ b),
    "dropout": ([(5, 7)], lambda x: mg.dropout(x, 0.5, True, rng=3)),
    "transpose": ([(5, 7)], lambda x: x.T * 2.0),
    "reshape": ([(5, 7)], lambda x: x.reshape(7, 5) * 3.0),
    "mse_loss": ([(5, 7), (5, 7)], lambda p, t: mg.mse_loss(p, t)),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("op", OPS_ON_VIEWS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_views_give_the_results_of_contiguous_copies(op, layout, dtype):
    shapes, fn = OPS_ON_VIEWS[op]
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=s).astype(dtype) for s in shapes]
    views = [LAYOUTS[layout](a) for a in arrays]
    if layout != "read-only":
        assert not all(v.flags.c_contiguous for v in views)

    def run(inputs):
        tensors = [mg.tensor(a, requires_grad=True) for a in inputs]
        out = fn(*tensors)
        seed = np.random.default_rng(1).normal(size=out.shape).astype(dtype)
        out.backward(seed)
        return out.data, [t.grad for t in tensors]

    out_copy, grads_copy = run(arrays)
    out_view, grads_view = run(views)
    assert out_view.dtype == dtype
    blas = op.startswith("matmul") and mg.backend_info()["kernels"]["matmul"] == "numpy"
    eps = np.finfo(dtype).eps
    if op in KERNEL_OPS and not blas:
        check = np.testing.assert_array_equal
    elif blas:  # numpy's BLAS picks its own summation order per layout
        def check(a, b):
            np.testing.assert_allclose(a, b, rtol=64 * eps, atol=64 * eps * np.abs(b).max())
    else:
        def check(a, b):
            np.testing.assert_allclose(a, b, rtol=8 * eps, atol=8 * eps)
    check(out_view, out_copy)
    for g_view, g_copy in zip(grads_view, grads_copy):
        check(g_view, g_copy)
    for v, a in zip(views, arrays):  # inputs untouched
        np.testing.assert_array_equal(v, a)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_linear_and_cross_entropy_on_views(layout):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(6, 4)).astype(np.float32)
    labels = np.array([0, 2, 1, 1, 0, 2])
    results = []
    for data, y in ((x, labels), (LAYOUTS[layout](x), LAYOUTS[layout](labels))):
        layer = nn.Linear(4, 3, rng=5)
        loss = mg.cross_entropy(layer(mg.tensor(data)), y)
        loss.backward()
        results.append((loss.data, layer.weight.grad, layer.bias.grad))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_parameter_views_train_like_contiguous_ones(layout):
    """Parameters from views: SGD and max-norm update them in place (a contiguous copy)."""
    rng = np.random.default_rng(3)
    w0 = (5 * rng.normal(size=(6, 4))).astype(np.float32)
    grad = rng.normal(size=(6, 4)).astype(np.float32)
    weights = []
    for data in (w0, LAYOUTS[layout](w0)):
        p = nn.Parameter(data, constraint=nn.MaxNorm(1.0))
        assert p.data.flags.c_contiguous and p.data.flags.writeable
        opt = SGD([p], lr=0.1, momentum=0.9)
        for _ in range(3):
            p.grad = grad.copy()
            opt.step()
        weights.append(p.data)
    np.testing.assert_array_equal(weights[0], weights[1])
    assert np.all(np.linalg.norm(weights[1], axis=0) <= 1.0 + 1e-6)


# ================================================================ empty batches
@pytest.mark.parametrize("op, shape, out_shape", [
    ("relu", (0, 4), (0, 4)), ("exp", (0, 4), (0, 4)), ("sigmoid", (3, 0), (3, 0)),
    ("dropout", (0, 4), (0, 4)), ("softmax", (0, 4), (0, 4)), ("sum", (0, 4), ()),
    ("matmul-empty-rows", (0, 4), (0, 2)), ("matmul-empty-inner", (3, 0), (3, 2)),
    ("linear", (0, 4), (0, 2)), ("transpose", (0, 4), (4, 0)),
])
def test_empty_batches_give_empty_results_and_zero_gradients(op, shape, out_shape):
    x = mg.tensor(np.ones(shape, np.float32), requires_grad=True)
    if op.startswith("matmul"):
        w = mg.tensor(np.ones((shape[1], 2), np.float32), requires_grad=True)
        out = x @ w
    elif op == "linear":
        layer = nn.Linear(4, 2, rng=0)
        out = layer(x)
    elif op == "dropout":
        out = mg.dropout(x, 0.5, True, rng=0)
    elif op == "transpose":
        out = x.T
    else:
        out = getattr(mg, op)(x)
    assert out.shape == out_shape
    out.backward(np.ones(out_shape, np.float32))
    assert x.grad.shape == shape
    if op.startswith("matmul"):
        np.testing.assert_array_equal(w.grad, np.zeros((shape[1], 2)))
        np.testing.assert_array_equal(out.data, np.zeros(out_shape))
    if op == "linear":
        np.testing.assert_array_equal(layer.weight.grad, np.zeros((4, 2)))
        np.testing.assert_array_equal(layer.bias.grad, np.zeros(2))


def test_mean_of_an_empty_tensor_is_nan_as_numpy():
    with pytest.warns(RuntimeWarning):
        assert np.isnan(f32(0, 3).mean().item())


@pytest.mark.parametrize("call, words", [
    (lambda: mg.cross_entropy(f32(0, 3), np.zeros(0, int)), ["empty batch"]),
    (lambda: mg.mse_loss(f32(0, 3), f32(0, 3)), ["empty"]),
    (lambda: mg.cross_entropy(f32(2, 0), [0, 0]), [r"in \[0, 0\)"]),
], ids=["cross-entropy", "mse", "zero-classes"])
def test_losses_of_empty_batches_are_errors(call, words):
    expect_error(ValueError, *words)(call)


def test_minibatches_of_an_empty_dataset():
    assert list(iterate_minibatches(np.zeros((0, 3)), np.zeros(0), 4)) == []


# ================================================================ NaN and inf
SPECIALS = np.array([[np.nan, 1.0, -np.inf], [np.inf, -2.0, 0.5]], dtype=np.float32)


@pytest.mark.parametrize("op, oracle", [
    ("relu", lambda x: np.where(x <= 0, 0, x)),
    ("exp", np.exp),
    ("tanh", np.tanh),
    ("neg", np.negative),
], ids=["relu", "exp", "tanh", "neg"])
def test_nan_and_inf_follow_numpy_elementwise(op, oracle):
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(getattr(mg, op)(mg.tensor(SPECIALS)).data,
                                      oracle(SPECIALS))


def test_nan_and_inf_through_matmul_follow_numpy():
    w = np.array([[1.0, 0.0], [2.0, 1.0], [0.0, 3.0]], np.float32)
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal((mg.tensor(SPECIALS) @ mg.tensor(w)).data, SPECIALS @ w)


def test_dropped_nan_and_inf_are_exactly_zero_kept_ones_stay():
    x = mg.tensor(np.tile(SPECIALS, (50, 1)))
    out, keep = mg.dropout(x, 0.5, True, rng=0, return_mask=True)
    assert np.all(out.data[~keep] == 0)
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(out.data[keep], (x.data * 2)[keep])


def test_nan_logits_give_nan_loss_inf_logits_follow_the_stable_formula():
    loss = mg.cross_entropy(mg.tensor([[np.nan, 0.0], [1.0, 2.0]]), [0, 1], reduction="none")
    assert np.isnan(loss.data[0]) and np.isfinite(loss.data[1])
    with np.errstate(all="ignore"):
        # +inf - max(+inf) = nan: the shifted log-softmax is undefined there, as in numpy
        loss = mg.cross_entropy(mg.tensor([[np.inf, 0.0]]), [1], reduction="none")
        assert np.isnan(loss.data[0])
        loss = mg.cross_entropy(mg.tensor([[-np.inf, 0.0]]), [1], reduction="none")
        assert loss.data[0] == 0.0


def test_max_norm_leaves_nan_columns_and_projects_inf_columns_as_documented():
    w = np.array([[np.nan, np.inf, 3.0], [1.0, 1.0, 4.0]], np.float32)
    p = nn.Parameter(w.copy())
    with np.errstate(all="ignore"):
        nn.MaxNorm(1.0)(p)
    assert np.isnan(p.data[0, 0]) and p.data[1, 0] == 1.0          # untouched
    assert np.isnan(p.data[0, 1]) and p.data[1, 1] == 0.0          # inf/inf, 1 * 0
    np.testing.assert_allclose(p.data[:, 2], [0.6, 0.8], rtol=1e-6)


def test_sgd_step_with_nan_gradient_gives_nan_weights_not_an_exception():
    p = nn.Parameter(np.ones((2, 2), np.float32), constraint=nn.MaxNorm(1.0))
    p.grad = np.full((2, 2), np.nan, np.float32)
    SGD([p], lr=0.1, momentum=0.5).step()
    assert np.isnan(p.data).all()


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


# ================================================================ labels
BAD_LABELS = [
    (np.array([0.0, 1.0]), TypeError, ["labels", "float64"]),
    (np.array([True, False]), TypeError, ["labels", "bool"]),
    (np.array(["0", "1"]), TypeError, ["labels"]),
    (np.array([0, 1], dtype=object), TypeError, ["labels", "object"]),
    (np.array([0, 1], dtype=np.complex64), TypeError, ["labels", "complex"]),
    (mg.tensor([0.0, 1.0]), TypeError, ["labels", "Tensor"]),
    (None, TypeError, ["labels"]),
    ([0, 3], ValueError, [r"\[0, 3\)", "3"]),
    ([-1, 0], ValueError, [r"\[0, 3\)", "-1"]),
    (np.array([2**63, 0], dtype=np.uint64), ValueError, [r"\[0, 3\)"]),
    (np.array([0, 1, 2]), ValueError, [r"shape \(2,\)"]),
    (np.array([[0, 1]]), ValueError, [r"shape \(2,\)", r"\(1, 2\)"]),
    (np.array(1), ValueError, [r"shape \(2,\)"]),
    (np.array([], dtype=int), ValueError, [r"shape \(2,\)"]),
]
BAD_LABEL_IDS = ["float", "bool", "str", "object", "complex", "Tensor", "None", "too-big",
                 "negative", "uint64-huge", "too-long", "2-d", "0-d", "empty"]


@pytest.mark.parametrize("labels, exc, words", BAD_LABELS, ids=BAD_LABEL_IDS)
def test_cross_entropy_bad_labels(labels, exc, words):
    expect_error(exc, *words)(lambda: mg.cross_entropy(f32(2, 3), labels))


@pytest.mark.parametrize("labels", [np.array([0, 2], np.uint8), np.array([0, 2], np.int8),
                                    [0, 2], (0, 2), np.array([0, 2], np.uint64)],
                         ids=["uint8", "int8", "list", "tuple", "uint64"])
def test_cross_entropy_accepts_any_integer_labels(labels):
    loss = mg.cross_entropy(mg.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 3.0]]), labels)
    expected = np.mean([np.log(2 + np.e) - 0.0, np.log(np.e + 1 + np.e**3) - 3.0])
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-6)


@pytest.mark.parametrize("logits, words", [((3,), [r"\(N, C\)"]), ((2, 3, 1), [r"\(N, C\)"]),
                                           ((), [r"\(N, C\)"])], ids=["1-d", "3-d", "0-d"])
def test_cross_entropy_logits_rank(logits, words):
    expect_error(ValueError, *words)(lambda: mg.cross_entropy(f32(*logits), [0]))


@pytest.mark.parametrize("reduction", ["avg", None, "MEAN"])
def test_loss_reduction(reduction):
    expect_error(ValueError, "reduction")(lambda: mg.cross_entropy(f32(2, 3), [0, 1],
                                                                   reduction=reduction))
    expect_error(ValueError, "reduction")(lambda: mg.mse_loss(f32(2), f32(2),
                                                              reduction=reduction))


@pytest.mark.parametrize("target, exc, words", [
    (np.ones((2, 3), np.int64), TypeError, ["int64"]),
    (f32(3, 2), ValueError, [r"\(2, 3\)", r"\(3, 2\)"]),
    (f32(3), ValueError, [r"\(2, 3\)", r"\(3,\)"]),
    (mg.tensor(np.ones((2, 3))), TypeError, ["float32", "float64"]),
], ids=["int-target", "transposed-shape", "broadcastable-shape", "mixed-precision"])
def test_mse_bad_targets(target, exc, words):
    expect_error(exc, *words)(lambda: mg.mse_loss(f32(2, 3), target))


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


MAX_THREADS = mg.kernels.backend.MAX_THREADS


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


# ================================================================ data
@pytest.mark.parametrize("x, y, batch_size, kwargs, exc, words", [
    (np.ones((5, 2)), np.ones(5), 0, {}, ValueError, ["batch_size must be >= 1", "0"]),
    (np.ones((5, 2)), np.ones(5), -3, {}, ValueError, ["batch_size", "-3"]),
    (np.ones((5, 2)), np.ones(5), 2.5, {}, TypeError, ["batch_size", "float"]),
    (np.ones((5, 2)), np.ones(5), float("nan"), {}, TypeError, ["batch_size", "float"]),
    (np.ones((5, 2)), np.ones(5), True, {}, TypeError, ["batch_size", "bool"]),
    (np.ones((5, 2)), np.ones(5), "4", {}, TypeError, ["batch_size", "str"]),
    (np.ones((5, 2)), np.ones(5), None, {}, TypeError, ["batch_size", "NoneType"]),
    (np.ones((5, 2)), np.ones(4), 2, {}, ValueError, [r"\(5, 2\)", r"\(4,\)"]),
    (np.float32(1), np.ones(1), 2, {}, ValueError, ["sample axis"]),
    (np.ones((5, 2)), 3, 2, {}, ValueError, ["sample axis"]),
    (np.ones((5, 2)), np.ones(5), 2, {"rng": "seed"}, TypeError, ["rng"]),
    (np.ones((5, 2)), np.ones(5), 2, {"rng": -1}, ValueError, ["non-negative"]),
    (np.ones((5, 2)), np.ones(5), 2, {"rng": 1.5}, TypeError, ["rng"]),
], ids=["bs-0", "bs-negative", "bs-float", "bs-nan", "bs-bool", "bs-str", "bs-None",
        "length-mismatch", "scalar-x", "scalar-y", "rng-str", "rng-negative", "rng-float"])
def test_iterate_minibatches_bad_arguments(x, y, batch_size, kwargs, exc, words):
    expect_error(exc, *words)(lambda: iterate_minibatches(x, y, batch_size, **kwargs))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_minibatches_of_views_equal_those_of_copies(layout):
    x = np.arange(24, dtype=np.float32).reshape(8, 3)
    y = np.arange(8)
    copies = list(iterate_minibatches(x, y, 3, rng=4))
    views = list(iterate_minibatches(LAYOUTS[layout](x), LAYOUTS[layout](y), 3, rng=4))
    assert len(copies) == len(views) == 3
    for (xa, ya), (xb, yb) in zip(copies, views):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


@pytest.fixture
def no_data_anywhere(monkeypatch, tmp_path):
    """No $MINIGRAD_DATA and an empty private cache: nothing is found, nothing downloaded."""
    monkeypatch.delenv("MINIGRAD_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path


@pytest.mark.parametrize("case", ["int-path", "bytes-path", "file-path", "missing-dir",
                                  "empty-dir", "garbage-files", "truncated-gz",
                                  "mirrors-str", "mirrors-empty", "mirrors-ftp", "dataset"])
def test_load_mnist_bad_paths_and_arguments(case, no_data_anywhere):
    tmp = no_data_anywhere
    names = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
             "t10k-labels-idx1-ubyte")
    if case in ("garbage-files", "truncated-gz"):
        for name in names:
            content = b"garbage" * 10 if case == "garbage-files" else b"\x1f\x8b\x08\x00abc"
            (tmp / (name + ".gz")).write_bytes(content)
    file_path = tmp / "a-file"
    file_path.write_bytes(b"x")
    from minigrad.data import load_dataset
    from minigrad.data.locate import ChecksumError
    from minigrad.data.idx import IDXError
    cases = {
        "int-path": (lambda: load_mnist(3, download=False), TypeError, ["path", "int"]),
        "bytes-path": (lambda: load_mnist(b"/tmp", download=False), TypeError, ["path"]),
        "file-path": (lambda: load_mnist(file_path, download=False), NotADirectoryError,
                      ["a-file", "not a directory"]),
        "missing-dir": (lambda: load_mnist(tmp / "nope", download=False), DatasetNotFoundError,
                        ["MNIST not found", "nope", "download=False"]),
        "empty-dir": (lambda: load_mnist(tmp / "xdg", download=False), DatasetNotFoundError,
                      ["missing: train-images-idx3-ubyte"]),
        "garbage-files": (lambda: load_mnist(tmp, download=False), ChecksumError,
                          ["train-images-idx3-ubyte.gz", "checksum mismatch"]),
        "truncated-gz": (lambda: load_mnist(tmp, download=False), IDXError,
                         ["train-images-idx3-ubyte.gz", "gzip"]),
        "mirrors-str": (lambda: load_mnist(tmp, mirrors="http://x/"), TypeError,
                        ["mirrors", "list"]),
        "mirrors-empty": (lambda: load_mnist(tmp, mirrors=[]), ValueError, ["mirrors"]),
        "mirrors-ftp": (lambda: load_mnist(tmp, mirrors=["ftp://x/"]), ValueError,
                        ["ftp://x/", "http"]),
        "dataset": (lambda: load_dataset("cifar10", tmp, download=False), ValueError,
                    ["unknown dataset", "cifar10"]),
    }
    call, exc, words = cases[case]
    expect_error(exc, *words)(call)


# ================================================================ train() and evaluate(): datasets
def tiny_dataset():
    rng = np.random.default_rng(0)
    x = rng.random((20, 4), dtype=np.float32)
    return [x[:12], np.arange(12) % 3, x[12:], np.arange(8) % 3]


def with_nan(a, value=np.nan):
    a = a.copy()
    a[1, 2] = value
    return a


TINY_CONFIG = dict(hidden=(4,), batch_size=4, epochs=1)
BAD_DATASETS = {
    "nan-pixel-train": (0, lambda x: with_nan(x), ValueError, ["x_train", "NaN"]),
    "inf-pixel-test": (2, lambda x: with_nan(x, np.inf), ValueError, ["x_test", "infinity"]),
    "f64-beyond-f32": (0, lambda x: with_nan(x.astype(np.float64), 1e39), ValueError,
                       ["x_train", "float32 range"]),
    "uint8-images": (0, lambda x: (x * 255).astype(np.uint8), TypeError, ["x_train", "uint8"]),
    "float16-images": (0, lambda x: x.astype(np.float16), TypeError, ["x_train", "float16"]),
    "1-d-images": (0, lambda x: x[:, 0], ValueError, ["x_train", r"\(N, features\)"]),
    "no-features": (0, lambda x: x[:, :0], ValueError, ["x_train", "features >= 1"]),
    "float-labels": (1, lambda y: y.astype(float), TypeError, ["y_train", "integer"]),
    "label-count": (3, lambda y: y[:-1], ValueError, ["y_test", r"shape \(8,\)"]),
    "negative-label": (1, lambda y: y - 1, ValueError, ["y_train", "label -1"]),
    "huge-label": (1, lambda y: y + 10**8, ValueError, ["y_train", "MAX_CLASSES"]),
    "label-at-max-classes": (3, lambda y: y + MAX_CLASSES, ValueError, ["y_test", "65538"]),
    "empty-test-set": (2, lambda x: x[:0], ValueError, ["x_test", "empty"]),
}


@pytest.mark.parametrize("case", BAD_DATASETS)
def test_train_refuses_bad_datasets_before_building_the_model(case):
    which, change, exc, words = BAD_DATASETS[case]
    data = tiny_dataset()
    data[which] = change(data[which])
    expect_error(exc, *words)(lambda: train(TrainConfig(**TINY_CONFIG), tuple(data)))


@pytest.mark.parametrize("case", [c for c, (which, *_) in BAD_DATASETS.items() if which >= 2])
def test_evaluate_refuses_the_same_test_sets(case):
    which, change, exc, words = BAD_DATASETS[case]
    data = tiny_dataset()
    data[which] = change(data[which])
    words = [w.replace("_test", "") for w in words]
    model = dropout_mlp(4, (4,), 3, rng=0, dropout_rng=0)
    expect_error(exc, *words)(lambda: evaluate(model, data[2], data[3]))


def test_evaluate_of_nan_weights_is_an_error_not_class_0():
    model = dropout_mlp(4, (4,), 3, rng=0, dropout_rng=0)
    model[1].weight.data[:] = np.nan
    data = tiny_dataset()
    expect_error(FloatingPointError, "NaN or infinite", "1.weight")(
        lambda: evaluate(model, data[2], data[3]))


# ================================================================ command line
BAD_FLAGS = [
    (["--lr", "nan"], "--lr"), (["--lr", "inf"], "--lr"), (["--lr", "-1"], "--lr"),
    (["--lr", "1e400"], "--lr"), (["--lr", ""], "--lr"),
    (["--max-norm", "nan"], "--max-norm"), (["--max-norm", "inf"], "--max-norm"),
    (["--max-norm", "-inf"], "--max-norm"), (["--max-norm", "three"], "--max-norm"),
    (["--input-dropout", "nan"], "--input-dropout"), (["--input-dropout", "1"], "--input-dropout"),
    (["--input-dropout", "-inf"], "--input-dropout"), (["--hidden-dropout", "1.0"], "--hidden-dropout"),
    (["--hidden-dropout", "half"], "--hidden-dropout"),
    (["--batch-size", "2.5"], "--batch-size"), (["--batch-size", "abc"], "--batch-size"),
    (["--batch-size", "-1"], "--batch-size"), (["--epochs", "0"], "--epochs"),
    (["--epochs", "1e3"], "--epochs"), (["--seed", "-1"], "--seed"), (["--seed", "x"], "--seed"),
    (["--threads", "0"], "--threads"), (["--threads", "two"], "--threads"),
    (["--threads", "3000000000"], f"--threads: must be <= {MAX_THREADS}"),
    (["--threads", str(MAX_THREADS + 1)], f"--threads: must be <= {MAX_THREADS}"),
    (["--lr-decay", "1e-300", "--epochs", "3"], "epoch 3 underflows"),
    (["--momentum-start", "1"], "--momentum-start"), (["--momentum-start", "nan"], "--momentum-start"),
    (["--momentum-end", "-0.1"], "--momentum-end"), (["--momentum-epochs", "-1"], "--momentum-epochs"),
    (["--lr-decay", "0"], "--lr-decay"), (["--lr-decay", "nan"], "--lr-decay"),
    (["--lr-anneal-epochs", "0"], "--lr-anneal-epochs"),
    (["--lr-anneal-epochs", "2.5"], "--lr-anneal-epochs"),
    (["--lr-anneal-epochs", "0"], "--lr-anneal-epochs"),
    (["--lr-anneal-epochs", "2.5"], "--lr-anneal-epochs"),
    (["--hidden", "2.5"], "--hidden"), (["--hidden", "64", "0"], "--hidden"),
    (["--train-subset", "0"], "--train-subset"), (["--dataset", ""], "--dataset"),
    (["--dropout-mode", "none"], "--dropout-mode"), (["--bogus"], "unrecognized arguments"),
    (["--lr"], "--lr"),
]


@pytest.mark.parametrize("flags, word", BAD_FLAGS, ids=[" ".join(f) or "empty" for f, _ in BAD_FLAGS])
def test_cli_bad_flags_exit_2_naming_the_flag(flags, word, capsys):
    with pytest.raises(SystemExit) as info:
        cli_main(["train", *flags])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert word in err and "Traceback" not in err, err


@pytest.mark.parametrize("argv, word", [(["train", "--resume"], "--resume"),
                                        (["fit"], "invalid choice"), (["--epochs", "1"], "COMMAND")],
                         ids=["resume-without-path", "unknown-command", "no-command"])
def test_cli_bad_command_lines(argv, word, capsys):
    with pytest.raises(SystemExit) as info:
        cli_main(argv)
    assert info.value.code == 2
    assert word in capsys.readouterr().err

