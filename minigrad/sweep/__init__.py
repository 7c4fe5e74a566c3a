"""``minigrad sweep``: grids of training runs, on a local process pool or a Dask cluster.

"Rather than guess at a suitable dropout rate, test different rates systematically":
a sweep trains one run per grid point and seed, keeps every run in its own directory,
and summarises them, choosing a configuration on a validation split and reporting it
on the test set. The pieces, in the order a sweep uses them:

- ``grid``: the grid (any TrainConfig field, the dataset, the training-subset size),
  its checks, and the trials with their keys and derived seeds;
- ``trial``: ``run_trial``, what a worker runs (pure: it writes nothing);
- ``store``: the sweep directory, each trial written atomically, result.json last;
- ``runner``: ``run_sweep`` on a local process pool (the trial of a worker process
  that dies runs again on a fresh pool), an Executor or a Dask Client;
- ``cluster``: the Dask client (a running scheduler, or a LocalCluster);
- ``summary``: mean, sd and count over seeds per grid point, the choice on validation;
- ``plots``: error against a swept value, a heatmap of two, learning curves;
- ``cli``: the ``minigrad sweep`` command.

Example::

    from minigrad.sweep import Sweep, run_sweep, write_summary
    from minigrad.training_config import TrainConfig
    sweep = Sweep({"p_input": [0.0, 0.2], "p_hidden": [0.3, 0.5]}, seeds=[0, 1],
                  base=TrainConfig(hidden=(256, 256), epochs=3),
                  dataset="fashion-mnist", validation=5000)
    results = run_sweep(sweep, "sweeps/dropout")
    rows, paths = write_summary("sweeps/dropout", sweep, results)
"""
from .grid import AXES, Sweep, Trial, parse_axis, read_sweep_file, trial_seed
from .runner import plan_workers, run_sweep, sweep_results
from .store import load_sweep, read_history, read_result
from .summary import summarize, write_summary
from .trial import run_trial

__all__ = ["Sweep", "Trial", "AXES", "parse_axis", "read_sweep_file", "trial_seed",
           "run_trial", "run_sweep", "plan_workers", "sweep_results", "load_sweep",
           "read_result", "read_history", "summarize", "write_summary"]
