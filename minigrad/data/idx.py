"""Read and write IDX files, the tiny binary array format of MNIST and Fashion-MNIST.

An IDX file is a 4-byte magic number, one big-endian uint32 per dimension, then the
array itself in C order, big-endian::

    byte 0-1   0x00 0x00            always zero
    byte 2     type code            0x08 ubyte, 0x09 byte, 0x0B int16,
                                    0x0C int32, 0x0D float32, 0x0E float64
    byte 3     ndim                 e.g. 3 for images (N, rows, cols), 1 for labels
    4*ndim     dims                 big-endian uint32 each
    rest       data                 prod(dims) * itemsize bytes, big-endian

Files are usually shipped gzip-compressed; ``read_idx`` recognises gzip by its magic
bytes (1f 8b), not by the file name, so ``foo.gz`` that is really raw and ``foo`` that
is really gzip both work. Everything that can be wrong with a file (bad gzip stream,
wrong magic, unknown type code, a payload shorter or longer than the header promises)
raises :class:`IDXError`, a ``ValueError`` whose message names the file and the fault.

Example::

    >>> import numpy as np, tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "a-idx2-ubyte.gz")
    >>> write_idx(p, np.arange(6, dtype=np.uint8).reshape(2, 3))
    >>> read_idx(p)
    array([[0, 1, 2],
           [3, 4, 5]], dtype=uint8)
"""
import gzip
import io
import math
import os
import struct
import zlib

import numpy as np

__all__ = ["IDXError", "read_idx", "write_idx", "parse_idx", "read_payload", "IDX_DTYPES",
           "MAX_IDX_BYTES"]

#: IDX type code -> big-endian numpy dtype of the stored data.
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder("="): code for code, dt in IDX_DTYPES.items()}
_CHUNK = 1 << 20
#: numpy's limit on the number of dimensions of an array (NPY_MAXDIMS)
MAX_NDIM = 64 if np.lib.NumpyVersion(np.__version__) >= "2.0.0" else 32

GZIP_MAGIC = b"\x1f\x8b"

#: The largest IDX payload read by default (1 GiB): far above MNIST's 47 MB, far below
#: what a crafted header or gzip stream could otherwise make the reader allocate.
MAX_IDX_BYTES = 2**30


class IDXError(ValueError):
    """A file is not a valid (optionally gzip-compressed) IDX file."""


def _check_path(path):
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    return os.fspath(path)


def decompress_if_gzip(data, source="<bytes>", max_bytes=MAX_IDX_BYTES):
    """Return ``data`` gunzipped if it starts with the gzip magic bytes, else unchanged.

    The stream is decompressed incrementally and never beyond ``max_bytes``: a small
    file that would unpack to gigabytes (a "gzip bomb") raises :class:`IDXError` after
    at most ``max_bytes`` of work. A truncated or corrupt gzip stream (or trailing bytes
    after it that are not another gzip member) raises :class:`IDXError` too, naming
    ``source``.
    """
    if not data.startswith(GZIP_MAGIC):
        return data
    chunks, total = [], 0
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            # in chunks: read(max_bytes + 1) would allocate max_bytes whatever the size
            while chunk := stream.read(min(_CHUNK, max_bytes + 1 - total)):
                chunks.append(chunk)
                total += len(chunk)
                if total > max_bytes:
                    raise IDXError(f"{source}: decompresses to more than {max_bytes} bytes, "
                                   "the most an IDX file may hold here; not read further")
    except EOFError as e:
        raise IDXError(f"{source}: truncated gzip stream ({e})") from e
    except (OSError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
        raise IDXError(f"{source}: corrupt gzip stream ({e})") from e
    return b"".join(chunks)


def read_payload(path, max_bytes=MAX_IDX_BYTES):
    """The IDX bytes of the file at ``path``, gunzipped if it is gzip, at most ``max_bytes``.

    A file (or its decompressed contents) larger than ``max_bytes`` raises
    :class:`IDXError` without being read whole.
    """
    path = _check_path(path)
    size = os.stat(path).st_size
    if size > max_bytes:
        raise IDXError(f"{path}: {size} bytes, more than the {max_bytes} an IDX file may "
                       "hold here; not read")
    with open(path, "rb") as f:
        data = f.read()
    return decompress_if_gzip(data, source=path, max_bytes=max_bytes)


def parse_idx(data, source="<bytes>", *, copy=True):
    """Decode uncompressed IDX bytes into a native-endian numpy array.

    Arguments:
        data: the whole file contents (``bytes``/``bytearray``/``memoryview``).
        source: name used in error messages (normally the file path).
        copy: return a writeable copy (default). With ``copy=False`` a single-byte
            dtype comes back as a read-only view into ``data`` (saves a copy when the
            caller converts it anyway); wider dtypes are always converted.

    Returns an array with the header's shape and the dtype of its type code in native
    byte order (uint8, int8, int16, int32, float32 or float64).
    """
    data = memoryview(data).cast("B")
    if len(data) < 4:
        raise IDXError(f"{source}: too short for an IDX header ({len(data)} bytes, need 4)")
    zero0, zero1, code, ndim = data[0], data[1], data[2], data[3]
    if zero0 != 0 or zero1 != 0:
        raise IDXError(f"{source}: wrong magic number {bytes(data[:4]).hex(' ')}: an IDX file "
                       f"starts with two zero bytes (is it an IDX file at all?)")
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise IDXError(f"{source}: unknown IDX type code 0x{code:02X} (known: {known})")
    if ndim == 0:
        raise IDXError(f"{source}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IDXError(f"{source}: truncated header: {ndim} dimensions need {header} bytes, "
                       f"file has {len(data)}")
    if ndim > MAX_NDIM:
        raise IDXError(f"{source}: IDX header declares {ndim} dimensions; numpy arrays "
                       f"have at most {MAX_NDIM}")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = IDX_DTYPES[code]
    expected = math.prod(shape) * dtype.itemsize  # exact (Python ints never overflow)
    got = len(data) - header
    if got < expected:
        raise IDXError(f"{source}: truncated payload: header shape {shape} of {dtype.name} "
                       f"needs {expected} bytes of data, file has {got}")
    if got > expected:
        raise IDXError(f"{source}: {got - expected} trailing bytes after the {expected} bytes "
                       f"of data that header shape {shape} of {dtype.name} describes")
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="), copy=copy)


def read_idx(path):
    """Read an IDX file (raw or gzip-compressed) into a numpy array.

    Arguments:
        path: ``str`` or ``os.PathLike``. Gzip is detected by content, not by name.

    Returns a native-endian array with the header's shape. Raises :class:`IDXError`
    (a ``ValueError``) naming the file for a corrupt file, ``FileNotFoundError`` if
    there is none.

    Example::

        x = read_idx("train-images-idx3-ubyte.gz")   # uint8, shape (60000, 28, 28)
    """
    path = _check_path(path)
    return parse_idx(read_payload(path), source=path)


def write_idx(path, array, *, compress=None):
    """Write ``array`` as an IDX file; gzip it if ``compress`` (default: name ends ``.gz``).

    ``array`` must have 1 to 255 dimensions and one of the dtypes in ``IDX_DTYPES``
    (any byte order). The gzip header carries no time stamp, so equal arrays give equal
    files.
    """
    path = _check_path(path)
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=") if array.dtype.byteorder != "|" else array.dtype
    if native not in _CODES:
        names = ", ".join(dt.newbyteorder("=").name for dt in IDX_DTYPES.values())
        raise TypeError(f"cannot write dtype {array.dtype} as IDX (supported: {names})")
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"IDX arrays need 1 to 255 dimensions, got shape {array.shape}")
    if any(d >= 2**32 for d in array.shape):
        raise ValueError(f"IDX dimensions must fit in uint32, got shape {array.shape}")
    code = _CODES[native]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    if compress is None:
        compress = path.endswith(".gz")
    if compress:
        data = gzip.compress(data, mtime=0)
    with open(path, "wb") as f:
        f.write(data)
