"""bench/mc_dropout_eval.py: MC averages by number of samples, and the OOD table, on a small net.

Oracles: the k = 1 error is that of one thinned network computed here by hand; the MC
average of many samples of a net without dropout is the weight-scaled prediction; a net
scores inputs far from its data as more uncertain than its own test inputs.
"""

import numpy as np
import pytest

import minigrad
from minigrad.training import TrainConfig, train
from support.paths import bench_script


@pytest.fixture(scope="module")
def script():
    return bench_script("mc_dropout_eval")


def blobs(n, seed, centre_scale=3.0):
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).normal(size=(3, 12)) * centre_scale
    y = rng.integers(0, 3, n)
    return (centres[y] + rng.normal(size=(n, 12))).astype(np.float32), y


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    x, y = blobs(600, 0)
    xt, yt = blobs(200, 1)
    path = tmp_path_factory.mktemp("run") / "checkpoint.npz"
    config = TrainConfig(hidden=(32,), epochs=3, lr=0.05, momentum_epochs=0, seed=3)
    train(config, (x, y, xt, yt), checkpoint=path, metadata={"dataset": "blobs"})
    return path, xt, yt


def test_the_checkpoint_is_rebuilt_as_trained(script, trained):
    path, xt, yt = trained
    model, metadata = script.load_run(path, 12, 3)
    assert metadata["epoch"] == 3 and not model.training
    assert minigrad.training.evaluate(model, xt, yt) == metadata["history"][-1]["test_error"]


def test_one_sample_is_one_thinned_network(script, trained):
    path, xt, yt = trained
    model, _ = script.load_run(path, 12, 3)
    errors = script.error_by_samples(model, xt, yt, ks=[1, 4], repeats=2, seed=5)
    assert set(errors) == {1, 4} and all(len(v) == 2 for v in errors.values())
    script.reseed(model, 5)  # what the first repeat's first pass saw
    with minigrad.no_grad():
        thinned = minigrad.nn.mc_class_probabilities(model, minigrad.tensor(xt), samples=1)[0]
    assert errors[1][0] == np.mean(thinned.argmax(axis=1) != yt)
    assert errors[1][0] != errors[1][1] or errors[4][0] != errors[4][1]  # fresh masks


def test_without_dropout_every_score_is_the_weight_scaled_one(script, trained):
    path, xt, yt = trained
    model, _ = script.load_run(path, 12, 3)
    for layer in model.modules():
        if hasattr(layer, "p"):
            layer.p = 0.0
    errors = script.error_by_samples(model, xt, yt, ks=[1, 3], repeats=1)
    plain = minigrad.training.evaluate(model, xt, yt)
    assert errors == {1: [plain], 3: [plain]}
    scores = script.ood_scores(model, xt[:5], samples=3, seed=0)
    assert np.all(scores["MC: mutual information (BALD)"] == 0)
    np.testing.assert_allclose(scores["MC: 1 - max mean probability"],
                               scores["weight scaling: 1 - max softmax"], atol=1e-6)


def test_inputs_far_from_the_data_are_flagged(script, trained):
    path, xt, _ = trained
    model, _ = script.load_run(path, 12, 3)
    far = blobs(200, 2, centre_scale=0.0)[0] * 0.2  # between the classes, none of them
    areas = script.ood_table(model, xt, far, samples=8, repeats=2)
    assert set(areas) >= {"weight scaling: 1 - max softmax", "MC: mutual information (BALD)"}
    assert all(len(v) == 2 and 0 <= min(v) and max(v) <= 1 for v in areas.values())
    assert np.mean(areas["MC: predictive entropy"]) > 0.8
