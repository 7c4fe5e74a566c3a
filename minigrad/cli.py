"""The ``minigrad`` command line: ``minigrad train`` trains a dropout MLP on (Fashion-)MNIST.

Examples::

    minigrad train --epochs 1                          # 784-1024-1024-10, paper defaults
    minigrad train --hidden 800 800 --epochs 50 --checkpoint run.npz --out runs/a
    minigrad train --resume run.npz --epochs 100       # continue bit for bit
    python -m minigrad train --train-subset 2000 --hidden 64 --quiet

Every flag is checked before any work starts; a bad value is an argparse error (exit
status 2, no traceback). That includes the whole learning-rate schedule (every epoch's
rate must stay > 0), the resume checkpoint, and the places written to: ``--out`` and
the directory of ``--checkpoint`` must accept a new file, which is tried by creating
and removing one (permission bits say nothing for root, and nothing about read-only
mounts). With ``--resume``, flags you do not give are taken from the checkpoint's
configuration, so ``--resume run.npz --epochs 100`` is enough; giving a value that
differs from the checkpoint's is an error (a changed configuration cannot continue the
same run).

Once training has started, nothing is a usage error any more. Divergence
(``FloatingPointError``) or a failed write (``OSError``) prints one ``error:`` line
and exits with status 1; Ctrl-C exits with 130; anything else is a bug and shows its
traceback. In every one of those cases the epochs finished so far (with ``--resume``,
including the earlier ones) are written to ``--out``, and the message says which epoch
the ``--checkpoint`` file holds, or that this run wrote none.
"""
import argparse
import math
import os
import sys
import tempfile
import time

from .kernels import backend
from .nn.init import INITS
from .training import HISTORY_FIELDS  # noqa: F401 (docs)
from .training import ResumeError, TrainConfig, train

DEFAULTS = TrainConfig()
#: the files ``--out`` receives
OUT_FILES = ("history.json", "history.csv", "learning_curve.png")
#: flag dest -> TrainConfig field, for the flags that define the run's configuration
CONFIG_FLAGS = {"hidden": "hidden", "input_dropout": "p_input", "hidden_dropout": "p_hidden",
                "dropout_mode": "dropout_mode", "max_norm": "max_norm", "lr": "lr",
                "lr_decay": "lr_decay", "lr_anneal_epochs": "lr_anneal_epochs",
                "momentum_start": "momentum_start",
                "momentum_end": "momentum_end", "momentum_epochs": "momentum_epochs",
                "batch_size": "batch_size", "epochs": "epochs", "seed": "seed",
                "init": "init", "paper_momentum": "paper_momentum"}


# ---- argument types: each raises ArgumentTypeError with the reason ----------------------
def _int_at_least(minimum, maximum=None):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be <= {maximum}, got {value}")
        return value
    parse.__name__ = "integer"
    return parse


def _float_in(low, high, include_low, include_high):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        ok = (value >= low if include_low else value > low) and (
            value <= high if include_high else value < high)
        if not ok:
            interval = (("[" if include_low else "(") + f"{low:g}, {high:g}"
                        + ("]" if include_high else ")"))
            raise argparse.ArgumentTypeError(f"must be in {interval}, got {text}")
        return value
    parse.__name__ = "number"
    return parse


def _max_norm(text):
    if text.strip().lower() in ("none", "0", "0.0", "off"):
        return None
    value = _float_in(0, math.inf, False, False)(text)
    return value


positive_int = _int_at_least(1)
probability = _float_in(0, 1, True, False)
positive_float = _float_in(0, math.inf, False, False)
momentum_value = _float_in(0, 1, True, False)
decay_factor = _float_in(0, 1, False, True)


def build_parser(suppress_defaults=False):
    """The argparse parser of ``minigrad``. ``suppress_defaults``: leave unset flags out."""
    def default(value):
        return argparse.SUPPRESS if suppress_defaults else value

    parser = argparse.ArgumentParser(prog="minigrad", description=(
        "minigrad: a small autograd engine for training dropout networks on a CPU."))
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    p = commands.add_parser(
        "train", help="train a dropout MLP on MNIST or Fashion-MNIST",
        description="Train Dropout -> [Linear(max-norm) -> ReLU -> Dropout] x L -> Linear "
                    "with SGD + momentum (Srivastava et al., JMLR 2014), print one line "
                    "per epoch and optionally save checkpoints and the history.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    data = p.add_argument_group("data")
    data.add_argument("--dataset", choices=("mnist", "fashion-mnist"), default=default("mnist"))
    data.add_argument("--data-dir", default=default(None), metavar="DIR",
                      help="directory with the four IDX files (default: $MINIGRAD_DATA, "
                           "the user cache, system directories)")
    data.add_argument("--no-download", action="store_true", default=default(False),
                      help="never download missing files")
    data.add_argument("--train-subset", type=positive_int, default=default(None), metavar="N",
                      help="train on the first N training images only (quick runs)")
    model = p.add_argument_group("model")
    model.add_argument("--hidden", type=positive_int, nargs="*", metavar="SIZE",
                       default=default(list(DEFAULTS.hidden)),
                       help="hidden layer sizes (none: softmax regression)")
    model.add_argument("--input-dropout", type=probability, default=default(DEFAULTS.p_input),
                       metavar="P", help="drop probability of input units, in [0, 1)")
    model.add_argument("--hidden-dropout", type=probability,
                       default=default(DEFAULTS.p_hidden), metavar="P",
                       help="drop probability of hidden units, in [0, 1)")
    model.add_argument("--dropout-mode", choices=("inverted", "weight_scaling"),
                       default=default(DEFAULTS.dropout_mode))
    model.add_argument("--max-norm", type=_max_norm, default=default(DEFAULTS.max_norm),
                       metavar="C", help="max-norm bound on each unit's incoming weights "
                                         "(0 or 'none' disables)")
    model.add_argument("--init", choices=INITS, default=default(DEFAULTS.init), metavar="NAME",
                       help="weight initialisation of the Linear layers, one of "
                            f"{', '.join(INITS)} (minigrad.nn.init: 'he' is He-normal, "
                            "'torch' PyTorch's nn.Linear default)")
    opt = p.add_argument_group("optimisation")
    opt.add_argument("--lr", type=positive_float, default=default(DEFAULTS.lr),
                     help="initial learning rate (PyTorch-style SGD: lr multiplies the "
                          "velocity)")
    opt.add_argument("--lr-decay", type=decay_factor, default=default(DEFAULTS.lr_decay),
                     help="learning-rate factor per epoch, in (0, 1]")
    opt.add_argument("--lr-anneal-epochs", type=positive_int, metavar="N",
                     default=default(DEFAULTS.lr_anneal_epochs),
                     help="also anneal the learning rate linearly to zero over N epochs "
                          "(a fixed budget, usually N = --epochs; with --lr-decay 1 the "
                          "schedule is purely linear)")
    opt.add_argument("--momentum-start", type=momentum_value,
                     default=default(DEFAULTS.momentum_start))
    opt.add_argument("--momentum-end", type=momentum_value,
                     default=default(DEFAULTS.momentum_end))
    opt.add_argument("--momentum-epochs", type=_int_at_least(0), metavar="N",
                     default=default(DEFAULTS.momentum_epochs),
                     help="epochs over which momentum ramps linearly from start to end")
    opt.add_argument("--paper-momentum", action="store_true",
                     default=default(DEFAULTS.paper_momentum),
                     help="papers' momentum formulation: use lr * (1 - momentum) each "
                          "epoch, so the effective step stays ~lr while momentum ramps")
    opt.add_argument("--batch-size", type=positive_int, default=default(DEFAULTS.batch_size))
    opt.add_argument("--epochs", type=positive_int, default=default(DEFAULTS.epochs),
                     help="total epochs (a resumed run stops at the same total)")
    opt.add_argument("--seed", type=_int_at_least(0), default=default(DEFAULTS.seed),
                     help="the one seed of init, dropout masks and shuffling")
    run = p.add_argument_group("run")
    run.add_argument("--threads", type=_int_at_least(1, backend.MAX_THREADS),
                     default=default(None),
                     help="threads of the compiled kernels, at most minigrad.backend."
                          f"MAX_THREADS = {backend.MAX_THREADS} (default: "
                          "$MINIGRAD_NUM_THREADS or all usable cores); results do not "
                          "depend on it")
    run.add_argument("--checkpoint", default=default(None), metavar="PATH",
                     help="save a checkpoint (.npz) here at the end of every epoch")
    run.add_argument("--resume", default=default(None), metavar="PATH",
                     help="continue the run saved in this checkpoint")
    run.add_argument("--out", default=default(None), metavar="DIR",
                     help="write history.json, history.csv (and learning_curve.png with "
                          "matplotlib) here")
    run.add_argument("--quiet", action="store_true", default=default(False),
                     help="no progress bar or banner; per-epoch lines still print")
    return parser, p


def main(argv=None):
    """Entry point of the ``minigrad`` console script; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser, train_parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "train":
        return _train_command(args, argv, train_parser)
    parser.error(f"unknown command {args.command!r}")  # pragma: no cover (argparse catches it)


def _config_from_args(args, argv, train_parser):
    """The TrainConfig the flags ask for (merged with the checkpoint's for --resume).

    Also sets ``args.earlier_history``: the checkpoint's history with --resume, else [].
    """
    values = {field: getattr(args, dest) for dest, field in CONFIG_FLAGS.items()}
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
    merged = {field: saved[field] for field in CONFIG_FLAGS.values()}
    for dest, field in CONFIG_FLAGS.items():
        if dest in given:
            merged[field] = getattr(args, dest)
    return TrainConfig(**merged)


def _train_command(args, argv, train_parser):
    error = train_parser.error
    if args.checkpoint is not None:
        _check_file_destination("--checkpoint", args.checkpoint, error)
    if args.out is not None:
        _check_out_directory(args.out, error)
    if args.data_dir is not None and not os.path.isdir(args.data_dir) and args.no_download:
        error(f"--data-dir: {args.data_dir!r} is not a directory")
    try:
        config = _config_from_args(args, argv, train_parser)
    except (ValueError, TypeError) as exc:
        error(str(exc))
    if args.threads is not None:
        backend.set_num_threads(args.threads)  # in range: the parser checked the bound

    from .data import load_dataset
    from .data.datasets import DatasetNotFoundError
    from .data.download import DownloadError
    try:
        dataset = load_dataset(args.dataset, args.data_dir, download=not args.no_download,
                               verbose=not args.quiet)
    except (DatasetNotFoundError, DownloadError, OSError, ValueError) as exc:
        error(f"cannot load {args.dataset}: {exc}")
    x_train, y_train, x_test, y_test = dataset
    if args.train_subset is not None:
        if args.train_subset > len(x_train):
            error(f"--train-subset {args.train_subset} exceeds the {len(x_train)} "
                  "training images")
        x_train, y_train = x_train[:args.train_subset], y_train[:args.train_subset]

    info = backend.backend_info()
    sizes = "-".join(str(s) for s in (x_train.shape[1], *config.hidden, 10))
    if not args.quiet:
        lr_schedule = f"x{config.lr_decay:g}/epoch"
        if config.lr_anneal_epochs is not None:
            lr_schedule += f", annealed to 0 over {config.lr_anneal_epochs} epochs"
        print(f"minigrad train: {args.dataset}, {len(x_train)} train / {len(x_test)} test "
              f"images; MLP {sizes}, dropout {config.p_input:g}/{config.p_hidden:g} "
              f"({config.dropout_mode}), max-norm {config.max_norm}, init {config.init}, "
              f"lr {config.lr:g} "
              f"({lr_schedule}), momentum {config.momentum_start:g}->"
              f"{config.momentum_end:g} over {config.momentum_epochs} epochs"
              f"{' (paper momentum: lr x (1-m))' if config.paper_momentum else ''}, batch "
              f"{config.batch_size}, seed {config.seed}", flush=True)
        print(f"backend: kernels {info['kernels']}, {info['num_threads']} threads",
              flush=True)

    finished = []  # the records of this run's epochs

    def on_epoch(record):
        finished.append(record)
        print(f"epoch {record['epoch']:>3}/{config.epochs}  train loss "
              f"{record['train_loss']:.4f}  test error {100 * record['test_error']:.2f}%  "
              f"{record['seconds']:.1f} s  {record['samples_per_s']:.0f} samples/s",
              flush=True)

    started = time.perf_counter()
    checkpoint_before = None if args.checkpoint is None else _file_identity(args.checkpoint)
    try:
        _, history = train(config, (x_train, y_train, x_test, y_test),
                           checkpoint=args.checkpoint, resume=args.resume, on_epoch=on_epoch,
                           progress=_progress_bar(len(x_train), config.epochs, args.quiet),
                           metadata={"dataset": args.dataset, "train_subset": args.train_subset})
    except ResumeError as exc:  # found before the first step: a usage error like the others
        error(str(exc))
    except (Exception, KeyboardInterrupt) as exc:
        if isinstance(exc, KeyboardInterrupt):
            status, message = 130, "interrupted"
        elif isinstance(exc, (FloatingPointError, OSError)):
            status, message = 1, f"error: {exc}"
        else:  # a bug: its traceback follows, once the finished epochs are saved
            status, message = None, "error: training stopped by an unexpected exception"
        print(f"minigrad train: {message}{_checkpoint_note(args.checkpoint, checkpoint_before)}",
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


def _check_file_destination(flag, path, error):
    """argparse ``error`` unless ``path`` names a file that can be (re)written."""
    if os.path.isdir(path):
        error(f"{flag}: {path!r} is a directory, not a file")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        error(f"{flag}: directory {directory!r} does not exist")
    _check_can_create_in(flag, directory, error)


def _check_out_directory(out, error):
    """argparse ``error`` unless ``out`` is or can become a directory holding OUT_FILES."""
    out = os.path.abspath(out)
    existing = out
    while not os.path.exists(existing):  # makedirs will create the rest
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        error(f"--out: {existing!r} is not a directory")
    for path in (os.path.join(out, name) for name in OUT_FILES):
        if os.path.isdir(path):
            error(f"--out: {path!r} is a directory, not a file")
    _check_can_create_in("--out", existing, error)


def _check_can_create_in(flag, directory, error):
    """argparse ``error`` unless a file can be created in ``directory``: try it.

    ``os.access`` answers from the permission bits, which root ignores and which know
    nothing of a read-only mount; only creating a file tells.
    """
    try:
        fd, probe = tempfile.mkstemp(dir=directory, prefix=".minigrad-write-test-")
    except OSError as exc:
        error(f"{flag}: cannot create files in {directory!r}: {exc.strerror or exc}")
    os.close(fd)
    os.remove(probe)


def _file_identity(path):
    """``path``'s inode and modification time, or None: ``os.replace`` changes both."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size


def _checkpoint_note(checkpoint, identity_before):
    """What the --checkpoint file holds after a run stopped early, for its message.

    Read from the file itself, so it is right even when the run stopped between
    writing a checkpoint and reporting its epoch; a file this run did not replace
    (same inode and time as at the start) was not written by it.
    """
    if checkpoint is None:
        return ""
    identity = _file_identity(checkpoint)
    if identity is None or identity == identity_before:
        state = "does not exist" if identity is None else "is unchanged"
        return f"; no checkpoint was written in this run ({checkpoint} {state})"
    from .checkpoint import read_checkpoint_metadata
    try:
        epoch = read_checkpoint_metadata(checkpoint)["epoch"]
    except (ValueError, KeyError, OSError) as exc:  # replaced by someone else meanwhile
        return f"; {checkpoint} was replaced during the run but cannot be read ({exc})"
    return f"; {checkpoint} holds epoch {epoch} (continue with --resume {checkpoint})"


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
