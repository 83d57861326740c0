"""The check of ``X``: sklearn's for data in memory, chunked for data on disk.

In-memory float data (ndarrays, lists, DataFrames) go through sklearn's
``validate_data`` and become one float32 array, as in any estimator. A
``numpy.memmap``, an HDF5 dataset (h5py), a zarr array, any other object
with ``shape``, ``dtype`` and ``__getitem__`` on row slices, and any uint8
array, are *out-of-core* inputs: never copied whole, they are checked by
:func:`validate_rows` and read batch by batch as
:class:`skdec.net.ArrayRows`.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.utils.validation import (
    _check_feature_names,
    _check_n_features,
    validate_data,
)

from .net import ArrayRows
from .net._rows import check_finite_rows

__all__ = ["CHECK_BYTES", "is_out_of_core", "validate_rows"]

#: Bytes of stored rows per chunk of the NaN/infinity scan in ``fit``.
CHECK_BYTES = 1 << 23


def is_out_of_core(X) -> bool:
    """Whether ``X`` is read batch by batch (see the module docstring): an
    :class:`~skdec.net.ArrayRows`, a ``numpy.memmap``, a uint8 ndarray, or
    an array-like with ``shape``, ``dtype`` and ``__getitem__`` that is not
    an ndarray, a torch tensor, a sparse matrix or a pandas object."""
    if isinstance(X, (ArrayRows, np.memmap)):
        return True
    if isinstance(X, np.ndarray):
        return X.dtype == np.uint8
    if sparse.issparse(X) or type(X).__module__.split(".")[0] in ("pandas", "torch"):
        return False
    return all(hasattr(X, name) for name in ("shape", "dtype", "__getitem__"))


def validate_rows(estimator, X, *, reset, dtype=np.float32, check_finite="scan"):
    """Validate ``X`` for ``estimator``; return what its methods read.

    In-memory inputs go through ``validate_data(estimator, X, reset=reset,
    dtype=dtype)`` and come back as one ndarray (float32 by default), exactly
    as before. Out-of-core inputs (:func:`is_out_of_core`) are checked without
    being copied and come back as :class:`~skdec.net.ArrayRows`:

    - two dimensions, dtype uint8 or floating point, at least one sample and
      one feature (else ValueError);
    - ``n_features_in_`` set (``reset=True``) or compared with it
      (``reset=False``), and ``feature_names_in_`` handled, by sklearn's own
      helpers, with sklearn's messages;
    - NaN and infinity in float rows: with ``check_finite='scan'`` every
      chunk of about :data:`CHECK_BYTES` is read and checked now (one pass
      over the data, before any training); with ``'batches'`` each batch is
      checked as it is read later. The error names the chunk of rows. uint8
      cannot hold NaN and is not scanned.

    Parameters
    ----------
    estimator : estimator instance
    X : array-like of shape (n_samples, n_features)
    reset : bool
        True in ``fit``.
    dtype : dtype or list of dtype, default=np.float32
        ``validate_data``'s, for in-memory inputs.
    check_finite : {'scan', 'batches'}, default='scan'

    Returns
    -------
    X : ndarray or ArrayRows

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.base import BaseEstimator
    >>> from skdec._validation import validate_rows
    >>> est = BaseEstimator()
    >>> validate_rows(est, np.zeros((3, 2), dtype=np.uint8), reset=True)
    ArrayRows(ndarray of shape (3, 2), dtype uint8)
    >>> est.n_features_in_
    2
    >>> validate_rows(est, np.ones((2, 2)), reset=False).dtype
    dtype('float32')
    """
    if not is_out_of_core(X):
        return validate_data(estimator, X, reset=reset, dtype=dtype)
    data = X.data if isinstance(X, ArrayRows) else X
    shape = tuple(getattr(data, "shape", ()))
    if len(shape) != 2:
        raise ValueError(
            f"Expected a 2D array-like of shape (n_samples, n_features), got "
            f"shape {shape} ({type(data).__name__})."
        )
    try:
        dtype = np.dtype(data.dtype)
    except TypeError as exc:
        raise TypeError(
            f"X's dtype {data.dtype!r} is not a numpy dtype; out-of-core inputs "
            "must be uint8 or floating point."
        ) from exc
    if dtype != np.uint8 and not np.issubdtype(dtype, np.floating):
        raise ValueError(
            f"Out-of-core input X ({type(data).__name__}) has dtype {dtype}; it "
            "must be uint8 (pixels, divided by 255 as they are read) or floating "
            "point. Convert it, or load it into memory as a float array."
        )
    n_samples, n_features = (int(s) for s in shape)
    if n_samples < 1 or n_features < 1:
        raise ValueError(
            f"Found array with {n_samples} sample(s) and {n_features} feature(s) "
            f"(shape={shape}) while a minimum of 1 of each is required."
        )
    _check_feature_names(estimator, data, reset=reset)
    _check_n_features(estimator, data, reset=reset)
    rows = ArrayRows(data, check_finite=check_finite == "batches")
    if check_finite == "scan" and not rows.is_pixels:
        for start, stop in rows.chunks(CHECK_BYTES):
            check_finite_rows(rows.convert(rows.raw(start, stop)), start)
    return rows
