"""bench/mnist_paper.py: the rows' configurations and the report's spread over seeds."""
import numpy as np
import pytest

from minigrad.history import write_history
from minigrad.training import train
from support.paths import bench_script


@pytest.fixture(scope="module")
def paper():
    return bench_script("mnist_paper")


def test_rows_anneal_over_their_budget_and_take_overrides(paper):
    _, config = paper.row_config("mnist-3x1024-dropout-maxnorm", 150, {})
    assert (config.epochs, config.lr_anneal_epochs, config.hidden) == (150, 150, (1024,) * 3)
    assert (config.p_input, config.p_hidden, config.max_norm) == (0.2, 0.5, 3.0)
    _, variant = paper.row_config("fashion-2x1024-dropout-maxnorm", 50,
                                  {"p_input": 0.0, "p_hidden": 0.3, "seed": 1}, anneal=False)
    assert (variant.p_input, variant.p_hidden, variant.seed) == (0.0, 0.3, 1)
    assert variant.lr_anneal_epochs is None


def test_report_gives_the_spread_over_seeds(paper, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 12)).astype(np.float32)
    y = (x @ rng.normal(size=(12, 3))).argmax(axis=1)
    data = (x[:200], y[:200], x[200:], y[200:])
    errors = []
    for seed in (0, 1):
        dataset, config = paper.row_config("mnist-2x800-standard", 2, {"seed": seed})
        config = type(config)(**{**config.to_dict(), "hidden": (8,)})
        _, history = train(config, data)
        errors.append(100 * history[-1]["test_error"])
        write_history(tmp_path / "runs" / f"mnist-2x800-standard-s{seed}", history,
                      row="mnist-2x800-standard", dataset=dataset, config=config.to_dict(),
                      epochs_planned=2)
    assert paper.main(["report", "--runs-dir", str(tmp_path / "runs"),
                       "--out", str(tmp_path / "out")]) == 0
    table = (tmp_path / "out" / "results.md").read_text()
    spread = next(line for line in table.splitlines()
                  if line.startswith("| mnist-2x800-standard | 2 |"))
    assert "| 0, 1 |" in spread
    assert f"**{np.mean(errors):.2f}%**" in spread
    assert f"{np.std(errors, ddof=1):.2f}% |" in spread


def test_report_only_takes_the_runs_whose_names_match(paper, tmp_path, capsys):
    config = paper.row_config("mnist-2x800-standard", 1, {})[1]
    record = dict(epoch=1, lr=0.5, momentum=0.5, train_loss=1.0, test_error=0.5, seconds=1.0)
    for name, error in (("mnist-2x800-standard-a", 0.25), ("mnist-2x800-standard-b", 0.5)):
        write_history(tmp_path / "runs" / name, [{**record, "test_error": error}],
                      row="mnist-2x800-standard", dataset="mnist", config=config.to_dict(),
                      epochs_planned=1)
    runs = str(tmp_path / "runs")
    assert paper.main(["report", "--runs-dir", runs, "--out", str(tmp_path / "out"),
                       "--only", "*-a"]) == 0
    table = (tmp_path / "out" / "results.md").read_text()
    assert "| mnist-2x800-standard-a |" in table and "-standard-b" not in table
    assert paper.main(["report", "--runs-dir", runs, "--out", str(tmp_path / "out"),
                       "--only", "*-c"]) == 1
    assert "no runs in" in capsys.readouterr().err
