"""Dataset files under damage: interrupted downloads, wrong contents with the right checksum, bit flips.

Complements test_data_idx.py and test_data_datasets.py (truncated and corrupt IDX/gzip,
wrong magic, checksum mismatch on download, dropped connections): every case here is
also cut off from the internet by their ``isolated`` fixture and served by the local
``http_server``.
"""
import dataclasses
import gzip
import hashlib
import os
import stat
import tracemalloc

import numpy as np
import pytest

from minigrad.data import DatasetNotFoundError, IDXError, load_mnist, sources, write_idx
from minigrad.data.idx import read_payload
from minigrad.data.locate import MAX_DATASET_FILE_BYTES, ChecksumError, md5_hex, read_verified
from test_data_datasets import NAMES, Fake, fake, http_server, isolated, listing, serve  # noqa: F401


class Interrupt(KeyboardInterrupt):
    pass


@pytest.mark.parametrize("when", ["mid-stream", "before-rename"])
def test_ctrl_c_during_a_download_leaves_nothing_behind(fake, http_server, isolated,
                                                        monkeypatch, when):
    url = serve(http_server, fake)
    if when == "mid-stream":
        real_md5 = hashlib.md5

        class DyingDigest:
            def __init__(self, *args, **kwargs):
                self.digest, self.calls = real_md5(*args, **kwargs), 0

            def update(self, chunk):
                raise Interrupt()

            def hexdigest(self):
                return self.digest.hexdigest()
        monkeypatch.setattr("minigrad.data.download.hashlib.md5", DyingDigest)
    else:
        def die(*args):
            raise Interrupt()
        monkeypatch.setattr("minigrad.data.download.os.replace", die)
    with pytest.raises(Interrupt):
        load_mnist(mirrors=[url])
    monkeypatch.undo()
    assert listing(isolated / "mnist") == []  # no partial file, no .part file


def test_a_stale_part_file_is_ignored(fake, http_server, isolated):
    cache = isolated / "mnist"
    cache.mkdir(parents=True)
    (cache / f".{NAMES[0]}.gz.abc123.part").write_bytes(b"\x1f\x8b half a download")
    fake.check(load_mnist(mirrors=[serve(http_server, fake)]))


def test_a_download_gets_the_mode_open_would_give_and_keeps_a_symlink(fake, http_server,
                                                                     isolated, tmp_path):
    # (downloads were written through mkstemp: mode 0600, and a symlink was replaced)
    cache = isolated / "mnist"
    cache.mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere.gz"
    elsewhere.write_bytes(b"stale")
    os.symlink(elsewhere, cache / (NAMES[0] + ".gz"))
    old_umask = os.umask(0o022)
    try:
        fake.check(load_mnist(mirrors=[serve(http_server, fake)]))
    finally:
        os.umask(old_umask)
    assert (cache / (NAMES[0] + ".gz")).is_symlink()
    assert elsewhere.read_bytes() == fake.gz(NAMES[0])
    for name in NAMES[1:]:
        assert stat.S_IMODE(os.stat(cache / (name + ".gz")).st_mode) == 0o644


@pytest.mark.parametrize("case, message", [
    ("labels-count", "expected 5 uint8 labels"),
    ("images-dtype", "expected uint8 images"),
    ("images-rank", "expected uint8 images"),
    ("labels-dtype", "expected 5 uint8 labels"),
])
def test_right_checksum_wrong_contents_is_an_idx_error(tmp_path, monkeypatch, case, message):
    """A spec whose md5s match files of the wrong shape or dtype: decoding names the file."""
    fake = Fake(tmp_path, "mnist", seed=3)
    replacement = {
        "labels-count": (NAMES[1], np.zeros(4, np.uint8)),
        "images-dtype": (NAMES[0], np.zeros((5, 4, 3), np.int16)),
        "images-rank": (NAMES[0], np.zeros((5, 12), np.uint8)),
        "labels-dtype": (NAMES[1], np.zeros(5, np.int32)),
    }[case]
    name, array = replacement
    write_idx(fake.dir / (name + ".gz"), array)
    gz = (fake.dir / (name + ".gz")).read_bytes()
    files = {f.name: f for f in fake.spec.files}
    files[name] = sources.FileSpec(name, md5_hex(gz), md5_hex(gzip.decompress(gz)))
    spec = dataclasses.replace(fake.spec, **{
        field: files[getattr(fake.spec, field).name]
        for field in ("train_images", "train_labels", "test_images", "test_labels")})
    monkeypatch.setitem(sources.DATASETS, "mnist", spec)
    with pytest.raises(IDXError, match=message) as info:
        load_mnist(fake.dir, download=False)
    assert name in str(info.value)


def test_every_single_byte_corruption_of_a_gz_file_is_refused(tmp_path):
    fake = Fake(tmp_path, "mnist", seed=4)
    """A flipped bit is refused (checksum or gzip error naming the file), except in gzip
    header fields that do not touch the contents (time stamp, OS byte): then the
    uncompressed payload still has the published md5, and is accepted, as documented
    for files recompressed by another tool."""
    fspec = fake.spec.train_images
    data = fake.gz(fspec.name)
    payload = gzip.decompress(data)
    bad = tmp_path / "bad.gz"
    refused = 0
    for offset in range(len(data)):
        for bit in (0x01, 0x80):
            flipped = bytearray(data)
            flipped[offset] ^= bit
            bad.write_bytes(bytes(flipped))
            try:
                got = read_verified(bad, fspec, "MNIST")
            except (ChecksumError, IDXError) as exc:
                assert "bad.gz" in str(exc)
                refused += 1
                continue
            assert got == payload, (offset, bit)
    assert refused > 0.9 * 2 * len(data)
    for cut in range(len(data)):
        bad.write_bytes(data[:cut])
        with pytest.raises((ChecksumError, IDXError)):
            read_verified(bad, fspec, "MNIST")


# ---------------------------------------------------------------- files that attack the reader

def gzip_bomb(path, unpacked_mib):
    """A gzip file of ``unpacked_mib`` MiB of zeros: one 1-MiB member repeated (~1 KiB each)."""
    member = gzip.compress(bytes(2**20), mtime=0)
    with open(path, "wb") as f:
        for _ in range(unpacked_mib):
            f.write(member)
    return path


def test_a_gzip_bomb_in_the_lookup_is_skipped_after_a_bounded_amount_of_work(
        fake, isolated, tmp_path, monkeypatch):
    # 4 GiB of zeros in a 4 MB file named like MNIST's training images, in $MINIGRAD_DATA;
    # it used to be gunzipped whole (8.4 GB of memory) before its md5 was compared.
    env = fake.copy_to(tmp_path / "env")
    gzip_bomb(env / (NAMES[0] + ".gz"), unpacked_mib=4096)
    monkeypatch.setenv("MINIGRAD_DATA", str(env))
    fake.copy_to(isolated / "mnist")          # the real (fake) dataset, further down the list
    tracemalloc.start()
    try:
        fake.check(load_mnist(download=False))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * MAX_DATASET_FILE_BYTES, peak   # the cap, plus the bytes it is read into


def test_the_bomb_is_named_in_the_error_when_nothing_else_is_found(fake, isolated, tmp_path,
                                                                    monkeypatch):
    env = fake.copy_to(tmp_path / "env")
    gzip_bomb(env / (NAMES[0] + ".gz"), unpacked_mib=100)
    monkeypatch.setenv("MINIGRAD_DATA", str(env))
    with pytest.raises(DatasetNotFoundError) as exc:
        load_mnist(download=False)
    assert f"decompresses to more than {MAX_DATASET_FILE_BYTES} bytes" in str(exc.value)
    assert str(env / (NAMES[0] + ".gz")) in str(exc.value)


def test_an_oversized_file_is_refused_unread(tmp_path):
    big = tmp_path / "train-images-idx3-ubyte"
    with open(big, "wb") as f:
        f.truncate(MAX_DATASET_FILE_BYTES + 1)   # sparse: costs no disk
    tracemalloc.start()
    try:
        with pytest.raises(ChecksumError, match="more than any MNIST file"):
            read_verified(str(big), sources.MNIST.train_images, "MNIST")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20, peak


def test_read_idx_caps_decompression_too(tmp_path):
    path = gzip_bomb(tmp_path / "bomb-idx1-ubyte.gz", unpacked_mib=3)
    with pytest.raises(IDXError, match=r"bomb-idx1-ubyte.gz: decompresses to more than 1048576"):
        read_payload(path, max_bytes=2**20)
    assert len(read_payload(path, max_bytes=3 * 2**20)) == 3 * 2**20
