"""A Dask cluster for a sweep: a running scheduler, or a LocalCluster started here.

Dask (``dask.distributed``) is an optional extra: ``pip install "minigrad[distributed]"``.
``minigrad.sweep.run_sweep`` submits one task per trial to the ``distributed.Client``
this module opens; the scheduler places the tasks on its workers, and when a worker
dies mid-trial (killed, out of memory, its machine gone) it gives the trial to another
worker, up to ``distributed.scheduler.allowed-failures`` times (3 by default), after
which the trial is recorded as failed (``KilledWorker``).

* ``dask_client(scheduler="tcp://HOST:PORT")`` connects to a scheduler you started
  (``dask scheduler`` on one machine, ``dask worker tcp://HOST:PORT --nthreads 1`` on
  each, with minigrad and the datasets installed there: the workers load the data by
  name, and send the outcomes back, so they need no shared file system);
* ``dask_client(local_cluster=N)`` starts a real ``distributed.LocalCluster`` of N
  worker processes on this machine (loopback only), each running one trial at a time
  (``threads_per_worker=1``: Dask's threads, not the kernels'), and stops it after.

How many kernel threads each trial uses is ``run_sweep``'s ``threads``; for a local
cluster ``minigrad sweep`` shares the cores among its workers as for the local pool
(``minigrad.sweep.runner.plan_workers``).
"""
import contextlib

__all__ = ["dask_client", "import_distributed"]


def import_distributed():
    """The ``distributed`` module, or an ImportError that says how to install it."""
    try:
        import distributed
    except ImportError as exc:
        raise ImportError('Dask is not installed: pip install "minigrad[distributed]"') from exc
    return distributed


@contextlib.contextmanager
def dask_client(scheduler=None, local_cluster=None, threads_per_worker=1):
    """A ``distributed.Client`` to ``scheduler``, or to a new LocalCluster of
    ``local_cluster`` worker processes (exactly one of the two); closed on exit.

    ``with dask_client(local_cluster=2) as client: run_sweep(sweep, out,
    executor=client)`` runs a sweep on two local worker processes. Asked for neither
    (or both), it says so before touching Dask:

    >>> with dask_client():
    ...     pass
    Traceback (most recent call last):
        ...
    ValueError: dask_client: give exactly one of scheduler and local_cluster
    """
    if (scheduler is None) == (local_cluster is None):
        raise ValueError("dask_client: give exactly one of scheduler and local_cluster")
    distributed = import_distributed()
    if scheduler is not None:
        with distributed.Client(scheduler) as client:
            yield client
        return
    with distributed.LocalCluster(n_workers=local_cluster, threads_per_worker=threads_per_worker,
                                  processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        yield client
