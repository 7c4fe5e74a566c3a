"""Checkpoints: a model, its optimizer and JSON metadata in one ``.npz`` file, no pickle.

File format (a plain numpy ``.npz`` archive, readable with ``np.load(path,
allow_pickle=False)`` and nothing else from minigrad):

=========================  ====================================================
key                        value
=========================  ====================================================
``format``                 0-d unicode array ``"minigrad-checkpoint/1"``
``metadata``               0-d unicode array: a JSON object (epoch, config,
                           Generator states, history, ... whatever the caller
                           passed as keyword arguments)
``model/<dotted name>``    one array per parameter, ``Module.state_dict()``
``optimizer/<key>``        one array per entry of ``optimizer.state_dict()``
                           (absent when no optimizer was saved)
=========================  ====================================================

Every value is a numeric, boolean or unicode array, so the file never holds a pickled
Python object and loading never runs code. A ``numpy.random.Generator`` is saved
through its ``bit_generator.state`` dict (plain ints and strings, JSON-friendly); see
``minigrad.training`` for how a run saves and restores its Generators to resume bit
for bit.

Saving is atomic: the archive is written to a temporary file in the destination's
directory, flushed and fsync'ed, then moved over ``path`` with ``os.replace`` (atomic on
POSIX and Windows). A crash or an exception at any point leaves the previous checkpoint
byte-for-byte intact and removes the temporary file. A symlink is followed (its target
is replaced, the link stays), and an overwritten file keeps its permission bits.

Example::

    save_checkpoint("run.npz", model, optimizer, epoch=3, config={"lr": 0.1})
    meta = load_checkpoint("run.npz", model, optimizer)   # {"epoch": 3, "config": ...}
"""
import json
import os
import secrets
import stat
import struct
import zipfile
import zlib

import numpy as np

FORMAT = "minigrad-checkpoint/1"
MODEL_PREFIX = "model/"
OPTIMIZER_PREFIX = "optimizer/"


def save_checkpoint(path, model, optimizer=None, **metadata):
    """Write ``model`` (and ``optimizer``) state plus ``metadata`` to ``path`` atomically.

    Args:
        path: destination file (str or os.PathLike); written exactly there (no ``.npz``
            is appended). Its directory must exist. If ``path`` is a symlink, its target
            is written. An existing file keeps its permission bits; a new one gets
            those ``open()`` would give it (``0o666`` less the umask).
        model: a ``minigrad.nn.Module``; ``model.state_dict()`` is saved.
        optimizer: optional object with ``state_dict()`` returning arrays/numbers
            (e.g. ``minigrad.optim.SGD``).
        **metadata: JSON-serialisable values (numbers, strings, lists, dicts, None).

    Raises:
        TypeError: a metadata value is not JSON-serialisable, or a state entry is not
            a numeric/boolean array.
        FileNotFoundError: the directory does not exist.
        IsADirectoryError: ``path`` is a directory.
    """
    path = _check_path(path)
    try:
        meta_json = json.dumps(metadata, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"save_checkpoint: metadata must be JSON-serialisable: {exc}") from None
    arrays = {"format": np.array(FORMAT), "metadata": np.array(meta_json)}
    arrays.update(_prefixed(MODEL_PREFIX, model.state_dict()))
    if optimizer is not None:
        arrays.update(_prefixed(OPTIMIZER_PREFIX, optimizer.state_dict()))

    target = os.path.realpath(path)  # through a symlink: replace its target, not the link
    directory = os.path.dirname(target)
    if os.path.isdir(target):
        raise IsADirectoryError(f"save_checkpoint: {path!r} is a directory")
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"save_checkpoint: directory {directory!r} does not exist")
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = None
    tmp = os.path.join(directory, f".{os.path.basename(target)}.{secrets.token_hex(8)}.tmp")
    # os.open applies the umask to 0o666 as open() does (tempfile.mkstemp would give 0o600)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.remove(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(directory)


def load_checkpoint(path, model, optimizer=None):
    """Restore ``model`` (and ``optimizer``) from ``path``; return the metadata dict.

    Everything is read and checked before anything is changed. Then the model is
    loaded, then the optimizer; if either raises, the model gets its previous
    parameters back and the optimizer its previous ``state_dict()``, so on any error
    both keep their previous state.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError (naming the file): not a readable ``.npz`` archive (truncated,
            corrupt, garbage), contains pickled objects, is not a minigrad
            checkpoint, lacks the optimizer state asked for, or does not match the
            model's parameter names/shapes/dtypes.
    """
    path = _check_path(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"checkpoint {path!r} does not exist")
    arrays = _read_archive(path)
    metadata = _metadata(path, arrays)

    model_state = _unprefixed(MODEL_PREFIX, arrays)
    optimizer_state = _unprefixed(OPTIMIZER_PREFIX, arrays)
    if optimizer is not None and not optimizer_state:
        raise ValueError(f"checkpoint {path!r} holds no optimizer state "
                         "(it was saved without an optimizer)")

    previous_model = model.state_dict()
    previous_optimizer = None if optimizer is None else optimizer.state_dict()
    try:
        model.load_state_dict(model_state)
        if optimizer is not None:
            optimizer.load_state_dict(optimizer_state)
    except BaseException as exc:
        model.load_state_dict(previous_model)
        if optimizer is not None:
            optimizer.load_state_dict(previous_optimizer)
        if isinstance(exc, (ValueError, KeyError, TypeError)):
            raise ValueError(f"checkpoint {path!r} does not match the model/optimizer: "
                             f"{exc!s}") from None
        raise
    return metadata


def read_checkpoint_metadata(path):
    """The metadata dict of the checkpoint at ``path``, without touching any model.

    Same checks and errors as ``load_checkpoint`` for the file itself.
    """
    path = _check_path(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"checkpoint {path!r} does not exist")
    return _metadata(path, _read_archive(path))


def _metadata(path, arrays):
    if "format" not in arrays or arrays["format"].ndim != 0 or str(arrays["format"]) != FORMAT:
        raise ValueError(f"checkpoint {path!r}: not a minigrad checkpoint "
                         f"(no 'format' entry equal to {FORMAT!r})")
    if "metadata" not in arrays or arrays["metadata"].dtype.kind != "U":
        raise ValueError(f"checkpoint {path!r}: missing the 'metadata' entry")
    try:
        metadata = json.loads(str(arrays["metadata"]))
    except json.JSONDecodeError as exc:
        raise ValueError(f"checkpoint {path!r}: metadata is not valid JSON: {exc}") from None
    if not isinstance(metadata, dict):
        raise ValueError(f"checkpoint {path!r}: metadata is not a JSON object")
    return metadata


def _check_path(path):
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"checkpoint path must be a str or os.PathLike, "
                        f"got {type(path).__name__}")
    return os.fspath(path)


def _prefixed(prefix, state):
    out = {}
    for key, value in state.items():
        value = np.asarray(value)
        if value.dtype.kind not in "biufcU":
            raise TypeError(f"save_checkpoint: {prefix}{key} has dtype {value.dtype}; only "
                            "numeric, boolean and unicode arrays are stored (never pickles)")
        out[prefix + key] = value
    return out


def _unprefixed(prefix, arrays):
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}


def _read_archive(path):
    """Every array of the ``.npz`` at ``path``, loaded eagerly, or a ValueError naming it."""
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic not in (b"PK\x03\x04", b"PK\x05\x06"):
        raise ValueError(f"checkpoint {path!r} is not an .npz archive (it does not start "
                         "with the zip signature; garbage, or a different file format)")
    try:
        archive = np.load(path, allow_pickle=False)
        assert isinstance(archive, np.lib.npyio.NpzFile)  # the zip signature guarantees it
        with archive:
            return {key: archive[key] for key in archive.files}
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile, zlib.error,
            struct.error, NotImplementedError, RuntimeError) as exc:
        # (a corrupted zip directory can also claim an unknown compression method or
        # zip version, NotImplementedError, or encryption, RuntimeError)
        if "pickle" in str(exc) or "Object arrays" in str(exc):
            raise ValueError(f"checkpoint {path!r} contains an object array (pickled Python "
                             "objects); refused, since unpickling can run code") from None
        raise ValueError(f"checkpoint {path!r} cannot be read (truncated or corrupt .npz?): "
                         f"{type(exc).__name__}: {exc}") from None


def _fsync_directory(directory):
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
