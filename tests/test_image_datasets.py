"""Tests of load_image_folder, load_cifar10, load_cifar100 and load_stl10, on
small files written in each official format."""

import gzip
import hashlib
import io
import os
import pickle
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from PIL import Image, ImageFile

import skdec._image_folder as image_folder
import skdec.datasets as ds
from skdec.datasets import load_cifar10, load_cifar100, load_image_folder, load_stl10

# every test here fails loudly if it opens a network connection
pytestmark = pytest.mark.usefixtures("no_network")


def md5(path):
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def rgb_pattern(height, width, seed=0):
    """A uint8 RGB image whose channels, rows and columns all differ."""
    rng = np.random.RandomState(seed)
    pixels = rng.randint(0, 256, size=(height, width, 3)).astype(np.uint8)
    pixels[0, 0] = (255, 0, 0)
    pixels[-1, -1] = (0, 0, 255)
    return pixels


def save(path, pixels, **kwargs):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, **kwargs)
    return path


# ------------------------------------------------------------ load_image_folder


LOSSLESS = [
    ("a.png", {}),
    ("b.PNG", {}),
    ("c.bmp", {}),
    ("d.tif", {}),
    ("e.TIFF", {}),
    ("f.webp", {"lossless": True}),
]


def test_lossless_formats_exact_pixels(tmp_path):
    written = {}
    for k, (name, options) in enumerate(LOSSLESS):
        written[name] = rgb_pattern(5, 7, seed=k)
        save(tmp_path / name, written[name], **options)
    (tmp_path / "notes.txt").write_text("not an image")
    save(tmp_path / ".hidden.png", rgb_pattern(5, 7))  # hidden: ignored
    save(tmp_path / ".cache" / "x.png", rgb_pattern(9, 9))  # hidden folder

    bunch = load_image_folder(tmp_path)
    names = [name for name, _ in LOSSLESS]
    assert bunch.filenames.tolist() == sorted(names)
    assert bunch.data.shape == (6, 3 * 5 * 7) and bunch.data.dtype == np.float32
    assert bunch.images.shape == (6, 5, 7, 3) and bunch.image_shape == (3, 5, 7)
    for row, name in enumerate(bunch.filenames):
        assert_allclose(bunch.images[row], written[name] / 255, rtol=1e-6)
    assert "target" not in bunch and "target_names" not in bunch
    assert "skipped" not in bunch and "n_skipped" not in bunch
    assert "6 images" in bunch.DESCR
    assert set(bunch) == {
        "data", "images", "image_shape", "filenames", "DESCR", "center_crop",
        "stretch",
    }  # fmt: skip
    assert bunch.center_crop is None and bunch.stretch is None


def test_data_is_channel_first_and_images_a_view(tmp_path):
    pixels = rgb_pattern(4, 6)
    save(tmp_path / "x.png", pixels)
    bunch = load_image_folder(tmp_path)
    # data follows image_shape (C, H, W): the red plane first, row by row
    assert_allclose(bunch.data[0], np.moveaxis(pixels, -1, 0).ravel() / 255, rtol=1e-6)
    assert bunch.data[0, 0] == 1.0  # red of pixel (0, 0)
    assert bunch.data[0, 2 * 24 + 23] == 1.0  # blue of pixel (3, 5)
    assert np.shares_memory(bunch.images, bunch.data)
    assert_array_equal(
        bunch.data.reshape((-1,) + bunch.image_shape),
        np.moveaxis(bunch.images, -1, 1),
    )


def test_jpeg_close_to_written_pixels(tmp_path):
    pixels = np.zeros((16, 16, 3), dtype=np.uint8)
    pixels[:, :8] = (200, 40, 90)
    pixels[:, 8:] = (10, 220, 130)
    save(tmp_path / "a.jpg", pixels, quality=100, subsampling=0)
    save(tmp_path / "b.JPEG", pixels, quality=100, subsampling=0)
    bunch = load_image_folder(tmp_path)
    assert bunch.filenames.tolist() == ["a.jpg", "b.JPEG"]
    for image in bunch.images:
        assert_allclose(image[2:-2, 1:6], pixels[2:-2, 1:6] / 255, atol=0.02)
        assert_allclose(image[2:-2, 10:15], pixels[2:-2, 10:15] / 255, atol=0.02)


def test_grayscale(tmp_path):
    pixels = rgb_pattern(5, 3)
    save(tmp_path / "rgb.png", pixels)
    gray = np.arange(15, dtype=np.uint8).reshape(5, 3) * 17
    save(tmp_path / "gray.png", gray)

    bunch = load_image_folder(tmp_path, color="grayscale")
    assert bunch.data.shape == (2, 15)
    assert bunch.images.shape == (2, 5, 3) and bunch.image_shape == (1, 5, 3)
    assert np.shares_memory(bunch.images, bunch.data)
    luma = np.asarray(Image.fromarray(pixels).convert("L"))
    assert_allclose(bunch.images[1], luma / 255, rtol=1e-6)  # 'rgb.png' second
    assert_allclose(bunch.images[0], gray / 255, rtol=1e-6)

    rgb = load_image_folder(tmp_path)  # grey images repeated on 3 channels
    assert rgb.images.shape == (2, 5, 3, 3)
    for channel in range(3):
        assert_allclose(rgb.images[0, :, :, channel], gray / 255, rtol=1e-6)


def test_alpha_composited_on_black(tmp_path):
    pixels = np.zeros((2, 2, 4), dtype=np.uint8)
    pixels[..., :3] = (200, 100, 50)
    pixels[..., 3] = [[255, 0], [128, 255]]
    save(tmp_path / "rgba.png", pixels)
    la = np.zeros((2, 2, 2), dtype=np.uint8)
    la[..., 0], la[..., 1] = 240, [[255, 0], [0, 255]]
    save(tmp_path / "la.png", la)

    bunch = load_image_folder(tmp_path)
    rgba = bunch.images[1]
    assert_allclose(rgba[0, 0], np.array([200, 100, 50]) / 255, rtol=1e-6)
    assert_array_equal(rgba[0, 1], 0)  # transparent: black
    assert_allclose(rgba[1, 0], np.array([100, 50, 25]) / 255, atol=2 / 255)
    assert_allclose(bunch.images[0, :, :, 0], [[240 / 255, 0], [0, 240 / 255]])


def test_high_bit_depth(tmp_path):
    sixteen = np.array([[0, 65535], [32768, 1000]], dtype=np.uint16)
    save(tmp_path / "a16.png", sixteen)
    save(tmp_path / "b16.tif", sixteen)
    floats = np.array([[-1.0, 3.0], [1.0, np.nan]], dtype=np.float32)
    save(tmp_path / "c.tif", floats)

    bunch = load_image_folder(tmp_path, color="grayscale")
    assert_allclose(bunch.images[0], sixteen / 65535, rtol=1e-6)
    assert_allclose(bunch.images[1], sixteen / 65535, rtol=1e-6)
    assert_allclose(bunch.images[2], [[0, 1], [0.5, 0]])  # min-max, NaN -> 0
    rgb = load_image_folder(tmp_path)
    assert_allclose(rgb.images[0, :, :, 2], sixteen / 65535, rtol=1e-6)


def test_crop_and_pad_geometry(tmp_path):
    # 20 rows x 40 columns, black with a bright centre square (columns 8-31)
    pixels = np.zeros((20, 40), dtype=np.uint8)
    pixels[:, 8:32] = 255
    save(tmp_path / "wide.png", pixels)

    crop = load_image_folder(tmp_path, image_size=(10, 10), color="grayscale")
    assert crop.image_shape == (1, 10, 10)
    assert crop.images.min() > 0.99  # the centre square fills the crop

    pad = load_image_folder(
        tmp_path, image_size=(10, 10), color="grayscale", resize="pad"
    ).images[0]
    # the whole 40x20 image shrinks to 10x5, centred: rows 2-6, zeros around
    assert_array_equal(pad[:2], 0)
    assert_array_equal(pad[7:], 0)
    assert (pad[2:7, 3:7] > 0.99).all()  # the bright square
    assert (pad[2:7, [0, 9]] < 0.01).all()  # the dark sides

    tall = load_image_folder(tmp_path, image_size=(8, 2), resize="pad")
    assert tall.images.shape == (1, 8, 2, 3)  # (height, width)
    lit = np.flatnonzero(tall.images[0].max(axis=(1, 2)))
    assert lit.tolist() in ([3], [4])  # one row (40x20 -> 2x1) in the middle


def test_resize_keeps_native_size_exact(tmp_path):
    pixels = rgb_pattern(6, 4)
    save(tmp_path / "x.png", pixels)
    for resize in ("crop", "pad"):
        bunch = load_image_folder(tmp_path, image_size=(6, 4), resize=resize)
        assert_allclose(bunch.images[0], pixels / 255, rtol=1e-6)


def test_different_sizes_need_image_size(tmp_path):
    save(tmp_path / "a.png", rgb_pattern(4, 4))
    save(tmp_path / "b.png", rgb_pattern(4, 4))
    save(tmp_path / "c.png", rgb_pattern(5, 4))
    with pytest.raises(ValueError, match=r"a\.png is 4x4 .* c\.png is 5x4.*image_size"):
        load_image_folder(tmp_path)
    with pytest.raises(ValueError, match="differ in size"):
        load_image_folder(tmp_path, on_error="skip")  # a size is not a bad file
    bunch = load_image_folder(tmp_path, image_size=(3, 3))
    assert bunch.images.shape == (3, 3, 3, 3)


def test_order_is_sorted_and_independent_of_threads(tmp_path):
    names = ["b/2.png", "a/10.png", "b/1.png", "a/9.png", "a/sub/0.png", "a-b/0.png"]
    for k, name in enumerate(names):
        save(tmp_path / name, np.full((3, 3, 3), 10 * k, dtype=np.uint8))
    expected = ["a/10.png", "a/9.png", "a/sub/0.png", "a-b/0.png", "b/1.png", "b/2.png"]
    results = [load_image_folder(tmp_path, n_jobs=n_jobs) for n_jobs in (1, 3, None)]
    for bunch in results:
        assert bunch.filenames.tolist() == expected
        assert_array_equal(bunch.data, results[0].data)
    first = [names.index(name) for name in expected]
    assert_allclose(results[0].data[:, 0], np.array(first) * 10 / 255, rtol=1e-6)


def test_targets_from_first_level_subfolders(tmp_path):
    for name in ["dogs/x.png", "cats/y.png", "cats/deep/z.png", "birds/w.png"]:
        save(tmp_path / name, rgb_pattern(3, 3))
    (tmp_path / "empty").mkdir()
    bunch = load_image_folder(tmp_path)
    assert bunch.target_names.tolist() == ["birds", "cats", "dogs"]
    assert bunch.filenames.tolist() == [
        "birds/w.png",
        "cats/deep/z.png",
        "cats/y.png",
        "dogs/x.png",
    ]
    assert bunch.target.dtype == np.int64
    assert bunch.target.tolist() == [0, 1, 1, 2]
    X, y = load_image_folder(tmp_path, return_X_y=True)
    assert_array_equal(X, bunch.data)
    assert_array_equal(y, bunch.target)

    save(tmp_path / "top.png", rgb_pattern(3, 3))  # one file outside any class
    bunch = load_image_folder(tmp_path)
    assert "target" not in bunch and len(bunch.filenames) == 5
    X, y = load_image_folder(tmp_path, return_X_y=True)
    assert X.shape == (5, 27) and y is None

    flat = load_image_folder(tmp_path, recursive=False)
    assert flat.filenames.tolist() == ["top.png"] and "target" not in flat


def truncated(data, keep):
    return data[: int(len(data) * keep)]


def image_bytes(fmt, **options):
    buffer = io.BytesIO()
    Image.fromarray(rgb_pattern(32, 32)).save(buffer, format=fmt, **options)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "name, data",
    [
        ("cut.png", truncated(image_bytes("PNG"), 0.6)),
        ("cut.jpg", truncated(image_bytes("JPEG", quality=95), 0.6)),
        ("head.png", image_bytes("PNG")[:40]),
        ("text.png", b"this is not a picture, whatever its name says\n"),
        ("empty.jpeg", b""),
        ("postscript.png", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 1 1\n"),
    ],
)
def test_unreadable_file_raises_naming_it(tmp_path, name, data):
    save(tmp_path / "a_good.png", rgb_pattern(32, 32))
    (tmp_path / name).write_bytes(data)
    with pytest.raises(ValueError, match=rf"Cannot read image {name} .*: \w+"):
        load_image_folder(tmp_path)
    with pytest.raises(ValueError, match=rf"Cannot read image {name}"):
        load_image_folder(tmp_path, image_size=(8, 8), n_jobs=1)


def test_truncated_images_are_detected(tmp_path):
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    (tmp_path / "cut.jpg").write_bytes(truncated(image_bytes("JPEG", quality=95), 0.6))
    with pytest.raises(ValueError, match="truncated") as err:
        load_image_folder(tmp_path)
    assert isinstance(err.value.__cause__, OSError)


def test_on_error_skip_records_files(tmp_path):
    save(tmp_path / "a" / "1.png", rgb_pattern(8, 8, seed=1))
    (tmp_path / "a" / "2.png").write_bytes(truncated(image_bytes("PNG"), 0.5))
    save(tmp_path / "b" / "3.png", rgb_pattern(8, 8, seed=3))
    (tmp_path / "b" / "4.jpg").write_bytes(b"junk")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "5.png").write_bytes(b"junk")
    save(tmp_path / "d" / "6.png", rgb_pattern(8, 8, seed=6))

    for n_jobs in (1, 2):
        bunch = load_image_folder(tmp_path, on_error="skip", n_jobs=n_jobs)
        assert bunch.n_skipped == 3
        assert [name for name, _ in bunch.skipped] == ["a/2.png", "b/4.jpg", "c/5.png"]
        assert all(isinstance(m, str) and m for _, m in bunch.skipped)
        assert "UnidentifiedImageError" in bunch.skipped[1][1]
        assert bunch.filenames.tolist() == ["a/1.png", "b/3.png", "d/6.png"]
        assert bunch.data.shape == (3, 192) and bunch.images.shape == (3, 8, 8, 3)
        for row, seed in enumerate((1, 3, 6)):
            assert_allclose(bunch.images[row], rgb_pattern(8, 8, seed) / 255)
        # a class whose only file was skipped stays among the names
        assert bunch.target_names.tolist() == ["a", "b", "c", "d"]
        assert bunch.target.tolist() == [0, 1, 3]

    # the first file of the order is the one reported
    with pytest.raises(ValueError, match=r"Cannot read image a/2\.png"):
        load_image_folder(tmp_path, n_jobs=2)

    clean = load_image_folder(tmp_path / "d", on_error="skip")
    assert clean.n_skipped == 0 and clean.skipped == []


def test_first_file_unreadable_without_image_size(tmp_path):
    (tmp_path / "0.png").write_bytes(b"junk")
    save(tmp_path / "1.png", rgb_pattern(4, 5))
    bunch = load_image_folder(tmp_path, on_error="skip")
    assert bunch.filenames.tolist() == ["1.png"] and bunch.image_shape == (3, 4, 5)
    assert bunch.skipped[0][0] == "0.png"


def test_no_readable_file(tmp_path):
    for name in ("a.png", "b.jpg"):
        (tmp_path / name).write_bytes(b"junk")
    with pytest.raises(ValueError, match=r"None of the 2 image files .* a\.png"):
        load_image_folder(tmp_path, on_error="skip")


def test_empty_and_missing_folders(tmp_path):
    (tmp_path / "notes.txt").write_text("no images here")
    with pytest.raises(ValueError, match=rf"No image file in or under {tmp_path}"):
        load_image_folder(tmp_path)
    with pytest.raises(ValueError, match=r"\.png, .*\.webp, \.fits, .*\.fits\.gz"):
        load_image_folder(tmp_path)
    save(tmp_path / "sub" / "x.png", rgb_pattern(2, 2))
    with pytest.raises(ValueError, match="No image file directly in"):
        load_image_folder(tmp_path, recursive=False)
    with pytest.raises(FileNotFoundError, match="No such folder"):
        load_image_folder(tmp_path / "nope")
    with pytest.raises(NotADirectoryError, match="is not a folder"):
        load_image_folder(tmp_path / "notes.txt")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"image_size": (0, 4)}, "image_size must be None or a pair of positive"),
        ({"image_size": (4,)}, "image_size must be None or a pair"),
        ({"image_size": (4.0, 4)}, "image_size must be None or a pair"),
        ({"image_size": (True, 4)}, "image_size must be None or a pair"),
        ({"image_size": 4}, "'image_size' parameter"),
        ({"color": "RGB"}, "'color' parameter .* among"),
        ({"resize": "stretch"}, "'resize' parameter .* among"),
        ({"on_error": "ignore"}, "'on_error' parameter .* among"),
        ({"n_jobs": 0}, "'n_jobs' parameter"),
        ({"recursive": "yes"}, "'recursive' parameter"),
        ({"return_X_y": 1}, "'return_X_y' parameter"),
        ({"verbose": -1}, "'verbose' parameter"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, match):
    save(tmp_path / "x.png", rgb_pattern(2, 2))
    with pytest.raises(ValueError, match=match):
        load_image_folder(tmp_path, **kwargs)


def test_progress_lines(tmp_path, capsys):
    for k in range(20):
        save(tmp_path / f"{k:02d}.png", rgb_pattern(2, 2))
    load_image_folder(tmp_path)
    assert capsys.readouterr().out == ""
    load_image_folder(tmp_path, verbose=1, n_jobs=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"[load_image_folder] loaded {k}/20 images" for k in range(2, 21, 2)
    ]
    load_image_folder(tmp_path, image_size=(2, 2), verbose=1, n_jobs=1)
    assert len(capsys.readouterr().out.splitlines()) == 10


def test_progress_bar_on_a_terminal(tmp_path, monkeypatch, capsys):
    updates = []

    class FakeBar:
        def __init__(self, total, **kwargs):
            updates.append(("total", total))

        def update(self, n):
            updates.append(n)

        def close(self):
            updates.append("closed")

    tqdm_auto = type(sys)("tqdm.auto")
    tqdm_auto.tqdm = FakeBar
    monkeypatch.setitem(sys.modules, "tqdm.auto", tqdm_auto)
    monkeypatch.setattr(image_folder, "_stderr_is_terminal", lambda: True)
    for k in range(3):
        save(tmp_path / f"{k}.png", rgb_pattern(2, 2))
    load_image_folder(tmp_path, verbose=1)
    assert updates == [("total", 3), 1, 1, 1, "closed"]
    assert capsys.readouterr().out == ""

    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # tqdm missing
    load_image_folder(tmp_path, verbose=1)
    assert "loaded 3/3 images" in capsys.readouterr().out


def write_fits(path, data, empty_primary=False):
    fits = pytest.importorskip("astropy.io.fits")
    if empty_primary:
        hdus = fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(data)])
    else:
        hdus = fits.HDUList([fits.PrimaryHDU(data)])
    hdus.writeto(path)


def test_fits_images(tmp_path):
    pytest.importorskip("astropy")
    plane = np.array([[np.nan, 10.0, 20.0], [30.0, np.inf, 50.0]])
    write_fits(tmp_path / "a.fits", plane)
    write_fits(tmp_path / "b.FIT", (plane * 2).astype(">f4")[None], empty_primary=True)
    ints = np.array([[0, 5, 10], [10, 10, 10]], dtype=np.int16)
    write_fits(tmp_path / "c.fts", ints)
    write_fits(tmp_path / "d.fits", np.ones((2, 3)))  # constant: zeros
    buffer = io.BytesIO()
    write_fits(buffer, plane)
    (tmp_path / "e.fits.gz").write_bytes(gzip.compress(buffer.getvalue()))

    bunch = load_image_folder(tmp_path, color="grayscale")
    assert bunch.filenames.tolist() == [
        "a.fits",
        "b.FIT",
        "c.fts",
        "d.fits",
        "e.fits.gz",
    ]
    scaled = [[0, 0, 0.25], [0.5, 0, 1]]  # by the finite min and max; NaN, inf -> 0
    assert_allclose(bunch.images[0], scaled, atol=1e-6)
    assert_allclose(bunch.images[1], scaled, atol=1e-6)
    assert_allclose(bunch.images[2], ints / 10, atol=1e-6)
    assert_array_equal(bunch.images[3], 0)
    assert_allclose(bunch.images[4], scaled, atol=1e-6)
    rgb = load_image_folder(tmp_path, image_size=(4, 6))
    assert rgb.images.shape == (5, 4, 6, 3)
    assert rgb.data.min() >= 0 and rgb.data.max() <= 1


def test_fits_cube_is_an_error(tmp_path):
    pytest.importorskip("astropy")
    write_fits(tmp_path / "cube.fits", np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"cube\.fits.*shape \(2, 3, 4\); only 2-D"):
        load_image_folder(tmp_path)


def test_fits_without_astropy_names_the_extra(tmp_path, monkeypatch):
    for name in ("astropy", "astropy.io", "astropy.io.fits"):
        monkeypatch.setitem(sys.modules, name, None)
    save(tmp_path / "a.png", rgb_pattern(2, 2))
    assert load_image_folder(tmp_path).data.shape == (1, 12)  # no FITS: fine
    (tmp_path / "b.fits").write_bytes(b"SIMPLE  =                    T")
    with pytest.raises(ImportError, match=r"pip install 'skdec\[fits\]'"):
        load_image_folder(tmp_path, on_error="skip")


def test_import_needs_no_astropy():
    code = (
        "import sys; sys.modules['astropy'] = None; "
        "import skdec, skdec.datasets; from skdec.datasets import load_image_folder"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# ---------------------------------------------------------------- CIFAR-10/100


def cifar_pickle(obj):
    """Pickle ``obj`` as the official files were: protocol 2, bytes keys, and
    numpy arrays naming ``numpy.core.multiarray`` (numpy 1's module)."""
    data = pickle.dumps(obj, protocol=2)
    return data.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")


def cifar_batch(n, rng, label_keys):
    batch = {
        b"batch_label": b"training batch 1 of 5",
        b"data": rng.randint(0, 256, size=(n, 3072)).astype(np.uint8),
        b"filenames": [f"img_{i}.png".encode() for i in range(n)],
    }
    for key, n_classes in label_keys.items():
        batch[key] = [int(v) for v in rng.randint(0, n_classes, size=n)]
    return batch


CIFAR10_NAMES = [
    b"airplane",
    b"automobile",
    b"bird",
    b"cat",
    b"deer",
    b"dog",
    b"frog",
    b"horse",
    b"ship",
    b"truck",
]


def fake_cifar10(folder, n=3, seed=0):
    """The files of cifar-10-batches-py, with n images per batch."""
    rng = np.random.RandomState(seed)
    folder.mkdir(parents=True, exist_ok=True)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batches[name] = cifar_batch(n, rng, {b"labels": 10})
        (folder / name).write_bytes(cifar_pickle(batches[name]))
    meta = {b"label_names": CIFAR10_NAMES, b"num_cases_per_batch": n, b"num_vis": 3072}
    (folder / "batches.meta").write_bytes(cifar_pickle(meta))
    return batches


def fake_cifar100(folder, n=4, seed=0):
    rng = np.random.RandomState(seed)
    folder.mkdir(parents=True, exist_ok=True)
    batches = {}
    for name in ("train", "test"):
        batches[name] = cifar_batch(n, rng, {b"fine_labels": 100, b"coarse_labels": 20})
        (folder / name).write_bytes(cifar_pickle(batches[name]))
    meta = {
        b"fine_label_names": [f"fine{i}".encode() for i in range(100)],
        b"coarse_label_names": [f"coarse{i}".encode() for i in range(20)],
    }
    (folder / "meta").write_bytes(cifar_pickle(meta))
    return batches


def make_tar(archive, source, arcname):
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source, arcname=arcname)
    return archive


def stacked(batches, names, key=b"data"):
    return np.concatenate([np.asarray(batches[name][key]) for name in names])


TRAIN10 = [f"data_batch_{i}" for i in range(1, 6)]


def test_cifar10_layout(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    batches = fake_cifar10(folder)
    assert b"cnumpy.core.multiarray\n" in (folder / "test_batch").read_bytes()

    bunch = load_cifar10(folder)
    assert bunch.data.shape == (18, 3072) and bunch.data.dtype == np.float32
    raw = stacked(batches, TRAIN10 + ["test_batch"])
    assert_allclose(bunch.data, raw / 255, rtol=1e-6)
    assert bunch.target.dtype == np.int64
    assert_array_equal(
        bunch.target, stacked(batches, TRAIN10 + ["test_batch"], b"labels")
    )
    assert bunch.target_names.tolist()[:2] == ["airplane", "automobile"]
    assert bunch.image_shape == (3, 32, 32) and bunch.images.shape == (18, 32, 32, 3)
    assert np.shares_memory(bunch.images, bunch.data)
    # channel-first rows: red plane, then green, then blue, each row by row
    image, y, x = 4, 7, 19
    for c in range(3):
        expected = raw[image, c * 1024 + y * 32 + x] / 255
        assert_allclose(bunch.images[image, y, x, c], expected, rtol=1e-6)
    assert "CIFAR-10" in bunch.DESCR

    X, y = load_cifar10(folder, "test", return_X_y=True)
    assert_allclose(X, np.asarray(batches["test_batch"][b"data"]) / 255, rtol=1e-6)
    assert_array_equal(y, batches["test_batch"][b"labels"])
    X, y = load_cifar10(str(folder), subset="train", return_X_y=True)
    assert X.shape == (15, 3072)
    assert_array_equal(y, stacked(batches, TRAIN10, b"labels"))


def test_cifar10_parent_folder_and_archives(tmp_path):
    folder = tmp_path / "extract" / "cifar-10-batches-py"
    batches = fake_cifar10(folder, seed=1)
    expected = load_cifar10(folder, "test").data
    assert_array_equal(load_cifar10(folder.parent, "test").data, expected)

    archive = make_tar(
        tmp_path / "cifar-10-python.tar.gz", folder, "cifar-10-batches-py"
    )
    bunch = load_cifar10(archive, "test")  # the archive itself
    assert_array_equal(bunch.data, expected)
    assert_array_equal(bunch.target, batches["test_batch"][b"labels"])
    holder = tmp_path / "holder"
    holder.mkdir()
    archive.rename(holder / archive.name)
    assert load_cifar10(holder).data.shape == (18, 3072)  # a folder with the archive
    assert not (holder / "cifar-10-batches-py").exists()  # nothing extracted


def test_cifar100_labels(tmp_path):
    folder = tmp_path / "cifar-100-python"
    batches = fake_cifar100(folder)
    fine = load_cifar100(tmp_path)
    assert fine.data.shape == (8, 3072)
    assert_allclose(fine.data, stacked(batches, ["train", "test"]) / 255, rtol=1e-6)
    assert_array_equal(fine.target, stacked(batches, ["train", "test"], b"fine_labels"))
    assert len(fine.target_names) == 100 and fine.target_names[3] == "fine3"
    assert "fine labels" in fine.DESCR
    coarse = load_cifar100(folder, "test", label="coarse")
    assert_array_equal(coarse.target, batches["test"][b"coarse_labels"])
    assert len(coarse.target_names) == 20 and "coarse labels" in coarse.DESCR
    archive = make_tar(tmp_path / "c100.tgz", folder, "./cifar-100-python")
    X, y = load_cifar100(archive, "train", label="coarse", return_X_y=True)
    assert_array_equal(y, batches["train"][b"coarse_labels"])
    with pytest.raises(ValueError, match="label must be one of 'fine' or 'coarse'"):
        load_cifar100(folder, label="superclass")


@pytest.mark.parametrize("loader", [load_cifar10, load_cifar100])
def test_cifar_bad_arguments(tmp_path, loader):
    with pytest.raises(ValueError, match="subset must be one of 'train', 'test' or"):
        loader(tmp_path, "validation")
    with pytest.raises(TypeError, match="download must be a bool"):
        loader(tmp_path, download="yes")
    with pytest.raises(TypeError, match="return_X_y must be a bool"):
        loader(tmp_path, return_X_y=None)


def test_cifar_missing_files_messages(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        load_cifar10(tmp_path)
    message = str(err.value)
    assert "data_batch_1" in message and "batches.meta" in message
    assert "download=True" in message and "path=" in message
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz" in message
    folder = tmp_path / "cifar-10-batches-py"
    fake_cifar10(folder)
    (folder / "data_batch_3").unlink()
    load_cifar10(tmp_path, "test")  # the test subset needs no training batch
    with pytest.raises(FileNotFoundError, match=r"file\(s\) data_batch_3 not found"):
        load_cifar10(tmp_path, "train")
    with pytest.raises(FileNotFoundError, match="cifar-100-python.tar.gz"):
        load_cifar100(tmp_path)


def test_cifar_corrupt_files(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    batches = fake_cifar10(folder)

    class Boom:
        def __reduce__(self):
            return (os.system, ("echo should not run",))

    (folder / "test_batch").write_bytes(pickle.dumps({b"data": Boom()}, protocol=2))
    with pytest.raises(
        ValueError, match=r"test_batch: UnpicklingError: refused .*system"
    ):
        load_cifar10(folder, "test")

    batch = {**batches["test_batch"], b"labels": [0, 1]}
    (folder / "test_batch").write_bytes(cifar_pickle(batch))
    with pytest.raises(ValueError, match="test_batch holds 3 images but 2 labels"):
        load_cifar10(folder, "test")
    batch = {**batches["test_batch"], b"data": np.zeros((3, 100), np.uint8)}
    (folder / "test_batch").write_bytes(cifar_pickle(batch))
    with pytest.raises(ValueError, match=r"shape \(3, 100\) .*expected uint8"):
        load_cifar10(folder, "test")
    batch = {**batches["test_batch"], b"labels": [0, 1, 10]}
    (folder / "test_batch").write_bytes(cifar_pickle(batch))
    with pytest.raises(ValueError, match="labels from 0 to 10, outside 0-9"):
        load_cifar10(folder, "test")
    (folder / "test_batch").write_bytes(cifar_pickle({b"images": 1}))
    with pytest.raises(ValueError, match="not a CIFAR batch"):
        load_cifar10(folder, "test")
    (folder / "test_batch").write_bytes(b"\x80\x02garbage")
    with pytest.raises(ValueError, match="Cannot read .*test_batch"):
        load_cifar10(folder, "test")

    archive = tmp_path / "cifar-10-python.tar.gz"
    archive.write_bytes(b"not a tar")
    with pytest.raises(ValueError, match="Cannot read the archive"):
        load_cifar10(archive)
    make_tar(archive, folder / "batches.meta", "cifar-10-batches-py/batches.meta")
    with pytest.raises(ValueError, match="lacks cifar-10-batches-py/test_batch"):
        load_cifar10(archive, "test")


@pytest.fixture
def cifar_mirror(tmp_path, monkeypatch):
    """Local file:// mirrors of fake CIFAR-10 and CIFAR-100 archives."""
    source = tmp_path / "mirror"
    batches = {
        "cifar-10": fake_cifar10(tmp_path / "src10" / "cifar-10-batches-py", seed=4),
        "cifar-100": fake_cifar100(tmp_path / "src100" / "cifar-100-python", seed=5),
    }
    source.mkdir()
    for dataset, src, folder in [
        ("cifar-10", "src10", "cifar-10-batches-py"),
        ("cifar-100", "src100", "cifar-100-python"),
    ]:
        archive = source / ds._CIFAR[dataset]["archive"]
        make_tar(archive, tmp_path / src / folder, folder)
        monkeypatch.setitem(ds._MIRRORS, dataset, (source.as_uri(),))
        monkeypatch.setitem(ds._MD5, dataset, {archive.name: md5(archive)})
    return source, batches


def test_cifar_download_from_mirror(tmp_path, cifar_mirror, monkeypatch):
    source, batches = cifar_mirror
    destination = tmp_path / "new" / "data"
    y = load_cifar10(destination, "test", return_X_y=True, download=True)[1]
    assert_array_equal(y, batches["cifar-10"]["test_batch"][b"labels"])
    assert [p.name for p in destination.iterdir()] == ["cifar-10-python.tar.gz"]
    assert md5(destination / "cifar-10-python.tar.gz") == md5(
        source / "cifar-10-python.tar.gz"
    )
    # present: not fetched again, a dead mirror does not matter
    monkeypatch.setitem(ds._MIRRORS, "cifar-10", ((tmp_path / "gone").as_uri(),))
    assert load_cifar10(destination, download=True).data.shape == (18, 3072)

    coarse = load_cifar100(destination, "test", label="coarse", download=True)
    assert_array_equal(coarse.target, batches["cifar-100"]["test"][b"coarse_labels"])
    assert (destination / "cifar-100-python.tar.gz").is_file()
    with pytest.raises(ValueError, match="download=True writes .* into a folder"):
        load_cifar10(tmp_path / "absent.tar.gz", download=True)


def test_cifar_download_checksum_mismatch(tmp_path, cifar_mirror, monkeypatch):
    monkeypatch.setitem(ds._MD5, "cifar-10", {"cifar-10-python.tar.gz": "0" * 32})
    destination = tmp_path / "dest"
    with pytest.raises(OSError, match="from any mirror:\n.*Checksum mismatch"):
        load_cifar10(destination, download=True)
    assert list(destination.iterdir()) == []  # nothing kept, no temporary file


def test_cifar_published_checksums():
    assert ds._MD5["cifar-10"] == {
        "cifar-10-python.tar.gz": "c58f30108f718f92721af3b95e74349a"
    }
    assert ds._MD5["cifar-100"] == {
        "cifar-100-python.tar.gz": "eb9058c3a382ffc7106e4002c42a8d85"
    }
    assert ds._MIRRORS["cifar-10"] == ("https://www.cs.toronto.edu/~kriz/",)
    assert ds._MD5["stl-10"] == {
        "stl10_binary.tar.gz": "91f7769df0f17e558f3565bffb0c7dfb"
    }
    assert ds._MIRRORS["stl-10"] == ("http://ai.stanford.edu/~acoates/stl10/",)


# ---------------------------------------------------------------------- STL-10

STL_CLASSES = ["airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey"]
STL_CLASSES += ["ship", "truck"]


def stl_bytes(images):
    """Images (n, 3, 96, 96) indexed (channel, row, column), stored as the
    STL-10 files are: channel by channel, each channel in column-major order."""
    return b"".join(plane.tobytes(order="F") for image in images for plane in image)


def fake_stl10(folder, counts=None, seed=0):
    counts = counts or {"train": 3, "test": 2, "unlabeled": 4}
    rng = np.random.RandomState(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for part, n in counts.items():
        images = rng.randint(0, 200, size=(n, 3, 96, 96)).astype(np.uint8)
        images[0, 0, 0, 5] = 255  # a bright red pixel on row 0, column 5
        images[0, 0, 5, 0] = 0
        (folder / f"{part}_X.bin").write_bytes(stl_bytes(images))
        labels = None
        if part != "unlabeled":
            labels = rng.randint(1, 11, size=n).astype(np.uint8)
            (folder / f"{part}_y.bin").write_bytes(labels.tobytes())
        arrays[part] = images, labels
    (folder / "class_names.txt").write_text("\n".join(STL_CLASSES) + "\n")
    (folder / "fold_indices.txt").write_text("0 1 2\n")
    return arrays


def test_stl10_layout_and_transpose(tmp_path):
    folder = tmp_path / "stl10_binary"
    arrays = fake_stl10(folder)
    images, labels = arrays["train"]

    bunch = load_stl10(folder)  # subset='train'
    assert bunch.data.shape == (3, 27648) and bunch.data.dtype == np.float32
    assert bunch.images.shape == (3, 96, 96, 3) and bunch.image_shape == (3, 96, 96)
    assert np.shares_memory(bunch.images, bunch.data)
    assert bunch.images[0, 0, 5, 0] == 1.0  # row 0, column 5, red
    assert bunch.images[0, 5, 0, 0] == 0.0
    assert_allclose(bunch.data, images.reshape(3, -1) / 255, rtol=1e-6)
    assert_allclose(bunch.images, np.moveaxis(images, 1, -1) / 255, rtol=1e-6)
    assert bunch.target.dtype == np.int64
    assert_array_equal(bunch.target, labels.astype(np.int64) - 1)
    assert bunch.target_names.tolist() == STL_CLASSES
    assert "STL-10" in bunch.DESCR
    assert_array_equal(load_stl10(tmp_path).data, bunch.data)  # the parent folder


def test_stl10_subsets_and_dtype(tmp_path, monkeypatch):
    arrays = fake_stl10(tmp_path / "stl10_binary", seed=1)
    monkeypatch.setattr(ds, "_STL10_CHUNK", 3)  # several chunks per file

    X, y = load_stl10(tmp_path, "test", return_X_y=True)
    assert_allclose(X, arrays["test"][0].reshape(2, -1) / 255, rtol=1e-6)
    assert_array_equal(y, arrays["test"][1] - 1)

    unlabeled = load_stl10(tmp_path, "unlabeled")
    assert unlabeled.data.shape == (4, 27648)
    assert_array_equal(unlabeled.target, [-1, -1, -1, -1])
    assert_allclose(unlabeled.data, arrays["unlabeled"][0].reshape(4, -1) / 255)

    both = load_stl10(tmp_path, "train+unlabeled")
    expected = np.concatenate([arrays["train"][0], arrays["unlabeled"][0]])
    assert_allclose(both.data, expected.reshape(7, -1) / 255, rtol=1e-6)
    assert both.target.tolist()[3:] == [-1] * 4
    assert_array_equal(both.target[:3], arrays["train"][1] - 1)

    raw = load_stl10(tmp_path, "train+unlabeled", dtype="uint8")
    assert raw.data.dtype == np.uint8 and raw.images.dtype == np.uint8
    assert_array_equal(raw.data, expected.reshape(7, -1))
    assert_array_equal(raw.images, np.moveaxis(expected, 1, -1))
    assert load_stl10(tmp_path, dtype=np.float32).data.dtype == np.float32


def test_stl10_bad_arguments(tmp_path):
    fake_stl10(tmp_path)
    with pytest.raises(ValueError, match="subset must be one of 'train', 'test', "):
        load_stl10(tmp_path, "all")
    for dtype in ("float64", np.int64, None, "nonsense"):
        with pytest.raises(ValueError, match="dtype must be 'float32' or 'uint8'"):
            load_stl10(tmp_path, dtype=dtype)
    with pytest.raises(TypeError, match="download must be a bool"):
        load_stl10(tmp_path, download=1)


def test_stl10_corrupt_files(tmp_path):
    arrays = fake_stl10(tmp_path)
    data = (tmp_path / "train_X.bin").read_bytes()
    (tmp_path / "train_X.bin").write_bytes(data[:-10])
    with pytest.raises(ValueError, match="not a whole number of 3x96x96 images"):
        load_stl10(tmp_path)
    (tmp_path / "train_X.bin").write_bytes(data)
    (tmp_path / "train_y.bin").write_bytes(bytes([1, 2]))
    with pytest.raises(ValueError, match="holds 3 images but .* holds 2 labels"):
        load_stl10(tmp_path)
    (tmp_path / "train_y.bin").write_bytes(bytes([1, 11, 2]))
    with pytest.raises(ValueError, match="labels from 1 to 11, outside 1-10"):
        load_stl10(tmp_path)
    (tmp_path / "train_y.bin").write_bytes(arrays["train"][1].tobytes())
    assert load_stl10(tmp_path).data.shape == (3, 27648)


def test_stl10_missing_files_messages(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        load_stl10(tmp_path, "train+unlabeled")
    message = str(err.value)
    assert "train_X.bin, train_y.bin, unlabeled_X.bin, class_names.txt" in message
    assert "http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz" in message
    assert "download=True" in message and "path=" in message
    folder = tmp_path / "stl10_binary"
    fake_stl10(folder, {"train": 2, "test": 2})
    assert load_stl10(tmp_path, "test").data.shape == (2, 27648)
    with pytest.raises(FileNotFoundError, match=r"file\(s\) unlabeled_X.bin not"):
        load_stl10(tmp_path, "unlabeled")
    archive = tmp_path / "stl10_binary.tar.gz"
    archive.write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="download=True extracts it"):
        load_stl10(tmp_path, "unlabeled")
    with pytest.raises(FileNotFoundError, match="is a file: pass path= the folder"):
        load_stl10(archive)


@pytest.fixture
def stl_mirror(tmp_path, monkeypatch):
    source = tmp_path / "mirror"
    source.mkdir()
    arrays = fake_stl10(tmp_path / "src" / "stl10_binary", seed=2)
    archive = make_tar(
        source / "stl10_binary.tar.gz",
        tmp_path / "src" / "stl10_binary",
        "stl10_binary",
    )
    monkeypatch.setitem(ds._MIRRORS, "stl-10", (source.as_uri(),))
    monkeypatch.setitem(ds._MD5, "stl-10", {archive.name: md5(archive)})
    return source, arrays


def test_stl10_download_and_extract(tmp_path, stl_mirror, monkeypatch):
    source, arrays = stl_mirror
    destination = tmp_path / "data"
    X, y = load_stl10(destination, "test", return_X_y=True, download=True)
    assert_allclose(X, arrays["test"][0].reshape(2, -1) / 255, rtol=1e-6)
    assert_array_equal(y, arrays["test"][1] - 1)
    assert sorted(p.name for p in destination.iterdir()) == [
        "stl10_binary",
        "stl10_binary.tar.gz",
    ]
    assert sorted(p.name for p in (destination / "stl10_binary").iterdir()) == [
        "class_names.txt",
        "fold_indices.txt",
        "test_X.bin",
        "test_y.bin",
        "train_X.bin",
        "train_y.bin",
        "unlabeled_X.bin",
    ]
    monkeypatch.setitem(ds._MIRRORS, "stl-10", ((tmp_path / "gone").as_uri(),))
    assert load_stl10(destination, "unlabeled", download=True).data.shape == (4, 27648)

    # an archive already there is extracted, not downloaded again
    (destination / "stl10_binary" / "train_X.bin").unlink()
    assert load_stl10(destination, download=True).data.shape == (3, 27648)


def test_stl10_bad_archive(tmp_path, monkeypatch):
    source = tmp_path / "mirror"
    folder = tmp_path / "src" / "stl10_binary"
    fake_stl10(folder)
    (folder / "unlabeled_X.bin").unlink()
    source.mkdir()
    archive = make_tar(source / "stl10_binary.tar.gz", folder, "stl10_binary")
    monkeypatch.setitem(ds._MIRRORS, "stl-10", (source.as_uri(),))
    monkeypatch.setitem(ds._MD5, "stl-10", {archive.name: md5(archive)})
    with pytest.raises(ValueError, match="lacks stl10_binary/unlabeled_X.bin"):
        load_stl10(tmp_path / "dest", download=True)
    extracted = tmp_path / "dest" / "stl10_binary"
    assert not [p for p in extracted.iterdir() if p.name.startswith(".")]
