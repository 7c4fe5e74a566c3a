"""The optional plots (matplotlib): the learning curve of `minigrad train` is a real PNG
file; without matplotlib it is skipped with a note, never an error. (The examples' figures
are checked in their own test files.)"""
import sys

import pytest

from minigrad.history import plot_learning_curve

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HISTORY = [{"epoch": e, "lr": 0.1, "momentum": 0.5, "train_loss": 1.0 / e,
            "test_error": 0.1 / e, "seconds": 1.0, "samples_per_s": 100.0} for e in (1, 2, 3)]


def test_learning_curve_is_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    path = plot_learning_curve(str(tmp_path), HISTORY, title="test run")
    with open(path, "rb") as f:
        assert f.read(8) == PNG_MAGIC


def test_learning_curve_without_matplotlib_returns_none(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    assert plot_learning_curve(str(tmp_path), HISTORY) is None
    assert not list(tmp_path.iterdir())
