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

Reading treats the file as hostile (safetensors' rule: nothing in a file decides how
much memory the reader allocates). Before any array's data is decompressed:

* the zip directory is checked against the file's real size: only stored or deflated
  members, no duplicates, no encryption, no member claiming bytes beyond the end of
  the file, and the compressed sizes together at most the file's size (so no two
  members share bytes, a zip bomb's trick);
* each member's ``.npy`` header, at most ``_MAX_NPY_HEADER`` bytes, is read and the
  exact data size it implies (shape times item size, in Python integers) must be the
  zip entry's uncompressed size; object arrays and other non-numeric dtypes are
  refused;
* the keys and each array's shape and dtype must be what the model and optimizer
  expect, and ``metadata`` at most ``MAX_METADATA_BYTES``. A member that is none of
  the keys above is refused, naming it, rather than skipped: ``save_checkpoint`` never
  writes one, so it is damage or a crafted file.

Only then is each array read, in chunks, into a buffer whose size came from the model.
So whatever a file claims, ``load_checkpoint`` allocates at most what the model and
the optimizer hold (plus at most one parameter-sized buffer per parameter that the
optimizer has not created yet), ``MAX_METADATA_BYTES`` and ``_MAX_READ`` for the zip
directory. Every refusal is a ``CheckpointError`` (a ``ValueError``) naming the file
and, where there is one, the member.

Example::

    save_checkpoint("run.npz", model, optimizer, epoch=3, config={"lr": 0.1})
    meta = load_checkpoint("run.npz", model, optimizer)   # {"epoch": 3, "config": ...}
"""
import collections
import contextlib
import io
import json
import math
import os
import stat
import struct
import zipfile
import zlib

import numpy as np
from numpy.lib import format as npy_format

from .atomic import replace_atomically

FORMAT = "minigrad-checkpoint/1"
MODEL_PREFIX = "model/"
OPTIMIZER_PREFIX = "optimizer/"
#: Largest ``metadata`` member, in bytes (numpy stores 4 bytes per character). A
#: training run stores its whole history there, about 1.5 kB of JSON per epoch (MNIST
#: at batch size 100), so 64 MiB holds about 11,000 epochs, more than the papers' few
#: thousand. ``save_checkpoint`` refuses more, so everything it writes can be read.
MAX_METADATA_BYTES = 64 << 20
# No single read of a checkpoint file, by zipfile or by this module, exceeds this. The
# largest read zipfile makes is the whole zip directory, about 110 bytes per member: 1
# MiB is room for about 9,000 members, far more than a model has parameters; a larger
# directory is a crafted one, and zipfile would keep about 5 times its size as ZipInfo
# objects. Array data is read in chunks of this size.
_MAX_READ = 1 << 20
# numpy writes a 128-byte .npy header for any array of a few dimensions.
_MAX_NPY_HEADER = 512
# The .npy versions read: the format of the header's length field (after the 6-byte
# magic and 2-byte version) and numpy's parser. Version 3.0 differs only for non-ASCII
# field names of structured dtypes, which are never stored.
_NPY_VERSIONS = {(1, 0): ("<H", npy_format.read_array_header_1_0),
                 (2, 0): ("<I", npy_format.read_array_header_2_0)}
_STORED_KINDS = "biufcU"  # numeric, boolean, unicode: never object arrays or pickles
# np.savez stores and np.savez_compressed deflates; zipfile's bzip2 and lzma readers
# decompress a whole chunk at once, with no bound on the output.
_COMPRESSIONS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
# What zipfile, zlib and the file itself raise on a damaged archive (a corrupted
# directory can also claim an unknown zip version, NotImplementedError, or a seek
# beyond any file, OverflowError).
_DAMAGE = (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, struct.error,
           NotImplementedError, RuntimeError, OverflowError)


class CheckpointError(ValueError):
    """A file that is not a readable checkpoint, or not one of this model and optimizer.

    The message names the file and, where there is one, the member. A ``ValueError``, so
    callers that catch ``ValueError`` for bad input keep working.
    """


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
    with _Archive(path) as archive:
        for key in archive.keys():  # every header first, so an object array says so
            archive.member(key)
        archive.check_format()
        keys = _keys_to_load(archive, previous_model, previous_optimizer)
        metadata = archive.metadata()
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
    with _Archive(_check_path(path)) as archive:
        archive.check_format()
        return archive.metadata()


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


class _Member:
    """One zip entry and what its ``.npy`` header says (shape, dtype, data offset)."""

    def __init__(self, key, info, shape, dtype, fortran_order, offset):
        self.key, self.info, self.shape, self.dtype = key, info, shape, dtype
        self.fortran_order, self.offset = fortran_order, offset
        self.nbytes = math.prod(shape) * dtype.itemsize  # Python ints: no overflow


class _Archive:
    """A checkpoint file open for reading, its zip directory checked against its size.

    ``member(key)`` reads and checks the ``.npy`` header of one member (the name without
    ``.npy``), ``array(key)`` its data; nothing else is decompressed.
    """

    def __init__(self, path):
        self.path = path
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            raise FileNotFoundError(f"checkpoint {path!r} does not exist") from None
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(f"checkpoint {path!r} is a directory, not a checkpoint "
                                    "file")
        if not stat.S_ISREG(mode):  # a FIFO would block, a device never end
            raise self.error("is not a regular file")
        self._file = open(path, "rb")
        try:
            if self._file.read(4) not in (b"PK\x03\x04", b"PK\x05\x06"):
                raise self.error("is not an .npz archive (it does not start with the zip "
                                 "signature; garbage, or a different file format)")
            with self._damage():
                self._zip = zipfile.ZipFile(_CappedReads(self._file))
            self._entries = self._directory(os.fstat(self._file.fileno()).st_size)
        except BaseException:
            self._file.close()
            raise
        self._members = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self._zip.close()
        self._file.close()

    def error(self, what, key=None):
        """A CheckpointError naming the file (and the member ``key``)."""
        where = f"checkpoint {self.path!r}" + ("" if key is None else f", member {key!r}")
        return CheckpointError(f"{where}: {what}")

    def keys(self, prefix=""):
        """The sorted keys that start with ``prefix``."""
        return sorted(key for key in self._entries if key.startswith(prefix))

    def member(self, key):
        """The checked ``_Member`` of ``key`` (its header is read once)."""
        if key not in self._members:
            self._members[key] = self._header(key, self._entries[key])
        return self._members[key]

    def expect(self, key, shape, dtype, owner):
        """Refuse member ``key`` unless it holds a ``dtype`` array of ``shape``."""
        member = self.member(key)
        if (member.shape, member.dtype) != (shape, dtype):
            raise self.error(f"shape {member.shape} dtype {member.dtype} in the file, but "
                             f"{owner} expects shape {shape} dtype {dtype}", key)

    def check_format(self):
        """Refuse the file unless ``format`` says minigrad and every key is a known one."""
        if self._text("format", 4 * len(FORMAT)) != FORMAT:
            raise self.error(f"not a minigrad checkpoint (no 'format' entry equal to "
                             f"{FORMAT!r})")
        unknown = [key for key in self._entries if key not in ("format", "metadata")
                   and not key.startswith((MODEL_PREFIX, OPTIMIZER_PREFIX))]
        if unknown:
            raise self.error(f"unknown members {sorted(unknown)} (a checkpoint holds only "
                             f"format, metadata, {MODEL_PREFIX}* and {OPTIMIZER_PREFIX}*)")
        if "metadata" not in self._entries:
            raise self.error("missing the 'metadata' entry")

    def metadata(self):
        """The ``metadata`` JSON object."""
        text = self._text("metadata", MAX_METADATA_BYTES)
        try:
            metadata = json.loads(text)
        except (ValueError, RecursionError) as exc:  # also too many digits, too deep
            raise self.error(f"is not valid JSON: {exc}", "metadata") from None
        if not isinstance(metadata, dict):
            raise self.error("is not a JSON object", "metadata")
        return metadata

    def array(self, key):
        """The array of member ``key``, read in bounded chunks into a buffer of its size."""
        member = self.member(key)
        flat = np.empty(math.prod(member.shape), member.dtype)
        self._read_into(member, memoryview(flat.view(np.uint8)))
        return flat.reshape(member.shape, order="F" if member.fortran_order else "C")

    def _text(self, key, max_bytes):
        """The string in the 0-d unicode member ``key`` (``None`` if absent), if small."""
        if key not in self._entries:
            return None
        member = self.member(key)
        if member.shape != () or member.dtype.kind != "U":
            raise self.error(f"must be a 0-d unicode array, not {member.dtype} "
                             f"{member.shape}", key)
        if member.nbytes > max_bytes:
            raise self.error(f"holds {member.nbytes} bytes, more than the {max_bytes} "
                             "allowed", key)
        data = bytearray(member.nbytes)
        self._read_into(member, memoryview(data))
        codec = "utf-32-be" if member.dtype.str[0] == ">" else "utf-32-le"
        try:  # numpy would accept code points beyond U+10FFFF
            return data.decode(codec).rstrip("\0")  # numpy's padding
        except UnicodeDecodeError as exc:
            raise self.error(f"is not valid unicode: {exc}", key) from None

    def _directory(self, size):
        """``key -> ZipInfo`` of every member, after checking the entries against ``size``."""
        entries, compressed = {}, 0
        for info in self._zip.infolist():
            name = info.filename
            if not name.endswith(".npy"):
                raise self.error(f"member {name!r} is not a .npy array")
            key = name[:-len(".npy")]
            if key in entries:
                raise self.error("appears twice in the zip directory", key)
            if info.compress_type not in _COMPRESSIONS:
                raise self.error(f"uses zip compression method {info.compress_type}; only "
                                 "stored and deflated members are read", key)
            if info.flag_bits & 0x1:
                raise self.error("is encrypted", key)
            if info.header_offset + info.compress_size > size:
                raise self.error(f"claims {info.compress_size} compressed bytes at offset "
                                 f"{info.header_offset}, beyond the file's {size} bytes", key)
            if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
                raise self.error(f"is stored uncompressed, yet claims {info.file_size} bytes "
                                 f"in {info.compress_size}", key)
            compressed += info.compress_size
            entries[key] = info
        if compressed > size:
            raise self.error(f"its members claim {compressed} compressed bytes in all, more "
                             f"than the file's {size}: they overlap (a zip bomb's trick) or "
                             "claim bytes the file lacks")
        return entries

    def _header(self, key, info):
        """The ``_Member`` of ``info``, from its ``.npy`` header and not one byte more."""
        with self._damage(key), self._zip.open(info) as f:
            start = _read_bytes(f, 12)  # magic, version and either version's length field
            version = tuple(start[6:8])
            if start[:6] != npy_format.MAGIC_PREFIX or version not in _NPY_VERSIONS:
                raise self.error("is not a .npy array of format version 1.0 or 2.0", key)
            length_format, parse = _NPY_VERSIONS[version]
            size = (8 + struct.calcsize(length_format)
                    + struct.unpack_from(length_format, start, 8)[0])
            if size > _MAX_NPY_HEADER:
                raise self.error(f"has a {size}-byte .npy header, more than the "
                                 f"{_MAX_NPY_HEADER} read", key)
            header = start[:size] + _read_bytes(f, max(0, size - len(start)))
        stream = io.BytesIO(header)
        try:
            npy_format.read_magic(stream)
            shape, fortran_order, dtype = parse(stream)
        except Exception as exc:  # numpy's parser lets its helpers' errors out (SyntaxError,
            # TypeError, tokenize.TokenError); its input is at most _MAX_NPY_HEADER bytes
            raise self.error(f"has an unreadable .npy header: {type(exc).__name__}: {exc}",
                             key) from None
        if dtype.hasobject:
            raise self.error("is an object array (pickled Python objects); refused, since "
                             "unpickling can run code", key)
        if dtype.kind not in _STORED_KINDS:
            raise self.error(f"has dtype {dtype}; only numeric, boolean and unicode arrays "
                             "are read", key)
        if any(n < 0 for n in shape):
            raise self.error(f"has a negative dimension in its shape {shape}", key)
        member = _Member(key, info, shape, dtype, fortran_order, size)
        if member.offset + member.nbytes != info.file_size:
            raise self.error(f"its header says {dtype} {shape}, {member.nbytes} bytes after a "
                             f"{member.offset}-byte header, but the zip entry holds "
                             f"{info.file_size} bytes", key)
        return member

    def _read_into(self, member, buffer):
        """Fill the byte ``buffer`` with ``member``'s data (zipfile checks the CRC)."""
        with self._damage(member.key), self._zip.open(member.info) as f:
            _read_bytes(f, member.offset)  # the header, parsed before
            done = _fill(f, buffer)
        if done < len(buffer):
            raise self.error(f"is truncated: {done} of {len(buffer)} data bytes", member.key)

    @contextlib.contextmanager
    def _damage(self, key=None):
        """Turn what zipfile, zlib or numpy raise on a damaged file into a CheckpointError."""
        try:
            yield
        except CheckpointError:
            raise
        except _DAMAGE as exc:
            raise self.error(f"cannot be read (truncated or corrupt .npz?): "
                             f"{type(exc).__name__}: {exc}", key) from None


class _CappedReads:
    """The checkpoint file as zipfile sees it: any read over ``_MAX_READ`` bytes refused.

    zipfile reads the zip directory in one ``read`` of the size the file states; through
    this wrapper a crafted size is an error, not an allocation.
    """

    def __init__(self, file):
        self._file = file
        self.seek, self.tell, self.seekable = file.seek, file.tell, file.seekable

    def read(self, n=-1):
        if n is None or n < 0:  # to the end of the file: zipfile reads the zip's tail so
            data = self._file.read(_MAX_READ + 1)
            if len(data) <= _MAX_READ:
                return data
        elif n <= _MAX_READ:
            return self._file.read(n)
        raise ValueError(f"the zip structure asks for a read of more than {_MAX_READ} "
                         f"bytes at once ({n}), more than a checkpoint ever needs")


def _fill(f, buffer):
    """Read ``f`` into the byte ``buffer`` in chunks of at most ``_MAX_READ``; the count
    read, short only at the end of ``f``."""
    done = 0
    while done < len(buffer):
        chunk = f.read(min(_MAX_READ, len(buffer) - done))
        if not chunk:
            break
        buffer[done:done + len(chunk)] = chunk
        done += len(chunk)
    return done


def _read_bytes(f, n):
    """Up to ``n`` bytes of ``f`` (fewer only at its end)."""
    data = bytearray(n)
    return data[:_fill(f, memoryview(data))]


def _check_path(path):
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"checkpoint path must be a str or os.PathLike, "
                        f"got {type(path).__name__}")
    return os.fspath(path)


def _prefixed(prefix, state):
    out = {}
    for key, value in state.items():
        value = np.asarray(value)
        if value.dtype.kind not in _STORED_KINDS:
            raise TypeError(f"save_checkpoint: {prefix}{key} has dtype {value.dtype}; only "
                            "numeric, boolean and unicode arrays are stored (never pickles)")
        out[prefix + key] = value
    return out


def _unprefixed(prefix, arrays):
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
