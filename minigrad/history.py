"""Write a training history to disk: ``history.json``, ``history.csv``, ``learning_curve.png``.

A history is the list of per-epoch dicts returned by ``minigrad.training.train``: the
scalar keys ``HISTORY_FIELDS``, then ``train_loss_curve``, the mean loss of each run of
``LOSS_CURVE_STEPS`` minibatch steps. The JSON file also records the configuration
and anything else passed as ``info``; the CSV has one row per epoch (the scalar fields);
the plot (the training loss over the steps beside the test error per epoch) needs
matplotlib, the optional extra ``pip install 'minigrad[plot]'``.

Every file is written atomically: into a temporary file in the same directory, flushed
and fsync'ed, then moved over its name with ``os.replace``. A reader therefore always
sees a complete file, the previous one or the new one, never a truncated or 0-byte
one, and a failure (a full disk, an exception) leaves the previous file as it was and
removes the temporary one. ``history.json`` and ``history.csv`` are a pair: both
temporary files are written before either is moved, so they are replaced back to back,
or neither is. (Two runs writing the same directory at the same instant can still
interleave those two renames; each file is then complete and from one of the runs.)
"""
import csv
import json
import os

import numpy as np

from .atomic import replace_atomically

#: the scalar keys of each per-epoch record returned by ``train`` (the CSV's columns)
HISTORY_FIELDS = ("epoch", "lr", "momentum", "train_loss", "test_error", "seconds",
                  "samples_per_s")
#: minibatch steps averaged into one point of a record's ``train_loss_curve``
LOSS_CURVE_STEPS = 10


def write_history(out_dir, history, **info):
    """Write ``history.json`` and ``history.csv`` into ``out_dir`` (created if needed).

    Returns the list of paths written. ``info`` (JSON-friendly values, e.g.
    ``config=...``, ``backend=...``) is stored next to the history in the JSON file.
    Both files are replaced atomically and together (module docstring).
    """
    os.makedirs(out_dir, exist_ok=True)
    json_path = os.path.join(out_dir, "history.json")
    csv_path = os.path.join(out_dir, "history.csv")
    with replace_atomically([json_path, csv_path], "w") as (json_file, csv_file):
        json.dump({**info, "history": history}, json_file, indent=2, sort_keys=True)
        json_file.write("\n")
        writer = csv.DictWriter(csv_file, fieldnames=HISTORY_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(history)
    return [json_path, csv_path]


def plot_learning_curve(out_dir, history, title=None):
    """Save ``learning_curve.png`` in ``out_dir``; return its path, or None without matplotlib.

    Left: the training loss over the steps (dropout on), from each record's
    ``train_loss_curve``: the raw points (each the mean of ``LOSS_CURVE_STEPS``
    minibatches) faint, their centred moving average bold, epoch boundaries dotted;
    one epoch already shows the descent. (Records from older runs without a curve are
    drawn as one point per epoch.) Right: the test error after each epoch. Both x axes
    are in epochs, with integer ticks. The file is replaced atomically.
    """
    try:
        import matplotlib
        matplotlib.use("Agg")
    except ImportError:
        return None
    return save_figure(learning_curve_figure(history, title),
                       os.path.join(out_dir, "learning_curve.png"))


def save_figure(fig, path):
    """Save the matplotlib Figure ``fig`` as the PNG ``path`` (atomically), close it;
    return ``path``."""
    import matplotlib.pyplot as plt
    try:
        with replace_atomically([path], "wb") as (f,):
            fig.savefig(f, format="png", dpi=100)
    finally:
        plt.close(fig)
    return path


def learning_curve_figure(history, title=None):
    """The matplotlib Figure that ``plot_learning_curve`` saves (matplotlib required)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
    epochs = [r["epoch"] for r in history]
    x_loss, y_loss = _loss_over_steps(history)
    fig, (ax_loss, ax_err) = plt.subplots(1, 2, figsize=(11, 4))
    ax_loss.plot(x_loss, y_loss, color="tab:orange", alpha=0.35, lw=1,
                 label=f"mean of {LOSS_CURVE_STEPS} steps")
    window = 2 * max(0, min(2, len(y_loss) // 12)) + 1
    if window > 1:
        ax_loss.plot(x_loss, _centred_mean(y_loss, window), color="tab:orange", lw=2,
                     label=f"centred average of {window * LOSS_CURVE_STEPS} steps")
    for boundary in range(1, len(history)):
        ax_loss.axvline(boundary, color="grey", ls=":", lw=1)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", xlim=(0, epochs[-1]),
                title="training loss (dropout on)")
    ax_loss.legend(loc="upper right", fontsize="small")
    ax_err.plot(epochs, [100 * r["test_error"] for r in history], marker="o")
    ax_err.set(xlabel="epoch", ylabel="test error (%)", title="test error after each epoch")
    if len(epochs) == 1:
        ax_err.set_xlim(0.5, 1.5)
    for ax in (ax_loss, ax_err):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _centred_mean(values, window):
    """Mean of each value and its neighbours, ``window // 2`` on each side (fewer at the ends)."""
    sums = np.cumsum(np.concatenate([[0.0], values]))
    index = np.arange(len(values))
    starts = np.maximum(0, index - window // 2)
    ends = np.minimum(len(values), index + window // 2 + 1)
    return (sums[ends] - sums[starts]) / (ends - starts)


def _loss_over_steps(history):
    """x (in epochs, at the end of each group of steps) and y of the training loss."""
    xs, ys = [], []
    for r in history:
        curve = r.get("train_loss_curve") or [r["train_loss"]]
        start = r["epoch"] - 1
        xs.extend(start + (i + 1) / len(curve) for i in range(len(curve)))
        ys.extend(curve)
    return np.array(xs), np.array(ys)
