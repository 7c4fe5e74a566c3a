"""``minigrad sweep``: bad grids are usage errors naming the axis (exit status 2, before
any trial), a run writes its trials and summary, ``--summarize`` renders it again, and a
failed trial makes the exit status 1."""
import json
import shlex

import pytest

from minigrad.cli import main
from minigrad.kernels.backend import available_cores

DATA = ["--train-subset", "500", "--validation", "100", "--hidden", "16", "--epochs", "1",
        "--quiet"]
SMALL = DATA + ["--workers", "1", "--threads", "1"]


@pytest.mark.parametrize("flags, words", [
    (["--grid", "p_inptu=0,1"], ["unknown axis 'p_inptu'"]),
    (["--grid", "p_input=0,1"], ["grid axis p_input", "[0, 1)"]),
    (["--grid", "p_input="], ["p_input", "no values"]),
    (["--grid", "p_input=0.1,0.1"], ["given twice"]),
    (["--grid", "p_input=0", "--grid", "input-dropout=0.2"], ["p_input is given twice"]),
    (["--grid", "p_input=0,0.2", "--input-dropout", "0.1"], ["p_input is both fixed"]),
    (["--grid", "seed=0,1"], ["--seeds"]),
    (["--seed", "3"], ["--seeds"]),
    (["--seeds", "0", "0"], ["given twice"]),
    (["--validation", "0"], [">= 1"]),
    (["--validation", "500"], ["validation 500 holds 500 of the 500"]),
    (["--grid", "train_subset=200,70000"], ["exceeds the 60000 training images"]),
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], ["--workers is for the local"]),
    (["--oversubscribe", "--scheduler", "tcp://127.0.0.1:1"], ["--oversubscribe is for"]),
])
def test_bad_sweeps_are_usage_errors_before_any_trial(tmp_path, capsys, flags, words):
    out = tmp_path / "sweep"
    args = DATA + flags
    with pytest.raises(SystemExit) as info:
        main(["sweep", *args, "--out", str(out)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    for word in words:
        assert word in err
    assert not out.exists()  # nothing ran, nothing was written


@pytest.mark.parametrize("pool", [["--workers", "{n}"], ["--local-cluster", "{n}"]])
def test_more_threads_than_cores_is_refused_before_any_trial(tmp_path, capsys, pool):
    flags = [f.format(n=available_cores() + 1) for f in pool] + ["--threads", "1"]
    with pytest.raises(SystemExit) as info:
        main(["sweep", *DATA, "--grid", "p_input=0,0.2", *flags, "--out", str(tmp_path / "s")])
    assert info.value.code == 2 and "--oversubscribe" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("text, words", [
    ("seeds = [0\n", ["sweep.toml: not a valid TOML file"]),
    ("seeds = 3\n", ["seeds must be a list of ints, got 3"]),
    ("[grid]\np_input = 0.2\n", ["grid axis p_input", "must be a list"]),
    ("grdi = {}\n", ["unknown keys ['grdi']"]),
])
def test_bad_sweep_files_are_usage_errors_naming_the_file_or_the_key(tmp_path, capsys,
                                                                     text, words):
    (tmp_path / "sweep.toml").write_text(text)
    with pytest.raises(SystemExit) as info:
        main(["sweep", "--file", str(tmp_path / "sweep.toml"), "--dry-run"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and all(word in err for word in words), err


def test_the_help_lists_the_grid_syntax_and_not_the_refused_seed(capsys):
    with pytest.raises(SystemExit):
        main(["sweep", "--help"])
    text = capsys.readouterr().out
    assert "--seeds S [S ...]" in text and "--seed " not in text and "[--seed SEED]" not in text
    assert "AXIS is a TrainConfig field" in text and "Exit status: 0" in text


def test_a_sweep_file_and_flags_combine(tmp_path, capsys):
    spec = tmp_path / "sweep.toml"
    spec.write_text('seeds = [0, 1]\n[config]\nbatch_size = 50\n[grid]\np_input = [0, 0.2]\n')
    assert main(["sweep", "--file", str(spec), *SMALL, "--grid", "max-norm=none,3",
                 "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "8 trials (4 grid points x 2 seeds)"
    assert lines[0].startswith("max_norm=none,p_input=0.0,seed=0-")
    with pytest.raises(SystemExit):
        main(["sweep", "--file", str(spec), *SMALL, "--grid", "p_input=0.5", "--dry-run"])
    assert "is in" in capsys.readouterr().err


def test_a_dry_run_counts_one_point_and_one_seed_in_the_singular(capsys):
    assert main(["sweep", *SMALL, "--grid", "max-norm=none", "--dry-run"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 trial (1 grid point x 1 seed)"


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_a_run_writes_trials_and_summary_and_summarize_renders_it_again(tmp_path, capsys):
    out = tmp_path / "sweep"
    # lr 1e30 diverges: one failed trial, counted, and the exit status says so
    args = ["sweep", *SMALL, "--max-norm", "none", "--grid", "lr=0.05,1e30",
            "--grid", "p_hidden=0.2,0.5", "--out", str(out)]
    assert main(args) == 1
    first = capsys.readouterr()
    assert "2 of 4 trials failed" in first.err
    summary = (out / "summary.md").read_text()
    assert summary in first.out
    rows = (out / "summary.csv").read_text().splitlines()
    assert rows[0] == ("lr,p_hidden,validation_error_mean,validation_error_sd,validation_n,"
                       "test_error_mean,test_error_sd,test_n,train_error_mean,train_error_sd,"
                       "train_n,failed,missing,chosen")
    cells = [row.split(",") for row in rows[1:]]
    assert [(c[0], c[1], c[-3], c[-2]) for c in cells] == [
        ("0.05", "0.2", "0", "0"), ("0.05", "0.5", "0", "0"),
        ("1e+30", "0.2", "1", "0"), ("1e+30", "0.5", "1", "0")]
    assert [c[-1] for c in cells].count("True") == 1  # chosen among the rows that all ran
    assert [c[-1] for c in cells[2:]] == ["False", "False"]
    sweep = json.loads((out / "sweep.json").read_text())
    assert sweep["grid"] == {"lr": [0.05, 1e30], "p_hidden": [0.2, 0.5]}
    assert sweep["command"] == "minigrad " + shlex.join(args)  # the words given to main
    # the same command again: every trial is done (failed ones kept), nothing runs
    (out / "summary.md").unlink()
    assert main(args) == 1
    assert (out / "summary.md").read_text() == summary
    capsys.readouterr()
    (out / "summary.md").unlink()
    assert main(["sweep", "--summarize", str(out)]) == 1
    assert (out / "summary.md").read_text() == summary
    # a trial not run yet is said so, and counted in the table
    next((out / "trials").iterdir()).joinpath("result.json").unlink()
    capsys.readouterr()
    main(["sweep", "--summarize", str(out)])
    assert "1 of 4 trials have not run yet" in capsys.readouterr().err


def test_summarize_needs_a_sweep_directory(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["sweep", "--summarize", str(tmp_path)])
    assert info.value.code == 2 and "no sweep.json" in capsys.readouterr().err
