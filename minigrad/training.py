"""Train a dropout MLP with the recipe of Hinton et al. (2012) / Srivastava et al. (2014).

The recipe, per epoch ``e`` (counted from 0):

* learning rate and momentum from the schedules of the ``TrainConfig``
  (``minigrad.training_config``: ``lr * lr_decay**e``, optionally annealed linearly to
  zero over a fixed budget; momentum ramped linearly, then held);
* one pass over the shuffled training set in minibatches of ``batch_size``: forward in
  training mode (dropout on), mean cross-entropy, backward, ``SGD.step()``, which also
  applies max-norm to every weight matrix;
* test error in evaluation mode (dropout off), batched, under ``no_grad``.

What ``train`` refuses (bad data, divergence, a resume checkpoint that does not fit),
and when, is ``minigrad.training_guards``; the history records are described in
``minigrad.history``.

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
import math
import time

import numpy as np

from .autograd import no_grad
from .checkpoint import save_checkpoint
from .checks import check_int
from .data import iterate_minibatches
from .history import HISTORY_FIELDS, LOSS_CURVE_STEPS
from .models import dropout_mlp
from .nn import ConcreteDropout, concrete_dropout_regularization
from .ops import cross_entropy
from .optim import SGD
from .tensor import Tensor
from .training_config import TrainConfig, learning_rate_schedule, momentum_schedule
from .training_guards import (MAX_CLASSES, ResumeError, check_dataset, check_split,
                              nonfinite_arrays, nonfinite_outputs, resume_state)

__all__ = ["train", "evaluate", "build_model", "make_generators", "TrainConfig",
           "ResumeError", "HISTORY_FIELDS", "LOSS_CURVE_STEPS", "MAX_CLASSES",
           "learning_rate_schedule", "momentum_schedule"]


def make_generators(seed):
    """The run's three Generators ``(init, dropout, shuffle)``, independent streams of ``seed``."""
    return tuple(np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))


def build_model(config, in_features, out_features, init_rng, dropout_rng, n_train=None):
    """The dropout MLP described by ``config`` (see ``minigrad.models.dropout_mlp``);
    ``n_train``, the training-set size, sets concrete dropout's regulariser."""
    return dropout_mlp(in_features, config.hidden, out_features, p_input=config.p_input,
                       p_hidden=config.p_hidden, mode=config.dropout_mode,
                       max_norm=config.max_norm, init=config.init, rng=init_rng,
                       dropout_rng=dropout_rng, kind=config.dropout_kind, n_train=n_train)


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
    check_int("evaluate: batch_size", batch_size, minimum=1)
    params = model.parameters()
    x, y = check_split("", x, y, params[0].dtype if params else np.float32)
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
                    raise FloatingPointError(nonfinite_outputs(model, logits, start))
                wrong += int(np.count_nonzero(logits.argmax(axis=1) != y[start:start + batch_size]))
    finally:
        model.train(was_training)
    return wrong / len(x)


def train(config, dataset, *, checkpoint=None, resume=None, on_start=None, on_epoch=None,
          progress=None, metadata=None):
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
        on_start: optional callable receiving the model once it is built (and, with
            ``resume``, restored), before the first step: ``print`` shows the layers,
            with each hidden Linear -> ReLU -> Dropout fused into one ``FusedLinear``.
        on_epoch: optional callable receiving each new history record (after the
            epoch's checkpoint is written).
        progress: optional callable ``progress(batches, total, epoch) -> iterable``
            wrapping each epoch's minibatch iterator (e.g. a tqdm bar).
        metadata: optional JSON-friendly dict stored in checkpoints under ``"run"``.

    Returns:
        ``(model, history)``: history is a list with one dict per epoch, keys
        ``HISTORY_FIELDS``: ``epoch`` (1-based), ``lr`` and ``momentum`` used,
        ``train_loss`` (mean minibatch cross-entropy with dropout on, plus the
        regulariser with ``dropout_kind="concrete"``), ``test_error``
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
    x_train, y_train, x_test, y_test = check_dataset(dataset)
    n_classes = int(max(y_train.max(), y_test.max())) + 1

    init_rng, dropout_rng, shuffle_rng = make_generators(config.seed)
    model = build_model(config, x_train.shape[1], n_classes, init_rng, dropout_rng,
                        n_train=len(x_train))
    regularized = any(isinstance(m, ConcreteDropout) for m in model.modules())
    optimizer = SGD(model.parameters(), lr=config.lr, momentum=config.momentum_start)
    momentum = momentum_schedule(config)
    history, start_epoch = [], 0
    if resume is not None:
        start_epoch, history = resume_state(resume, config, model, optimizer,
                                            dropout_rng, shuffle_rng)
    if on_start is not None:
        on_start(model)

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
            if regularized:  # concrete dropout: the paper's KL term, every step
                loss = loss + concrete_dropout_regularization(model)
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
        bad = nonfinite_arrays(model, optimizer)  # before anything is scored or saved
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
