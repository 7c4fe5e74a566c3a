"""MNIST-style loaders: lookup order, checksums, downloads from a local server, real data.

Every test here is cut off from the internet: the ``isolated`` fixture points all
dataset mirrors at a closed port on 127.0.0.1, and downloads are only ever served by
``http_server``, a bounded ``http.server`` on 127.0.0.1 that stops at teardown (and by
itself after a minute at the latest). Fake datasets are a few tiny images whose md5s
are patched into ``sources.DATASETS``, so no 10 MB file is copied around.
"""
import dataclasses
import gzip
import http.server
import os
import shutil
import socket
import threading

import numpy as np
import pytest

from minigrad.data import (ChecksumError, DatasetNotFoundError, load_dataset,
                           load_fashion_mnist, load_mnist, locate_dataset, sources, write_idx)
from minigrad.data import locate
from minigrad.data.download import check_mirrors
from minigrad.data.locate import bundled_dir, md5_hex

NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def closed_port_url():
    """A base URL on 127.0.0.1 where nothing listens: connections are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No $MINIGRAD_DATA, a private cache dir, and mirrors that cannot reach the internet."""
    monkeypatch.delenv("MINIGRAD_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    dead = closed_port_url()
    for name, spec in list(sources.DATASETS.items()):
        monkeypatch.setitem(sources.DATASETS, name,
                            dataclasses.replace(spec, mirrors=(dead,), system_dirs=()))
    return tmp_path / "xdg" / "minigrad"


class Fake:
    """A tiny dataset written as four .gz IDX files in ``self.dir``, installed as ``name``."""

    def __init__(self, root, name, seed):
        rng = np.random.default_rng(seed)
        self.arrays = {
            NAMES[0]: rng.integers(0, 256, (5, 4, 3), dtype=np.uint8),
            NAMES[1]: rng.integers(0, 10, 5, dtype=np.uint8),
            NAMES[2]: rng.integers(0, 256, (2, 4, 3), dtype=np.uint8),
            NAMES[3]: rng.integers(0, 10, 2, dtype=np.uint8),
        }
        self.name, self.dir = name, root / f"src-{name}"
        self.dir.mkdir()
        files = []
        for fname, arr in self.arrays.items():
            write_idx(self.dir / (fname + ".gz"), arr)
            gz = (self.dir / (fname + ".gz")).read_bytes()
            files.append(sources.FileSpec(fname, md5_hex(gz), md5_hex(gzip.decompress(gz))))
        self.spec = sources.DatasetSpec(name, f"Fake-{name}", *files,
                                        mirrors=sources.DATASETS[name].mirrors)

    def gz(self, fname):
        return (self.dir / (fname + ".gz")).read_bytes()

    def copy_to(self, directory, raw=False, only=NAMES):
        directory.mkdir(parents=True, exist_ok=True)
        for fname in only:
            data = self.gz(fname)
            if raw:
                (directory / fname).write_bytes(gzip.decompress(data))
            else:
                (directory / (fname + ".gz")).write_bytes(data)
        return directory

    def check(self, ds):
        x_train, y_train, x_test, y_test = ds
        assert x_train.shape == (5, 12) and x_test.shape == (2, 12)
        assert x_train.dtype == np.float32 and y_train.dtype == np.int64
        scale = np.float32(255)
        np.testing.assert_array_equal(x_train, self.arrays[NAMES[0]].reshape(5, 12) / scale)
        np.testing.assert_array_equal(y_train, self.arrays[NAMES[1]])
        np.testing.assert_array_equal(x_test, self.arrays[NAMES[2]].reshape(2, 12) / scale)
        np.testing.assert_array_equal(y_test, self.arrays[NAMES[3]])


@pytest.fixture
def fake(monkeypatch, tmp_path):
    f = Fake(tmp_path, "mnist", seed=1)
    monkeypatch.setitem(sources.DATASETS, "mnist", f.spec)
    return f


@pytest.fixture
def fake_fashion(monkeypatch, tmp_path):
    f = Fake(tmp_path, "fashion-mnist", seed=2)
    monkeypatch.setitem(sources.DATASETS, "fashion-mnist", f.spec)
    return f


def where(name="mnist", **kw):
    return set(map(os.path.dirname, locate_dataset(name, download=False, **kw).values()))


# ---------------------------------------------------------------- lookup order

def test_explicit_path(fake, tmp_path):
    d = fake.copy_to(tmp_path / "mine")
    fake.check(load_mnist(d, download=False))
    fake.check(load_mnist(str(d), download=False))
    assert where(path=d) == {str(d)}


def test_explicit_path_beats_everything(fake, tmp_path, monkeypatch, isolated):
    env = fake.copy_to(tmp_path / "env")
    fake.copy_to(env / "mnist")
    fake.copy_to(isolated / "mnist")
    monkeypatch.setenv("MINIGRAD_DATA", str(env))
    mine = fake.copy_to(tmp_path / "mine")
    assert where(path=mine) == {str(mine)}


def test_env_subdir_then_env_then_cache(fake, tmp_path, monkeypatch, isolated):
    env = tmp_path / "env"
    monkeypatch.setenv("MINIGRAD_DATA", str(env))
    cache = fake.copy_to(isolated / "mnist")
    assert where() == {str(cache)}
    fake.copy_to(env)
    assert where() == {str(env)}
    fake.copy_to(env / "mnist")
    assert where() == {str(env / "mnist")}
    fake.check(load_mnist(download=False))


def test_files_may_come_from_several_places_and_be_raw(fake, tmp_path, monkeypatch, isolated):
    env = tmp_path / "env"
    monkeypatch.setenv("MINIGRAD_DATA", str(env))
    fake.copy_to(env, raw=True, only=NAMES[:2])
    fake.copy_to(isolated / "mnist", only=NAMES[2:])
    paths = locate_dataset("mnist", download=False)
    assert paths[NAMES[0]] == str(env / NAMES[0])  # raw, identified by its content md5
    assert paths[NAMES[3]] == str(isolated / "mnist" / (NAMES[3] + ".gz"))
    fake.check(load_mnist(download=False))


def test_wrong_dataset_in_env_is_skipped(fake, fake_fashion, tmp_path, monkeypatch, isolated):
    # CI-like: MINIGRAD_DATA holds MNIST directly, and we load Fashion-MNIST.
    env = fake.copy_to(tmp_path / "env")
    monkeypatch.setenv("MINIGRAD_DATA", str(env))
    fake.check(load_mnist(download=False))
    with pytest.raises(DatasetNotFoundError) as info:
        load_fashion_mnist(download=False)
    msg = str(info.value)
    assert "skipped" in msg and "checksum mismatch" in msg and str(env) in msg
    assert "Fake-fashion-mnist" in msg and "download=False" in msg
    fake_fashion.copy_to(isolated / "fashion-mnist")
    fake_fashion.check(load_fashion_mnist(download=False))


def test_system_dirs_come_last(fake, tmp_path, monkeypatch, isolated):
    system = fake.copy_to(tmp_path / "usr-share")
    monkeypatch.setitem(sources.DATASETS, "mnist",
                        dataclasses.replace(fake.spec, system_dirs=(str(system),)))
    assert where() == {str(system)}
    fake.copy_to(isolated / "mnist")
    assert where() == {str(isolated / "mnist")}


def test_corrupt_file_in_auto_location_is_skipped(fake, tmp_path, monkeypatch, isolated):
    env = fake.copy_to(tmp_path / "env")
    (env / (NAMES[0] + ".gz")).write_bytes(fake.gz(NAMES[0])[:-10])  # truncated gzip
    monkeypatch.setenv("MINIGRAD_DATA", str(env))
    fake.copy_to(isolated / "mnist", only=NAMES[:1])
    paths = locate_dataset("mnist", download=False)
    assert paths[NAMES[0]] == str(isolated / "mnist" / (NAMES[0] + ".gz"))
    assert paths[NAMES[1]] == str(env / (NAMES[1] + ".gz"))


def test_explicit_path_with_wrong_file_is_an_error(fake, fake_fashion, tmp_path, monkeypatch):
    good_env = fake.copy_to(tmp_path / "env")  # a valid copy elsewhere must not be used
    monkeypatch.setenv("MINIGRAD_DATA", str(good_env))
    mine = fake.copy_to(tmp_path / "mine")
    shutil.copy(fake_fashion.dir / (NAMES[1] + ".gz"), mine / (NAMES[1] + ".gz"))
    with pytest.raises(ChecksumError, match=f"{NAMES[1]}.gz: checksum mismatch, this is not "
                                            f"Fake-mnist {NAMES[1]}"):
        load_mnist(mine)
    (mine / (NAMES[1] + ".gz")).write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(ValueError, match="corrupt gzip stream"):
        load_mnist(mine)


def test_explicit_path_missing_files(fake, tmp_path):
    mine = fake.copy_to(tmp_path / "mine", only=NAMES[:3])
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist(mine, download=False)
    msg = str(info.value)
    assert f"missing: {NAMES[3]}" in msg and f"in {mine}" in msg
    assert all(n + ".gz" in msg for n in NAMES)
    with pytest.raises(NotADirectoryError):
        load_mnist(mine / (NAMES[0] + ".gz"), download=False)


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown dataset 'cifar'"):
        load_dataset("cifar")
    with pytest.raises(TypeError, match="path must be"):
        load_mnist(42)
    with pytest.raises(ValueError, match="not an http"):
        load_mnist(mirrors=["file:///etc/"])
    with pytest.raises(TypeError, match="list of base URLs"):
        load_mnist(mirrors="http://127.0.0.1/")
    with pytest.raises(ValueError, match="must not be empty"):
        load_mnist(mirrors=[])
    assert check_mirrors(["http://127.0.0.1:1/a"]) == ["http://127.0.0.1:1/a/"]


def test_published_tables_are_sane():
    for spec in (sources.MNIST, sources.FASHION_MNIST):
        assert [f.name for f in spec.files] == list(NAMES)
        for f in spec.files:
            assert len(f.gz_md5) == 32 and len(f.raw_md5) == 32
        assert all(m.startswith(("http://", "https://")) and m.endswith("/")
                   for m in spec.mirrors)
    assert sources.FASHION_MNIST.train_images.gz_md5 == "8d4fb7e6c68d591d4c3dfef9ec88bf0d"
    mnist = {f.raw_md5 for f in sources.MNIST.files}
    assert not mnist & {f.raw_md5 for f in sources.FASHION_MNIST.files}


# ---------------------------------------------------------------- downloads

class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        server = self.server
        server.log.append(self.path)
        assert len(server.log) <= 50, "runaway download loop"
        route = server.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        body, length = route if isinstance(route, tuple) else (route, len(route))
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, *args):  # keep test output quiet
        pass


@pytest.fixture
def http_server():
    """A local file server on 127.0.0.1: set ``.routes[path] = bytes``; ``.log`` of paths.

    A route may be ``(body, claimed_length)`` to simulate a connection that drops early.
    """
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.routes, server.log = {}, []
    server.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    deadline = threading.Timer(60, server.shutdown)  # stops by itself, whatever happens
    deadline.daemon = True
    deadline.start()
    try:
        yield server
    finally:
        deadline.cancel()
        server.shutdown()
        server.server_close()
        thread.join(5)


def serve(server, fake, prefix="/good/"):
    for fname in NAMES:
        server.routes[prefix + fname + ".gz"] = fake.gz(fname)
    return server.base + prefix


def listing(directory):
    return sorted(os.listdir(directory)) if os.path.isdir(directory) else []


def test_download_success(fake, http_server, isolated):
    url = serve(http_server, fake)
    fake.check(load_mnist(mirrors=[url]))
    assert listing(isolated / "mnist") == sorted(n + ".gz" for n in NAMES)
    assert all((isolated / "mnist" / (n + ".gz")).read_bytes() == fake.gz(n) for n in NAMES)
    assert len(http_server.log) == 4
    fake.check(load_mnist(mirrors=[url]))  # second time: from the cache, no request
    assert len(http_server.log) == 4


def test_module_level_mirrors_are_used(fake, http_server, monkeypatch, isolated):
    url = serve(http_server, fake)
    monkeypatch.setitem(sources.DATASETS, "mnist", dataclasses.replace(fake.spec, mirrors=(url,)))
    fake.check(load_mnist())
    assert len(http_server.log) == 4


def test_only_missing_files_are_downloaded(fake, http_server, isolated):
    url = serve(http_server, fake)
    fake.copy_to(isolated / "mnist", only=NAMES[1:])
    fake.check(load_mnist(mirrors=[url]))
    assert http_server.log == [f"/good/{NAMES[0]}.gz"]


def test_download_into_explicit_path(fake, http_server, tmp_path):
    url = serve(http_server, fake)
    mine = tmp_path / "new" / "dir"
    fake.check(load_mnist(mine, mirrors=[url]))
    assert listing(mine) == sorted(n + ".gz" for n in NAMES)


def test_stale_cache_file_is_replaced(fake, http_server, isolated):
    url = serve(http_server, fake)
    cache = fake.copy_to(isolated / "mnist")
    (cache / (NAMES[0] + ".gz")).write_bytes(b"stale partial junk")
    fake.check(load_mnist(mirrors=[url]))
    assert (cache / (NAMES[0] + ".gz")).read_bytes() == fake.gz(NAMES[0])
    assert listing(cache) == sorted(n + ".gz" for n in NAMES)


def test_checksum_mismatch_leaves_nothing_behind(fake, http_server, isolated):
    url = serve(http_server, fake)
    http_server.routes[f"/good/{NAMES[0]}.gz"] = b"\x1f\x8b" + b"not the real file" * 100
    with pytest.raises(ChecksumError) as info:
        load_mnist(mirrors=[url])
    msg = str(info.value)
    assert "checksum mismatch" in msg and f"{url}{NAMES[0]}.gz" in msg and "discarded" in msg
    assert fake.spec.train_images.gz_md5 in msg
    assert listing(isolated / "mnist") == []  # no partial, no temp file


def test_404_on_first_mirror_then_second(fake, http_server, isolated):
    url = serve(http_server, fake)
    fake.check(load_mnist(mirrors=[http_server.base + "/missing/", url]))
    assert http_server.log[:2] == [f"/missing/{NAMES[0]}.gz", f"/good/{NAMES[0]}.gz"]
    assert listing(isolated / "mnist") == sorted(n + ".gz" for n in NAMES)


def test_bad_first_mirror_then_good_second(fake, http_server, isolated):
    url = serve(http_server, fake)
    serve(http_server, fake, prefix="/bad/")
    http_server.routes[f"/bad/{NAMES[0]}.gz"] = b"wrong bytes"
    fake.check(load_mnist(mirrors=[http_server.base + "/bad/", url]))
    assert listing(isolated / "mnist") == sorted(n + ".gz" for n in NAMES)


def test_connection_dropped_midway_leaves_nothing_behind(fake, http_server, isolated):
    url = serve(http_server, fake)
    body = fake.gz(NAMES[0])
    http_server.routes[f"/good/{NAMES[0]}.gz"] = (body[:20], len(body))
    with pytest.raises(DatasetNotFoundError, match=f"connection closed after 20 of {len(body)}"):
        load_mnist(mirrors=[url])
    assert listing(isolated / "mnist") == []


def test_offline_says_where_to_put_the_files(fake, isolated):
    dead = closed_port_url()
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist(mirrors=[dead, closed_port_url()])
    msg = str(info.value)
    assert "Put these four files" in msg and str(isolated / "mnist") in msg
    assert all(n + ".gz" in msg for n in NAMES)
    assert "MINIGRAD_DATA" in msg and "download failed" in msg and dead in msg
    assert listing(isolated / "mnist") == []
    assert isinstance(info.value, FileNotFoundError)


def test_download_false_makes_no_request(fake, http_server):
    url = serve(http_server, fake)
    with pytest.raises(DatasetNotFoundError, match="download=False"):
        load_mnist(download=False, mirrors=[url])
    assert http_server.log == []


# ---------------------------------------------------------------- real data

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def check_real(ds, train_counts, test_counts):
    x_train, y_train, x_test, y_test = ds
    assert x_train.shape == (60000, 784) and x_test.shape == (10000, 784)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    for x in (x_train, x_test):
        assert x.dtype == np.float32 and x.min() == 0.0 and x.max() == 1.0
    for y, counts in ((y_train, train_counts), (y_test, test_counts)):
        assert y.dtype == np.int64 and y.min() == 0 and y.max() == 9
        assert np.bincount(y, minlength=10).tolist() == counts


def test_real_mnist_is_bundled_and_loads_with_no_network(isolated):
    # isolated: $MINIGRAD_DATA unset, an empty cache, mirrors on a closed port
    ds = load_mnist(download=False)
    check_real(ds, MNIST_TRAIN_COUNTS, MNIST_TEST_COUNTS)
    assert ds.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    bundled = bundled_dir("mnist")
    assert locate_dataset("mnist", download=False) == {
        n: os.path.join(bundled, n + ".gz") for n in NAMES}
    # the bundled files are the published archives, byte for byte
    for fspec in sources.MNIST.files:
        with open(os.path.join(bundled, fspec.gz_name), "rb") as f:
            assert md5_hex(f.read()) == fspec.gz_md5
    # independent decoding of the test images: skip the 16-byte header, divide by 255
    with gzip.open(os.path.join(bundled, "t10k-images-idx3-ubyte.gz")) as f:
        pixels = np.frombuffer(f.read()[16:], dtype=np.uint8).reshape(10000, 784)
    np.testing.assert_array_equal(ds.x_test, pixels.astype(np.float32) / np.float32(255))


def link_real_mnist(directory):
    """Symlink the bundled MNIST files into ``directory`` (a copy elsewhere on disk)."""
    directory.mkdir(parents=True, exist_ok=True)
    for n in NAMES:
        os.symlink(os.path.join(bundled_dir("mnist"), n + ".gz"), directory / (n + ".gz"))
    return directory


def test_env_and_cache_come_before_the_bundled_copy(isolated, tmp_path, monkeypatch):
    cache = link_real_mnist(isolated / "mnist")
    assert where() == {str(cache)}
    env = link_real_mnist(tmp_path / "env")
    monkeypatch.setenv("MINIGRAD_DATA", str(env))
    assert where() == {str(env)}


def test_a_corrupt_bundled_file_is_skipped_not_read(isolated, tmp_path, monkeypatch):
    fake_bundle = link_real_mnist(tmp_path / "bundled" / "mnist")
    os.unlink(fake_bundle / "t10k-labels-idx1-ubyte.gz")
    (fake_bundle / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"not MNIST"))
    monkeypatch.setattr(locate, "bundled_dir", lambda name: str(tmp_path / "bundled" / name))
    with pytest.raises(DatasetNotFoundError) as exc:
        load_mnist(download=False)
    msg = str(exc.value)
    assert "missing: t10k-labels-idx1-ubyte" in msg and "checksum mismatch" in msg
    assert "bundled with minigrad" in msg


def test_real_fashion_mnist(monkeypatch):
    debian = "/usr/share/datasets/fashion-mnist"
    if not os.path.isdir(debian):
        pytest.skip(f"{debian} absent (apt-get install dataset-fashion-mnist)")
    monkeypatch.setitem(sources.DATASETS, "fashion-mnist",
                        dataclasses.replace(sources.DATASETS["fashion-mnist"],
                                            system_dirs=(debian,)))
    # MINIGRAD_DATA holding MNIST (same file names): skipped by checksum
    monkeypatch.setenv("MINIGRAD_DATA", bundled_dir("mnist"))
    ds = load_fashion_mnist(download=False)
    check_real(ds, [6000] * 10, [1000] * 10)
    assert ds.y_train[:5].tolist() == [9, 0, 0, 3, 0]
    assert set(locate_dataset("fashion-mnist", download=False).values()) == {
        os.path.join(debian, n + ".gz") for n in NAMES}


def test_fashion_mnist_not_found_says_how_to_get_it():
    with pytest.raises(DatasetNotFoundError) as exc:
        load_fashion_mnist(download=False)
    msg = str(exc.value)
    assert "apt-get install dataset-fashion-mnist" in msg and "MINIGRAD_DATA" in msg
    assert "bundled" not in msg  # only MNIST ships with the package
