"""Bad input to the Tensor constructor, the ops and the losses: each case is a clear error or a documented result.

Part of the bad-input matrix (one file per floor: autograd/, nn/, data/, training/):
rows are entry points, columns are kinds of bad input. Each case ends in one of two
ways: a ``TypeError``/``ValueError`` (or the documented ``OSError`` subclass) whose type
is asserted together with words of its message that name the bad argument or value
(``support.bad_input.expect_error``); or a documented result checked against an oracle.
"""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.data import iterate_minibatches
from minigrad.optim import SGD

from support.bad_input import NON_TENSORS, expect_error, f32
from support.layouts import VIEWS as LAYOUTS


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
