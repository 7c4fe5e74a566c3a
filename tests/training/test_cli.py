"""The ``minigrad train`` command line: argument errors, and a small end-to-end run."""
import csv
import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import minigrad

from minigrad.cli import main
from minigrad.training import TrainConfig


@pytest.mark.parametrize("argv, message", [
    (["train", "--hidden", "-3"], "--hidden: must be >= 1"),
    (["train", "--hidden", "0"], "--hidden: must be >= 1"),
    (["train", "--input-dropout", "1.5"], "--input-dropout: must be in [0, 1)"),
    (["train", "--hidden-dropout", "-0.1"], "--hidden-dropout: must be in [0, 1)"),
    (["train", "--lr", "0"], "--lr: must be a positive finite number"),
    (["train", "--lr", "abc"], "--lr: 'abc' is not a number"),
    (["train", "--batch-size", "0"], "--batch-size: must be >= 1"),
    (["train", "--epochs", "-1"], "--epochs: must be >= 1"),
    (["train", "--lr-decay", "1.5"], "--lr-decay: must be in (0, 1]"),
    (["train", "--lr-anneal-epochs", "0"], "--lr-anneal-epochs: must be >= 1"),
    (["train", "--epochs", "5", "--lr-anneal-epochs", "4"],
     "epochs (5) must not exceed lr_anneal_epochs (4)"),
    (["train", "--momentum-end", "1"], "--momentum-end: must be in [0, 1)"),
    (["train", "--max-norm", "-2"], "--max-norm: must be a positive finite number"),
    (["train", "--dataset", "cifar"], "invalid choice: 'cifar'"),
    (["train", "--dropout-mode", "paper"], "invalid choice: 'paper'"),
    (["train", "--data-dir", "/nonexistent/minigrad", "--no-download"], "is not a directory"),
    (["train", "--checkpoint", "/nonexistent/dir/run.npz"], "does not exist"),
    (["train", "--resume", "/nonexistent/run.npz"], "does not exist"),
    ([], "required: COMMAND"),
])
def test_bad_arguments_exit_2_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert "Traceback" not in err


def test_missing_data_is_an_argument_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--data-dir", str(tmp_path), "--no-download"])
    assert exc.value.code == 2
    assert "cannot load mnist" in capsys.readouterr().err


def test_garbage_resume_file_is_an_argument_error(tmp_path, capsys):
    bad = tmp_path / "run.npz"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(SystemExit) as exc:
        main(["train", "--resume", str(bad)])
    assert exc.value.code == 2
    assert "run.npz" in capsys.readouterr().err


def test_max_norm_none_and_zero_disable_the_constraint():
    from minigrad.training_config import max_norm_from_text as _max_norm
    assert _max_norm("none") is None and _max_norm("0") is None and _max_norm("3") == 3.0


def test_paper_momentum_flag_sets_the_config():
    from minigrad.cli import _config_from_args, build_parser
    parser, train_parser = build_parser()
    for argv, expected in ((["train"], False), (["train", "--paper-momentum"], True)):
        args = parser.parse_args(argv)
        assert _config_from_args(args, argv, train_parser).paper_momentum is expected


def test_lr_anneal_epochs_flag_sets_the_config():
    from minigrad.cli import _config_from_args, build_parser
    parser, train_parser = build_parser()
    for argv, expected in ((["train"], None), (["train", "--lr-anneal-epochs", "7"], 7)):
        args = parser.parse_args(argv)
        assert _config_from_args(args, argv, train_parser).lr_anneal_epochs == expected


def test_every_train_config_field_has_a_flag_with_the_field_s_default():
    from minigrad.cli import _config_from_args, build_parser
    from minigrad.cli_flags import config_flag
    parser, train_parser = build_parser()
    args = parser.parse_args(["train"])
    help_text = train_parser.format_help()
    for field in dataclasses.fields(TrainConfig):
        assert config_flag(field) in help_text, field.name
        assert getattr(args, field.name) == field.default, field.name
    assert _config_from_args(args, ["train"], train_parser) == TrainConfig()


def test_every_flag_of_a_train_config_field_sets_that_field():
    """Each field's flag, given a value other than the default, carries it into the config."""
    def words(value):
        if isinstance(value, bool):  # a switch: given means True
            return []
        return [str(v) for v in value] if isinstance(value, tuple) else [str(value)]

    from minigrad.cli import _config_from_args, build_parser
    from minigrad.cli_flags import config_flag
    # every field differs from its default in one of these (two, because Gaussian
    # dropout allows only the default dropout_mode)
    wanted = [TrainConfig(hidden=(7, 5), p_input=0.1, p_hidden=0.3,
                          dropout_mode="weight_scaling", max_norm=2.5, lr=0.05, lr_decay=0.9,
                          lr_anneal_epochs=9, momentum_start=0.2, momentum_end=0.8,
                          momentum_epochs=4, batch_size=16, epochs=3, seed=11,
                          init="glorot_uniform", paper_momentum=True),
              TrainConfig(dropout_kind="gaussian")]
    exercised = set()
    parser, train_parser = build_parser()
    for config in wanted:
        argv = ["train"]
        for field in dataclasses.fields(TrainConfig):
            value = getattr(config, field.name)
            if value != field.default:
                exercised.add(field.name)
                argv += [config_flag(field), *words(value)]
        assert _config_from_args(parser.parse_args(argv), argv, train_parser) == config
    assert exercised == {field.name for field in dataclasses.fields(TrainConfig)}


def test_help_runs_as_a_module(tmp_path):
    # Run the same minigrad this test imported (installed or source tree with built
    # kernels), not whatever the working directory would put first on sys.path.
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(minigrad.__file__)))
    out = subprocess.run([sys.executable, "-m", "minigrad", "train", "--help"],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    assert "--input-dropout" in out.stdout and "--momentum-epochs" in out.stdout


def test_small_end_to_end_run_then_resume(tmp_path, capsys):
    # real MNIST: from $MINIGRAD_DATA or the cache if there, else the copy bundled inside
    # the package, so this never needs a network (--no-download)
    out, ckpt = tmp_path / "out", tmp_path / "run.npz"
    common = ["--train-subset", "2000", "--hidden", "64", "--quiet", "--no-download"]
    assert main(["train", "--epochs", "1", "--checkpoint", str(ckpt), "--out", str(out),
                 *common]) == 0
    stdout = capsys.readouterr().out
    assert "epoch   1/1" in stdout and "test error" in stdout and "samples/s" in stdout

    record = json.loads((out / "history.json").read_text())
    assert record["config"]["hidden"] == [64] and record["train_subset"] == 2000
    assert record["backend"]["kernels"].keys() >= {"matmul", "dropout"}
    [row] = record["history"]
    assert 0 <= row["test_error"] < 0.5
    with open(out / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1 and float(rows[0]["test_error"]) == row["test_error"]
    assert ckpt.exists()

    # resume to epoch 2: flags not given come from the checkpoint
    assert main(["train", "--resume", str(ckpt), "--epochs", "2", "--quiet",
                 "--out", str(out)]) == 0
    history = json.loads((out / "history.json").read_text())["history"]
    assert [r["epoch"] for r in history] == [1, 2] and history[0] == row

    # a changed configuration cannot continue the run
    with pytest.raises(SystemExit) as exc:
        main(["train", "--resume", str(ckpt), "--epochs", "3", "--lr", "0.01", "--quiet"])
    assert exc.value.code == 2
    assert "configuration differs" in capsys.readouterr().err


def test_the_run_prints_its_model_with_the_fused_layers(capsys):
    argv = ["train", "--epochs", "1", "--train-subset", "200", "--hidden", "16", "16",
            "--no-download"]
    assert main(argv) == 0
    stdout = capsys.readouterr().out
    assert ("model: Sequential(\n  (0): Dropout(p=0.2, mode='inverted')\n"
            "  (1): FusedLinear(in_features=784, out_features=16, bias=True, max_norm=3.0, "
            "relu=True, p=0.5, mode='inverted')\n") in stdout
    assert "(7): Linear(in_features=16, out_features=10" in stdout
    assert main([*argv, "--quiet"]) == 0
    assert "model:" not in capsys.readouterr().out


def test_train_hands_the_built_model_to_on_start():
    from minigrad.training import TrainConfig, train
    rng = np.random.default_rng(0)
    data = (rng.random((40, 5), dtype=np.float32), rng.integers(0, 3, 40),
            rng.random((10, 5), dtype=np.float32), rng.integers(0, 3, 10))
    seen = []
    model, _ = train(TrainConfig(hidden=(4,), epochs=1, batch_size=20), data,
                     on_start=seen.append)
    assert seen == [model]
