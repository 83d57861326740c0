"""Datasets used to benchmark deep clustering: digits, MNIST, Fashion-MNIST.

All loaders return images scaled to ``[0, 1]`` as ``float32`` and integer
targets, either as a :class:`~sklearn.utils.Bunch` or as ``(X, y)``.

MNIST and Fashion-MNIST are read from a folder holding the four standard IDX
files (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each optionally
gzip-compressed with a ``.gz`` suffix). Nothing is downloaded unless
``download=True`` is passed; downloads are checked against the published MD5
checksums and written atomically.
"""

import gzip
import hashlib
import os
import struct
import tempfile
import urllib.request
import zlib
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits as _sklearn_load_digits
from sklearn.utils import Bunch

__all__ = ["load_digits", "load_fashion_mnist", "load_mnist", "read_idx"]

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


def _fetch_idx_files(folder, base_url, checksums, *, timeout=60):
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
    """Fetch the gzip files ``names`` of ``dataset``, trying each mirror."""
    checksums = {f"{name}.gz": _MD5[dataset][f"{name}.gz"] for name in names}
    errors = []
    for base_url in _MIRRORS[dataset]:
        try:
            _fetch_idx_files(folder, base_url, checksums)
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


def _needed_files(subset):
    if not isinstance(subset, str) or subset not in _SUBSETS:
        raise ValueError(
            f"subset must be one of 'train', 'test' or 'all'; got {subset!r}."
        )
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
    return data, np.concatenate(labels).astype(np.int64)


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
        _download(folder, dataset, [n for n in names if _find(folder, n) is None])
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

    data, target = _read_images_and_labels(folder, subset, flatten)
    if return_X_y:
        return data, target
    return Bunch(data=data, target=target, target_names=target_names, DESCR=descr)


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
        target_names=digits.target_names,
        feature_names=digits.feature_names,
        DESCR="Pixels scaled to [0, 1] (divided by 16) as float32.\n\n" + digits.DESCR,
    )
