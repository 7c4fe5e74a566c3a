"""``nn.fuse`` and ``nn.FusedLinear``: Linear -> ReLU -> Dropout as one layer equals the three.

Same seed, same masks, same arithmetic: outputs, gradients and the state after SGD
steps must agree bit for bit, in both dropout modes, in training and evaluation, on
both backends and on 1 and 2 threads.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn
from minigrad.optim import SGD


def build(seed, sizes, mode, dtype):
    layers = [nn.Dropout(0.2, mode=mode, rng=seed + 1)]
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out, max_norm=3.0, rng=seed + 10 + i, dtype=dtype))
        if i < len(sizes) - 2:
            layers += [nn.ReLU(), nn.Dropout(0.5, mode=mode, rng=seed + 100 + i)]
    return nn.Sequential(*layers)


def train_steps(fused, seed, sizes, mode, dtype, steps=3, training=True):
    model = build(seed, sizes, mode, dtype)
    if fused:
        model = nn.fuse(model)
        assert any(isinstance(m, nn.FusedLinear) for m in model) == (len(sizes) > 2)
    model.train(training)
    optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(seed)
    x = mg.tensor(rng.standard_normal((9, sizes[0])).astype(dtype))
    labels = rng.integers(0, sizes[-1], size=9)
    outputs = []
    for _ in range(steps):
        optimizer.zero_grad()
        out = model(x)
        mg.cross_entropy(out, labels).backward()
        outputs.append(out.data.copy())
        grads = [p.grad.copy() for p in model.parameters()]
        optimizer.step()
    return outputs, grads, [p.data.copy() for p in model.parameters()]


def assert_identical(a, b):
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


@given(seed=st.integers(0, 2**16), hidden=st.lists(st.integers(1, 40), min_size=1, max_size=3),
       mode=st.sampled_from(["inverted", "weight_scaling"]),
       dtype=st.sampled_from([np.float32, np.float64]), training=st.booleans(),
       threads=st.sampled_from([1, 2]))
def test_fused_equals_unfused_bit_for_bit(seed, hidden, mode, dtype, training, threads):
    sizes = [13] + hidden + [4]
    with mg.using_backend(threads=threads):
        fused = train_steps(True, seed, sizes, mode, dtype, training=training)
        unfused = train_steps(False, seed, sizes, mode, dtype, training=training)
    for f, u in zip(fused, unfused):
        assert_identical(f, u)


def test_fused_equals_unfused_on_each_backend(each_backend):
    fused = train_steps(True, 3, [30, 64, 64, 10], "inverted", np.float32)
    unfused = train_steps(False, 3, [30, 64, 64, 10], "inverted", np.float32)
    for f, u in zip(fused, unfused):
        assert_identical(f, u)


def test_masks_are_recorded_and_replayed_on_the_unfused_model():
    model = build(0, [8, 16, 16, 3], "inverted", np.float32)
    x = mg.tensor(np.random.default_rng(0).standard_normal((5, 8)).astype(np.float32))
    out, masks = nn.forward_with_masks(model, x)
    assert all(m is not None for m in masks)
    replayed, _ = nn.forward_with_masks(model, x, masks)
    np.testing.assert_array_equal(out.data, replayed.data)


def test_fused_layer_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal((4, 5)), requires_grad=True)
    w = mg.tensor(rng.standard_normal((5, 6)), requires_grad=True)
    b = mg.tensor(rng.standard_normal(6), requires_grad=True)
    from minigrad.ops.fused_linear import fused_linear
    assert mg.gradcheck(lambda x, w, b: fused_linear(x, w, b, relu=True, p=0.5, seed=7), x, w, b)
    assert mg.gradcheck(lambda x, w, b: fused_linear(x, w, b), x, w, b)


# ---- fuse: explicit, visible, exact types only, same state-dict keys ---------------------
def small_model(seed=0, p=0.5, mode="inverted"):
    return nn.Sequential(nn.Dropout(0.2, rng=seed), nn.Linear(6, 8, rng=seed, max_norm=3.0),
                         nn.ReLU(), nn.Dropout(p, mode=mode, rng=seed + 1),
                         nn.Linear(8, 8, rng=seed + 2), nn.ReLU(), nn.Linear(8, 3, rng=seed + 3))


def test_sequential_runs_its_layers_one_by_one():
    calls = []

    class Spy(nn.Module):
        def __init__(self, layer):
            super().__init__()
            self.layer = layer

        def forward(self, x):
            calls.append(type(self.layer).__name__)
            return self.layer(x)

    model = nn.Sequential(*[Spy(layer) for layer in small_model()])
    model(mg.tensor(np.ones((2, 6), np.float32)))
    assert calls == ["Dropout", "Linear", "ReLU", "Dropout", "Linear", "ReLU", "Linear"]


def test_fuse_shows_in_repr_keeps_names_and_leaves_its_argument_alone():
    model = small_model()
    before = repr(model)
    fused = nn.fuse(model)
    assert repr(model) == before
    assert list(fused._modules) == ["0", "1", "4", "6"]
    assert [type(m).__name__ for m in fused] == ["Dropout", "FusedLinear", "FusedLinear", "Linear"]
    assert "(1): FusedLinear(in_features=6, out_features=8, bias=True, max_norm=3.0, relu=True, " \
           "p=0.5, mode='inverted')" in repr(fused)
    assert "(4): FusedLinear(in_features=8, out_features=8, bias=True, relu=True, p=0.0" in repr(fused)
    assert list(fused.state_dict()) == list(model.state_dict())
    assert [id(p) for p in fused.parameters()] == [id(p) for p in model.parameters()]
    assert repr(nn.fuse(fused)) == repr(fused)  # nothing left to fuse


def test_a_checkpoint_moves_between_the_fused_and_unfused_forms(tmp_path):
    from minigrad.checkpoint import load_checkpoint, save_checkpoint
    from minigrad.models import dropout_mlp
    fused = dropout_mlp(6, (5, 4), 3, rng=0, dropout_rng=1)
    unfused = dropout_mlp(6, (5, 4), 3, rng=7, dropout_rng=1, fused=False)
    assert any(isinstance(m, nn.FusedLinear) for m in fused)
    assert not any(isinstance(m, nn.FusedLinear) for m in unfused)
    save_checkpoint(tmp_path / "fused.npz", fused)
    load_checkpoint(tmp_path / "fused.npz", unfused)
    for a, b in zip(fused.parameters(), unfused.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)
    x = mg.tensor(np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32))
    np.testing.assert_array_equal(fused.eval()(x).data, unfused.eval()(x).data)


def test_only_exact_linear_relu_dropout_are_fused():
    class MyDropout(nn.Dropout):
        calls = 0

        def forward(self, x):
            MyDropout.calls += 1
            return super().forward(x)

    class MyLinear(nn.Linear):
        pass

    model = nn.Sequential(nn.Linear(4, 4, rng=0), nn.ReLU(), MyDropout(0.5, rng=0),
                          MyLinear(4, 4, rng=1), nn.ReLU(), nn.Dropout(0.5),
                          nn.Linear(4, 2, rng=2), nn.Dropout(0.5))
    fused = nn.fuse(model)
    assert [type(m).__name__ for m in fused] == [
        "FusedLinear", "MyDropout", "MyLinear", "ReLU", "Dropout", "Linear", "Dropout"]
    assert fused[0].p == 0.0
    fused(mg.tensor(np.ones((3, 4), np.float32)))
    assert MyDropout.calls == 1


def test_fuse_reaches_sequentials_inside_other_modules():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(4, 5, rng=0), nn.ReLU(), nn.Dropout(0.5))
            self.head = nn.Linear(5, 2, rng=1)

        def forward(self, x):
            return self.head(self.body(x))

    net = Net()
    fused = nn.fuse(net)
    assert isinstance(fused, Net) and fused is not net and fused.head is net.head
    assert isinstance(fused.body[0], nn.FusedLinear) and len(fused.body) == 1
    assert isinstance(net.body[0], nn.Linear) and len(net.body) == 3
    assert list(fused.state_dict()) == list(net.state_dict())


@pytest.mark.parametrize("bad", [nn.Dropout(0.5), "model", None])
def test_fuse_and_fused_linear_refuse_what_they_cannot_fuse(bad):
    if not isinstance(bad, nn.Module):
        with pytest.raises(TypeError, match="fuse: model must be a minigrad.nn.Module"):
            nn.fuse(bad)
    with pytest.raises(TypeError, match="FusedLinear: linear must be a minigrad.nn.Linear"):
        nn.FusedLinear(bad)
    with pytest.raises(TypeError, match="FusedLinear: dropout must be"):
        nn.FusedLinear(nn.Linear(2, 2), nn.ReLU())


def test_masks_of_a_fused_model_are_refused_with_the_way_to_get_them():
    fused = nn.fuse(small_model())
    x = mg.tensor(np.ones((2, 6), np.float32))
    with pytest.raises(ValueError, match=r"layers \['1'\] are FusedLinear.*fused=False"):
        nn.forward_with_masks(fused, x)
    out, masks = nn.forward_with_masks(small_model(), x)  # the unfused form gives them
    assert len(masks) == 2 and all(m is not None for m in masks)


@pytest.mark.parametrize("mode", ["inverted", "weight_scaling"])
def test_mc_dropout_and_evaluation_agree_fused_and_unfused(mode):
    x = mg.tensor(np.random.default_rng(1).standard_normal((5, 6)).astype(np.float32))
    results = []
    for fuse in (False, True):
        model = small_model(seed=3, mode=mode)
        model = nn.fuse(model) if fuse else model
        model.eval()
        mean, std = nn.mc_dropout_predict(model, x, samples=4)
        assert not any(m.training for m in model.modules())
        results.append((model(x).data, mean, std))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    assert results[0][2].max() > 0  # the passes did drop units


@given(seed=st.integers(0, 2**16), m=st.integers(0, 40), k=st.integers(1, 40),
       n=st.integers(1, 40), bias=st.booleans(),
       dtype=st.sampled_from([np.float32, np.float64]), threads=st.sampled_from([1, 2]))
def test_linear_is_matmul_plus_bias_bit_for_bit(seed, m, k, n, bias, dtype, threads):
    """nn.Linear runs fused_linear without ReLU or dropout: the same bits as x @ W + b."""
    layer = nn.Linear(k, n, bias=bias, rng=seed, dtype=dtype)
    rng = np.random.default_rng(seed)
    x = mg.tensor(rng.standard_normal((m, k)).astype(dtype), requires_grad=True)
    g = rng.standard_normal((m, n)).astype(dtype)
    results = []
    with mg.using_backend(threads=threads):
        for forward in (layer, lambda x: mg.matmul(x, layer.weight) + layer.bias if bias
                        else mg.matmul(x, layer.weight)):
            for t in (x, *layer.parameters()):
                t.grad = None
            y = forward(x)
            y.backward(g)
            results.append([y.data.copy(), x.grad.copy()]
                           + [p.grad.copy() for p in layer.parameters()])
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(a, b)


# ---- Gaussian noise: Linear -> ReLU -> GaussianDropout fused ---------------------------
def build_gaussian(seed, sizes, p, dtype):
    layers = [nn.Dropout(0.2, rng=seed + 1)]
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out, rng=seed + 10 + i, dtype=dtype))
        if i < len(sizes) - 2:
            layers += [nn.ReLU(), nn.GaussianDropout(p, rng=seed + 100 + i)]
    return nn.Sequential(*layers)


def gaussian_steps(fused, seed, sizes, p, dtype, training=True, steps=3):
    model = build_gaussian(seed, sizes, p, dtype)
    if fused:
        model = nn.fuse(model)
        assert sum(isinstance(m, nn.FusedLinear) for m in model) == len(sizes) - 2
    model.train(training)
    optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(seed)
    x = mg.tensor(rng.standard_normal((9, sizes[0])).astype(dtype), requires_grad=True)
    labels = rng.integers(0, sizes[-1], size=9)
    results = []
    for _ in range(steps):
        optimizer.zero_grad()
        x.grad = None
        out = model(x)
        mg.cross_entropy(out, labels).backward()
        results += [out.data.copy(), x.grad.copy()] + [q.grad.copy() for q in model.parameters()]
        optimizer.step()
    return results + [q.data.copy() for q in model.parameters()]


@given(seed=st.integers(0, 2**16), hidden=st.lists(st.integers(1, 40), min_size=1, max_size=3),
       p=st.sampled_from([0.0, 0.3, 0.5, 0.9]), dtype=st.sampled_from([np.float32, np.float64]),
       training=st.booleans(), threads=st.sampled_from([1, 2]))
def test_gaussian_fused_equals_unfused_bit_for_bit(seed, hidden, p, dtype, training, threads):
    """Outputs, input and parameter gradients, and the parameters after SGD steps."""
    sizes = [13] + hidden + [4]
    with mg.using_backend(threads=threads):
        fused = gaussian_steps(True, seed, sizes, p, dtype, training)
        unfused = gaussian_steps(False, seed, sizes, p, dtype, training)
    assert_identical(fused, unfused)


def test_gaussian_fused_equals_unfused_on_each_backend(each_backend):
    sizes = [30, 300, 200, 10]  # past the kernels' threading thresholds
    assert_identical(gaussian_steps(True, 5, sizes, 0.5, np.float32),
                     gaussian_steps(False, 5, sizes, 0.5, np.float32))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gaussian_backward_knows_where_relu_passed_even_where_y_is_zero_or_negative(dtype):
    """z = the smallest subnormal > 0: y = z * r underflows to 0 where |r| < 1/2 (and is
    negative where r < 0), yet dy/dz = r there. The unfused ops are the oracle."""
    tiny = np.finfo(dtype).smallest_subnormal
    n = 400
    grads = []
    for fused in (True, False):
        x = mg.tensor(np.ones((1, 1), dtype), requires_grad=True)
        linear = nn.Linear(1, n, rng=0, dtype=dtype)
        linear.weight.data[...] = tiny
        linear.bias.data[...] = 0
        layers = [linear, nn.ReLU(), nn.GaussianDropout(0.9, rng=4)]
        model = nn.fuse(nn.Sequential(*layers)) if fused else nn.Sequential(*layers)
        y = model(x)
        (y * mg.tensor(np.arange(1, n + 1, dtype=dtype))).sum().backward()
        grads.append((y.data.copy(), x.grad.copy(), linear.weight.grad.copy()))
    assert_identical(grads[0], grads[1])
    y, _, dw = grads[0]
    assert ((y == 0) & (dw != 0)).any() and (y < 0).any()


def test_gaussian_fused_layer_gradients_match_finite_differences():
    from minigrad.ops.fused_linear import fused_linear
    rng = np.random.default_rng(1)
    x = mg.tensor(rng.standard_normal((4, 5)), requires_grad=True)
    w = mg.tensor(rng.standard_normal((5, 6)), requires_grad=True)
    b = mg.tensor(rng.standard_normal(6), requires_grad=True)
    assert mg.gradcheck(lambda x, w, b: fused_linear(x, w, b, relu=True, p=0.5, seed=7,
                                                     noise="gaussian"), x, w, b)


def test_fuse_folds_gaussian_dropout_keeps_keys_and_evaluates_to_the_identity():
    model = build_gaussian(2, [6, 8, 3], 0.5, np.float32)
    fused = nn.fuse(model)
    assert "noise='gaussian'" in repr(fused) and "GaussianDropout" not in repr(fused)
    assert sorted(fused.state_dict()) == sorted(model.state_dict())
    x = mg.tensor(np.random.default_rng(0).standard_normal((5, 6)).astype(np.float32))
    model.eval(), fused.eval()
    np.testing.assert_array_equal(fused(x).data, model(x).data)
    linear = model[1]
    np.testing.assert_array_equal(fused[1](x).data,  # evaluation: relu(x W + b), no noise
                                  (x @ linear.weight + linear.bias).relu().data)
    sub = type("MyGaussian", (nn.GaussianDropout,), {})(0.5)
    assert not any(isinstance(m, nn.FusedLinear) and m.p > 0 for m in
                   nn.fuse(nn.Sequential(nn.Linear(2, 3, rng=0), nn.ReLU(), sub)).modules())


def test_masks_and_mc_dropout_with_a_fused_gaussian_layer():
    """forward_with_masks runs it as the unfused model (a GaussianDropout has no mask);
    MC dropout samples its noise, exactly as it samples the unfused layer's."""
    x = mg.tensor(np.random.default_rng(1).standard_normal((5, 6)).astype(np.float32))
    results = []
    for fuse in (False, True):
        model = build_gaussian(3, [6, 8, 8, 3], 0.5, np.float32)
        model = nn.fuse(model) if fuse else model
        out, masks = nn.forward_with_masks(model, x)
        model.eval()
        mean, std = nn.mc_dropout_predict(model, x, samples=4)
        assert not any(m.training for m in model.modules())
        results.append((out.data, mean, std, model(x).data, len(masks)))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    assert results[0][2].max() > 0  # the passes did add noise
