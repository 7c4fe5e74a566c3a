"""Write a training history to disk: ``history.json``, ``history.csv``, ``learning_curve.png``.

A history is the list of per-epoch dicts returned by ``minigrad.training.train`` (keys
``minigrad.training.HISTORY_FIELDS``). The JSON file also records the configuration
and anything else passed as ``info``; the CSV has one row per epoch; the plot (test
error and training loss against the epoch) needs matplotlib, the optional extra
``pip install 'minigrad[plot]'``.
"""
import csv
import json
import os

from .training import HISTORY_FIELDS


def write_history(out_dir, history, **info):
    """Write ``history.json`` and ``history.csv`` into ``out_dir`` (created if needed).

    Returns the list of paths written. ``info`` (JSON-friendly values, e.g.
    ``config=...``, ``backend=...``) is stored next to the history in the JSON file.
    """
    os.makedirs(out_dir, exist_ok=True)
    json_path = os.path.join(out_dir, "history.json")
    with open(json_path, "w") as f:
        json.dump({**info, "history": history}, f, indent=2, sort_keys=True)
        f.write("\n")
    csv_path = os.path.join(out_dir, "history.csv")
    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=HISTORY_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(history)
    return [json_path, csv_path]


def plot_learning_curve(out_dir, history, title=None):
    """Save ``learning_curve.png`` in ``out_dir``; return its path, or None without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    epochs = [r["epoch"] for r in history]
    fig, (ax_err, ax_loss) = plt.subplots(1, 2, figsize=(10, 4))
    ax_err.plot(epochs, [100 * r["test_error"] for r in history], marker="o")
    ax_err.set(xlabel="epoch", ylabel="test error (%)", title="test error")
    ax_loss.plot(epochs, [r["train_loss"] for r in history], marker="o", color="tab:orange")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="training loss (dropout on)")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = os.path.join(out_dir, "learning_curve.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
