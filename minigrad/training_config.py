"""``TrainConfig``: everything that determines a training run, each field with its check and flag.

The learning rate of epoch ``e`` (counted from 0) is ``lr * lr_decay**e``
(``ExponentialDecay``), optionally times a linear anneal ``1 - e / lr_anneal_epochs`` that
reaches zero when a fixed budget of epochs ends (the decay the papers use never reaches
zero, which suits their thousands of epochs but wastes a short budget). Momentum ramps
linearly from ``momentum_start`` to ``momentum_end`` over the first ``momentum_epochs``
epochs, then holds (``LinearRamp``).

SGD here is PyTorch's formulation (``v <- m v + g; w <- w - lr v``), so the size of a
step in a steady direction is about ``lr / (1 - m)``: raising momentum from 0.5 to 0.99
multiplies it by 50. The papers' formulation scales the gradient by ``(1 - m)``
instead; their "lr = 10" corresponds to ``lr = 10 (1 - m)`` here.
``TrainConfig(paper_momentum=True)`` does that conversion every epoch: the optimizer's
learning rate becomes ``lr(e) * (1 - momentum(e))``. With ``u = (1 - m) v`` the update
``v <- m v + g; w <- w - lr (1 - m) v`` is exactly the papers'
``u <- m u + (1 - m) g; w <- w - lr u`` (for a constant ``m``; when the ramp changes
``m`` between epochs the two differ only in how the old velocity is rescaled), so the
step in a steady direction stays about ``lr(e)`` while momentum ramps 0.5 -> 0.99.

Each field declares, beside its default, the one check its values pass (a validator of
``minigrad.checks``) and the ``minigrad train`` flag that sets it (``minigrad.cli_flags``
derives the flags from these declarations), so a new field is a new flag, checked alike.

Example::

    >>> config = TrainConfig(hidden=(800, 800), epochs=3, lr_decay=0.5)
    >>> [config.learning_rate(epoch) for epoch in range(3)]
    [0.3, 0.15, 0.075]
"""
import dataclasses
from functools import partial

from .checks import (check_bool, check_choice, check_int, check_probability, check_real,
                     check_sizes)
from .models import DROPOUT_KINDS
from .nn.dropout import MODES
from .nn.init import INITS
from .optim import ExponentialDecay, LinearRamp


def _or_none(check):
    """``check``, letting None (the field's "off") through."""
    return lambda name, value: None if value is None else check(name, value)


def max_norm_from_text(text):
    """The value of ``--max-norm TEXT``: a number, or None for ``none``, ``off`` or ``0``."""
    return None if text.strip().lower() in ("none", "0", "0.0", "off") else float(text)


_positive = partial(check_real, low=0, low_open=True)
_positive_int = partial(check_int, minimum=1)
_count = partial(check_int, minimum=0)
_drop_probability = partial(check_probability, allow_one=False)
_momentum = partial(check_real, low=0, high=1, high_open=True)
_decay_factor = partial(check_real, low=0, high=1, low_open=True)


def _field(default, check, group, help, flag=None, parse=None, **argparse_options):
    """A TrainConfig field: ``default``, the ``check(name, value)`` that every value passes
    (returning it in its plain type), and how ``minigrad train`` spells it.

    The flag is ``--`` and the field's name with dashes (``--batch-size``) unless ``flag``
    names another; ``group`` is the help section it is listed in and ``help`` its line
    there. One word of the command line is read as the field's type (``int`` or
    ``float``) unless ``parse`` says how; ``argparse_options`` go to ``add_argument`` as
    they are (``metavar``, ``nargs``, ``choices``, ``action``).
    """
    return dataclasses.field(default=default, metadata={
        "check": check, "group": group, "help": help, "flag": flag, "parse": parse,
        "argparse": argparse_options})


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run's result (the paper-style defaults).

    Every field is checked when the config is made (``TypeError`` for a wrong kind,
    ``ValueError`` for a value out of range, naming the field) and stored in its plain
    type (``hidden`` as a tuple, numbers as ``float``/``int``).

    Attributes:
        hidden: hidden layer sizes (784-1024-1024-10 for MNIST by default).
        p_input, p_hidden: drop probabilities in [0, 1) (0 omits the Dropout layer).
        dropout_mode: ``"inverted"`` or ``"weight_scaling"`` (``minigrad.nn.Dropout``).
        dropout_kind: the noise of the dropout layers, one of
            ``minigrad.models.DROPOUT_KINDS``: ``"bernoulli"`` (the papers' dropout),
            ``"gaussian"`` (N(1, p/(1-p)) multiplicative noise, Srivastava et al. 2014,
            section 10), ``"alpha"`` (alpha dropout in a SELU network, Klambauer et
            al. 2017), ``"dropconnect"`` (hidden layers drop weights with ``p_hidden``, a
            mask per example, Wan et al. 2013; input units are dropped as usual) or
            ``"concrete"`` (each layer's drop probability learned, starting at
            ``p_input`` / ``p_hidden``, with the paper's regulariser added to the loss:
            Gal, Hron & Kendall 2017). ``dropout_mode`` must be ``"inverted"`` for all
            but Bernoulli dropout and DropConnect.
        max_norm: max-norm bound c on each unit's incoming weights, or None.
        lr: initial learning rate (> 0), PyTorch-style SGD (see the module docstring).
            The default is 0.3; the runs it was chosen from are in
            ``docs/MEASUREMENTS.md``.
        lr_decay: per-epoch learning-rate factor in (0, 1]; the learning rate of every
            epoch up to ``epochs`` must stay > 0 (a tiny factor underflows it).
        lr_anneal_epochs: None (default), or the epoch budget N of a linear anneal: the
            learning rate of epoch e is further multiplied by ``1 - e / N``, so it falls
            in a straight line to ``lr * lr_decay**(N - 1) / N`` in the budget's last epoch.
            ``epochs`` must not exceed N. With ``lr_decay=1`` the schedule is purely
            linear ("budgeted training": decaying to zero at the end of the budget is
            the usual way to make the most of a fixed number of epochs). Independent of
            ``epochs`` so that a run stopped early and resumed follows the same schedule.
        momentum_start, momentum_end: momentum ramp endpoints in [0, 1).
        momentum_epochs: length of the momentum ramp in epochs (0: ``momentum_end``
            from the start).
        batch_size: minibatch size (> 0).
        epochs: total number of epochs (> 0); a resumed run stops at the same total.
        seed: the one seed of the run (>= 0).
        init: weight initialisation of the Linear layers, one of
            ``minigrad.nn.init.INITS``; ``"he"`` (He-normal) by default, the
            initialisation of the results in ``docs/RESULTS.md``.
        paper_momentum: use the papers' momentum formulation: the learning rate used in
            epoch e is ``lr * lr_decay**e * (1 - momentum(e))``, so the effective step
            stays about ``lr * lr_decay**e`` whatever the momentum (module docstring).
            Recorded in the history's ``lr`` field as the value actually used.
    """

    hidden: tuple = _field((1024, 1024), check_sizes, "model",
                           "hidden layer sizes (none: softmax regression)",
                           parse=int, nargs="*", metavar="SIZE")
    p_input: float = _field(0.2, _drop_probability, "model",
                            "drop probability of input units, in [0, 1)",
                            flag="--input-dropout", metavar="P")
    p_hidden: float = _field(0.5, _drop_probability, "model",
                             "drop probability of hidden units, in [0, 1)",
                             flag="--hidden-dropout", metavar="P")
    dropout_mode: str = _field("inverted", partial(check_choice, choices=MODES), "model",
                               "how kept units are scaled (minigrad.nn.Dropout)", choices=MODES)
    dropout_kind: str = _field("bernoulli", partial(check_choice, choices=DROPOUT_KINDS), "model",
                               "the dropout noise: bernoulli (the papers'), gaussian "
                               "(N(1, p/(1-p)), the same variance), alpha (alpha dropout, "
                               "SELU units), dropconnect (hidden layers drop weights) or "
                               "concrete (learned rates)",
                               choices=DROPOUT_KINDS)
    max_norm: float | None = _field(
        3.0, _or_none(_positive), "model",
        "max-norm bound on each unit's incoming weights (0 or 'none' disables)",
        parse=max_norm_from_text, metavar="C")
    lr: float = _field(0.3, _positive, "optimisation",
                       "initial learning rate (PyTorch-style SGD: lr multiplies the velocity)")
    lr_decay: float = _field(0.998, _decay_factor, "optimisation",
                             "learning-rate factor per epoch, in (0, 1]")
    lr_anneal_epochs: int | None = _field(
        None, _or_none(_positive_int), "optimisation",
        "also anneal the learning rate linearly to zero over N epochs (a fixed budget, "
        "usually N = --epochs; with --lr-decay 1 the schedule is purely linear)", metavar="N")
    momentum_start: float = _field(0.5, _momentum, "optimisation",
                                   "momentum of the first epoch, in [0, 1)")
    momentum_end: float = _field(0.99, _momentum, "optimisation",
                                 "momentum at the end of the ramp and after it, in [0, 1)")
    momentum_epochs: int = _field(500, _count, "optimisation",
                                  "epochs over which momentum ramps linearly from start to end",
                                  metavar="N")
    batch_size: int = _field(100, _positive_int, "optimisation", "minibatch size")
    epochs: int = _field(1, _positive_int, "optimisation",
                         "total epochs (a resumed run stops at the same total)")
    seed: int = _field(0, _count, "optimisation",
                       "the one seed of init, dropout masks and shuffling")
    init: str = _field("he", partial(check_choice, choices=INITS), "model",
                       f"weight initialisation of the Linear layers, one of {', '.join(INITS)} "
                       "(minigrad.nn.init: 'he' is He-normal, 'torch' PyTorch's nn.Linear "
                       "default)", choices=INITS, metavar="NAME")
    paper_momentum: bool = _field(False, check_bool, "optimisation",
                                  "papers' momentum formulation: use lr * (1 - momentum) each "
                                  "epoch, so the effective step stays ~lr while momentum ramps",
                                  action="store_true")

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = field.metadata["check"](field.name, getattr(self, field.name))
            object.__setattr__(self, field.name, value)
        if self.dropout_kind in ("gaussian", "alpha", "concrete") and \
                self.dropout_mode != "inverted":
            raise ValueError(f"dropout_mode must be 'inverted' with dropout_kind "
                             f"{self.dropout_kind!r} (its noise keeps the mean: nothing to "
                             f"scale at test time), got {self.dropout_mode!r}")
        if self.lr_anneal_epochs is not None and self.epochs > self.lr_anneal_epochs:
            raise ValueError(f"epochs ({self.epochs}) must not exceed lr_anneal_epochs "
                             f"({self.lr_anneal_epochs}): the learning rate would be <= 0")
        # The learning rate of epoch e is lr * lr_decay**e * (1 - e / lr_anneal_epochs)
        # [* (1 - momentum(e))]. With a rising momentum ramp every factor is
        # non-increasing in e; with a falling one every factor is log-concave (exponential,
        # linear, linear-then-constant). Either way its smallest value over the run is at
        # the first or the last epoch, so checking those two checks every epoch.
        for epoch in sorted({0, self.epochs - 1}):
            lr = self.learning_rate(epoch)
            if not lr > 0:
                factors = f"lr {self.lr:g} x lr_decay {self.lr_decay:g} ** {epoch}"
                if self.lr_anneal_epochs is not None:
                    factors += f" x (1 - {epoch}/{self.lr_anneal_epochs})"
                if self.paper_momentum:
                    factors += " x (1 - momentum)"
                raise ValueError(
                    f"the learning rate of epoch {epoch + 1} underflows to {lr:g} ({factors}):"
                    " every epoch's learning rate must be > 0; raise lr or lr_decay, or "
                    "train fewer epochs")

    def learning_rate(self, epoch):
        """The learning rate SGD uses in epoch ``epoch`` (from 0): the schedule of
        ``learning_rate_schedule``, times ``1 - momentum(epoch)`` with ``paper_momentum``."""
        lr = learning_rate_schedule(self)(epoch)
        if self.paper_momentum:  # v = m v + (1 - m) g in the papers' terms
            lr *= 1 - momentum_schedule(self)(epoch)
        return lr

    def to_dict(self):
        """A JSON-friendly dict (``hidden`` as a list)."""
        d = dataclasses.asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, d):
        """Inverse of ``to_dict``; unknown keys are a ValueError."""
        unknown = set(d) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"TrainConfig: unknown keys {sorted(unknown)}")
        return cls(**d)


def learning_rate_schedule(config):
    """``epoch -> learning rate`` of ``config`` (before the ``paper_momentum`` scaling)."""
    decay = ExponentialDecay(config.lr, config.lr_decay)
    if config.lr_anneal_epochs is None:
        return decay
    anneal = LinearRamp(1.0, 0.0, config.lr_anneal_epochs)
    return lambda epoch: decay(epoch) * anneal(epoch)


def momentum_schedule(config):
    """``epoch -> momentum`` of ``config``: the linear ramp, then held."""
    return LinearRamp(config.momentum_start, config.momentum_end, config.momentum_epochs)
