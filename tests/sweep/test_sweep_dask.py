"""A sweep on a real Dask LocalCluster: the same results as the local pool, and a worker
killed mid-trial costs nothing but time (the trial reruns elsewhere, bit for bit).

Skipped when ``distributed`` is not installed (``pip install ".[distributed]"``).
"""
import json
import threading

import pytest

distributed = pytest.importorskip("distributed")

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
