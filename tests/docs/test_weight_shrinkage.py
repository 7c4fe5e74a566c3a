"""examples/weight_shrinkage.py and the theory its docstring states, against oracles.

The oracles: norms recomputed here with numpy from the returned models' weights and
from freshly built initial models; the PNG file signature; and, for the theory, the
exact expectation over every dropout mask of a tiny linear model, enumerated.
"""
import itertools
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from support.backends import backend_settings
from support.paths import EXAMPLES

sys.path.insert(0, str(EXAMPLES))
import overfitting  # noqa: E402
import weight_shrinkage  # noqa: E402

import minigrad  # noqa: E402
from minigrad import nn  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def small_run():
    # 10 x 200 matrices: one thread is as fast, and a busy machine cannot stall it
    with backend_settings(n_threads=1):
        return weight_shrinkage.measure(seeds=2, iterations=30)


def test_reported_norms_are_those_of_the_returned_models(small_run):
    results, records = small_run
    for seed, ((_, fits), record) in enumerate(zip(results, records)):
        start = [m.weight.data.astype(np.float64) for m in
                 overfitting.initial_model(0.0, seed).modules() if isinstance(m, nn.Linear)]
        assert [w.shape for w in start] == [(1, 200), (200, 200), (200, 200), (200, 1)]
        for net, layers in record.items():
            model = None if net == "init" else fits[net].model
            trained = start if model is None else [
                m.weight.data.astype(np.float64) for m in model.modules()
                if isinstance(m, nn.Linear)]
            for w, w0, got in zip(trained, start, layers):
                assert got["frobenius"] == pytest.approx(np.sqrt(np.sum(w ** 2)), rel=1e-12)
                columns = [np.sqrt(np.sum(w[:, j] ** 2)) for j in range(w.shape[1])]
                assert got["mean_column"] == pytest.approx(np.mean(columns), rel=1e-12)
                assert got["moved"] == pytest.approx(np.sqrt(np.sum((w - w0) ** 2)), rel=1e-12)
        assert all(layer["moved"] > 0 for p in overfitting.P_VALUES for layer in record[p])


def test_table_prints_mean_and_sd_of_the_records(small_run):
    shown = overfitting.number  # the printed format (4 decimals, small values as 1e-4)
    results, records = small_run
    lines = weight_shrinkage.table(results, records).splitlines()
    row = next(line for line in lines if line.startswith("L2 200->200 p=0.5"))
    values = [r[0.5][1]["frobenius"] for r in records]
    assert f"{shown(np.mean(values))} ± {shown(np.std(values, ddof=1))}" in row
    smaller = sum(r[0.5][1]["frobenius"] < r[0.0][1]["frobenius"] for r in records)
    assert row.endswith(f" {smaller}/2")
    assert len(lines) == 1 + 5 * 3  # header; init, p=0.0, p=0.5 for 4 layers and the product
    products = [np.prod([layer["frobenius"] for layer in r[0.0]]) for r in records]
    assert f"{shown(np.mean(products))} ± {shown(np.std(products, ddof=1))}" in lines[-2]
    assert lines[-2].startswith("product     p=0.0")


def test_plot_is_a_png(small_run, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "weights.png"
    assert weight_shrinkage.plot(*small_run, str(path))
    assert path.read_bytes()[:8] == PNG_MAGIC


def test_main_runs_with_small_settings(capsys):
    with backend_settings(n_threads=1):
        results, records = weight_shrinkage.main(["--seeds", "1", "--iterations", "3"])
    out = capsys.readouterr().out
    assert out.startswith("seed 0, 3 full-batch SGD steps")
    assert len(results) == len(records) == 1


@settings(max_examples=20)
@given(n=st.integers(1, 2), d=st.integers(3, 4), k=st.integers(1, 2),
       p=st.sampled_from([0.2, 0.5, 0.75]), seed=st.integers(0, 2**32 - 1))
def test_input_dropout_on_a_linear_model_is_an_energy_scaled_l2_penalty(n, d, k, p, seed):
    # E over every keep-mask m (n x d, each entry kept with prob 1-p) of
    # mean((y - (x * m / (1-p)) W)**2) == mean((y - x W)**2)
    #     + p/(1-p) * sum_j ||W[j, :]||**2 * sum_i x[i, j]**2 / (n k)
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(n, d)), rng.normal(size=(n, k))
    model = nn.Sequential(nn.Dropout(p, mode="inverted"),
                          nn.Linear(d, k, bias=False, dtype=np.float64))
    model[1].weight.data[...] = w = rng.normal(size=(d, k))
    xt, yt = minigrad.tensor(x, dtype=np.float64), minigrad.tensor(y, dtype=np.float64)
    model.train()
    expected_loss = 0.0
    for bits in itertools.product((False, True), repeat=n * d):
        mask = np.array(bits).reshape(n, d)
        out, used = nn.forward_with_masks(model, xt, [mask])
        assert np.array_equal(used[0], mask)
        probability = (1 - p) ** mask.sum() * p ** (~mask).sum()
        expected_loss += probability * float(minigrad.mse_loss(out, yt).data)
    plain = np.mean((y - x @ w) ** 2)
    penalty = p / (1 - p) * np.sum(np.sum(w ** 2, axis=1) * np.sum(x ** 2, axis=0)) / (n * k)
    assert expected_loss == pytest.approx(plain + penalty, rel=1e-12, abs=1e-14)
