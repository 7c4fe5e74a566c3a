"""Where dataset files may live, and how a file found there is checked.

Automatic lookup order for a dataset called ``<name>`` (e.g. ``mnist``):

1. ``$MINIGRAD_DATA/<name>/``
2. ``$MINIGRAD_DATA/`` itself (CI points it at a directory that holds the files directly)
3. the per-user cache, ``$XDG_CACHE_HOME/minigrad/<name>/`` or ``~/.cache/minigrad/<name>/``
   (where downloads go)
4. the dataset's ``system_dirs`` (e.g. Debian's ``/usr/share/datasets/fashion-mnist``)
5. the copy bundled inside the package, ``minigrad/data/bundled/<name>/``, for a dataset
   whose spec says ``bundled=True`` (MNIST: so that the main job runs on a machine with
   no network at all; see ``bundled/<name>/README.md`` for where the files come from)

In each directory a file may be gzip-compressed (``<file>.gz``) or raw (``<file>``).
Because MNIST and Fashion-MNIST use the same file names, every candidate is verified by
md5 (see ``sources``); one that does not match is *skipped* by the automatic lookup and
the reason kept for the final error message.
"""
import hashlib
import os

from .idx import decompress_if_gzip

__all__ = ["ChecksumError", "md5_hex", "read_verified", "find_in_dir", "cache_dir",
           "bundled_dir", "search_dirs", "ENV_VAR"]

ENV_VAR = "MINIGRAD_DATA"

#: The most bytes a dataset file may hold, compressed or not: MNIST's largest file (the
#: training images) is 47,040,016 bytes unpacked.
MAX_DATASET_FILE_BYTES = 64 * 2**20


class ChecksumError(ValueError):
    """A file's md5 is not the one expected for the dataset file it should be."""


def md5_hex(data):
    """Hex md5 of ``data`` (used as a checksum, not for security)."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def read_verified(path, fspec, title, max_bytes=MAX_DATASET_FILE_BYTES):
    """Read ``path`` and return its uncompressed IDX bytes if it is ``fspec``.

    The file is accepted if its own md5 is the published archive's (``fspec.gz_md5``)
    or if the md5 of its uncompressed contents is ``fspec.raw_md5``. Otherwise raises
    :class:`ChecksumError` naming the file, what it should be and both md5s; a corrupt
    gzip stream raises ``IDXError``. Both are ``ValueError``.

    Nothing in the file decides how much is read: a file larger than ``max_bytes`` is
    refused unread, the archive's md5 is compared *before* anything is decompressed,
    and only a file that is not the published archive is gunzipped, incrementally and
    never beyond ``max_bytes`` (a gzip bomb costs at most that much work).
    """
    size = os.stat(path).st_size
    if size > max_bytes:
        raise ChecksumError(f"{path}: {size} bytes, more than any {title} file "
                            f"({max_bytes} bytes at most); not read")
    with open(path, "rb") as f:
        data = f.read()
    file_md5 = md5_hex(data)
    if file_md5 == fspec.gz_md5:  # the published archive: known to unpack correctly
        return decompress_if_gzip(data, source=path)
    payload = decompress_if_gzip(data, source=path, max_bytes=max_bytes)
    payload_md5 = md5_hex(payload)
    if payload_md5 == fspec.raw_md5:
        return payload
    raise ChecksumError(
        f"{path}: checksum mismatch, this is not {title} {fspec.name} (or it is corrupt): "
        f"md5 {file_md5} (uncompressed {payload_md5}), expected {fspec.gz_md5} for the "
        f".gz archive or {fspec.raw_md5} uncompressed")


def find_in_dir(directory, fspec, title):
    """Return ``(path, payload)`` for ``fspec`` in ``directory``, or None if absent.

    Tries ``<name>.gz`` then ``<name>``; a candidate that exists but fails verification
    raises (``ChecksumError``/``IDXError``), so callers decide whether that is fatal.
    """
    for fname in (fspec.gz_name, fspec.name):
        path = os.path.join(directory, fname)
        if os.path.isfile(path):
            return path, read_verified(path, fspec, title)
    return None


def cache_dir(name):
    """The per-user cache directory for dataset ``name`` (downloads land here).

    ``$XDG_CACHE_HOME/minigrad/<name>`` when ``XDG_CACHE_HOME`` is an absolute path
    (as the XDG spec requires), else ``~/.cache/minigrad/<name>``.
    """
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "minigrad", name)


def bundled_dir(name):
    """The directory inside the installed package that holds the bundled copy of ``name``."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "bundled", name)


def search_dirs(spec):
    """The automatic lookup order for ``spec`` as a list of ``(label, directory)``."""
    dirs = []
    env = os.environ.get(ENV_VAR, "")
    if env:
        dirs.append((f"${ENV_VAR}/{spec.name}", os.path.join(env, spec.name)))
        dirs.append((f"${ENV_VAR}", env))
    dirs.append(("cache", cache_dir(spec.name)))
    dirs.extend(("system", d) for d in spec.system_dirs)
    if spec.bundled:
        dirs.append(("bundled with minigrad", bundled_dir(spec.name)))
    return dirs
