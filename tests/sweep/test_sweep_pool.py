"""The local pool loses a worker process: the trial it was running runs again on a fresh
pool, bit for bit, and is charged the loss; the trials the broken pool ended beside it
run again uncharged; a trial that always kills its worker is recorded failed after the
allowed losses while the others finish; workers that die before any trial starts are an
error, not a sweep of failures."""
import json
import multiprocessing
import os
import signal
import threading
from concurrent.futures import ProcessPoolExecutor

import pytest

from minigrad.sweep import read_history, run_sweep, run_trial
from minigrad.sweep.runner import ALLOWED_LOSSES, _blamed

from support.sweeps import (PATIENCE, KillsItsWorker, StallFirstAttempt, attempt_pids,
                            kill_when_started, small_sweep, without_wall_time)


def run_with_a_kill(sweep, out, markers, victim, companion, **options):
    """Run ``sweep`` on a local pool of two workers; the first attempts at ``victim``
    and ``companion`` stall, and once both run, ``victim``'s worker is SIGKILLed (the
    pool then ends ``companion``'s with SIGTERM). Returns the results and the killed pid."""
    markers.mkdir()
    killed = []
    killer = threading.Thread(target=kill_when_started, daemon=True,
                              args=(markers, victim, killed, (companion,)))
    killer.start()
    results = run_sweep(sweep, out, workers=2, threads=1, **options,
                        function=StallFirstAttempt((victim, companion), markers))
    killer.join(PATIENCE)
    assert killed, "no worker was killed"
    return results, killed[0]


def test_a_worker_killed_mid_trial_costs_its_trial_a_rerun_and_nothing_else(tmp_path, capsys):
    sweep = small_sweep({"p_hidden": [0.2, 0.5]}, seeds=(0, 1))
    victim, companion = sweep.trials()[0].key, sweep.trials()[1].key
    results, killed = run_with_a_kill(sweep, tmp_path / "sweep", tmp_path / "markers",
                                      victim, companion)
    assert [r["status"] for r in results] == ["ok"] * 4
    # each stalled trial ran again in another process; only the victim was charged
    for key in (victim, companion):
        first, second = attempt_pids(tmp_path / "markers", key)
        assert first != second and results[[t.key for t in sweep.trials()].index(key)][
            "pid"] == second
    assert attempt_pids(tmp_path / "markers", victim)[0] == killed
    lines = capsys.readouterr().err.splitlines()
    assert [line for line in lines if line.startswith("lost ")] == [
        f"lost {victim}: its worker process died (killed by SIGKILL); it runs again "
        f"(1 of {ALLOWED_LOSSES} losses allowed)"]
    # the rerun's history is the trial's alone, bit for bit
    alone = run_trial(sweep.trials()[0], threads=1)
    assert without_wall_time(read_history(tmp_path / "sweep", victim)) == \
        json.loads(json.dumps(without_wall_time(alone["history"])))


def test_a_trial_ended_by_the_broken_pool_is_not_charged(tmp_path):
    # no loss allowed: the victim fails at once, the companion (SIGTERM) runs again
    sweep = small_sweep({"p_hidden": [0.2, 0.5]})
    victim, companion = (t.key for t in sweep.trials())
    results, _ = run_with_a_kill(sweep, tmp_path / "sweep", tmp_path / "markers",
                                 victim, companion, progress=False, allowed_losses=0)
    assert [r["status"] for r in results] == ["failed", "ok"], [r["traceback"] for r in results]
    assert results[0]["traceback"] == ("worker process died while running this trial 1 "
                                       "times (the last time: killed by SIGKILL)\n")
    assert results[0]["epochs"] == 0 and results[0]["test_error"] is None


def test_a_trial_that_always_kills_its_worker_fails_after_the_allowed_losses(tmp_path):
    sweep = small_sweep({"p_hidden": [0.2, 0.35, 0.5]})
    victim = sweep.trials()[1].key
    (tmp_path / "markers").mkdir()
    results = run_sweep(sweep, tmp_path / "sweep", workers=2, threads=1, progress=False,
                        function=KillsItsWorker(victim, tmp_path / "markers"))
    assert [r["status"] for r in results] == ["ok", "failed", "ok"]
    assert len(attempt_pids(tmp_path / "markers", victim)) == ALLOWED_LOSSES + 1 == 4
    assert results[1]["traceback"] == ("worker process died while running this trial 4 "
                                       "times (the last time: killed by SIGKILL)\n")
    # recorded, so a rerun runs nothing (and --retry-failed would run it again)
    again = run_sweep(sweep, tmp_path / "sweep", workers=2, threads=1, progress=False,
                      function=KillsItsWorker(victim, tmp_path / "markers"))
    assert again == results and len(attempt_pids(tmp_path / "markers", victim)) == 4


class DiesWhenUnpickled:
    """A ``function`` whose unpickling ends the worker process (exit status 3) before it
    starts the trial, as a script without a ``__main__`` guard ends spawned workers."""

    def __reduce__(self):
        return os._exit, (3,)

    def __call__(self, trial, threads, checkpoint):
        raise AssertionError("never called: the worker died unpickling it")


def test_workers_that_die_before_any_trial_starts_are_an_error(tmp_path):
    sweep = small_sweep({"p_hidden": [0.2, 0.5]})
    with pytest.raises(RuntimeError, match=r"died \(exit status 3.*\) before starting any "
                                           r"trial.*__main__"):
        run_sweep(sweep, tmp_path, workers=2, threads=1, progress=False,
                  function=DiesWhenUnpickled())
    assert not (tmp_path / "trials").exists()  # nothing recorded: a rerun runs them all


@pytest.mark.parametrize("running, blamed", [
    ({"a": -signal.SIGKILL, "b": -signal.SIGTERM}, {"a"}),   # b was ended by the pool
    ({"a": -signal.SIGSEGV, "b": 1}, {"a", "b"}),            # both died on their own
    ({"a": None, "b": -signal.SIGTERM}, {"a"}),              # not known: charged
    ({"a": -signal.SIGTERM, "b": -signal.SIGTERM}, {"a", "b"}),  # a SIGTERM from outside
    ({}, set()),                                             # an idle worker died
])
def test_the_loss_is_charged_to_the_workers_that_died_on_their_own(running, blamed):
    assert _blamed(running) == blamed


def test_a_pool_you_pass_that_breaks_fails_its_unfinished_trials_but_drops_none(tmp_path):
    sweep = small_sweep({"p_hidden": [0.2, 0.35, 0.5]})
    victim = sweep.trials()[0].key
    (tmp_path / "markers").mkdir()
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = run_sweep(sweep, tmp_path / "sweep", executor=pool, threads=1,
                            progress=False, function=KillsItsWorker(victim, tmp_path / "markers"))
    assert len(attempt_pids(tmp_path / "markers", victim)) == 1  # it ran, and killed
    assert [r["status"] for r in results] == ["failed"] * 3  # not run again here: recorded
    assert all("BrokenProcessPool" in r["traceback"] for r in results)
