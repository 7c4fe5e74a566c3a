"""Bad input to train(), evaluate() and the command line: each case is a clear error or a documented result.

Part of the bad-input matrix (one file per floor: autograd/, nn/, data/, training/):
rows are entry points, columns are kinds of bad input. Each case ends in one of two
ways: a ``TypeError``/``ValueError`` (or the documented ``OSError`` subclass) whose type
is asserted together with words of its message that name the bad argument or value
(``support.bad_input.expect_error``); or a documented result checked against an oracle.
"""

import numpy as np
import pytest

from minigrad.cli import main as cli_main
from minigrad.models import dropout_mlp
from minigrad.training import MAX_CLASSES, TrainConfig, evaluate, train

from support.bad_input import MAX_THREADS, expect_error


# ================================================================ train() and evaluate(): datasets
def tiny_dataset():
    rng = np.random.default_rng(0)
    x = rng.random((20, 4), dtype=np.float32)
    return [x[:12], np.arange(12) % 3, x[12:], np.arange(8) % 3]


def with_nan(a, value=np.nan):
    a = a.copy()
    a[1, 2] = value
    return a


TINY_CONFIG = dict(hidden=(4,), batch_size=4, epochs=1)
BAD_DATASETS = {
    "nan-pixel-train": (0, lambda x: with_nan(x), ValueError, ["x_train", "NaN"]),
    "inf-pixel-test": (2, lambda x: with_nan(x, np.inf), ValueError, ["x_test", "infinity"]),
    "f64-beyond-f32": (0, lambda x: with_nan(x.astype(np.float64), 1e39), ValueError,
                       ["x_train", "float32 range"]),
    "uint8-images": (0, lambda x: (x * 255).astype(np.uint8), TypeError, ["x_train", "uint8"]),
    "float16-images": (0, lambda x: x.astype(np.float16), TypeError, ["x_train", "float16"]),
    "1-d-images": (0, lambda x: x[:, 0], ValueError, ["x_train", r"\(N, features\)"]),
    "no-features": (0, lambda x: x[:, :0], ValueError, ["x_train", "features >= 1"]),
    "float-labels": (1, lambda y: y.astype(float), TypeError, ["y_train", "integer"]),
    "label-count": (3, lambda y: y[:-1], ValueError, ["y_test", r"shape \(8,\)"]),
    "negative-label": (1, lambda y: y - 1, ValueError, ["y_train", "label -1"]),
    "huge-label": (1, lambda y: y + 10**8, ValueError, ["y_train", "MAX_CLASSES"]),
    "label-at-max-classes": (3, lambda y: y + MAX_CLASSES, ValueError, ["y_test", "65538"]),
    "empty-test-set": (2, lambda x: x[:0], ValueError, ["x_test", "empty"]),
}


@pytest.mark.parametrize("case", BAD_DATASETS)
def test_train_refuses_bad_datasets_before_building_the_model(case):
    which, change, exc, words = BAD_DATASETS[case]
    data = tiny_dataset()
    data[which] = change(data[which])
    expect_error(exc, *words)(lambda: train(TrainConfig(**TINY_CONFIG), tuple(data)))


@pytest.mark.parametrize("case", [c for c, (which, *_) in BAD_DATASETS.items() if which >= 2])
def test_evaluate_refuses_the_same_test_sets(case):
    which, change, exc, words = BAD_DATASETS[case]
    data = tiny_dataset()
    data[which] = change(data[which])
    words = [w.replace("_test", "") for w in words]
    model = dropout_mlp(4, (4,), 3, rng=0, dropout_rng=0)
    expect_error(exc, *words)(lambda: evaluate(model, data[2], data[3]))


def test_evaluate_of_nan_weights_is_an_error_not_class_0():
    model = dropout_mlp(4, (4,), 3, rng=0, dropout_rng=0)
    model[1].weight.data[:] = np.nan
    data = tiny_dataset()
    expect_error(FloatingPointError, "NaN or infinite", "1.weight")(
        lambda: evaluate(model, data[2], data[3]))


# ================================================================ command line
BAD_FLAGS = [
    (["--lr", "nan"], "--lr"), (["--lr", "inf"], "--lr"), (["--lr", "-1"], "--lr"),
    (["--lr", "1e400"], "--lr"), (["--lr", ""], "--lr"),
    (["--max-norm", "nan"], "--max-norm"), (["--max-norm", "inf"], "--max-norm"),
    (["--max-norm", "-inf"], "--max-norm"), (["--max-norm", "three"], "--max-norm"),
    (["--input-dropout", "nan"], "--input-dropout"), (["--input-dropout", "1"], "--input-dropout"),
    (["--input-dropout", "-inf"], "--input-dropout"), (["--hidden-dropout", "1.0"], "--hidden-dropout"),
    (["--hidden-dropout", "half"], "--hidden-dropout"),
    (["--batch-size", "2.5"], "--batch-size"), (["--batch-size", "abc"], "--batch-size"),
    (["--batch-size", "-1"], "--batch-size"), (["--epochs", "0"], "--epochs"),
    (["--epochs", "1e3"], "--epochs"), (["--seed", "-1"], "--seed"), (["--seed", "x"], "--seed"),
    (["--threads", "0"], "--threads"), (["--threads", "two"], "--threads"),
    (["--threads", "3000000000"], f"--threads: must be <= {MAX_THREADS}"),
    (["--threads", str(MAX_THREADS + 1)], f"--threads: must be <= {MAX_THREADS}"),
    (["--lr-decay", "1e-300", "--epochs", "3"], "epoch 3 underflows"),
    (["--momentum-start", "1"], "--momentum-start"), (["--momentum-start", "nan"], "--momentum-start"),
    (["--momentum-end", "-0.1"], "--momentum-end"), (["--momentum-epochs", "-1"], "--momentum-epochs"),
    (["--lr-decay", "0"], "--lr-decay"), (["--lr-decay", "nan"], "--lr-decay"),
    (["--lr-anneal-epochs", "0"], "--lr-anneal-epochs"),
    (["--lr-anneal-epochs", "2.5"], "--lr-anneal-epochs"),
    (["--lr-anneal-epochs", "0"], "--lr-anneal-epochs"),
    (["--lr-anneal-epochs", "2.5"], "--lr-anneal-epochs"),
    (["--hidden", "2.5"], "--hidden"), (["--hidden", "64", "0"], "--hidden"),
    (["--train-subset", "0"], "--train-subset"), (["--dataset", ""], "--dataset"),
    (["--dropout-mode", "none"], "--dropout-mode"), (["--bogus"], "unrecognized arguments"),
    (["--lr"], "--lr"),
]


@pytest.mark.parametrize("flags, word", BAD_FLAGS, ids=[" ".join(f) or "empty" for f, _ in BAD_FLAGS])
def test_cli_bad_flags_exit_2_naming_the_flag(flags, word, capsys):
    with pytest.raises(SystemExit) as info:
        cli_main(["train", *flags])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert word in err and "Traceback" not in err, err


@pytest.mark.parametrize("argv, word", [(["train", "--resume"], "--resume"),
                                        (["fit"], "invalid choice"), (["--epochs", "1"], "COMMAND")],
                         ids=["resume-without-path", "unknown-command", "no-command"])
def test_cli_bad_command_lines(argv, word, capsys):
    with pytest.raises(SystemExit) as info:
        cli_main(argv)
    assert info.value.code == 2
    assert word in capsys.readouterr().err
