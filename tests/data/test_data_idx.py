"""IDX reader/writer: hand-built oracles, hypothesis round trips, and every corruption."""
import gzip
import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minigrad.data import IDXError, read_idx, write_idx
from minigrad.data.idx import parse_idx

CODES = {np.dtype("uint8"): 0x08, np.dtype("int8"): 0x09, np.dtype("int16"): 0x0B,
         np.dtype("int32"): 0x0C, np.dtype("float32"): 0x0D, np.dtype("float64"): 0x0E}


def idx_bytes(arr):
    """Independent oracle: the IDX encoding of ``arr`` built by hand with struct."""
    arr = np.asarray(arr)
    head = bytes([0, 0, CODES[arr.dtype.newbyteorder("=")], arr.ndim])
    head += b"".join(struct.pack(">I", d) for d in arr.shape)
    return head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def test_hand_computed_example(tmp_path):
    # 2x3 int16, big-endian: 0x0102 = 258, -1 = ff ff.
    data = bytes.fromhex("0000 0B 02 00000002 00000003" "0102 0000 ffff 0001 7fff 8000")
    p = tmp_path / "x-idx2-short"
    p.write_bytes(data)
    got = read_idx(p)
    np.testing.assert_array_equal(got, [[258, 0, -1], [1, 32767, -32768]])
    assert got.dtype == np.int16 and got.dtype.isnative and got.flags.writeable


idx_arrays = hnp.arrays(
    dtype=st.sampled_from(list(CODES)).flatmap(
        lambda dt: st.sampled_from([dt, dt.newbyteorder(">"), dt.newbyteorder("<")])),
    shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5))


@given(arr=idx_arrays, compress=st.booleans())
def test_round_trip(tmp_path_factory, arr, compress):
    p = tmp_path_factory.mktemp("idx") / ("a.gz" if compress else "a")
    write_idx(p, arr)
    raw = p.read_bytes()
    assert raw[:2] == (b"\x1f\x8b" if compress else b"\x00\x00")
    assert (gzip.decompress(raw) if compress else raw) == idx_bytes(arr)
    got = read_idx(p)
    assert got.shape == arr.shape and got.dtype == arr.dtype.newbyteorder("=")
    assert got.dtype.isnative
    np.testing.assert_array_equal(got, arr)  # NaN == NaN here


def test_gzip_detected_by_content_not_name(tmp_path):
    arr = np.arange(12, dtype=np.uint8).reshape(3, 4)
    gz_named_raw = tmp_path / "raw.gz"
    raw_named_gz = tmp_path / "compressed"
    write_idx(gz_named_raw, arr, compress=False)
    write_idx(raw_named_gz, arr, compress=True)
    np.testing.assert_array_equal(read_idx(gz_named_raw), arr)
    np.testing.assert_array_equal(read_idx(raw_named_gz), arr)
    np.testing.assert_array_equal(read_idx(str(raw_named_gz)), arr)


@given(arr=idx_arrays, data=st.data())
def test_every_truncation_is_an_error(arr, data):
    blob = idx_bytes(arr)
    cut = data.draw(st.integers(0, len(blob) - 1))
    with pytest.raises(IDXError, match="<bytes>: (too short|truncated)"):
        parse_idx(blob[:cut])


@given(arr=idx_arrays, extra=st.binary(min_size=1, max_size=9))
def test_trailing_bytes_are_an_error(arr, extra):
    with pytest.raises(IDXError, match="trailing bytes"):
        parse_idx(idx_bytes(arr) + extra)


def _write(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data)
    return p


GOOD = idx_bytes(np.arange(24, dtype=np.uint8).reshape(2, 3, 4))


@pytest.mark.parametrize("data, message", [
    (b"\x01\x00\x08\x01\x00\x00\x00\x01\x07", "wrong magic number 01 00 08 01"),
    (b"PK\x03\x04" + b"\x00" * 20, "wrong magic number"),
    (b"\x00\x00\x07\x01\x00\x00\x00\x01\x07", "unknown IDX type code 0x07"),
    (b"\x00\x00\x08\x00", "0 dimensions"),
    (b"\x00\x00", "too short for an IDX header"),
    (GOOD[:6], "truncated header: 3 dimensions need 16 bytes"),
    (GOOD[:-1], r"truncated payload: header shape \(2, 3, 4\) of uint8 needs 24 bytes"),
    (GOOD + b"\x00", "1 trailing bytes"),
    (gzip.compress(GOOD, mtime=0)[:-12], "truncated gzip stream"),
    (gzip.compress(GOOD, mtime=0) + b"garbage!", "corrupt gzip stream"),
    (gzip.compress(GOOD, mtime=0)[:-8] + b"\x00" * 8, "corrupt gzip stream"),  # bad CRC
    (b"\x1f\x8b" + b"\xff" * 30, "corrupt gzip stream"),
    (gzip.compress(GOOD[:-3], mtime=0), "truncated payload"),
    (gzip.compress(GOOD + b"xy", mtime=0), "2 trailing bytes"),
    # dimensions whose product overflows int64 (it used to give a wrong size)
    (bytes([0, 0, 8, 3]) + b"\xff" * 12 + b"\x00" * 10,
     f"needs {(2**32 - 1) ** 3} bytes of data, file has 10"),
    (bytes([0, 0, 8, 65]) + b"\x00\x00\x00\x01" * 65 + b"\x00",
     "declares 65 dimensions; numpy arrays have at most 64"),
])
def test_corrupt_files_name_the_file_and_the_fault(tmp_path, data, message):
    p = _write(tmp_path, "bad-idx3-ubyte.gz", data)
    with pytest.raises(IDXError, match=message) as info:
        read_idx(p)
    assert str(p) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_bad_arguments(tmp_path):
    with pytest.raises(TypeError, match="path must be"):
        read_idx(3)
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "missing")
    with pytest.raises(TypeError, match="cannot write dtype int64"):
        write_idx(tmp_path / "a", np.zeros(3, dtype=np.int64))
    with pytest.raises(TypeError, match="cannot write dtype bool"):
        write_idx(tmp_path / "a", np.zeros(3, dtype=bool))
    with pytest.raises(ValueError, match="1 to 255 dimensions"):
        write_idx(tmp_path / "a", np.uint8(3))


def test_copy_false_gives_a_read_only_view_for_bytes():
    view = parse_idx(GOOD, copy=False)
    assert not view.flags.writeable and view.dtype == np.uint8
    copy = parse_idx(GOOD)
    assert copy.flags.writeable
    np.testing.assert_array_equal(view, copy)
