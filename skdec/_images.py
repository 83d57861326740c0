"""Rows of a data set as pictures: the images matplotlib draws, tiled grids.

Shared by the command line's montages and :mod:`skdec.report`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["display_images", "tile_images"]


def display_images(X, image_shape):
    """The rows of ``X`` as the images matplotlib draws.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Rows flattened channel-first, as ``image_shape`` says.
    image_shape : tuple of int
        ``(H, W)`` or ``(C, H, W)``.

    Returns
    -------
    images : ndarray of shape (n_samples, H, W) or (n_samples, H, W, C), or None
        ``(n, H, W, C)`` for C = 3 or 4, scaled to [0, 1] when the values
        leave it (colours are drawn from [0, 1]); None when the channels
        (other than 1, 3 or 4) cannot be drawn.

    Examples
    --------
    >>> import numpy as np
    >>> from skdec._images import display_images
    >>> display_images(np.zeros((5, 12)), (3, 2, 2)).shape
    (5, 2, 2, 3)
    >>> display_images(np.zeros((5, 8)), (2, 2, 2)) is None
    True
    """
    shape = tuple(int(v) for v in image_shape)
    if len(shape) == 2 or shape[0] == 1:
        images = X.reshape(len(X), *shape[-2:])
    elif shape[0] in (3, 4):
        images = np.moveaxis(X.reshape(len(X), *shape), 1, -1)
        low, high = float(images.min()), float(images.max())
        if low < 0 or high > 1:  # colours are drawn from [0, 1]
            images = (images - low) / (high - low)
    else:
        return None
    return images


def tile_images(images, n_columns):
    """One array holding ``images`` in a grid, ``n_columns`` wide.

    A pixel of white lies between the images; single-channel images are
    scaled to [0, 1] each (as ``imshow`` scales a lone image) and their gaps
    are NaN (drawn as the colour map's "bad" colour, transparent by default).

    Parameters
    ----------
    images : ndarray of shape (n, H, W) or (n, H, W, C)
    n_columns : int

    Returns
    -------
    grid : ndarray of shape (rows * (H + 1) - 1, n_columns * (W + 1) - 1[, C])

    Examples
    --------
    >>> import numpy as np
    >>> from skdec._images import tile_images
    >>> tile_images(np.ones((5, 2, 3)), 2).shape
    (8, 7)
    """
    n, height, width = images.shape[:3]
    n_rows = -(-n // n_columns)
    shape = (n_rows * (height + 1) - 1, n_columns * (width + 1) - 1)
    grid = np.full(shape + images.shape[3:], 1.0 if images.ndim == 4 else np.nan)
    for i, image in enumerate(images):
        image = np.asarray(image, dtype=np.float64)
        if image.ndim == 2:
            low, high = image.min(), image.max()
            image = (image - low) / (high - low) if high > low else image * 0
        top, left = (height + 1) * (i // n_columns), (width + 1) * (i % n_columns)
        grid[top : top + height, left : left + width] = image
    return grid
