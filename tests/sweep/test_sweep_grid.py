"""The grid: values checked by their field's own check, bad grids refused before any
trial, keys readable and unique, seeds derived from (base seed, content)."""
import hashlib
import json
import pathlib

import pytest

from minigrad.sweep import Sweep, parse_axis, read_sweep_file, trial_seed
from minigrad.sweep.grid import validation_count
from minigrad.training_config import TrainConfig

from support.sweeps import small_sweep


def test_points_are_the_product_in_grid_order_with_seeds_fastest():
    sweep = small_sweep({"p_input": [0.0, 0.2], "p_hidden": [0.3, 0.4, 0.5]}, seeds=(0, 1))
    points = [dict(p) for p in sweep.points()]
    assert points[:3] == [{"p_input": 0.0, "p_hidden": h} for h in (0.3, 0.4, 0.5)]
    assert len(points) == 6
    trials = sweep.trials()
    assert len(trials) == 12
    assert [t.base_seed for t in trials[:4]] == [0, 1, 0, 1]
    assert dict(trials[2].point) == {"p_input": 0.0, "p_hidden": 0.4}
    assert trials[2].config.p_hidden == 0.4 and trials[2].config.hidden == (16,)


@pytest.mark.parametrize("text, axis, values", [
    ("p_input=0,0.2", "p_input", (0.0, 0.2)),
    ("input-dropout=0,0.2", "p_input", (0.0, 0.2)),
    ("hidden=16x16,32", "hidden", ((16, 16), (32,))),
    ("hidden=none,8", "hidden", ((), (8,))),
    ("max-norm=none,3", "max_norm", (None, 3.0)),
    ("dropout_kind=bernoulli,gaussian", "dropout_kind", ("bernoulli", "gaussian")),
    ("paper_momentum=true,false", "paper_momentum", (True, False)),
    ("lr_anneal_epochs=none,5", "lr_anneal_epochs", (None, 5)),
    ("dataset=mnist,fashion-mnist", "dataset", ("mnist", "fashion-mnist")),
    ("train-subset=100,all", "train_subset", (100, None)),
])
def test_axes_read_as_their_flags_do(text, axis, values):
    assert parse_axis(text) == (axis, values)


@pytest.mark.parametrize("grid, error, words", [
    ({"p_inptu": [0.1]}, ValueError, ["unknown axis 'p_inptu'; did you mean 'p_input'?"]),
    ({"input_dropout": [0.1]}, ValueError, ["did you mean 'input-dropout'?"]),
    ({"p_input": []}, ValueError, ["p_input", "no values"]),
    ({"p_input": [0.2, 0.2]}, ValueError, ["p_input", "given twice"]),
    ({"p_input": [0, 0.0]}, ValueError, ["p_input", "given twice"]),  # the same value
    ({"p_input": [0.2, 1.0]}, ValueError, ["grid axis p_input", "[0, 1)"]),
    ({"p_input": ["x"]}, ValueError, ["p_input", "'x' is not a number"]),
    ({"batch_size": [0]}, ValueError, ["grid axis batch_size", ">= 1"]),
    ({"dropout_mode": ["sideways"]}, ValueError, ["grid axis dropout_mode"]),
    ({"hidden": [[16, 0]]}, ValueError, ["grid axis hidden"]),
    ({"seed": [1, 2]}, ValueError, ["seed is not an axis", "--seeds"]),
    ({"dataset": ["cifar"]}, ValueError, ["grid axis dataset"]),
    ({"p_input": 0.2}, TypeError, ["p_input", "must be a list"]),
    ({"hidden": [16.5]}, TypeError, ["grid axis hidden must be a sequence of layer sizes"]),
    # a point whose whole configuration is refused names the point
    ({"dropout_kind": ["gaussian"], "dropout_mode": ["weight_scaling"]}, ValueError,
     ["grid point dropout_kind=gaussian, dropout_mode=weight_scaling"]),
    ({"lr": [1e-300], "lr_decay": [1e-300], "epochs": [2]}, ValueError,
     ["grid point", "underflows"]),
])
def test_bad_grids_are_refused_naming_the_axis(grid, error, words):
    with pytest.raises(error) as info:
        small_sweep(grid)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("text", ["p_input", "p_input=", "hidden=16y16", "train_subset=0"])
def test_bad_axis_texts_are_refused(text):
    with pytest.raises(ValueError):
        parse_axis(text)


def test_bad_seeds_and_splits_are_refused():
    with pytest.raises(ValueError, match="given twice"):
        small_sweep({"p_input": [0.0]}, seeds=(1, 1))
    with pytest.raises(ValueError, match="empty"):
        small_sweep({"p_input": [0.0]}, seeds=())
    with pytest.raises(ValueError, match=">= 0"):
        small_sweep({"p_input": [0.0]}, seeds=(-1,))
    with pytest.raises(ValueError, match="fraction in"):
        small_sweep({"p_input": [0.0]}, validation=1.5)
    with pytest.raises(ValueError, match="at least one"):
        validation_count(500, 500)
    with pytest.raises(TypeError, match="data_dir must be None or a path, got int 3"):
        Sweep(data_dir=3)
    assert Sweep(data_dir=pathlib.Path("data")).to_dict()["data_dir"] == "data"  # JSON-able


def test_the_seed_is_sha256_of_the_base_seed_and_the_content():
    trial = small_sweep({"p_input": [0.2]}, seeds=(7,)).trials()[0]
    content = dict(trial.config.to_dict(), dataset="mnist", train_subset=500, validation=100)
    del content["seed"]
    text = json.dumps(content, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(f"minigrad.sweep/7/{text}".encode()).digest()
    assert trial.config.seed == int.from_bytes(digest[:8], "big") >> 1 == trial_seed(7, text)
    assert trial.key.startswith("p_input=0.2,seed=7-")
    assert trial.key.endswith(hashlib.sha256(f"7/{text}".encode()).hexdigest()[:10])


def test_keys_and_seeds_depend_on_the_content_not_on_how_the_grid_is_written():
    a = {t.key: t.config.seed for t in
         small_sweep({"p_input": [0.0, 0.2], "p_hidden": [0.5]}, seeds=(0, 1)).trials()}
    b = {t.key: t.config.seed for t in
         small_sweep({"p_hidden": [0.5], "p_input": [0.2, 0.0]}, seeds=(1, 0)).trials()}
    assert a == b
    assert len(set(a.values())) == len(a) == 4  # every trial its own seed
    # a field that is not swept changes the content: new keys and seeds, same names
    c = {t.key: t.config.seed for t in
         small_sweep({"p_input": [0.0, 0.2], "p_hidden": [0.5]}, seeds=(0, 1),
                    epochs=2).trials()}
    assert not set(a) & set(c) and not set(a.values()) & set(c.values())
    assert sorted(k.rsplit("-", 1)[0] for k in a) == sorted(k.rsplit("-", 1)[0] for k in c)


def test_a_sweep_round_trips_through_its_dict():
    sweep = small_sweep({"hidden": [(8,), (8, 8)], "max_norm": [None, 3.0]}, seeds=(0, 2))
    again = Sweep.from_dict(json.loads(json.dumps(sweep.to_dict())))
    assert [t.key for t in again.trials()] == [t.key for t in sweep.trials()]


def test_toml_and_json_files_describe_the_same_sweep(tmp_path):
    (tmp_path / "s.toml").write_text(
        'seeds = [0, 1]\ntrain_subset = 500\nvalidation = 100\n'
        '[config]\nhidden = [16]\nepochs = 1\nbatch_size = 50\n'
        '[grid]\np_input = [0, 0.2]\nmax_norm = ["none", 3]\n')
    (tmp_path / "s.json").write_text(json.dumps({
        "seeds": [0, 1], "train_subset": 500, "validation": 100,
        "config": {"hidden": [16], "epochs": 1, "batch_size": 50},
        "grid": {"p_input": [0, 0.2], "max_norm": [None, 3]}}))
    expected = [t.key for t in small_sweep({"p_input": [0.0, 0.2], "max_norm": [None, 3.0]},
                                          seeds=(0, 1)).trials()]
    for name in ("s.toml", "s.json"):
        assert [t.key for t in Sweep.from_dict(read_sweep_file(tmp_path / name)).trials()] \
            == expected


def test_a_file_with_unknown_keys_or_a_fixed_seed_is_refused():
    with pytest.raises(ValueError, match="unknown keys"):
        Sweep.from_dict({"grdi": {}})
    with pytest.raises(ValueError, match="config.seed"):
        Sweep.from_dict({"config": {"seed": 3}})
    with pytest.raises(ValueError, match="unknown keys"):
        Sweep.from_dict({"config": {"hiden": [3]}})


def test_an_empty_grid_is_one_point():
    sweep = Sweep(seeds=(0, 1), base=TrainConfig(epochs=1))
    assert len(sweep.points()) == 1 and len(sweep.trials()) == 2
    assert sweep.trials()[0].key.startswith("seed=0-")


def test_sweep_json_keeps_the_grid_order(tmp_path):
    from minigrad.sweep.store import load_sweep, save_sweep
    sweep = small_sweep({"p_input": [0.0, 0.2], "lr": [0.1, 0.05]}, seeds=(0, 1))
    save_sweep(tmp_path, sweep)
    again = load_sweep(tmp_path)
    assert list(again.grid) == ["p_input", "lr"] and again.grid["lr"] == (0.1, 0.05)
    assert [t.key for t in again.trials()] == [t.key for t in sweep.trials()]
