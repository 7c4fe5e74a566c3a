"""Running a sweep: a trial's history is the same alone and in a sweep of worker
processes (any order, any thread count), finished trials are skipped on a rerun, a trial
that raises is recorded with its traceback and counted, and the pool fits the cores."""
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from minigrad.sweep import plan_workers, read_history, read_result, run_sweep, run_trial
from minigrad.sweep.store import TRIAL_FILES, trial_dir
from minigrad.sweep.trial import trial_data

from support.sweeps import small_sweep, without_wall_time


def test_a_trial_alone_and_in_a_sweep_give_bit_identical_histories(tmp_path):
    sweep = small_sweep({"p_input": [0.0, 0.2], "p_hidden": [0.3, 0.5]}, seeds=(0, 1))
    # the sweep: two spawned worker processes, one kernel thread each, in completion order
    results = run_sweep(sweep, tmp_path, workers=2, threads=1, progress=False)
    assert [r["status"] for r in results] == ["ok"] * 8
    for trial in sweep.trials()[::3]:  # alone: in this process, on two kernel threads
        alone = run_trial(trial, threads=2)
        swept = read_history(tmp_path, trial.key)
        # JSON keeps every float bit for bit (repr round-trips)
        assert without_wall_time(swept) == json.loads(json.dumps(
            without_wall_time(alone["history"])))
        assert alone["validation_error"] == read_result(tmp_path, trial.key)["validation_error"]
        assert swept[-1]["validation_error"] is not None


def test_the_start_line_counts_one_trial_worker_and_thread_in_the_singular(tmp_path, capsys):
    run_sweep(small_sweep({"p_input": [0.0]}), tmp_path, workers=1, threads=1)
    assert "sweep: 1 of 1 trial to run on 1 worker process x 1 kernel thread\n" in (
        capsys.readouterr().err)


def test_the_validation_split_is_the_end_of_the_training_subset():
    trial = small_sweep({"p_input": [0.0]}, validation=0.2).trials()[0]
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = trial_data(trial)
    assert len(x_train) == 400 and len(x_val) == 100 and len(x_test) == 10000
    trial_all = small_sweep({"p_input": [0.0]}, validation=None).trials()[0]
    (x_all, _), none, _ = trial_data(trial_all)
    assert none is None and (x_all[:400] == x_train).all() and (x_all[400:] == x_val).all()


class Counting:
    """A ``function`` for run_sweep that counts the trials it runs (in threads)."""

    def __init__(self):
        self.keys = []

    def __call__(self, trial, threads, checkpoint):
        self.keys.append(trial.key)
        return run_trial(trial, threads, checkpoint)


def test_a_rerun_skips_finished_trials_and_runs_unfinished_ones(tmp_path):
    sweep = small_sweep({"p_hidden": [0.3, 0.5]}, seeds=(0, 1))
    counting = Counting()
    with ThreadPoolExecutor(1) as pool:
        first = run_sweep(sweep, tmp_path, executor=pool, threads=1, progress=False,
                          function=counting)
        assert len(counting.keys) == 4
        run_sweep(sweep, tmp_path, executor=pool, threads=1, progress=False, function=counting)
        assert len(counting.keys) == 4
        # a trial whose result.json is missing did not finish (a worker died mid-write)
        victim = sweep.trials()[1].key
        os.remove(os.path.join(trial_dir(tmp_path, victim), "result.json"))
        again = run_sweep(sweep, tmp_path, executor=pool, threads=1, progress=False,
                          function=counting)
        assert counting.keys[4:] == [victim]
        # more seeds: only the new trials run
        bigger = type(sweep)(sweep.grid, seeds=(0, 1, 2), base=sweep.base,
                             train_subset=500, validation=100)
        run_sweep(bigger, tmp_path, executor=pool, threads=1, progress=False, function=counting)
        assert len(counting.keys) == 7
    assert [r["validation_error"] for r in again] == [r["validation_error"] for r in first]
    assert sorted(os.listdir(trial_dir(tmp_path, victim))) == sorted(TRIAL_FILES[1:])


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_a_trial_that_raises_is_recorded_counted_and_kept(tmp_path):
    # lr 1e30 without max-norm: the first steps overflow, train raises FloatingPointError
    sweep = small_sweep({"lr": [0.1, 1e30]}, max_norm=None)
    counting = Counting()
    with ThreadPoolExecutor(1) as pool:
        results = run_sweep(sweep, tmp_path, executor=pool, threads=1, progress=False,
                            function=counting)
        assert [r["status"] for r in results] == ["ok", "failed"]
        assert "FloatingPointError: training diverged" in results[1]["traceback"]
        assert "Traceback (most recent call last)" in results[1]["traceback"]
        assert results[1]["test_error"] is None
        run_sweep(sweep, tmp_path, executor=pool, threads=1, progress=False, function=counting)
        assert len(counting.keys) == 2  # kept, not retried
        run_sweep(sweep, tmp_path, executor=pool, threads=1, progress=False, function=counting,
                  retry_failed=True)
        assert counting.keys[2:] == [sweep.trials()[1].key]  # only the failed one


def the_worker_went_away(trial, threads, checkpoint):
    raise RuntimeError("the worker went away")


def test_a_trial_whose_future_raises_is_recorded_as_failed(tmp_path):
    # as a passed executor's future does when its pool broke, or Dask's after KilledWorker
    sweep = small_sweep({"p_hidden": [0.5]})
    with ThreadPoolExecutor(1) as pool:
        (result,) = run_sweep(sweep, tmp_path, executor=pool, progress=False,
                              function=the_worker_went_away)
    assert result["status"] == "failed" and "the worker went away" in result["traceback"]


def test_checkpoints_are_kept_when_asked(tmp_path):
    from minigrad.checkpoint import read_checkpoint_metadata
    sweep = small_sweep({"p_hidden": [0.5]})
    with ThreadPoolExecutor(1) as pool:
        run_sweep(sweep, tmp_path, executor=pool, threads=1, progress=False, checkpoints=True)
    key = sweep.trials()[0].key
    meta = read_checkpoint_metadata(os.path.join(trial_dir(tmp_path, key), "checkpoint.npz"))
    assert meta["epoch"] == 1 and meta["config"]["seed"] == sweep.trials()[0].config.seed


@pytest.mark.parametrize("args, expected", [
    (dict(n_trials=12, cores=2), (2, 1)),
    (dict(n_trials=1, cores=2), (1, 2)),
    (dict(n_trials=12, cores=8, threads=3), (2, 3)),
    (dict(n_trials=12, cores=8, workers=3), (3, 2)),
    (dict(n_trials=12, cores=2, workers=4, oversubscribe=True), (4, 1)),
])
def test_the_pool_fits_the_cores(args, expected):
    workers, threads = plan_workers(**args)
    assert (workers, threads) == expected
    assert workers * threads <= args["cores"] or args.get("oversubscribe")


@pytest.mark.parametrize("args", [dict(workers=4), dict(threads=4), dict(workers=2, threads=2)])
def test_more_threads_than_cores_must_be_asked_for(args):
    with pytest.raises(ValueError, match="--oversubscribe"):
        plan_workers(12, cores=2, **args)


@pytest.mark.parametrize("options, error, words", [
    (dict(workers=0), ValueError, "run_sweep: workers must be >= 1, got 0"),
    (dict(threads=0), ValueError, "run_sweep: threads must be >= 1, got 0"),
    (dict(threads=2.0), TypeError, "run_sweep: threads must be an int, got float 2.0"),
    (dict(executor="pool"), TypeError, "executor must be None (a local pool), a "
                                       "concurrent.futures.Executor or a distributed.Client"),
    (dict(allowed_losses=-1), ValueError, "allowed_losses must be >= 0"),
])
def test_bad_run_options_are_refused_before_anything_is_written(tmp_path, options, error,
                                                                 words):
    with pytest.raises(error, match=re.escape(words)):
        run_sweep(small_sweep({"p_hidden": [0.5]}), tmp_path / "s", progress=False, **options)
    assert not (tmp_path / "s").exists()
