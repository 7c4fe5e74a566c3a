"""Reproduce the permutation-invariant MNIST rows of Srivastava et al. (JMLR 2014, Table 2).

Rows (``--list`` prints them with their exact configuration):

* ``mnist-2x800-standard``   784-800-800-10 ReLU, no dropout, no max-norm (paper: 1.60%,
  the "standard neural net" of Simard et al. 2003, logistic units);
* ``mnist-3x1024-dropout``   784-1024x3-10 ReLU, dropout 0.2 input / 0.5 hidden (paper 1.25%);
* ``mnist-3x1024-dropout-maxnorm``   the same plus max-norm c = 3 (paper 1.06%);
* ``fashion-2x1024-standard`` / ``fashion-2x1024-dropout-maxnorm``: the same comparison
  on Fashion-MNIST (no published number in the papers).

All rows share one optimiser recipe (the papers', compressed to a short budget): SGD in
the papers' momentum formulation (``TrainConfig.paper_momentum``: the step is ~lr
whatever the momentum), momentum ramped linearly 0.5 -> 0.95 over ``--momentum-epochs``,
learning rate ``lr * lr_decay**epoch`` annealed linearly to zero over the ``--epochs``
budget (``TrainConfig.lr_anneal_epochs``; ``--no-anneal`` leaves the decay alone),
minibatches of 100, one seed (``--seed``).

Usage (from the repository root, kernels built)::

    python bench/mnist_paper.py run ROW [ROW ...] --epochs 40 --threads 1
    python bench/mnist_paper.py report             # table (markdown + CSV) and plot
    python bench/mnist_paper.py --list

``run`` trains the given rows *round-robin, one epoch at a time* (each row continues
bit for bit from its checkpoint, see ``minigrad.training.train(resume=...)``), so when
the wall-clock budget runs out every row of one process has the same number of epochs.
After every epoch it rewrites ``RUNS/ROW/history.json`` and ``history.csv`` (partial
results survive a kill); running the same command again resumes where it stopped.
``--epochs`` is the total per row and, with the anneal, the schedule's horizon: a run
can be resumed with the same ``--epochs`` only (with ``--no-anneal``, re-running with a
larger value continues the rows).
``report`` reads every ``RUNS/*/history.json`` and writes ``results.md``,
``results.csv`` and ``learning_curves.png`` (test error vs epoch, one line per row:
the picture of the paper's Figure 4) into ``--out``; ``--only PATTERN ...`` keeps the
runs whose directory names match (``report --only '*-linear500*' --out DIR`` reports
the 500-epoch runs alone).
"""
import argparse
import csv
import fnmatch
import json
import os
import shlex
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import figures  # noqa: E402
from which_minigrad import describe, import_minigrad  # noqa: E402

minigrad = import_minigrad()
from minigrad.kernels import backend  # noqa: E402
from minigrad.history import write_history  # noqa: E402
from minigrad.training import TrainConfig, train  # noqa: E402

#: the optimiser recipe shared by every row (overridable on the command line). lr is in
#: the papers' formulation (paper_momentum). lr 0.5 and the final momentum 0.95 were
#: chosen by pilot runs (their figures: docs/RESULTS.md, "How the recipe was chosen",
#: and bench/README.md). The learning rate is annealed linearly to zero over the run's
#: --epochs (``lr_anneal_epochs``), instead of the papers' x0.998-per-epoch decay that
#: suits 3000 epochs: see docs/RESULTS.md.
RECIPE = dict(lr=0.5, lr_decay=1.0, momentum_start=0.5, momentum_end=0.95,
              momentum_epochs=10, batch_size=100, paper_momentum=True, seed=0)
DROPOUT = dict(p_input=0.2, p_hidden=0.5)
NO_DROPOUT = dict(p_input=0.0, p_hidden=0.0, max_norm=None)

#: row name -> (dataset, TrainConfig fields, paper's test error in %, paper's row)
ROWS = {
    "mnist-2x800-standard": (
        "mnist", dict(hidden=(800, 800), **NO_DROPOUT), 1.60,
        "Standard Neural Net (Simard et al. 2003), logistic, 2x800"),
    "mnist-3x1024-dropout": (
        "mnist", dict(hidden=(1024,) * 3, max_norm=None, **DROPOUT), 1.25,
        "Dropout NN, ReLU, 3x1024"),
    "mnist-3x1024-dropout-maxnorm": (
        "mnist", dict(hidden=(1024,) * 3, max_norm=3.0, **DROPOUT), 1.06,
        "Dropout NN + max-norm, ReLU, 3x1024"),
    # the dropout family (issue 13): the same recipe and budget for every row of a comparison
    "mnist-2x800-dropout-hidden": (
        "mnist", dict(hidden=(800, 800), p_input=0.0, p_hidden=0.5, max_norm=None), 1.28,
        "Wan et al. 2013: dropout on the hidden layers, ReLU, 800-800"),
    "mnist-2x800-dropconnect": (
        "mnist", dict(hidden=(800, 800), p_input=0.0, p_hidden=0.5, max_norm=None,
                      dropout_kind="dropconnect"), 1.20,
        "Wan et al. 2013: DropConnect on the hidden layers, ReLU, 800-800"),
    "mnist-2x1024-dropout-maxnorm": (
        "mnist", dict(hidden=(1024,) * 2, max_norm=3.0, **DROPOUT), 1.08,
        "Srivastava et al. Table 10: Bernoulli dropout"),
    "mnist-2x1024-gaussian-maxnorm": (
        "mnist", dict(hidden=(1024,) * 2, max_norm=3.0, dropout_kind="gaussian", **DROPOUT),
        0.95, "Srivastava et al. Table 10: Gaussian dropout, sigma^2 = p/(1-p)"),
    "fashion-2x1024-standard": (
        "fashion-mnist", dict(hidden=(1024,) * 2, **NO_DROPOUT), None, "-"),
    "fashion-2x1024-dropout-maxnorm": (
        "fashion-mnist", dict(hidden=(1024,) * 2, max_norm=3.0, **DROPOUT), None, "-"),
}
#: row fields that may be overridden on the command line, with their types
ROW_FIELDS = {"p_input": float, "p_hidden": float, "max_norm": float}
DEFAULT_RUNS = os.path.join(ROOT, "runs", "paper")


def row_config(name, epochs, overrides, anneal=True):
    """``(dataset, TrainConfig)`` of a row trained for ``epochs``; ``anneal``: the learning
    rate falls linearly to zero over those epochs (``TrainConfig.lr_anneal_epochs``)."""
    dataset, fields, _, _ = ROWS[name]
    return dataset, TrainConfig(**{**RECIPE, **fields, **overrides, "epochs": epochs,
                                   "lr_anneal_epochs": epochs if anneal else None})


def cmd_run(args):
    if args.threads is not None:
        backend.set_num_threads(args.threads)
    from minigrad.data import load_dataset
    overrides = {k: getattr(args, k) for k in (*RECIPE, *ROW_FIELDS)
                 if getattr(args, k, None) is not None}
    datasets, states = {}, []
    for name in args.rows:
        dataset, config = row_config(name, args.epochs, overrides, anneal=not args.no_anneal)
        if dataset not in datasets:
            data = load_dataset(dataset)
            if args.train_subset:
                data = (data[0][:args.train_subset], data[1][:args.train_subset], *data[2:])
            if args.validation is not None:  # the last N training images replace the test set
                x, y, n = data[0], data[1], args.validation
                if not 0 < n < len(x):
                    sys.exit(f"--validation: N must be in [1, {len(x) - 1}], got {n}")
                data = (x[:-n], y[:-n], x[-n:], y[-n:])
            datasets[dataset] = data
        out = os.path.join(args.runs_dir, name + (f"-{args.tag}" if args.tag else ""))
        os.makedirs(out, exist_ok=True)
        ckpt = os.path.join(out, "checkpoint.npz")
        done = 0
        if os.path.exists(os.path.join(out, "history.json")) and os.path.exists(ckpt):
            with open(os.path.join(out, "history.json")) as f:
                done = len(json.load(f)["history"])
        states.append(dict(name=name, dataset=dataset, config=config, out=out, ckpt=ckpt,
                           done=done))
    command = "python bench/mnist_paper.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    print(describe(minigrad), flush=True)
    print(f"backend: {backend.backend_info()['kernels']}, {backend.get_num_threads()} threads",
          flush=True)
    while True:
        pending = [s for s in states if s["done"] < args.epochs]
        if not pending:
            break
        for s in pending:
            epoch = s["done"] + 1
            config = TrainConfig(**{**s["config"].to_dict(), "epochs": epoch})
            started = time.time()
            try:
                _, history = train(config, datasets[s["dataset"]], checkpoint=s["ckpt"],
                                   resume=s["ckpt"] if s["done"] else None,
                                   metadata={"dataset": s["dataset"], "row": s["name"]})
            except FloatingPointError as exc:  # diverged: stop this row, keep the others
                print(f"{s['name']}: {exc}", flush=True)
                s["done"] = args.epochs
                continue
            s["done"] = epoch
            r = history[-1]
            write_history(s["out"], history, row=s["name"], dataset=s["dataset"],
                          config=s["config"].to_dict(), epochs_planned=args.epochs,
                          train_subset=args.train_subset, validation=args.validation,
                          command=command,
                          backend=backend.backend_info())
            print(f"{time.strftime('%H:%M:%S')} {s['name']:<32} epoch {epoch:>3}/{args.epochs}"
                  f"  lr {r['lr']:.4f}  m {r['momentum']:.3f}  loss {r['train_loss']:.4f}"
                  f"  test error {100 * r['test_error']:.2f}%  {r['seconds']:.1f} s"
                  f" ({time.time() - started:.1f} s with resume)", flush=True)
    return 0


def load_runs(runs_dir, patterns=None):
    """``{directory name: history.json contents}`` of every run in ``runs_dir`` (only those
    whose directory name matches one of the shell ``patterns``, if given), in the order
    of ``ROWS`` (then by name)."""
    runs = {}
    for name in sorted(os.listdir(runs_dir)) if os.path.isdir(runs_dir) else []:
        if patterns and not any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns):
            continue
        path = os.path.join(runs_dir, name, "history.json")
        if os.path.exists(path):
            with open(path) as f:
                runs[name] = json.load(f)
    order = list(ROWS)
    rank = {name: order.index(run["row"]) if run.get("row") in ROWS else len(order)
            for name, run in runs.items()}
    return dict(sorted(runs.items(), key=lambda item: rank[item[0]]))


def seed_groups(runs):
    """Runs that differ only in their seed, as ``{(row, epochs): [run, ...]}`` (2+ runs)."""
    groups = {}
    for run in runs.values():
        config = {k: v for k, v in run["config"].items() if k != "seed"}
        key = (run.get("row"), len(run["history"]), json.dumps(config, sort_keys=True))
        groups.setdefault(key, []).append(run)
    return {key[:2]: group for key, group in groups.items() if len(group) > 1}


def cmd_report(args):
    runs = load_runs(args.runs_dir, args.only)
    if not runs:
        matching = f" matching {' '.join(args.only)}" if args.only else ""
        print(f"no runs in {args.runs_dir}{matching}", file=sys.stderr)
        return 1
    os.makedirs(args.out, exist_ok=True)
    rows = []
    for name, run in runs.items():
        h = run["history"]
        base = run.get("row", name)
        paper = ROWS[base][2] if base in ROWS else None
        last = h[-1]
        best = min(h, key=lambda r: r["test_error"])
        rows.append(dict(
            row=name, epochs=last["epoch"],
            dataset=run["dataset"] + (f" (validation: last {run['validation']} train)"
                                      if run.get("validation") else ""),
            epochs_planned=run.get("epochs_planned"),
            final_test_error=100 * last["test_error"],
            mean_last5=100 * sum(r["test_error"] for r in h[-5:]) / len(h[-5:]),
            best_test_error=100 * best["test_error"], best_epoch=best["epoch"],
            paper=paper, train_loss=last["train_loss"], updates=last["epoch"] * 600,
            wall_minutes=sum(r["seconds"] for r in h) / 60, command=run.get("command", "")))
    with open(os.path.join(args.out, "results.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = ["| row | data | epochs (planned) | test error, last epoch | mean of last 5 | "
             "best (epoch) | paper | final train loss (dropout on) | wall time |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        paper = f"{r['paper']:.2f}%" if r["paper"] is not None else "-"
        lines.append(f"| {r['row']} | {r['dataset']} | {r['epochs']} ({r['epochs_planned']}) | "
                     f"**{r['final_test_error']:.2f}%** | {r['mean_last5']:.2f}% | "
                     f"{r['best_test_error']:.2f}% ({r['best_epoch']}) | {paper} | "
                     f"{r['train_loss']:.4f} | "
                     f"{r['wall_minutes']:.0f} min |")
    groups = seed_groups(runs)
    if groups:
        lines += ["", "Spread over seeds (test error at the last epoch; runs whose "
                  "configurations differ only in the seed):", "",
                  "| row | epochs | seeds | test error per seed | mean | sample sd |",
                  "|---|---|---|---|---|---|"]
        for (row, epochs), group in groups.items():
            errors = np.array([100 * run["history"][-1]["test_error"] for run in group])
            seeds = ", ".join(str(run["config"]["seed"]) for run in group)
            lines.append(f"| {row} | {epochs} | {seeds} | "
                         + ", ".join(f"{e:.2f}%" for e in errors)
                         + f" | **{errors.mean():.2f}%** | {errors.std(ddof=1):.2f}% |")
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    plot(runs, os.path.join(args.out, "learning_curves.png"))
    return 0


def plot(runs, path):
    plt = figures.pyplot()
    if plt is None:
        return
    datasets = [d for d in ("mnist", "fashion-mnist")
                if any(run["dataset"] == d for run in runs.values())]
    fig, axes = plt.subplots(1, len(datasets), figsize=(6 * len(datasets), 4.5), squeeze=False)
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]

    def colour(row):  # one colour per row of ROWS, for its runs and its paper line
        return cycle[list(ROWS).index(row) % len(cycle)] if row in ROWS else None

    for ax, dataset in zip(axes[0], datasets):
        for name, run in runs.items():
            if run["dataset"] != dataset:
                continue
            h = run["history"]
            row = run.get("row", name)
            first_seed = run["config"]["seed"] == RECIPE["seed"]
            variant = row in ROWS and any(run["config"][k] != ROWS[row][1][k] for k in ROW_FIELDS)
            ax.plot([r["epoch"] for r in h], [100 * r["test_error"] for r in h], label=name,
                    color=colour(row), ls="--" if variant else "-", lw=1.5 if first_seed else 0.8,
                    alpha=1 if first_seed else 0.6)
        for row in {run.get("row") for run in runs.values() if run["dataset"] == dataset}:
            if row in ROWS and ROWS[row][2] is not None:
                ax.axhline(ROWS[row][2], color=colour(row), ls=":", lw=1)
        low = min(100 * min(r["test_error"] for r in run["history"])
                  for run in runs.values() if run["dataset"] == dataset)
        ax.set(xlabel="epoch", ylabel="test error (%)", ylim=(0.8 * low, 2.2 * low),
               title=dataset + (" (dotted: the papers' figures)" if dataset == "mnist" else ""))
    figures.save(plt, fig, axes[0], path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--list", action="store_true", help="print the rows and exit")
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="train rows round-robin, one epoch at a time")
    run.add_argument("rows", nargs="+", choices=sorted(ROWS))
    run.add_argument("--epochs", type=int, required=True, help="total epochs per row")
    run.add_argument("--threads", type=int, default=None)
    run.add_argument("--runs-dir", default=DEFAULT_RUNS)
    run.add_argument("--train-subset", type=int, default=None, help="pilot runs only")
    for key, kind in ROW_FIELDS.items():
        run.add_argument("--" + key.replace("_", "-"), type=kind, default=None,
                         help="override the row's value (a variant of the row: use --tag)")
    run.add_argument("--validation", type=int, default=None, metavar="N",
                     help="hold out the last N training images and report the error on "
                          "them instead of the test set (for choosing a configuration)")
    run.add_argument("--no-anneal", action="store_true",
                     help="no linear anneal of the lr to zero over --epochs (decay only)")
    run.add_argument("--tag", default=None,
                     help="write to RUNS/ROW-TAG (a separate, e.g. longer, run of a row)")
    for key, value in RECIPE.items():
        if key == "paper_momentum":
            continue
        run.add_argument("--" + key.replace("_", "-"), type=type(value), default=None,
                         help=f"override the recipe (default {value})")
    report = sub.add_parser("report", help="results table and learning-curve plot")
    report.add_argument("--runs-dir", default=DEFAULT_RUNS)
    report.add_argument("--out", default=os.path.join(ROOT, "docs", "results"))
    report.add_argument("--only", nargs="+", metavar="PATTERN", default=None,
                        help="only the runs whose directory names match one of these shell "
                             "patterns, e.g. '*-linear500*'")
    args = parser.parse_args(argv)
    if args.list or args.command is None:
        for name in ROWS:
            dataset, config = row_config(name, 1, {})
            print(name, dataset, {k: v for k, v in config.to_dict().items() if k != "epochs"})
        return 0
    return cmd_run(args) if args.command == "run" else cmd_report(args)


if __name__ == "__main__":
    sys.exit(main())
