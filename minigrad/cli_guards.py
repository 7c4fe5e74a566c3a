"""The guards of ``minigrad train``: what is refused before work starts, and how a run that
stops early ends.

Before any work (``check_destinations``): ``--out`` and the directory of
``--checkpoint`` must accept a new file, which is tried by creating and removing one
(permission bits say nothing for root, and nothing about read-only mounts), and
``--data-dir`` with ``--no-download`` must be a directory. A refusal is an argparse error
(exit status 2, no traceback), like a bad flag value.

Once training has started, nothing is a usage error any more (``stop_status``).
Divergence (``FloatingPointError``) or a failed write (``OSError``) prints one ``error:``
line and exits with status 1; Ctrl-C exits with 130; anything else is a bug and shows
its traceback. The message says which epoch the ``--checkpoint`` file holds, or that
this run wrote none (``checkpoint_note``).
"""
import os
import tempfile

#: the files ``--out`` receives
OUT_FILES = ("history.json", "history.csv", "learning_curve.png")


def check_destinations(args, error):
    """argparse ``error`` unless every place the run reads from or writes to is usable."""
    if args.checkpoint is not None:
        _check_file_destination("--checkpoint", args.checkpoint, error)
    if args.out is not None:
        _check_out_directory(args.out, error)
    if args.data_dir is not None and not os.path.isdir(args.data_dir) and args.no_download:
        error(f"--data-dir: {args.data_dir!r} is not a directory")


def _check_file_destination(flag, path, error):
    """argparse ``error`` unless ``path`` names a file that can be (re)written."""
    if os.path.isdir(path):
        error(f"{flag}: {path!r} is a directory, not a file")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        error(f"{flag}: directory {directory!r} does not exist")
    _check_can_create_in(flag, directory, error)


def _check_out_directory(out, error):
    """argparse ``error`` unless ``out`` is or can become a directory holding OUT_FILES."""
    out = os.path.abspath(out)
    existing = out
    while not os.path.exists(existing):  # makedirs will create the rest
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        error(f"--out: {existing!r} is not a directory")
    for path in (os.path.join(out, name) for name in OUT_FILES):
        if os.path.isdir(path):
            error(f"--out: {path!r} is a directory, not a file")
    _check_can_create_in("--out", existing, error)


def _check_can_create_in(flag, directory, error):
    """argparse ``error`` unless a file can be created in ``directory``: try it.

    ``os.access`` answers from the permission bits, which root ignores and which know
    nothing of a read-only mount; only creating a file tells.
    """
    try:
        fd, probe = tempfile.mkstemp(dir=directory, prefix=".minigrad-write-test-")
    except OSError as exc:
        error(f"{flag}: cannot create files in {directory!r}: {exc.strerror or exc}")
    os.close(fd)
    os.remove(probe)


def stop_status(exc):
    """``(exit status, message)`` of a run stopped by ``exc``; the status is None for a bug.

    A bug's traceback must follow (the caller re-raises it once the finished epochs are
    saved); the others end with one line and a status.
    """
    if isinstance(exc, KeyboardInterrupt):
        return 130, "interrupted"
    if isinstance(exc, (FloatingPointError, OSError)):
        return 1, f"error: {exc}"
    return None, "error: training stopped by an unexpected exception"


def file_identity(path):
    """``path``'s inode and modification time, or None: ``os.replace`` changes both."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size


def checkpoint_note(checkpoint, identity_before):
    """What the --checkpoint file holds after a run stopped early, for its message.

    Read from the file itself, so it is right even when the run stopped between
    writing a checkpoint and reporting its epoch; a file this run did not replace
    (same inode and time as at the start) was not written by it.
    """
    if checkpoint is None:
        return ""
    identity = file_identity(checkpoint)
    if identity is None or identity == identity_before:
        state = "does not exist" if identity is None else "is unchanged"
        return f"; no checkpoint was written in this run ({checkpoint} {state})"
    from .checkpoint import read_checkpoint_metadata
    try:
        epoch = read_checkpoint_metadata(checkpoint)["epoch"]
    except (ValueError, KeyError, OSError) as exc:  # replaced by someone else meanwhile
        return f"; {checkpoint} was replaced during the run but cannot be read ({exc})"
    return f"; {checkpoint} holds epoch {epoch} (continue with --resume {checkpoint})"
