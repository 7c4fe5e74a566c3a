"""A sweep on real Dask clusters: a LocalCluster gives the local pool's results, and a
worker killed mid-trial costs nothing but time (the trial reruns elsewhere, bit for bit);
``minigrad sweep --scheduler`` on a ``dask scheduler`` and two ``dask worker`` processes
started here, on loopback, gives the local pool's results too.

Skipped when ``distributed`` is not installed (``pip install ".[distributed]"``).
"""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

distributed = pytest.importorskip("distributed")

import minigrad  # noqa: E402
from minigrad.cli import main  # noqa: E402
from minigrad.sweep import read_history, run_sweep, run_trial  # noqa: E402
from minigrad.sweep.cluster import dask_client  # noqa: E402

from support.sweeps import (PATIENCE, StallFirstAttempt, attempt_pids,  # noqa: E402
                            kill_when_started, small_sweep, without_wall_time)


def all_histories(out, sweep):
    return {t.key: without_wall_time(read_history(out, t.key)) for t in sweep.trials()}


def test_a_local_cluster_gives_the_local_results_even_when_a_worker_dies(tmp_path):
    # the 2 x 3 grid with 2 seeds: 12 trials
    sweep = small_sweep({"p_input": [0.0, 0.2], "p_hidden": [0.2, 0.35, 0.5]}, seeds=(0, 1))
    victim = sweep.trials()[5].key
    local = run_sweep(sweep, tmp_path / "local", workers=2, threads=1, progress=False)
    markers, killed = tmp_path / "markers", []
    markers.mkdir()
    killer = threading.Thread(target=kill_when_started, args=(markers, victim, killed),
                              daemon=True)
    killer.start()
    with dask_client(local_cluster=2) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        cluster = run_sweep(sweep, tmp_path / "cluster", executor=client, threads=1,
                            progress=False, function=StallFirstAttempt([victim], markers))
    killer.join(PATIENCE)
    assert killed, "no worker was killed"
    first, second = attempt_pids(markers, victim)
    assert first == killed[0] != second  # the trial ran again, in another process
    assert [r["status"] for r in cluster] == ["ok"] * 12
    assert all_histories(tmp_path / "cluster", sweep) == all_histories(tmp_path / "local", sweep)
    assert [(r["validation_error"], r["test_error"]) for r in cluster] == \
        [(r["validation_error"], r["test_error"]) for r in local]
    # and the rerun trial's history is the one it has when run alone, here
    alone = run_trial(next(t for t in sweep.trials() if t.key == victim), threads=1)
    assert all_histories(tmp_path / "cluster", sweep)[victim] == \
        json.loads(json.dumps(without_wall_time(alone["history"])))


def test_the_command_line_runs_on_a_local_cluster(tmp_path, capsys):
    out = tmp_path / "sweep"
    status = main(["sweep", "--train-subset", "500", "--validation", "100", "--hidden", "16",
                   "--epochs", "1", "--grid", "p_input=0,0.2", "--local-cluster", "1",
                   "--quiet", "--out", str(out)])
    assert status == 0
    text = capsys.readouterr().out
    assert "**chosen**" in text and (out / "summary.md").read_text() in text


def _start(args, log, env):
    """``python -m dask ARGS`` (the ``dask`` command of this interpreter) in its own
    process group, its output in the file ``log``, run in the log's directory: ``-m``
    puts the working directory first on ``sys.path``, and in a source checkout that is
    the uncompiled ``minigrad/`` beside ``tests/``, not the one this test imports."""
    with open(log, "wb") as f:
        return subprocess.Popen([sys.executable, "-m", "dask", *args], stdout=f,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True,
                                cwd=os.path.dirname(log))


def _stop(process):
    """End ``process`` and its group: SIGTERM (Dask closes cleanly), then SIGKILL."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


@pytest.fixture
def dask_scheduler(tmp_path):
    """The address ``tcp://127.0.0.1:PORT`` of a ``dask scheduler`` with two ``dask
    worker`` processes (``--nthreads 1``, no nanny, no dashboard), all on loopback and
    ended after the test whatever happens. PORT is 0 to the scheduler: the system picks
    a free one (no race with another test) and the scheduler writes it to a file.

    The workers import the minigrad this test imports (``PYTHONPATH``), and exit by
    themselves if the scheduler is gone for a minute (``--death-timeout``), as the
    scheduler does after 10 idle minutes, should this process die before its finalizer.
    """
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(minigrad.__file__)))
    address_file, processes = tmp_path / "scheduler.json", []
    logs = [tmp_path / name for name in ("scheduler.log", "worker-0.log", "worker-1.log")]
    try:
        processes.append(_start(["scheduler", "--host", "127.0.0.1", "--port", "0",
                                 "--no-dashboard", "--idle-timeout", "600",
                                 "--scheduler-file", str(address_file)], logs[0], env))
        deadline = time.monotonic() + PATIENCE
        while not address_file.exists() and time.monotonic() < deadline:
            assert processes[0].poll() is None, logs[0].read_text()
            time.sleep(0.1)
        address = json.loads(address_file.read_text())["address"]
        for log in logs[1:]:
            processes.append(_start(["worker", address, "--nthreads", "1", "--no-nanny",
                                     "--no-dashboard", "--host", "127.0.0.1",
                                     "--death-timeout", "60",
                                     "--local-directory", str(tmp_path)], log, env))
        with distributed.Client(address, timeout=PATIENCE) as client:
            try:
                client.wait_for_workers(2, timeout=PATIENCE)
            except TimeoutError:
                pytest.fail("the workers did not join:\n" +
                            "\n".join(log.read_text() for log in logs))
        yield address
    finally:
        for process in reversed(processes):
            _stop(process)


def test_the_command_line_on_a_running_scheduler_gives_the_local_results(tmp_path,
                                                                        dask_scheduler):
    assert dask_scheduler.startswith("tcp://127.0.0.1:")
    sweep = ["sweep", "--train-subset", "500", "--validation", "100", "--hidden", "16",
             "--epochs", "1", "--grid", "p_input=0,0.2", "--grid", "p_hidden=0.2,0.5",
             "--threads", "1", "--quiet"]
    assert main([*sweep, "--workers", "2", "--out", str(tmp_path / "local")]) == 0
    assert main([*sweep, "--scheduler", dask_scheduler, "--out", str(tmp_path / "remote")]) == 0
    summaries = [(tmp_path / out / "summary.csv").read_text() for out in ("local", "remote")]
    assert summaries[0] == summaries[1] and summaries[0].count("\n") == 5
    trials = sorted(os.listdir(tmp_path / "local" / "trials"))
    assert trials == sorted(os.listdir(tmp_path / "remote" / "trials")) and len(trials) == 4
    pids = set()
    for key in trials:
        local, remote = (without_wall_time(read_history(tmp_path / out, key))
                         for out in ("local", "remote"))
        assert local == remote
        pids.add(json.loads((tmp_path / "remote" / "trials" / key / "result.json")
                            .read_text())["pid"])
    with distributed.Client(dask_scheduler) as client:
        workers = set(client.run(os.getpid).values())
    assert len(workers) == 2 and pids <= workers  # the trials ran in the dask workers


def test_a_scheduler_that_cannot_be_reached_is_a_usage_error(tmp_path, capsys):
    import dask
    with socket.socket() as closed:  # a loopback port nothing listens on
        closed.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{closed.getsockname()[1]}"
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}), \
            pytest.raises(SystemExit) as info:
        main(["sweep", "--train-subset", "500", "--validation", "100", "--grid",
              "p_input=0,0.2", "--scheduler", address, "--out", str(tmp_path / "s")])
    assert info.value.code == 2
    assert f"--scheduler {address}: " in capsys.readouterr().err  # then Dask's reason
    assert not (tmp_path / "s" / "trials").exists()
