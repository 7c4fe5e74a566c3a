"""Replace files atomically: a reader sees the old file or the new one, never a part of one.

The pattern, used for checkpoints, training histories and downloads: write a temporary
file in the destination's own directory (so that the rename stays on one file system),
flush and fsync it, ``os.replace`` it over the destination (atomic on POSIX and
Windows), then fsync the directory so that the rename survives a power cut. On any
error, Ctrl-C included, every temporary file is removed and no destination is touched.

Two details that are easy to get wrong, and that this module gets right:

* a destination that is a symlink: its *target* is replaced and the link stays;
* permissions: an overwritten file keeps its mode, a new one gets what ``open()``
  would give it (``0o666`` less the umask), not ``tempfile.mkstemp``'s ``0o600``.

Example::

    with replace_atomically(["a.json", "a.csv"], "w") as (json_file, csv_file):
        json_file.write("{}")
        csv_file.write("epoch\\n")
    # both files are complete before either is renamed; on an error neither is
"""
import contextlib
import os
import secrets
import stat

__all__ = ["replace_atomically"]


@contextlib.contextmanager
def replace_atomically(paths, mode="wb"):
    """Open a temporary file beside each of ``paths``; on success move each over its path.

    Yields the list of open files (``mode`` ``"wb"``, or ``"w"``: UTF-8 text with no
    newline translation). Only when the block and every flush and fsync succeeded are
    the files renamed, one right after the other; on any error every temporary file is
    removed and no path is touched. The directories must exist.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"replace_atomically: mode must be 'wb' or 'w', got {mode!r}")
    targets = [os.path.realpath(p) for p in paths]  # through a symlink: its target
    temps = [os.path.join(os.path.dirname(t), f".{os.path.basename(t)}.{secrets.token_hex(8)}.tmp")
             for t in targets]
    kept_modes = [_mode_of(t) for t in targets]
    text = {} if mode == "wb" else {"newline": "", "encoding": "utf-8"}
    files = []
    try:
        for tmp in temps:
            # O_EXCL: never write into a file someone else made; 0o666: open()'s mode
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                         0o666)
            try:
                files.append(os.fdopen(fd, mode, **text))
            except BaseException:
                os.close(fd)
                raise
        yield files
        for f in files:
            f.flush()
            os.fsync(f.fileno())
            f.close()
        for tmp, kept in zip(temps, kept_modes):
            if kept is not None:
                os.chmod(tmp, kept)
        for tmp, target in zip(temps, targets):
            os.replace(tmp, target)
        for directory in dict.fromkeys(os.path.dirname(t) for t in targets):
            _fsync_directory(directory)
    finally:
        for f in files:
            f.close()
        for tmp in temps:
            with contextlib.suppress(FileNotFoundError):
                os.remove(tmp)


def _mode_of(path):
    """The permission bits of an existing file at ``path``, or None if there is none."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return None


def _fsync_directory(directory):
    """Make a rename durable (POSIX); a no-op where directories cannot be opened."""
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
