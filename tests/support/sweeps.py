"""Small sweeps for the tests of ``minigrad.sweep`` (tests/sweep): 16 hidden units, 500
MNIST images (100 of them the validation split), one epoch, so a trial takes a fraction
of a second; and the faults the runner must survive (a worker process killed mid-trial),
as ``function``s for ``run_sweep`` and a killer to run beside it."""
import os
import signal
import time

from minigrad.sweep import Sweep, run_trial
from minigrad.training_config import TrainConfig

#: the fields every small sweep fixes
SMALL = dict(hidden=(16,), epochs=1, batch_size=50)


def small_sweep(grid, seeds=(0,), validation=100, **config):
    """A Sweep of ``grid`` x ``seeds`` on 500 bundled MNIST images."""
    return Sweep(grid, seeds=seeds, base=TrainConfig(**{**SMALL, **config}),
                 train_subset=500, validation=validation)


def without_wall_time(history):
    """The records of a history without the fields that measure time."""
    return [{k: v for k, v in record.items() if k not in ("seconds", "samples_per_s")}
            for record in history]


#: how long a fault-injection helper waits for anything before giving up (never reached
#: when the test works; it turns a hang into a failure)
PATIENCE = 120


def _wait_for(condition, what):
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {PATIENCE} s for {what}")
        time.sleep(0.02)


def _attempt_path(marker_dir, key, attempt):
    return os.path.join(marker_dir, f"{key}.{attempt}.pid")


def attempt_pids(marker_dir, key):
    """The pids of the processes that started trial ``key``, one per attempt, in order."""
    pids, attempt = [], 1
    while os.path.exists(_attempt_path(marker_dir, key, attempt)):
        with open(_attempt_path(marker_dir, key, attempt)) as f:
            pids.append(int(f.read()))
        attempt += 1
    return pids


def _mark_attempt(marker_dir, key):
    """Write this process's pid as the next attempt at trial ``key``; its number."""
    tmp = os.path.join(marker_dir, f".{key}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        f.write(str(os.getpid()))
    attempt = 1
    while True:  # link: created whole, and never over another attempt's file
        try:
            os.link(tmp, _attempt_path(marker_dir, key, attempt))
            break
        except FileExistsError:
            attempt += 1
    os.remove(tmp)
    return attempt


class StallFirstAttempt:
    """``run_trial``, except that the first attempt at each trial in ``stalled`` marks
    itself (``attempt_pids``) and waits to be killed; later attempts mark and train.

    A class at module level, so that it pickles by reference: a spawned pool worker or
    a Dask worker imports ``support.sweeps`` (``tests/`` is on the sys.path they are
    given) and the test's instance arrives with its state.
    """

    def __init__(self, stalled, marker_dir):
        self.stalled, self.marker_dir = tuple(stalled), str(marker_dir)

    def __call__(self, trial, threads, checkpoint):
        if trial.key in self.stalled and _mark_attempt(self.marker_dir, trial.key) == 1:
            time.sleep(PATIENCE)  # waiting to be killed, not racing
            raise RuntimeError("the test did not kill this worker")
        return run_trial(trial, threads, checkpoint)


class KillsItsWorker:
    """``run_trial``, except that trial ``victim`` SIGKILLs its own worker process at
    every attempt (marking it first: ``attempt_pids``), as an out-of-memory kill would."""

    def __init__(self, victim, marker_dir):
        self.victim, self.marker_dir = victim, str(marker_dir)

    def __call__(self, trial, threads, checkpoint):
        if trial.key == self.victim:
            _mark_attempt(self.marker_dir, trial.key)
            os.kill(os.getpid(), signal.SIGKILL)
        return run_trial(trial, threads, checkpoint)


def kill_when_started(marker_dir, victim, killed, also_running=()):
    """Once the first attempts at ``victim`` and at every trial of ``also_running`` have
    started (``StallFirstAttempt``), SIGKILL the process running ``victim`` and append
    its pid to ``killed``. Run it in a thread beside the sweep."""
    marker_dir = str(marker_dir)
    _wait_for(lambda: all(attempt_pids(marker_dir, key) for key in (victim, *also_running)),
              f"the first attempts at {victim} and {list(also_running)}")
    pid = attempt_pids(marker_dir, victim)[0]
    os.kill(pid, signal.SIGKILL)
    killed.append(pid)
