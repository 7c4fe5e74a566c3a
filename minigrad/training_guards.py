"""What ``minigrad.training.train`` refuses, and when: nothing is computed wrong, and nothing
non-finite is saved.

* the dataset, once, when ``train`` is called (``check_dataset``): float32 images
  (float64 ones are converted to float32, the model's dtype, as
  ``sklearn.utils.check_array(dtype=...)`` would), every value finite (scikit-learn's
  "Input contains NaN" check), integer labels in ``0..MAX_CLASSES - 1``;
* the configuration, when the ``TrainConfig`` is made (``minigrad.training_config``):
  every field, and every epoch's learning rate must be > 0 (a tiny ``lr_decay`` can
  underflow it to 0 after a few epochs);
* divergence, while training: a non-finite loss at any step, checked before that step is
  taken (the loss is already a float, so this is free), and non-finite parameters or
  momentum buffers at the end of every epoch (``nonfinite_arrays``), before the test set
  is scored and before a checkpoint is written; its cost, one ``np.isfinite`` pass over
  the weights and buffers, is in ``docs/MEASUREMENTS.md``. Both raise
  ``FloatingPointError``; checking the weights once per epoch instead of after every step
  costs at most the rest of the epoch, because non-finite weights give a non-finite loss
  at the next step anyway (or, when a ReLU zeroes them, are caught at the epoch's end). A
  finite loss is never called divergence, however large (lr 100 trains on with a loss
  far above chance, log C): it is reported in the history and on the CLI's epoch line,
  as PyTorch, Keras' ``TerminateOnNaN`` and scikit-learn's MLP do (they too stop only on
  non-finite values), since no threshold on it fits every dataset and such a run is not
  computing anything wrong;
* a resume checkpoint, before the first step (``resume_state``): its metadata must be what
  ``train`` writes (``ResumeError``).
"""
import dataclasses

import numpy as np

from .checkpoint import load_checkpoint
from .history import HISTORY_FIELDS
from .training_config import TrainConfig

#: Labels are class indices and the output layer has ``max label + 1`` units (PyTorch's
#: ``cross_entropy`` convention, not scikit-learn's arbitrary labels), so a label decides
#: an allocation: one of 10**8 would be a 10**8-unit layer. 65,536 classes is three times
#: ImageNet-21k's 21,841; a label at or above it is refused as a mistake.
MAX_CLASSES = 2**16


class ResumeError(ValueError):
    """A resume checkpoint that cannot continue this run: damaged, not written by
    ``train``, of another configuration, or holding non-finite state. The message names
    the file."""


def check_dataset(dataset):
    """The checked ``(x_train, y_train, x_test, y_test)``, images as float32."""
    try:
        x_train, y_train, x_test, y_test = dataset
    except (TypeError, ValueError):
        raise TypeError("dataset must be a 4-tuple (x_train, y_train, x_test, y_test)") from None
    x_train, y_train = check_split("_train", x_train, y_train, np.float32)
    x_test, y_test = check_split("_test", x_test, y_test, np.float32)
    if x_train.shape[1] != x_test.shape[1]:
        raise ValueError(f"train and test features differ: {x_train.shape[1]} vs "
                         f"{x_test.shape[1]}")
    return x_train, y_train, x_test, y_test


def check_split(suffix, x, y, dtype):
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
    # about 1 MiB at a time: no N x F temporary (docs/MEASUREMENTS.md has the time saved)
    rows = max(1, (1 << 18) // x.shape[1])
    if not all(np.isfinite(converted[i:i + rows]).all() for i in range(0, len(x), rows)):
        bad = np.flatnonzero(~np.isfinite(converted).all(axis=1))
        what = ("values beyond the float32 range (about 3.4e38)"
                if np.isfinite(x[bad[0]]).all() else "NaN or infinity")
        raise ValueError(f"x{suffix} contains {what} in {len(bad)} sample"
                         f"{'' if len(bad) == 1 else 's'} (the first: sample {bad[0]}); "
                         "remove or impute them")
    return converted, y


def nonfinite_arrays(model, optimizer=None):
    """Names of the model's parameters (and SGD momentum buffers) holding NaN or infinity."""
    names = [name for name, p in model.named_parameters() if not np.isfinite(p.data).all()]
    if optimizer is not None:
        names += [f"velocity.{i}" for i, v in enumerate(optimizer.velocity)
                  if v is not None and not np.isfinite(v).all()]
    return names


def nonfinite_outputs(model, logits, start):
    """The message of ``evaluate``'s FloatingPointError, saying where the NaN came from."""
    bad = np.flatnonzero(~np.isfinite(logits).all(axis=1))
    names = nonfinite_arrays(model)
    cause = (f"the parameters {', '.join(names)} hold NaN or infinity" if names else
             "the parameters are finite, so an activation overflowed")
    return (f"evaluate: the model's outputs are NaN or infinite for {len(bad)} of samples "
            f"{start}..{start + len(logits) - 1} (the first: sample {start + bad[0]}), so "
            f"they have no predicted class: {cause}")


def resume_state(path, config, model, optimizer, dropout_rng, shuffle_rng):
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
    bad = nonfinite_arrays(model, optimizer)
    if bad:
        raise refuse(f"{', '.join(bad)} hold NaN or infinity")
    return epoch, history
