"""Rows of an array-like that need not fit in memory, read one slice at a time.

A ``numpy.memmap``, an HDF5 dataset (h5py), a zarr array, or any object with
``shape``, ``dtype`` and ``__getitem__`` on row slices holds the rows; only
the slices that a batch or a check asks for are read, and only they are
converted to float32. uint8 rows are pixel values: each slice is divided by
255 as it is read.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch

__all__ = ["ArrayRows", "EncodedRows", "check_finite_rows", "rows_per_chunk"]


def rows_per_chunk(n_features: int, itemsize: int, n_bytes: int) -> int:
    """Rows of ``n_features`` values of ``itemsize`` bytes that fit in
    ``n_bytes`` (at least one)."""
    return max(1, int(n_bytes) // max(1, int(n_features) * int(itemsize)))


class ArrayRows:
    """Float32 rows of a 2-D array-like, read and converted slice by slice.

    Slicing (``rows[start:stop]``) reads those rows from ``data`` and returns
    them as a float32 ndarray: uint8 rows are divided by 255 (pixels to
    ``[0, 1]``), float rows are cast to float32. Nothing is read or held
    beyond the slices asked for.

    Parameters
    ----------
    data : array-like of shape (n_samples, n_features)
        A ``numpy.memmap``, an h5py Dataset, a zarr array or any object with
        ``shape``, ``dtype`` and ``__getitem__`` on row slices, of dtype uint8
        or floating point (the caller checks this, see
        :func:`skdec._validation.validate_rows`).
    check_finite : bool, default=False
        Raise a ValueError naming the rows when a slice read holds NaN or
        infinity (after the conversion to float32).

    Attributes
    ----------
    data : array-like
        The rows as given.
    source_dtype : numpy.dtype
        Their dtype.
    shape : tuple of int
    dtype : numpy.dtype
        float32, the dtype of what slicing returns.

    Examples
    --------
    >>> import numpy as np
    >>> from skdec.net import ArrayRows
    >>> rows = ArrayRows(np.array([[0, 51], [255, 102]], dtype=np.uint8))
    >>> rows[0:2]
    array([[0. , 0.2],
           [1. , 0.4]], dtype=float32)
    >>> rows.shape, len(rows)
    ((2, 2), 2)
    """

    ndim = 2
    dtype = np.dtype(np.float32)

    def __init__(self, data, *, check_finite=False):
        if isinstance(data, ArrayRows):
            data = data.data
        self.data = data
        self.source_dtype = np.dtype(data.dtype)
        self.shape = (int(data.shape[0]), int(data.shape[1]))
        self.check_finite = bool(check_finite)

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return (
            f"ArrayRows({type(self.data).__name__} of shape {self.shape}, "
            f"dtype {self.source_dtype})"
        )

    @property
    def is_pixels(self) -> bool:
        """Whether the rows are uint8 pixels (divided by 255 when read)."""
        return self.source_dtype == np.uint8

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            i = int(index) + (self.shape[0] if index < 0 else 0)
            if not 0 <= i < self.shape[0]:
                raise IndexError(f"row {index} is out of range for {self.shape[0]}")
            return self.read(i, i + 1)[0]
        if isinstance(index, slice):
            start, stop, step = index.indices(self.shape[0])
            if step != 1:
                raise IndexError("ArrayRows reads contiguous row slices only.")
            return self.read(start, max(start, stop))
        raise TypeError(
            "ArrayRows reads row slices (rows[start:stop]); got "
            f"{type(index).__name__}."
        )

    def raw(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` as stored (no conversion), as an ndarray."""
        return np.asarray(self.data[start:stop])

    def convert(self, raw: np.ndarray, start: int = 0) -> np.ndarray:
        """Stored rows as float32: uint8 divided by 255, floats cast.

        ``start`` is the index of the first row, for the message of
        ``check_finite``.
        """
        if raw.dtype == np.uint8:
            return np.divide(raw, np.float32(255), dtype=np.float32)
        with np.errstate(over="ignore"):  # too large for float32: inf, checked
            out = np.asarray(raw, dtype=np.float32)
        if self.check_finite:
            check_finite_rows(out, start)
        return out

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` as float32."""
        return self.convert(self.raw(start, stop), start)

    def chunks(self, n_bytes: int):
        """Yield ``(start, stop)`` of consecutive slices of about ``n_bytes``
        of stored rows each."""
        step = rows_per_chunk(self.shape[1], self.source_dtype.itemsize, n_bytes)
        for start in range(0, self.shape[0], step):
            yield start, min(start + step, self.shape[0])

    def fingerprint(self, n_bytes: int = 1 << 24) -> str:
        """A SHA-1 of the shape, the dtype and the stored values, read chunk
        by chunk: the key of the pretraining cache (``memory``)."""
        digest = hashlib.sha1()
        digest.update(repr((self.shape, self.source_dtype.str)).encode())
        for start, stop in self.chunks(n_bytes):
            digest.update(np.ascontiguousarray(self.raw(start, stop)).tobytes())
        return digest.hexdigest()


class EncodedRows(ArrayRows):
    """The rows of an :class:`ArrayRows` through a frozen encoder, computed
    as they are read (nothing of the whole encoded data is held).

    Layer-wise pretraining (:class:`skdec.StackedAutoencoder`) trains each
    layer pair on the codes of the pairs below it; for rows on disk they are
    recomputed slice by slice, in evaluation mode without gradients, each
    time they are read.

    Parameters
    ----------
    rows : ArrayRows
    encoder : torch.nn.Module
        Not modified; its parameters' device is where it runs.
    width : int
        Number of features of the code.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skdec.net import ArrayRows, EncodedRows
    >>> rows = ArrayRows(np.full((3, 4), 255, dtype=np.uint8))
    >>> encoder = torch.nn.Linear(4, 2)
    >>> EncodedRows(rows, encoder, 2)[0:3].shape
    (3, 2)
    """

    def __init__(self, rows, encoder, width):
        self.rows = rows
        self.encoder = encoder
        self.data = rows.data
        self.source_dtype = np.dtype(np.float32)
        self.shape = (rows.shape[0], int(width))
        self.check_finite = False

    def __repr__(self) -> str:
        return f"EncodedRows({self.rows!r} to {self.shape[1]} features)"

    def raw(self, start: int, stop: int) -> np.ndarray:
        device = next(self.encoder.parameters(), torch.empty(0)).device
        batch = torch.from_numpy(self.rows.read(start, stop)).to(device)
        with torch.no_grad():
            return self.encoder(batch).to("cpu", torch.float32).numpy()

    def fingerprint(self, n_bytes: int = 1 << 24) -> str:
        raise TypeError("EncodedRows are computed, not stored: no fingerprint.")


def check_finite_rows(values: np.ndarray, start: int) -> None:
    """Raise a ValueError naming the rows of ``values`` (rows ``start`` on)
    when it holds NaN or infinity."""
    if np.isfinite(values).all():
        return
    bad = np.flatnonzero(~np.isfinite(values).all(axis=1))
    first = start + int(bad[0])
    stop = start + len(values)
    kind = "NaN" if np.isnan(values[bad[0]]).any() else "infinity"
    raise ValueError(
        f"Input X contains {kind} (or a value too large for float32) in the "
        f"chunk of rows {start} to {stop - 1}: first at row {first}, "
        f"{len(bad)} row(s) of that chunk affected."
    )
