"""What the MNIST-style datasets are: their four files, checksums, mirrors and homes.

Both MNIST and Fashion-MNIST ship four files with the *same* names, so a file is
identified by its checksum, never by its name. Each file has two md5s:

* ``gz_md5``: the gzip archive as published upstream (what a mirror serves; a download
  must match it before it is moved into place);
* ``raw_md5``: the uncompressed IDX bytes. A local copy is accepted if either matches,
  so a raw (gunzipped) file works, and so does one gzip-compressed by another tool.
  Debian's ``dataset-fashion-mnist`` package, for instance, ships gzip files
  recompressed without the original file name in the gzip header: their archive md5s
  differ from upstream's, their contents are identical.

``DATASETS`` is looked up at call time, so tests can swap a spec for a tiny fake.
"""
from dataclasses import dataclass

__all__ = ["FileSpec", "DatasetSpec", "MNIST", "FASHION_MNIST", "DATASETS"]


@dataclass(frozen=True)
class FileSpec:
    """One IDX file: its base name (without ``.gz``) and the md5s that identify it."""
    name: str
    gz_md5: str
    raw_md5: str

    @property
    def gz_name(self):
        """The published (and downloaded) file name, ``name + ".gz"``."""
        return self.name + ".gz"


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset of four IDX files (train/test images/labels) and where to find them.

    ``mirrors`` are base URLs tried in order (a file's URL is ``mirror + gz_name``);
    ``system_dirs`` are directories where an operating-system package installs it;
    ``bundled`` says that the published files ship inside this package (looked up
    after everything on disk, before a download); ``how_to_get`` is a hint for the
    "not found" message.
    """
    name: str
    title: str
    train_images: FileSpec
    train_labels: FileSpec
    test_images: FileSpec
    test_labels: FileSpec
    mirrors: tuple = ()
    system_dirs: tuple = ()
    bundled: bool = False
    how_to_get: str = ""

    @property
    def files(self):
        """The four files in the order (train images, train labels, test images, test labels)."""
        return (self.train_images, self.train_labels, self.test_images, self.test_labels)


MNIST = DatasetSpec(
    name="mnist",
    title="MNIST",
    train_images=FileSpec("train-images-idx3-ubyte", "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                          "6bbc9ace898e44ae57da46a324031adb"),
    train_labels=FileSpec("train-labels-idx1-ubyte", "d53e105ee54ea40749a09fcbcd1e9432",
                          "a25bea736e30d166cdddb491f175f624"),
    test_images=FileSpec("t10k-images-idx3-ubyte", "9fb629c4189551a2d022fa330f9573f3",
                         "2646ac647ad5339dbf082846283269ea"),
    test_labels=FileSpec("t10k-labels-idx1-ubyte", "ec29112dd5afa0611ce80d1b7f02629c",
                         "27ae3e4e09519cfbb04c329615203637"),
    mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",),
    bundled=True,  # 11 MB of gzip in minigrad/data/bundled/mnist, so no network is needed
)

FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    title="Fashion-MNIST",
    train_images=FileSpec("train-images-idx3-ubyte", "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                          "f4a8712d7a061bf5bd6d2ca38dc4d50a"),
    train_labels=FileSpec("train-labels-idx1-ubyte", "25c81989df183df01b3e8a0aad5dffbe",
                          "9018921c3c673c538a1fc5bad174d6f9"),
    test_images=FileSpec("t10k-images-idx3-ubyte", "bef4ecab320f06d8554ea6380940ec79",
                         "8181f5470baa50b63fa0f6fddb340f0a"),
    test_labels=FileSpec("t10k-labels-idx1-ubyte", "bb300cfdad3c16e7a12a480ee83cd310",
                         "15d484375f8d13e6eb1aabb0c3f46965"),
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    system_dirs=("/usr/share/datasets/fashion-mnist",),  # Debian: dataset-fashion-mnist
    how_to_get=("On Debian or Ubuntu, `sudo apt-get install dataset-fashion-mnist` installs "
                "it in /usr/share/datasets/fashion-mnist; elsewhere download the four .gz "
                "files from https://github.com/zalandoresearch/fashion-mnist (data/fashion) "
                "into the directory above, or set MINIGRAD_DATA."),
)

DATASETS = {spec.name: spec for spec in (MNIST, FASHION_MNIST)}
