"""``minigrad train``: every destination is checked before work starts, and a run that
stops early (Ctrl-C, divergence, a failed write, a bug) says the truth about its
checkpoint and writes the epochs it finished to --out."""
import json
import os

import pytest

import minigrad.data
from minigrad import cli, training
from minigrad.checkpoint import read_checkpoint_metadata
from minigrad.cli import main

RUN = ["train", "--train-subset", "300", "--hidden", "8", "--quiet", "--no-download"]


@pytest.fixture(scope="module")
def mnist():
    return minigrad.data.load_mnist(download=False)


@pytest.fixture
def fast_data(monkeypatch, mnist):
    """The real (bundled) MNIST, loaded once for the module instead of once per run."""
    monkeypatch.setattr(minigrad.data, "load_dataset", lambda *args, **kwargs: mnist)


@pytest.fixture
def read_only_dir(tmp_path):
    """A directory in which creating a file fails, even for root.

    Permission bits stop everyone but root; as root (CI here), sysfs refuses new files.
    """
    directory = tmp_path / "read-only"
    directory.mkdir()
    directory.chmod(0o555)
    for candidate in (directory, "/sys"):
        try:
            open(os.path.join(candidate, "probe"), "x").close()
        except OSError:
            yield str(candidate)
            break
        os.remove(os.path.join(candidate, "probe"))
    else:
        pytest.skip("no directory here refuses new files")
    directory.chmod(0o755)


def interrupt(epoch, exc=KeyboardInterrupt):
    """A ``progress`` hook for cli._progress_bar: raise ``exc`` in the first step of ``epoch``."""
    def progress(batches, total, current):
        for batch in batches:
            if current == epoch:
                raise exc("training diverged (simulated)") if exc is FloatingPointError else exc
            yield batch
    return lambda *args: progress


def usage_error(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    captured = capsys.readouterr()
    assert info.value.code == 2 and "Traceback" not in captured.err, captured.err
    assert "epoch " not in captured.out  # nothing was trained
    return captured.err


# ------------------------------------------------------------------ checked before work
def test_out_naming_a_file_is_refused_up_front(tmp_path, capsys):
    target = tmp_path / "a-file"
    target.write_text("keep me")
    assert f"--out: {str(target)!r} is not a directory" in usage_error(
        [*RUN, "--out", str(target)], capsys)
    assert "is not a directory" in usage_error([*RUN, "--out", str(target / "sub")], capsys)
    assert target.read_text() == "keep me"


def test_out_whose_history_file_is_a_directory_is_refused(tmp_path, capsys):
    (tmp_path / "history.csv").mkdir()
    assert "history.csv' is a directory" in usage_error([*RUN, "--out", str(tmp_path)], capsys)


def test_out_in_a_read_only_directory_is_refused_up_front(read_only_dir, capsys):
    err = usage_error([*RUN, "--out", os.path.join(read_only_dir, "out")], capsys)
    assert f"--out: cannot create files in {read_only_dir!r}" in err


def test_checkpoint_naming_a_directory_is_refused_up_front(tmp_path, capsys):
    err = usage_error([*RUN, "--checkpoint", str(tmp_path)], capsys)
    assert f"--checkpoint: {str(tmp_path)!r} is a directory" in err


def test_checkpoint_in_a_read_only_directory_is_refused_up_front(read_only_dir, capsys):
    err = usage_error([*RUN, "--checkpoint", os.path.join(read_only_dir, "run.npz")], capsys)
    assert f"--checkpoint: cannot create files in {read_only_dir!r}" in err


def test_a_writable_destination_leaves_no_probe_behind(tmp_path, fast_data, capsys):
    assert main([*RUN, "--checkpoint", str(tmp_path / "run.npz"),
                 "--out", str(tmp_path / "out")]) == 0
    assert sorted(os.listdir(tmp_path)) == ["out", "run.npz"]
    assert sorted(os.listdir(tmp_path / "out")) == ["history.csv", "history.json",
                                                    "learning_curve.png"]


@pytest.mark.parametrize("threads", ["3000000000", str(cli.backend.MAX_THREADS + 1)])
def test_threads_has_the_backend_s_upper_bound_in_the_parser(threads, capsys):
    err = usage_error([*RUN, "--threads", threads], capsys)
    assert f"--threads: must be <= {cli.backend.MAX_THREADS}, got {threads}" in err


def test_a_schedule_that_underflows_later_is_refused_before_epoch_1(capsys):
    err = usage_error([*RUN, "--lr-decay", "1e-300", "--epochs", "3"], capsys)
    assert "learning rate of epoch 3 underflows to 0" in err


def test_a_crafted_resume_checkpoint_is_a_usage_error(tmp_path, fast_data, capsys):
    from test_training_guards import rewrite_checkpoint
    path = tmp_path / "run.npz"
    assert main([*RUN, "--checkpoint", str(path)]) == 0
    meta = read_checkpoint_metadata(path)
    meta["epoch"] = -3
    rewrite_checkpoint(path, tmp_path / "crafted.npz", metadata=meta)
    capsys.readouterr()
    err = usage_error(["train", "--resume", str(tmp_path / "crafted.npz"), "--epochs", "2",
                       "--quiet"], capsys)
    assert "epoch must be an int >= 0, got -3" in err


# ------------------------------------------------------------------ stopping early
def test_an_internal_value_error_during_training_is_not_a_usage_error(monkeypatch, tmp_path,
                                                                      fast_data, capsys):
    def broken(*args, **kwargs):
        raise ValueError("an internal invariant broke")
    monkeypatch.setattr(cli, "train", broken)
    with pytest.raises(ValueError, match="internal invariant"):  # a traceback, not exit 2
        main([*RUN, "--out", str(tmp_path / "out")])
    assert "unexpected exception" in capsys.readouterr().err


def test_ctrl_c_in_epoch_1_says_no_checkpoint_was_written(monkeypatch, tmp_path, fast_data,
                                                          capsys):
    stale = tmp_path / "run.npz"
    stale.write_bytes(b"from last week")
    monkeypatch.setattr(cli, "_progress_bar", interrupt(epoch=1))
    assert main([*RUN, "--epochs", "2", "--checkpoint", str(stale),
                 "--out", str(tmp_path / "out")]) == 130
    captured = capsys.readouterr()
    assert (f"interrupted; no checkpoint was written in this run ({stale} is unchanged)"
            in captured.err), captured.err
    assert "nothing written" in captured.out and not (tmp_path / "out").exists()
    assert stale.read_bytes() == b"from last week"


def test_ctrl_c_later_names_the_epoch_the_checkpoint_holds_and_keeps_the_history(
        monkeypatch, tmp_path, fast_data, capsys):
    path, out = tmp_path / "run.npz", tmp_path / "out"
    monkeypatch.setattr(cli, "_progress_bar", interrupt(epoch=3))
    assert main([*RUN, "--epochs", "4", "--checkpoint", str(path), "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert f"interrupted; {path} holds epoch 2 (continue with --resume {path})" in err, err
    assert read_checkpoint_metadata(path)["epoch"] == 2
    history = json.loads((out / "history.json").read_text())["history"]
    assert [r["epoch"] for r in history] == [1, 2]
    assert (out / "history.csv").read_text().count("\n") == 3  # header + 2 epochs


def test_ctrl_c_just_after_a_checkpoint_was_written_names_that_epoch(
        monkeypatch, tmp_path, fast_data, capsys):
    """The note is read from the file: epoch 2 was saved but never reported."""
    path = tmp_path / "run.npz"
    real_save = training.save_checkpoint

    def save_then_interrupt(*args, **kwargs):
        real_save(*args, **kwargs)
        if kwargs["epoch"] == 2:
            raise KeyboardInterrupt
    monkeypatch.setattr(training, "save_checkpoint", save_then_interrupt)
    assert main([*RUN, "--epochs", "3", "--checkpoint", str(path)]) == 130
    assert f"interrupted; {path} holds epoch 2" in capsys.readouterr().err


def test_a_resumed_run_that_is_interrupted_keeps_the_earlier_epochs_too(
        monkeypatch, tmp_path, fast_data, capsys):
    path, out = tmp_path / "run.npz", tmp_path / "out"
    assert main([*RUN, "--epochs", "1", "--checkpoint", str(path)]) == 0
    monkeypatch.setattr(cli, "_progress_bar", interrupt(epoch=3))
    assert main(["train", "--resume", str(path), "--epochs", "4", "--quiet",
                 "--out", str(out)]) == 130
    history = json.loads((out / "history.json").read_text())["history"]
    assert [r["epoch"] for r in history] == [1, 2]


def test_divergence_is_an_error_line_with_status_1_and_keeps_the_history(
        monkeypatch, tmp_path, fast_data, capsys):
    path, out = tmp_path / "run.npz", tmp_path / "out"
    monkeypatch.setattr(cli, "_progress_bar", interrupt(epoch=2, exc=FloatingPointError))
    assert main([*RUN, "--epochs", "3", "--checkpoint", str(path), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"error: training diverged (simulated); {path} holds epoch 1" in err
    assert "Traceback" not in err and "usage:" not in err
    assert len(json.loads((out / "history.json").read_text())["history"]) == 1


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_real_divergence_writes_no_checkpoint_and_exits_1(tmp_path, fast_data, capsys):
    """One step per epoch at lr 1e300: the loss is finite, the weights after it are not."""
    path = tmp_path / "run.npz"
    assert main(["train", "--train-subset", "100", "--hidden", "32", "--lr", "1e300",
                 "--quiet", "--checkpoint", str(path)]) == 1
    err = capsys.readouterr().err
    assert "hold NaN or infinity" in err and "no checkpoint was written in this run" in err
    assert not path.exists()


def test_a_failed_checkpoint_write_is_an_error_line(monkeypatch, tmp_path, fast_data, capsys):
    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(training, "save_checkpoint", disk_full)
    assert main([*RUN, "--checkpoint", str(tmp_path / "run.npz")]) == 1
    err = capsys.readouterr().err
    assert "error: [Errno 28] No space left on device" in err and "Traceback" not in err


def test_a_failed_history_write_is_an_error_line(monkeypatch, tmp_path, fast_data, capsys):
    import minigrad.history

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(minigrad.history, "write_history", disk_full)
    assert main([*RUN, "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "error: cannot write to --out" in err and "No space left" in err
