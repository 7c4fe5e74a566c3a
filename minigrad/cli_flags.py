"""The flags of ``minigrad train``: one per TrainConfig field, derived from the field, and the
few that say where the data and the outputs go.

Each TrainConfig field declares its flag (``minigrad.training_config``): the help section
and line, the option string if it is not the field's name (``--batch-size``), how one
word of the command line becomes a value if not as the field's type (``parse``), and
the one check every value of the field passes. A flag here runs that
same check when argparse reads it, so a bad value is an argparse error naming the flag
(``argument --lr: must be a positive finite number, got 0.0``, exit status 2) before
any work starts, and a new TrainConfig field is a new flag without a line written here.
The flags that are not TrainConfig fields (``--dataset``, ``--out``, ``--resume``, ...)
are listed below, checked by the same validators of ``minigrad.checks``.

Every flag stores its value under the field's own name (``--input-dropout`` sets
``args.p_input``), so ``TrainConfig(**{name: getattr(args, name) ...})`` is the
configuration the command line asks for.
"""
import argparse
import dataclasses
import typing
from functools import partial

from .checks import check_int
from .kernels import backend
from .training_config import TrainConfig

#: the TrainConfig fields, each also the ``dest`` of its flag
CONFIG_FIELDS = tuple(field.name for field in dataclasses.fields(TrainConfig))


class _Checked(argparse.Action):
    """Store the flag's value as ``check(None, value)`` returns it; a refusal is a usage error."""

    def __init__(self, option_strings, dest, check, **kwargs):
        super().__init__(option_strings, dest, **kwargs)
        self.check = check

    def __call__(self, parser, namespace, values, option_string=None):
        try:
            setattr(namespace, self.dest, self.check(None, values))
        except (TypeError, ValueError) as exc:  # argparse prints "argument --flag: <exc>"
            raise argparse.ArgumentError(self, str(exc)) from None


def _words(parse):
    """The argparse ``type`` of one word: ``parse(text)``, or an error saying what it is not."""
    what = "an integer" if parse is int else "a number"

    def convert(text):
        try:
            return parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    convert.__name__ = parse.__name__
    return convert


def checked_flag(group, flag, parse, check, **kwargs):
    """Add ``flag`` to ``group``: a value read by ``parse`` and passed through ``check``."""
    group.add_argument(flag, type=_words(parse), action=_Checked, check=check, **kwargs)


def add_config_flags(groups, default, unlisted=()):
    """Add one flag per TrainConfig field to the argument ``groups`` its field names.

    ``default(value)`` gives the flag's default from the field's (``argparse.SUPPRESS``
    leaves flags that are not given out of the result). The flags of the fields named
    in ``unlisted`` are read but left out of ``--help``.
    """
    types = typing.get_type_hints(TrainConfig)
    for field in dataclasses.fields(TrainConfig):
        spec = field.metadata
        flag = config_flag(field)
        kwargs = dict(spec["argparse"], dest=field.name, default=default(field.default),
                      help=argparse.SUPPRESS if field.name in unlisted else spec["help"])
        parse = spec["parse"] or _word_type(types[field.name])
        if parse is None:  # a switch, or a choice argparse checks itself
            groups[spec["group"]].add_argument(flag, **kwargs)
        else:
            checked_flag(groups[spec["group"]], flag, parse, spec["check"], **kwargs)


def config_flag(field):
    """The option string of a TrainConfig field: its own, or ``--`` and its dashed name."""
    return field.metadata["flag"] or "--" + field.name.replace("_", "-")


def _word_type(annotation):
    """``int`` or ``float`` for a field annotated with it (or with it ``| None``), else None."""
    types = typing.get_args(annotation) or (annotation,)
    return next((t for t in types if t in (int, float)), None)


def build_parser(suppress_defaults=False, more_commands=()):
    """The argparse parser of ``minigrad``. ``suppress_defaults``: leave unset flags out;
    ``more_commands``: functions that each add a command to the subparsers (``minigrad
    sweep``'s is ``minigrad.sweep.cli.add_sweep_command``).

    Returns ``(parser, train_parser)``: the whole command line, and its ``train``
    command (whose ``error`` method reports a usage error, exit status 2).
    """
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
    groups = {name: p.add_argument_group(name)
              for name in ("data", "model", "optimisation", "run")}
    data = groups["data"]
    data.add_argument("--dataset", choices=("mnist", "fashion-mnist"), default=default("mnist"))
    data.add_argument("--data-dir", default=default(None), metavar="DIR",
                      help="directory with the four IDX files (default: $MINIGRAD_DATA, "
                           "the user cache, system directories)")
    data.add_argument("--no-download", action="store_true", default=default(False),
                      help="never download missing files")
    checked_flag(data, "--train-subset", int, partial(check_int, minimum=1),
                  default=default(None), metavar="N",
                  help="train on the first N training images only (quick runs)")
    add_config_flags(groups, default)
    run = groups["run"]
    checked_flag(run, "--threads", int,
                  partial(check_int, minimum=1, maximum=backend.MAX_THREADS),
                  default=default(None),
                  help="threads of the compiled kernels, at most minigrad.kernels.backend."
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
    for add_command in more_commands:
        add_command(commands)
    return parser, p
