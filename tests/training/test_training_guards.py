"""minigrad.training refuses clearly and computes nothing wrong.

Divergence is caught at the step whose loss is not finite and, for the weights, at the
end of every epoch, before anything is scored or checkpointed; bad data is refused when
``train`` or ``evaluate`` is called; the learning-rate schedule when the config is made;
a crafted resume checkpoint before the first step.
"""
import json
import types
import zipfile

import numpy as np
import pytest
from hypothesis import given, strategies as st

from minigrad.checkpoint import read_checkpoint_metadata
from minigrad.models import dropout_mlp
from minigrad.training import (MAX_CLASSES, ResumeError, TrainConfig, evaluate,
                               learning_rate_schedule, momentum_schedule, train)
from test_training import SMALL, synthetic, weights


def with_x(data, which, x):
    """``data`` with x_train (``which`` = 0) or x_test (2) replaced."""
    data = list(data)
    data[which] = x
    return tuple(data)


# ------------------------------------------------------------------ divergence
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # overflow is the point
def test_weights_made_non_finite_by_the_last_step_are_never_checkpointed(tmp_path):
    """One step per epoch: its loss was finite (computed before the step), the weights
    after it are not. The old guard looked at the loss only and saved them."""
    data = synthetic(n_train=32)
    path = tmp_path / "run.npz"
    train(TrainConfig(epochs=1, **SMALL), data, checkpoint=path)
    before = path.read_bytes()
    config = TrainConfig(epochs=1, **{**SMALL, "lr": 1e300})
    with pytest.raises(FloatingPointError, match=r"epoch 1: after its last step .*weight.* "
                                                 r"hold NaN or infinity \(lr 1e\+300\)"):
        train(config, data, checkpoint=path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["run.npz"]  # no temporary file left


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_non_finite_step_loss_stops_training_at_that_step():
    config = TrainConfig(epochs=1, hidden=(16,), max_norm=None, lr=1e30, batch_size=16)
    seen = []
    with pytest.raises(FloatingPointError, match=r"diverged in epoch 1: the loss of step 2 "
                                                 r"is (nan|inf)"):
        train(config, synthetic(), progress=lambda batches, total, epoch: (
            seen.append(b) or b for b in batches))
    assert len(seen) == 2  # nothing after the step whose loss is not finite


def test_a_finite_but_large_loss_is_not_divergence():
    """Documented choice: only non-finite values are divergence (PyTorch, Keras'
    TerminateOnNaN, scikit-learn's MLP); a loss far above chance is reported."""
    _, history = train(TrainConfig(epochs=2, **{**SMALL, "lr": 100.0}), synthetic())
    assert all(np.isfinite(r["train_loss"]) for r in history)
    assert max(r["train_loss"] for r in history) > 3 * np.log(3)  # far worse than chance


# ------------------------------------------------------------------ data
@pytest.mark.parametrize("which, value, words", [
    (0, np.nan, "x_train contains NaN or infinity in 1 sample .*sample 7"),
    (0, np.inf, "x_train contains NaN or infinity"),
    (2, np.nan, "x_test contains NaN or infinity"),
    (2, -np.inf, "x_test contains NaN or infinity"),
], ids=["train-nan", "train-inf", "test-nan", "test-minus-inf"])
def test_non_finite_images_are_refused_before_training(which, value, words):
    data = synthetic()
    x = data[which].copy()
    x[7, 3] = value
    with pytest.raises(ValueError, match=words):
        train(TrainConfig(epochs=1, **SMALL), with_x(data, which, x))


def test_float64_images_train_exactly_like_their_float32_copy():
    data = synthetic()
    as64 = with_x(with_x(data, 0, data[0].astype(np.float64)), 2, data[2].astype(np.float64))
    m64, h64 = train(TrainConfig(epochs=2, **SMALL), as64)
    m32, h32 = train(TrainConfig(epochs=2, **SMALL), data)
    for a, b in zip(weights(m64), weights(m32)):
        assert a.dtype == np.float32
        np.testing.assert_array_equal(a, b)
    assert [r["train_loss"] for r in h64] == [r["train_loss"] for r in h32]


def test_float64_beyond_the_float32_range_is_refused_by_name():
    data = synthetic()
    x = data[0].astype(np.float64)
    x[3, 0] = 1e300
    with pytest.raises(ValueError, match="x_train contains values beyond the float32 range"):
        train(TrainConfig(epochs=1, **SMALL), with_x(data, 0, x))


@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.float16, np.bool_])
def test_images_of_another_dtype_are_a_type_error(dtype):
    data = synthetic()
    with pytest.raises(TypeError, match=f"x_train must be a float32 or float64 array, got "
                                        f"{np.dtype(dtype)}"):
        train(TrainConfig(epochs=1, **SMALL), with_x(data, 0, data[0].astype(dtype)))


@pytest.mark.parametrize("label", [MAX_CLASSES, 10**8, np.iinfo(np.int64).max])
def test_a_label_that_would_make_a_huge_output_layer_is_refused(label):
    x, y, xt, yt = synthetic()
    y = y.copy()
    y[0] = label
    with pytest.raises(ValueError, match=f"y_train has the label {label}: .*MAX_CLASSES = "
                                         f"{MAX_CLASSES}"):
        train(TrainConfig(epochs=1, **SMALL), (x, y, xt, yt))


def test_the_largest_allowed_label_gets_its_output_unit():
    x, y, xt, yt = synthetic(n_train=32, n_test=8, features=4)
    y = y.copy()
    y[0] = MAX_CLASSES - 1
    model, _ = train(TrainConfig(epochs=1, hidden=(2,), batch_size=32), (x, y, xt, yt))
    assert model[-1].out_features == MAX_CLASSES


# ------------------------------------------------------------------ evaluate
def small_model():
    return dropout_mlp(12, (16,), 3, rng=0, dropout_rng=1)


def test_evaluate_refuses_to_score_nan_outputs_as_class_0():
    x, y, _, _ = synthetic()
    model = small_model()
    model[1].weight.data[0, 0] = np.nan  # Dropout, Linear, ...
    with pytest.raises(FloatingPointError, match=r"outputs are NaN or infinite for 240 of "
                                                 r"samples 0\.\.239 .*1\.weight hold NaN"):
        evaluate(model, x, y)
    assert model.training  # the previous mode is restored


def test_evaluate_names_overflow_when_the_parameters_are_finite():
    x, y, _, _ = synthetic()
    model = small_model()
    model[-1].weight.data[:] = 1e38
    with pytest.raises(FloatingPointError, match="parameters are finite, so an activation "
                                                 "overflowed"):
        evaluate(model, x * 1e10, y)


@pytest.mark.parametrize("x, y, exc, words", [
    (np.full((4, 12), np.nan, np.float32), np.zeros(4, int), ValueError, "x contains NaN"),
    (np.zeros((4, 12), np.int64), np.zeros(4, int), TypeError, "x must be a float32"),
    (np.zeros((4, 12), np.float32), np.zeros(3, int), ValueError, r"y must have shape \(4,\)"),
    (np.zeros((4, 12), np.float32), np.zeros(4), TypeError, "y must be integer"),
], ids=["nan", "int-images", "label-count", "float-labels"])
def test_evaluate_checks_its_inputs_like_train(x, y, exc, words):
    with pytest.raises(exc, match=words):
        evaluate(small_model(), x, y)


def test_evaluate_accepts_float64_images():
    x, y, _, _ = synthetic()
    model = small_model()
    assert evaluate(model, x.astype(np.float64), y) == evaluate(model, x, y)


# ------------------------------------------------------------------ the lr schedule
@pytest.mark.parametrize("kwargs, epoch", [
    (dict(lr_decay=1e-300, epochs=3), 3),
    (dict(lr=5e-324, paper_momentum=True, momentum_start=0.99, momentum_end=0.99), 1),
    (dict(lr=1e-300, lr_decay=1e-30, epochs=2, lr_anneal_epochs=2), 2),
], ids=["decay", "paper-momentum", "anneal"])
def test_a_learning_rate_that_underflows_to_zero_is_refused_up_front(kwargs, epoch):
    with pytest.raises(ValueError, match=f"learning rate of epoch {epoch} underflows to 0"):
        TrainConfig(**kwargs)


SCHEDULES = st.fixed_dictionaries({
    "lr": st.floats(1e-323, 1.0), "lr_decay": st.floats(1e-300, 1.0),
    "epochs": st.integers(1, 40), "anneal_extra": st.none() | st.integers(0, 5),
    "momentum_start": st.floats(0, 0.999), "momentum_end": st.floats(0, 0.999),
    "momentum_epochs": st.integers(0, 50), "paper_momentum": st.booleans()})


@given(SCHEDULES)
def test_the_schedule_check_agrees_with_checking_every_epoch(s):
    """Oracle: the learning rate of every epoch, computed one by one."""
    fields = dict(s, lr_anneal_epochs=None if s["anneal_extra"] is None
                  else s["epochs"] + s["anneal_extra"])
    del fields["anneal_extra"]
    plain = types.SimpleNamespace(**fields)
    lr = learning_rate_schedule(plain)
    momentum = momentum_schedule(plain)
    every_epoch_positive = all(
        lr(e) * (1 - momentum(e) if plain.paper_momentum else 1) > 0
        for e in range(plain.epochs))
    try:
        TrainConfig(**fields)
        accepted = True
    except ValueError as exc:
        assert "underflows" in str(exc)
        accepted = False
    assert accepted == every_epoch_positive


# ------------------------------------------------------------------ crafted resume files
def rewrite_checkpoint(src, dst, metadata=None, arrays=None):
    """Copy the checkpoint ``src`` to ``dst`` with changed metadata and/or arrays."""
    with np.load(src, allow_pickle=False) as z:
        members = {k: z[k] for k in z.files}
    if metadata is not None:
        members["metadata"] = np.array(json.dumps(metadata))
    members.update(arrays or {})
    np.savez(dst, **members)
    assert zipfile.is_zipfile(dst)


@pytest.fixture
def two_epochs(tmp_path):
    path = tmp_path / "run.npz"
    train(TrainConfig(epochs=2, **SMALL), synthetic(), checkpoint=path)
    return path, read_checkpoint_metadata(path)


@pytest.mark.parametrize("change, words", [
    (lambda m: m.update(epoch=-3), "epoch must be an int >= 0, got -3"),
    (lambda m: m.update(epoch=1.5), "epoch must be an int >= 0, got 1.5"),
    (lambda m: m.update(epoch=True), "epoch must be an int >= 0, got True"),
    (lambda m: m.update(epoch="2"), "epoch must be an int >= 0, got '2'"),
    (lambda m: m.update(epoch=1), "one record .* for each of epochs 1..1"),
    (lambda m: m["history"].pop(), "for each of epochs 1..2"),
    (lambda m: m["history"].reverse(), "in order"),
    (lambda m: m["history"][0].pop("train_loss"), "with the keys"),
    (lambda m: m.update(history=[1, 2]), "one record"),
    (lambda m: m.update(history=7), "bad metadata"),
    (lambda m: m["generators"].update(dropout={"bit_generator": "PCG64"}), "bad metadata"),
    (lambda m: m["generators"].update(shuffle=[1, 2]), "bad metadata"),
    (lambda m: m.pop("generators"), "bad metadata: KeyError"),
    (lambda m: m.update(epoch=9), "already trained 9 epochs, more than epochs=4"),
], ids=["negative-epoch", "float-epoch", "bool-epoch", "str-epoch", "epoch-vs-history",
        "short-history", "misnumbered-history", "record-without-key", "non-dict-records",
        "history-not-a-list", "bad-dropout-state", "bad-shuffle-state", "no-generators",
        "epoch-beyond-config"])
def test_crafted_resume_metadata_is_refused(two_epochs, tmp_path, change, words):
    path, meta = two_epochs
    change(meta)
    crafted = tmp_path / "crafted.npz"
    rewrite_checkpoint(path, crafted, metadata=meta)
    with pytest.raises(ResumeError, match=words) as info:
        train(TrainConfig(epochs=4, **SMALL), synthetic(), resume=crafted)
    assert "crafted.npz" in str(info.value) and isinstance(info.value, ValueError)


@pytest.mark.parametrize("key", ["model/1.weight", "optimizer/velocity.0"])
def test_a_checkpoint_with_non_finite_state_is_refused(two_epochs, tmp_path, key):
    path, _ = two_epochs
    with np.load(path) as z:
        bad = z[key].copy()
    bad.flat[5] = np.nan
    crafted = tmp_path / "crafted.npz"
    rewrite_checkpoint(path, crafted, arrays={key: bad})
    name = "velocity.0" if key.startswith("optimizer") else "1.weight"
    with pytest.raises(ResumeError, match=f"{name} hold NaN or infinity"):
        train(TrainConfig(epochs=3, **SMALL), synthetic(), resume=crafted)


def test_a_damaged_resume_file_is_a_resume_error(tmp_path):
    path = tmp_path / "run.npz"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ResumeError, match="cannot resume from .*run.npz"):
        train(TrainConfig(epochs=1, **SMALL), synthetic(), resume=path)


def test_resuming_a_finished_run_returns_its_history(two_epochs):
    """epoch == epochs is legitimate: nothing to train, the checked model comes back."""
    path, meta = two_epochs
    model, history = train(TrainConfig(epochs=2, **SMALL), synthetic(), resume=path)
    assert [r["epoch"] for r in history] == [1, 2] and history == meta["history"]
