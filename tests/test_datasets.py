import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits as sklearn_load_digits

import skdec.datasets as ds
from skdec.datasets import load_digits, load_fashion_mnist, load_mnist, read_idx

IDX_CODES = {
    np.dtype(np.uint8): 0x08,
    np.dtype(np.int8): 0x09,
    np.dtype(np.int16): 0x0B,
    np.dtype(np.int32): 0x0C,
    np.dtype(np.float32): 0x0D,
    np.dtype(np.float64): 0x0E,
}
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
REAL_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
PUBLISHED_MNIST_MD5 = dict(ds._MD5["mnist"])


# every test here fails loudly if it opens a network connection
pytestmark = pytest.mark.usefixtures("no_network")


def idx_bytes(array):
    array = np.asarray(array)
    header = struct.pack(">BBBB", 0, 0, IDX_CODES[array.dtype], array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path, array, compress=False):
    data = idx_bytes(array)
    Path(path).write_bytes(gzip.compress(data) if compress else data)
    return Path(path)


def fake_mnist(folder, n_train=6, n_test=4, compress=True, seed=0):
    """Write the four IDX files of a tiny MNIST-like dataset into ``folder``."""
    rng = np.random.RandomState(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for part, n in (("train", n_train), ("test", n_test)):
        images = rng.randint(0, 256, size=(n, 28, 28)).astype(np.uint8)
        images[0, 0, 0], images[0, 0, 1] = 0, 255
        labels = rng.randint(0, 10, size=n).astype(np.uint8)
        suffix = ".gz" if compress else ""
        write_idx(folder / (FILES[part][0] + suffix), images, compress)
        write_idx(folder / (FILES[part][1] + suffix), labels, compress)
        arrays[part] = images, labels
    return arrays


def md5(path):
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


# --------------------------------------------------------------------- read_idx


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("dtype", list(IDX_CODES))
@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 5), (0, 28, 28)])
def test_read_idx_round_trip(tmp_path, compress, dtype, shape):
    rng = np.random.RandomState(0)
    if np.dtype(dtype).kind == "f":
        array = rng.randn(*shape).astype(dtype)
    else:
        info = np.iinfo(dtype)
        array = rng.randint(info.min, int(info.max) + 1, size=shape).astype(dtype)
    path = write_idx(tmp_path / "array-idx", array, compress)
    result = read_idx(path)
    assert result.dtype == np.dtype(dtype)
    assert result.dtype.isnative
    assert result.flags.writeable
    assert_array_equal(result, array)
    assert_array_equal(read_idx(str(path)), array)


def test_read_idx_detects_gzip_by_content(tmp_path):
    array = np.arange(12, dtype=np.int32).reshape(3, 4)
    plain = write_idx(tmp_path / "data.gz", array)  # misleading name
    packed = write_idx(tmp_path / "data-idx2-int", array, compress=True)
    assert_array_equal(read_idx(plain), array)
    assert_array_equal(read_idx(packed), array)


@pytest.mark.parametrize(
    "data, match",
    [
        (
            b"\x01\x00\x08\x01" + bytes(8),
            "not an IDX file: bad magic number 0x01000801",
        ),
        (b"\x00\x00\x0a\x01" + bytes(8), "bad magic number 0x00000a01"),
        (b"\x00\x00\x08\x00" + bytes(8), "bad magic number 0x00000800"),
        (b"PK\x03\x04" + bytes(8), "bad magic number"),
        (b"\x00\x00", r"too short \(2 bytes\)"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x02", r"truncated.*8 bytes.*16 bytes"),
    ],
)
def test_read_idx_rejects_bad_headers(tmp_path, data, match):
    path = tmp_path / "bad"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=match):
        read_idx(path)


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_rejects_wrong_size(tmp_path, compress):
    data = idx_bytes(np.arange(20, dtype=np.int16).reshape(4, 5))
    for payload, match in [
        (
            data[:-3],
            r"truncated: it holds 49 bytes .* \(4, 5\) and type int16, i.e. 52 bytes",
        ),
        (data + b"\x00", r"corrupt: it holds 53 bytes"),
    ]:
        path = tmp_path / "array"
        path.write_bytes(gzip.compress(payload) if compress else payload)
        with pytest.raises(ValueError, match=match):
            read_idx(path)


def test_read_idx_rejects_broken_gzip(tmp_path):
    packed = gzip.compress(idx_bytes(np.arange(1000, dtype=np.uint8)))
    path = tmp_path / "array.gz"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(ValueError, match="truncated or corrupt gzip"):
        read_idx(path)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope")


# ------------------------------------------------------------------- load_mnist


@pytest.mark.parametrize("compress", [False, True])
def test_load_mnist_round_trip(tmp_path, compress):
    arrays = fake_mnist(tmp_path, compress=compress)
    train_images, train_labels = arrays["train"]
    test_images, test_labels = arrays["test"]

    bunch = load_mnist(tmp_path)
    assert set(bunch) == {"data", "target", "target_names", "image_shape", "DESCR"}
    assert bunch.data.shape == (10, 784) and bunch.image_shape == (1, 28, 28)
    assert bunch.data.dtype == np.float32
    assert bunch.target.dtype == np.int64
    assert bunch.data.min() == 0.0 and bunch.data.max() == 1.0
    expected = np.concatenate([train_images, test_images]).reshape(10, -1) / 255
    assert_allclose(bunch.data, expected, rtol=1e-6)
    assert_array_equal(bunch.target, np.concatenate([train_labels, test_labels]))
    assert "MNIST" in bunch.DESCR

    X, y = load_mnist(str(tmp_path), "train", return_X_y=True, flatten=False)
    assert X.shape == (6, 28, 28)
    assert_allclose(X, train_images / 255, rtol=1e-6)
    assert_array_equal(y, train_labels)

    X, y = load_mnist(tmp_path, subset="test", return_X_y=True)
    assert X.shape == (4, 784)
    assert_array_equal(y, test_labels)


def test_load_mnist_mixed_compression_and_subset_files_only(tmp_path):
    arrays = fake_mnist(tmp_path, compress=True)
    test_images, test_labels = arrays["test"]
    # Replace the compressed test images with a plain file; drop train files.
    (tmp_path / "t10k-images-idx3-ubyte.gz").unlink()
    write_idx(tmp_path / "t10k-images-idx3-ubyte", test_images)
    for name in FILES["train"]:
        (tmp_path / f"{name}.gz").unlink()
    X, y = load_mnist(tmp_path, "test", return_X_y=True, flatten=False)
    assert_allclose(X, test_images / 255, rtol=1e-6)
    assert_array_equal(y, test_labels)
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte, train-lab"):
        load_mnist(tmp_path, "all")


@pytest.mark.parametrize("subset", ["validation", "TRAIN", None, 1])
def test_wrong_subset(tmp_path, subset):
    fake_mnist(tmp_path)
    with pytest.raises(ValueError, match="subset must be one of 'train', 'test'"):
        load_mnist(tmp_path, subset)
    with pytest.raises(ValueError, match="subset must be one of"):
        load_fashion_mnist(tmp_path, subset)


@pytest.mark.parametrize("param", ["return_X_y", "flatten", "download"])
def test_non_bool_flags(tmp_path, param):
    fake_mnist(tmp_path)
    with pytest.raises(TypeError, match=f"{param} must be a bool"):
        load_mnist(tmp_path, **{param: "yes"})


def test_inconsistent_files(tmp_path):
    fake_mnist(tmp_path, compress=False)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(5, dtype=np.uint8))
    with pytest.raises(ValueError, match="holds 6 images but .* holds 5 labels"):
        load_mnist(tmp_path, "train")
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros((6, 2), dtype=np.uint8))
    with pytest.raises(ValueError, match="Expected 3-D images and 1-D labels"):
        load_mnist(tmp_path, "train")


def test_missing_files_messages(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        load_fashion_mnist(tmp_path)
    message = str(err.value)
    assert "t10k-labels-idx1-ubyte" in message and str(tmp_path) in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert "download=True" in message and "path=" in message
    with pytest.raises(FileNotFoundError, match="download=True.*path=") as err:
        load_mnist(tmp_path)
    assert "apt-get" not in str(err.value)


def test_fashion_mnist_default_folders(tmp_path, monkeypatch):
    debian, home = tmp_path / "debian", tmp_path / "home"
    monkeypatch.setattr(ds, "_DEBIAN_FASHION_MNIST", debian)
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(home))
    with pytest.raises(FileNotFoundError, match="debian or .*home.fashion_mnist"):
        load_fashion_mnist()
    assert not home.exists()  # looking does not create folders

    arrays = fake_mnist(home / "fashion_mnist", seed=1)
    y = load_fashion_mnist(subset="train", return_X_y=True)[1]
    assert_array_equal(y, arrays["train"][1])

    arrays = fake_mnist(debian, seed=2)  # the Debian folder comes first
    bunch = load_fashion_mnist(subset="train")
    assert_array_equal(bunch.target, arrays["train"][1])
    assert bunch.target_names[0] == "T-shirt/top" and len(bunch.target_names) == 10
    assert "Fashion-MNIST" in bunch.DESCR


# --------------------------------------------------------------------- download


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A local ``file://`` mirror of a fake dataset, with its checksums."""
    source = tmp_path / "mirror"
    arrays = fake_mnist(source, compress=True, seed=3)
    checksums = {path.name: md5(path) for path in source.iterdir()}
    for dataset in ("mnist", "fashion-mnist"):
        monkeypatch.setitem(ds._MIRRORS, dataset, (source.as_uri(),))
        monkeypatch.setitem(ds._MD5, dataset, checksums)
    return source, arrays, checksums


@pytest.mark.parametrize("loader", [load_mnist, load_fashion_mnist])
def test_download_from_mirror(tmp_path, mirror, monkeypatch, loader):
    source, arrays, checksums = mirror
    destination = tmp_path / "new" / "folder"
    X, y = loader(destination, "test", return_X_y=True, download=True)
    assert_allclose(X, arrays["test"][0].reshape(4, -1) / 255, rtol=1e-6)
    assert_array_equal(y, arrays["test"][1])
    # Only the files of the subset were fetched, all verified, no leftovers.
    assert sorted(p.name for p in destination.iterdir()) == [
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ]
    for path in destination.iterdir():
        assert md5(path) == checksums[path.name]

    # Present files are not fetched again: a dead mirror does not matter.
    monkeypatch.setitem(ds._MIRRORS, "mnist", ((tmp_path / "gone").as_uri(),))
    monkeypatch.setitem(ds._MIRRORS, "fashion-mnist", ((tmp_path / "gone").as_uri(),))
    assert_array_equal(loader(destination, "test", download=True).target, y)
    # The missing training files are fetched (here from the second mirror).
    dead_then_live = ((tmp_path / "gone").as_uri(), source.as_uri())
    monkeypatch.setitem(ds._MIRRORS, "mnist", dead_then_live)
    monkeypatch.setitem(ds._MIRRORS, "fashion-mnist", dead_then_live)
    assert loader(destination, download=True).data.shape == (10, 784)


def test_fashion_mnist_download_goes_to_data_home(tmp_path, mirror, monkeypatch):
    _, arrays, _ = mirror
    monkeypatch.setattr(ds, "_DEBIAN_FASHION_MNIST", tmp_path / "debian")
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "home"))
    y = load_fashion_mnist(subset="train", return_X_y=True, download=True)[1]
    assert_array_equal(y, arrays["train"][1])
    assert (
        tmp_path / "home" / "fashion_mnist" / "train-images-idx3-ubyte.gz"
    ).is_file()


def test_fetch_checksum_mismatch(tmp_path, mirror):
    source, _, checksums = mirror
    destination = tmp_path / "dest"
    name = "t10k-labels-idx1-ubyte.gz"
    with pytest.raises(OSError, match=f"Checksum mismatch for .*{name}: MD5"):
        ds._fetch_files(destination, source.as_uri(), {name: "0" * 32})
    assert list(destination.iterdir()) == []  # nothing kept, no temp file

    ds._fetch_files(destination, source.as_uri() + "/", {name: checksums[name]})
    assert md5(destination / name) == checksums[name]


def test_download_with_published_checksums_rejects_other_files(
    tmp_path, mirror, monkeypatch
):
    # The fake files of the local mirror do not match the published MD5s.
    monkeypatch.setitem(ds._MD5, "mnist", PUBLISHED_MNIST_MD5)
    destination = tmp_path / "dest"
    with pytest.raises(OSError, match="from any mirror:\n.*Checksum mismatch"):
        load_mnist(destination, "test", download=True)
    assert list(destination.iterdir()) == []


def test_fetch_missing_remote_file(tmp_path, mirror):
    source, _, _ = mirror
    with pytest.raises(OSError):
        ds._fetch_files(tmp_path / "dest", source.as_uri(), {"absent.gz": "0"})
    assert list((tmp_path / "dest").iterdir()) == []


# -------------------------------------------------------------------- real data


@pytest.mark.skipif(
    not all((REAL_FASHION_MNIST / f"{name}.gz").is_file() for name in FILES["test"]),
    reason="Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)",
)
def test_real_fashion_mnist_test_subset():
    X, y = load_fashion_mnist(REAL_FASHION_MNIST, "test", return_X_y=True)
    assert X.shape == (10000, 784)
    assert X.dtype == np.float32
    assert X.min() == 0.0 and X.max() == 1.0
    assert y.dtype == np.int64
    assert_array_equal(np.unique(y), np.arange(10))
    assert_array_equal(np.bincount(y), np.full(10, 1000))


# ------------------------------------------------------------------ load_digits


def test_load_digits():
    reference = sklearn_load_digits()
    bunch = load_digits()
    assert bunch.data.shape == (1797, 64) and bunch.data.dtype == np.float32
    assert bunch.images.shape == (1797, 8, 8) and bunch.images.dtype == np.float32
    assert bunch.image_shape == (1, 8, 8)
    assert bunch.target.dtype == np.int64
    assert bunch.data.min() == 0.0 and bunch.data.max() == 1.0
    assert_allclose(bunch.data, reference.data / 16, rtol=1e-6)
    assert_array_equal(bunch.images.reshape(1797, 64), bunch.data)
    assert_array_equal(bunch.target, reference.target)
    assert_array_equal(bunch.target_names, np.arange(10))
    assert "[0, 1]" in bunch.DESCR
    X, y = load_digits(return_X_y=True)
    assert_array_equal(X, bunch.data)
    assert_array_equal(y, bunch.target)
    with pytest.raises(TypeError, match="return_X_y must be a bool"):
        load_digits(return_X_y=1)
