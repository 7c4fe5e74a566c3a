"""Where a sweep keeps its files, and how a trial's directory is written atomically.

A sweep directory holds::

    sweep.json                  the sweep (grid, seeds, base config, data), to re-render it
    trials/<trial key>/
        config.json             what the trial trains (its TrainConfig with the derived seed,
                                the data, the grid point, the base seed)
        history.json            one record per epoch (``minigrad.history``'s format, with
                                ``validation_error`` added), as ``minigrad train --out``
        result.json             status ("ok" or "failed"), final validation, test and
                                training error, where and how long it ran; the
                                traceback if failed
        checkpoint.npz          the final model and optimizer (only when asked)
    summary.csv, summary.md     one row per grid point (``minigrad.sweep.summary``)
    *.png                       the plots (``minigrad.sweep.plots``)

``result.json`` is the trial's commit record: the files of a trial are written to
temporary names and renamed one after the other (``minigrad.atomic``), result.json
last, so a trial with a result.json has all its files, complete. A trial without one
has not finished (the sweep stopped, or its worker died) and runs again; a rerun of
the sweep skips every trial that has one (a failed trial only with ``retry_failed``).
Only the process running the sweep writes here, one trial at a time.

Example (a trial recorded as failed: no checkpoint, so three files)::

    >>> import tempfile
    >>> from minigrad.sweep import Sweep
    >>> from minigrad.sweep.trial import empty_outcome
    >>> trial = Sweep({"p_input": [0.2]}).trials()[0]
    >>> with tempfile.TemporaryDirectory() as out:
    ...     path = write_outcome(out, trial, empty_outcome(trial, "failed", traceback="boom"))
    ...     sorted(os.listdir(path)), read_result(out, trial.key)["status"]
    (['config.json', 'history.json', 'result.json'], 'failed')
"""
import json
import os

from ..atomic import replace_atomically

__all__ = ["trial_dir", "write_outcome", "read_result", "read_history", "save_sweep",
           "load_sweep", "TRIAL_FILES"]

#: the files of a finished trial, in the order they are renamed into place
TRIAL_FILES = ("checkpoint.npz", "config.json", "history.json", "result.json")


def trial_dir(sweep_dir, trial_key):
    """The directory of the trial with key ``trial_key`` in ``sweep_dir``."""
    return os.path.join(sweep_dir, "trials", trial_key)


def _json_text(data, sort_keys=True):
    return json.dumps(data, indent=2, sort_keys=sort_keys) + "\n"


def write_outcome(sweep_dir, trial, outcome):
    """Write ``trial``'s directory from the ``outcome`` of ``run_trial``; return its path."""
    directory = trial_dir(sweep_dir, trial.key)
    os.makedirs(directory, exist_ok=True)
    described = trial.describe()
    result = {name: outcome[name] for name in ("key", "status", "validation_error",
                                               "test_error", "train_error", "seconds",
                                               "host", "pid", "threads", "traceback")}
    result["epochs"] = len(outcome["history"])
    result["point"], result["base_seed"] = described["point"], trial.base_seed
    history = {"history": outcome["history"], "config": described["config"],
               "dataset": trial.dataset, "train_subset": trial.train_subset,
               "validation": trial.validation, "trial": trial.key}
    contents = dict(zip(TRIAL_FILES, (outcome.get("checkpoint"), _json_text(described),
                                      _json_text(history), _json_text(result))))
    contents = {name: data for name, data in contents.items() if data is not None}
    paths = [os.path.join(directory, name) for name in contents]
    with replace_atomically(paths, "wb") as files:
        for f, data in zip(files, contents.values()):
            f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    return directory


def read_result(sweep_dir, trial_key):
    """The ``result.json`` of a trial as a dict, or None if it has not finished."""
    path = os.path.join(trial_dir(sweep_dir, trial_key), "result.json")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def read_history(sweep_dir, trial_key):
    """The per-epoch records of a finished trial (its ``history.json``'s ``history``)."""
    with open(os.path.join(trial_dir(sweep_dir, trial_key), "history.json"),
              encoding="utf-8") as f:
        return json.load(f)["history"]


def save_sweep(sweep_dir, sweep, **info):
    """Write ``sweep.json``: the sweep (``Sweep.to_dict``) and ``info`` (e.g. the command)."""
    os.makedirs(sweep_dir, exist_ok=True)
    with replace_atomically([os.path.join(sweep_dir, "sweep.json")], "w") as (f,):
        f.write(_json_text({**sweep.to_dict(), **info}, sort_keys=False))  # the grid's order


def load_sweep(sweep_dir):
    """The ``Sweep`` stored in ``sweep_dir/sweep.json`` (FileNotFoundError if none)."""
    from .grid import SWEEP_KEYS, Sweep
    with open(os.path.join(sweep_dir, "sweep.json"), encoding="utf-8") as f:
        data = json.load(f)
    return Sweep.from_dict({k: v for k, v in data.items() if k in SWEEP_KEYS})  # not info
