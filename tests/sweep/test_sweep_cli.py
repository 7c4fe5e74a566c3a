"""``minigrad sweep``: bad grids are usage errors naming the axis (exit status 2, before
any trial), a run writes its trials and summary, ``--summarize`` renders it again, and a
failed trial makes the exit status 1."""
import json

import pytest

from minigrad.cli import main

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
    (["--workers", "3", "--threads", "1"], ["--oversubscribe"]),
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
    assert not (out / "trials").exists()  # nothing ran


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
                       "test_error_mean,test_error_sd,test_n,failed,missing,chosen")
    cells = [row.split(",") for row in rows[1:]]
    assert [(c[0], c[1], c[-3], c[-2]) for c in cells] == [
        ("0.05", "0.2", "0", "0"), ("0.05", "0.5", "0", "0"),
        ("1e+30", "0.2", "1", "0"), ("1e+30", "0.5", "1", "0")]
    assert [c[-1] for c in cells].count("True") == 1  # chosen among the rows that all ran
    assert [c[-1] for c in cells[2:]] == ["False", "False"]
    sweep = json.loads((out / "sweep.json").read_text())
    assert sweep["grid"] == {"lr": [0.05, 1e30], "p_hidden": [0.2, 0.5]}
    # the same command again: every trial is done (failed ones kept), nothing runs
    (out / "summary.md").unlink()
    assert main(args) == 1
    assert (out / "summary.md").read_text() == summary
    capsys.readouterr()
    (out / "summary.md").unlink()
    assert main(["sweep", "--summarize", str(out)]) == 1
    assert (out / "summary.md").read_text() == summary


def test_summarize_needs_a_sweep_directory(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["sweep", "--summarize", str(tmp_path)])
    assert info.value.code == 2 and "no sweep.json" in capsys.readouterr().err
