"""Datasets used to benchmark deep clustering, and a loader for your own images.

All loaders return images scaled to ``[0, 1]`` as ``float32`` (``load_stl10``
can keep the raw ``uint8`` pixels) and integer targets, either as a
:class:`~sklearn.utils.Bunch` or as ``(X, y)``.

MNIST and Fashion-MNIST are read from a folder holding the four standard IDX
files (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each optionally
gzip-compressed with a ``.gz`` suffix); CIFAR-10 and CIFAR-100 from the
official python-version pickles (extracted or in their ``.tar.gz``
archive), STL-10 from its extracted binary files; :func:`load_image_folder`
reads a folder of PNG, JPEG, TIFF, BMP, WebP or FITS files. Nothing is
downloaded unless ``download=True`` is passed; downloads are checked against
the published MD5 checksums and written atomically.
"""

import codecs
import gzip
import hashlib
import os
import pickle
import shutil
import struct
import tarfile
import tempfile
import urllib.request
import zlib
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits as _sklearn_load_digits
from sklearn.utils import Bunch

from ._image_folder import auto_center_crop, load_image_folder, orientation_symmetry

__all__ = [
    "load_cifar10",
    "load_cifar100",
    "load_digits",
    "load_fashion_mnist",
    "load_image_folder",
    "auto_center_crop",
    "orientation_symmetry",
    "load_mnist",
    "load_stl10",
    "read_idx",
]

# IDX type codes (third byte of the magic number); data are big-endian.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_SUBSETS = {"train": ("train",), "test": ("test",), "all": ("train", "test")}

# Mirrors tried in order by ``download=True``, and the MD5 of each published
# (gzip-compressed) file.
_MIRRORS = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    "fashion-mnist": (
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/"
        "master/data/fashion/",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ),
    "cifar-10": ("https://www.cs.toronto.edu/~kriz/",),
    "cifar-100": ("https://www.cs.toronto.edu/~kriz/",),
    "stl-10": ("http://ai.stanford.edu/~acoates/stl10/",),
}
_MD5 = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
    "cifar-10": {"cifar-10-python.tar.gz": "c58f30108f718f92721af3b95e74349a"},
    "cifar-100": {"cifar-100-python.tar.gz": "eb9058c3a382ffc7106e4002c42a8d85"},
    "stl-10": {"stl10_binary.tar.gz": "91f7769df0f17e558f3565bffb0c7dfb"},
}

# Where Debian's ``dataset-fashion-mnist`` package installs the files.
_DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")

_FASHION_MNIST_CLASSES = np.array(
    [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ]
)

_MNIST_DESCR = """\
MNIST handwritten digits
------------------------

70,000 grey-level 28x28 images of handwritten digits 0-9 (60,000 for
training, then 10,000 for testing), from Y. LeCun, C. Cortes and C. J. C.
Burges, "The MNIST database of handwritten digits". Pixels are scaled to
[0, 1] (divided by 255); targets are the digits.
"""

_FASHION_MNIST_DESCR = """\
Fashion-MNIST
-------------

70,000 grey-level 28x28 images of Zalando articles in 10 classes (60,000
for training, then 10,000 for testing), a drop-in replacement for MNIST.
H. Xiao, K. Rasul and R. Vollgraf, "Fashion-MNIST: a Novel Image Dataset for
Benchmarking Machine Learning Algorithms", arXiv:1708.07747 (2017). MIT
licence. Pixels are scaled to [0, 1] (divided by 255); ``target_names``
gives the class of each target value.
"""


def read_idx(path):
    """Read an array stored in the IDX format (MNIST, Fashion-MNIST, ...).

    The file may be gzip-compressed (recognised by its content, whatever its
    name). All IDX data types are supported: unsigned byte (0x08), signed
    byte (0x09), short (0x0B), int (0x0C), float (0x0D) and double (0x0E),
    stored big-endian; the array is returned in native byte order.

    Parameters
    ----------
    path : str or path-like
        The file to read.

    Returns
    -------
    array : ndarray
        The array, with the shape and data type given by the file header.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not IDX (bad magic number), or is truncated or
        corrupt (its size does not match its header, or its gzip stream is
        damaged).

    Examples
    --------
    >>> import os, struct, tempfile
    >>> from skdec.datasets import read_idx
    >>> header = struct.pack(">BBBBII", 0, 0, 0x08, 2, 2, 3)  # ubyte, shape (2, 3)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "tiny-idx2-ubyte")
    ...     with open(path, "wb") as f:
    ...         _ = f.write(header + bytes(range(6)))
    ...     array = read_idx(path)
    >>> array
    array([[0, 1, 2],
           [3, 4, 5]], dtype=uint8)
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(
                f"{path} holds a truncated or corrupt gzip stream: {exc}"
            ) from exc
    if len(raw) < 4:
        raise ValueError(
            f"{path} is too short ({len(raw)} bytes) to be an IDX file; it is "
            "truncated or not IDX."
        )
    if raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES or raw[3] == 0:
        known = ", ".join(f"0x{code:02X}" for code in _IDX_DTYPES)
        raise ValueError(
            f"{path} is not an IDX file: bad magic number 0x{raw[:4].hex()} "
            "(expected two zero bytes, a type code among "
            f"{known}, and a number of dimensions of at least 1)."
        )
    dtype, ndim = _IDX_DTYPES[raw[2]], raw[3]
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise ValueError(
            f"{path} is truncated: {len(raw)} bytes, fewer than the "
            f"{header_size} bytes of the header of a {ndim}-D IDX array."
        )
    shape = struct.unpack(f">{ndim}I", raw[4:header_size])
    expected = header_size + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        problem = "truncated" if len(raw) < expected else "corrupt"
        raise ValueError(
            f"{path} is {problem}: it holds {len(raw)} bytes (uncompressed) but "
            f"its header announces an array of shape {shape} and type "
            f"{dtype.name}, i.e. {expected} bytes."
        )
    array = np.frombuffer(raw, dtype=dtype, offset=header_size).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def _md5(path):
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch_files(folder, base_url, checksums, *, timeout=60):
    """Download files from ``base_url`` into ``folder``, checking their MD5.

    Parameters
    ----------
    folder : path-like
        Destination folder, created if needed. Files already there are not
        downloaded again.
    base_url : str
        URL of the folder holding the files (any scheme urllib opens,
        ``file://`` included); each file's URL is ``base_url`` + its name.
    checksums : dict
        ``{file name: expected MD5 hex digest}`` of the files to fetch.
    timeout : float, default=60
        Socket timeout in seconds.

    Raises
    ------
    OSError
        If a download fails or a checksum does not match; nothing is then
        left at the destination (each file is written to a temporary file
        in ``folder`` and renamed only once verified).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    base_url = base_url if base_url.endswith("/") else base_url + "/"
    for name, expected in checksums.items():
        destination = folder / name
        if destination.exists():
            continue
        url = base_url + name
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
        try:
            digest = hashlib.md5(usedforsecurity=False)
            with os.fdopen(fd, "wb") as out:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    for chunk in iter(lambda: response.read(1 << 20), b""):
                        digest.update(chunk)
                        out.write(chunk)
            if digest.hexdigest() != expected:
                raise OSError(
                    f"Checksum mismatch for {url}: MD5 {digest.hexdigest()}, "
                    f"expected {expected}. The download is corrupt or the "
                    "mirror serves another file; it was discarded."
                )
            os.replace(tmp, destination)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)


def _download(folder, dataset, names):
    """Fetch the published files ``names`` of ``dataset``, trying each mirror."""
    checksums = {name: _MD5[dataset][name] for name in names}
    errors = []
    for base_url in _MIRRORS[dataset]:
        try:
            _fetch_files(folder, base_url, checksums)
            return
        except OSError as exc:
            errors.append(f"  {base_url}: {exc}")
    raise OSError(
        f"Could not download {dataset} into {folder} from any mirror:\n"
        + "\n".join(errors)
    )


def _find(folder, name):
    """Path of ``name`` or ``name.gz`` in ``folder`` (plain file first)."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _check_choice(value, name, choices):
    if not isinstance(value, str) or value not in choices:
        listed = ", ".join(repr(c) for c in choices[:-1]) + f" or {choices[-1]!r}"
        raise ValueError(f"{name} must be one of {listed}; got {value!r}.")


def _needed_files(subset):
    _check_choice(subset, "subset", tuple(_SUBSETS))
    return [name for part in _SUBSETS[subset] for name in _FILES[part]]


def _check_bool(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool; got {value!r}.")


def _read_images_and_labels(folder, subset, flatten):
    images, labels = [], []
    for part in _SUBSETS[subset]:
        image_path = _find(folder, _FILES[part][0])
        label_path = _find(folder, _FILES[part][1])
        part_images, part_labels = read_idx(image_path), read_idx(label_path)
        if part_images.ndim != 3 or part_labels.ndim != 1:
            raise ValueError(
                f"Expected 3-D images and 1-D labels; {image_path} holds shape "
                f"{part_images.shape} and {label_path} shape {part_labels.shape}."
            )
        if part_images.shape[0] != part_labels.shape[0]:
            raise ValueError(
                f"{image_path} holds {part_images.shape[0]} images but "
                f"{label_path} holds {part_labels.shape[0]} labels."
            )
        images.append(part_images)
        labels.append(part_labels)
    images = np.concatenate(images).astype(np.float32)
    images /= 255
    data = images.reshape(images.shape[0], -1) if flatten else images
    return data, np.concatenate(labels).astype(np.int64), (1, *images.shape[1:])


def _load_idx_dataset(
    folders, subset, return_X_y, flatten, download, dataset, descr, target_names
):
    """Shared body of the MNIST-like loaders.

    ``folders`` are searched in order for the files of ``subset``; the
    download (if asked) goes into the last one.
    """
    names = _needed_files(subset)
    for name, value in [
        ("return_X_y", return_X_y),
        ("flatten", flatten),
        ("download", download),
    ]:
        _check_bool(value, name)

    folder = next((f for f in folders if all(_find(f, name) for name in names)), None)
    if folder is None and download:
        folder = folders[-1]
        absent = [f"{n}.gz" for n in names if _find(folder, n) is None]
        _download(folder, dataset, absent)
    if folder is None:
        searched = " or ".join(str(f) for f in folders)
        missing = [n for n in names if _find(folders[0], n) is None]
        hint = (
            "run `apt-get install dataset-fashion-mnist` (it installs them in "
            f"{_DEBIAN_FASHION_MNIST}, used when path=None), "
            if dataset == "fashion-mnist"
            else ""
        )
        raise FileNotFoundError(
            f"{dataset} file(s) {', '.join(missing)} (with or without .gz) not "
            f"found in {searched}. To get them, {hint}pass download=True to "
            f"fetch them from {_MIRRORS[dataset][0]}, or pass path= a folder "
            "holding the four IDX files."
        )

    data, target, image_shape = _read_images_and_labels(folder, subset, flatten)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        target_names=target_names,
        image_shape=image_shape,
        DESCR=descr,
    )


def _data_home():
    """scikit-learn's data folder, without creating it."""
    default = os.path.join("~", "scikit_learn_data")
    return Path(os.environ.get("SCIKIT_LEARN_DATA", default)).expanduser()


def load_mnist(path, subset="all", *, return_X_y=False, flatten=True, download=False):
    """Load the MNIST handwritten digits from a folder of IDX files.

    Parameters
    ----------
    path : str or path-like
        Folder holding ``train-images-idx3-ubyte``,
        ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and
        ``t10k-labels-idx1-ubyte``, each possibly gzip-compressed with a
        ``.gz`` suffix.

    subset : {'train', 'test', 'all'}, default='all'
        The 60,000 training images, the 10,000 test images, or all 70,000
        (training images first).

    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    flatten : bool, default=True
        If True, ``data`` has shape ``(n_samples, 784)``; otherwise
        ``(n_samples, 28, 28)``.

    download : bool, default=False
        If True, download the missing files of ``subset`` (``.gz``) into
        ``path``, verifying their published MD5 checksums.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With ``data`` (float32 in ``[0, 1]``), ``target`` (int64 digits),
        ``image_shape`` (``(1, 28, 28)``, for ``DECClusterer(image_shape=...)``),
        ``target_names`` and ``DESCR``.

    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    FileNotFoundError
        If files are missing and ``download`` is False.

    Examples
    --------
    >>> from skdec.datasets import load_mnist
    >>> X, y = load_mnist("~/data/mnist", "test", return_X_y=True)  # doctest: +SKIP
    >>> X.shape, X.dtype, y.dtype  # doctest: +SKIP
    ((10000, 784), dtype('float32'), dtype('int64'))
    """
    folder = Path(path).expanduser()
    return _load_idx_dataset(
        [folder],
        subset,
        return_X_y,
        flatten,
        download,
        dataset="mnist",
        descr=_MNIST_DESCR,
        target_names=np.arange(10),
    )


def load_fashion_mnist(
    path=None, subset="all", *, return_X_y=False, flatten=True, download=False
):
    """Load Fashion-MNIST (Zalando article images) from a folder of IDX files.

    Parameters
    ----------
    path : str or path-like, default=None
        Folder holding ``train-images-idx3-ubyte``,
        ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and
        ``t10k-labels-idx1-ubyte``, each possibly gzip-compressed with a
        ``.gz`` suffix. If None, use ``/usr/share/datasets/fashion-mnist/``
        (where the Debian package ``dataset-fashion-mnist`` installs them)
        when it holds the files, else ``fashion_mnist`` in scikit-learn's
        data folder (``$SCIKIT_LEARN_DATA``, by default
        ``~/scikit_learn_data``), which is also where ``download=True``
        writes.

    subset : {'train', 'test', 'all'}, default='all'
        The 60,000 training images, the 10,000 test images, or all 70,000
        (training images first).

    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    flatten : bool, default=True
        If True, ``data`` has shape ``(n_samples, 784)``; otherwise
        ``(n_samples, 28, 28)``.

    download : bool, default=False
        If True, download the missing files of ``subset`` (``.gz``),
        verifying their published MD5 checksums.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With ``data`` (float32 in ``[0, 1]``), ``target`` (int64 in 0-9),
        ``image_shape`` (``(1, 28, 28)``, for ``DECClusterer(image_shape=...)``),
        ``target_names`` (the article classes) and ``DESCR``.

    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    FileNotFoundError
        If files are missing and ``download`` is False; the message says how
        to get them.

    Examples
    --------
    >>> from skdec.datasets import load_fashion_mnist
    >>> fmnist = load_fashion_mnist(subset="test")  # doctest: +SKIP
    >>> fmnist.data.shape, str(fmnist.target_names[fmnist.target[0]])  # doctest: +SKIP
    ((10000, 784), 'Ankle boot')
    """
    if path is None:
        folders = [_DEBIAN_FASHION_MNIST, _data_home() / "fashion_mnist"]
    else:
        folders = [Path(path).expanduser()]
    return _load_idx_dataset(
        folders,
        subset,
        return_X_y,
        flatten,
        download,
        dataset="fashion-mnist",
        descr=_FASHION_MNIST_DESCR,
        target_names=_FASHION_MNIST_CLASSES.copy(),
    )


def load_digits(*, return_X_y=False):
    """Load scikit-learn's 8x8 digits, scaled to ``[0, 1]`` as float32.

    The 1,797 images of :func:`sklearn.datasets.load_digits` have pixel
    values 0-16; here they are divided by 16.

    Parameters
    ----------
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With ``data`` (float32, shape (1797, 64)), ``target`` (int64),
        ``image_shape`` (``(1, 8, 8)``, for ``DECClusterer(image_shape=...)``),
        ``images`` (float32, shape (1797, 8, 8)), ``target_names``,
        ``feature_names`` and ``DESCR``.

    (data, target) : tuple if ``return_X_y`` is True

    Examples
    --------
    >>> from skdec.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> X.shape, X.dtype, float(X.min()), float(X.max())
    ((1797, 64), dtype('float32'), 0.0, 1.0)
    >>> load_digits().images.shape
    (1797, 8, 8)
    """
    _check_bool(return_X_y, "return_X_y")
    digits = _sklearn_load_digits()
    data = digits.data.astype(np.float32) / 16
    target = digits.target.astype(np.int64)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        images=digits.images.astype(np.float32) / 16,
        image_shape=(1, 8, 8),
        target_names=digits.target_names,
        feature_names=digits.feature_names,
        DESCR="Pixels scaled to [0, 1] (divided by 16) as float32.\n\n" + digits.DESCR,
    )


# ----------------------------------------------------------------- CIFAR-10/100

_CIFAR = {
    "cifar-10": {
        "title": "CIFAR-10",
        "archive": "cifar-10-python.tar.gz",
        "size": "163 MiB",
        "folder": "cifar-10-batches-py",
        "train": tuple(f"data_batch_{i}" for i in range(1, 6)),
        "test": ("test_batch",),
        "meta": "batches.meta",
    },
    "cifar-100": {
        "title": "CIFAR-100",
        "archive": "cifar-100-python.tar.gz",
        "size": "161 MiB",
        "folder": "cifar-100-python",
        "train": ("train",),
        "test": ("test",),
        "meta": "meta",
    },
}
# (pickle key of the labels, pickle key of their names in the meta file)
_CIFAR_LABEL_KEYS = {
    "cifar-10": (b"labels", b"label_names"),
    "fine": (b"fine_labels", b"fine_label_names"),
    "coarse": (b"coarse_labels", b"coarse_label_names"),
}
_CIFAR_IMAGE = (3, 32, 32)

_CIFAR10_DESCR = """\
CIFAR-10
--------

60,000 colour 32x32 images in 10 classes (50,000 for training, then 10,000
for testing), from A. Krizhevsky, "Learning Multiple Layers of Features from
Tiny Images", technical report, University of Toronto (2009). Pixels are
scaled to [0, 1] (divided by 255); each row of ``data`` is an image flattened
channel-first (3, 32, 32), and ``images`` shows the same pixels as
(n, 32, 32, 3). ``target_names`` gives the class of each target value.
"""

_CIFAR100_DESCR = """\
CIFAR-100
---------

60,000 colour 32x32 images in 100 fine classes grouped into 20 coarse
superclasses (50,000 for training, then 10,000 for testing), from A.
Krizhevsky, "Learning Multiple Layers of Features from Tiny Images",
technical report, University of Toronto (2009). Pixels are scaled to [0, 1]
(divided by 255); each row of ``data`` is an image flattened channel-first
(3, 32, 32), and ``images`` shows the same pixels as (n, 32, 32, 3). The
targets are the {label} labels; ``target_names`` gives their classes.
"""


def _pickled_globals():
    """The callables the CIFAR pickles name, whatever numpy wrote them."""
    reconstruct = np.zeros(1).__reduce__()[0]
    scalar = np.int64(0).__reduce__()[0]
    allowed = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): codecs.encode,  # bytes pickled by Python 3
    }
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[module, "_reconstruct"] = reconstruct
        allowed[module, "scalar"] = scalar
    return allowed


class _CifarUnpickler(pickle.Unpickler):
    """Loads numpy arrays and plain Python values only: a pickle naming any
    other callable is refused instead of run."""

    _allowed = _pickled_globals()

    def find_class(self, module, name):
        try:
            return self._allowed[module, name]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refused to load {module}.{name}, which the official files do not use"
            ) from None


def _unpickle(f, where):
    try:
        return _CifarUnpickler(f, encoding="bytes").load()
    except Exception as exc:  # pickle errors come in many types
        raise ValueError(
            f"Cannot read {where}: {type(exc).__name__}: {exc}. It is corrupt "
            "or not an official CIFAR python-version file."
        ) from exc


def _read_cifar_archive(archive, spec, names):
    """Unpickle the members ``spec['folder']/name`` of a tar archive, in one
    pass and without extracting them."""
    wanted = {f"{spec['folder']}/{name}": name for name in names}
    contents = {}
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                name = wanted.get(member.name.removeprefix("./"))
                if name is not None and member.isfile():
                    with tar.extractfile(member) as f:
                        contents[name] = _unpickle(f, f"{archive}:{member.name}")
                    if len(contents) == len(wanted):
                        break
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise ValueError(
            f"Cannot read the archive {archive}: {exc}. It is truncated or not "
            "a tar archive."
        ) from exc
    absent = [f"{spec['folder']}/{n}" for n in names if n not in contents]
    if absent:
        raise ValueError(
            f"The archive {archive} lacks {', '.join(absent)}; it is not the "
            f"official {spec['title']} python-version archive."
        )
    return contents


def _read_cifar(path, dataset, names, download):
    """The unpickled files ``names`` of ``dataset``: in ``path``, in its
    sub-folder of the official name, or in the archive ``path`` or
    ``path/<official archive name>`` (downloaded there if asked)."""
    spec = _CIFAR[dataset]
    path = Path(path).expanduser()
    if path.is_file():
        return _read_cifar_archive(path, spec, names)
    for folder in (path, path / spec["folder"]):
        if all((folder / name).is_file() for name in names):
            contents = {}
            for name in names:
                with open(folder / name, "rb") as f:
                    contents[name] = _unpickle(f, folder / name)
            return contents
    archive = path / spec["archive"]
    url = _MIRRORS[dataset][0] + spec["archive"]
    if not archive.is_file() and download:
        if path.name.endswith((".tar.gz", ".tgz")):
            raise ValueError(
                f"download=True writes {spec['archive']} into a folder; "
                f"{path} does not exist: pass path= a folder."
            )
        _download(path, dataset, [spec["archive"]])
    if not archive.is_file():
        folder = path / spec["folder"] if (path / spec["folder"]).is_dir() else path
        missing = [name for name in names if not (folder / name).is_file()]
        raise FileNotFoundError(
            f"{spec['title']} file(s) {', '.join(missing)} not found in {path} "
            f"nor in {path / spec['folder']}, and no archive {archive}. To get "
            f"them, pass download=True to fetch {url} ({spec['size']}) into "
            f"{path}, or download that archive yourself and pass path= the "
            "archive or the folder it extracts to."
        )
    return _read_cifar_archive(archive, spec, names)


def _cifar_part(batch, where, label_key, n_classes):
    """The uint8 images and int64 labels of one unpickled CIFAR batch."""
    try:
        data, labels = batch[b"data"], batch[label_key]
    except (KeyError, TypeError, IndexError):
        raise ValueError(
            f"{where} is not a CIFAR batch: it lacks the keys b'data' and "
            f"{label_key!r}."
        ) from None
    data, labels = np.asarray(data), np.asarray(labels)
    if data.dtype != np.uint8 or data.shape[1:] != (np.prod(_CIFAR_IMAGE),):
        raise ValueError(
            f"{where} holds data of shape {data.shape} and type {data.dtype}; "
            "expected uint8 of shape (n_images, 3072)."
        )
    if labels.shape != (len(data),):
        raise ValueError(f"{where} holds {len(data)} images but {labels.size} labels.")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(
            f"{where} holds labels from {labels.min()} to {labels.max()}, "
            f"outside 0-{n_classes - 1} (the classes of the meta file)."
        )
    return data, labels.astype(np.int64)


def _label_names(meta, where, key):
    try:
        names = meta[key]
    except (KeyError, TypeError, IndexError):
        raise ValueError(f"{where} lacks the key {key!r}.") from None
    return np.array([n.decode() if isinstance(n, bytes) else str(n) for n in names])


def _scaled(parts, dtype=np.float32):
    """Concatenate 2-D uint8 arrays, scaled to [0, 1] one part at a time."""
    out = np.empty((sum(len(p) for p in parts), parts[0].shape[1]), dtype=dtype)
    start = 0
    for part in parts:
        np.divide(part, np.float32(255), out=out[start : start + len(part)])
        start += len(part)
    return out


def _channels_last(data, image_shape):
    """A (n, H, W, C) view of rows flattened channel-first."""
    return np.moveaxis(data.reshape((len(data),) + image_shape), 1, -1)


def _load_cifar(path, subset, return_X_y, download, dataset, label_keys, descr):
    _check_choice(subset, "subset", tuple(_SUBSETS))
    _check_bool(return_X_y, "return_X_y")
    _check_bool(download, "download")
    spec = _CIFAR[dataset]
    batches = [name for part in _SUBSETS[subset] for name in spec[part]]
    contents = _read_cifar(path, dataset, batches + [spec["meta"]], download)
    label_key, names_key = label_keys
    target_names = _label_names(contents[spec["meta"]], spec["meta"], names_key)
    parts, targets = [], []
    for name in batches:
        images, labels = _cifar_part(
            contents.pop(name), name, label_key, len(target_names)
        )
        parts.append(images)
        targets.append(labels)
    data = _scaled(parts)
    del parts, contents
    target = np.concatenate(targets)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        images=_channels_last(data, _CIFAR_IMAGE),
        image_shape=_CIFAR_IMAGE,
        target_names=target_names,
        DESCR=descr,
    )


_CIFAR_RETURNS = """
    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With ``data`` (float32 in ``[0, 1]``, shape ``(n_images, 3072)``,
        each row flattened channel-first, i.e. in the order of
        ``image_shape``), ``images`` (the same pixels as
        ``(n_images, 32, 32, 3)``, a view of ``data``, not a copy),
        ``image_shape`` (``(3, 32, 32)``), ``target`` (int64),
        ``target_names`` and ``DESCR``. All 60,000 images take 737 MB.

    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    FileNotFoundError
        If files are missing and ``download`` is False; the message says how
        to get them.
    ValueError
        If a file is not an official CIFAR pickle. The files are read by an
        unpickler that builds numpy arrays and plain values only: a pickle
        that would run other code is refused."""


_CIFAR_SUBSET = """\
    subset : {'train', 'test', 'all'}, default='all'
        The 50,000 training images, the 10,000 test images, or all 60,000
        (training images first).
"""
_CIFAR_RETURN_X_Y = """\
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.
"""


def _fill_cifar_doc(func):
    # each placeholder stands indented in the docstring: drop the fragment's
    # own first indentation so that every line lands at the same depth
    for name, text in [
        ("{cifar_returns}", _CIFAR_RETURNS),
        ("{cifar_subset}", _CIFAR_SUBSET),
        ("{cifar_return_X_y}", _CIFAR_RETURN_X_Y),
    ]:
        func.__doc__ = func.__doc__.replace(name, text.lstrip().rstrip("\n"))
    return func


@_fill_cifar_doc
def load_cifar10(path, subset="all", *, return_X_y=False, download=False):
    """Load CIFAR-10 (32x32 colour images in 10 classes).

    Parameters
    ----------
    path : str or path-like
        The folder holding the official python-version files
        (``data_batch_1`` to ``data_batch_5``, ``test_batch``,
        ``batches.meta``), the folder holding their folder
        ``cifar-10-batches-py``, the archive ``cifar-10-python.tar.gz``
        (read without extracting it), or a folder holding that archive.

    {cifar_subset}

    {cifar_return_X_y}

    download : bool, default=False
        If True and the files are not found, download
        ``cifar-10-python.tar.gz`` (163 MiB) into ``path``, verifying its
        published MD5 checksum, and read it from there.

    {cifar_returns}

    Examples
    --------
    >>> from skdec.datasets import load_cifar10
    >>> cifar = load_cifar10("~/data", "test", download=True)  # doctest: +SKIP
    >>> cifar.data.shape, cifar.images.shape  # doctest: +SKIP
    ((10000, 3072), (10000, 32, 32, 3))
    >>> str(cifar.target_names[cifar.target[0]])  # doctest: +SKIP
    'cat'
    """
    return _load_cifar(
        path,
        subset,
        return_X_y,
        download,
        dataset="cifar-10",
        label_keys=_CIFAR_LABEL_KEYS["cifar-10"],
        descr=_CIFAR10_DESCR,
    )


@_fill_cifar_doc
def load_cifar100(
    path, subset="all", *, label="fine", return_X_y=False, download=False
):
    """Load CIFAR-100 (32x32 colour images in 100 classes, 20 superclasses).

    Parameters
    ----------
    path : str or path-like
        The folder holding the official python-version files (``train``,
        ``test``, ``meta``), the folder holding their folder
        ``cifar-100-python``, the archive ``cifar-100-python.tar.gz`` (read
        without extracting it), or a folder holding that archive.

    {cifar_subset}

    label : {'fine', 'coarse'}, default='fine'
        The targets: the 100 fine classes or the 20 coarse superclasses.

    {cifar_return_X_y}

    download : bool, default=False
        If True and the files are not found, download
        ``cifar-100-python.tar.gz`` (161 MiB) into ``path``, verifying its
        published MD5 checksum, and read it from there.

    {cifar_returns}

    Examples
    --------
    >>> from skdec.datasets import load_cifar100
    >>> cifar = load_cifar100("~/data", label="coarse")  # doctest: +SKIP
    >>> cifar.target.shape, int(cifar.target.max())  # doctest: +SKIP
    ((60000,), 19)
    """
    _check_choice(label, "label", ("fine", "coarse"))
    return _load_cifar(
        path,
        subset,
        return_X_y,
        download,
        dataset="cifar-100",
        label_keys=_CIFAR_LABEL_KEYS[label],
        descr=_CIFAR100_DESCR.format(label=label),
    )


# ---------------------------------------------------------------------- STL-10

_STL10_FOLDER = "stl10_binary"
_STL10_ARCHIVE = "stl10_binary.tar.gz"
_STL10_FILES = {
    "train": ("train_X.bin", "train_y.bin"),
    "test": ("test_X.bin", "test_y.bin"),
    "unlabeled": ("unlabeled_X.bin", None),
}
_STL10_SUBSETS = {
    "train": ("train",),
    "test": ("test",),
    "unlabeled": ("unlabeled",),
    "train+unlabeled": ("train", "unlabeled"),
}
_STL10_CLASS_NAMES = "class_names.txt"
_STL10_EXTRA = ("fold_indices.txt",)  # extracted by download=True, not read
_STL10_IMAGE = (3, 96, 96)
_STL10_CHUNK = 1000  # images transposed and scaled at a time
# The target of unlabelled images: the marker skdec's estimators take as
# "unlabelled" (LabelHeadClassifier, ClusterLabelMapper's unknown_label).
_UNLABELLED = -1

_STL10_DESCR = """\
STL-10
------

Colour 96x96 images from ImageNet in 10 classes: 5,000 labelled for training,
8,000 for testing, and 100,000 unlabelled ones (target -1), which also show
animals and vehicles outside the ten classes. A. Coates, H. Lee and A. Y. Ng,
"An Analysis of Single-Layer Networks in Unsupervised Feature Learning",
AISTATS 2011. Each row of ``data`` is an image flattened channel-first
(3, 96, 96), and ``images`` shows the same pixels as (n, 96, 96, 3).
"""


def _extract_files(archive, prefix, destination, required, optional=()):
    """Extract the regular files ``prefix/name`` of a tar archive into
    ``destination`` in one pass, each written to a temporary file and renamed
    once complete; files already there are kept."""
    destination.mkdir(parents=True, exist_ok=True)
    wanted = {
        f"{prefix}/{name}": name
        for name in required + optional
        if not (destination / name).exists()
    }
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                if not wanted:
                    break
                key = member.name.removeprefix("./")
                if key not in wanted or not member.isfile():
                    continue
                name = wanted.pop(key)
                fd, tmp = tempfile.mkstemp(
                    dir=destination, prefix=f".{name}.", suffix=".part"
                )
                try:
                    with os.fdopen(fd, "wb") as out:
                        with tar.extractfile(member) as source:
                            shutil.copyfileobj(source, out, 1 << 20)
                    os.replace(tmp, destination / name)
                finally:
                    if os.path.exists(tmp):
                        os.remove(tmp)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise ValueError(
            f"Cannot read the archive {archive}: {exc}. It is truncated or not "
            "a tar archive."
        ) from exc
    absent = [key for key, name in wanted.items() if name in required]
    if absent:
        raise ValueError(
            f"The archive {archive} lacks {', '.join(absent)}; it is not the "
            "official archive."
        )


def _stl10_folder(path, names, download):
    """The folder holding ``names``: ``path`` or ``path/stl10_binary``,
    where download=True fetches and extracts the archive."""
    candidates = (path, path / _STL10_FOLDER)
    folder = next(
        (f for f in candidates if all((f / name).is_file() for name in names)), None
    )
    archive = path / _STL10_ARCHIVE
    if folder is None and download and not path.is_file():
        _download(path, "stl-10", [_STL10_ARCHIVE])
        folder = path / _STL10_FOLDER
        every = tuple(n for files in _STL10_FILES.values() for n in files if n)
        _extract_files(
            archive, _STL10_FOLDER, folder, every + (_STL10_CLASS_NAMES,), _STL10_EXTRA
        )
    if folder is None:
        url = _MIRRORS["stl-10"][0] + _STL10_ARCHIVE
        seen = path / _STL10_FOLDER if (path / _STL10_FOLDER).is_dir() else path
        missing = [name for name in names if not (seen / name).is_file()]
        hint = ""
        if path.is_file():
            hint = f" {path} is a file: pass path= the folder holding it."
        elif archive.is_file():
            hint = (
                f" The archive {archive} is there: download=True extracts it "
                "without downloading it again."
            )
        raise FileNotFoundError(
            f"STL-10 file(s) {', '.join(missing)} not found in {path} nor in "
            f"{path / _STL10_FOLDER}. To get them, pass download=True to fetch "
            f"{url} (2.5 GiB) into {path} and extract it into "
            f"{path / _STL10_FOLDER} (3 GB more), or extract that archive "
            "yourself (tar xzf) and pass path= the folder." + hint
        )
    return folder


def _read_stl10_images(path, out):
    """Fill ``out`` (n, 27648) with the images of an STL-10 X file, stored
    channel by channel, each channel column after column."""
    if len(out) == 0:
        return
    raw = np.memmap(path, dtype=np.uint8, mode="r", shape=(len(out),) + _STL10_IMAGE)
    images = out.reshape((len(out),) + _STL10_IMAGE)
    for start in range(0, len(out), _STL10_CHUNK):
        stop = start + _STL10_CHUNK
        block = raw[start:stop].transpose(0, 1, 3, 2)  # (C, W, H) -> (C, H, W)
        if out.dtype == np.uint8:
            images[start:stop] = block
        else:
            np.divide(block, np.float32(255), out=images[start:stop])
    del raw


def load_stl10(
    path, subset="train", *, return_X_y=False, download=False, dtype="float32"
):
    """Load STL-10 (96x96 colour images in 10 classes, and 100,000 unlabelled).

    Parameters
    ----------
    path : str or path-like
        The folder holding the official binary files (``train_X.bin``,
        ``train_y.bin``, ``test_X.bin``, ``test_y.bin``, ``unlabeled_X.bin``,
        ``class_names.txt``), or the folder holding their folder
        ``stl10_binary``.

    subset : {'train', 'test', 'unlabeled', 'train+unlabeled'}, \
default='train'
        The 5,000 labelled training images, the 8,000 test images, the
        100,000 unlabelled images, or the training images followed by the
        unlabelled ones. Unlabelled images have target -1, the marker of
        unlabelled samples throughout skdec.

    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    download : bool, default=False
        If True and the files are not found, download
        ``stl10_binary.tar.gz`` (2.5 GiB) into ``path``, verifying its
        published MD5 checksum, and extract it into ``path/stl10_binary``
        (3 GB more; the archive is kept). An archive already in ``path`` is
        extracted without being downloaded again.

    dtype : {'float32', 'uint8'}, default='float32'
        ``'float32'`` scales pixels to ``[0, 1]``; ``'uint8'`` keeps the raw
        0-255 values, in a quarter of the memory.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With ``data`` (shape ``(n_images, 27648)``, each row flattened
        channel-first, i.e. in the order of ``image_shape``), ``images``
        (the same pixels as ``(n_images, 96, 96, 3)``, a view of ``data``,
        not a copy), ``image_shape`` (``(3, 96, 96)``), ``target`` (int64,
        0-9, or -1 for unlabelled images), ``target_names`` and ``DESCR``.
        ``data`` takes 110,592 bytes an image as float32, 27,648 as uint8:
        553 MB (train), 885 MB (test) or 11.1 GB (unlabeled) as float32,
        138 MB, 221 MB or 2.8 GB as uint8. The files are read through a
        memory map, a chunk of images at a time, so no other copy is made.

    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    FileNotFoundError
        If files are missing and ``download`` is False; the message says how
        to get them.
    ValueError
        If a file's size or labels do not match the STL-10 layout.

    Examples
    --------
    >>> from skdec.datasets import load_stl10
    >>> stl = load_stl10("~/data", "test", download=True)  # doctest: +SKIP
    >>> stl.data.shape, stl.images.shape, stl.data.dtype  # doctest: +SKIP
    ((8000, 27648), (8000, 96, 96, 3), dtype('float32'))
    >>> raw = load_stl10("~/data", "unlabeled", dtype="uint8")  # doctest: +SKIP
    >>> raw.data.nbytes, set(raw.target.tolist())  # doctest: +SKIP
    (2764800000, {-1})
    """
    _check_choice(subset, "subset", tuple(_STL10_SUBSETS))
    _check_bool(return_X_y, "return_X_y")
    _check_bool(download, "download")
    try:
        checked = None if dtype is None else np.dtype(dtype)
    except TypeError:
        checked = None
    if checked not in (np.float32, np.uint8):
        raise ValueError(f"dtype must be 'float32' or 'uint8'; got {dtype!r}.")
    dtype = checked
    parts = _STL10_SUBSETS[subset]
    names = [name for part in parts for name in _STL10_FILES[part] if name]
    folder = _stl10_folder(
        Path(path).expanduser(), names + [_STL10_CLASS_NAMES], download
    )
    class_file = folder / _STL10_CLASS_NAMES
    target_names = np.array(
        [line.strip() for line in class_file.read_text().splitlines() if line.strip()]
    )

    # sizes and labels are checked before the images are read
    image_bytes = int(np.prod(_STL10_IMAGE))
    counts, targets = [], []
    for part in parts:
        x_path = folder / _STL10_FILES[part][0]
        size = x_path.stat().st_size
        if size % image_bytes:
            raise ValueError(
                f"{x_path} holds {size} bytes, not a whole number of 3x96x96 "
                f"images ({image_bytes} bytes each); it is truncated or not "
                "STL-10."
            )
        counts.append(size // image_bytes)
        if _STL10_FILES[part][1] is None:
            targets.append(np.full(counts[-1], _UNLABELLED, dtype=np.int64))
            continue
        y_path = folder / _STL10_FILES[part][1]
        labels = np.fromfile(y_path, dtype=np.uint8)
        if len(labels) != counts[-1]:
            raise ValueError(
                f"{x_path} holds {counts[-1]} images but {y_path} holds "
                f"{len(labels)} labels."
            )
        if labels.size and (labels.min() < 1 or labels.max() > len(target_names)):
            raise ValueError(
                f"{y_path} holds labels from {labels.min()} to {labels.max()}, "
                f"outside 1-{len(target_names)} (the classes of {class_file})."
            )
        targets.append(labels.astype(np.int64) - 1)

    data = np.empty((sum(counts), image_bytes), dtype=dtype)
    start = 0
    for part, count in zip(parts, counts):
        _read_stl10_images(folder / _STL10_FILES[part][0], data[start : start + count])
        start += count
    target = np.concatenate(targets)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        images=_channels_last(data, _STL10_IMAGE),
        image_shape=_STL10_IMAGE,
        target_names=target_names,
        DESCR=_STL10_DESCR,
    )
