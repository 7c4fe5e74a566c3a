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

A worker process that dies. When one worker of a ``ProcessPoolExecutor`` dies (killed,
out of memory, a crash in C), the pool is *broken*: it ends its other workers with
SIGTERM and fails every unfinished future with ``BrokenProcessPool``, the trials still
queued as well as the running ones. (joblib's loky does the same, with
``TerminatedWorkerError``; neither runs anything again.) The local pool of ``run_sweep``
then does what Dask does: it starts a fresh pool and submits every unfinished trial
again, and charges the loss only to the trial that was running in the worker that
died; a trial charged more than ``allowed_losses`` times (3, as Dask) is recorded as
failed, "worker process died while running this trial 4 times". How the two facts are
known, and how exactly:

* *which trials were running*: exact. Each worker writes its pid to a marker file
  named after the trial before it starts it, so "running when the pool broke" is
  "marked and unfinished". (``Future.running()`` would not do: the pool marks a future
  running when it queues it for a worker, one more than there are workers.)
* *which of them killed its worker*: from the exit codes of the pool's processes. The
  one that died first exited some other way than the pool's SIGTERM (SIGKILL from the
  kernel's OOM killer or a user, SIGSEGV, an exit status); the others, ended by the
  pool, carry SIGTERM, and their trials run again without a charge. Not exact when a
  SIGTERM came from outside: it looks like the pool's, so if every running trial's
  worker exited by SIGTERM, each of them is charged.

A trial that raises is recorded as failed with its traceback (``run_trial`` catches it
in the worker); so is a trial whose worker was lost for good (charged too often on the
local pool, or Dask giving up with ``KilledWorker``; an ``executor`` you pass whose
pool breaks fails its unfinished trials, as it is not run again here). Nothing is
dropped: every trial ends with a result.json, or the sweep stopped before it (Ctrl-C),
and a rerun picks up exactly those. Failed trials are kept on a rerun, as Ray Tune
keeps errored ones (``resume_errored=False``); ``retry_failed=True`` runs them again.

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
import collections
import concurrent.futures
import contextlib
import functools
import multiprocessing
import os
import signal
import sys
import tempfile
import traceback
from concurrent.futures.process import BrokenProcessPool

from ..atomic import replace_atomically
from ..checks import check_int
from ..kernels.backend import MAX_THREADS, available_cores
from .grid import show_count
from .store import read_result, save_sweep, write_outcome
from .trial import empty_outcome, run_trial

__all__ = ["run_sweep", "plan_workers", "sweep_results", "ALLOWED_LOSSES"]

#: how many times the local pool may lose a trial's worker process before the trial is
#: recorded as failed: Dask's default ``distributed.scheduler.allowed-failures``
ALLOWED_LOSSES = 3


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
    _check_plan("plan_workers", workers, threads)
    if workers is None:
        workers = max(1, min(n_trials, cores // (threads or 1)))
    if threads is None:
        threads = max(1, cores // workers)
    if workers * threads > cores and not oversubscribe:
        raise ValueError(f"{workers} workers x {threads} kernel threads = "
                         f"{workers * threads} threads on {cores} cores: lower --workers "
                         "(--local-cluster) or --threads, or allow it with --oversubscribe")
    return workers, threads


def run_sweep(sweep, out, *, executor=None, workers=None, threads=None, oversubscribe=False,
              retry_failed=False, checkpoints=False, progress=True, function=run_trial,
              info=None, allowed_losses=ALLOWED_LOSSES):
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
            signature wrapping it (to log, or to inject a fault in a test); for the
            local pool it must be picklable (a module-level function or class).
        info: JSON-friendly dict stored in ``sweep.json`` beside the sweep (the command).
        allowed_losses: local pool only: how many times a trial may lose its worker
            process and run again; lost once more, it is recorded as failed (module
            docstring). A Dask cluster has its own setting (``minigrad.sweep.cluster``).

    Returns:
        ``sweep_results(sweep, out)``: each trial's result.json, in the order of
        ``sweep.trials()``.
    """
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise TypeError("run_sweep: executor must be None (a local pool), a "
                        "concurrent.futures.Executor or a distributed.Client, got "
                        f"{type(executor).__name__}")
    _check_plan("run_sweep", workers, threads)
    check_int("run_sweep: allowed_losses", allowed_losses, minimum=0)
    trials = sweep.trials()
    pending = [t for t in trials if not _finished(read_result(out, t.key), retry_failed)]
    if executor is None and pending:  # refused before anything is written
        workers, threads = plan_workers(len(pending), workers, threads,
                                        oversubscribe=oversubscribe)
    save_sweep(out, sweep, **(info or {}))
    if pending:
        from tqdm import tqdm
        # disable=None: tqdm draws the bar only on a terminal (a log file gets the lines)
        with tqdm(total=len(trials), initial=len(trials) - len(pending), unit="trial",
                  desc="sweep", disable=None if progress else True, file=sys.stderr,
                  dynamic_ncols=True) as bar:
            # the lines on stderr with the bar: stdout is for results (the summary)
            report = functools.partial(bar.write, file=sys.stderr) if progress else _silent
            if executor is None:
                report(f"sweep: {len(pending)} of {show_count(len(trials), 'trial')} to run on "
                       f"{show_count(workers, 'worker process', 'worker processes')} x "
                       f"{show_count(threads, 'kernel thread')}")
                _run_on_local_pool(pending, out, workers, allowed_losses, bar, report,
                                   threads=threads, checkpoints=checkpoints, function=function)
            else:
                futures = _submit(executor, pending, threads, checkpoints, function)
                _collect(futures, _as_completed(executor), out, bar, report, lost=())
    return sweep_results(sweep, out)


def _check_plan(caller, workers, threads):
    """Refuse ``workers`` or ``threads`` that are given but not counts the pool can use."""
    if workers is not None:
        check_int(f"{caller}: workers", workers, minimum=1)
    if threads is not None:
        check_int(f"{caller}: threads", threads, minimum=1, maximum=MAX_THREADS)


def sweep_results(sweep, out):
    """The result.json of each of ``sweep``'s trials in ``out`` (None: not finished)."""
    return [read_result(out, t.key) for t in sweep.trials()]


def _finished(result, retry_failed):
    return result is not None and (result["status"] == "ok" or not retry_failed)


def _silent(line):
    """``report`` without progress output."""


def _is_dask(executor):
    return type(executor).__module__.split(".")[0] == "distributed"


def _as_completed(executor):
    if _is_dask(executor):
        from distributed import as_completed
        return as_completed
    return concurrent.futures.as_completed


def _submit(executor, trials, threads, checkpoints, function):
    """``{future: trial}`` of ``trials`` submitted to ``executor``, in order; it stops at
    the first trial a broken local pool refuses (the next pool runs the rest)."""
    # pure=False: a trial is never "the same task" as another for Dask to deduplicate
    extra = {"pure": False} if _is_dask(executor) else {}
    futures = {}
    for trial in trials:
        try:
            futures[executor.submit(function, trial, threads, checkpoints, **extra)] = trial
        except BrokenProcessPool:
            break
    return futures


def _collect(futures, as_completed, out, bar, report, lost):
    """Write each trial's outcome as its future completes; return, unwritten, the trials
    whose future raised one of the exception types ``lost`` (a tuple).

    Any other exception fails the trial for good (a Dask ``KilledWorker``, a pool you
    passed that broke, or the ``function`` itself raised): it is written as a failed
    outcome with its traceback.
    """
    unwritten = []
    try:
        for future in as_completed(list(futures)):
            trial = futures[future]
            try:
                outcome = future.result()
            except lost:
                unwritten.append(trial)
                continue
            except Exception:
                outcome = empty_outcome(trial, "failed", traceback=traceback.format_exc())
            write_outcome(out, trial, outcome)
            report(_line(trial, outcome))
            bar.update()
    except BaseException:  # Ctrl-C: finished trials are written; the others rerun next time
        for future in futures:
            future.cancel()
        raise
    return unwritten


def _run_on_local_pool(trials, out, workers, allowed_losses, bar, report, **run):
    """Run ``trials`` on a spawn pool of ``workers`` processes; when the pool breaks (a
    worker process died), run the unfinished trials on a fresh pool, charging the loss
    to the trial whose worker died (module docstring: "A worker process that dies")."""
    losses = collections.Counter()
    while trials:
        unfinished, running, exit_codes = _pool_round(trials, workers, out, bar, report, **run)
        if not unfinished:
            return
        deaths = ", ".join(map(_exit_text, exit_codes)) or "no worker's exit code is known"
        if len(unfinished) == len(trials) and not running:
            raise RuntimeError(
                f"sweep: the local pool's worker processes died ({deaths}) before starting "
                "any trial; if run_sweep is called from a script, guard the call with "
                "`if __name__ == \"__main__\":` (the workers start with spawn, which "
                "imports the script again)")
        report(f"sweep: a worker process died ({deaths})")
        blamed = _blamed(running)
        trials = [trial for trial in unfinished if trial.key not in blamed
                  or _charge_loss(trial, running[trial.key], losses, allowed_losses, out,
                                  bar, report)]
        if trials:
            report(f"sweep: {len(trials)} unfinished trials go to a fresh pool")


def _charge_loss(trial, exit_code, losses, allowed_losses, out, bar, report):
    """Count a loss against ``trial``, whose worker ended with ``exit_code``; whether
    it runs again (if not, it is written as failed)."""
    losses[trial.key] += 1
    how = _exit_text(exit_code)
    if losses[trial.key] <= allowed_losses:
        report(f"lost {trial.key}: its worker process died ({how}); it runs again "
               f"({losses[trial.key]} of {allowed_losses} losses allowed)")
        return True
    failed = empty_outcome(trial, "failed", traceback=(
        f"worker process died while running this trial {losses[trial.key]} times "
        f"(the last time: {how})\n"))
    write_outcome(out, trial, failed)
    report(_line(trial, failed))
    bar.update()
    return False


def _pool_round(trials, workers, out, bar, report, *, threads, checkpoints, function):
    """Run ``trials`` on one spawn pool until they are all written or the pool breaks.

    Returns ``(unfinished, running, exit_codes)``: the trials not written; for those of
    them that were running when the pool broke (their worker had started them: it
    wrote a marker file), the exit code of that worker process (None: not known); and
    the exit codes of the pool's workers that died on their own (``_blamed``).
    """
    spawn = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="minigrad-sweep-started-") as started:
        marked = functools.partial(_run_marked, started, function)
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=spawn) as pool:
            futures = _submit(pool, trials, threads, checkpoints, marked)
            # One more task, a no-op, so that the pool watches every worker: its manager
            # thread picks the worker processes it watches when submit wakes it, and
            # submit wakes it *before* spawning a worker (CPython 3.11), so without a
            # later submit the death of the last worker spawned would go unnoticed
            # until another trial returns (a test caught it hanging that long).
            with contextlib.suppress(BrokenProcessPool):
                pool.submit(int)
            # the pool's workers, started by submit (spawned, not forked): our children
            children = {p.pid: p for p in multiprocessing.active_children()}
            lost = _collect(futures, concurrent.futures.as_completed, out, bar, report,
                            lost=(BrokenProcessPool,))
        # the pool has joined its workers: their exit codes are known
        running = {}
        for trial in lost:
            pid = _read_marker(started, trial.key)
            if pid is not None:
                running[trial.key] = children[pid].exitcode if pid in children else None
    submitted = {t.key for t in futures.values()}
    unfinished = lost + [t for t in trials if t.key not in submitted]
    exit_codes = [p.exitcode for p in children.values()
                  if p.exitcode is not None and p.exitcode not in (0, -signal.SIGTERM)]
    return unfinished, running, exit_codes


def _run_marked(started, function, trial, threads, checkpoint):
    """In a pool worker: write this process's pid to ``started/<trial key>``, then run
    ``function(trial, threads, checkpoint)``. The marker says the trial was running in
    this process if the pool breaks before it returns."""
    with replace_atomically([os.path.join(started, trial.key)], "w") as (f,):
        f.write(str(os.getpid()))
    return function(trial, threads, checkpoint)


def _read_marker(started, key):
    """The pid in the marker of trial ``key``, or None if it never started."""
    try:
        with open(os.path.join(started, key), encoding="utf-8") as f:
            return int(f.read())
    except FileNotFoundError:
        return None


def _blamed(running):
    """The keys of the running trials a broken pool is charged to: those whose worker
    died on its own. The pool ends its other workers with SIGTERM, so a worker that
    exited otherwise (SIGKILL, SIGSEGV, an exit status) or is not known died first. If
    every one exited by SIGTERM (one was sent from outside), they are all charged."""
    died = {key for key, code in running.items() if code != -signal.SIGTERM}
    return died or set(running)


def _exit_text(code):
    """How a worker process ended, from its exit code: ``killed by SIGKILL``."""
    if code is None:
        return "exit code unknown"
    if code >= 0:
        return f"exit status {code}"
    try:
        return f"killed by {signal.Signals(-code).name}"
    except ValueError:  # a signal without a name (a real-time one)
        return f"killed by signal {-code}"


def _line(trial, outcome):
    """One line for a finished trial: its errors, or the last line of its traceback."""
    if outcome["status"] != "ok":
        return f"FAILED {trial.key}: {outcome['traceback'].strip().splitlines()[-1]}"
    validation = outcome["validation_error"]
    shown = "" if validation is None else f"validation {100 * validation:.2f}%  "
    return (f"done {trial.key}: {shown}test {100 * outcome['test_error']:.2f}%  "
            f"({outcome['seconds']:.1f} s)")
