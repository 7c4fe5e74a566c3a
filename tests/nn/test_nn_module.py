"""Module bookkeeping: registration, traversal, modes, gradients, state and display."""
import numpy as np
import pytest

import minigrad
from minigrad import optim
from minigrad.nn import Dropout, Linear, Module, Parameter, ReLU, Sequential


class Pair(Module):
    """Two Linear layers, optionally sharing one weight Parameter."""

    def __init__(self, share=False):
        super().__init__()
        self.first = Linear(3, 3, rng=0)
        self.second = Linear(3, 3, rng=1)
        if share:
            self.second.weight = self.first.weight
        self.scale = Parameter(np.ones(3, dtype=np.float32))

    def forward(self, x):
        return self.second(self.first(x).relu()) * self.scale


def mlp(seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return Sequential(Linear(4, 5, rng=rng, dtype=dtype), ReLU(), Dropout(0.5, rng=rng),
                      Linear(5, 2, rng=rng, dtype=dtype))


# ---- registration ---------------------------------------------------------------------
def test_attributes_register_parameters_and_modules_with_dotted_names():
    model = Pair()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["scale", "first.weight", "first.bias", "second.weight", "second.bias"]
    assert [name for name, _ in model.named_modules()] == ["", "first", "second"]
    assert model.parameters()[0] is model.scale


def test_reassigning_and_deleting_attributes_updates_registration():
    model = Pair()
    model.scale = None  # a Parameter replaced by a plain value is no longer registered
    assert "scale" not in dict(model.named_parameters())
    model.scale = Parameter(np.zeros(3, dtype=np.float32))
    assert dict(model.named_parameters())["scale"] is model.scale
    model.first = ReLU()  # a Linear replaced by a parameterless module
    assert not any(name.startswith("first.") for name, _ in model.named_parameters())
    del model.second
    assert [name for name, _ in model.named_modules()] == ["", "first"]
    assert [name for name, _ in model.named_parameters()] == ["scale"]
    with pytest.raises(AttributeError):
        model.second


def test_nested_modules_have_dotted_names():
    outer = Sequential(Sequential(Linear(2, 2, rng=0)), Linear(2, 1, rng=0))
    assert list(outer.state_dict()) == ["0.0.weight", "0.0.bias", "1.weight", "1.bias"]


def test_shared_parameter_listed_once():
    model = Pair(share=True)
    params = model.parameters()
    assert len(params) == 4
    assert len({id(p) for p in params}) == 4
    assert "second.weight" not in dict(model.named_parameters())
    optim.SGD(params, lr=0.1)  # would raise on a duplicate


def test_module_without_super_init_gets_clear_error():
    class Broken(Module):
        def __init__(self):
            self.layer = Linear(2, 2)

    with pytest.raises(AttributeError, match="super\\(\\).__init__"):
        Broken()


# ---- modes and gradients --------------------------------------------------------------
def test_train_and_eval_propagate_recursively():
    model = Sequential(Sequential(Dropout(0.5), Linear(2, 2)), Dropout(0.2))
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model[0].train()  # only the sub-tree
    assert [m.training for m in model.modules()] == [False, True, True, True, False]
    model.train()
    assert all(m.training for m in model.modules())


def test_zero_grad_clears_every_parameter():
    model = mlp()
    x = minigrad.tensor(np.ones((3, 4), dtype=np.float32))
    model(x).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


# ---- state ----------------------------------------------------------------------------
def test_state_dict_round_trip_gives_equal_outputs():
    source, target = mlp(seed=0).eval(), mlp(seed=1).eval()
    x = minigrad.tensor(np.random.default_rng(2).normal(size=(6, 4)).astype(np.float32))
    assert not np.array_equal(source(x).data, target(x).data)
    state = source.state_dict()
    assert list(state) == ["0.weight", "0.bias", "3.weight", "3.bias"]
    assert target.load_state_dict(state) == ([], [])
    np.testing.assert_array_equal(source(x).data, target(x).data)
    state["0.weight"][...] = 0  # a copy: changing it leaves the model alone
    assert source[0].weight.data.any()


def test_load_state_dict_strict_lists_every_problem():
    model = mlp()
    state = model.state_dict()
    del state["0.bias"]
    state["extra.weight"] = np.zeros(2, dtype=np.float32)
    state["3.weight"] = np.zeros((2, 5), dtype=np.float32)  # transposed shape
    with pytest.raises(ValueError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    assert "missing key '0.bias'" in message
    assert "unexpected key 'extra.weight'" in message
    assert "3.weight: shape (2, 5) in the state, (5, 2) in the model" in message


def test_load_state_dict_dtype_mismatch_raises():
    model = mlp()
    state = {k: v.astype(np.float64) for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match="dtype float64 in the state, float32"):
        model.load_state_dict(state)


def test_load_state_dict_non_strict_returns_missing_and_unexpected():
    source, target = mlp(seed=0), mlp(seed=1)
    state = source.state_dict()
    del state["3.bias"]
    state["head.weight"] = np.zeros(1, dtype=np.float32)
    before = target[3].bias.data.copy()
    missing, unexpected = target.load_state_dict(state, strict=False)
    assert (missing, unexpected) == (["3.bias"], ["head.weight"])
    np.testing.assert_array_equal(target[0].weight.data, source[0].weight.data)
    np.testing.assert_array_equal(target[3].bias.data, before)


def test_failed_strict_load_changes_nothing():
    source, target = mlp(seed=0), mlp(seed=1)
    before = target.state_dict()
    state = source.state_dict()
    state["extra"] = np.zeros(1, dtype=np.float32)
    with pytest.raises(ValueError):
        target.load_state_dict(state)
    for name, value in target.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


# ---- display --------------------------------------------------------------------------
def test_repr_is_readable():
    model = Sequential(Linear(4, 5, max_norm=3.0, rng=0), ReLU(), Dropout(0.5),
                       Linear(5, 2, bias=False, rng=0))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=4, out_features=5, bias=True, max_norm=3.0)\n"
        "  (1): ReLU()\n"
        "  (2): Dropout(p=0.5, mode='inverted')\n"
        "  (3): Linear(in_features=5, out_features=2, bias=False)\n"
        ")")
    nested = repr(Sequential(Sequential(ReLU())))
    assert nested == "Sequential(\n  (0): Sequential(\n    (0): ReLU()\n  )\n)"


# ---- Sequential -----------------------------------------------------------------------
def test_sequential_indexing_slicing_len_iter():
    layers = [Linear(4, 5, rng=0), ReLU(), Dropout(0.5), Linear(5, 2, rng=0)]
    model = Sequential(*layers)
    assert len(model) == 4
    assert list(model) == layers
    assert model[0] is layers[0] and model[-1] is layers[-1]
    head = model[:2]
    assert isinstance(head, Sequential) and list(head) == layers[:2]
    assert list(model[::-1]) == layers[::-1]
    with pytest.raises(IndexError):
        model[4]
    x = minigrad.tensor(np.ones((1, 4), dtype=np.float32))
    np.testing.assert_array_equal(head(x).data, layers[1](layers[0](x)).data)


def test_sequential_applies_layers_in_order():
    model = Sequential(Linear(2, 3, rng=0), ReLU(), Linear(3, 1, rng=1))
    x = np.array([[0.5, -1.0]], dtype=np.float32)
    w0, b0 = model[0].weight.data, model[0].bias.data
    w2, b2 = model[2].weight.data, model[2].bias.data
    expected = np.maximum(x @ w0 + b0, 0) @ w2 + b2
    np.testing.assert_allclose(model(minigrad.tensor(x)).data, expected, rtol=1e-6)


# ---- bad arguments --------------------------------------------------------------------
@pytest.mark.parametrize("args, kwargs, error, match", [
    ((0, 3), {}, ValueError, "in_features must be >= 1, got 0"),
    ((3, -1), {}, ValueError, "out_features must be >= 1, got -1"),
    ((2.5, 3), {}, ValueError, "in_features"),
    ((True, 3), {}, ValueError, "in_features"),
    ((2, 3), {"init": "xavier"}, ValueError, "init must be one of"),
])
def test_linear_bad_arguments(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        Linear(*args, **kwargs)


@pytest.mark.parametrize("p, error", [(1.5, ValueError), (-0.1, ValueError),
                                      (float("nan"), ValueError), ("0.5", TypeError),
                                      (True, TypeError)])
def test_dropout_bad_p(p, error):
    with pytest.raises(error, match="dropout probability p"):
        Dropout(p=p)


def test_dropout_bad_mode():
    with pytest.raises(ValueError, match="mode must be one of"):
        Dropout(0.5, mode="scaled")


def test_sequential_rejects_non_modules():
    with pytest.raises(TypeError, match="layer 0 is a str, not a Module"):
        Sequential("x")
    with pytest.raises(TypeError, match="layer 1 is a function"):
        Sequential(ReLU(), lambda x: x)


def test_forward_not_defined():
    with pytest.raises(NotImplementedError, match="Module does not define forward"):
        Module()(1)
