"""Misuse of the autograd engine is refused clearly, and correct programs compute as before.

Each section is one item of the issue "misuse: refuse clearly, compute nothing wrong":
grad mode per thread, in-place changes between a forward and its backward, a second
backward through a freed graph, assignments that would unregister a Parameter, SGD's
parameter lists, steps and state, and the small ones (``x ** 0`` at 0, float shape and
axis arguments, ``bool(tensor)``, integers float32 cannot hold). Where PyTorch is
installed it is the oracle for the behaviour being matched.
"""
import re
import threading
import weakref

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.optim import SGD


def leaf(values, dtype=np.float64):
    return mg.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


# ================================================================ grad mode per thread
def run_threads(*targets):
    errors = []

    def guarded(target):
        try:
            target()
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    if errors:
        raise errors[0]


def test_overlapping_no_grad_blocks_in_two_threads_leave_recording_on():
    """T1 enters, T2 enters, T1 leaves, T2 leaves: with one global flag T2 restored
    the False it saw on entry, and every later backward in the process failed."""
    barrier = threading.Barrier(2)
    seen = {}

    def first():
        with mg.no_grad():
            barrier.wait()          # 1: both inside
            barrier.wait()          # 2
        barrier.wait()              # 3: first has left, second still inside
        barrier.wait()              # 4: second has left
        seen["first"] = mg.is_grad_enabled()

    def second():
        barrier.wait()              # 1: first is inside
        with mg.no_grad():
            barrier.wait()          # 2
            barrier.wait()          # 3
        barrier.wait()              # 4
        seen["second"] = mg.is_grad_enabled()

    run_threads(first, second)
    assert seen == {"first": True, "second": True}
    assert mg.is_grad_enabled()
    x = leaf([1.0, 2.0])
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


def test_an_evaluation_thread_under_no_grad_never_stops_training_in_another():
    """The reported case: evaluation beside a training loop made every backward fail."""
    inside, step_done, stop = threading.Event(), threading.Event(), threading.Event()
    failures, steps = [], 50

    def evaluate():
        while not stop.is_set():
            with mg.no_grad():
                inside.set()
                step_done.wait(timeout=10)   # a training step runs while we are inside
                step_done.clear()
                assert not mg.is_grad_enabled()
                (leaf([1.0]) * 2).data  # evaluation work

    def train():
        w = leaf([0.5, -0.5])
        for _ in range(steps):
            inside.wait(timeout=10)
            inside.clear()
            try:
                (w * w).sum().backward()
            except RuntimeError as exc:
                failures.append(exc)
            step_done.set()
        stop.set()
        step_done.set()
        assert w.grad is not None and np.array_equal(w.grad, steps * np.array([1.0, -1.0]))

    run_threads(evaluate, train)
    assert failures == []


def test_a_new_thread_records_even_when_started_inside_no_grad():
    seen = []
    with mg.no_grad():
        run_threads(lambda: seen.append(mg.is_grad_enabled()))
        assert not mg.is_grad_enabled()
    assert seen == [True] and mg.is_grad_enabled()


def test_no_grad_nests_and_restores_the_mode_it_found():
    with mg.no_grad():
        with mg.no_grad():
            assert not mg.is_grad_enabled()
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()
    with pytest.raises(KeyError):
        with mg.no_grad():
            raise KeyError("the mode comes back on the way out of an exception")
    assert mg.is_grad_enabled()


@pytest.mark.parametrize("decorate", [mg.no_grad, mg.no_grad()], ids=["bare", "called"])
def test_no_grad_as_a_decorator_with_or_without_parentheses(decorate):
    @decorate
    def double(t):
        """Twice t."""
        assert not mg.is_grad_enabled()
        return t * 2

    assert not double(leaf([1.0])).requires_grad
    assert mg.is_grad_enabled()
    assert (double.__name__, double.__doc__) == ("double", "Twice t.")


# ================================================================ in-place changes
def test_a_direct_write_to_a_saved_leaf_before_backward_is_an_error():
    """The reported case gave a.grad == 100, the value written after the forward."""
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    c = (a * b).sum()
    b.data[...] = 100
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation.*input 1 of Mul"):
        c.backward()
    assert a.grad is None and b.grad is None  # refused before any gradient moved


def test_writes_that_no_backward_follows_or_that_restore_the_values_are_fine():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    unused = (a * b).sum()  # a graph lying around while b is written
    b.data[...] = [5.0, 6.0]
    (a * b).sum().backward()  # a new graph sees the new values
    np.testing.assert_array_equal(a.grad, [5.0, 6.0])
    a.grad = None
    kept = (a * b).sum()
    b.data[0] += 1e-3  # finite differences: perturb, then restore
    b.data[0] = 5.0
    kept.backward()
    np.testing.assert_array_equal(a.grad, [5.0, 6.0])
    assert unused.requires_grad


def test_rebinding_data_leaves_the_saved_values_and_the_gradient_alone():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    c = (a * b).sum()
    b.data = np.array([100.0, 100.0])  # a new array: the forward's one is untouched
    c.backward()
    np.testing.assert_array_equal(a.grad, [3.0, 4.0])


def small_model(seed=0):
    return nn.Sequential(nn.Linear(3, 4, rng=seed, dtype=np.float64), nn.ReLU(),
                         nn.Linear(4, 2, rng=seed + 1, dtype=np.float64))


def loss_of(model, seed=0):
    x = np.random.default_rng(seed).normal(size=(5, 3))
    return mg.cross_entropy(model(mg.tensor(x)), [0, 1, 1, 0, 1])


def test_optimizer_step_between_forward_and_backward_is_an_error():
    """Stepped weights with activations of the old ones: PyTorch raises, so do we."""
    model = small_model()
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_of(model).backward()
    loss = loss_of(model, seed=1)
    opt.step()                      # writes every weight: versions 0 -> 1
    grads = [p.grad.copy() for p in model.parameters()]
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation.*at version 1; "
                                           r"expected version 0"):
        loss.backward()
    for p, g in zip(model.parameters(), grads):  # nothing accumulated
        np.testing.assert_array_equal(p.grad, g)


def test_pytorch_raises_for_the_same_step_before_backward():
    torch = pytest.importorskip("torch")
    layer1, layer2 = torch.nn.Linear(3, 4).double(), torch.nn.Linear(4, 2).double()
    opt = torch.optim.SGD([*layer1.parameters(), *layer2.parameters()], lr=0.1)
    x = torch.ones(5, 3, dtype=torch.float64)
    layer2(layer1(x).relu()).sum().backward()
    loss = layer2(layer1(x).relu()).sum()
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_stepping_while_an_unused_graph_is_alive_is_fine():
    model = small_model()
    opt = SGD(model.parameters(), lr=0.1)
    loss_of(model).backward()
    unused = loss_of(model, seed=1)  # e.g. kept for logging, never backwarded
    opt.step()
    fresh = loss_of(model, seed=1)
    fresh.backward()
    assert unused.requires_grad


@pytest.mark.parametrize("write", ["max_norm", "load_state_dict"])
def test_minigrads_other_in_place_writes_bump_the_version(write):
    model = nn.Sequential(nn.Linear(3, 2, rng=0, dtype=np.float64))
    weight = model[0].weight
    loss = loss_of(model)
    before = weight._version
    if write == "max_norm":
        nn.MaxNorm(0.01)(weight)
    else:
        model.load_state_dict(model.state_dict())
    assert weight._version == before + 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_a_correct_training_loop_keeps_its_bit_identical_results():
    """zero_grad, forward, backward, step: nothing here may raise or change a bit."""
    def train(model):
        opt = SGD(model.parameters(), lr=0.1, momentum=0.9, constraint=nn.MaxNorm(1.0))
        for step in range(3):
            opt.zero_grad()
            loss_of(model, seed=step).backward()
            opt.step()
        return [p.data.copy() for p in model.parameters()]

    for a, b in zip(train(small_model()), train(small_model())):
        np.testing.assert_array_equal(a, b)


# ================================================================ one backward per graph
def test_a_second_backward_through_a_freed_graph_is_an_error_not_double_gradients():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"a second time.*retain_graph=True"):
        y.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])  # not doubled


def test_a_graph_that_shares_a_freed_part_is_refused_too():
    x = leaf([1.0, 2.0])
    h = x.exp()
    h.sum().backward()
    with pytest.raises(RuntimeError, match="a second time.*Exp"):
        (h * 2).sum().backward()


def test_retain_graph_allows_another_backward_as_in_pytorch():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad, [6.0, 12.0])
    torch = pytest.importorskip("torch")
    tx = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    ty = (tx * tx).sum()
    ty.backward(retain_graph=True)
    ty.backward(retain_graph=True)
    ty.backward()
    np.testing.assert_array_equal(tx.grad.numpy(), x.grad)
    with pytest.raises(RuntimeError, match="a second time"):
        ty.backward()


def test_backward_frees_the_saved_state_at_once():
    x = leaf(np.ones(1000))
    hidden = x * 2.0
    alive = weakref.ref(hidden)
    loss = hidden.exp().sum()  # Exp keeps its input tensor alive through the graph
    del hidden
    assert alive() is not None
    loss.backward()
    assert alive() is None      # freed by the backward, while `loss` still exists


def test_retain_graph_must_be_a_bool():
    with pytest.raises(TypeError, match="retain_graph"):
        (leaf([1.0]) * 2).sum().backward(retain_graph="yes")


# ================================================================ Module attributes
def test_assigning_a_plain_array_or_tensor_to_a_parameter_is_refused():
    """It silently dropped the weight from parameters() and state_dict()."""
    layer = nn.Linear(3, 2, rng=0)
    params, keys = layer.parameters(), list(layer.state_dict())
    for value in (layer.weight.data * 2, layer.weight * 2, 3):
        with pytest.raises(TypeError, match=r"cannot assign '.*' as parameter 'weight' "
                                            r"\(minigrad.nn.Parameter or None expected\)"):
            layer.weight = value
    assert layer.parameters() == params and list(layer.state_dict()) == keys


def test_assigning_a_non_module_to_a_child_module_is_refused():
    model = nn.Sequential(nn.Linear(3, 2, rng=0), nn.ReLU())
    with pytest.raises(TypeError, match=r"cannot assign 'numpy.ndarray' as child module '1' "
                                        r"\(minigrad.nn.Module or None expected\)"):
        setattr(model, "1", np.zeros(3))
    assert isinstance(model[1], nn.ReLU)


def test_a_linear_without_bias_guards_its_bias_name_too():
    layer = nn.Linear(3, 2, bias=False, rng=0)
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    assert list(layer.state_dict()) == ["weight"]
    with pytest.raises(TypeError, match="as parameter 'bias'"):
        layer.bias = np.zeros(2, np.float32)
    with pytest.raises(TypeError, match="cannot register 'numpy.ndarray' as parameter 'b'"):
        layer.register_parameter("b", np.zeros(2, np.float32))


def test_none_empties_a_registered_name_and_keeps_guarding_it():
    layer = nn.Linear(3, 2, rng=0)
    layer.bias = None
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    with pytest.raises(TypeError, match="as parameter 'bias'"):
        layer.bias = np.zeros(2, np.float32)
    layer.bias = nn.Parameter(np.zeros(2, np.float32))
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]


def test_the_messages_match_pytorchs():
    torch = pytest.importorskip("torch")
    layer = torch.nn.Linear(2, 2)
    with pytest.raises(TypeError) as theirs:
        layer.weight = np.zeros(2)
    with pytest.raises(TypeError) as ours:
        nn.Linear(2, 2).weight = np.zeros(2)
    assert str(theirs.value).replace("torch.nn.", "minigrad.nn.") in str(ours.value)


# ================================================================ SGD
@pytest.mark.parametrize("params, words", [
    ([mg.tensor([1.0], requires_grad=True)], [r"params\[0\] is a Tensor", "Parameter"]),
    ([nn.Parameter(np.ones(2)), mg.tensor([1.0])], [r"params\[1\] is a Tensor"]),
    (nn.Parameter(np.ones(2)), ["single Parameter", r"\[p\]"]),
    ({nn.Parameter(np.ones(2))}, ["not a set"]),
], ids=["plain-tensor", "plain-tensor-second", "single-parameter", "set"])
def test_sgd_refuses_what_step_could_not_update_at_construction(params, words):
    with pytest.raises(TypeError) as info:
        SGD(params, lr=0.1)
    for word in words:
        assert re.search(word, str(info.value)), (word, str(info.value))


@pytest.mark.parametrize("bad_grad, exc, words", [
    (np.ones(3), ValueError, [r"params\[1\].grad has shape \(3,\)"]),
    (np.ones((2, 2), np.float32), TypeError, [r"params\[1\].grad has dtype float32"]),
    ([[1.0, 1.0], [1.0, 1.0]], TypeError, [r"params\[1\].grad must be a numpy array"]),
], ids=["shape", "dtype", "list"])
def test_a_bad_gradient_fails_the_step_before_any_parameter_changes(bad_grad, exc, words):
    first, second = nn.Parameter(np.ones(4)), nn.Parameter(np.ones((2, 2)))
    opt = SGD([first, second], lr=0.5, momentum=0.9)
    first.grad, second.grad = np.ones(4), bad_grad
    with pytest.raises(exc, match=words[0]):
        opt.step()
    np.testing.assert_array_equal(first.data, np.ones(4))  # was updated before the error
    assert first._version == 0 and opt.velocity == [None, None]


def test_a_constraint_that_cannot_apply_is_refused_where_it_is_attached():
    with pytest.raises(ValueError, match="MaxNorm applies to weight matrices"):
        nn.Parameter(np.ones(3), constraint=nn.MaxNorm(1.0))
    p = nn.Parameter(np.ones((3, 2)))
    with pytest.raises(ValueError, match="MaxNorm applies to weight matrices"):
        nn.Parameter(np.ones(3)).constraint = nn.MaxNorm(1.0)
    with pytest.raises(TypeError, match="constraint must be callable"):
        p.constraint = 3.0
    assert p.constraint is None


def sgd_with_state():
    params = [nn.Parameter(np.ones((2, 3))), nn.Parameter(np.ones(3, np.float32))]
    opt = SGD(params, lr=0.1, momentum=0.5, weight_decay=1e-4)
    for p in params:
        p.grad = np.full_like(p.data, 0.5)
    opt.step()
    return opt


def assert_same_state(opt, state):
    now = opt.state_dict()
    assert set(now) == set(state)
    for key in state:
        np.testing.assert_array_equal(now[key], state[key], err_msg=key)


BAD_STATES = {
    "lr-0": ({"lr": np.float64(0.0)}, ValueError, "lr must be a positive finite number"),
    "lr-nan": ({"lr": np.float64("nan")}, ValueError, "lr"),
    "lr-negative": ({"lr": -1.0}, ValueError, "lr must be a positive finite number"),
    "lr-vector": ({"lr": np.array([0.1, 0.2])}, ValueError, "lr must be a scalar"),
    "lr-str": ({"lr": "0.1"}, TypeError, "lr must be a real number"),
    "momentum-1": ({"momentum": np.float64(1.0)}, ValueError, r"momentum must be in \[0, 1\)"),
    "momentum-inf": ({"momentum": np.inf}, ValueError, "momentum"),
    "weight-decay-negative": ({"weight_decay": -1e-3}, ValueError, "weight_decay"),
    "weight-decay-inf": ({"weight_decay": np.inf}, ValueError, "weight_decay"),
    "nesterov-without-momentum": ({"nesterov": np.bool_(True), "momentum": 0.0}, ValueError,
                                  "Nesterov momentum requires a momentum"),
    "nesterov-str": ({"nesterov": "yes"}, TypeError, "nesterov must be a bool"),
    "velocity-shape": ({"velocity.0": np.zeros(6)}, ValueError, r"velocity.0 of shape \(6,\)"),
    "velocity-dtype": ({"velocity.1": np.zeros(3)}, TypeError, "velocity.1 of dtype float64"),
    "velocity-nan": ({"velocity.0": np.full((2, 3), np.nan)}, ValueError,
                     "velocity.0 hold NaN or infinity"),
    "velocity-list": ({"velocity.0": [[0.0] * 3] * 2}, TypeError, "must be a numpy array"),
    "velocity-index": ({"velocity.2": np.zeros(3)}, ValueError,
                       r"unexpected keys \['velocity.2'\]"),
    "unknown-key": ({"dampening": 0.0}, ValueError, r"unexpected keys \['dampening'\]"),
}


@pytest.mark.parametrize("case", BAD_STATES)
def test_a_refused_sgd_state_leaves_the_optimizer_exactly_as_before(case):
    """The hyperparameters were assigned one by one, so a bad velocity (or nesterov)
    left lr, momentum and weight decay of the new state in a half-loaded optimizer."""
    changes, exc, words = BAD_STATES[case]
    source = sgd_with_state()
    source.lr, source.momentum, source.weight_decay = 0.7, 0.25, 0.5
    state = {**source.state_dict(), **changes}
    opt = sgd_with_state()
    before = opt.state_dict()
    with pytest.raises(exc, match=words):
        opt.load_state_dict(state)
    assert_same_state(opt, before)


def test_a_missing_hyperparameter_is_named():
    opt = sgd_with_state()
    state = opt.state_dict()
    del state["weight_decay"]
    with pytest.raises(ValueError, match=r"missing keys \['weight_decay'\]"):
        opt.load_state_dict(state)


# ================================================================ pow, truth values, arguments
EXPONENTS = [0, 1, 2, 3, -1, -2, 0.5, 1.5, 2.5, -0.5, 1 / 3]
POINTS = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0])


@pytest.mark.parametrize("n", EXPONENTS)
def test_pow_gradient_matches_torch_pow_everywhere_including_zero(n):
    torch = pytest.importorskip("torch")
    x = leaf(POINTS)
    with np.errstate(all="ignore"):
        (x ** n).sum().backward()
    tx = torch.tensor(POINTS, requires_grad=True)
    (tx ** n).sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-14, equal_nan=True)


def test_pow_gradient_at_zero_by_hand():
    """d(x**0)/dx = 0 (x**0 is the constant 1), d(x**1)/dx = 1, d(x**2)/dx = 2x = 0."""
    for n, expected in [(0, 0.0), (1, 1.0), (2, 0.0), (3, 0.0)]:
        x = leaf([0.0])
        with np.errstate(all="ignore"):
            (x ** n).backward()
        assert x.grad[0] == expected, n


@pytest.mark.parametrize("n", [0, 1, 2, 3, -1, -2])
def test_pow_with_integer_exponents_agrees_with_finite_differences_through_zero(n):
    """Integer exponents are smooth on (-inf, 0) and, for n >= 0, at 0 itself."""
    values = [-1.5, -0.5, 0.0, 0.5, 2.0] if n >= 0 else [-1.5, -0.5, 0.5, 2.0]
    assert mg.gradcheck(lambda t: t ** n, leaf(values))


def test_truth_value_of_a_tensor_is_its_one_elements_as_numpy():
    assert bool(mg.tensor([0.0])) is False and bool(mg.tensor([[2.0]])) is True
    assert bool(mg.tensor(0.5)) is True and bool(mg.tensor(-0.0)) is False
    with pytest.raises(ValueError, match="more than one element is ambiguous"):
        bool(mg.tensor([1.0, 1.0]))
    with pytest.raises(ValueError, match="no elements is ambiguous"):
        bool(mg.tensor(np.zeros((0, 3))))
    with pytest.raises(ValueError, match="ambiguous"):
        if mg.tensor([0.0, 0.0]):
            pass


def test_integers_that_float32_cannot_hold_are_refused_not_rounded():
    with pytest.raises(ValueError, match="16777217 has no exact float32 value.*dtype=np.float64"):
        mg.tensor([16777217])
    assert mg.tensor([16777217], dtype=np.float64).data[0] == 16777217
    assert mg.tensor([16777216, -16777216, 2**40]).data.tolist() == [16777216, -16777216, 2**40]
    with pytest.raises(ValueError, match="9007199254740993 has no exact float64 value"):
        mg.tensor(np.array([2**53 + 1]), dtype=np.float64)
    with pytest.raises(ValueError, match="2147483647 has no exact float32"):
        mg.tensor(np.array([2**31 - 1], np.int32), dtype=np.float32)
    with pytest.raises(ValueError, match="18446744073709551615"):
        mg.tensor(np.array([2**64 - 1], np.uint64), dtype=np.float64)
    np.testing.assert_array_equal(mg.tensor(np.arange(-5, 5), dtype=np.float32).data,
                                  np.arange(-5, 5))
    assert mg.tensor([True, False]).data.tolist() == [1.0, 0.0]
