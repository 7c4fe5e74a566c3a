"""minigrad.history writes every file atomically: a failure (a full disk) leaves the
previous files as they were and no temporary file; history.json and history.csv are
both written before either replaces its old copy."""
import csv
import json
import os

import pytest

from minigrad import history as history_module
from minigrad.history import plot_learning_curve, write_history

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
OLD = [{"epoch": 1, "lr": 0.1, "momentum": 0.5, "train_loss": 1.0, "test_error": 0.5,
        "seconds": 1.0, "samples_per_s": 100.0}]
NEW = OLD + [dict(OLD[0], epoch=2, train_loss=0.5, test_error=0.25)]


def disk_full(*args, **kwargs):
    raise OSError(28, "No space left on device")


def contents(directory):
    return {name: (directory / name).read_bytes() for name in sorted(os.listdir(directory))}


def test_a_failed_csv_write_leaves_both_old_files(tmp_path, monkeypatch):
    write_history(tmp_path, OLD, run="old")
    before = contents(tmp_path)
    monkeypatch.setattr(csv.DictWriter, "writerows", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_history(tmp_path, NEW, run="new")
    assert contents(tmp_path) == before  # json not replaced alone, no temporary file


def test_both_files_are_complete_before_either_is_replaced(tmp_path, monkeypatch):
    """At the first rename the other temporary file already holds the new CSV."""
    seen = []
    real_replace = os.replace

    def replace(src, dst):
        seen.append({name: (tmp_path / name).read_text() for name in os.listdir(tmp_path)})
        real_replace(src, dst)
    monkeypatch.setattr(history_module.os, "replace", replace)
    write_history(tmp_path, NEW)
    temps = {n: t for n, t in seen[0].items() if n.startswith(".history.csv.")}
    assert len(seen) == 2 and len(temps) == 1
    rows = list(csv.DictReader(next(iter(temps.values())).splitlines()))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert json.loads((tmp_path / "history.json").read_text())["history"] == NEW
    assert sorted(os.listdir(tmp_path)) == ["history.csv", "history.json"]


def test_new_files_get_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        write_history(tmp_path, OLD)
    finally:
        os.umask(umask)
    assert {oct(os.stat(tmp_path / n).st_mode & 0o777) for n in os.listdir(tmp_path)} == {
        "0o644"}


def test_a_full_disk_while_plotting_keeps_the_old_png(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure
    path = plot_learning_curve(str(tmp_path), OLD)
    before = contents(tmp_path)
    assert before["learning_curve.png"].startswith(PNG_MAGIC)

    def half_written(self, f, **kwargs):
        f.write(PNG_MAGIC)  # the first bytes made it, then the disk filled up
        disk_full()
    monkeypatch.setattr(Figure, "savefig", half_written)
    with pytest.raises(OSError, match="No space left"):
        plot_learning_curve(str(tmp_path), NEW)
    assert contents(tmp_path) == before and path.endswith("learning_curve.png")
