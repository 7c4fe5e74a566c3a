"""Reading a checkpoint file as hostile input: nothing in the file decides how much memory
the reader allocates (safetensors' rule).

A checkpoint is a numpy ``.npz`` archive, a zip file with one ``.npy`` member per
array. ``CheckpointArchive`` opens one, and before any array's data is decompressed it
checks

* the zip directory against the file's real size: only stored or deflated members, no
  duplicates, no encryption, no member claiming bytes beyond the end of the file, and
  the compressed sizes together at most the file's size (so no two members share
  bytes, a zip bomb's trick);
* each member's ``.npy`` header, at most ``_MAX_NPY_HEADER`` bytes, when it is first
  asked for: the exact data size it implies (shape times item size, in Python
  integers) must be the zip entry's uncompressed size; object arrays and other
  non-numeric dtypes are refused.

What the members should be (their keys, shapes and dtypes, how long a text may be) is
the caller's knowledge, ``minigrad.checkpoint``'s: it checks the headers with
``member`` and ``expect`` and only then reads data with ``array`` and ``text``, in
chunks, into a buffer of the size the checked header gives. No single read of the
file, by zipfile or by this module, exceeds ``_MAX_READ``. Every refusal is a
``CheckpointError`` (a ``ValueError``) naming the file and, where there is one, the
member.
"""
import contextlib
import io
import math
import os
import stat
import struct
import zipfile
import zlib

import numpy as np
from numpy.lib import format as npy_format

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
#: The dtype kinds a checkpoint holds (numeric, boolean, unicode): never object arrays,
#: so never pickles. ``save_checkpoint`` refuses to write any other.
STORED_KINDS = "biufcU"
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


class _Member:
    """One zip entry and what its ``.npy`` header says (shape, dtype, data offset)."""

    def __init__(self, key, info, shape, dtype, fortran_order, offset):
        self.key, self.info, self.shape, self.dtype = key, info, shape, dtype
        self.fortran_order, self.offset = fortran_order, offset
        self.nbytes = math.prod(shape) * dtype.itemsize  # Python ints: no overflow


class CheckpointArchive:
    """A checkpoint file open for reading, its zip directory checked against its size.

    ``member(key)`` reads and checks the ``.npy`` header of one member (the name without
    ``.npy``); ``array(key)`` reads its data, ``text(key, max_bytes)`` the string of a
    0-d unicode member. Nothing else is decompressed. Use it as a context manager::

        with CheckpointArchive(path) as archive:
            weights = archive.array("model/0.weight")
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

    def array(self, key):
        """The array of member ``key``, read in bounded chunks into a buffer of its size."""
        member = self.member(key)
        flat = np.empty(math.prod(member.shape), member.dtype)
        self._read_into(member, memoryview(flat.view(np.uint8)))
        return flat.reshape(member.shape, order="F" if member.fortran_order else "C")

    def text(self, key, max_bytes):
        """The string in the 0-d unicode member ``key`` (None if absent), at most ``max_bytes``."""
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
        if dtype.kind not in STORED_KINDS:
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
