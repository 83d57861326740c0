"""The one definition of an unlabelled subject."""

from __future__ import annotations

import numpy as np

__all__ = ["UNLABELLED", "unlabelled_mask"]

#: marker of an unlabelled subject (scikit-learn's semi-supervised convention)
UNLABELLED = -1


def unlabelled_mask(y, marker=UNLABELLED):
    """Boolean mask of the entries of ``y`` equal to ``marker``.

    A string marker never matches numbers and a number never matches strings,
    so ``-1`` marks nothing in an array of class names.

    Examples
    --------
    >>> import numpy as np
    >>> unlabelled_mask(np.array([3, -1, 0])).tolist()
    [False, True, False]
    >>> unlabelled_mask(np.array(["cat", "-1"])).tolist()
    [False, False]
    """
    y = np.asarray(y)
    if y.dtype.kind in "US":
        if not isinstance(marker, str):
            return np.zeros(y.shape[0], dtype=bool)
        return y == marker
    if y.dtype.kind == "O":
        return np.fromiter(
            (type(v) is type(marker) and v == marker for v in y)
            if isinstance(marker, str)
            else (not isinstance(v, str) and v == marker for v in y),
            bool,
            y.shape[0],
        )
    if isinstance(marker, str):
        return np.zeros(y.shape[0], dtype=bool)
    return y == marker
