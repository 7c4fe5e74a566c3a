"""Fused Linear -> ReLU -> Dropout (inside Sequential) equals the layers run one by one.

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
    nn.set_fusion(fused)
    try:
        model = build(seed, sizes, mode, dtype)
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
    finally:
        nn.set_fusion(True)


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


def test_masks_are_recorded_and_replayed_with_fusion_on():
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
    from minigrad.ops.fused import fused_linear
    assert mg.gradcheck(lambda x, w, b: fused_linear(x, w, b, relu=True, p=0.5, seed=7), x, w, b)
    assert mg.gradcheck(lambda x, w, b: fused_linear(x, w, b), x, w, b)
