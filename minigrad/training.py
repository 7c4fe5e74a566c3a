"""Train a dropout MLP with the recipe of Hinton et al. (2012) / Srivastava et al. (2014).

The recipe, per epoch ``e`` (counted from 0):

* learning rate ``lr * lr_decay**e`` (``ExponentialDecay``), optionally times a linear
  anneal ``1 - e / lr_anneal_epochs`` that reaches zero when a fixed budget of epochs
  ends (``lr_anneal_epochs``; the decay the papers use never reaches zero, which suits
  their thousands of epochs but wastes a short budget);
* momentum ramped linearly from ``momentum_start`` to ``momentum_end`` over the first
  ``momentum_epochs`` epochs, then held (``LinearRamp``);
* one pass over the shuffled training set in minibatches of ``batch_size``: forward in
  training mode (dropout on), mean cross-entropy, backward, ``SGD.step()``, which also
  applies max-norm to every weight matrix;
* test error in evaluation mode (dropout off), batched, under ``no_grad``.

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

What is refused, and when (nothing is computed wrong and nothing non-finite is saved):

* the dataset, once, when ``train`` is called: float32 images (float64 ones are
  converted to float32, the model's dtype, as ``sklearn.utils.check_array(dtype=...)``
  would), every value finite (scikit-learn's "Input contains NaN" check), integer labels
  in ``0..MAX_CLASSES - 1``;
* the learning-rate schedule, when the ``TrainConfig`` is made: every epoch's learning
  rate must be > 0 (a tiny ``lr_decay`` can underflow it to 0 after a few epochs);
* divergence, while training: a non-finite loss at any step, checked before that step is
  taken (the loss is already a float, so this is free), and non-finite parameters or
  momentum buffers at the end of every epoch, before the test set is scored and before
  a checkpoint is written (one ``np.isfinite`` pass over the weights and buffers, about
  1 ms for 784-1024-1024-10). Both raise ``FloatingPointError``; checking the weights once per
  epoch instead of after every step costs at most the rest of the epoch, because
  non-finite weights give a non-finite loss at the next step anyway (or, when a ReLU
  zeroes them, are caught at the epoch's end). A finite loss is never called divergence,
  however large (lr 100 trains on with a loss far above chance, log C): it is reported
  in the history and on the CLI's epoch line, as PyTorch, Keras' ``TerminateOnNaN`` and
  scikit-learn's MLP do (they too stop only on non-finite values), since no threshold on
  it fits every dataset and such a run is not computing anything wrong;
* a resume checkpoint, before the first step: its metadata must be what ``train`` writes
  (``ResumeError``).

Reproducibility: one integer ``seed`` determines everything. It is split with
``numpy.random.SeedSequence(seed).spawn(3)`` into three independent Generators: weight
initialisation, dropout masks (shared by all Dropout layers) and minibatch shuffling.
A checkpoint written at the end of an epoch stores the weights, the optimizer's
momentum buffers and the states of the dropout and shuffling Generators, so a run
resumed from it continues bit for bit as if it had never stopped.

Example::

    from minigrad.data import load_mnist
    from minigrad.training import TrainConfig, train
    model, history = train(TrainConfig(hidden=(1024, 1024), epochs=1, seed=0), load_mnist())
    history[-1]["test_error"]     # a fraction, e.g. 0.03
"""
import dataclasses
import math
import time

import numpy as np

from .autograd import no_grad
from .checkpoint import load_checkpoint, save_checkpoint
from .models import dropout_mlp
from .ops import cross_entropy
from .optim import SGD, ExponentialDecay, LinearRamp
from .data import iterate_minibatches
from .nn.dropout import MODES
from .nn.init import INITS
from .tensor import Tensor

#: the scalar keys of each per-epoch record returned by ``train`` (the CSV's columns)
HISTORY_FIELDS = ("epoch", "lr", "momentum", "train_loss", "test_error", "seconds",
                  "samples_per_s")
#: minibatch steps averaged into one point of a record's ``train_loss_curve``
LOSS_CURVE_STEPS = 10
#: Labels are class indices and the output layer has ``max label + 1`` units (PyTorch's
#: ``cross_entropy`` convention, not scikit-learn's arbitrary labels), so a label decides
#: an allocation: one of 10**8 would be a 10**8-unit layer. 65,536 classes is three times
#: ImageNet-21k's 21,841; a label at or above it is refused as a mistake.
MAX_CLASSES = 2**16


class ResumeError(ValueError):
    """A resume checkpoint that cannot continue this run: damaged, not written by
    ``train``, of another configuration, or holding non-finite state. The message names
    the file."""


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run's result (the paper-style defaults).

    Attributes:
        hidden: hidden layer sizes (784-1024-1024-10 for MNIST by default).
        p_input, p_hidden: drop probabilities in [0, 1) (0 omits the Dropout layer).
        dropout_mode: ``"inverted"`` or ``"weight_scaling"`` (``minigrad.nn.Dropout``).
        max_norm: max-norm bound c on each unit's incoming weights, or None.
        lr: initial learning rate (> 0), PyTorch-style SGD (see the module docstring).
            The default 0.3 was measured on MNIST, 784-1024-1024-10, one epoch from
            seed 0: test error 5.0% at lr 0.1, 4.0% at 0.3, 4.4% at 0.5, 31% at 1.0.
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
            initialisation the recorded results were measured with.
        paper_momentum: use the papers' momentum formulation: the learning rate used in
            epoch e is ``lr * lr_decay**e * (1 - momentum(e))``, so the effective step
            stays about ``lr * lr_decay**e`` whatever the momentum (module docstring).
            Recorded in the history's ``lr`` field as the value actually used.
    """

    hidden: tuple = (1024, 1024)
    p_input: float = 0.2
    p_hidden: float = 0.5
    dropout_mode: str = "inverted"
    max_norm: float | None = 3.0
    lr: float = 0.3
    lr_decay: float = 0.998
    lr_anneal_epochs: int | None = None
    momentum_start: float = 0.5
    momentum_end: float = 0.99
    momentum_epochs: int = 500
    batch_size: int = 100
    epochs: int = 1
    seed: int = 0
    init: str = "he"
    paper_momentum: bool = False

    def __post_init__(self):
        object.__setattr__(self, "hidden", tuple(self.hidden))
        for i, h in enumerate(self.hidden):
            _check_int(f"hidden[{i}]", h, minimum=1)
        for name in ("p_input", "p_hidden"):
            _check_real(name, getattr(self, name), 0, 1, include_high=False)
        if self.dropout_mode not in MODES:
            raise ValueError(f"dropout_mode must be one of {MODES}, got {self.dropout_mode!r}")
        if self.max_norm is not None:
            _check_real("max_norm", self.max_norm, 0, math.inf, include_low=False,
                        include_high=False)
        _check_real("lr", self.lr, 0, math.inf, include_low=False, include_high=False)
        _check_real("lr_decay", self.lr_decay, 0, 1, include_low=False)
        if self.lr_anneal_epochs is not None:
            _check_int("lr_anneal_epochs", self.lr_anneal_epochs, minimum=1)
        for name in ("momentum_start", "momentum_end"):
            _check_real(name, getattr(self, name), 0, 1, include_high=False)
        _check_int("momentum_epochs", self.momentum_epochs, minimum=0)
        _check_int("batch_size", self.batch_size, minimum=1)
        _check_int("epochs", self.epochs, minimum=1)
        if self.lr_anneal_epochs is not None and self.epochs > self.lr_anneal_epochs:
            raise ValueError(f"epochs ({self.epochs}) must not exceed lr_anneal_epochs "
                             f"({self.lr_anneal_epochs}): the learning rate would be <= 0")
        _check_int("seed", self.seed, minimum=0)
        if self.init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {self.init!r}")
        if not isinstance(self.paper_momentum, (bool, np.bool_)):
            raise TypeError("paper_momentum must be a bool, got "
                            f"{type(self.paper_momentum).__name__}")
        object.__setattr__(self, "paper_momentum", bool(self.paper_momentum))
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


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


def _check_real(name, value, low, high, include_low=True, include_high=True):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond the float range compares as +-inf
        number = math.inf if value > 0 else -math.inf
    ok = (number >= low if include_low else number > low) and (
        number <= high if include_high else number < high)
    if not ok:  # also rejects NaN
        interval = ("[" if include_low else "(") + f"{low}, {high}" + ("]" if include_high else ")")
        raise ValueError(f"{name} must be in {interval}, got {value}")


def make_generators(seed):
    """The run's three Generators ``(init, dropout, shuffle)``, independent streams of ``seed``."""
    return tuple(np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))


def build_model(config, in_features, out_features, init_rng, dropout_rng):
    """The dropout MLP described by ``config`` (see ``minigrad.models.dropout_mlp``)."""
    return dropout_mlp(in_features, config.hidden, out_features, p_input=config.p_input,
                       p_hidden=config.p_hidden, mode=config.dropout_mode,
                       max_norm=config.max_norm, init=config.init, rng=init_rng,
                       dropout_rng=dropout_rng)


def evaluate(model, x, y, batch_size=1000):
    """Classification error (a fraction in [0, 1]) of ``model`` on ``(x, y)``.

    Runs in evaluation mode (dropout off: the test-time network of the paper) under
    ``no_grad``, ``batch_size`` samples at a time; restores the model's previous mode.
    ``x`` and ``y`` are checked as ``train`` checks a dataset (finite float features,
    integer labels; float64 is converted to the model's dtype).

    Raises:
        FloatingPointError: the model's outputs are NaN or infinite for some sample (its
            parameters hold NaN or infinity, or its activations overflowed). Such a
            sample has no predicted class; counting it as class 0, as ``argmax`` would,
            reports an error rate for a model that computes nothing.
    """
    _check_int("batch_size", batch_size, minimum=1)
    params = model.parameters()
    x, y = _check_split("", x, y, params[0].dtype if params else np.float32)
    return _error_rate(model, x, y, batch_size)


def _error_rate(model, x, y, batch_size=1000):
    """``evaluate`` on inputs already checked."""
    was_training = model.training
    model.eval()
    wrong = 0
    try:
        with no_grad():
            for start in range(0, len(x), batch_size):
                logits = model(Tensor(x[start:start + batch_size])).data
                if not np.isfinite(logits).all():
                    raise FloatingPointError(_nonfinite_outputs(model, logits, start))
                wrong += int(np.count_nonzero(logits.argmax(axis=1) != y[start:start + batch_size]))
    finally:
        model.train(was_training)
    return wrong / len(x)


def _nonfinite_outputs(model, logits, start):
    """The message of ``evaluate``'s FloatingPointError, saying where the NaN came from."""
    bad = np.flatnonzero(~np.isfinite(logits).all(axis=1))
    names = _nonfinite_arrays(model)
    cause = (f"the parameters {', '.join(names)} hold NaN or infinity" if names else
             "the parameters are finite, so an activation overflowed")
    return (f"evaluate: the model's outputs are NaN or infinite for {len(bad)} of samples "
            f"{start}..{start + len(logits) - 1} (the first: sample {start + bad[0]}), so "
            f"they have no predicted class: {cause}")


def _nonfinite_arrays(model, optimizer=None):
    """Names of the model's parameters (and SGD momentum buffers) holding NaN or infinity."""
    names = [name for name, p in model.named_parameters() if not np.isfinite(p.data).all()]
    if optimizer is not None:
        names += [f"velocity.{i}" for i, v in enumerate(optimizer.velocity)
                  if v is not None and not np.isfinite(v).all()]
    return names


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


def train(config, dataset, *, checkpoint=None, resume=None, on_epoch=None, progress=None,
          metadata=None):
    """Train the dropout MLP of ``config`` on ``dataset``; return ``(model, history)``.

    Args:
        config: a ``TrainConfig``.
        dataset: ``(x_train, y_train, x_test, y_test)`` (e.g. ``load_mnist()``): float32
            or float64 arrays (N, features) of finite values (float64 is converted to
            float32) and integer labels (N,); classes are ``0..max label``, at most
            ``MAX_CLASSES`` of them.
        checkpoint: optional path; the state is saved there (atomically) at the end of
            every epoch, once its parameters have been checked to be finite.
        resume: optional path of a checkpoint written by ``train``; training continues
            from its epoch up to ``config.epochs``. Its config must equal ``config``
            except for ``epochs``. The returned history includes the earlier epochs.
        on_epoch: optional callable receiving each new history record (after the
            epoch's checkpoint is written).
        progress: optional callable ``progress(batches, total, epoch) -> iterable``
            wrapping each epoch's minibatch iterator (e.g. a tqdm bar).
        metadata: optional JSON-friendly dict stored in checkpoints under ``"run"``.

    Returns:
        ``(model, history)``: history is a list with one dict per epoch, keys
        ``HISTORY_FIELDS``: ``epoch`` (1-based), ``lr`` and ``momentum`` used,
        ``train_loss`` (mean minibatch cross-entropy with dropout on), ``test_error``
        (fraction), ``seconds`` (wall time of the epoch including evaluation) and
        ``samples_per_s`` (training samples per second, evaluation excluded); then
        ``train_loss_curve``, the loss within the epoch: the mean minibatch loss of each
        run of ``LOSS_CURVE_STEPS`` consecutive steps (the last run may be shorter).

    Raises:
        FloatingPointError: training diverged: a step's loss, or at the end of an epoch
            a parameter or momentum buffer, is NaN or infinite (lower ``lr``). Nothing
            of that epoch is checkpointed; earlier checkpoints stay as they were.
        TypeError, ValueError: bad data (a dtype, shape, label or non-finite value).
        ResumeError: a resume checkpoint that does not fit ``config`` (a ValueError).
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    x_train, y_train, x_test, y_test = _check_dataset(dataset)
    n_classes = int(max(y_train.max(), y_test.max())) + 1

    init_rng, dropout_rng, shuffle_rng = make_generators(config.seed)
    model = build_model(config, x_train.shape[1], n_classes, init_rng, dropout_rng)
    optimizer = SGD(model.parameters(), lr=config.lr, momentum=config.momentum_start)
    momentum = momentum_schedule(config)
    history, start_epoch = [], 0
    if resume is not None:
        start_epoch, history = _resume(resume, config, model, optimizer,
                                       dropout_rng, shuffle_rng)

    for epoch in range(start_epoch, config.epochs):
        started = time.perf_counter()
        optimizer.momentum = momentum(epoch)
        optimizer.lr = config.learning_rate(epoch)
        model.train()
        batches = iterate_minibatches(x_train, y_train, config.batch_size, rng=shuffle_rng)
        if progress is not None:
            batches = progress(batches, -(-len(x_train) // config.batch_size), epoch + 1)
        step_losses, loss_sum = [], 0.0
        for step, (xb, yb) in enumerate(batches, 1):
            loss = cross_entropy(model(Tensor(xb)), yb)
            step_loss = float(loss.data)
            if not math.isfinite(step_loss):  # the inputs are finite: the weights went bad
                raise FloatingPointError(_diverged(epoch, optimizer,
                                                   f"the loss of step {step} is {step_loss}"))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step_losses.append(step_loss)
            loss_sum += step_loss * len(yb)
        train_seconds = time.perf_counter() - started
        bad = _nonfinite_arrays(model, optimizer)  # before anything is scored or saved
        if bad:
            raise FloatingPointError(_diverged(
                epoch, optimizer, f"after its last step {', '.join(bad)} hold NaN or infinity"))
        test_error = _error_rate(model, x_test, y_test)
        record = {"epoch": epoch + 1, "lr": optimizer.lr, "momentum": optimizer.momentum,
                  "train_loss": loss_sum / len(x_train), "test_error": test_error,
                  "seconds": time.perf_counter() - started,
                  "samples_per_s": len(x_train) / train_seconds,
                  "train_loss_curve": _group_means(step_losses, LOSS_CURVE_STEPS)}
        history.append(record)
        if checkpoint is not None:
            save_checkpoint(checkpoint, model, optimizer, epoch=epoch + 1,
                            config=config.to_dict(), history=history,
                            generators={"dropout": dropout_rng.bit_generator.state,
                                        "shuffle": shuffle_rng.bit_generator.state},
                            run=metadata or {})
        if on_epoch is not None:
            on_epoch(record)
    return model, history


def _diverged(epoch, optimizer, what):
    return (f"training diverged in epoch {epoch + 1}: {what} (lr {optimizer.lr:g}); "
            "lower the lr")


def _group_means(values, group):
    """Means of consecutive runs of ``group`` values (the last run may be shorter)."""
    return [sum(values[i:i + group]) / len(values[i:i + group])
            for i in range(0, len(values), group)]


def _check_dataset(dataset):
    """The checked ``(x_train, y_train, x_test, y_test)``, images as float32."""
    try:
        x_train, y_train, x_test, y_test = dataset
    except (TypeError, ValueError):
        raise TypeError("dataset must be a 4-tuple (x_train, y_train, x_test, y_test)") from None
    x_train, y_train = _check_split("_train", x_train, y_train, np.float32)
    x_test, y_test = _check_split("_test", x_test, y_test, np.float32)
    if x_train.shape[1] != x_test.shape[1]:
        raise ValueError(f"train and test features differ: {x_train.shape[1]} vs "
                         f"{x_test.shape[1]}")
    return x_train, y_train, x_test, y_test


def _check_split(suffix, x, y, dtype):
    """``(x as dtype, y)`` after checking features ``x`` (N, F) and labels ``y`` (N,).

    ``suffix`` names the split in messages (``"_train"``: ``x_train``, ``y_train``).
    """
    x, y = np.asarray(x), np.asarray(y)
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"x{suffix} must be a float32 or float64 array, got {x.dtype} (scale "
                        "integer images to [0, 1] first, e.g. x / 255)")
    if x.ndim != 2 or x.shape[1] == 0:
        raise ValueError(f"x{suffix} must have shape (N, features) with features >= 1, got "
                         f"{x.shape}")
    if len(x) == 0:
        raise ValueError(f"x{suffix} is empty (N = 0)")
    if y.dtype.kind not in "iu":
        raise TypeError(f"y{suffix} must be integer class labels, got {y.dtype}")
    if y.shape != (len(x),):
        raise ValueError(f"y{suffix} must have shape ({len(x)},) like x{suffix}, got {y.shape}")
    lowest, highest = y.min(), y.max()
    if lowest < 0 or highest >= MAX_CLASSES:
        raise ValueError(
            f"y{suffix} has the label {lowest if lowest < 0 else highest}: labels are class "
            "indices 0..C-1 and the output layer gets max label + 1 units, at most "
            f"MAX_CLASSES = {MAX_CLASSES} (encode other labels as indices, e.g. "
            "np.unique(y, return_inverse=True)[1])")
    with np.errstate(over="ignore"):  # float64 beyond float32's range: reported below
        converted = x.astype(dtype, copy=False)
    # about 1 MiB at a time: no N x F temporary, and twice as fast (20 ms for MNIST)
    rows = max(1, (1 << 18) // x.shape[1])
    if not all(np.isfinite(converted[i:i + rows]).all() for i in range(0, len(x), rows)):
        bad = np.flatnonzero(~np.isfinite(converted).all(axis=1))
        what = ("values beyond the float32 range (about 3.4e38)"
                if np.isfinite(x[bad[0]]).all() else "NaN or infinity")
        raise ValueError(f"x{suffix} contains {what} in {len(bad)} sample"
                         f"{'' if len(bad) == 1 else 's'} (the first: sample {bad[0]}); "
                         "remove or impute them")
    return converted, y


def _resume(path, config, model, optimizer, dropout_rng, shuffle_rng):
    """Load ``path`` into the run's objects; return ``(epochs done, history so far)``.

    Everything ``train`` writes is checked, so a damaged or crafted file is a
    ``ResumeError`` before the first step: the configuration, an int epoch in
    ``[0, config.epochs]`` with one history record per finished epoch, numbered 1.., the
    two Generator states, and finite weights and momentum buffers.
    """
    def refuse(why):
        return ResumeError(f"cannot resume from {str(path)!r}: {why}")

    try:
        meta = load_checkpoint(path, model, optimizer)
    except ValueError as exc:
        raise refuse(exc) from None
    try:
        saved = TrainConfig.from_dict(meta["config"])
        epoch, history = meta["epoch"], list(meta["history"])
        dropout_rng.bit_generator.state = meta["generators"]["dropout"]
        shuffle_rng.bit_generator.state = meta["generators"]["shuffle"]
    except (KeyError, TypeError, ValueError) as exc:
        raise refuse(f"it was not written by minigrad.training.train (bad metadata: "
                     f"{exc!r})") from None
    diffs = [f"{f.name}: checkpoint {getattr(saved, f.name)!r}, now {getattr(config, f.name)!r}"
             for f in dataclasses.fields(TrainConfig)
             if f.name != "epochs" and getattr(saved, f.name) != getattr(config, f.name)]
    if diffs:
        raise refuse("the configuration differs (" + "; ".join(diffs) + ")")
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise refuse(f"its epoch must be an int >= 0, got {epoch!r}")
    if epoch > config.epochs:
        raise refuse(f"it already trained {epoch} epochs, more than epochs={config.epochs}")
    if len(history) != epoch or any(not isinstance(r, dict) or r.get("epoch") != i
                                    or not set(HISTORY_FIELDS) <= set(r)
                                    for i, r in enumerate(history, 1)):
        raise refuse(f"its history must hold one record (with the keys {HISTORY_FIELDS}) "
                     f"for each of epochs 1..{epoch}, in order")
    bad = _nonfinite_arrays(model, optimizer)
    if bad:
        raise refuse(f"{', '.join(bad)} hold NaN or infinity")
    return epoch, history
