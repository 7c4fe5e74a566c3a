"""Checkpoints: a model, its optimizer and JSON metadata in one ``.npz`` file, no pickle.

File format (a plain numpy ``.npz`` archive, readable with ``np.load(path,
allow_pickle=False)`` and nothing else from minigrad):

=========================  ====================================================
key                        value
=========================  ====================================================
``format``                 0-d unicode array ``"minigrad-checkpoint/1"``
``metadata``               0-d unicode array: a JSON object (epoch, config,
                           Generator states, history, ... whatever the caller
                           passed as keyword arguments), at most
                           ``MAX_METADATA_BYTES``
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

Loading treats the file as hostile: ``minigrad.checkpoint_reader`` checks the zip
directory against the file's size and each member's ``.npy`` header before any data is
decompressed (object arrays and other non-numeric dtypes are refused there). Then

* the keys and each array's shape and dtype must be what the model and optimizer
  expect, and ``metadata`` at most ``MAX_METADATA_BYTES``. A member that is none of
  the keys above is refused, naming it, rather than skipped: ``save_checkpoint`` never
  writes one, so it is damage or a crafted file.

Only then is each array read, in chunks, into a buffer whose size came from the model.
So whatever a file claims, ``load_checkpoint`` allocates at most what the model and
the optimizer hold (plus at most one parameter-sized buffer per parameter that the
optimizer has not created yet), ``MAX_METADATA_BYTES`` and 1 MiB for the zip
directory. Every refusal is a ``CheckpointError`` (a ``ValueError``) naming the file
and, where there is one, the member.

Example::

    save_checkpoint("run.npz", model, optimizer, epoch=3, config={"lr": 0.1})
    meta = load_checkpoint("run.npz", model, optimizer)   # {"epoch": 3, "config": ...}
"""
import collections
import json
import os

import numpy as np

from .atomic import replace_atomically
from .checkpoint_reader import STORED_KINDS, CheckpointArchive, CheckpointError

FORMAT = "minigrad-checkpoint/1"
MODEL_PREFIX = "model/"
OPTIMIZER_PREFIX = "optimizer/"
#: Largest ``metadata`` member, in bytes (numpy stores 4 bytes per character). A
#: training run stores its whole history there, about 1.5 kB of JSON per epoch (MNIST
#: at batch size 100), so 64 MiB holds about 11,000 epochs, more than the papers' few
#: thousand. ``save_checkpoint`` refuses more, so everything it writes can be read.
MAX_METADATA_BYTES = 64 << 20


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
        ValueError: the metadata's JSON exceeds ``MAX_METADATA_BYTES`` (as stored,
            4 bytes per character), so no loader would read it back.
        FileNotFoundError: the directory does not exist.
        IsADirectoryError: ``path`` is a directory.
    """
    path = _check_path(path)
    try:
        meta_json = json.dumps(metadata, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"save_checkpoint: metadata must be JSON-serialisable: {exc}") from None
    meta_bytes = 4 * len(meta_json)
    if meta_bytes > MAX_METADATA_BYTES:
        raise ValueError(f"save_checkpoint: the metadata takes {meta_bytes} bytes, more than "
                         f"MAX_METADATA_BYTES = {MAX_METADATA_BYTES}")
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
    with replace_atomically([target]) as (f,):
        np.savez(f, **arrays)


def load_checkpoint(path, model, optimizer=None):
    """Restore ``model`` (and ``optimizer``) from ``path``; return the metadata dict.

    Everything is read and checked before anything is changed (see the module
    docstring for the checks): the model's parameters must all be there with their
    shapes and dtypes and nothing else; each optimizer entry must have the shape and
    dtype of the optimizer's current entry of that name or, for state an optimizer
    creates lazily (SGD's momentum buffers appear at its first step), those of a model
    parameter, at most one such entry per parameter. Whether entries are missing is
    left to ``optimizer.load_state_dict``. Without ``optimizer``, a saved optimizer's
    arrays are not read (only their headers are checked).

    Then the model is loaded, then the optimizer; if either raises, the model gets its
    previous parameters back and the optimizer its previous ``state_dict()``, so on any
    error both keep their previous state.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        IsADirectoryError: ``path`` is a directory.
        CheckpointError (a ValueError, naming the file and member): not a readable
            ``.npz`` archive (truncated, corrupt, garbage, crafted sizes), contains
            pickled objects or unknown members, is not a minigrad checkpoint, lacks the
            optimizer state asked for, or does not match the model's parameter
            names/shapes/dtypes or the optimizer.
    """
    path = _check_path(path)
    previous_model = model.state_dict()
    previous_optimizer = None if optimizer is None else optimizer.state_dict()
    with CheckpointArchive(path) as archive:
        for key in archive.keys():  # every header first, so an object array says so
            archive.member(key)
        _check_format(archive)
        keys = _keys_to_load(archive, previous_model, previous_optimizer)
        metadata = _metadata(archive)
        arrays = {key: archive.array(key) for key in keys}
    model_state = _unprefixed(MODEL_PREFIX, arrays)
    optimizer_state = _unprefixed(OPTIMIZER_PREFIX, arrays)
    try:
        model.load_state_dict(model_state)
        if optimizer is not None:
            optimizer.load_state_dict(optimizer_state)
    except BaseException as exc:
        model.load_state_dict(previous_model)
        if optimizer is not None:
            optimizer.load_state_dict(previous_optimizer)
        if isinstance(exc, (ValueError, KeyError, TypeError)):
            raise CheckpointError(f"checkpoint {path!r} does not match the model/optimizer: "
                                  f"{exc!s}") from None
        raise
    return metadata


def read_checkpoint_metadata(path):
    """The metadata dict of the checkpoint at ``path``, without touching any model.

    Reads the zip directory and the ``format`` and ``metadata`` members, nothing of the
    weights: a caller that reads the metadata first and loads the checkpoint later
    (``minigrad train --resume``) reads the weights once. Same checks and errors as
    ``load_checkpoint`` for the file itself.
    """
    with CheckpointArchive(_check_path(path)) as archive:
        _check_format(archive)
        return _metadata(archive)


def _keys_to_load(archive, model_state, optimizer_state):
    """The keys of ``archive`` to load, each checked against the model and optimizer."""
    model_keys = {MODEL_PREFIX + name for name in model_state}
    saved_model_keys = set(archive.keys(MODEL_PREFIX))
    problems = [f"missing {key!r}" for key in sorted(model_keys - saved_model_keys)]
    problems += [f"unexpected {key!r}" for key in sorted(saved_model_keys - model_keys)]
    if problems:
        raise archive.error("does not match the model's parameters: " + "; ".join(problems))
    for name, value in model_state.items():
        archive.expect(MODEL_PREFIX + name, value.shape, value.dtype, "the model")
    if optimizer_state is None:
        return sorted(model_keys)

    optimizer_keys = archive.keys(OPTIMIZER_PREFIX)
    if not optimizer_keys:
        raise archive.error("holds no optimizer state (it was saved without an optimizer)")
    spare = collections.Counter((v.shape, v.dtype) for v in model_state.values())
    for key in optimizer_keys:
        name = key[len(OPTIMIZER_PREFIX):]
        member = archive.member(key)
        if name in optimizer_state:
            value = np.asarray(optimizer_state[name])
            archive.expect(key, value.shape, value.dtype, "the optimizer")
        elif spare[member.shape, member.dtype] > 0:  # a buffer the optimizer creates lazily
            spare[member.shape, member.dtype] -= 1
        else:
            raise archive.error(f"{member.dtype} {member.shape} is neither an entry of the "
                                "optimizer's state nor a buffer shaped like a remaining model "
                                "parameter (at most one per parameter)", key)
    return sorted(model_keys) + optimizer_keys


def _check_format(archive):
    """Refuse the file unless ``format`` says minigrad and every key is a known one."""
    if archive.text("format", 4 * len(FORMAT)) != FORMAT:
        raise archive.error(f"not a minigrad checkpoint (no 'format' entry equal to "
                            f"{FORMAT!r})")
    keys = archive.keys()
    unknown = [key for key in keys if key not in ("format", "metadata")
               and not key.startswith((MODEL_PREFIX, OPTIMIZER_PREFIX))]
    if unknown:
        raise archive.error(f"unknown members {unknown} (a checkpoint holds only "
                            f"format, metadata, {MODEL_PREFIX}* and {OPTIMIZER_PREFIX}*)")
    if "metadata" not in keys:
        raise archive.error("missing the 'metadata' entry")


def _metadata(archive):
    """The ``metadata`` JSON object."""
    text = archive.text("metadata", MAX_METADATA_BYTES)
    try:
        metadata = json.loads(text)
    except (ValueError, RecursionError) as exc:  # also too many digits, too deep
        raise archive.error(f"is not valid JSON: {exc}", "metadata") from None
    if not isinstance(metadata, dict):
        raise archive.error("is not a JSON object", "metadata")
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
        if value.dtype.kind not in STORED_KINDS:
            raise TypeError(f"save_checkpoint: {prefix}{key} has dtype {value.dtype}; only "
                            "numeric, boolean and unicode arrays are stored (never pickles)")
        out[prefix + key] = value
    return out


def _unprefixed(prefix, arrays):
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
