"""Run a sweep's trials on a pool of worker processes, or on a Dask cluster, and keep them.

``run_sweep`` is the whole job: write ``sweep.json``, skip the trials already finished
(their ``result.json`` exists: ``minigrad.sweep.store``), submit the others, and write
each trial's directory as its outcome arrives, under a progress bar over trials
(done / total, rate, ETA). It works with anything that has ``submit`` and futures:

* by default a local ``concurrent.futures.ProcessPoolExecutor`` (the standard library:
  nothing to install). Its workers are started with ``spawn``, so each imports minigrad
  afresh and may use OpenMP threads (a forked child may not: see
  ``minigrad.kernels.backend``). ``plan_workers`` sizes it so that workers x kernel
  threads per worker never exceeds the cores this process may use, unless asked;
* a ``concurrent.futures.Executor`` you pass;
* a ``distributed.Client`` (``minigrad.sweep.cluster``), whose scheduler places the
  trials on its workers and, when a worker dies mid-trial, runs the trial again on
  another one (Dask's ``allowed-failures``, 3 by default). A trial is a pure function
  of its description (``minigrad.sweep.trial``), so the rerun gives the same result.

A trial that raises is recorded as failed with its traceback (``run_trial`` catches it
in the worker); so is a trial whose worker was lost for good (a broken local pool, or
Dask giving up with ``KilledWorker``). Nothing is dropped: every trial ends with a
result.json, or the sweep stopped before it (Ctrl-C), and a rerun picks up exactly
those. Failed trials are kept on a rerun, as Ray Tune keeps errored ones
(``resume_errored=False``); ``retry_failed=True`` runs them again.

Example::

    >>> import tempfile
    >>> from minigrad.sweep import Sweep
    >>> from minigrad.training_config import TrainConfig
    >>> sweep = Sweep({"p_hidden": [0.0, 0.5]}, base=TrainConfig(hidden=(8,), epochs=1),
    ...               train_subset=300, validation=100)
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> with tempfile.TemporaryDirectory() as out, ThreadPoolExecutor(1) as pool:
    ...     results = run_sweep(sweep, out, executor=pool, threads=1, progress=False)
    ...     again = run_sweep(sweep, out, executor=pool, threads=1, progress=False)
    >>> [r["status"] for r in results], again == results    # the rerun ran nothing
    (['ok', 'ok'], True)
"""
import concurrent.futures
import multiprocessing
import sys
import traceback

from ..kernels.backend import available_cores
from .store import read_result, save_sweep, write_outcome
from .trial import empty_outcome, run_trial

__all__ = ["run_sweep", "plan_workers", "sweep_results"]


def plan_workers(n_trials, workers=None, threads=None, cores=None, oversubscribe=False):
    """``(workers, threads)`` of a local pool for ``n_trials`` trials on ``cores`` cores.

    Unset, ``workers`` is as many as there are trials and cores, and ``threads`` the
    cores shared among them (at least 1). ``workers * threads`` may exceed ``cores``
    only with ``oversubscribe=True``: more busy threads than cores only slow each
    other down (and the results would be the same).

    >>> plan_workers(12, cores=8), plan_workers(3, cores=8), plan_workers(12, threads=4, cores=8)
    ((8, 1), (3, 2), (2, 4))
    """
    cores = available_cores() if cores is None else cores
    if workers is None:
        workers = max(1, min(n_trials, cores // (threads or 1)))
    if threads is None:
        threads = max(1, cores // workers)
    if workers * threads > cores and not oversubscribe:
        raise ValueError(f"{workers} workers x {threads} kernel threads = "
                         f"{workers * threads} threads on {cores} cores: lower --workers "
                         "or --threads, or allow it with --oversubscribe")
    return workers, threads


def run_sweep(sweep, out, *, executor=None, workers=None, threads=None, oversubscribe=False,
              retry_failed=False, checkpoints=False, progress=True, function=run_trial,
              info=None):
    """Run every unfinished trial of ``sweep``, writing into directory ``out``.

    Arguments:
        sweep: a ``minigrad.sweep.Sweep``.
        out: the sweep directory (created if needed).
        executor: None for a local process pool of ``workers`` processes (``plan_workers``),
            or a ``concurrent.futures.Executor`` or ``distributed.Client`` to submit to.
        threads: kernel threads of each trial (None: ``plan_workers``'s choice for the
            local pool; the workers' own setting otherwise).
        oversubscribe: allow workers x threads above the cores (local pool).
        retry_failed: run trials recorded as failed again.
        checkpoints: keep each trial's final checkpoint (``checkpoint.npz``).
        progress: show a progress bar over trials and one line per finished trial.
        function: what a worker runs, ``run_trial`` or a function of the same
            signature wrapping it (to log, or to inject a fault in a test).
        info: JSON-friendly dict stored in ``sweep.json`` beside the sweep (the command).

    Returns:
        ``sweep_results(sweep, out)``: each trial's result.json, in the order of
        ``sweep.trials()``.
    """
    trials = sweep.trials()
    save_sweep(out, sweep, **(info or {}))
    pending = [t for t in trials if not _finished(read_result(out, t.key), retry_failed)]
    if pending:
        from tqdm import tqdm
        # disable=None: tqdm draws the bar only on a terminal (a log file gets the lines)
        with tqdm(total=len(trials), initial=len(trials) - len(pending), unit="trial",
                  desc="sweep", disable=None if progress else True, file=sys.stderr,
                  dynamic_ncols=True) as bar:
            if executor is None:
                workers, threads = plan_workers(len(pending), workers, threads,
                                                oversubscribe=oversubscribe)
                if progress:
                    bar.write(f"sweep: {len(pending)} of {len(trials)} trials to run on "
                              f"{workers} worker processes x {threads} kernel threads")
                with concurrent.futures.ProcessPoolExecutor(
                        workers, mp_context=multiprocessing.get_context("spawn")) as pool:
                    _run(pool, pending, out, threads, checkpoints, function, bar, progress)
            else:
                _run(executor, pending, out, threads, checkpoints, function, bar, progress)
    return sweep_results(sweep, out)


def sweep_results(sweep, out):
    """The result.json of each of ``sweep``'s trials in ``out`` (None: not finished)."""
    return [read_result(out, t.key) for t in sweep.trials()]


def _finished(result, retry_failed):
    return result is not None and (result["status"] == "ok" or not retry_failed)


def _is_dask(executor):
    return type(executor).__module__.split(".")[0] == "distributed"


def _run(executor, trials, out, threads, checkpoints, function, bar, progress):
    """Submit ``trials`` to ``executor``; write each outcome as it arrives."""
    if _is_dask(executor):
        from distributed import as_completed
        # pure=False: a trial is never "the same task" as another to be deduplicated
        futures = {executor.submit(function, t, threads, checkpoints, pure=False): t
                   for t in trials}
    else:
        as_completed = concurrent.futures.as_completed
        futures = {executor.submit(function, t, threads, checkpoints): t for t in trials}
    try:
        for future in as_completed(list(futures)):
            trial = futures[future]
            try:
                outcome = future.result()
            except Exception:  # the worker was lost for good: a failed trial, not a lost one
                outcome = empty_outcome(trial, "failed", traceback=traceback.format_exc())
            write_outcome(out, trial, outcome)
            if progress:
                bar.write(_line(trial, outcome))
            bar.update()
    except BaseException:  # Ctrl-C: finished trials are written; the others rerun next time
        for future in futures:
            future.cancel()
        raise


def _line(trial, outcome):
    """One line for a finished trial: its errors, or the last line of its traceback."""
    if outcome["status"] != "ok":
        return f"FAILED {trial.key}: {outcome['traceback'].strip().splitlines()[-1]}"
    validation = outcome["validation_error"]
    shown = "" if validation is None else f"validation {100 * validation:.2f}%  "
    return (f"done {trial.key}: {shown}test {100 * outcome['test_error']:.2f}%  "
            f"({outcome['seconds']:.1f} s)")
