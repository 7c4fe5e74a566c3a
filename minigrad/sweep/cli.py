"""The ``minigrad sweep`` command: a grid of training runs from flags or a TOML/JSON file.

Examples::

    # 2 x 2 dropout rates x 2 seeds on 2,000 Fashion-MNIST images, 500 held out
    minigrad sweep --dataset fashion-mnist --train-subset 2000 --validation 500 \\
        --hidden 64 --epochs 2 --grid p_input=0,0.2 --grid p_hidden=0.3,0.5 \\
        --seeds 0 1 --out sweeps/dropout --plot
    minigrad sweep --file sweep.toml --out sweeps/a     # the same, from a file
    minigrad sweep ... --local-cluster 2                # on a Dask LocalCluster
    minigrad sweep ... --scheduler tcp://10.0.0.5:8786  # on a running Dask scheduler
    minigrad sweep --summarize sweeps/dropout --plot    # render the summary again

The grid syntax, ``--grid AXIS=V1,V2,...``: one flag per axis, so each axis reads as
a line of the sweep ("p_input takes 0 and 0.2"), the axis named as the TrainConfig
field or as ``minigrad train``'s flag without dashes (``input-dropout=0,0.2``), values
as that flag reads them (``none`` for no max-norm; hidden sizes joined by ``x``:
``hidden=512x512,1024x1024``). Commas never occur inside a value, so no quoting is
needed. ``--link AXIS,AXIS`` makes swept axes vary together instead of crossing them,
their i-th values paired as ``zip`` pairs them (the axes need as many values each): a
rate and a layer size for a fixed expected number of kept units, say
``--grid p_hidden=0.5,0.75 --grid hidden=128,256 --link p_hidden,hidden`` (2 points,
not 4). Every other ``minigrad train`` flag (``--hidden 64 --epochs 2``) sets the
fields that are not swept; ``--seeds`` lists the base seeds. With ``--file``, those
flags override or add to the file's ``config``, ``grid`` and ``seeds``; naming a field
both fixed and swept is an error.

Everything is checked before any trial starts (each value by its field's own check, each
grid point's whole configuration, the data and the split sizes, the workers x threads
plan, Dask's presence, the places written to): a bad sweep is an argparse error (exit
status 2) naming the axis or the flag. Then the exit status is 0 when every trial
finished, 1 when some failed (each recorded with its traceback in
``trials/<key>/result.json`` and counted in the summary), 130 on Ctrl-C (a rerun of the
same command continues). ``--summarize`` of a sweep not yet finished says how many
trials are still to run.

``--dry-run`` checks a sweep and lists its trials (their keys: the swept values, the
base seed and a hash of the content)::

    >>> from minigrad.cli import main
    >>> main(["sweep", "--grid", "p_input=0,0.2", "--seeds", "0", "1", "--dry-run"])
    p_input=0.0,seed=0-...
    p_input=0.0,seed=1-...
    p_input=0.2,seed=0-...
    p_input=0.2,seed=1-...
    4 trials (2 grid points x 2 seeds)
    0
"""
import argparse
import contextlib
import os
import shlex
import sys
from functools import partial

from ..checks import check_int
from ..cli_flags import CONFIG_FIELDS, add_config_flags, checked_flag
from ..data import sources
from ..kernels import backend
from .grid import (Sweep, axis_name, check_validation, parse_axis, read_sweep_file,
                   show_count)

__all__ = ["add_sweep_command", "sweep_command"]

EPILOG = """\
examples:
  minigrad sweep --train-subset 2000 --validation 500 --hidden 64 --epochs 2 \\
      --grid p_input=0,0.2 --grid p_hidden=0.3,0.5 --seeds 0 1 --out sweeps/a --plot
  minigrad sweep --file sweep.toml --out sweeps/a        # the same from a file
  minigrad sweep ... --local-cluster 2                   # on a Dask LocalCluster
  minigrad sweep ... --scheduler tcp://10.0.0.5:8786     # on a running Dask scheduler
  minigrad sweep --summarize sweeps/a --plot             # render the summary again

AXIS is a TrainConfig field (p_input, hidden, max_norm, lr, ...), or its minigrad
train flag without dashes (input-dropout), or dataset or train_subset; the values
read as that flag reads them: none for no max-norm, hidden=512x512,1024x1024.
Flags that are not swept fix the other fields. A rerun of the same command skips the
finished trials. Exit status: 0 all trials finished, 1 some failed, 2 a bad sweep
(nothing ran), 130 interrupted."""


def _validation_from_text(text):
    """``--validation``: a count (``5000``) or a fraction (``0.1``)."""
    return float(text) if any(c in text for c in ".eE") else int(text)


def add_sweep_command(commands):
    """Add the ``sweep`` command to the subparsers ``commands``; return its parser.

    Its TrainConfig flags have no defaults (``argparse.SUPPRESS``): only the flags given
    appear in the result, to override the file's config or TrainConfig's defaults.
    """
    p = commands.add_parser(
        "sweep", help="train a grid of dropout MLPs (times seeds) and summarise them",
        description="Train one run per grid point and seed on a local process pool or a\n"
                    "Dask cluster, each run in its own directory under --out, and write a\n"
                    "summary (CSV, Markdown) with the configuration chosen on the\n"
                    "validation split, never on the test set.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    groups = {name: p.add_argument_group(name)
              for name in ("sweep", "data", "model", "optimisation", "execution")}
    sweep = groups["sweep"]
    sweep.add_argument("--grid", action="append", type=_grid_axis, default=[],
                       metavar="AXIS=V1,V2", help="one swept axis and its values (repeat "
                       "for more axes), e.g. p_input=0,0.2 or hidden=256x256,512x512")
    sweep.add_argument("--link", action="append", type=_linked_axes, default=[],
                       metavar="AXIS,AXIS", help="swept axes that vary together, their "
                       "i-th values paired (repeat for more groups), e.g. p_hidden,hidden")
    checked_flag(sweep, "--seeds", int, partial(_each, partial(check_int, minimum=0)),
                 nargs="+", default=argparse.SUPPRESS, metavar="S",
                 help="base seeds (default 0); each trial's seed is derived from one of "
                      "them and the trial's content")
    sweep.add_argument("--file", metavar="FILE", help="a TOML or JSON sweep file (grid, "
                       "linked, seeds, config, dataset, train_subset, validation); the flags "
                       "override it")
    sweep.add_argument("--out", metavar="DIR", help="the sweep directory (required unless "
                       "--summarize or --dry-run)")
    sweep.add_argument("--summarize", metavar="DIR", help="only render DIR's summary (and "
                       "plots with --plot) from its files; train nothing")
    sweep.add_argument("--plot", action="store_true", help="write the PNG plots (matplotlib)")
    sweep.add_argument("--retry-failed", action="store_true",
                       help="run trials recorded as failed again (finished ones are skipped)")
    sweep.add_argument("--checkpoints", action="store_true",
                       help="keep each trial's final checkpoint.npz")
    sweep.add_argument("--dry-run", action="store_true",
                       help="check the grid and list the trials; train nothing")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar or trial lines")
    data = groups["data"]
    data.add_argument("--dataset", choices=tuple(sources.DATASETS), default=argparse.SUPPRESS,
                      help="the dataset of every trial unless swept (default mnist)")
    data.add_argument("--data-dir", metavar="DIR", default=argparse.SUPPRESS,
                      help="directory with the four IDX files")
    data.add_argument("--no-download", action="store_true",
                      help="never download missing files")
    checked_flag(data, "--train-subset", int, partial(check_int, minimum=1),
                 default=argparse.SUPPRESS, metavar="N",
                 help="train on the first N training images only")
    checked_flag(data, "--validation", _validation_from_text, check_validation,
                 default=argparse.SUPPRESS, metavar="N|F",
                 help="hold out the last N (or the fraction F) of the training images "
                      "as the validation split the configuration is chosen on")
    # --seed is read (to refuse it: the seeds are --seeds) but not listed
    add_config_flags(groups, lambda value: argparse.SUPPRESS, unlisted=("seed",))
    run = groups["execution"]
    checked_flag(run, "--workers", int, partial(check_int, minimum=1), metavar="W",
                 help="local worker processes (default: one per trial, at most one per "
                      "core)")
    checked_flag(run, "--threads", int,
                 partial(check_int, minimum=1, maximum=backend.MAX_THREADS), metavar="T",
                 help="kernel threads of each trial (default: the cores shared among the "
                      "local workers or the --local-cluster workers; with --scheduler, "
                      "the workers' own setting); results do not depend on it")
    run.add_argument("--oversubscribe", action="store_true",
                     help="allow workers x threads above the cores of this machine")
    cluster = run.add_mutually_exclusive_group()
    checked_flag(cluster, "--local-cluster", int, partial(check_int, minimum=1), metavar="N",
                 help="run on a Dask LocalCluster of N worker processes (minigrad[distributed])")
    cluster.add_argument("--scheduler", metavar="ADDRESS",
                         help="run on the Dask scheduler at ADDRESS, e.g. tcp://HOST:8786 "
                              "(minigrad[distributed])")
    p.set_defaults(sweep_parser=p)  # sweep_command reports usage errors through it
    return p


def _each(check, name, values):
    return [check(name, v) for v in values]


def _grid_axis(text):
    try:
        return parse_axis(text)
    except (TypeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _linked_axes(text):
    try:
        return [axis_name(name.strip()) for name in text.split(",")]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _same_field(name, axis):
    """Whether a key of a sweep file's ``config`` or ``grid`` names the field ``axis``."""
    try:
        return axis_name(name) == axis
    except ValueError:  # not a field at all: Sweep.from_dict says so
        return False


def _sweep_from_args(args):
    """The Sweep that the file and the flags describe (ValueError/TypeError if bad)."""
    if "seed" in vars(args):
        raise ValueError("--seed is not used by a sweep: give the base seeds with --seeds")
    spec = read_sweep_file(args.file) if args.file else {}
    config = dict(spec.get("config", {}))
    config.update({name: getattr(args, name) for name in CONFIG_FIELDS if name in vars(args)})
    grid, from_flags = dict(spec.get("grid", {})), set()
    for axis, values in args.grid:
        if axis in from_flags:
            raise ValueError(f"grid: axis {axis} is given twice")
        if any(_same_field(name, axis) for name in grid):
            raise ValueError(f"grid axis {axis} is in {args.file} and in --grid")
        from_flags.add(axis)
        grid[axis] = values
    for axis in map(axis_name, grid):
        if any(_same_field(name, axis) for name in config):
            where = "by its flag" if axis in vars(args) else f"in {args.file}"
            raise ValueError(f"{axis} is both fixed ({where}) and swept (grid axis "
                             f"{axis}): give it once")
    spec.update(config=config, grid=grid,
                linked=[*spec.get("linked", []), *args.link])
    for name in ("seeds", "dataset", "train_subset", "validation", "data_dir"):
        if name in vars(args):
            spec[name] = getattr(args, name)
    return Sweep.from_dict(spec)


def sweep_command(args, parser, argv):
    """Run ``minigrad sweep`` with the parsed ``args`` (from the words ``argv``, which
    ``sweep.json`` keeps as the command); return the exit status."""
    from .runner import run_sweep, sweep_results
    from .store import load_sweep
    if args.summarize:
        if not os.path.isfile(os.path.join(args.summarize, "sweep.json")):
            parser.error(f"--summarize: {args.summarize!r} holds no sweep.json")
        try:
            sweep = load_sweep(args.summarize)
        except (TypeError, ValueError) as exc:
            parser.error(f"--summarize: {args.summarize}/sweep.json: {exc}")
        return _report(args.summarize, sweep, sweep_results(sweep, args.summarize), args)
    sweep, options = _checked_run(args, parser)
    if args.dry_run:
        for trial in sweep.trials():
            print(trial.key)
        print(f"{show_count(len(sweep.trials()), 'trial')} "
              f"({show_count(len(sweep.points()), 'grid point')} x "
              f"{show_count(len(sweep.seeds), 'seed')})")
        return 0
    options["info"] = {"command": "minigrad " + shlex.join(argv)}
    try:
        with _executor(args, parser) as executor:
            results = run_sweep(sweep, args.out, executor=executor, **options)
    except KeyboardInterrupt:
        print("minigrad sweep: interrupted; the finished trials are kept: run the same "
              "command again to continue", file=sys.stderr)
        return 130
    return _report(args.out, sweep, results, args)


@contextlib.contextmanager
def _executor(args, parser):
    """None (``run_sweep``'s local pool), or a Dask client for ``--scheduler`` or
    ``--local-cluster``, closed on exit; a scheduler that cannot be reached is a usage
    error."""
    if not (args.scheduler or args.local_cluster):
        yield None
        return
    from .cluster import dask_client
    with contextlib.ExitStack() as stack:
        try:
            client = stack.enter_context(dask_client(args.scheduler, args.local_cluster))
        except OSError as exc:  # nothing listens at that address, or it did not answer
            parser.error(f"--scheduler {args.scheduler}: {exc}")
        yield client


def _checked_run(args, parser):
    """The Sweep and the ``run_sweep`` options of ``args``, every check that can fail
    done (a usage error, exit status 2, if one does): nothing has run yet."""
    from .runner import plan_workers
    from .trial import check_sweep_data
    if args.out is None and not args.dry_run:
        parser.error("--out DIR is required (or --summarize DIR)")
    if (args.local_cluster or args.scheduler) and args.workers is not None:
        parser.error("--workers is for the local pool: a Dask cluster has its own workers")
    if args.scheduler and args.oversubscribe:
        parser.error("--oversubscribe is for this machine's cores: a scheduler's workers "
                     "have their own")
    try:
        sweep = _sweep_from_args(args)
        options = dict(threads=args.threads, retry_failed=args.retry_failed,
                       checkpoints=args.checkpoints, progress=not args.quiet)
        if args.local_cluster:  # this machine's cores shared among the cluster's workers
            _, options["threads"] = plan_workers(len(sweep.trials()), args.local_cluster,
                                                 args.threads, oversubscribe=args.oversubscribe)
        elif not args.scheduler:  # refused now, before any trial, if it oversubscribes
            plan_workers(len(sweep.trials()), args.workers, args.threads,
                         oversubscribe=args.oversubscribe)
            options.update(workers=args.workers, oversubscribe=args.oversubscribe)
        if args.local_cluster or args.scheduler:
            from .cluster import import_distributed
            import_distributed()
        if not args.dry_run:
            check_sweep_data(sweep, download=not args.no_download)
            os.makedirs(args.out, exist_ok=True)
    except (ImportError, OSError, TypeError, ValueError) as exc:
        parser.error(str(exc))
    return sweep, options


def _report(out, sweep, results, args):
    """Write the summary (and plots); print it; the exit status (1 if a trial failed)."""
    from .summary import render_markdown, write_summary
    rows, paths = write_summary(out, sweep, results)
    if args.plot:
        from .plots import write_plots
        written = write_plots(out, sweep, results)
        if written is None:
            print("plots not written: matplotlib is not installed (pip install matplotlib)")
        else:
            paths += written
    print(render_markdown(sweep, rows), end="")
    print(f"wrote {', '.join(paths)}")
    not_run = results.count(None)
    if not_run:  # only after --summarize: a run ends with every trial's result
        print(f"minigrad sweep: {not_run} of {len(results)} trials have not run yet (the "
              "sweep's command, run again, runs them)", file=sys.stderr)
    failed = sum(r is not None and r["status"] != "ok" for r in results)
    if failed:
        print(f"minigrad sweep: {failed} of {len(results)} trials failed (their tracebacks "
              f"are in {out}/trials/<key>/result.json; --retry-failed runs them again)",
              file=sys.stderr)
        return 1
    return 0
