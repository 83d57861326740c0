"""Load a folder of image files (PNG, JPEG, TIFF, BMP, WebP, FITS) as a dataset.

Re-exported by :mod:`skdec.datasets`. Pillow decodes the common formats;
astropy, an optional dependency (``pip install 'skdec[fits]'``), reads FITS
files and is imported only when a folder holds one.
"""

import json
import math
import os
import sys
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from numbers import Integral, Real
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image, ImageOps
from sklearn.utils import Bunch
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

__all__ = ["load_image_folder"]

PILLOW_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fts.gz")
# The decoders Pillow may use: a file named .png that holds, say, PostScript
# is refused rather than handed to Ghostscript.
_PILLOW_FORMATS = ("PNG", "JPEG", "TIFF", "BMP", "WEBP")  # JPEG covers MPO
_RESAMPLE = Image.Resampling.BILINEAR  # antialiased when shrinking, no overshoot
_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N")
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
_FITS_HINT = "pip install 'skdec[fits]'"


def _kind(name):
    """'fits', 'pillow' or None, from a file name (case-insensitive)."""
    lower = name.lower()
    if lower.endswith(FITS_SUFFIXES):
        return "fits"
    if lower.endswith(PILLOW_SUFFIXES):
        return "pillow"
    return None


def _raise(error):
    raise error


def _list_image_files(root, recursive):
    """Relative posix paths and kinds of the image files under ``root``,
    sorted by path (folder by folder); hidden files and folders are left out."""
    found = []
    for folder, subfolders, names in os.walk(root, onerror=_raise):
        subfolders[:] = (
            []
            if not recursive
            else [name for name in subfolders if not name.startswith(".")]
        )
        relative = Path(folder).relative_to(root)
        for name in names:
            kind = None if name.startswith(".") else _kind(name)
            if kind is not None:
                found.append((PurePosixPath(relative.as_posix(), name), kind))
    found.sort(key=lambda item: item[0].parts)
    return found


def _import_fits():
    try:
        from astropy.io import fits
    except ImportError as exc:
        raise ImportError(
            "Reading FITS files needs the optional dependency astropy; install "
            f"it with: {_FITS_HINT}"
        ) from exc
    return fits


def _min_max(array):
    """Scale to [0, 1] by the finite minimum and maximum; NaN and infinite
    pixels become 0, and so does a constant image."""
    array = np.asarray(array, dtype=np.float64)
    finite = np.isfinite(array)
    out = np.zeros(array.shape, dtype=np.float32)
    if finite.any():
        low, high = array[finite].min(), array[finite].max()
        if high > low:
            out[finite] = (array[finite] - low) / (high - low)
    return out


def _read_fits(path, fits):
    """The first image HDU holding data, as a float32 2-D array in [0, 1]."""
    with fits.open(path, memmap=False) as hdus:
        data = next(
            (hdu.data for hdu in hdus if hdu.is_image and hdu.data is not None),
            None,
        )
        if data is None:
            raise ValueError("no image HDU holds data")
        while data.ndim > 2 and data.shape[0] == 1:
            data = data[0]
        if data.ndim != 2:
            raise ValueError(
                f"the image has shape {data.shape}; only 2-D images (after "
                "dropping leading axes of length 1) are read"
            )
        return _min_max(data)


def _plane(img):
    """A high-bit-depth single-channel image as float32 in [0, 1]."""
    pixels = np.asarray(img)
    if img.mode in _SIXTEEN_BIT_MODES:
        return pixels.astype(np.float32) / 65535
    if img.mode == "I":  # 32-bit integers: Pillow's mode for some 16-bit files
        if pixels.size and (pixels.min() < 0 or pixels.max() > 65535):
            raise ValueError(
                "32-bit integer pixels outside 0-65535 have no fixed scale to "
                "[0, 1]; save the image as 8 or 16 bits, as float, or as FITS"
            )
        return pixels.astype(np.float32) / 65535
    return _min_max(pixels)  # mode 'F': floats, scaled like FITS images


def _fit(img, image_size, resize):
    if image_size is None:
        return img
    size = (image_size[1], image_size[0])  # Pillow sizes are (width, height)
    if img.size == size:
        return img
    if resize == "crop":
        return ImageOps.fit(img, size, method=_RESAMPLE)
    return ImageOps.pad(img, size, method=_RESAMPLE, color=0)


def _centre(img, center_crop):
    """The central ``center_crop`` of the image's width and height."""
    if center_crop is None or center_crop >= 1:
        return img
    width, height = img.size
    w = max(1, round(width * center_crop))
    h = max(1, round(height * center_crop))
    left, top = (width - w) // 2, (height - h) // 2
    return img.crop((left, top, left + w, top + h))


def _decode(path, kind, color, image_size, resize, fits, center_crop=None):
    """One image as uint8 (0-255) or float32 ([0, 1]) pixels, of shape
    (H, W, 3) for RGB sources or (H, W) for single-channel ones."""
    if kind == "fits":
        img = _centre(Image.fromarray(_read_fits(path, fits)), center_crop)
        return np.clip(np.asarray(_fit(img, image_size, resize)), 0, 1)
    with Image.open(path, formats=_PILLOW_FORMATS) as img:
        img.load()  # decode now: truncated files fail here
        if img.mode in _SIXTEEN_BIT_MODES + ("I", "F"):
            plane = _centre(Image.fromarray(_plane(img)), center_crop)
            return np.clip(np.asarray(_fit(plane, image_size, resize)), 0, 1)
        if img.mode in _ALPHA_MODES or "transparency" in img.info:
            rgba = img.convert("RGBA")
            black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
            img = Image.alpha_composite(black, rgba)
        img = _centre(img.convert("RGB" if color == "rgb" else "L"), center_crop)
        return np.asarray(_fit(img, image_size, resize))


STRETCHES = ("linear", "asinh", "log", "percentile")
# astropy.visualization's AsinhStretch(a=0.1) and LogStretch(a=1000)
_ASINH_A, _LOG_A = 0.1, 1000.0
# stretch='percentile': per image, these percentiles of its pixels go to 0 and 1
PERCENTILES = (1.0, 99.5)


def _stretch(pixels, stretch):
    """Float32 pixels in [0, 1] after ``stretch``, one image at a time."""
    x = pixels.astype(np.float32)
    if pixels.dtype == np.uint8:
        x /= np.float32(255)
    if stretch == "percentile":
        lo, hi = np.percentile(x, PERCENTILES)
        x = (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)
    elif stretch == "asinh":
        x = np.arcsinh(x / _ASINH_A) / np.arcsinh(1 / _ASINH_A)
    elif stretch == "log":
        x = np.log1p(_LOG_A * x) / np.log1p(_LOG_A)
    return np.clip(x, 0, 1).astype(np.float32, copy=False)


# center_crop='auto': the smallest centred square of the mean image that holds
# this share of its brightness above the border's; no crop above MAX_AUTO_CROP
AUTO_CROP_SHARE = 0.85
MAX_AUTO_CROP = 0.75
AUTO_CROP_SAMPLE = 500  # files, evenly spaced in file order
_AUTO_CROP_SIZE = 64  # pixels of the whole frame it looks at


def auto_center_crop(mean_image):
    """The ``center_crop`` that 'auto' chooses for a mean grayscale image.

    The excess brightness of ``mean_image`` above the median of its border
    pixels (the sky, or the background) is summed in centred squares of
    growing side; the fraction of the frame is the first whose square holds
    ``AUTO_CROP_SHARE`` of the total, rounded up to 0.01. Above
    ``MAX_AUTO_CROP`` (subjects filling the frame, or no centred subject),
    the answer is 1.0: no crop.
    """
    m = np.asarray(mean_image, dtype=np.float64)
    h, w = m.shape
    border = np.concatenate([m[0], m[-1], m[:, 0], m[:, -1]])
    excess = np.clip(m - np.median(border), 0, None)
    total = excess.sum()
    if total <= 0:
        return 1.0
    for fraction in np.arange(1, 101) / 100:
        sh, sw = max(1, round(fraction * h)), max(1, round(fraction * w))
        top, left = (h - sh) // 2, (w - sw) // 2
        if excess[top : top + sh, left : left + sw].sum() >= AUTO_CROP_SHARE * total:
            return 1.0 if fraction > MAX_AUTO_CROP else float(fraction)
    return 1.0


def _choose_center_crop(root, files, fits):
    """``center_crop='auto'``: the crop of :func:`auto_center_crop` on the
    mean of up to ``AUTO_CROP_SAMPLE`` files, each read whole as grayscale."""
    step = max(1, len(files) / AUTO_CROP_SAMPLE)
    picked = sorted({int(i * step) for i in range(min(len(files), AUTO_CROP_SAMPLE))})
    size = (_AUTO_CROP_SIZE, _AUTO_CROP_SIZE)
    total, n = np.zeros(size), 0
    for i in picked:
        name, kind = files[i]
        try:
            pixels = _decode(root / name, kind, "grayscale", None, "crop", fits)
        except Exception:  # unreadable files are reported by the main pass
            continue
        if pixels.ndim == 3:  # a single-channel float plane is read as is
            pixels = pixels.mean(axis=-1)
        if pixels.dtype == np.uint8:
            pixels = pixels / 255.0
        # the whole frame, squeezed to a square: fractions of width and height
        plane = Image.fromarray(pixels.astype(np.float32))
        total += np.asarray(plane.resize(size[::-1], _RESAMPLE), dtype=np.float64)
        n += 1
    return auto_center_crop(total / n) if n else 1.0


def _store(pixels, destination):
    """Write (H, W[, 3]) pixels into a (C, H, W) row: float32 scaled to
    [0, 1], or uint8 (0-255; a float plane in [0, 1] is rounded to 8 bits)."""
    if pixels.ndim == 3:
        pixels = np.moveaxis(pixels, -1, 0)
    if destination.dtype == np.uint8:
        if pixels.dtype != np.uint8:  # a float plane, repeated on each channel
            pixels = np.rint(np.clip(pixels, 0, 1) * 255)
        destination[...] = pixels
    elif pixels.dtype == np.uint8:
        np.divide(pixels, np.float32(255), out=destination)
    else:  # a single-channel float plane, repeated on each channel
        destination[...] = pixels


class _Progress:
    """A tqdm bar on a terminal, else a plain line every 10%; silent at
    verbose=0."""

    def __init__(self, total, verbose):
        self.total, self.verbose, self.bar = total, verbose, None
        self.step = max(1, math.ceil(total / 10))
        if verbose > 0 and _stderr_is_terminal():
            try:
                from tqdm.auto import tqdm
            except ImportError:
                pass
            else:
                self.bar = tqdm(total=total, desc="loading images", unit="image")

    def update(self, done):
        if self.bar is not None:
            self.bar.update(1)
        elif self.verbose > 0 and (done % self.step == 0 or done == self.total):
            print(f"[load_image_folder] loaded {done}/{self.total} images", flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _stderr_is_terminal():
    stderr = sys.stderr
    return stderr is not None and hasattr(stderr, "isatty") and stderr.isatty()


def _check_image_size(image_size):
    if image_size is None:
        return None
    if (
        not isinstance(image_size, (tuple, list))
        or len(image_size) != 2
        or not all(
            isinstance(v, Integral) and not isinstance(v, bool) and v > 0
            for v in image_size
        )
    ):
        raise ValueError(
            "image_size must be None or a pair of positive ints (height, width); "
            f"got {image_size!r}."
        )
    return int(image_size[0]), int(image_size[1])


def _describe(
    root, n_images, image_shape, color, image_size, resize, targets, memmap=None,
    center_crop=None, stretch=None,
):  # fmt: skip
    channels = "RGB" if color == "rgb" else "grayscale"
    how = (
        "at their own size"
        if image_size is None
        else f"resized to {image_size[0]}x{image_size[1]} by "
        + ("centre crop" if resize == "crop" else "zero padding")
    )
    if center_crop is not None and center_crop < 1:
        how = f"cropped to the central {center_crop:.2f} of each side, " + how
    if stretch is not None:
        how += f", {stretch} stretch"
    classes = (
        f"; targets are the {len(targets)} first-level sub-folders"
        if targets is not None
        else "; no targets (not every file lies in a sub-folder)"
    )
    stored = (
        "scaled to [0, 1]"
        if memmap is None
        else f"stored as uint8 (0-255) in the memmap {memmap}"
    )
    return (
        f"Image folder {root}\n\n{n_images} images read {how}, as {channels} "
        f"pixels of shape {image_shape} (C, H, W) {stored}{classes}.\n"
    )


@validate_params(
    {
        "path": [str, os.PathLike],
        "image_size": [tuple, list, None],
        "color": [StrOptions({"rgb", "grayscale"})],
        "resize": [StrOptions({"crop", "pad"})],
        "center_crop": [
            Interval(Real, 0, 1, closed="right"),
            StrOptions({"auto"}),
            None,
        ],
        "stretch": [StrOptions(set(STRETCHES) | {"auto"}), None],
        "recursive": ["boolean"],
        "return_X_y": ["boolean"],
        "on_error": [StrOptions({"raise", "skip"})],
        "n_jobs": [Interval(Integral, 1, None, closed="left"), None],
        "memmap": [str, os.PathLike, None],
        "verbose": ["verbose"],
    },
    prefer_skip_nested_validation=True,
)
def load_image_folder(
    path,
    *,
    image_size=None,
    color="rgb",
    resize="crop",
    center_crop=None,
    stretch=None,
    recursive=True,
    return_X_y=False,
    on_error="raise",
    n_jobs=None,
    memmap=None,
    verbose=0,
):
    """Load every image file under a folder, sub-folders naming the classes.

    PNG, JPEG, TIFF, BMP and WebP files are decoded by Pillow; FITS files
    (``.fits``, ``.fit``, ``.fts``, each also gzip-compressed with ``.gz``)
    by astropy, an optional dependency (``pip install 'skdec[fits]'``).
    Extensions are matched case-insensitively; other files, hidden files
    and folders (whose name starts with ``.``) and symbolic links to folders
    are ignored. Files are
    sorted by their path relative to ``path`` (folder by folder), so the
    order does not depend on the file system.

    Pixels are scaled to ``[0, 1]``: 8-bit values are divided by 255 and
    16-bit ones by 65535; floating-point images (TIFF) and FITS images are
    scaled per image by their minimum and maximum, ignoring NaN and infinite
    pixels, which become 0 (as does a constant image). FITS arrays keep the
    row order of the file (row 0 is the first row stored, which FITS viewers
    show at the bottom). Transparent pixels are composited on black. Only
    the first frame of a multi-frame file is read, and EXIF orientation tags
    are not applied: pixels are taken as stored.

    Parameters
    ----------
    path : str or path-like
        The folder to read.

    image_size : (int, int), default=None
        ``(height, width)`` to resize every image to, keeping its aspect
        ratio as ``resize`` says (bilinear resampling, antialiased when
        shrinking). If None, every image must have the same size, else a
        ValueError names two files of different sizes.

    color : {'rgb', 'grayscale'}, default='rgb'
        Read 3 channels (Pillow's ``'RGB'`` conversion; single-channel
        images are repeated on each channel) or 1 (Pillow's ``'L'``, the
        ITU-R 601-2 luma ``0.299 R + 0.587 G + 0.114 B``).

    resize : {'crop', 'pad'}, default='crop'
        How ``image_size`` keeps the aspect ratio: ``'crop'`` scales the
        image so that its shorter side fits and keeps the centre;
        ``'pad'`` scales it so that its longer side fits and pads both sides
        of the other with zeros (black), centring the image.

    center_crop : float in (0, 1], 'auto' or None, default=None
        Keep only the central part of every image, this fraction of its
        width and of its height, before ``image_size`` resizes it: survey
        cut-outs (a galaxy at the centre of a wide field) are read without
        the field around them. ``'auto'`` chooses the fraction from the
        collection itself, without labels: the mean of up to 500 images
        (evenly spaced in file order, each read whole as grayscale) is
        measured for the smallest centred square holding 85% of its
        brightness above its border's (:func:`auto_center_crop`); collections
        whose subjects fill the frame, or are not centred (no square under
        0.75 of the frame), are not cropped. The fraction used is in the
        Bunch's ``center_crop``. None or 1.0 keep the whole frame.

    stretch : {'linear', 'asinh', 'log', 'percentile', 'auto'} or None, \
            default=None
        Intensity stretch of each image after resizing, on pixels scaled to
        [0, 1] (None and ``'linear'`` leave them; ``'auto'`` is
        ``'percentile'`` where a centre crop is applied, survey cut-outs, and
        linear otherwise, so that collections whose subjects fill the frame
        are read as they are): ``'asinh'`` and ``'log'``
        are astropy's ``AsinhStretch(a=0.1)`` and ``LogStretch(a=1000)``,
        which lift faint structure; ``'percentile'`` maps each image's 1st
        and 99.5th percentiles of its pixels (all channels together, so
        colours keep their ratios) to 0 and 1 and clips, so that bright and
        faint subjects reach the same range.

    recursive : bool, default=True
        Read the files of sub-folders at any depth too; if False, only the
        files directly in ``path``.

    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch; ``target`` is
        None when the files carry no class (see Returns).

    on_error : {'raise', 'skip'}, default='raise'
        What an unreadable, truncated or corrupt file does: raise a
        ValueError naming it and the decoder's error, or be skipped and
        listed in the Bunch's ``skipped``. Nothing is dropped silently.
        Images of the wrong size (``image_size=None``) always raise.

    n_jobs : int, default=None
        Number of threads decoding files (the decoders release the GIL);
        None means ``min(8, os.cpu_count())``. The result does not depend
        on it.

    memmap : str or path-like, default=None
        A file to hold the pixels on disk instead of in memory, for folders
        larger than memory. The first call decodes the images once into it,
        as uint8 values 0-255 (16-bit, floating-point and FITS pixels, scaled
        to [0, 1] as above, are rounded to 8 bits), and writes a small
        sidecar ``<memmap>.json`` with the shape, the file names, the targets
        and the size and modification time of every image file. A later call
        with the same ``memmap`` reuses the file without decoding anything
        when the folder's image files (names, sizes, modification times) and
        the other arguments are unchanged, and rewrites it otherwise.
        ``data`` is then a read-only uint8 :class:`numpy.memmap`, which
        :class:`~skdec.DECClusterer` and :class:`~skdec.FeatureExtractor`
        read batch by batch, dividing by 255 as they go, so the pixels are
        never all in memory.

    verbose : int, default=0
        If positive, show progress: a tqdm bar when tqdm is installed and
        standard error is a terminal, else a line every 10% of the files
        (``[load_image_folder] loaded 2000/20000 images``).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With

        - ``data``: float32 array of shape ``(n_images, C * H * W)`` in
          ``[0, 1]``, each row an image flattened channel-first, i.e. in the
          order of ``image_shape``.
        - ``images``: the same pixels as ``(n_images, H, W, 3)`` (RGB) or
          ``(n_images, H, W)`` (grayscale), the layout ``matplotlib``'s
          ``imshow`` takes. It is a view of ``data``, not a copy.
        - ``image_shape``: ``(C, H, W)``, with C = 3 (RGB) or 1 (grayscale).
        - ``filenames``: the paths relative to ``path``, with ``/``
          separators, in the order of the rows.
        - ``target`` (int64) and ``target_names``, only when every file lies
          in a sub-folder of ``path``: the class of a file is the first
          sub-folder on its path, and ``target_names`` lists those folders
          in sorted order (a class whose files are all skipped stays
          listed).
        - ``skipped`` (list of ``(filename, error message)``) and
          ``n_skipped``, only when ``on_error='skip'``.
        - ``center_crop`` (the fraction kept, None for the whole frame) and
          ``stretch`` (None for linear pixels): how the pixels were read.
        - ``DESCR``: what was read and how.

        ``data`` takes ``n_images * C * H * W * 4`` bytes (10,000 RGB images
        of 64x64 take 491 MB), ``images`` nothing more. When files are
        skipped, the rows they were given stay allocated after the others.
        With ``memmap``, ``data`` is a read-only uint8 memmap of that file
        (a quarter of the float32 size, on disk) and ``images`` a view of
        it.

    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    NotADirectoryError
        If ``path`` is not a folder.
    ValueError
        If the folder holds no image file, if a file cannot be read (with
        ``on_error='raise'``) or no file can (with ``'skip'``), or, with
        ``image_size=None``, if two images differ in size.
    ImportError
        If the folder holds FITS files and astropy is not installed.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from PIL import Image
    >>> from skdec.datasets import load_image_folder
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     for name, value in [("cats", 0), ("dogs", 255)]:
    ...         os.mkdir(os.path.join(folder, name))
    ...         pixels = np.full((4, 6, 3), value, dtype=np.uint8)  # 4 rows, 6 cols
    ...         Image.fromarray(pixels).save(os.path.join(folder, name, "a.png"))
    ...     bunch = load_image_folder(folder, image_size=(4, 4))
    >>> bunch.data.shape, bunch.image_shape, bunch.images.shape
    ((2, 48), (3, 4, 4), (2, 4, 4, 3))
    >>> bunch.filenames.tolist(), bunch.target.tolist(), bunch.target_names.tolist()
    (['cats/a.png', 'dogs/a.png'], [0, 1], ['cats', 'dogs'])
    >>> float(bunch.data[0].max()), float(bunch.data[1].min())
    (0.0, 1.0)
    """
    image_size = _check_image_size(image_size)
    root = Path(path).expanduser()
    if not root.exists():
        raise FileNotFoundError(f"No such folder: {root}")
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is not a folder.")
    files = _list_image_files(root, recursive)
    if not files:
        where = "in or under" if recursive else "directly in"
        raise ValueError(
            f"No image file {where} {root}: looked for the extensions "
            f"{', '.join(PILLOW_SUFFIXES + FITS_SUFFIXES)} (any case)."
        )
    names = [str(name) for name, _ in files]
    targets = None
    if all(len(name.parts) > 1 for name, _ in files):
        targets = sorted({name.parts[0] for name, _ in files})
    fits = _import_fits() if any(kind == "fits" for _, kind in files) else None
    store = None
    if memmap is not None:
        # keyed on the options as given: 'auto' is resolved once, and what it
        # chose is kept in the sidecar (no sample of the files read again)
        options = dict(
            image_size=image_size,
            color=color,
            resize=resize,
            center_crop=center_crop,
            stretch=stretch,
            recursive=bool(recursive),
            on_error=on_error,
        )
        store = _MemmapStore(memmap, root, files, options)
        cached = store.load()
        if cached is not None:
            out, kept, errors, loading = cached
            if verbose:
                print(
                    f"[load_image_folder] reusing {store.path}: the "
                    f"{len(files)} image files are unchanged",
                    flush=True,
                )
            return _result(
                root, files, names, targets, out, kept, errors, color,
                image_size, resize, on_error, return_X_y, store, loading,
            )  # fmt: skip
    if center_crop == "auto":
        center_crop = _choose_center_crop(root, files, fits)
        if verbose:
            print(
                f"[load_image_folder] center_crop='auto' keeps {center_crop:.2f} "
                "of each image's width and height",
                flush=True,
            )
    if center_crop is not None:
        center_crop = float(center_crop)
    if stretch == "auto":  # survey cut-outs (cropped): percentile; else linear
        stretch = "percentile" if center_crop is not None and center_crop < 1 else None
    if stretch == "linear":
        stretch = None
    loading = dict(center_crop=center_crop, stretch=stretch)

    channels = 3 if color == "rgb" else 1
    n_files = len(files)
    out, errors = None, [None] * n_files

    def allocate(shape):
        if store is None:
            return np.empty(shape, dtype=np.float32)
        return store.create(shape)

    def decode(i):
        name, kind = files[i]
        pixels = _decode(
            root / name, kind, color, image_size, resize, fits, center_crop
        )
        return pixels if stretch is None else _stretch(pixels, stretch)

    def read(i):
        """None when file i is stored, else the exception it raised."""
        try:
            pixels = decode(i)
            if pixels.shape[:2] != out.shape[2:]:
                return _SizeMismatch(pixels.shape[:2])
            _store(pixels, out[i])
        except Exception as exc:  # any decoder failure is the file's
            return exc
        return None

    progress = _Progress(n_files, int(verbose))
    reference = None  # the file whose size the others must have
    try:
        start = 0
        if image_size is not None:
            out = allocate((n_files, channels) + image_size)
        else:  # the first readable image sets the size
            while out is None and start < n_files:
                try:
                    pixels = decode(start)
                except Exception as exc:
                    errors[start] = _file_error(root, names[start], exc, on_error)
                else:
                    out = allocate((n_files, channels) + pixels.shape[:2])
                    _store(pixels, out[start])
                    reference = start
                start += 1
                progress.update(start)
        if start < n_files:
            _read_rest(read, start, n_files, n_jobs, errors, progress, on_error)
    finally:
        progress.close()

    for i, problem in enumerate(errors):
        if isinstance(problem, _SizeMismatch):
            raise ValueError(
                f"Images differ in size: {names[reference]} is "
                f"{out.shape[2]}x{out.shape[3]} (height x width) but {names[i]} "
                f"is {problem.size[0]}x{problem.size[1]}. Pass image_size= to "
                "resize them all."
            )
        if problem is not None:
            errors[i] = _file_error(root, names[i], problem, on_error)
    kept = [i for i, problem in enumerate(errors) if problem is None]
    if not kept:
        raise ValueError(
            f"None of the {n_files} image files under {root} could be read; "
            f"the first one, {names[0]}: {errors[0]}"
        )
    for row, i in enumerate(kept):  # close the gaps of skipped files, in place
        if row != i:
            out[row] = out[i]
    out = out[: len(kept)]
    if store is not None:
        out = store.commit(out, kept, errors, targets, loading)
    return _result(
        root, files, names, targets, out, kept, errors, color, image_size,
        resize, on_error, return_X_y, store, loading,
    )  # fmt: skip


def _result(
    root, files, names, targets, out, kept, errors, color, image_size, resize,
    on_error, return_X_y, store, loading,
):  # fmt: skip
    """The Bunch (or ``(data, target)``) of the images ``out`` (n, C, H, W)
    read from the files of index ``kept``."""
    data = out.reshape(len(kept), -1)
    target = None
    if targets is not None:
        index = {name: k for k, name in enumerate(targets)}
        target = np.array([index[files[i][0].parts[0]] for i in kept], dtype=np.int64)
    if return_X_y:
        return data, target
    bunch = Bunch(
        data=data,
        images=np.moveaxis(out, 1, -1) if out.shape[1] == 3 else out[:, 0],
        image_shape=tuple(out.shape[1:]),
        filenames=np.array([names[i] for i in kept]),
        DESCR=_describe(
            root,
            len(kept),
            out.shape[1:],
            color,
            image_size,
            resize,
            targets,
            None if store is None else store.path,
            **loading,
        ),
        **loading,
    )
    if targets is not None:
        bunch.target, bunch.target_names = target, np.array(targets)
    if on_error == "skip":
        bunch.skipped = [(names[i], errors[i]) for i in range(len(files)) if errors[i]]
        bunch.n_skipped = len(bunch.skipped)
    return bunch


class _MemmapStore:
    """The uint8 memmap of ``load_image_folder(memmap=...)`` and its sidecar
    ``<path>.json``: written once, reused while the folder is unchanged."""

    FORMAT = 2  # 2: the crop and stretch that 'auto' chose, in "loading"

    def __init__(self, path, root, files, options):
        self.path = Path(path).expanduser()
        self.sidecar = self.path.with_name(self.path.name + ".json")
        self.partial = self.path.with_name(self.path.name + ".partial")
        self.key = {
            "format": self.FORMAT,
            "root": str(root.resolve()),
            "options": {k: _jsonable(v) for k, v in options.items()},
            "files": [
                [str(name), stat.st_size, stat.st_mtime_ns]
                for name, stat in ((name, os.stat(root / name)) for name, _ in files)
            ],
        }

    def load(self):
        """``(out, kept, errors, loading)`` from an up-to-date file, else
        None; ``loading`` is the ``center_crop`` and ``stretch`` applied."""
        try:
            meta = json.loads(self.sidecar.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(meta, dict) or any(
            meta.get(k) != v for k, v in self.key.items()
        ):
            return None
        shape = tuple(meta["shape"])
        try:
            if self.path.stat().st_size < math.prod(shape):
                return None
        except OSError:
            return None
        out = np.memmap(self.path, dtype=np.uint8, mode="r", shape=shape)
        errors = [None] * len(self.key["files"])
        for i, message in meta["skipped"]:
            errors[i] = message
        return out, meta["kept"], errors, meta["loading"]

    def create(self, shape):
        """A new uint8 memmap of ``shape`` to decode into; the old sidecar
        goes first, so that no stale one outlives a failed rewrite."""
        self.sidecar.unlink(missing_ok=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return np.memmap(self.partial, dtype=np.uint8, mode="w+", shape=shape)

    def commit(self, out, kept, errors, targets, loading):
        """Flush the decoded rows ``out`` (the first ``len(kept)`` of the
        file), move the file into place, write the sidecar; reopen read-only."""
        shape = tuple(int(s) for s in out.shape)
        out.flush()
        del out
        try:  # the rows of skipped files, at the end (the caller still maps it)
            os.truncate(self.partial, math.prod(shape))
        except OSError:
            pass
        os.replace(self.partial, self.path)
        meta = dict(
            self.key,
            shape=list(shape),
            kept=[int(i) for i in kept],
            skipped=[[i, e] for i, e in enumerate(errors) if e is not None],
            targets=targets,
            loading=loading,
        )
        temporary = self.sidecar.with_name(self.sidecar.name + ".partial")
        temporary.write_text(json.dumps(meta))
        os.replace(temporary, self.sidecar)
        return np.memmap(self.path, dtype=np.uint8, mode="r", shape=shape)


def _jsonable(value):
    return list(value) if isinstance(value, tuple) else value


class _SizeMismatch:
    def __init__(self, size):
        self.size = tuple(size)


def _file_error(root, name, exc, on_error):
    """The message recording an unreadable file; raises if on_error='raise'."""
    message = f"{type(exc).__name__}: {exc}"
    if on_error == "raise":
        raise ValueError(
            f"Cannot read image {name} (in {root}): {message}. Pass "
            "on_error='skip' to leave unreadable files out."
        ) from exc
    return message


def _read_rest(read, start, stop, n_jobs, errors, progress, on_error):
    """Run ``read`` on files start..stop-1, in threads and in file order, with
    a few files in flight per thread; stop at the first failure when
    on_error='raise'."""
    n_workers = n_jobs if n_jobs is not None else min(8, os.cpu_count() or 1)
    if n_workers == 1:
        for i in range(start, stop):
            errors[i] = read(i)
            progress.update(i + 1)
            if errors[i] is not None and on_error == "raise":
                return
        return
    upcoming = iter(range(start, stop))
    with ThreadPoolExecutor(max_workers=n_workers) as pool:
        pending = deque(
            (i, pool.submit(read, i)) for i in islice(upcoming, 4 * n_workers)
        )
        try:
            while pending:
                i, future = pending.popleft()
                errors[i] = future.result()
                progress.update(i + 1)
                if errors[i] is not None and on_error == "raise":
                    return
                for j in islice(upcoming, 1):
                    pending.append((j, pool.submit(read, j)))
        finally:
            for _, future in pending:
                future.cancel()


#: ``skdec cluster --images --autoencoder auto``: a folder whose mean image
#: correlates at least this much with its own turns and mirror images has no
#: preferred orientation (galaxies: 0.99; sklearn digits: 0.47)
ORIENTATION_FREE = 0.9


def orientation_symmetry(X, image_shape):
    """How much a collection's mean image looks the same turned and mirrored.

    The mean of the rows of ``X`` (images of ``image_shape``, channels
    averaged) is centred and correlated with its quarter turns and mirror
    images (transposes for a rectangle are left out); the mean correlation
    is returned, 1.0 for a mean image symmetric under all of them. Subjects
    with no up, no left and no mirror side (survey cut-outs of galaxies)
    average to a round blob near 1; clothes, digits and camera-trap scenes
    (a horizon) lie far below. It reads ``X`` in blocks of rows, so a memmap
    is never loaded whole.

    Examples
    --------
    >>> import numpy as np
    >>> from skdec.datasets import orientation_symmetry
    >>> yy, xx = np.mgrid[-7:8, -7:8]
    >>> blob = np.exp(-(xx**2 + yy**2) / 20.0).ravel()
    >>> round(orientation_symmetry(np.stack([blob, blob]), (15, 15)), 3)
    1.0
    >>> bar = (np.abs(yy) < 2).astype(float) * (xx > 0)
    >>> orientation_symmetry(bar.reshape(1, -1), (15, 15)) < 0.5
    True
    """
    shape = tuple(int(s) for s in image_shape)
    if len(shape) == 2:
        shape = (1, *shape)
    total = np.zeros(int(np.prod(shape)))
    for start in range(0, X.shape[0], 4096):
        block = np.asarray(X[start : start + 4096], dtype=np.float64)
        total += block.sum(axis=0)
    mean = (total / max(1, X.shape[0])).reshape(shape).mean(axis=0)
    mean = mean - mean.mean()
    views = [mean[::-1], mean[:, ::-1], mean[::-1, ::-1]]
    if mean.shape[0] == mean.shape[1]:
        views += [np.rot90(mean, 1), np.rot90(mean, 3), mean.T, np.rot90(mean, 1).T]
    norm = np.sqrt((mean**2).sum())
    if norm == 0:
        return 1.0
    return float(np.mean([(mean * v).sum() / norm**2 for v in views]))
