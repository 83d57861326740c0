"""Subject images ready for a Zooniverse upload, made from the original files.

The command-line uploader of Zooniverse (``panoptes subject-set
upload-subjects``, zooniverse/panoptes-cli) takes PNG, JPEG and GIF files and
refuses files over its size limit (1 MiB, the default of ``skdec select
--max-bytes``). :func:`upload_image` writes one subject's image from its
original file: the file itself when the uploader takes it as it is, else the
original pixels (at their full size, not the pixels the network was trained
on) encoded as PNG or JPEG and, while the file is over the limit, scaled down.
"""

from __future__ import annotations

import io
import math
import shutil
from pathlib import Path

import numpy as np

__all__ = ["IMAGE_FORMATS", "MAX_BYTES", "parse_size", "upload_image"]

#: the uploader's size limit, and the default of ``--max-bytes``
MAX_BYTES = 1024 * 1024
#: ``--image-format``: 'auto' keeps a JPEG as JPEG and makes the others PNG
IMAGE_FORMATS = ("auto", "png", "jpeg")
#: suffixes of files the uploader takes as they are, by format
_TAKEN = {
    "png": (".png",),
    "jpeg": (".jpg", ".jpeg"),
    "auto": (".png", ".jpg", ".jpeg"),
}
_UNITS = {"b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2}
_JPEG_QUALITY = 90
_MIN_SIDE = 64  # no image is scaled below this many pixels a side
_SHRINK_STEPS = 12


def parse_size(text: str) -> int:
    """A size such as ``1048576``, ``'500KB'``, ``'1MiB'`` in bytes; a
    ValueError for anything else."""
    value = str(text).strip().lower().replace(" ", "")
    number = value.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = value[len(number) :] or "b"
    try:
        size = float(number) * _UNITS[unit]
    except (KeyError, ValueError):
        raise ValueError(
            f"expected a size in bytes such as 1048576, 800KB or 1MiB, got {text!r}"
        ) from None
    if size < 1024:
        raise ValueError(f"a size of at least 1 KiB is needed, got {text!r}")
    return int(size)


def _open_pixels(source: Path):
    """The original image of ``source`` as an 8-bit PIL image (L, RGB or
    RGBA), decoded as :func:`skdec.datasets.load_image_folder` decodes it,
    at its own size."""
    from PIL import Image

    from ._image_folder import (
        _PILLOW_FORMATS,
        _SIXTEEN_BIT_MODES,
        _import_fits,
        _kind,
        _plane,
        _read_fits,
    )

    if _kind(source.name) == "fits":
        plane = _read_fits(source, _import_fits())
        return Image.fromarray(np.rint(plane * 255).astype(np.uint8))
    with Image.open(source, formats=_PILLOW_FORMATS) as img:
        img.load()
        if img.mode in _SIXTEEN_BIT_MODES + ("I", "F"):
            return Image.fromarray(np.rint(_plane(img) * 255).astype(np.uint8))
        if img.mode in ("L", "RGB"):
            return img.copy()
        if img.mode in ("LA", "RGBA", "PA") or "transparency" in img.info:
            return img.convert("RGBA")
        return img.convert("RGB")


def _encode(picture, image_format: str) -> bytes:
    buffer = io.BytesIO()
    if image_format == "jpeg":
        if picture.mode not in ("L", "RGB"):  # JPEG has no transparency
            from PIL import Image

            black = Image.new("RGBA", picture.size, (0, 0, 0, 255))
            picture = Image.alpha_composite(black, picture.convert("RGBA"))
            picture = picture.convert("RGB")
        picture.save(buffer, "JPEG", quality=_JPEG_QUALITY, optimize=True)
    else:
        picture.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def upload_image(
    source, folder, stem: str, *, max_bytes=MAX_BYTES, image_format="auto"
):
    """Write the upload-ready image of the file ``source`` into ``folder``.

    Parameters
    ----------
    source : path-like
        The subject's original file (any format the image folder reader
        takes: PNG, JPEG, TIFF, BMP, WebP, FITS...).
    folder : path-like
        Where to write it.
    stem : str
        Its name without the suffix (``subject_<row>``).
    max_bytes : int, default=1 MiB
        The largest file to write: an image over it is scaled down (Lanczos)
        until it fits.
    image_format : {'auto', 'png', 'jpeg'}, default='auto'
        'auto' keeps a JPEG file as JPEG and writes the others as PNG
        (lossless).

    Returns
    -------
    name : str
        The file name written (``stem`` and ``.png``, ``.jpg`` or the
        original's suffix).
    scale : float
        The factor its sides were scaled by (1.0: full size).

    Raises
    ------
    FileNotFoundError
        If ``source`` is missing.
    ValueError
        If it cannot be decoded, or cannot fit ``max_bytes`` even at
        ``_MIN_SIDE`` pixels a side.
    """
    from PIL import Image

    source, folder = Path(source), Path(folder)
    if not source.is_file():
        raise FileNotFoundError(f"No such image file: {source}")
    suffix = source.suffix.lower()
    if suffix in _TAKEN[image_format] and source.stat().st_size <= max_bytes:
        name = stem + (".jpg" if suffix == ".jpeg" else suffix)
        shutil.copyfile(source, folder / name)
        return name, 1.0
    if image_format == "auto":
        image_format = "jpeg" if suffix in (".jpg", ".jpeg") else "png"
    try:
        picture = _open_pixels(source)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{source}: cannot be read ({exc})") from None
    data = _encode(picture, image_format)
    scale = 1.0
    for _ in range(_SHRINK_STEPS):
        if len(data) <= max_bytes:
            break
        # bytes grow about as the pixels: shrink the sides by the square root
        scale *= min(0.9, math.sqrt(max_bytes / len(data)) * 0.95)
        size = [max(1, round(side * scale)) for side in picture.size]
        if min(size) < _MIN_SIDE:
            break
        data = _encode(picture.resize(size, Image.Resampling.LANCZOS), image_format)
    if len(data) > max_bytes:
        raise ValueError(
            f"{source}: no {image_format.upper()} of it fits in {max_bytes} bytes "
            f"(still {len(data)} at {scale:.0%} of its size); raise --max-bytes "
            "or use --image-format jpeg"
        )
    name = stem + (".jpg" if image_format == "jpeg" else ".png")
    temporary = folder / (name + ".partial")
    temporary.write_bytes(data)
    temporary.replace(folder / name)
    return name, scale
