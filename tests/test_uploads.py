"""Upload-ready subject images (skdec/_uploads.py): the original file when
the uploader takes it, else its own pixels re-encoded within the size limit."""

import numpy as np
import pytest
from PIL import Image

from skdec._uploads import parse_size, upload_image


def test_parse_size():
    assert parse_size("1MiB") == 1024**2 and parse_size("800KB") == 800_000
    assert parse_size("2048") == 2048 and parse_size("1.5 kib") == 1536
    for bad in ("lots", "1XB", "10"):
        with pytest.raises(ValueError):
            parse_size(bad)


def test_a_small_png_or_jpeg_is_copied_as_it_is(tmp_path):
    pixels = np.random.RandomState(0).randint(0, 256, (20, 30, 3)).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    Image.fromarray(pixels).save(tmp_path / "b.jpeg")
    out = tmp_path / "out"
    out.mkdir()
    assert upload_image(tmp_path / "a.png", out, "s0") == ("s0.png", 1.0)
    assert (out / "s0.png").read_bytes() == (tmp_path / "a.png").read_bytes()
    assert upload_image(tmp_path / "b.jpeg", out, "s1") == ("s1.jpg", 1.0)
    # a PNG asked for as JPEG is re-encoded at its full size
    name, scale = upload_image(tmp_path / "a.png", out, "s2", image_format="jpeg")
    assert name == "s2.jpg" and scale == 1.0
    with Image.open(out / name) as image:
        assert image.format == "JPEG" and image.size == (30, 20)


def test_other_formats_and_large_files_are_re_encoded_to_fit(tmp_path):
    rng = np.random.RandomState(0)
    deep = (rng.rand(200, 300) * 65535).astype(np.uint16)  # a 16-bit TIFF
    Image.fromarray(deep).save(tmp_path / "deep.tif")
    rgba = rng.randint(0, 256, (40, 40, 4)).astype(np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "alpha.webp", lossless=True)
    out = tmp_path / "out"
    out.mkdir()
    name, scale = upload_image(tmp_path / "deep.tif", out, "d")
    assert name == "d.png" and scale == 1.0  # 60 KB: fits at its full size
    with Image.open(out / name) as image:
        assert image.size == (300, 200) and image.mode == "L"
    name, scale = upload_image(tmp_path / "deep.tif", out, "d", max_bytes=20_000)
    assert (out / name).stat().st_size <= 20_000 and scale < 1
    with Image.open(out / name) as image:
        assert 64 <= image.size[1] < 200
    name, _ = upload_image(tmp_path / "alpha.webp", out, "w", image_format="jpeg")
    with Image.open(out / name) as image:  # no transparency in JPEG
        assert image.mode == "RGB"
    assert not list(out.glob("*.partial"))
    with pytest.raises(ValueError, match=r"deep\.tif: no PNG of it fits in 2000"):
        upload_image(tmp_path / "deep.tif", out, "x", max_bytes=2000)
    with pytest.raises(FileNotFoundError, match="No such image file"):
        upload_image(tmp_path / "none.png", out, "x")
    (tmp_path / "broken.tif").write_bytes(b"not a tiff")
    with pytest.raises(ValueError, match=r"broken\.tif: cannot be read"):
        upload_image(tmp_path / "broken.tif", out, "x")
