"""Run one trial of a sweep: load its data, hold out the validation split, train, score.

``run_trial`` is the function a worker runs, in a process of the local pool or on a
Dask worker. It is a pure function of the ``Trial`` (and of nothing about the worker):
the data are loaded by name and verified by checksum, split the same way everywhere
(the first ``train_subset`` training images, of which the last ``validation`` are held
out; the test set is never touched until it is scored), and ``train`` is deterministic
given the configuration, whose seed the trial derived (``minigrad.sweep.grid``). The
kernel thread count changes nothing but speed (``docs/DETERMINISM.md``), so a trial
gives the same history, bit for bit, alone or in a sweep, on any worker, in any order.

It writes nothing: the outcome travels back to the process that runs the sweep, which
alone writes the trial's directory (``minigrad.sweep.store``). A worker that dies
mid-trial therefore leaves nothing half-written, a remote worker needs no shared
file system, and a trial the cluster reruns elsewhere simply produces the outcome again.

An exception in training (divergence, bad data) is not raised: the outcome says
``status: "failed"`` and carries the traceback, so the sweep records it and goes on.

Example::

    >>> from minigrad.sweep import Sweep
    >>> from minigrad.training_config import TrainConfig
    >>> trial = Sweep({"p_input": [0.0]}, base=TrainConfig(hidden=(8,), epochs=1),
    ...               train_subset=300, validation=100).trials()[0]
    >>> outcome = run_trial(trial, threads=1)
    >>> outcome["status"], len(outcome["history"]), 0 <= outcome["validation_error"] <= 1
    ('ok', 1, True)
"""
import functools
import os
import socket
import tempfile
import time
import traceback

from ..kernels import backend
from .grid import validation_count

__all__ = ["run_trial", "empty_outcome", "trial_data", "check_sweep_data"]


@functools.lru_cache(maxsize=2)
def _load(name, data_dir):
    """The dataset ``name``, loaded once per process (a worker runs many trials)."""
    from ..data import load_dataset
    return load_dataset(name, data_dir, download=False)


def trial_data(trial):
    """``(train, validation, test)`` of ``trial``: each an ``(x, y)`` pair; ``validation``
    is None without a split. The split is the last images of the (subset) training set."""
    from ..data import training_subset
    dataset = _load(trial.dataset, trial.data_dir)
    if trial.train_subset is not None:
        dataset = training_subset(dataset, trial.train_subset, f"{trial.dataset}: train_subset")
    x_train, y_train, x_test, y_test = dataset
    n = validation_count(trial.validation, len(x_train))
    if n == 0:
        return (x_train, y_train), None, (x_test, y_test)
    return (x_train[:-n], y_train[:-n]), (x_train[-n:], y_train[-n:]), (x_test, y_test)


def check_sweep_data(sweep, download=True):
    """Raise before any trial starts unless every trial's data load and split: each
    dataset is found (or downloaded, with ``download``), and each training subset and
    validation split fits it. Raises ``minigrad.data.DatasetNotFoundError`` (an OSError)
    or ValueError."""
    from ..data import DatasetNotFoundError, load_dataset
    for name in dict.fromkeys(t.dataset for t in sweep.trials()):
        try:
            _load(name, sweep.data_dir)
        except DatasetNotFoundError:
            if not download:
                raise
            load_dataset(name, sweep.data_dir, download=True)  # into the cache, then found
    seen = set()
    for trial in sweep.trials():
        if (trial.dataset, trial.train_subset) not in seen:
            seen.add((trial.dataset, trial.train_subset))
            trial_data(trial)


def empty_outcome(trial, status, **fields):
    """An outcome of ``trial`` (the dict ``run_trial`` returns) with nothing in it yet
    but ``status`` and ``fields``: no epochs, errors, traceback or checkpoint."""
    return {"key": trial.key, "status": status, "history": [], "validation_error": None,
            "test_error": None, "train_error": None, "seconds": None, "host": None, "pid": None, "threads": None,
            "traceback": None, "checkpoint": None, **fields}


def run_trial(trial, threads=None, checkpoint=False):
    """Train ``trial`` and return its outcome, a JSON-friendly dict (never raises for
    a failure of training).

    Arguments:
        trial: a ``minigrad.sweep.Trial``.
        threads: kernel threads for this process (``minigrad.set_num_threads``), or None
            to keep the process's setting. Results do not depend on it.
        checkpoint: also return the final checkpoint's bytes (``outcome["checkpoint"]``).

    Returns:
        a dict with the keys ``key``, ``status`` (``"ok"`` or ``"failed"``),
        ``history``, ``validation_error``, ``test_error``, ``train_error``, ``seconds``, ``host``,
        ``pid``, ``threads``, ``traceback`` and ``checkpoint``.
        ``history`` is ``train``'s, each record with ``validation_error`` added (the
        error on the held-out split after that epoch, or None without one);
        ``validation_error`` and ``test_error`` are the last epoch's; ``train_error``
        is the trained net's error on the images it was trained on, dropout off (one
        more pass over them, at the end only: how well the net fits). A failed trial
        has ``traceback`` (the text of the exception) and the epochs it finished.
    """
    from ..training import evaluate, train
    if threads is not None:
        backend.set_num_threads(threads)
    started = time.perf_counter()
    outcome = empty_outcome(trial, "ok", host=socket.gethostname(), pid=os.getpid(),
                            threads=backend.get_num_threads())
    model = {}

    def on_epoch(record):  # train appended the record to its history: complete it there
        record["validation_error"] = (None if validation is None else
                                      evaluate(model["net"], *validation))
        outcome["history"].append(record)

    try:
        (x_train, y_train), validation, (x_test, y_test) = trial_data(trial)
        with tempfile.TemporaryDirectory(prefix="minigrad-trial-") as scratch:
            path = os.path.join(scratch, "checkpoint.npz") if checkpoint else None
            net, history = train(trial.config, (x_train, y_train, x_test, y_test),
                               checkpoint=path, on_start=lambda net: model.update(net=net),
                               on_epoch=on_epoch, metadata={"sweep_trial": trial.key})
            if path is not None:
                with open(path, "rb") as f:
                    outcome["checkpoint"] = f.read()
        outcome["history"] = history
        outcome["validation_error"] = history[-1]["validation_error"]
        outcome["test_error"] = history[-1]["test_error"]
        outcome["train_error"] = evaluate(net, x_train, y_train)
    except Exception:  # recorded as a failed trial, never dropped
        outcome["status"] = "failed"
        outcome["traceback"] = traceback.format_exc()
    outcome["seconds"] = time.perf_counter() - started
    return outcome
