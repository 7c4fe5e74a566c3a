"""Download one dataset file safely: verified before it is moved into place.

The file is streamed into a temporary file *in the destination directory* while its
md5 is computed; only if the md5 is the published one is it renamed over the final
name (``minigrad.atomic.replace_atomically``). On any failure (HTTP error, connection
refused, timeout, short read, checksum mismatch, Ctrl-C) the temporary file is deleted,
so a cache never holds a partial or unverified file.

Only ``http://`` and ``https://`` URLs are fetched, with the standard library's urllib.
"""
import hashlib
import http.client
import os
import sys
import urllib.request

from ..atomic import replace_atomically
from .locate import ChecksumError

__all__ = ["DownloadError", "download_file", "check_mirrors", "DOWNLOAD_TIMEOUT"]

#: Seconds a single socket operation (connect, one read) may block.
DOWNLOAD_TIMEOUT = 60.0
_CHUNK = 1 << 20


class DownloadError(OSError):
    """No mirror could deliver a file. ``reasons`` lists ``(url, message)`` per attempt."""

    def __init__(self, message, reasons=()):
        super().__init__(message)
        self.reasons = list(reasons)


def check_mirrors(mirrors):
    """Validate a mirror list: a non-empty sequence of http(s) base URLs, each ending '/'."""
    if isinstance(mirrors, (str, bytes)):
        raise TypeError("mirrors must be a list of base URLs, not a single string")
    mirrors = list(mirrors)
    if not mirrors:
        raise ValueError("mirrors must not be empty")
    out = []
    for m in mirrors:
        if not isinstance(m, str) or not m.startswith(("http://", "https://")):
            raise ValueError(f"mirror {m!r} is not an http:// or https:// URL")
        out.append(m if m.endswith("/") else m + "/")
    return out


def _fetch(url, dest, expected_md5, timeout):
    """Fetch ``url`` into ``dest`` via a verified temporary file (see module docstring)."""
    digest = hashlib.md5(usedforsecurity=False)
    received = 0
    request = urllib.request.Request(url, headers={"User-Agent": "minigrad"})
    with replace_atomically([dest]) as (out,), urllib.request.urlopen(request, timeout=timeout) as r:
        length = r.headers.get("Content-Length")
        while chunk := r.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
            received += len(chunk)
        if length is not None and length.isdigit() and received != int(length):
            raise DownloadError(f"connection closed after {received} of {length} bytes")
        got = digest.hexdigest()
        if got != expected_md5:
            raise ChecksumError(f"checksum mismatch, downloaded {received} bytes with "
                                f"md5 {got}, expected {expected_md5}; the file was discarded")


def download_file(fspec, mirrors, directory, *, timeout=None, verbose=False):
    """Download ``fspec.gz_name`` from the first mirror that has it into ``directory``.

    Mirrors are tried in order; each is ``base_url + fspec.gz_name``. Returns the final
    path. If every mirror fails, raises :class:`ChecksumError` when at least one served
    bytes with the wrong md5 (a corrupt or different file), else :class:`DownloadError`
    (connection refused, timeout, HTTP 404, ...). Both messages list every attempt.
    """
    mirrors = check_mirrors(mirrors)
    timeout = DOWNLOAD_TIMEOUT if timeout is None else timeout
    os.makedirs(directory, exist_ok=True)
    dest = os.path.join(directory, fspec.gz_name)
    reasons, bad_checksum = [], False
    for base in mirrors:
        url = base + fspec.gz_name
        if verbose:
            print(f"minigrad.data: downloading {url}", file=sys.stderr)
        try:
            _fetch(url, dest, fspec.gz_md5, timeout)
            return dest
        except ChecksumError as e:
            bad_checksum = True
            reasons.append((url, str(e)))
        except (OSError, http.client.HTTPException) as e:  # URLError, HTTPError, timeouts
            reasons.append((url, f"{type(e).__name__}: {e}"))
        if verbose:
            print(f"minigrad.data:   failed: {reasons[-1][1]}", file=sys.stderr)
    listing = "\n".join(f"  - {url}: {msg}" for url, msg in reasons)
    if bad_checksum:
        raise ChecksumError(f"could not download a verified {fspec.gz_name}:\n{listing}")
    raise DownloadError(f"could not download {fspec.gz_name}:\n{listing}", reasons)
