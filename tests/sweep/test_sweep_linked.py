"""Linked axes (``Sweep(linked=...)``, ``--link``): axes that vary together, their i-th
values paired, instead of crossed; and the training error every trial records."""
import json
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from minigrad.checkpoint import load_checkpoint
from minigrad.cli import main
from minigrad.sweep import Sweep, run_sweep, run_trial, summarize
from minigrad.sweep.trial import trial_data
from minigrad.training import build_model, evaluate, make_generators
from minigrad.training_config import TrainConfig

from support.sweeps import small_sweep

#: Srivastava et al.'s Figure 9b in small: (1 - p) * n = 8 expected kept units
FIXED_KEPT = {"p_hidden": [0.5, 0.75, 0.875], "hidden": [(16,), (32,), (64,)]}


def test_linked_axes_pair_their_values_and_cross_the_other_axes():
    sweep = Sweep({"p_input": [0.0, 0.2], **FIXED_KEPT}, linked=[("hidden", "p_hidden")])
    points = [dict(point) for point in sweep.points()]
    assert len(points) == 6  # 2 x 3, not 2 x 3 x 3
    assert points[:3] == [{"p_input": 0.0, "p_hidden": p, "hidden": h}
                          for p, h in zip(*FIXED_KEPT.values())]
    assert {(1 - p["p_hidden"]) * p["hidden"][0] for p in points} == {8.0}
    assert sweep.linked == (("p_hidden", "hidden"),)  # in the grid's order
    assert sweep.axis_groups() == [("p_input",), ("p_hidden", "hidden")]
    assert [t.point for t in sweep.trials()] == sweep.points()


def test_without_links_the_points_are_still_the_product():
    sweep = Sweep({"p_input": [0.0, 0.2], **FIXED_KEPT})
    assert len(sweep.points()) == 18
    assert sweep.axis_groups() == [("p_input",), ("p_hidden",), ("hidden",)]


def test_a_linked_axis_may_repeat_a_value_but_not_a_pair():
    sweep = Sweep({"p_hidden": [0.5, 0.5], "hidden": [(16,), (32,)]},
                  linked=[["p_hidden", "hidden"]])
    assert len({t.key for t in sweep.trials()}) == 2
    with pytest.raises(ValueError, match=r"linked axes p_hidden, hidden: the value .* twice"):
        Sweep({"p_hidden": [0.5, 0.5], "hidden": [(16,), (16,)]},
              linked=[["p_hidden", "hidden"]])
    with pytest.raises(ValueError, match="grid axis p_hidden: the value 0.5 is given twice"):
        Sweep({"p_hidden": [0.5, 0.5], "hidden": [(16,), (32,)]})


@pytest.mark.parametrize("linked, error, words", [
    ([("p_hidden", "hidden", "lr")], ValueError, "lr is not a grid axis"),
    ([("p_hidden",)], ValueError, "two or more axes"),
    ([("p_hidden", "hidden"), ("hidden", "p_input")], ValueError, "hidden is linked twice"),
    ([("p_hidden", "p_input")], ValueError, "as many values each, got p_hidden: 3, p_input: 2"),
    ([("p_hidden", "hiden")], ValueError, "unknown axis 'hiden'; did you mean 'hidden'"),
    ("p_hidden,hidden", TypeError, "a list of groups"),
    ([3], TypeError, "each group must be a list"),
])
def test_bad_links_are_refused_naming_the_axes(linked, error, words):
    with pytest.raises(error, match=words):
        Sweep({"p_input": [0.0, 0.2], **FIXED_KEPT}, linked=linked)


def test_links_round_trip_through_the_dict_and_the_files(tmp_path):
    sweep = Sweep(FIXED_KEPT, linked=[("hidden", "p_hidden")], seeds=(0, 1))
    again = Sweep.from_dict(json.loads(json.dumps(sweep.to_dict())))
    assert again == sweep and [t.key for t in again.trials()] == [t.key for t in sweep.trials()]
    path = tmp_path / "sweep.toml"
    path.write_text('linked = [["p_hidden", "hidden"]]\n[grid]\n'
                    'p_hidden = [0.5, 0.75, 0.875]\nhidden = [16, 32, 64]\n')
    from minigrad.sweep import read_sweep_file
    assert Sweep.from_dict(read_sweep_file(path)).points() == sweep.points()


def test_the_command_line_links_axes(capsys):
    args = ["sweep", "--grid", "p_hidden=0.5,0.75,0.875", "--grid", "hidden=16,32,64",
            "--grid", "p_input=0,0.2", "--dry-run"]
    assert main([*args, "--link", "p_hidden,hidden"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "6 trials (6 grid points x 1 seed)"
    assert main(args) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "18 trials (18 grid points x 1 seed)"
    with pytest.raises(SystemExit) as exit_:
        main([*args, "--link", "p_hidden,p_input"])
    assert exit_.value.code == 2
    assert "as many values each" in capsys.readouterr().err


def test_the_training_error_is_the_trained_nets_error_on_its_training_images(tmp_path):
    trial = small_sweep({"p_hidden": [0.5]}).trials()[0]
    outcome = run_trial(trial, threads=1, checkpoint=True)
    assert outcome["status"] == "ok"
    path = tmp_path / "checkpoint.npz"
    path.write_bytes(outcome["checkpoint"])
    (x_train, y_train), _, _ = trial_data(trial)
    init_rng, dropout_rng, _ = make_generators(trial.config.seed)
    net = build_model(trial.config, x_train.shape[1], 10, init_rng, dropout_rng)
    load_checkpoint(str(path), net)
    assert outcome["train_error"] == evaluate(net, x_train, y_train)
    assert len(x_train) == 400  # the validation images are not training images


def test_the_summary_and_plots_of_a_linked_sweep(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt
    from minigrad.sweep.plots import error_vs_axis_figure, write_plots
    sweep = small_sweep({"p_input": [0.0, 0.2], **FIXED_KEPT}, validation=100)
    sweep = Sweep(sweep.grid, linked=[("p_hidden", "hidden")], base=sweep.base,
                  train_subset=sweep.train_subset, validation=sweep.validation)
    with ThreadPoolExecutor(1) as pool:
        results = run_sweep(sweep, tmp_path, executor=pool, threads=1, progress=False)
    rows = summarize(sweep, results)
    assert [(r["p_input"], r["p_hidden"], r["hidden"]) for r in rows] == \
        [tuple(v for _, v in point) for point in sweep.points()]
    assert all(r["train_n"] == 1 and 0 <= r["train_error_mean"] <= 1 for r in rows)
    names = sorted(os.path.basename(p) for p in write_plots(tmp_path, sweep, results))
    # two dimensions (p_input; p_hidden with hidden), so a heatmap
    assert names == ["error_vs_hidden.png", "error_vs_p_hidden.png", "error_vs_p_input.png",
                     "heatmap.png", "learning_curves.png"]
    fig = error_vs_axis_figure(sweep, rows, "p_hidden")
    test = fig.axes[1]
    labels = [bars.get_label() for bars in test.containers]
    assert labels == ["p_input=0.0", "training (dropout off): p_input=0.0",
                      "p_input=0.2", "training (dropout off): p_input=0.2"]
    train_line = test.containers[1].lines[0]
    assert list(train_line.get_ydata()) == pytest.approx(
        [100 * r["train_error_mean"] for r in rows if r["p_input"] == 0.0])
    ticks = [t.get_text() for t in test.get_xticklabels()]
    assert ticks == ["0.5\nhidden=16", "0.75\nhidden=32", "0.875\nhidden=64"]
    plt.close(fig)
    assert np.isfinite([r["test_error_mean"] for r in rows]).all()


def test_values_spanning_two_decades_are_drawn_on_a_log_scale():
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt
    from minigrad.sweep.plots import error_vs_axis_figure
    for sizes, scale in (([100, 1000, 50000], "log"), ([500, 1000, 5000], "linear")):
        sweep = Sweep({"train_subset": sizes})
        rows = [{"train_subset": n, "validation_error_mean": None, "validation_error_sd": None,
                 "validation_n": 0, "test_error_mean": 0.1, "test_error_sd": None,
                 "test_n": 1, "train_error_mean": None, "train_error_sd": None,
                 "train_n": 0, "chosen": False} for n in sizes]
        fig = error_vs_axis_figure(sweep, rows, "train_subset")
        # no validation split: the test panel alone
        assert [panel.get_xscale() for panel in fig.axes] == [scale]
        plt.close(fig)
