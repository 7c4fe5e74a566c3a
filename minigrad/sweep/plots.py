"""A sweep's pictures: error against a swept value, a heatmap of two, learning curves.

``write_plots`` writes, from the summary rows and the trials' histories (matplotlib
required, the optional extra ``minigrad[plot]``; every file replaced atomically):

* ``error_vs_<axis>.png`` for each swept axis with two or more values: the mean error
  over seeds (error bars: one sd) against the axis's values, one line per combination
  of the other axes' values; validation error on the left, test error on the right, so
  the two are never mixed up. Numeric axes are spaced by value, others evenly;
* ``heatmap.png`` when exactly two axes have two or more values: the mean validation
  and test error of every pair, the chosen cell outlined;
* ``learning_curves.png``: the trials of the chosen grid point (one line per seed):
  the training loss, and the validation and test error after each epoch.

Example::

    paths = write_plots("sweeps/dropout", sweep, sweep_results(sweep, "sweeps/dropout"))
"""
import itertools
import numbers
import os

from ..history import save_figure
from .grid import show_point, show_value
from .store import read_history
from .summary import summarize

__all__ = ["write_plots", "error_vs_axis_figure", "heatmap_figure", "learning_curves_figure"]

_ERRORS = (("validation", "validation error"), ("test", "test error"))


def _numeric(values):
    return all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values)


def _swept(sweep):
    return [axis for axis, values in sweep.grid.items() if len(values) > 1]


def error_vs_axis_figure(sweep, rows, axis):
    """The figure of ``error_vs_<axis>.png`` (module docstring)."""
    import matplotlib.pyplot as plt
    values = sweep.grid[axis]
    xs = list(values) if _numeric(values) else list(range(len(values)))
    others = [a for a in _swept(sweep) if a != axis]
    fig, panels = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for panel, (kind, title) in zip(panels, _ERRORS):
        for combo in itertools.product(*(sweep.grid[a] for a in others)):
            line = [next(r for r in rows if r[axis] == v and
                         all(r[a] == c for a, c in zip(others, combo))) for v in values]
            means = [100 * r[f"{kind}_error_mean"] if r[f"{kind}_n"] else float("nan")
                     for r in line]
            sds = [100 * (r[f"{kind}_error_sd"] or 0) if r[f"{kind}_n"] else 0 for r in line]
            label = show_point(zip(others, combo)) or None
            panel.errorbar(xs, means, yerr=sds, marker="o", capsize=3, label=label)
        panel.set(xlabel=axis, title=f"{title} (mean ± sd over seeds)")
        panel.set_xticks(xs, [show_value(v) for v in values])
        panel.grid(alpha=0.3)
    panels[0].set_ylabel("error (%)")
    if others:
        panels[1].legend(fontsize="small")
    fig.tight_layout()
    return fig


def heatmap_figure(sweep, rows):
    """The figure of ``heatmap.png``: the two swept axes' mean errors, chosen cell outlined."""
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.patches import Rectangle
    first, second = _swept(sweep)
    fig, panels = plt.subplots(1, 2, figsize=(11, 4.5))
    for panel, (kind, title) in zip(panels, _ERRORS):
        grid = np.full((len(sweep.grid[first]), len(sweep.grid[second])), np.nan)
        chosen = None
        for i, a in enumerate(sweep.grid[first]):
            for j, b in enumerate(sweep.grid[second]):
                row = next(r for r in rows if r[first] == a and r[second] == b)
                if row[f"{kind}_n"]:
                    grid[i, j] = 100 * row[f"{kind}_error_mean"]
                chosen = (i, j) if row["chosen"] else chosen
        image = panel.imshow(grid, cmap="viridis_r", aspect="auto")
        for (i, j), value in np.ndenumerate(grid):
            panel.text(j, i, "-" if np.isnan(value) else f"{value:.2f}", ha="center",
                       va="center", color="white" if value > np.nanmean(grid) else "black")
        if chosen is not None:
            panel.add_patch(Rectangle((chosen[1] - 0.5, chosen[0] - 0.5), 1, 1, fill=False,
                                      edgecolor="red", lw=2.5))
        panel.set_xticks(range(grid.shape[1]), [show_value(v) for v in sweep.grid[second]])
        panel.set_yticks(range(grid.shape[0]), [show_value(v) for v in sweep.grid[first]])
        panel.set(xlabel=second, ylabel=first, title=f"mean {title} (%)")
        fig.colorbar(image, ax=panel)
    fig.suptitle("red: the configuration chosen on validation error")
    fig.tight_layout()
    return fig


def learning_curves_figure(histories, title=None):
    """The figure of ``learning_curves.png`` from ``{label: history}``."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
    fig, (loss, errors) = plt.subplots(1, 2, figsize=(11, 4))
    for (label, history), color in zip(histories.items(), itertools.cycle(
            plt.rcParams["axes.prop_cycle"].by_key()["color"])):
        epochs = [r["epoch"] for r in history]
        loss.plot(epochs, [r["train_loss"] for r in history], marker="o", color=color,
                  label=label)
        if history[0].get("validation_error") is not None:
            errors.plot(epochs, [100 * r["validation_error"] for r in history], marker="o",
                        color=color, ls="--", label=f"{label}: validation")
        errors.plot(epochs, [100 * r["test_error"] for r in history], marker="s",
                    color=color, label=f"{label}: test")
    loss.set(xlabel="epoch", ylabel="cross-entropy", title="training loss (dropout on)")
    errors.set(xlabel="epoch", ylabel="error (%)", title="error after each epoch")
    for panel in (loss, errors):
        panel.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        panel.grid(alpha=0.3)
        panel.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def write_plots(out, sweep, results):
    """Write the plots of the module docstring into ``out``; their paths, or None
    without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
    except ImportError:
        return None
    rows = summarize(sweep, results)
    paths = [save_figure(error_vs_axis_figure(sweep, rows, axis),
                   os.path.join(out, f"error_vs_{axis}.png")) for axis in _swept(sweep)]
    if len(_swept(sweep)) == 2:
        paths.append(save_figure(heatmap_figure(sweep, rows), os.path.join(out, "heatmap.png")))
    chosen = [r for r in rows if r["chosen"]]
    if chosen:
        point = {a: chosen[0][a] for a in sweep.grid}
        trials = [t for t, r in zip(sweep.trials(), results) if r is not None and
                  r["status"] == "ok" and all(v == point[a] for a, v in t.point)]
        histories = {f"seed {t.base_seed}": read_history(out, t.key) for t in trials}
        title = "chosen: " + show_point(point.items())
        paths.append(save_figure(learning_curves_figure(histories, title),
                           os.path.join(out, "learning_curves.png")))
    return paths
