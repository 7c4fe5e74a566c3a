"""Checkpoints under damage: crashes at every stage of a save, and corrupted files.

Complements test_checkpoint.py (round trips, truncation, garbage, pickles, a crash in
``np.savez`` or ``os.replace``):

* a save interrupted at any point (after 0, 1, 64, half or all but one of the archive's
  bytes, in ``flush``, in ``fsync``, in ``os.replace``; by an exception or by Ctrl-C)
  leaves the previous checkpoint byte for byte, loadable, and no temporary file;
* a process killed outright (``os._exit``) just before the rename leaves the previous
  checkpoint intact too; only its temporary file stays behind (nothing can remove it),
  named ``.<name>.*.tmp`` so no loader mistakes it for a checkpoint;
* a first save that fails leaves no file at all;
* flipping any single bit of a checkpoint gives the documented ValueError naming the
  file, or, where the bit is not covered by a checksum (zip time stamps, ...), exactly
  the saved state: never a silently different model and never another exception;
* a save through a symlink writes its target and keeps the link; an overwritten file
  keeps its mode, a new one gets what ``open()`` would give it (not mkstemp's 0600);
  a missing directory or a directory as the path is a clear error;
* a load whose optimizer refuses the state half way (real SGD, or an optimizer that
  assigns before it checks, raising ValueError or anything else) leaves the model and
  the optimizer exactly as they were.
"""
import io
import os
import stat
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from minigrad.checkpoint import load_checkpoint, save_checkpoint
from test_checkpoint import trained_pair

import minigrad

TESTS = os.path.dirname(os.path.abspath(__file__))
# The child must import the same minigrad as this process (installed, or the source
# tree with built kernels), not whatever the checkout's root would put first.
MINIGRAD_HOME = os.path.dirname(os.path.dirname(os.path.abspath(minigrad.__file__)))
POSIX_ONLY = pytest.mark.skipif(sys.platform == "win32", reason="POSIX symlinks and modes")


class Crash(Exception):
    pass


class DyingFile(io.RawIOBase):
    """A writable file object that writes ``budget`` bytes to ``f`` and then raises."""

    def __init__(self, f, budget, exc, crash_on_flush=False):
        self.f, self.budget, self.exc, self.crash_on_flush = f, budget, exc, crash_on_flush

    def writable(self):
        return True

    def write(self, data):
        data = bytes(data)
        if len(data) > self.budget:
            self.f.write(data[:self.budget])
            self.f.flush()
            raise self.exc("simulated crash while writing")
        self.budget -= len(data)
        return self.f.write(data)

    def seek(self, *args):
        return self.f.seek(*args)

    def tell(self):
        return self.f.tell()

    def seekable(self):
        return True

    def flush(self):
        if self.crash_on_flush:
            self.crash_on_flush = False
            raise self.exc("simulated crash in flush")
        if not self.f.closed:
            self.f.flush()

    def fileno(self):
        return self.f.fileno()

    def close(self):
        if not self.closed:
            try:
                self.f.close()
            finally:
                super().close()


def archive_size(tmp_path):
    model, opt = trained_pair(1)
    path = tmp_path / "probe.npz"
    save_checkpoint(path, model, opt, epoch=2)
    size = path.stat().st_size
    path.unlink()
    return size


CRASH_POINTS = ["write-0", "write-1", "write-64", "write-half", "write-all-but-1", "flush",
                "fsync", "replace", "write-half-ctrl-c", "fsync-ctrl-c", "replace-ctrl-c"]


@pytest.mark.parametrize("point", CRASH_POINTS)
@pytest.mark.parametrize("first_save", [False, True], ids=["over-previous", "first-save"])
def test_interrupted_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch, point,
                                                        first_save):
    model, opt = trained_pair(0)
    path = tmp_path / "ckpt.npz"
    size = archive_size(tmp_path)
    if not first_save:
        save_checkpoint(path, model, opt, epoch=1)
        before = path.read_bytes()
    exc = KeyboardInterrupt if point.endswith("ctrl-c") else Crash
    stage = point.replace("-ctrl-c", "")

    if stage.startswith("write"):
        budget = {"write-0": 0, "write-1": 1, "write-64": 64, "write-half": size // 2,
                  "write-all-but-1": size - 1}[stage]
        real_fdopen = os.fdopen
        monkeypatch.setattr(os, "fdopen",
                            lambda fd, mode: DyingFile(real_fdopen(fd, mode), budget, exc))
    elif stage == "flush":
        real_fdopen = os.fdopen
        monkeypatch.setattr(os, "fdopen", lambda fd, mode: DyingFile(
            real_fdopen(fd, mode), 10**9, exc, crash_on_flush=True))
    else:
        def die(*args, **kwargs):
            raise exc(f"simulated crash in {stage}")
        monkeypatch.setattr(os, stage, die)

    model2, opt2 = trained_pair(1)
    with pytest.raises(exc):
        save_checkpoint(path, model2, opt2, epoch=2)
    monkeypatch.undo()

    if first_save:
        assert list(tmp_path.iterdir()) == []  # no partial file, no temporary file
        return
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.npz"]
    fresh, fresh_opt = trained_pair(2)
    assert load_checkpoint(path, fresh, fresh_opt)["epoch"] == 1
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(fresh.state_dict()[name], value)


@pytest.mark.parametrize("where", ["fsync", "replace"])
def test_process_killed_before_the_rename_keeps_the_previous_checkpoint(tmp_path, where):
    model, opt = trained_pair(0)
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, model, opt, epoch=1)
    before = path.read_bytes()
    script = textwrap.dedent(f"""
        import os, sys
        sys.path[:0] = [{MINIGRAD_HOME!r}, {TESTS!r}]
        from test_checkpoint import trained_pair
        from minigrad.checkpoint import save_checkpoint
        model, opt = trained_pair(1)
        os.{where} = lambda *args: os._exit(9)  # killed: no cleanup code runs
        save_checkpoint({str(path)!r}, model, opt, epoch=2)
    """)
    result = subprocess.run([sys.executable, "-c", script], timeout=120, capture_output=True)
    assert result.returncode == 9, result.stderr.decode()
    assert path.read_bytes() == before
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "ckpt.npz"]
    assert all(n.startswith(".ckpt.npz.") and n.endswith(".tmp") for n in leftovers), leftovers
    fresh, fresh_opt = trained_pair(2)
    assert load_checkpoint(path, fresh, fresh_opt)["epoch"] == 1


def test_every_single_bit_flip_is_an_error_or_the_saved_state(tmp_path):
    model, opt = trained_pair(0)
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, model, opt, epoch=1, config={"lr": 0.1})
    data = path.read_bytes()
    saved = model.state_dict()
    # the zip directory (the tail) byte by byte, the rest at a stride
    offsets = sorted(set(range(0, len(data), 11)) | set(range(3 * len(data) // 4, len(data))))
    bad = tmp_path / "flipped.npz"
    target, target_opt = trained_pair(1)
    outcomes = {"error": 0, "same": 0}
    for offset in offsets:
        for bit in (0x01, 0x80):
            flipped = bytearray(data)
            flipped[offset] ^= bit
            bad.write_bytes(bytes(flipped))
            try:
                meta = load_checkpoint(bad, target, target_opt)
            except ValueError as exc:
                assert "flipped.npz" in str(exc), (offset, bit, str(exc))
                outcomes["error"] += 1
                continue
            assert meta["epoch"] == 1, (offset, bit)
            for name, value in target.state_dict().items():
                assert value.tobytes() == saved[name].tobytes(), (offset, bit, name)
            outcomes["same"] += 1
    assert outcomes["error"] > outcomes["same"] > 0


@POSIX_ONLY
def test_saving_through_a_symlink_writes_its_target(tmp_path):
    (tmp_path / "store").mkdir()
    (tmp_path / "runs").mkdir()
    target = tmp_path / "store" / "real.npz"
    save_checkpoint(target, *trained_pair(0), epoch=1)
    link = tmp_path / "runs" / "link.npz"
    link.symlink_to(target)
    model, opt = trained_pair(1)
    save_checkpoint(link, model, opt, epoch=2)
    assert link.is_symlink() and os.readlink(link) == str(target)
    fresh, fresh_opt = trained_pair(2)
    assert load_checkpoint(target, fresh, fresh_opt)["epoch"] == 2
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(fresh.state_dict()[name], value)
    assert sorted(os.listdir(tmp_path / "store")) == ["real.npz"]  # no temp file left
    assert sorted(os.listdir(tmp_path / "runs")) == ["link.npz"]


@POSIX_ONLY
@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002], ids=oct)
def test_new_file_gets_the_mode_open_would_give(tmp_path, umask):
    model, _ = trained_pair(0)
    previous = os.umask(umask)
    try:
        save_checkpoint(tmp_path / "new.npz", model)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(tmp_path / "new.npz").st_mode) == 0o666 & ~umask


@POSIX_ONLY
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o444], ids=oct)
def test_overwritten_file_keeps_its_mode(tmp_path, mode):
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, *trained_pair(0), epoch=1)
    os.chmod(path, mode)
    model, opt = trained_pair(1)
    save_checkpoint(path, model, opt, epoch=2)
    assert stat.S_IMODE(os.stat(path).st_mode) == mode
    assert load_checkpoint(path, *trained_pair(0))["epoch"] == 2


def test_saving_into_a_missing_directory_or_onto_a_directory(tmp_path):
    model, _ = trained_pair(0)
    with pytest.raises(FileNotFoundError, match="directory .*nowhere.* does not exist"):
        save_checkpoint(tmp_path / "nowhere" / "c.npz", model)
    with pytest.raises(IsADirectoryError, match="is a directory"):
        save_checkpoint(tmp_path, model)
    assert list(tmp_path.iterdir()) == []


def assert_state(model, opt, model_state, opt_state):
    """``model`` and ``opt`` hold exactly ``model_state`` and ``opt_state``."""
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, model_state[name], err_msg=name)
    now = opt.state_dict()
    assert now.keys() == opt_state.keys()
    for key, value in now.items():
        np.testing.assert_array_equal(value, opt_state[key], err_msg=key)


def test_failed_sgd_load_leaves_model_and_optimizer_unchanged(tmp_path):
    save_checkpoint(tmp_path / "good.npz", *trained_pair(0), epoch=1)
    with np.load(tmp_path / "good.npz") as archive:
        arrays = {key: archive[key] for key in archive.files}
    arrays["optimizer/lr"] = np.float64(0.5)
    arrays["optimizer/momentum"] = np.float64(1.5)  # SGD refuses it after setting lr
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    model, opt = trained_pair(1)
    opt.lr, opt.momentum, opt.nesterov, opt.weight_decay = 0.02, 0.3, True, 1e-4
    before = model.state_dict(), opt.state_dict()
    with pytest.raises(ValueError, match="bad.npz.*momentum"):
        load_checkpoint(bad, model, opt)
    assert_state(model, opt, *before)
    assert (opt.lr, opt.momentum, opt.nesterov, opt.weight_decay) == (0.02, 0.3, True, 1e-4)


class HalfLoadingOptimizer:
    """An optimizer whose load_state_dict assigns ``lr`` before checking ``steps``."""

    def __init__(self, error=ValueError):
        self.lr, self.steps, self.error = 0.1, 3, error

    def state_dict(self):
        return {"lr": np.float64(self.lr), "steps": np.int64(self.steps)}

    def load_state_dict(self, state):
        self.lr = float(state["lr"])
        if state["steps"] < 0:
            raise self.error("steps must be >= 0")
        self.steps = int(state["steps"])


@pytest.mark.parametrize("error", [ValueError, RuntimeError])
def test_optimizer_failing_half_way_is_rolled_back_with_the_model(tmp_path, error):
    model, _ = trained_pair(0)
    path = tmp_path / "ckpt.npz"
    saver = HalfLoadingOptimizer()
    saver.lr, saver.steps = 0.7, -1
    save_checkpoint(path, model, saver)
    target, _ = trained_pair(1)
    opt = HalfLoadingOptimizer(error)
    before = target.state_dict()
    with pytest.raises(error, match="steps"):
        load_checkpoint(path, target, opt)
    assert (opt.lr, opt.steps) == (0.1, 3)
    for name, value in target.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)
