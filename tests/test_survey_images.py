"""Reading survey cut-outs: centre crop, intensity stretches, the orientation
test behind ``--autoencoder auto``."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from PIL import Image

from skdec.datasets import auto_center_crop, load_image_folder, orientation_symmetry

pytestmark = pytest.mark.usefixtures("no_network")


def cutout(size=40, radius=4.0, star=None, seed=0):
    """A uint8 grey cut-out: a round blob at the centre on a faint noisy sky."""
    rng = np.random.RandomState(seed)
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    sky = 10 + rng.rand(size, size) * 4
    img = sky + 200 * np.exp(-(xx**2 + yy**2) / (2 * radius**2))
    if star is not None:
        img[star] = 255
    return np.clip(img, 0, 255).astype(np.uint8)


def write(folder, images):
    folder.mkdir(exist_ok=True)
    for i, pixels in enumerate(images):
        Image.fromarray(pixels).save(folder / f"{i:03d}.png")
    return folder


def test_center_crop_keeps_the_middle(tmp_path):
    pixels = np.arange(100, dtype=np.uint8).reshape(10, 10)
    write(tmp_path, [pixels])
    bunch = load_image_folder(tmp_path, color="grayscale", center_crop=0.4)
    assert bunch.image_shape == (1, 4, 4)
    assert_allclose(bunch.images[0] * 255, pixels[3:7, 3:7], atol=1e-4)
    assert bunch.center_crop == 0.4 and bunch.stretch is None
    assert "central 0.40" in bunch.DESCR
    whole = load_image_folder(tmp_path, color="grayscale", center_crop=1.0)
    assert whole.image_shape == (1, 10, 10)


def test_center_crop_before_resize(tmp_path):
    pixels = np.zeros((40, 40), dtype=np.uint8)
    pixels[15:25, 15:25] = 255  # a bright square: a quarter of the width
    write(tmp_path, [pixels])
    cropped = load_image_folder(
        tmp_path, color="grayscale", image_size=(8, 8), center_crop=0.25
    )
    assert cropped.images[0].min() > 0.99  # the square fills the crop
    whole = load_image_folder(tmp_path, color="grayscale", image_size=(8, 8))
    assert whole.images[0].mean() < 0.2


def test_auto_crop_on_centred_subjects_and_not_on_full_frames(tmp_path):
    stars = [(3, 5), (30, 8), (12, 35), (36, 36), (2, 20), (25, 2)]
    galaxies = write(
        tmp_path / "g", [cutout(star=s, seed=i) for i, s in enumerate(stars)]
    )
    bunch = load_image_folder(galaxies, color="grayscale", center_crop="auto")
    assert 0.15 <= bunch.center_crop <= 0.6
    rng = np.random.RandomState(0)
    scenes = write(
        tmp_path / "s",
        [rng.randint(0, 256, (40, 40)).astype(np.uint8) for _ in range(4)],
    )
    assert load_image_folder(scenes, center_crop="auto").center_crop == 1.0


def test_auto_center_crop_function():
    yy, xx = np.mgrid[:64, :64] - 31.5
    blob = np.exp(-(xx**2 + yy**2) / (2 * 5.0**2))
    assert 0.2 < auto_center_crop(blob + 0.1) < 0.5
    assert auto_center_crop(np.ones((64, 64))) == 1.0  # nothing above the border
    wide = np.exp(-(xx**2 + yy**2) / (2 * 30.0**2))
    assert auto_center_crop(wide) == 1.0  # fills the frame: no crop


@pytest.mark.parametrize("stretch", ["linear", "asinh", "log", "percentile"])
def test_stretches(tmp_path, stretch):
    pixels = np.tile(np.arange(0, 250, 25, dtype=np.uint8), (10, 1))
    write(tmp_path, [pixels, pixels // 2])
    bunch = load_image_folder(tmp_path, color="grayscale", stretch=stretch)
    x = bunch.images
    assert x.dtype == np.float32 and x.min() >= 0 and x.max() <= 1
    row = x[0, 0]
    assert np.all(np.diff(row) >= 0)  # monotone
    linear = pixels[0] / 255
    if stretch == "linear":
        assert_allclose(row, linear, atol=1e-6)
        assert bunch.stretch is None
    elif stretch in ("asinh", "log"):
        assert np.all(row[1:-1] > linear[1:-1])  # faint values lifted
    else:  # both images reach the full range, whatever their brightness
        assert x[0].max() == 1 and x[1].max() == 1 and x[1].min() == 0
        assert_allclose(x[0], x[1], atol=0.03)


def test_stretch_and_crop_stored_in_memmap_key(tmp_path):
    write(tmp_path / "img", [cutout(seed=i) for i in range(3)])
    cache = tmp_path / "pixels.u8"
    a = load_image_folder(tmp_path / "img", stretch="percentile", memmap=cache)
    b = load_image_folder(tmp_path / "img", memmap=cache)  # other options: rebuilt
    assert np.abs(a.data.astype(int) - b.data.astype(int)).max() > 50
    c = load_image_folder(tmp_path / "img", memmap=cache, center_crop=0.5)
    assert c.image_shape == (3, 20, 20)


def test_bad_crop_and_stretch(tmp_path):
    write(tmp_path, [cutout()])
    with pytest.raises(ValueError, match="center_crop"):
        load_image_folder(tmp_path, center_crop=0)
    with pytest.raises(ValueError, match="center_crop"):
        load_image_folder(tmp_path, center_crop=1.5)
    with pytest.raises(ValueError, match="stretch"):
        load_image_folder(tmp_path, stretch="sqrt")


def test_orientation_symmetry():
    blobs = np.stack([cutout(seed=i).astype(float).ravel() for i in range(5)])
    assert orientation_symmetry(blobs, (40, 40)) > 0.95
    rng = np.random.RandomState(0)
    shirts = np.zeros((5, 3, 20, 12))
    shirts[:, :, 2:18, 3:9] = 1
    shirts[:, :, 2:6, :] = 1  # sleeves at the top: an up
    shirts += rng.rand(*shirts.shape) * 0.1
    assert orientation_symmetry(shirts.reshape(5, -1), (3, 20, 12)) < 0.9


def test_auto_stretch_follows_the_crop(tmp_path):
    stars = [(3, 5), (30, 8), (12, 35), (36, 36)]
    galaxies = write(
        tmp_path / "g", [cutout(star=s, seed=i) for i, s in enumerate(stars)]
    )
    cut = load_image_folder(galaxies, center_crop="auto", stretch="auto")
    assert cut.center_crop < 1 and cut.stretch == "percentile"
    rng = np.random.RandomState(0)
    scenes = write(
        tmp_path / "s",
        [rng.randint(0, 256, (40, 40)).astype(np.uint8) for _ in range(3)],
    )
    whole = load_image_folder(scenes, center_crop="auto", stretch="auto")
    assert whole.center_crop == 1.0 and whole.stretch is None
    plain = load_image_folder(scenes)
    np.testing.assert_array_equal(whole.data, plain.data)  # read as they are


def test_auto_crop_is_chosen_once_for_a_memmap(tmp_path, monkeypatch):
    import skdec._image_folder as image_folder

    stars = [(3, 5), (30, 8), (12, 35), (36, 36)]
    galaxies = write(
        tmp_path / "g", [cutout(star=s, seed=i) for i, s in enumerate(stars)]
    )
    cache = tmp_path / "cache.u8"
    first = load_image_folder(
        galaxies, center_crop="auto", stretch="auto", memmap=cache
    )
    assert first.center_crop < 1 and first.stretch == "percentile"

    def no_sample(*args):
        raise AssertionError("the sample of files was read again")

    # the crop that 'auto' chose is kept beside the pixels: no file is read
    monkeypatch.setattr(image_folder, "_choose_center_crop", no_sample)
    again = load_image_folder(
        galaxies, center_crop="auto", stretch="auto", memmap=cache
    )
    assert (again.center_crop, again.stretch) == (first.center_crop, "percentile")
    assert_allclose(again.data, first.data)
    assert again.DESCR == first.DESCR
    # a file changed: the sample is read again (and here fails loudly)
    Image.fromarray(cutout(seed=9)).save(galaxies / "000.png")
    with pytest.raises(AssertionError, match="read again"):
        load_image_folder(galaxies, center_crop="auto", memmap=cache)
