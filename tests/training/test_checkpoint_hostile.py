"""Checkpoints built to hurt the reader: refused clearly, in little memory, changing nothing.

Each archive here is crafted with zipfile: deflated members whose ``.npy`` header claims
a huge shape (over highly compressible data, or over a few bytes), header lengths and
zip entry sizes that lie, unknown, duplicated or bzip2/lzma-compressed members, a zip
directory too large for any model, metadata JSON too deep or with invalid characters.
The oracle: ``load_checkpoint`` and ``read_checkpoint_metadata`` raise the documented
ValueError naming the file and the member while tracemalloc's peak stays under
``MEMORY_LIMIT`` (a bomb that is decompressed or allocated shows up in it), and the
model and optimizer keep their state.
"""
import io
import os
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest
from numpy.lib import format as npy_format

from minigrad import checkpoint
from minigrad.checkpoint import load_checkpoint, read_checkpoint_metadata, save_checkpoint
from minigrad.models import dropout_mlp
from minigrad.optim import SGD
from test_checkpoint import trained_pair
from test_checkpoint_robust import assert_state

MEMORY_LIMIT = 50 << 20
BOMB_BYTES = 128 << 20  # what each bomb decompresses to (0.6 MB of deflated zeros)
MIB = 1 << 20


def saved(tmp_path, name="ckpt.npz"):
    """A checkpoint of ``trained_pair(0)`` (model, optimizer, metadata) at tmp_path/name."""
    model, opt = trained_pair(0)
    path = tmp_path / name
    save_checkpoint(path, model, opt, epoch=1, config={"lr": 0.1})
    return path


def npy_members(path):
    """``member name -> raw .npy bytes`` of every member of the archive at ``path``."""
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def npy_header(descr, shape, version=(1, 0)):
    """The bytes of a ``.npy`` header for a ``descr`` array of ``shape``."""
    stream = io.BytesIO()
    write = {(1, 0): npy_format.write_array_header_1_0,
             (2, 0): npy_format.write_array_header_2_0}[version]
    write(stream, {"descr": descr, "fortran_order": False, "shape": shape})
    return stream.getvalue()


def npy_bytes(array):
    stream = io.BytesIO()
    np.save(stream, array)
    return stream.getvalue()


def write_archive(path, members, bomb=None, compression=zipfile.ZIP_STORED):
    """Write ``members`` (a dict or pairs: name, bytes) as a zip, then ``bomb = (name,
    header)``: that header followed by ``BOMB_BYTES`` zeros, deflated."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns of duplicate names
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for name, data in members.items() if isinstance(members, dict) else members:
                archive.writestr(name, data, compress_type=compression)
            if bomb is not None:
                name, header = bomb
                with archive.open(name, "w") as f:
                    f.write(header)
                    zeros = bytes(MIB)
                    for _ in range(BOMB_BYTES // MIB):
                        f.write(zeros)
    return path


def refused(call, *args, match):
    """Run ``call(*args)``; it must raise a ValueError matching ``match`` within
    MEMORY_LIMIT of traced memory. Returns the message."""
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=match) as info:
            call(*args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_LIMIT, f"{peak / MIB:.0f} MiB traced while refusing"
    return str(info.value)


# ---- decompression bombs and lying sizes ---------------------------------------------

@pytest.mark.parametrize("target", ["payload", "model/1.weight", "optimizer/velocity.0"])
def test_deflated_bomb_member_is_refused_before_decompressing(tmp_path, target):
    # The file: an extra (or replacing) deflated member whose header claims
    # float32 (33554432,), 128 MiB of zeros behind it, in a file of about 1 MiB.
    members = npy_members(saved(tmp_path))
    members.pop(target + ".npy", None)
    bomb = write_archive(tmp_path / "bomb.npz", members,
                         bomb=(target + ".npy", npy_header("<f4", (BOMB_BYTES // 4,))))
    assert os.path.getsize(bomb) < 2 * MIB
    model, opt = trained_pair(1)
    before = model.state_dict(), opt.state_dict()
    message = refused(load_checkpoint, bomb, model, opt, match="bomb.npz")
    assert repr(target) in message
    assert_state(model, opt, *before)
    if target == "payload":  # unknown members make the file itself invalid
        refused(read_checkpoint_metadata, bomb, match="bomb.npz.*unknown.*'payload'")


def test_metadata_bomb_is_refused_before_decompressing(tmp_path):
    members = npy_members(saved(tmp_path))
    del members["metadata.npy"]
    bomb = write_archive(tmp_path / "bomb.npz", members,
                         bomb=("metadata.npy", npy_header(f"<U{BOMB_BYTES // 4}", ())))
    for call, args in ((read_checkpoint_metadata, ()), (load_checkpoint, trained_pair(1))):
        refused(call, bomb, *args, match="bomb.npz.*'metadata'.*more than")


def test_npy_header_length_bomb_is_refused(tmp_path):
    # A version-2 header whose 4-byte length claims 4 GiB, over 128 MiB of deflated
    # zeros: numpy reads that many bytes before checking its own header size limit.
    members = npy_members(saved(tmp_path))
    del members["model/1.bias.npy"]
    header = b"\x93NUMPY\x02\x00" + (2**32 - 1).to_bytes(4, "little")
    bomb = write_archive(tmp_path / "bomb.npz", members, bomb=("model/1.bias.npy", header))
    refused(load_checkpoint, bomb, *trained_pair(1), match="bomb.npz.*'model/1.bias'.*header")
    assert read_checkpoint_metadata(bomb)["epoch"] == 1  # which reads no weights


@pytest.mark.parametrize("target", ["payload", "model/1.weight", "metadata", "format"])
def test_huge_shape_over_a_few_bytes_is_a_value_error(tmp_path, target):
    # (10**12,) float64 with 64 bytes of data: numpy tried to allocate 7.28 TiB.
    members = npy_members(saved(tmp_path))
    members[target + ".npy"] = npy_header("<f8", (10**12,)) + bytes(64)
    bad = write_archive(tmp_path / "huge.npz", members)
    message = refused(load_checkpoint, bad, *trained_pair(1), match="huge.npz")
    assert repr(target) in message


def central_entry(data, name):
    """Offset of member ``name``'s entry in the zip directory of the archive ``data``."""
    at = data.rindex(name.encode()) - 46  # the directory comes after every local header
    assert data[at:at + 4] == b"PK\x01\x02"
    return at


def patch(data, at, value, size=4):
    return data[:at] + value.to_bytes(size, "little") + data[at + size:]


@pytest.mark.parametrize("field,value,match", [
    ("file_size", 2**31, "'model/1.weight'.*zip entry holds 2147483648"),
    ("compress_size", 2**31, "'model/1.weight'.*beyond the file"),
    ("overlap", None, "overlap"),
])
def test_zip_entry_sizes_are_checked_against_header_and_file(tmp_path, field, value, match):
    model, opt = trained_pair(0)
    path = tmp_path / "ckpt.npz"
    with open(path, "wb") as f:  # deflated, so compressed and uncompressed sizes differ
        np.savez_compressed(f, **{k[:-4]: np.load(io.BytesIO(v))
                                  for k, v in npy_members(saved(tmp_path, "a.npz")).items()})
    data = path.read_bytes()
    if field == "overlap":  # the first member claims all bytes but one, as its own
        first = next(iter(npy_members(path)))
        data = patch(data, central_entry(data, first) + 20, len(data) - 1)
    else:
        offset = {"compress_size": 20, "file_size": 24}[field]
        data = patch(data, central_entry(data, "model/1.weight.npy") + offset, value)
    bad = tmp_path / "lying.npz"
    bad.write_bytes(data)
    before = model.state_dict(), opt.state_dict()
    refused(load_checkpoint, bad, model, opt, match="lying.npz.*" + match)
    assert_state(model, opt, *before)


def test_zip_directory_larger_than_any_checkpoint_is_refused(tmp_path):
    # 6,000 members with 200-character names: a 1.5 MiB zip directory
    members = npy_members(saved(tmp_path))
    tiny = npy_bytes(np.zeros(0, np.float32))
    members.update((f"model/{i:0200d}.npy", tiny) for i in range(6000))
    bad = write_archive(tmp_path / "wide.npz", members)
    for call, args in ((read_checkpoint_metadata, ()), (load_checkpoint, trained_pair(1))):
        refused(call, bad, *args, match="wide.npz.*zip structure asks for a read of more")


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_bzip2_and_lzma_members_are_refused(tmp_path, method):
    # zipfile decompresses these a whole chunk at a time with no bound on the output
    bad = write_archive(tmp_path / "packed.npz", npy_members(saved(tmp_path)),
                        compression=method)
    refused(read_checkpoint_metadata, bad, match="packed.npz.*compression method")


def test_duplicate_members_are_refused(tmp_path):
    # zipfile and numpy read the last copy, other zip tools the first
    members = list(npy_members(saved(tmp_path)).items())
    members.append(("model/1.bias.npy", npy_bytes(np.full(5, 7, np.float32))))
    bad = write_archive(tmp_path / "twice.npz", members)
    refused(load_checkpoint, bad, *trained_pair(1), match="twice.npz.*'model/1.bias'.*twice")


def raw_header(text):
    """A version-1.0 .npy header whose dictionary text is ``text``, whatever it says."""
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text.encode()


@pytest.mark.parametrize("header,match", [
    (npy_header("<f4", (-1, 5)), "negative dimension"),
    (npy_header("|S4", (6, 5)), "dtype"),
    (b"\x93NUMPY\x03\x00" + npy_header("<f4", (6, 5), version=(2, 0))[8:], "version"),
    (npy_header("<f4", (6, 5), version=(2, 0))[:8] + (600).to_bytes(4, "little"), "612-byte"),
    (raw_header("(" * 40 + "\n"), "TokenError"),  # errors numpy's parser lets out
    (raw_header("{'descr': ',f4', 'fortran_order': False, 'shape': (6, 5), }\n"),
     "SyntaxError"),
    (raw_header("{'descr': '<f4',b'fortran_order': False,'shape': (6, 5), }\n"),
     "TypeError"),
])
def test_malformed_npy_headers_are_value_errors(tmp_path, header, match):
    members = npy_members(saved(tmp_path))
    members["model/1.weight.npy"] = header + bytes(120)
    bad = write_archive(tmp_path / "odd.npz", members)
    refused(load_checkpoint, bad, *trained_pair(1), match="odd.npz.*'model/1.weight'.*" + match)


# ---- metadata ------------------------------------------------------------------------

@pytest.mark.parametrize("text,match", [
    ("[" * 100_000, "not valid JSON"),          # RecursionError inside json
    ("1" * 5000, "not valid JSON"),             # more digits than int() converts
    ("[1, 2]", "not a JSON object"),
])
def test_bad_metadata_json_is_a_value_error(tmp_path, text, match):
    members = npy_members(saved(tmp_path))
    members["metadata.npy"] = npy_bytes(np.array(text))
    bad = write_archive(tmp_path / "meta.npz", members)
    refused(read_checkpoint_metadata, bad, match="meta.npz.*'metadata'.*" + match)


def test_metadata_with_code_points_beyond_unicode_is_refused(tmp_path):
    # numpy turns U+FFFFFFFF into a Python str that should not exist
    members = npy_members(saved(tmp_path))
    members["metadata.npy"] = npy_header("<U2", ()) + b"{\0\0\0" + b"\xff" * 4
    bad = write_archive(tmp_path / "meta.npz", members)
    refused(read_checkpoint_metadata, bad, match="meta.npz.*'metadata'.*not valid unicode")


def test_metadata_over_the_cap_is_refused_on_save_and_on_load(tmp_path, monkeypatch):
    path = saved(tmp_path)
    model, opt = trained_pair(0)
    monkeypatch.setattr(checkpoint, "MAX_METADATA_BYTES", 4000)
    with pytest.raises(ValueError, match="MAX_METADATA_BYTES"):
        save_checkpoint(tmp_path / "big.npz", model, opt, notes="x" * 1000)
    assert not (tmp_path / "big.npz").exists()
    members = npy_members(path)
    members["metadata.npy"] = npy_bytes(np.array('{"notes": "%s"}' % ("x" * 1000)))
    bad = write_archive(tmp_path / "big.npz", members)
    refused(read_checkpoint_metadata, bad, match="big.npz.*'metadata'.*more than the 4000")


# ---- what is read, and what is not ---------------------------------------------------

def big_checkpoint(tmp_path):
    """A checkpoint whose first weight matrix (16 kB) is larger than zipfile's 4 kB read
    ahead, so reading its header does not read (and CRC-check) its data."""
    model = dropout_mlp(40, (100,), 3, rng=0)
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    opt.velocity = [np.ones_like(p.data) for p in model.parameters()]
    path = tmp_path / "big.npz"
    save_checkpoint(path, model, opt, epoch=1)
    return path, model


def corrupt_data_of(path, name):
    """Flip the last data byte of stored member ``name`` (its CRC no longer matches)."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(name)
    end = info.header_offset + 30 + len(name.encode()) + len(info.extra) + info.compress_size
    data[end - 1] ^= 0xFF
    path.write_bytes(bytes(data))


def test_metadata_read_never_touches_the_weights(tmp_path):
    path, model = big_checkpoint(tmp_path)
    corrupt_data_of(path, "model/1.weight.npy")
    assert read_checkpoint_metadata(path) == {"epoch": 1}
    with pytest.raises(ValueError, match="big.npz.*'model/1.weight'.*CRC"):
        load_checkpoint(path, model)


def test_model_only_load_leaves_the_optimizer_unread(tmp_path):
    path, model = big_checkpoint(tmp_path)
    corrupt_data_of(path, "optimizer/velocity.0.npy")
    expected = model.state_dict()
    for p in model.parameters():
        p.data[...] = 0
    assert load_checkpoint(path, model) == {"epoch": 1}
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, expected[name])


def test_fortran_order_member_loads_the_same_values(tmp_path):
    members = npy_members(saved(tmp_path))
    weight = np.load(io.BytesIO(members["model/1.weight.npy"]))
    members["model/1.weight.npy"] = npy_bytes(np.asfortranarray(weight))
    assert b"'fortran_order': True" in members["model/1.weight.npy"][:128]
    path = write_archive(tmp_path / "f.npz", members)
    model, opt = trained_pair(1)
    load_checkpoint(path, model, opt)
    np.testing.assert_array_equal(model.state_dict()["1.weight"], weight)


def test_extra_parameter_shaped_optimizer_entries_are_limited(tmp_path):
    members = npy_members(saved(tmp_path))
    members["optimizer/velocity.9.npy"] = members["optimizer/velocity.0.npy"]
    bad = write_archive(tmp_path / "extra.npz", members)
    model, _ = trained_pair(1)
    opt = SGD(model.parameters(), lr=0.5, momentum=0.5)  # no momentum buffers yet
    before = model.state_dict(), opt.state_dict()
    refused(load_checkpoint, bad, model, opt,
            match="extra.npz.*'optimizer/velocity.9'.*at most one per parameter")
    assert_state(model, opt, *before)


def test_resume_into_a_fresh_optimizer_accepts_its_momentum_buffers(tmp_path):
    path = saved(tmp_path)
    model, _ = trained_pair(1)
    fresh = SGD(model.parameters(), lr=0.5)  # no velocity yet
    load_checkpoint(path, model, fresh)
    saved_opt = trained_pair(0)[1]
    for a, b in zip(fresh.velocity, saved_opt.velocity):
        np.testing.assert_array_equal(a, b)


# ---- the file itself -----------------------------------------------------------------

def test_directory_is_a_clear_error(tmp_path):
    model, _ = trained_pair(0)
    with pytest.raises(IsADirectoryError, match="checkpoint .* is a directory"):
        load_checkpoint(tmp_path, model)
    with pytest.raises(IsADirectoryError, match="checkpoint .* is a directory"):
        read_checkpoint_metadata(tmp_path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="pipe.npz.*not a regular file"):
        read_checkpoint_metadata(fifo)
