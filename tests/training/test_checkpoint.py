"""minigrad.checkpoint: round trips, atomic writes, and refusal of bad files."""
import os

import numpy as np
import pytest

from minigrad.checkpoint import load_checkpoint, read_checkpoint_metadata, save_checkpoint
from minigrad.models import dropout_mlp
from minigrad.ops import cross_entropy
from minigrad.optim import SGD
from minigrad.tensor import Tensor


def trained_pair(seed):
    """A small model and optimizer after two steps (so momentum buffers exist)."""
    rng = np.random.default_rng(seed)
    model = dropout_mlp(6, (5,), 3, rng=rng, dropout_rng=rng)
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = rng.normal(size=(8, 6)).astype(np.float32)
    y = rng.integers(0, 3, size=8)
    for _ in range(2):
        opt.zero_grad()
        cross_entropy(model(Tensor(x)), y).backward()
        opt.step()
    return model, opt


def test_round_trip_model_optimizer_and_metadata(tmp_path):
    model, opt = trained_pair(0)
    gen = np.random.default_rng(7)
    gen.normal(size=3)
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, model, opt, epoch=3, config={"lr": 0.1, "hidden": [5]},
                    rng=gen.bit_generator.state)

    other, other_opt = trained_pair(1)
    meta = load_checkpoint(path, other, other_opt)
    for (name, a), (_, b) in zip(model.named_parameters(), other.named_parameters()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)
    for a, b in zip(opt.velocity, other_opt.velocity):
        np.testing.assert_array_equal(a, b)
    assert (other_opt.lr, other_opt.momentum) == (opt.lr, opt.momentum)
    assert meta["epoch"] == 3 and meta["config"] == {"lr": 0.1, "hidden": [5]}
    restored = np.random.default_rng()
    restored.bit_generator.state = meta["rng"]
    np.testing.assert_array_equal(restored.normal(size=5), gen.normal(size=5))
    assert read_checkpoint_metadata(path) == meta


def test_file_layout_is_plain_npz_without_pickles(tmp_path):
    model, opt = trained_pair(0)
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, model, opt, epoch=1)
    with np.load(path, allow_pickle=False) as archive:
        keys = set(archive.files)
        assert {"format", "metadata", "model/1.weight", "model/1.bias",
                "optimizer/lr", "optimizer/velocity.0"} <= keys
        assert all(archive[k].dtype != object for k in keys)
        assert archive["metadata"].dtype.kind == "U"


def test_model_only_checkpoint(tmp_path):
    model, opt = trained_pair(0)
    path = tmp_path / "model.npz"
    save_checkpoint(path, model)
    other, other_opt = trained_pair(1)
    assert load_checkpoint(path, other) == {}
    with pytest.raises(ValueError, match="no optimizer state"):
        load_checkpoint(path, other, other_opt)


@pytest.mark.parametrize("target", ["savez", "replace"])
def test_crash_mid_write_keeps_previous_checkpoint(tmp_path, monkeypatch, target):
    model, opt = trained_pair(0)
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, model, opt, epoch=1)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        if target == "savez":  # write part of an archive, then die
            args[0].write(b"PK\x03\x04 partial")
        raise OSError("simulated crash")

    if target == "savez":
        monkeypatch.setattr(np, "savez", crash)
    else:
        monkeypatch.setattr(os, "replace", crash)
    model2, opt2 = trained_pair(1)
    with pytest.raises(OSError, match="simulated crash"):
        save_checkpoint(path, model2, opt2, epoch=2)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.npz"]  # no temp file left
    assert load_checkpoint(path, model2, opt2)["epoch"] == 1


def test_unserialisable_metadata_is_a_type_error_and_writes_nothing(tmp_path):
    model, _ = trained_pair(0)
    with pytest.raises(TypeError, match="JSON"):
        save_checkpoint(tmp_path / "c.npz", model, generator=np.random.default_rng(0))
    assert list(tmp_path.iterdir()) == []


def test_truncated_file_is_a_clear_value_error(tmp_path):
    model, opt = trained_pair(0)
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, model, opt, epoch=1)
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 10, 10):
        bad = tmp_path / f"cut{cut}.npz"
        bad.write_bytes(data[:cut])
        with pytest.raises(ValueError, match=str(bad.name)):
            load_checkpoint(bad, model, opt)


@pytest.mark.parametrize("content", [b"", b"garbage, not a checkpoint\n" * 10,
                                     b"\x80\x04\x95 pickle-looking bytes"])
def test_garbage_file_is_a_clear_value_error(tmp_path, content):
    model, _ = trained_pair(0)
    bad = tmp_path / "garbage.npz"
    bad.write_bytes(content)
    with pytest.raises(ValueError, match="garbage.npz.*not an .npz archive"):
        load_checkpoint(bad, model)


def test_npy_file_is_refused(tmp_path):
    model, _ = trained_pair(0)
    bad = tmp_path / "array.npy"
    np.save(bad, np.zeros(3))
    with pytest.raises(ValueError, match="array.npy"):
        load_checkpoint(bad, model)


def test_object_array_is_refused(tmp_path):
    model, _ = trained_pair(0)
    bad = tmp_path / "evil.npz"
    np.savez(bad, format=np.array("minigrad-checkpoint/1"), metadata=np.array("{}"),
             payload=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="evil.npz.*object array"):
        load_checkpoint(bad, model)


def test_other_npz_and_missing_keys_are_value_errors(tmp_path):
    model, opt = trained_pair(0)
    other = tmp_path / "other.npz"
    np.savez(other, x=np.zeros(3))
    with pytest.raises(ValueError, match="other.npz.*not a minigrad checkpoint"):
        load_checkpoint(other, model)

    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, model, opt, epoch=1)
    with np.load(path) as archive:
        arrays = {k: archive[k] for k in archive.files if k != "model/1.weight"}
    partial = tmp_path / "partial.npz"
    np.savez(partial, **arrays)
    fresh, fresh_opt = trained_pair(1)
    before = fresh.state_dict()
    with pytest.raises(ValueError, match="partial.npz.*1.weight"):
        load_checkpoint(partial, fresh, fresh_opt)
    for name, value in fresh.state_dict().items():  # nothing was changed
        np.testing.assert_array_equal(value, before[name])


def test_mismatched_architecture_is_a_value_error(tmp_path):
    model, _ = trained_pair(0)
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, model)
    with pytest.raises(ValueError, match="ckpt.npz.*shape"):
        load_checkpoint(path, dropout_mlp(6, (4,), 3, rng=0))


def test_missing_file(tmp_path):
    model, _ = trained_pair(0)
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        load_checkpoint(tmp_path / "nope.npz", model)
