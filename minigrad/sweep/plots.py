"""A sweep's pictures: error against a swept value, a heatmap of two, learning curves.

``write_plots`` writes, from the summary rows and the trials' histories (matplotlib
required, the optional extra ``minigrad[plot]``; every file replaced atomically):

* ``error_vs_<axis>.png`` for each swept axis with two or more values: the mean error
  over seeds (error bars: one sd) against the axis's values, one line per combination
  of the other axes' values; validation error on the left (no panel without a
  validation split), test error on the right, so the two are never mixed up, and
  beside the test error the training error (dashed: the images trained on, dropout
  off), as in Srivastava et al.'s Figure 9. Numeric axes are spaced by value (on a log
  scale when they span two decades or more, as training-set sizes do), others evenly;
  the values of axes linked to this one are written under its ticks (slanted when they
  would not fit side by side). Errors spanning a decade or more (1.5% beside 44%) are
  drawn on a scale linear below 1% and logarithmic above, so that neither the small
  differences nor the zero training errors are flattened against the axis; the legend
  sits below the panels, where it covers no point;
* ``heatmap.png`` when the grid has exactly two dimensions with two or more values
  (linked axes make one): the mean validation and test error of every pair, the
  chosen cell outlined;
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


def _swept_groups(sweep):
    """The axis groups (``Sweep.axis_groups``) with two or more values: the dimensions
    of the grid (linked axes make one)."""
    return [group for group in sweep.axis_groups() if len(sweep.grid[group[0]]) > 1]


def _at(sweep, row, group, i):
    """Whether summary ``row`` has the ``i``-th values of the axes of ``group``."""
    return all(row[axis] == sweep.grid[axis][i] for axis in group)


def _label(sweep, group, i, first=None):
    """The tick label of the ``i``-th values of ``group``: ``first``'s value, then the
    other linked axes' values below it."""
    first = first or group[0]
    rest = show_point(((a, sweep.grid[a][i]) for a in group if a != first), sep="\n")
    return show_value(sweep.grid[first][i]) + (f"\n{rest}" if rest else "")


def error_vs_axis_figure(sweep, rows, axis):
    """The figure of ``error_vs_<axis>.png`` (module docstring)."""
    import matplotlib.pyplot as plt
    group = next(g for g in sweep.axis_groups() if axis in g)
    values = sweep.grid[axis]
    spaced = _numeric(values) and len(set(values)) == len(values)
    xs = list(values) if spaced else list(range(len(values)))
    others = [a for g in _swept_groups(sweep) if axis not in g for a in g]
    combos = list(dict.fromkeys(tuple(r[a] for a in others) for r in rows))
    kinds = [(k, t) for k, t in _ERRORS if k == "test" or any(r[f"{k}_n"] for r in rows)]
    fig, panels = plt.subplots(1, len(kinds), figsize=(max(8.0, 5.5 * len(kinds) + 0.5), 4.5),
                               sharey=True, squeeze=False, layout="constrained")
    panels = list(panels[0])
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    seeds = "one seed" if len(sweep.seeds) == 1 else f"mean ± sd over {len(sweep.seeds)} seeds"
    ticks = [_label(sweep, group, i, axis) for i in range(len(values))]
    for panel, (kind, title) in zip(panels, kinds):
        for combo, color in zip(combos, itertools.cycle(colors)):
            line = [next(r for r in rows if _at(sweep, r, group, i) and
                         all(r[a] == c for a, c in zip(others, combo)))
                    for i in range(len(values))]
            label = show_point(zip(others, combo)) or None
            _error_line(panel, xs, line, kind, color, label or title)
            if kind == "test" and any(r["train_n"] for r in line):
                _error_line(panel, xs, line, "train", color, "training (dropout off)"
                            + (f": {label}" if label else ""), ls="--", marker="^")
        panel.set(xlabel=axis, title=f"{title} ({seeds})")
        if spaced and min(xs) > 0 and max(xs) >= 100 * min(xs):
            panel.set_xscale("log")  # e.g. training-set sizes from 100 to 50,000
            panel.minorticks_off()
        panel.set_xticks(xs, ticks, **_slant(ticks))
        panel.grid(alpha=0.3)
    _error_scale(panels[0], rows)
    panels[0].set_ylabel("error (%)")
    if others or any(r["train_n"] for r in rows):
        handles, labels = panels[-1].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", fontsize="small",
                   ncols=min(len(labels), 2))
    return fig


def _slant(ticks):
    """Tick label style: slanted when the labels' widest lines would not fit side by
    side (about 40 characters across a panel)."""
    widest = max((len(part) for tick in ticks for part in tick.split("\n")), default=0)
    return {"rotation": 35, "ha": "right"} if widest * len(ticks) > 40 else {}


#: the error axis's ticks (%) on the scale of ``_error_scale``
_ERROR_TICKS = (0, 0.5, 1, 2, 3, 5, 10, 20, 30, 50, 100)


def _error_scale(panel, rows):
    """Errors from 1.5% to 44% on a linear axis leave every difference that matters in
    a sliver at the bottom: when the positive means span a decade or more, the y axis
    (shared by the panels) is linear up to 1% (so that a 0% training error stays on
    it) and logarithmic above."""
    means = [100 * r[f"{kind}_error_mean"] for r in rows
             for kind in ("validation", "test", "train")
             if r[f"{kind}_n"] and r[f"{kind}_error_mean"] > 0]
    if not means or max(means) < 10 * min(means):
        return
    panel.set_yscale("symlog", linthresh=1.0, linscale=0.5)
    top = max(means) * 1.3
    ticks = [t for t in _ERROR_TICKS if t <= top]
    panel.set_yticks(ticks, [f"{t:g}" for t in ticks])
    panel.minorticks_off()
    panel.set_ylim(bottom=0, top=top)


def _error_line(panel, xs, line, kind, color, label, **style):
    """One line of ``error_vs_axis_figure``: the ``kind`` error's means, sd bars."""
    means = [100 * r[f"{kind}_error_mean"] if r[f"{kind}_n"] else float("nan") for r in line]
    sds = [100 * (r[f"{kind}_error_sd"] or 0) if r[f"{kind}_n"] else 0 for r in line]
    panel.errorbar(xs, means, yerr=sds, capsize=3, color=color, label=label,
                   **{"marker": "o", **style})


def heatmap_figure(sweep, rows):
    """The figure of ``heatmap.png``: the two swept dimensions' mean errors (a group of
    linked axes is one dimension), the chosen cell outlined."""
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.patches import Rectangle
    first, second = _swept_groups(sweep)
    shape = (len(sweep.grid[first[0]]), len(sweep.grid[second[0]]))
    fig, panels = plt.subplots(1, 2, figsize=(11, 4.5))
    for panel, (kind, title) in zip(panels, _ERRORS):
        grid = np.full(shape, np.nan)
        chosen = None
        for i, j in np.ndindex(shape):
            row = next(r for r in rows if _at(sweep, r, first, i) and _at(sweep, r, second, j))
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
        panel.set_xticks(range(shape[1]), [_label(sweep, second, j) for j in range(shape[1])])
        panel.set_yticks(range(shape[0]), [_label(sweep, first, i) for i in range(shape[0])])
        panel.set(xlabel=second[0], ylabel=first[0], title=f"mean {title} (%)")
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
    if len(_swept_groups(sweep)) == 2:
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
