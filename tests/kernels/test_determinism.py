"""Training is bit-for-bit reproducible from its seed, whatever the number of kernel threads.

The sizes are chosen so that every compiled kernel really splits its work between
threads (see docs/DETERMINISM.md): activations of 128 x 512 = 65,536 elements (relu and
dropout split above 32,768 and 8,192 elements), weight matrices of 512 columns (GEMM
splits the columns of its output, max-norm splits columns of matrices above 32,768
elements).
"""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.optim import SGD

STEPS = 200


def train(n_threads, seed=0, steps=STEPS):
    """Weights and losses after ``steps`` SGD steps of a dropout + max-norm MLP on random data."""
    with mg.using_backend(threads=n_threads):
        mg.manual_seed(seed)
        rng = np.random.default_rng(seed)
        x_pool = rng.normal(size=(1024, 256)).astype(np.float32)
        y_pool = rng.integers(0, 10, size=1024)
        # He-normal columns have norm about sqrt(2) > c = 1, so max-norm projects from
        # the first step on (PyTorch's default init starts inside the ball, at ~0.58).
        model = nn.Sequential(
            nn.Dropout(0.2),
            nn.Linear(256, 512, max_norm=1.0, init="he"), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(512, 512, max_norm=1.0, init="he"), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(512, 10, max_norm=1.0, init="he"),
        )
        optimizer = SGD(model.parameters(), lr=0.2, momentum=0.9)
        losses = []
        for _ in range(steps):
            idx = rng.integers(0, len(x_pool), size=128)
            loss = mg.cross_entropy(model(mg.tensor(x_pool[idx])), y_pool[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        return model.state_dict(), losses


@pytest.fixture(scope="module")
def one_thread():
    return train(1)


@pytest.mark.parametrize("n_threads", [2])
def test_same_seed_same_bits_on_any_thread_count(one_thread, n_threads):
    weights_1, losses_1 = one_thread
    weights_n, losses_n = train(n_threads)
    assert losses_n == losses_1
    for name, w in weights_1.items():
        np.testing.assert_array_equal(weights_n[name], w, err_msg=name)
        assert weights_n[name].tobytes() == w.tobytes(), name  # -0.0 vs 0.0, NaN payloads


def test_the_run_trains_and_max_norm_binds(one_thread):
    weights, losses = one_thread
    assert losses[-1] != losses[0]
    norms = np.linalg.norm(weights["1.weight"], axis=0)
    assert norms.max() <= 1.0 + 1e-6 and np.isclose(norms.max(), 1.0, atol=1e-3)


def test_another_seed_gives_other_bits(one_thread):
    weights, _ = train(1, seed=1, steps=3)
    assert not np.array_equal(weights["1.weight"], one_thread[0]["1.weight"])
