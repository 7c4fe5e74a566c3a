"""A sweep's summary: one row per grid point, validation and test error kept apart.

For each grid point, over its base seeds: the mean, the sample standard deviation
(``ddof=1``; none with one seed) and the count of the final validation error and of the
final test error, the mean and sd of the final training error (on the images trained
on, dropout off: how well the net fits, as in Srivastava et al.'s Figure 9), the number
of failed trials and of trials not (yet) run.

The configuration is *chosen on the validation split*, never on the test set: the grid
point with the lowest mean validation error among those whose every trial finished
without failing (a rate that diverges on one seed of three is not a safe choice), the
first in grid order on a tie. Its test error is then the honest estimate of how the
choice does on new data; the test errors of the other rows are for reading, not for
choosing. Without a validation split nothing is chosen.

``summary.csv`` has the numbers as fractions (for programs); ``summary.md`` shows
percentages as ``mean ± sd (n)`` with the chosen row marked (for people).
``minigrad sweep --summarize DIR`` renders both again from DIR's files.

Example::

    >>> rows = summarize_results([("p", (0.0, 0.5))], [
    ...     {"point": {"p": 0.0}, "status": "ok", "validation_error": 0.2, "test_error": 0.25},
    ...     {"point": {"p": 0.0}, "status": "ok", "validation_error": 0.4, "test_error": 0.35},
    ...     {"point": {"p": 0.5}, "status": "ok", "validation_error": 0.1, "test_error": 0.15},
    ...     None])
    >>> [(r["p"], round(r["validation_error_mean"], 3), r["validation_n"], r["missing"],
    ...   r["chosen"]) for r in rows]
    [(0.0, 0.3, 2, 0, True), (0.5, 0.1, 1, 1, False)]

The point p=0.5 has the lower validation error but a trial not run, so p=0.0 is chosen.
"""
import csv
import io
import itertools
import math
import os

from ..atomic import replace_atomically
from .grid import show_point, show_value

__all__ = ["summarize", "summarize_results", "write_summary", "render_markdown",
           "SUMMARY_COLUMNS"]

#: the columns of summary.csv after the swept axes
SUMMARY_COLUMNS = ("validation_error_mean", "validation_error_sd", "validation_n",
                   "test_error_mean", "test_error_sd", "test_n", "train_error_mean",
                   "train_error_sd", "train_n", "failed", "missing", "chosen")


def _mean_sd(values):
    """``(mean, sample sd, count)`` of ``values``; None for what is undefined."""
    n = len(values)
    if n == 0:
        return None, None, 0
    mean = math.fsum(values) / n
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else None
    return mean, sd, n


def _same(a, b):
    """Equal grid values, a list read from JSON and a tuple alike."""
    return (list(a) if isinstance(a, (list, tuple)) else a) == \
        (list(b) if isinstance(b, (list, tuple)) else b)


def summarize_results(axes, results, points=None):
    """Rows of the summary from ``axes`` (``(axis, values)`` pairs, the grid) and the
    trials' ``results`` (result.json dicts, or None for a trial not run); ``points``:
    the grid points (``Sweep.points()``) when some axes are linked, else their product.
    A result without ``train_error`` (a sweep run before it was recorded) counts for
    the validation and test columns only."""
    names = [axis for axis, _ in axes]
    rows = []
    if points is None:
        points = [tuple(zip(names, values))
                  for values in itertools.product(*(vals for _, vals in axes))]
    for point in points:
        values = [value for _, value in point]
        mine = [r for r in results if r is not None
                and all(_same(r["point"][a], v) for a, v in zip(names, values))]
        ok = [r for r in mine if r["status"] == "ok"]
        row = dict(zip(names, values))
        val = [r["validation_error"] for r in ok if r["validation_error"] is not None]
        row["validation_error_mean"], row["validation_error_sd"], row["validation_n"] = \
            _mean_sd(val)
        row["test_error_mean"], row["test_error_sd"], row["test_n"] = \
            _mean_sd([r["test_error"] for r in ok])
        row["train_error_mean"], row["train_error_sd"], row["train_n"] = \
            _mean_sd([r["train_error"] for r in ok if r.get("train_error") is not None])
        row["failed"] = len(mine) - len(ok)
        row["chosen"] = False
        rows.append(row)
    per_point = len(results) // max(1, len(rows))
    for row in rows:
        row["missing"] = per_point - row["test_n"] - row["failed"]
    eligible = [r for r in rows if r["validation_n"] and not r["failed"] and not r["missing"]]
    if eligible:
        min(eligible, key=lambda r: r["validation_error_mean"])["chosen"] = True
    return rows


def summarize(sweep, results):
    """The summary rows of ``sweep`` from its ``results`` (``runner.sweep_results``)."""
    return summarize_results(list(sweep.grid.items()), results, sweep.points())


def _percent(mean, sd, n):
    if not n:
        return "-"
    return f"{100 * mean:.2f}" + ("" if sd is None else f" ± {100 * sd:.2f}") + f" ({n})"


def _setting(sweep, name, fixed):
    """How the header names a data setting (``dataset``, ``train_subset``): its value,
    or "per trial" when it is one of the grid's axes (the table's column gives it)."""
    return f"per trial (the {name} column)" if name in sweep.grid else fixed


def render_markdown(sweep, rows, title="Sweep summary"):
    """The Markdown of ``summary.md``: the table and a line on the choice."""
    axes = list(sweep.grid)
    head = axes + ["validation error %", "test error %", "training error %", "failed",
                   "not run", ""]
    lines = [f"# {title}", "",
             f"{_setting(sweep, 'dataset', sweep.dataset)}, training subset "
             f"{_setting(sweep, 'train_subset', sweep.train_subset or 'all')}, validation "
             f"split {sweep.validation or 'none'}; "
             f"seeds {', '.join(map(str, sweep.seeds))}. "
             "Errors after the last epoch: mean ± sd (count) over the seeds; the training "
             "error is on the images trained on, with dropout off.", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [show_value(row[a]) for a in axes] + [
            _percent(row["validation_error_mean"], row["validation_error_sd"],
                     row["validation_n"]),
            _percent(row["test_error_mean"], row["test_error_sd"], row["test_n"]),
            _percent(row["train_error_mean"], row["train_error_sd"], row["train_n"]),
            str(row["failed"]), str(row["missing"]),
            "**chosen**" if row["chosen"] else ""]
        lines.append("| " + " | ".join(cells) + " |")
    chosen = [r for r in rows if r["chosen"]]
    lines.append("")
    if chosen:
        point = show_point((a, chosen[0][a]) for a in axes)
        best = chosen[0]
        lines.append(f"Chosen on validation error: {point}; its test error (%): "
                     f"{_percent(best['test_error_mean'], best['test_error_sd'], best['test_n'])}.")
    elif sweep.validation is None:
        lines.append("No validation split, so no configuration is chosen (never on the test set).")
    else:
        lines.append("No configuration is chosen: no grid point has every trial finished "
                     "without failure.")
    return "\n".join(lines) + "\n"


def write_summary(out, sweep, results):
    """Write ``summary.csv`` and ``summary.md`` into ``out`` (atomically, together);
    return ``(rows, paths)``."""
    rows = summarize(sweep, results)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(sweep.grid) + list(SUMMARY_COLUMNS),
                            lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: show_value(v) if k in sweep.grid else ("" if v is None else v)
                         for k, v in row.items()})
    paths = [os.path.join(out, "summary.csv"), os.path.join(out, "summary.md")]
    with replace_atomically(paths, "w") as (csv_file, md_file):
        csv_file.write(text.getvalue())
        md_file.write(render_markdown(sweep, rows))
    return rows, paths
