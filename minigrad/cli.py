"""The ``minigrad`` command line: ``minigrad train`` trains a dropout MLP on (Fashion-)MNIST.

Examples::

    minigrad train --epochs 1                          # 784-1024-1024-10, paper defaults
    minigrad train --hidden 800 800 --epochs 50 --checkpoint run.npz --out runs/a
    minigrad train --resume run.npz --epochs 100       # continue bit for bit
    python -m minigrad train --train-subset 2000 --hidden 64 --quiet
    minigrad sweep --grid p_input=0,0.2 --seeds 0 1 --out sweeps/a   # minigrad.sweep.cli

Every flag is checked before any work starts; a bad value is an argparse error (exit
status 2, no traceback). The flags are TrainConfig's fields (``minigrad.cli_flags``), so
that includes the whole learning-rate schedule (every epoch's rate must stay > 0); the
resume checkpoint and the places written to are checked too (``minigrad.cli_guards``).
With ``--resume``, flags you do not give are taken from the checkpoint's configuration,
so ``--resume run.npz --epochs 100`` is enough; giving a value that differs from the
checkpoint's is an error (a changed configuration cannot continue the same run).

Once training has started, nothing is a usage error any more: divergence or a failed
write exits with status 1, Ctrl-C with 130, a bug with its traceback
(``minigrad.cli_guards.stop_status``). In every one of those cases the epochs finished
so far (with ``--resume``, including the earlier ones) are written to ``--out``, and the
message says which epoch the ``--checkpoint`` file holds, or that this run wrote none.
"""
import os
import sys
import time

from .cli_flags import CONFIG_FIELDS, build_parser
from .cli_guards import check_destinations, checkpoint_note, file_identity, stop_status
from .kernels import backend
from .sweep.cli import add_sweep_command, sweep_command
from .training import ResumeError, TrainConfig, train



def main(argv=None):
    """Entry point of the ``minigrad`` console script; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser, train_parser = build_parser(more_commands=(add_sweep_command,))
    args = parser.parse_args(argv)
    if args.command == "train":
        return _train_command(args, argv, train_parser)
    if args.command == "sweep":
        return sweep_command(args, args.sweep_parser, argv)
    parser.error(f"unknown command {args.command!r}")  # pragma: no cover (argparse catches it)


def _config_from_args(args, argv, train_parser):
    """The TrainConfig the flags ask for (merged with the checkpoint's for --resume).

    Also sets ``args.earlier_history``: the checkpoint's history with --resume, else [].
    """
    values = {name: getattr(args, name) for name in CONFIG_FIELDS}
    args.earlier_history = []
    if args.resume is None:
        return TrainConfig(**values)
    from .checkpoint import read_checkpoint_metadata  # weights are loaded later by train()
    if not os.path.isfile(args.resume):
        train_parser.error(f"--resume: checkpoint {args.resume!r} does not exist")
    try:
        meta = read_checkpoint_metadata(args.resume)
        saved = TrainConfig.from_dict(meta["config"]).to_dict()
    except KeyError:
        train_parser.error(f"--resume: {args.resume!r} holds no training configuration "
                           "(not written by minigrad train)")
    except (ValueError, TypeError) as exc:
        train_parser.error(f"--resume: {exc}")
    explicit, _ = build_parser(suppress_defaults=True)
    given = vars(explicit.parse_args(argv))
    for dest in ("dataset", "train_subset"):  # the data must be the same too
        saved_value = meta.get("run", {}).get(dest, getattr(args, dest))
        if dest not in given:
            setattr(args, dest, saved_value)
        elif given[dest] != saved_value:
            train_parser.error(f"cannot resume from {args.resume!r}: it was trained with "
                               f"--{dest.replace('_', '-')} {saved_value}, not {given[dest]}")
    args.earlier_history = meta.get("history", [])
    merged = {name: getattr(args, name) if name in given else saved[name]
              for name in CONFIG_FIELDS}
    return TrainConfig(**merged)


def _train_command(args, argv, train_parser):
    """Run ``minigrad train``: check, load the data, train, write the outputs; the exit status."""
    error = train_parser.error
    check_destinations(args, error)
    try:
        config = _config_from_args(args, argv, train_parser)
    except (ValueError, TypeError) as exc:
        error(str(exc))
    if args.threads is not None:
        backend.set_num_threads(args.threads)  # in range: the parser checked the bound

    from .data import load_dataset, training_subset
    from .data.datasets import DatasetNotFoundError
    from .data.download import DownloadError
    try:
        dataset = load_dataset(args.dataset, args.data_dir, download=not args.no_download,
                               verbose=not args.quiet)
    except (DatasetNotFoundError, DownloadError, OSError, ValueError) as exc:
        error(f"cannot load {args.dataset}: {exc}")
    if args.train_subset is not None:
        try:
            dataset = training_subset(dataset, args.train_subset, "--train-subset")
        except ValueError as exc:
            error(str(exc))
    x_train, y_train, x_test, y_test = dataset

    info = backend.backend_info()
    if not args.quiet:
        _print_banner(args.dataset, config, len(x_train), len(x_test), x_train.shape[1], info)

    finished = []  # the records of this run's epochs

    def on_epoch(record):
        finished.append(record)
        print(f"epoch {record['epoch']:>3}/{config.epochs}  train loss "
              f"{record['train_loss']:.4f}  test error {100 * record['test_error']:.2f}%  "
              f"{record['seconds']:.1f} s  {record['samples_per_s']:.0f} samples/s",
              flush=True)

    started = time.perf_counter()
    checkpoint_before = None if args.checkpoint is None else file_identity(args.checkpoint)
    try:
        _, history = train(config, (x_train, y_train, x_test, y_test),
                           checkpoint=args.checkpoint, resume=args.resume,
                           on_start=None if args.quiet else _print_model, on_epoch=on_epoch,
                           progress=_progress_bar(len(x_train), config.epochs, args.quiet),
                           metadata={"dataset": args.dataset, "train_subset": args.train_subset})
    except ResumeError as exc:  # found before the first step: a usage error like the others
        error(str(exc))
    except (Exception, KeyboardInterrupt) as exc:
        status, message = stop_status(exc)
        print(f"minigrad train: {message}{checkpoint_note(args.checkpoint, checkpoint_before)}",
              file=sys.stderr, flush=True)
        if args.out is not None:
            _write_outputs(args, config, args.earlier_history + finished, info)
        if status is None:
            raise
        return status
    elapsed = time.perf_counter() - started
    if history:
        last = history[-1]
        print(f"done: test error {100 * last['test_error']:.2f}% after {last['epoch']} "
              f"epoch{'' if last['epoch'] == 1 else 's'} ({elapsed:.1f} s in this run)",
              flush=True)
    if args.out is not None and not _write_outputs(args, config, history, info):
        return 1
    return 0


def _print_banner(dataset, config, n_train, n_test, n_features, info):
    """The two lines that open a run: the data, the whole configuration, the kernels."""
    sizes = "-".join(str(s) for s in (n_features, *config.hidden, 10))
    lr_schedule = f"x{config.lr_decay:g}/epoch"
    if config.lr_anneal_epochs is not None:
        lr_schedule += f", annealed to 0 over {config.lr_anneal_epochs} epochs"
    print(f"minigrad train: {dataset}, {n_train} train / {n_test} test "
          f"images; MLP {sizes}, dropout {config.p_input:g}/{config.p_hidden:g} "
          f"({config.dropout_kind}, {config.dropout_mode}), max-norm {config.max_norm}, "
          f"init {config.init}, "
          f"lr {config.lr:g} "
          f"({lr_schedule}), momentum {config.momentum_start:g}->"
          f"{config.momentum_end:g} over {config.momentum_epochs} epochs"
          f"{' (paper momentum: lr x (1-m))' if config.paper_momentum else ''}, batch "
          f"{config.batch_size}, seed {config.seed}", flush=True)
    print(f"backend: kernels {info['kernels']}, {info['num_threads']} threads", flush=True)


def _print_model(model):
    """The network as ``repr`` shows it: which layers there are, and which are fused."""
    print(f"model: {model!r}", flush=True)


def _progress_bar(n_samples, epochs, quiet):
    """A ``progress`` hook for ``train``: a tqdm bar in samples/s with ETA, on a TTY."""
    if quiet or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    def progress(batches, total_batches, epoch):
        with tqdm(total=n_samples, unit="img", unit_scale=True, leave=False,
                  desc=f"epoch {epoch}/{epochs}", file=sys.stderr) as bar:
            for xb, yb in batches:
                yield xb, yb
                bar.update(len(yb))
    return progress


def _write_outputs(args, config, history, info):
    """Write ``history`` to ``--out``; return False (after an ``error:`` line) on failure.

    Each file is replaced atomically (``minigrad.history``). Without a finished epoch
    nothing is written: an empty history would replace a useful one.
    """
    from .history import plot_learning_curve, write_history
    if not history:
        print(f"nothing written to {args.out}: no epoch finished")
        return True
    try:
        paths = write_history(args.out, history, config=config.to_dict(),
                              dataset=args.dataset, train_subset=args.train_subset,
                              backend=info)
        plot = plot_learning_curve(args.out, history,
                                   title=f"{args.dataset} MLP {config.hidden}")
    except OSError as exc:
        print(f"minigrad train: error: cannot write to --out {args.out}: {exc}",
              file=sys.stderr)
        return False
    if plot is None:
        print("learning_curve.png not written: matplotlib is not installed "
              "(pip install 'minigrad[plot]')")
    else:
        paths.append(plot)
    print(f"wrote {', '.join(paths)} ({len(history)} epoch{'' if len(history) == 1 else 's'})")
    return True


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
